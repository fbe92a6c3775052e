"""The sketch models' training recipe: the perceptual loss, pix2pix's resize-convolution
upsampling, and a sketch inverter's training step on random sketch styles with the perceptual loss."""

import cv2
import keras
import numpy as np
import pytest

from keras_colorize import data, losses, models, pretrained, samples, training, training_data, training_settings
from keras_colorize.models import pix2pix


@pytest.fixture(scope="module")
def photos():
    """Four real photos, 48x48, float32 RGB in [0, 1]."""
    chosen = list(samples.sample_photos().values())[:4]
    return np.stack([cv2.resize(photo, (48, 48), interpolation=cv2.INTER_AREA) for photo in chosen]) / np.float32(255)


@pytest.fixture(scope="module")
def perceptual():
    # Random MobileNet weights: what is tested holds for any frozen network, and needs no files.
    return losses.PerceptualLoss(weights=None)


def _blurred(images, sigma):
    return np.stack([cv2.GaussianBlur(image, (0, 0), sigma) for image in images])


def test_perceptual_loss_is_zero_for_identical_images_and_grows_with_blur(photos, perceptual):
    np.testing.assert_allclose(perceptual(photos, photos).numpy(), 0.0, atol=1e-7)
    values = [float(perceptual(photos, _blurred(photos, sigma))) for sigma in (0.7, 1.5, 3.0)]
    assert 0 < values[0] < values[1] < values[2]


def test_perceptual_loss_maps_its_value_range_to_unit_images(photos, perceptual):
    signed = losses.PerceptualLoss(value_range=(-1.0, 1.0), weights=None)
    signed.features.set_weights(perceptual.features.get_weights())
    blurred = _blurred(photos, 1.5)
    np.testing.assert_allclose(
        float(signed(photos * 2 - 1, blurred * 2 - 1)), float(perceptual(photos, blurred)), rtol=1e-4
    )


def test_mse_plus_perceptual_is_a_sum_loss_that_survives_serialization():
    loss = losses.get("mse+perceptual")
    assert (loss.first_name, loss.second_name, loss.weight) == ("mse", "perceptual", losses.PERCEPTUAL_WEIGHT)
    config = keras.saving.serialize_keras_object(loss)
    assert keras.saving.deserialize_keras_object(config).get_config() == loss.get_config()


def test_a_perceptual_loss_is_refused_for_models_that_do_not_predict_rgb():
    settings = training_settings.default_settings("unet", loss="mse+perceptual")
    with pytest.raises(ValueError, match="not sRGB images"):
        training._pixel_loss(settings)


def _period_two_energy(generator):
    """How much of the generator's output for a constant sketch alternates pixel by pixel."""
    keras.utils.set_random_seed(0)
    output = generator.predict(np.full((1, 64, 64, 3), 0.5, np.float32), verbose=0)[0, 8:-8, 8:-8]
    centred = output - output.mean(axis=(0, 1))
    rows, columns = np.indices(centred.shape[:2])
    alternating = [(-1.0) ** rows, (-1.0) ** columns, (-1.0) ** (rows + columns)]
    return max(abs((centred * sign[..., None]).mean()) for sign in alternating)


def test_resize_convolution_upsampling_leaves_no_checkerboard_where_transpose_does():
    keras.utils.set_random_seed(0)
    transpose = pix2pix.build_generator(64, 8, 6, upsampling="transpose")
    keras.utils.set_random_seed(0)
    resize = pix2pix.build_generator(64, 8, 6, upsampling="resize")
    # A constant sketch gives constant feature maps; only uneven kernel overlap makes a pattern.
    assert _period_two_energy(transpose) > 1e-4
    assert _period_two_energy(resize) < 1e-6
    assert resize.output_shape == transpose.output_shape == (None, 64, 64, 3)
    with pytest.raises(ValueError, match="upsampling must be one of"):
        pix2pix.build_generator(64, 8, 6, upsampling="bilinear")


def test_pix2pix_keeps_the_papers_transposed_convolutions_unless_asked():
    generator = models.build("pix2pix", "small").generator
    assert any(isinstance(layer, keras.layers.Conv2DTranspose) for layer in generator.layers)
    assert not any(isinstance(layer, keras.layers.UpSampling2D) for layer in generator.layers)


def test_pix2pix_with_resize_convolutions_trains_a_step(photos):
    gan = pix2pix.build_pix2pix(32, 8, 5, upsampling="resize")
    gan.compile()
    images = photos[:2, 8:40, 8:40] * 2 - 1
    history = gan.fit(images, images, epochs=1, batch_size=2, verbose=0)
    assert all(np.isfinite(values[0]) for values in history.history.values())


def test_a_sketch_inverter_trains_a_step_on_random_sketch_styles_with_the_perceptual_loss(photos):
    if pretrained.find_imagenet_tfjs() is None:
        pytest.skip("needs the ImageNet MobileNet in ../shared/pretrained")
    settings = training_settings.default_settings(
        "sketch_inverter", batch_size=2, loss="mse+perceptual", augment="sketch_styles_paper",
        model_overrides={"image_size": 32},
    )
    model = models.build("sketch_inverter", **models.config("sketch_inverter", **settings.model_overrides))
    photos_uint8 = np.round(photos[:, 8:40, 8:40] * 255).astype(np.uint8)
    blank = np.full(photos_uint8.shape[:3], 255, np.uint8)  # the pipeline draws the sketches
    pairs = training_data.pairs_for(data.from_arrays(photos_uint8, blank), settings, training=True, cache=False)
    loss = training.compile_model(model, settings, pairs, steps_per_epoch=1)
    assert isinstance(loss.second, losses.PerceptualLoss)
    history = model.fit(pairs.take(1), shuffle=False, verbose=0)
    assert np.isfinite(history.history["loss"][0]) and history.history["loss"][0] > 0
