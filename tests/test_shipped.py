"""Shipped weights: the float16 .npz + .json format, and the models shipped in the package."""

import json

import keras
import numpy as np
import pytest

from keras_colorize import Colorizer, models, shipped
from keras_colorize.colorizer import ModelLoadError


def _inputs(model, seed=0):
    return np.random.default_rng(seed).random((2, *model.input_shape[1:]), dtype=np.float32)


def test_round_trip_in_float16_keeps_the_outputs_and_halves_the_bytes(tmp_path):
    keras.utils.set_random_seed(1)
    config = models.config("unet", "small", base_filters=8)
    model = models.build("unet", **config)
    shipped.save(model, "unet", config, name="my_unet", folder=tmp_path)
    shipped.save(model, "unet", config, name="unet32", folder=tmp_path, dtype="float32")

    loaded = shipped.load("my_unet", folder=tmp_path)
    assert shipped.available(tmp_path) == ["my_unet", "unet32"]
    assert json.loads((tmp_path / "my_unet.json").read_text())["model"] == "unet"
    assert loaded.count_params() == model.count_params()
    inputs = _inputs(model)
    difference = np.abs(loaded.predict(inputs, verbose=0) - model.predict(inputs, verbose=0))
    assert 0 < difference.max() < 1e-2  # float16 rounding, not another model
    assert (tmp_path / "my_unet.npz").stat().st_size < 0.6 * (tmp_path / "unet32.npz").stat().st_size


def test_a_gan_ships_its_generator_only_and_drops_file_options(tmp_path):
    config = models.config("unet_gan", "small", base_filters=8, discriminator_filters=8)
    gan = models.build("unet_gan", **config)
    shipped.save(gan, "unet_gan", {**config, "generator_weights": "/elsewhere/unet.keras"}, folder=tmp_path)

    with np.load(tmp_path / "unet_gan.npz") as stored:
        assert len(stored.files) == len(gan.generator.weights) < len(gan.weights)
    assert "generator_weights" not in json.loads((tmp_path / "unet_gan.json").read_text())["config"]
    loaded = shipped.load("unet_gan", folder=tmp_path)
    inputs = _inputs(gan)
    np.testing.assert_allclose(loaded.predict(inputs, verbose=0), gan.predict(inputs, verbose=0), atol=1e-2)


def test_unknown_names_and_misfit_weights_say_so(tmp_path):
    with pytest.raises(shipped.ShippedModelError, match="nothing: not a shipped model"):
        shipped.load("nothing", folder=tmp_path)
    config = models.config("unet", "small", base_filters=8)
    shipped.save(models.build("unet", **config), "unet", config, folder=tmp_path)
    description = json.loads((tmp_path / "unet.json").read_text())
    description["config"]["base_filters"] = 4
    (tmp_path / "unet.json").write_text(json.dumps(description))
    with pytest.raises(shipped.ShippedModelError, match="unet.npz: its arrays do not fit"):
        shipped.load("unet", folder=tmp_path)


def test_colorizer_loads_a_shipped_name(tmp_path, monkeypatch):
    config = models.config("sketch_inverter", "small")
    shipped.save(models.build("sketch_inverter", **config), "sketch_inverter", config, folder=tmp_path)
    monkeypatch.setattr("keras_colorize.shipped.WEIGHTS_DIR", tmp_path)

    colorizer = Colorizer.load("sketch_inverter")
    assert colorizer.name == "sketch_inverter" and colorizer.source == "shipped:sketch_inverter"
    assert colorizer.colorize(np.full((37, 53), 200, np.uint8)).shape == (37, 53, 3)
    with pytest.raises(ModelLoadError, match=r"unet: no such file.*shipped: \['sketch_inverter'\]"):
        Colorizer.load("unet")


@pytest.mark.parametrize("name", shipped.available())
def test_every_shipped_model_loads_and_colorizes_any_size(name):
    colorizer = Colorizer.load(name)
    output = colorizer.colorize(np.full((45, 61, 3), 180, np.uint8))
    assert output.shape == (45, 61, 3) and output.dtype == np.uint8


def test_the_shipped_photo_model_colours_real_faces_better_than_gray(lfw_faces):
    from keras_colorize import inference, metrics

    gray = inference.gray_version(lfw_faces)
    colour = Colorizer.load(shipped.PHOTO_MODEL).colorize(gray)
    gain = np.mean(metrics.psnr(lfw_faces, colour) - metrics.psnr(lfw_faces, gray))
    assert gain > 1.0
    assert np.mean(metrics.colorfulness(colour)) > 0.5 * np.mean(metrics.colorfulness(lfw_faces))
