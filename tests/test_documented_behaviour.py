"""Small behaviours a user relies on that the broader tests did not pin down.

Data preparation: face crops are around the largest face and honour `margin`; sketch folders
honour the sketch parameters and the documented defaults (docs/data.md); `clean` keeps images
of exactly `min_size`, faintly tinted photos and files of any suffix in its report.
Models: generators output in [-1, 1] (tanh), discriminators output logits, the classifier centres
L/100, GAN and loss settings survive serialization. Augmentation recipes, rebalancing weights,
the classifier loss's target resizing, evaluation statistics and FLOP counts match their docs.
"""

import csv
import inspect

import cv2
import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image
from skimage import data as skdata

from data_prep import clean, sketch
from data_prep import faces as face_crops
from keras_colorize import Colorizer, augment, color, evaluation, faces, image_checks, losses, models
from keras_colorize.models import flops, pix2pix
from keras_colorize.models.classifier import build_classifier
from keras_colorize.models.lab_unet_gan import build_lab_discriminator


def _astronaut(size=64):
    return cv2.resize(skdata.astronaut(), (size, size), interpolation=cv2.INTER_AREA)


def _save(folder, name, rgb):
    folder.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rgb).save(folder / name)
    return folder / name


# --- face crops -------------------------------------------------------------------------------


class _TwoFaces:
    """A stand-in cascade finding a small face first and a larger one second."""

    def detectMultiScale(self, gray, **kwargs):
        return np.array([[0, 0, 20, 20], [60, 40, 40, 40]])


def test_find_face_returns_the_largest_detected_face_not_the_first(monkeypatch):
    monkeypatch.setattr(faces, "face_detector", lambda: _TwoFaces())
    rgb = np.zeros((128, 128, 3), np.uint8)
    assert faces.find_face(rgb) == (60, 40, 40, 40)
    # The crop box is centred on the larger face (centre 80, 60; side 40 * 1.5 = 60).
    assert faces.face_box(rgb, margin=0.25) == (50, 30, 60)


def test_crop_faces_folder_margin_changes_the_crop(tmp_path, monkeypatch):
    monkeypatch.setattr(faces, "face_detector", lambda: _TwoFaces())
    photo = cv2.resize(skdata.astronaut(), (128, 128), interpolation=cv2.INTER_AREA)
    _save(tmp_path / "in", "a.png", photo)
    face_crops.crop_faces_folder(tmp_path / "in", tmp_path / "tight", size=32, margin=0.0, verbose=False)
    face_crops.crop_faces_folder(tmp_path / "in", tmp_path / "wide", size=32, margin=0.5, verbose=False)
    tight = np.asarray(Image.open(next((tmp_path / "tight").rglob("a.png"))))
    wide = np.asarray(Image.open(next((tmp_path / "wide").rglob("a.png"))))
    # margin 0: exactly the face box (60, 40, 40); margin 0.5: the 80-pixel square around it.
    expected_tight = cv2.resize(photo[40:80, 60:100], (32, 32), interpolation=cv2.INTER_AREA)
    expected_wide = cv2.resize(photo[20:100, 40:120], (32, 32), interpolation=cv2.INTER_AREA)
    np.testing.assert_array_equal(tight, expected_tight)
    np.testing.assert_array_equal(wide, expected_wide)


# --- sketches ---------------------------------------------------------------------------------


def test_sketch_folder_passes_its_parameters_to_the_sketch(tmp_path):
    photo = _astronaut()
    _save(tmp_path / "in", "a.png", photo)
    sketch.sketch_folder(tmp_path / "in", tmp_path / "out", "pencil", verbose=False,
                         kernel_size=5, sigma=3.0)
    written = np.asarray(Image.open(next((tmp_path / "out").rglob("a.png"))))
    gray = cv2.cvtColor(photo, cv2.COLOR_RGB2GRAY)
    blurred = cv2.GaussianBlur(255 - gray, (5, 5), 3.0)
    expected = cv2.divide(gray, np.maximum(255 - blurred, 1).astype(np.uint8), scale=256)
    np.testing.assert_array_equal(written, expected)
    assert not np.array_equal(written, sketch.pencil_sketch(photo))


def test_pencil_sketch_default_is_the_documented_kernel_21():
    # docs/data.md: pencil_sketch(image, kernel_size=21, sigma=0).
    defaults = inspect.signature(sketch.pencil_sketch).parameters
    assert defaults["kernel_size"].default == 21
    assert defaults["sigma"].default == 0.0
    photo = _astronaut()
    gray = cv2.cvtColor(photo, cv2.COLOR_RGB2GRAY)
    blurred = cv2.GaussianBlur(255 - gray, (21, 21), 0)
    expected = cv2.divide(gray, np.maximum(255 - blurred, 1).astype(np.uint8), scale=256)
    np.testing.assert_array_equal(sketch.pencil_sketch(photo), expected)


def test_line_sketch_defaults_are_the_documented_xdog_values():
    # docs/data.md: line_sketch(image, sigma=0.8, k=1.6, gamma=1.0, phi=100, epsilon=-0.01).
    defaults = {name: p.default for name, p in inspect.signature(sketch.line_sketch).parameters.items()}
    assert defaults == {"image": inspect.Parameter.empty, "sigma": 0.8, "k": 1.6, "gamma": 1.0,
                        "phi": 100.0, "epsilon": -0.01}
    photo = _astronaut()
    gray = cv2.cvtColor(photo, cv2.COLOR_RGB2GRAY).astype(np.float32) / 255.0
    difference = cv2.GaussianBlur(gray, (0, 0), 0.8) - cv2.GaussianBlur(gray, (0, 0), 1.28)
    strokes = np.where(difference >= -0.01, 1.0, 1.0 + np.tanh(100.0 * (difference + 0.01)))
    expected = np.round(np.clip(strokes, 0, 1) * 255).astype(np.uint8)
    assert np.abs(sketch.line_sketch(photo).astype(int) - expected).max() <= 1


# --- clean ------------------------------------------------------------------------------------


def _textured(height, width, tint=(0, 0, 0)):
    """A random gray texture with a per-channel offset (a tint) on top."""
    gray = np.random.default_rng(0).integers(40, 200, (height, width, 1))
    return np.clip(gray + np.array(tint), 0, 255).astype(np.uint8)


def test_faintly_tinted_photo_is_kept_not_called_grayscale(tmp_path):
    # Channels differ by 6 levels everywhere: a sepia-like tint is colour (tolerance 3).
    assert image_checks.ImageChecker.gray_tolerance == 3
    path = _save(tmp_path, "tinted.png", _textured(40, 40, tint=(6, 3, 0)))
    image_checks.ImageChecker().check(path)
    gray = _save(tmp_path, "gray.png", _textured(40, 40, tint=(1, 0, 0)))
    with pytest.raises(Exception, match="grayscale|R, G, B"):
        image_checks.ImageChecker().check(gray)


def test_image_exactly_min_size_is_kept(tmp_path):
    path = _save(tmp_path, "exact.png", _textured(32, 48, tint=(20, 0, 0)))
    assert image_checks.ImageChecker(min_size=32).check(path).shape == (32, 48, 3)
    small = _save(tmp_path, "small.png", _textured(31, 48, tint=(20, 0, 0)))
    with pytest.raises(Exception, match="too_small|< 32"):
        image_checks.ImageChecker(min_size=32).check(small)


def test_clean_checks_files_without_a_suffix(tmp_path):
    source = tmp_path / "source"
    source.mkdir()
    Image.fromarray(_textured(40, 40, tint=(20, 0, 0))).save(source / "photo_no_suffix", format="PNG")
    (source / "README").write_text("not an image")
    clean.clean_folder(source, tmp_path / "out", verbose=False)
    kept = (tmp_path / "out" / "kept.txt").read_text().split()
    rejects = (tmp_path / "out" / "rejects.tsv").read_text()
    assert kept == [str(source / "photo_no_suffix")]
    assert str(source / "README") in rejects


# --- models -----------------------------------------------------------------------------------


def test_pix2pix_generator_outputs_tanh_range():
    generator = pix2pix.build_generator(image_size=32, base_filters=4, depth=3)
    assert generator.get_layer("image").get_config()["activation"] == "tanh"
    out = generator(np.random.default_rng(0).uniform(-1, 1, (2, 32, 32, 3)).astype("float32")).numpy()
    assert out.min() < 0 and out.max() <= 1 and out.min() >= -1


def test_classifier_centres_lightness_before_the_first_convolution():
    model = build_classifier(image_size=32, base_filters=4)
    layer = model.get_layer("centred_lightness")
    centred = layer(np.full((1, 4, 4, 1), 0.5, np.float32)).numpy()
    np.testing.assert_allclose(centred, 0.0, atol=1e-7)
    assert layer.get_config()["scale"] == 1.0


def test_lab_discriminator_outputs_unbounded_logits():
    discriminator = build_lab_discriminator(image_size=32, base_filters=4)
    assert discriminator.get_layer("logit").get_config()["activation"] == "linear"
    # With a large last-layer kernel the logits leave [0, 1], which a sigmoid never does.
    logit = discriminator.get_layer("logit")
    logit.kernel.assign(np.full(logit.kernel.shape, 5.0, np.float32))
    out = discriminator(np.random.default_rng(0).uniform(0, 1, (4, 32, 32, 3)).astype("float32")).numpy()
    assert np.any((out < 0) | (out > 1))


def test_gan_l1_weight_survives_get_config_round_trip():
    model = pix2pix.build_pix2pix(image_size=32, base_filters=4, depth=3, l1_weight=7.0)
    config = model.get_config()
    assert config["l1_weight"] == 7.0
    restored = type(model).from_config(config)
    assert restored.l1_weight == 7.0


def test_rebalanced_loss_and_sum_loss_keep_their_settings_through_serialization():
    quantizer = color.ABQuantizer()
    weights = np.linspace(0.5, 2.0, quantizer.num_bins).astype(np.float32)
    rebalanced = losses.RebalancedCrossEntropy(class_weights=weights)
    restored = keras.losses.deserialize(keras.losses.serialize(rebalanced))
    np.testing.assert_allclose(restored.class_weights, weights)
    summed = losses.SumLoss(weight=0.3)
    assert keras.losses.deserialize(keras.losses.serialize(summed)).weight == 0.3


# --- augmentation, rebalancing, classifier targets --------------------------------------------


def test_augmentation_recipes_have_the_documented_settings():
    # docs/training.md: elastic = warp, then `gan` (with its input noise), then a sketch tone power in
    # [1/2, 2]; pix2pix = jitter and mirroring.
    elastic = augment.get("elastic")
    assert elastic.sketch_gamma == 2.0
    assert elastic.noise_stddev == augment.RandomAffine().noise_stddev > 0
    jitter = augment.get("pix2pix")
    assert jitter.mirror is True
    # Mirroring really happens for some seed: with scale 1 the crop is the whole image.
    image = tf.reshape(tf.range(16, dtype=tf.float32), (4, 4, 1))
    flipped = [
        np.array_equal(augment.RandomJitter(scale=1.0)(image, tf.constant([seed, 0])).numpy(),
                       image.numpy()[:, ::-1])
        for seed in range(8)
    ]
    assert any(flipped)


def test_rebalancing_weights_match_zhang_eq4_with_sigma_5():
    quantizer = color.ABQuantizer()
    assert inspect.signature(quantizer.rebalancing_weights).parameters["smoothing_sigma"].default == 5.0
    p = np.random.default_rng(0).uniform(0, 1, quantizer.num_bins) ** 4
    p /= p.sum()
    bins = np.asarray(quantizer.bins, np.float64)
    d2 = ((bins[:, None] - bins[None]) ** 2).sum(-1)
    smoothed = np.exp(-d2 / 50.0) @ p
    smoothed /= smoothed.sum()
    w = 1.0 / (0.5 * smoothed + 0.5 / quantizer.num_bins)
    w /= (smoothed * w).sum()
    np.testing.assert_allclose(quantizer.rebalancing_weights(p), w, rtol=1e-4)


def test_rebalanced_loss_targets_are_area_means_of_the_full_resolution_ab():
    loss = losses.RebalancedCrossEntropy()
    rng = np.random.default_rng(0)
    ab = rng.uniform(-80, 80, (1, 8, 8, 2)).astype(np.float32)
    logits = rng.normal(size=(1, 2, 2, loss.quantizer.num_bins)).astype(np.float32)
    block_means = ab.reshape(1, 2, 4, 2, 4, 2).mean(axis=(2, 4))
    np.testing.assert_allclose(loss(ab, logits).numpy(), loss(block_means, logits).numpy(), rtol=1e-5)


# --- evaluation ---------------------------------------------------------------------------------


def _echo():
    return Colorizer(lambda batch: np.asarray(batch, np.uint8), "echo", "saved_model")


def _photos(folder, count, size):
    folder.mkdir(parents=True, exist_ok=True)
    photo = skdata.astronaut()
    for index in range(count):
        crop = photo[index * 40 : index * 40 + 200, 100:300]
        Image.fromarray(cv2.resize(crop, size, interpolation=cv2.INTER_AREA)).save(folder / f"{index}.png")
    return folder


def test_evaluation_std_is_the_population_std_and_11px_images_are_scored(tmp_path):
    # docs/evaluation.md: mean and std (population std); SSIM's 11x11 window fits an 11x11 image.
    folder = _photos(tmp_path / "photos", 3, (11, 11))
    summary = evaluation.evaluate(_echo(), evaluation.open_data(folder), ["psnr", "ssim"],
                                  tmp_path / "eval", samples=0, model_input="gray", verbose=False)
    assert summary["images"]["evaluated"] == 3
    with open(tmp_path / "eval" / "per_image.csv", newline="") as file:
        rows = list(csv.DictReader(file))
    values = np.array([float(row["psnr"]) for row in rows if row["system"] == "model"])
    assert len(values) == 3
    result = summary["results"]["model"]["psnr"]
    np.testing.assert_allclose(result["std"], np.std(values), rtol=1e-4)
    assert not np.isclose(result["std"], np.std(values, ddof=1), rtol=1e-4)


def test_hdf5_evaluation_names_images_by_their_source_and_grid_has_samples_rows(tmp_path):
    from keras_colorize.datasets import build_dataset

    folder = _photos(tmp_path / "photos", 5, (32, 32))
    h5 = tmp_path / "d.h5"
    build_dataset([folder], h5, 32, split=(0.0, 0.0, 1.0), seed=0)
    heights = {}
    for samples in (1, 2, 3):
        out = tmp_path / f"eval{samples}"
        evaluation.evaluate(_echo(), evaluation.open_data(h5), ["psnr"], out, samples=samples, model_input="gray",
                            batch_size=2, verbose=False)
        heights[samples] = Image.open(out / "samples.png").height
    with open(tmp_path / "eval1" / "per_image.csv", newline="") as file:
        names = [row["image"] for row in csv.DictReader(file) if row["system"] == "model"]
    # The HDF5 `source` column names each image, not its row number.
    assert sorted(names) == [f"{i}.png" for i in range(5)]
    # One more row per extra sample, whatever the batch boundaries.
    assert heights[3] - heights[2] == heights[2] - heights[1] > 0


# --- FLOPs ------------------------------------------------------------------------------------


def test_gan_training_flops_count_the_discriminator_on_real_and_fake_images():
    model = pix2pix.build_pix2pix(image_size=32, base_filters=4, depth=3)
    g = flops.forward_flops(model.generator)
    d = flops.forward_flops(model.discriminator)
    assert d > 0
    assert flops.training_step_flops(model) == 3 * (g + 2 * d)


def _layer_configs(model, layer_type):
    """Configs of every `layer_type` layer, nested models (a GAN's generator) included."""
    found = [layer for layer in model._flatten_layers() if isinstance(layer, layer_type)]
    return [layer.get_config() for layer in found]


def test_built_models_keep_the_layer_tables_constants():
    # docs/models.md, fusion's table (the paper's Figure II): dropout after the first seven convs.
    fusion = models.build("fusion", "small")
    rates = [config["rate"] for config in _layer_configs(fusion, keras.layers.Dropout)
             if config["name"].startswith("encoder_")]
    assert rates == [0.4, 0.5, 0.5, 0.6, 0.6, 0.7, 0.6]
    # Isola et al. sec. 6.2: weights from a Gaussian with mean 0 and standard deviation 0.02.
    gan = models.build("pix2pix", "small", base_filters=4)
    initializers = [config["kernel_initializer"]["config"] for config in _layer_configs(gan, keras.layers.Conv2D)]
    assert initializers and all(init == {"mean": 0.0, "stddev": 0.02, "seed": None} for init in initializers)
    # docs/models.md, unet: upsampling by nearest-neighbour UpSampling2D.
    unet = models.build("unet", "small", base_filters=4)
    upsampling = _layer_configs(unet, keras.layers.UpSampling2D)
    assert len(upsampling) == 4 and {config["interpolation"] for config in upsampling} == {"nearest"}
