"""Sketch inverter, LAB U-Net, its GAN and the fusion network: layers, options, overfitting."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_colorize import color, data, losses, models, training, training_settings
from keras_colorize.callbacks import DiscriminatorWarmup
from keras_colorize.images import read_rgb
from keras_colorize.models import fusion
from keras_colorize.models.gan import ConditionalGAN

OVERFIT_STEPS = 60


def compiled(model, loss="mse"):
    """`model` compiled with Adam 1e-3 and `loss` (a `keras_colorize.losses.get` name); a GAN with
    its default optimizers. Builders return uncompiled models."""
    if isinstance(model, ConditionalGAN):
        model.compile()
    else:
        model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=losses.get(loss))
    return model


def overfit(model, inputs, targets, loss_name="loss"):
    """Train on one batch for OVERFIT_STEPS steps -> (first step's loss, last step's loss)."""
    history = [
        model.train_on_batch(inputs, targets, return_dict=True)[loss_name]
        for _ in range(OVERFIT_STEPS)
    ]
    return history[0], history[-1]


def constant_colour_loss(targets, loss="mse"):
    """The loss of the best single colour for the whole batch: what learning nothing achieves."""
    if loss == "mse":
        return float(np.mean((targets - targets.mean(axis=(0, 1, 2))) ** 2))
    return float(np.mean(np.abs(targets - np.median(targets, axis=(0, 1, 2)))))


@pytest.fixture(scope="module")
def cufs_pairs(cufs_root):
    """8 real CUFS artist sketches and their photos as a "sketch_rgb" batch at 100x100."""
    names = sorted(path.name for path in (cufs_root / "train" / "photos").glob("*.jpg"))[:8]
    photos = np.stack([read_rgb(cufs_root / "train" / "photos" / name) for name in names])
    sketches = np.stack(
        [read_rgb(cufs_root / "train" / "sketches" / name)[..., 0] for name in names]
    )
    source = data.resize_samples(data.from_arrays(photos, sketch=sketches), 100)
    inputs, targets = next(iter(data.make_dataset(source, "sketch_rgb", 8, shuffle=False)))
    return inputs.numpy(), targets.numpy()


# The small fusion with VGG16 in place of MobileNet, fed a 32x32 resize without its top.
VGG32 = {"extractor": "vgg16", "extractor_top": False, "extractor_input_size": 32}


@pytest.fixture(scope="module")
def vgg_weights_file(tmp_path_factory):
    """A random pooled VGG16 (`VGG32`'s) and the file its weights are saved to."""
    keras.utils.set_random_seed(0)
    vgg = fusion.load_vgg16(None, include_top=False, input_size=32)
    path = tmp_path_factory.mktemp("vgg") / "vgg16_notop.weights.h5"
    vgg.save_weights(path)
    return path, vgg


def _weights(model):
    return [variable.numpy() for variable in model.weights]


def _same_weights(first, second):
    return all(np.array_equal(a, b) for a, b in zip(first, second))


# --- sketch inverter --------------------------------------------------------------------


def test_paper_sketch_inverter_follows_table_one_with_the_inserted_256_layer():
    model = models.build("sketch_inverter", "paper")
    convolutions = [
        layer for layer in model.layers
        if isinstance(layer, (keras.layers.Conv2D, keras.layers.Conv2DTranspose))
    ]
    assert [(layer.filters, layer.kernel_size, layer.strides[0]) for layer in convolutions] == [
        (32, (5, 5), 1), (64, (5, 5), 2), (128, (5, 5), 2), (256, (5, 5), 1), (512, (5, 5), 1),
        (256, (5, 5), 1), (128, (5, 5), 2), (32, (5, 5), 2), (3, (5, 5), 1),
    ]
    assert [type(layer).__name__ for layer in convolutions[-3:]] == [
        "Conv2DTranspose", "Conv2DTranspose", "Conv2D",
    ]
    assert model.get_layer("photo").activation is keras.activations.linear
    assert model.get_layer("dropout").rate == pytest.approx(0.2)  # tflearn keep probability 0.8
    # Sum over layers of 5*5*in*out + out: 2,432 + 51,264 + 204,928 + 819,456 + 3,277,312
    # + 3,277,056 + 819,328 + 102,432 + 2,403.
    assert model.count_params() == 8_556_611
    assert model.output_shape == (None, 100, 100, 3)


def test_sketch_inverter_rejects_sizes_its_strides_cannot_restore():
    with pytest.raises(ValueError, match="multiple of 4"):
        models.build("sketch_inverter", "small", image_size=98)


@pytest.mark.slow
def test_small_sketch_inverter_overfits_eight_real_sketches(cufs_pairs):
    sketches, photos = cufs_pairs
    keras.utils.set_random_seed(0)
    first, last = overfit(compiled(models.build("sketch_inverter", "small")), sketches, photos)
    assert last <= first / 2
    assert last < constant_colour_loss(photos)


# --- LAB U-Net --------------------------------------------------------------------------


def test_paper_unet_reaches_8x8x512_and_returns_lab():
    model = models.build("unet", "paper")
    assert model.input_shape == (None, 128, 128, 1)
    assert model.get_layer("encoder5_relu").output.shape == (None, 8, 8, 512)
    assert model.get_layer("ab").output.shape == (None, 128, 128, 2)
    assert model.output_shape == (None, 128, 128, 3)
    convolutions = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    normalizations = [
        layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)
    ]
    assert len(normalizations) == len(convolutions) - 1 == 9  # all but the sigmoid output


def test_unet_passes_the_input_lightness_through_unchanged(lfw_pairs):
    model = models.build("unet", "small")
    lightness, _ = lfw_pairs("unet", 64)
    lab = model.predict(lightness, verbose=0)
    np.testing.assert_array_equal(lab[..., :1], lightness)
    assert 0.0 < lab[..., 1:].min() and lab[..., 1:].max() < 1.0


def test_a_run_compiles_the_unet_with_mae_then_ssim_on_its_targets_range():
    model = models.build("unet", "small")
    assert not model.compiled  # a run compiles it from its settings
    loss = training.compile_model(model, training_settings.default_settings("unet"), None, steps_per_epoch=4)
    assert model.loss is loss and isinstance(loss, losses.SwitchingLoss)
    assert (loss.first_name, loss.second_name, loss.value_range) == ("mae", "ssim", (0.0, 1.0))
    assert isinstance(loss.second, losses.SSIMLoss)


@pytest.mark.slow
def test_small_unet_overfits_eight_real_faces(lfw_pairs):
    lightness, lab = lfw_pairs("unet", 64)
    keras.utils.set_random_seed(0)
    first, last = overfit(compiled(models.build("unet", "small"), "mae"), lightness, lab)
    assert last <= first / 2
    # The best constant ab with the true L (the model copies L through).
    assert last < constant_colour_loss(lab[..., 1:], "mae") * 2 / 3


# --- LAB U-Net GAN ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def trained_unet_files(lfw_pairs, tmp_path_factory):
    """A small LAB U-Net after a few steps, saved as .keras and as .weights.h5."""
    keras.utils.set_random_seed(0)
    unet = compiled(models.build("unet", "small"), "mae")
    lightness, lab = lfw_pairs("unet", 64)
    for _ in range(3):
        unet.train_on_batch(lightness, lab)
    folder = tmp_path_factory.mktemp("unet")
    unet.save(folder / "unet.keras")
    unet.save_weights(folder / "unet.weights.h5")
    return unet, folder


@pytest.mark.parametrize("file_name", ["unet.keras", "unet.weights.h5"])
def test_gan_generator_starts_from_a_trained_unet(trained_unet_files, lfw_pairs, file_name):
    unet, folder = trained_unet_files
    lightness, _ = lfw_pairs("unet_gan", 64)
    gan = models.build("unet_gan", "small", generator_weights=folder / file_name)
    np.testing.assert_array_equal(
        gan.predict(lightness, verbose=0), unet.predict(lightness, verbose=0)
    )


# Keras warns about each layer it could not fill before the mismatch error.
@pytest.mark.filterwarnings("ignore:Skipping nested container")
def test_gan_generator_weights_errors_name_the_file(trained_unet_files, tmp_path):
    _, folder = trained_unet_files
    with pytest.raises(FileNotFoundError, match="missing.keras"):
        models.build("unet_gan", "small", generator_weights=tmp_path / "missing.keras")
    with pytest.raises(ValueError, match="unet.weights.h5.*base_filters"):
        models.build(
            "unet_gan", "small", base_filters=8, generator_weights=folder / "unet.weights.h5"
        )


def test_gan_discriminator_judges_lab_images_with_one_logit():
    gan = models.build("unet_gan", "paper")
    assert gan.discriminator.input_shape == (None, 128, 128, 3)
    assert gan.discriminator.output_shape == (None, 1)
    assert gan.output_shape == (None, 128, 128, 3)


def test_gan_discriminator_only_phase_leaves_the_generator_untouched(lfw_pairs):
    lightness, lab = lfw_pairs("unet_gan", 64)
    keras.utils.set_random_seed(0)
    gan = compiled(models.build("unet_gan", "small"))
    generator, discriminator = _weights(gan.generator), _weights(gan.discriminator)

    gan.train_generator = False
    logs = gan.train_on_batch(lightness, lab, return_dict=True)
    assert set(logs) == {"g_gan", "g_l1", "d"}
    assert _same_weights(_weights(gan.generator), generator)
    assert not _same_weights(_weights(gan.discriminator), discriminator)

    gan.train_generator = True  # rebuilds the traced train step
    gan.train_on_batch(lightness, lab)
    assert not _same_weights(_weights(gan.generator), generator)


def test_gan_phase_switches_from_a_callback_and_survives_saving(lfw_pairs, tmp_path):
    lightness, lab = lfw_pairs("unet_gan", 64)
    gan = compiled(models.build("unet_gan", "small"))
    gan.fit(lightness, lab, batch_size=8, epochs=3, verbose=0, callbacks=[DiscriminatorWarmup(1)])
    # One discriminator-only epoch, then two of both: one step each on this single batch.
    assert int(gan.d_optimizer.iterations) == 3
    assert int(gan.g_optimizer.iterations) == 2

    gan.train_generator = False
    gan.save(tmp_path / "gan.keras")
    loaded = keras.saving.load_model(tmp_path / "gan.keras")
    assert loaded.train_generator is False
    assert int(loaded.g_optimizer.iterations) == 2
    np.testing.assert_array_equal(
        loaded.predict(lightness, verbose=0), gan.predict(lightness, verbose=0)
    )


@pytest.mark.slow
def test_small_gan_generator_overfits_eight_real_faces(lfw_pairs):
    lightness, lab = lfw_pairs("unet_gan", 64)
    keras.utils.set_random_seed(0)
    first, last = overfit(compiled(models.build("unet_gan", "small")), lightness, lab, loss_name="g_l1")
    assert last <= first / 2
    assert last < constant_colour_loss(lab[..., 1:], "mae") * 2 / 3


# --- fusion -----------------------------------------------------------------------------


def test_paper_fusion_tiles_the_vgg_class_scores_over_the_encoder_grid():
    model = models.build("fusion", "paper")
    vgg = model.get_layer("vgg16")
    assert vgg.input_shape == (None, 224, 224, 3)
    assert vgg.output_shape == (None, 1000)  # the ImageNet class scores
    assert model.get_layer("encoder_conv8").output.shape == (None, 28, 28, 256)
    assert model.get_layer("embedding_grid").output.shape == (None, 28, 28, 1000)
    assert model.get_layer("fusion_conv").output.shape == (None, 28, 28, 256)
    assert model.output_shape == (None, 224, 224, 2)
    assert vgg.trainable  # vgg_weights=None: nothing pretrained to freeze


def test_fusion_can_feed_vgg_a_32x32_resize_with_a_trainable_embedding():
    model = models.build("fusion", "small", **VGG32)
    assert model.get_layer("vgg16").output_shape == (None, 512)
    assert model.get_layer("embedding").output.shape == (None, 1000)
    assert model.get_layer("embedding_grid").output.shape == (None, 8, 8, 1000)


def test_small_fusion_fuses_the_frozen_imagenet_mobilenet_class_probabilities():
    model = models.build("fusion", "small")
    mobilenet = model.get_layer("mobilenet_v1")
    assert mobilenet.input_shape == (None, 224, 224, 3)
    assert mobilenet.output_shape == (None, 1000)
    assert not mobilenet.trainable
    assert model.get_layer("embedding_grid").output.shape == (None, 8, 8, 1000)
    assert model.get_layer("fusion_concat").output.shape == (None, 8, 8, 64 + 1000)


def test_paper_fusion_has_figure_ii_dropout_after_the_first_seven_encoder_convs():
    model = models.build("fusion", "paper")
    rates = [model.get_layer(f"encoder_dropout{index}").rate for index in range(1, 8)]
    assert rates == [0.4, 0.5, 0.5, 0.6, 0.6, 0.7, 0.6]
    assert "encoder_dropout8" not in [layer.name for layer in model.layers]


def test_vgg_input_is_the_exact_gray_of_l_preprocessed_for_vgg(lfw_faces):
    rgb = lfw_faces[:2] / 255.0
    lightness = color.l_to_unit(color.split_lab(color.rgb_to_lab(rgb))[0])
    vgg_input = fusion.VGGInput(128)(lightness)
    expected = keras.applications.vgg16.preprocess_input(color.rgb_to_gray(rgb) * 255.0)
    np.testing.assert_allclose(vgg_input, expected, atol=0.02)  # float32 round-off, of 255 levels


def test_fusion_loads_local_vgg_weights_and_freezes_them(vgg_weights_file, lfw_pairs):
    path, saved_vgg = vgg_weights_file
    model = compiled(models.build("fusion", "small", vgg_weights=str(path), **VGG32))
    vgg = model.get_layer("vgg16")
    assert not vgg.trainable
    assert _same_weights(_weights(vgg), _weights(saved_vgg))
    lightness, ab = lfw_pairs("fusion", 64)
    model.train_on_batch(lightness, ab)
    assert _same_weights(_weights(vgg), _weights(saved_vgg))


@pytest.mark.filterwarnings("ignore:Skipping nested container")
def test_fusion_vgg_weights_errors_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.h5"):
        models.build("fusion", "small", vgg_weights=tmp_path / "missing.h5", **VGG32)
    models.build("unet", "small").save_weights(tmp_path / "unet.weights.h5")
    with pytest.raises(ValueError, match="unet.weights.h5: not the weights of a VGG16"):
        models.build("fusion", "small", vgg_weights=tmp_path / "unet.weights.h5", **VGG32)


def test_fusion_explains_how_to_work_without_the_imagenet_download(monkeypatch):
    def offline_vgg16(**options):
        raise Exception("URL fetch failure on https://storage.googleapis.com/...: no network")

    monkeypatch.setattr(keras.applications, "VGG16", offline_vgg16)
    # A ConnectionError is an OSError, which train.py reports in one line.
    with pytest.raises(ConnectionError, match="vgg_weights.*vgg_weights=None") as failure:
        models.build("fusion", "small", vgg_weights="imagenet", **VGG32)
    assert "notop.h5" in str(failure.value)  # names the file the small preset needs


@pytest.mark.slow
def test_small_fusion_overfits_eight_real_faces(vgg_weights_file, lfw_pairs):
    lightness, ab = lfw_pairs("fusion", 64)
    keras.utils.set_random_seed(0)
    model = compiled(models.build("fusion", "small", vgg_weights=str(vgg_weights_file[0]), **VGG32))
    first, last = overfit(model, lightness, ab)
    assert last <= first / 2
    assert last < constant_colour_loss(ab)


def test_mse_plus_ssim_loss_adds_a_tenth_of_the_ssim_loss():
    rng = np.random.default_rng(0)
    truth = rng.random((2, 24, 24, 3), dtype=np.float32)
    prediction = np.clip(truth + rng.normal(0, 0.1, truth.shape), 0, 1).astype(np.float32)
    combined = float(losses.get("mse+ssim")(truth, prediction))
    expected = float(losses.get("mse")(truth, prediction)) + 0.1 * float(losses.get("ssim")(truth, prediction))
    assert combined == pytest.approx(expected, rel=1e-5)
    assert float(losses.get("mse+ssim")(truth, truth)) == pytest.approx(0.0, abs=1e-6)


@pytest.mark.parametrize("element_format", ["l_ab_signed", "l_ab"])
def test_an_ssim_loss_scores_ab_alike_in_every_target_encoding(element_format):
    """Fusion's ab/128 and the regression head's raw ab are mapped to [0, 1] as the U-Net's
    unit ab are; taken as [0, 1] images, they scored 32 shipped-U-Net predictions on LFW 0.40 and
    0.83 where the unit encoding scores 0.05."""
    rng = np.random.default_rng(0)
    truth = rng.random((2, 24, 24, 3), dtype=np.float32)
    prediction = np.clip(truth + rng.normal(0, 0.1, truth.shape), 0, 1).astype(np.float32)
    element = data.get_format(element_format)
    _, unit_truth = data.get_format("l_ab_unit").to_pair({"rgb": truth})
    _, unit_prediction = data.get_format("l_ab_unit").to_pair({"rgb": prediction})
    _, encoded_truth = element.to_pair({"rgb": truth})
    _, encoded_prediction = element.to_pair({"rgb": prediction})
    expected = float(losses.get("ssim")(unit_truth, unit_prediction))
    assert expected > 0.01
    ranged = losses.get("ssim", element.target_range)
    assert float(ranged(encoded_truth, encoded_prediction)) == pytest.approx(expected, rel=0.02)
    for combined in (losses.SumLoss(value_range=element.target_range),
                     losses.SwitchingLoss("mae", "ssim", stage=1, value_range=element.target_range)):
        restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(combined))
        assert restored.value_range == element.target_range
        assert float(restored.second(encoded_truth, encoded_prediction)) == pytest.approx(expected, rel=0.02)


def test_training_compiles_an_ssim_loss_for_the_models_target_range():
    settings = training_settings.default_settings("fusion", loss="mse", second_loss="ssim")
    assert training._pixel_loss(settings).second.value_range == (-1.0, 1.0)


def test_switching_loss_computes_only_its_active_loss():
    rng = np.random.default_rng(0)
    truth = rng.random((2, 24, 24, 3), dtype=np.float32)
    prediction = np.clip(truth + rng.normal(0, 0.1, truth.shape), 0, 1).astype(np.float32)
    switching = losses.SwitchingLoss("mae", "ssim")
    assert float(switching(truth, prediction)) == pytest.approx(
        float(losses.get("mae")(truth, prediction)), rel=1e-5
    )
    switching.stage.assign(1.0)
    assert float(switching(truth, prediction)) == pytest.approx(
        float(losses.get("ssim")(truth, prediction)), rel=1e-5
    )
    # Its stage survives serialization: a model saved after the switch goes on with SSIM.
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(switching))
    assert float(restored(truth, prediction)) == pytest.approx(float(switching(truth, prediction)), rel=1e-5)
    # Traced, the SSIM branch's Gaussian filtering sits inside the conditional only.
    graph = tf.function(switching).get_concrete_function(truth, prediction).graph
    top_level = {op.type for op in graph.get_operations()}
    assert "If" in top_level or "StatelessIf" in top_level
    assert "DepthwiseConv2dNative" not in top_level
