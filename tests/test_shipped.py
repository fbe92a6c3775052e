"""Shipped models: the preset folder (config.json + float16 model.weights.h5), and the models
shipped in the package."""

import json
import warnings

import cv2
import h5py
import keras
import numpy as np
import pytest
import skimage.color
import skimage.data

from keras_colorize import Colorizer, models, shipped, training
from keras_colorize.errors import ModelLoadError


def _inputs(model, seed=0):
    return np.random.default_rng(seed).random((2, *model.input_shape[1:]), dtype=np.float32)


def _stored_arrays(path):
    """{path in the file: dtype} of the arrays in a weights file."""
    arrays = {}
    with h5py.File(path, "r") as stored:
        stored.visititems(lambda key, item: arrays.update({key: item.dtype}) if isinstance(item, h5py.Dataset) else None)
    return arrays


def test_round_trip_in_float16_keeps_the_outputs_and_halves_the_bytes(tmp_path):
    keras.utils.set_random_seed(1)
    config = models.config("unet", "small", base_filters=8)
    model = models.build("unet", **config)
    shipped.save(model, "unet", config, name="my_unet", folder=tmp_path)
    shipped.save(model, "unet", config, name="unet32", folder=tmp_path, dtype="float32")

    loaded = shipped.load("my_unet", folder=tmp_path)
    assert shipped.available(tmp_path) == ["my_unet", "unet32"]
    recorded = json.loads((tmp_path / "my_unet" / "config.json").read_text())
    assert recorded["model"] == "unet" and recorded["preset"] == "small" and recorded["element_format"] == "l_lab_unit"
    assert loaded.count_params() == model.count_params()
    inputs = _inputs(model)
    difference = np.abs(loaded.predict(inputs, verbose=0) - model.predict(inputs, verbose=0))
    assert 0 < difference.max() < 1e-2  # float16 rounding, not another model
    half, full = shipped.weights_path("my_unet", tmp_path), shipped.weights_path("unet32", tmp_path)
    assert half.stat().st_size < 0.6 * full.stat().st_size
    # Keras's own layout, keyed by layer path: Keras's load_weights reads it.
    assert "layers/conv2d/vars/0" in _stored_arrays(half)


def test_a_gan_ships_its_generator_only_and_no_file_options(tmp_path):
    config = models.config("unet_gan", "small", base_filters=8, discriminator_filters=8)
    gan = models.build("unet_gan", **config)
    shipped.save(gan, "unet_gan", {**config, "generator_weights": "/elsewhere/unet.keras"}, folder=tmp_path)

    assert len(_stored_arrays(shipped.weights_path("unet_gan", tmp_path))) == len(gan.generator.weights) < len(gan.weights)
    # None, not the path: the weights it named are in model.weights.h5, and a preset cannot bring one back.
    assert json.loads((tmp_path / "unet_gan" / "config.json").read_text())["config"]["generator_weights"] is None
    loaded = shipped.load("unet_gan", folder=tmp_path)
    inputs = _inputs(gan)
    np.testing.assert_allclose(loaded.predict(inputs, verbose=0), gan.predict(inputs, verbose=0), atol=1e-2)


def test_unknown_names_and_misfit_weights_say_so(tmp_path):
    with pytest.raises(ModelLoadError, match="nothing: not a shipped model"):
        shipped.load("nothing", folder=tmp_path)
    config = models.config("unet", "small", base_filters=8)
    shipped.save(models.build("unet", **config), "unet", config, folder=tmp_path)
    config_path = tmp_path / "unet" / "config.json"
    description = json.loads(config_path.read_text())
    config_path.write_text(json.dumps({**description, "config": {**description["config"], "base_filters": 4}}))
    with pytest.raises(ModelLoadError, match="unet/model.weights.h5: its weights do not fit"):
        shipped.load("unet", folder=tmp_path)
    # A config.json that disagrees with the registry about the data is refused, not run.
    config_path.write_text(json.dumps({**description, "element_format": "sketch_rgb"}))
    with pytest.raises(ModelLoadError, match="recorded element format 'sketch_rgb'"):
        shipped.load("unet", folder=tmp_path)
    config_path.write_text(json.dumps({**description, "model": "os.system"}))
    with pytest.raises(ModelLoadError, match="shipped as model 'os.system'"):
        shipped.load("unet", folder=tmp_path)


def test_a_compiled_model_ships_without_its_optimizer_and_loads_back_without_warnings(tmp_path):
    config = models.config("unet", "small", base_filters=4)
    model = models.build("unet", **config)
    model.compile(optimizer="adam", loss="mae")
    model.optimizer.build(model.trainable_variables)
    shipped.save(model, "unet", config, folder=tmp_path)
    assert not any(key.startswith("optimizer") for key in _stored_arrays(shipped.weights_path("unet", tmp_path)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        shipped.load_into(model, "unet", folder=tmp_path)


def test_colorizer_loads_a_shipped_name(tmp_path, monkeypatch):
    config = models.config("sketch_inverter", "small")
    shipped.save(models.build("sketch_inverter", **config), "sketch_inverter", config, folder=tmp_path)
    monkeypatch.setattr("keras_colorize.shipped.PRESETS_DIR", tmp_path)

    colorizer = Colorizer.load("sketch_inverter")
    assert colorizer.name == "sketch_inverter" and colorizer.source == "shipped:sketch_inverter"
    assert Colorizer.from_preset("sketch_inverter").source == colorizer.source
    assert colorizer.colorize(np.full((37, 53), 200, np.uint8)).shape == (37, 53, 3)
    with pytest.raises(ModelLoadError, match=r"unet: no such file.*shipped: \['sketch_inverter'\]"):
        Colorizer.load("unet")


ODD_SIZE = (123, 157)


@pytest.fixture(scope="module")
def astronaut():
    """A real photo at an odd size: (uint8 RGB, the uint8 neutral gray of its CIELAB L by
    scikit-image, that L), shape (123, 157, ...)."""
    rgb = cv2.resize(skimage.data.astronaut(), ODD_SIZE[::-1], interpolation=cv2.INTER_AREA)
    lightness = skimage.color.rgb2lab(rgb)[..., 0]
    neutral = np.stack([lightness, np.zeros_like(lightness), np.zeros_like(lightness)], axis=-1)
    gray = np.round(skimage.color.lab2rgb(neutral) * 255).astype(np.uint8)
    return rgb, gray, lightness


def _pencil_sketch(rgb):
    """The classic colour-dodge pencil sketch of a photo (gray / inverted blurred gray), uint8."""
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float64)
    blurred_inverse = cv2.GaussianBlur(255.0 - gray, (0, 0), 5)
    return np.clip(gray * 255.0 / np.maximum(255.0 - blurred_inverse, 1.0), 0, 255).astype(np.uint8)


@pytest.mark.parametrize("name", shipped.available())
def test_every_shipped_model_loads_and_colorizes_any_size(name, astronaut):
    from keras_colorize import metrics

    rgb, gray, lightness = astronaut
    colorizer = Colorizer.load(name)
    image = _pencil_sketch(rgb) if colorizer.input_kind == "sketch" else gray
    output = colorizer.colorize(image)
    assert output.shape == (*ODD_SIZE, 3) and output.dtype == np.uint8
    lab = skimage.color.rgb2lab(output)
    # Trained models colour: Hasler & Suesstrunk's 15 is "slightly colourful"; gray is 0 (the
    # shipped models give 19-65 here).
    assert float(metrics.colorfulness(output)) > 10.0
    if colorizer.input_kind == "gray":
        # Photo models keep the input's lightness (only ab is predicted), except where the
        # colour is outside sRGB at that lightness and a channel clips.
        difference = np.abs(lab[..., 0] - lightness)
        in_gamut = ((output > 0) & (output < 255)).all(axis=-1)
        assert in_gamut.mean() > 0.7
        assert difference[in_gamut].max() < 0.5 and difference.mean() < 0.3
        # Mean chroma: 0 for a gray output, 20.6 for the photo; the shipped models give 3.9
        # (mobilenet_unet_ce, the dullest by design) to 10.
        assert np.hypot(lab[..., 1], lab[..., 2]).mean() > 3.0
    else:
        # Sketch models draw the photo the sketch shows: its lightness follows the drawing's.
        drawn = skimage.color.rgb2lab(np.repeat(image[..., None], 3, axis=-1))[..., 0]
        assert np.corrcoef(lab[..., 0].ravel(), drawn.ravel())[0, 1] > 0.4  # 0.56-0.88 here


def test_the_shipped_photo_model_colours_real_faces_better_than_gray(lfw_faces):
    from keras_colorize import inference, metrics

    gray = inference.gray_version(lfw_faces)
    colour = Colorizer.load(shipped.PHOTO_MODEL).colorize(gray)
    gain = np.mean(metrics.psnr(lfw_faces, colour) - metrics.psnr(lfw_faces, gray))
    assert gain > 1.0
    assert np.mean(metrics.colorfulness(colour)) > 0.5 * np.mean(metrics.colorfulness(lfw_faces))


def test_a_shipped_model_starts_a_run_at_another_image_size(tmp_path, monkeypatch):
    config = models.config("unet", "small", base_filters=8)
    small = models.build("unet", **config)
    shipped.save(small, "unet", config, folder=tmp_path)
    monkeypatch.setattr("keras_colorize.shipped.PRESETS_DIR", tmp_path)

    larger = models.build("unet", "small", base_filters=8, image_size=2 * config["image_size"])
    training._load_initial_weights(larger, "shipped:unet")
    for started, shipped_array in zip(larger.get_weights(), small.get_weights()):
        np.testing.assert_allclose(started, shipped_array, atol=1e-2)  # float16 storage
    with pytest.raises(ModelLoadError, match="model.weights.h5: its weights do not fit"):
        training._load_initial_weights(models.build("unet", "small", base_filters=4), "shipped:unet")


def test_an_array_beyond_float16_ships_in_float32(tmp_path):
    config = models.config("unet", "small", base_filters=4)
    model = models.build("unet", **config)
    variance = next(variable for variable in model.weights if "moving_variance" in variable.path)
    variance.assign(np.full(variance.shape, 1e6, np.float32))
    shipped.save(model, "unet", config, folder=tmp_path)

    loaded = shipped.load("unet", folder=tmp_path)
    np.testing.assert_allclose(next(v for v in loaded.weights if v.path == variance.path).numpy(), 1e6)
    stored = _stored_arrays(shipped.weights_path("unet", tmp_path))
    assert set(stored.values()) == {np.dtype("float16"), np.dtype("float32")}
