"""mobilenet_unet: the ImageNet MobileNet's features at four scales into a U-Net over ab bins."""

import keras
import numpy as np
import pytest

from keras_colorize import Colorizer, color, models, pretrained, shipped
from keras_colorize.models import classifier, mobilenet_unet

pytestmark = pytest.mark.skipif(pretrained.find_imagenet_tfjs() is None, reason="needs ../shared/pretrained")


@pytest.fixture(scope="module")
def faces(lfw_pairs):
    """8 LFW faces at 128x128 as (L/100, ab) pairs."""
    return lfw_pairs("mobilenet_unet", 128)


def test_small_preset_taps_the_pretrained_mobilenet_at_four_scales_and_freezes_it():
    model = models.build("mobilenet_unet", "small")
    extractor = model.get_layer("mobilenet_v1_features")
    assert [tuple(shape) for shape in extractor.output_shape] == [
        (None, 4, 4, 768), (None, 8, 8, 384), (None, 16, 16, 192), (None, 32, 32, 96)
    ]
    assert not extractor.trainable
    reference = pretrained.mobilenet(input_shape=(128, 128, 3))
    np.testing.assert_array_equal(extractor.get_layer("conv_pw_13").kernel, reference.get_layer("conv_pw_13").kernel)
    assert model.output_shape == (None, 32, 32, color.ABQuantizer(10.0).num_bins)


def test_sizes_that_mobilenet_cannot_halve_five_times_are_refused():
    with pytest.raises(ValueError, match="multiple of 32"):
        models.build("mobilenet_unet", "small", image_size=100)


@pytest.mark.slow
@pytest.mark.parametrize("loss_name", ["crossentropy", "rebalanced"])
def test_the_decoder_overfits_eight_faces_and_the_encoder_stays_as_pretrained(faces, loss_name):
    lightness, ab = faces
    keras.utils.set_random_seed(0)
    model = models.build("mobilenet_unet", "small", decoder_filters=[64, 32, 32])
    kernel_before = np.array(model.get_layer("mobilenet_v1_features").get_layer("conv1").kernel)
    loss = classifier.training_loss(model, [(lightness, ab)], rebalance=loss_name == "rebalanced")
    model.compile(keras.optimizers.Adam(1e-3), loss=loss)
    history = [model.train_on_batch(lightness, ab) for _ in range(30)]
    assert history[-1] < 0.6 * history[0]
    np.testing.assert_array_equal(model.get_layer("mobilenet_v1_features").get_layer("conv1").kernel, kernel_before)


def test_the_inference_model_decodes_at_the_models_own_temperature(faces, tmp_path):
    lightness, _ = faces
    model = models.build("mobilenet_unet", "small", temperature=1.0)
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    decoded = models.inference_model("mobilenet_unet", loaded).predict(lightness[:2], verbose=0)
    mean = classifier.ab_model(model, temperature=1.0).predict(lightness[:2], verbose=0)
    np.testing.assert_allclose(decoded, mean, atol=1e-4)
    assert not np.allclose(decoded, classifier.ab_model(model, temperature=0.38).predict(lightness[:2], verbose=0))


def test_shipping_stores_the_backbone_in_the_weights_and_loads_without_the_pretrained_files(faces, tmp_path,
                                                                                           monkeypatch):
    gray = np.round(faces[0][0, ..., 0] * 255).astype(np.uint8)
    config = models.config("mobilenet_unet", "small", decoder_filters=[16, 16, 16], temperature=0.5)
    model = models.build("mobilenet_unet", **config)
    shipped.save(model, "mobilenet_unet", config, name="tiny", folder=tmp_path, dtype="float32")
    # A user's machine: no ../shared, no download.
    monkeypatch.setattr(pretrained, "find_imagenet_tfjs", lambda: None)
    monkeypatch.setattr(pretrained, "_downloaded", lambda options: pytest.fail("tried to download"))
    loaded = shipped.load("tiny", tmp_path)
    assert loaded.get_layer("ab_logits").temperature == 0.5
    expected = Colorizer.from_model(model, "mobilenet_unet").colorize(gray)
    assert np.array_equal(Colorizer.from_model(loaded, "mobilenet_unet").colorize(gray), expected)


def test_the_decoder_widths_are_checked():
    with pytest.raises(ValueError, match="3 widths"):
        mobilenet_unet.build_mobilenet_unet(decoder_filters=[8, 8])
