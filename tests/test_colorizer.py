"""Colorizer: any size, dtype and channel count in; uint8 RGB at the input's size out; loading."""

import json

import cv2
import numpy as np
import pytest
import skimage.color
import skimage.data
import tensorflow as tf
from PIL import Image

from keras_colorize import data, inference, models, shipped
from keras_colorize.colorizer import Colorizer, ModelLoadError

ODD_SIZE = (333, 517)


@pytest.fixture(scope="module")
def unet(trained_run):
    return Colorizer.load(trained_run("unet"))


@pytest.fixture(scope="module")
def photo():
    """A real photo at an odd size, uint8 RGB (333, 517, 3)."""
    return cv2.resize(skimage.data.coffee(), ODD_SIZE[::-1], interpolation=cv2.INTER_AREA)


# The same photo as each kind of input the API takes: (rgb uint8, gray uint8) -> input.
INPUT_KINDS = {
    "gray uint8 (H, W)": lambda rgb, gray: gray,
    "gray uint8 (H, W, 1)": lambda rgb, gray: gray[..., None],
    "gray float64 (H, W)": lambda rgb, gray: gray / 255.0,
    "rgb uint8": lambda rgb, gray: rgb,
    "rgb float64": lambda rgb, gray: rgb / 255.0,
    "rgb float32": lambda rgb, gray: (rgb / 255.0).astype(np.float32),
}


def _lightness(image):
    image = np.asarray(image)
    if image.dtype == np.uint8:
        image = image / 255.0
    if image.ndim == 2 or image.shape[-1] == 1:
        image = np.repeat(image.reshape(*image.shape[:2], 1), 3, axis=-1)
    return skimage.color.rgb2lab(image)[..., 0]


@pytest.mark.slow
@pytest.mark.parametrize("kind", INPUT_KINDS)
def test_lab_model_output_has_the_input_size_and_lightness(unet, photo, kind):
    gray = np.round(skimage.color.rgb2gray(photo) * 255).astype(np.uint8)
    image = INPUT_KINDS[kind](photo, gray)
    colorized = unet.colorize(image)
    assert colorized.shape == (*ODD_SIZE, 3) and colorized.dtype == np.uint8
    # Only the ab is predicted; L comes from the input, at full resolution, so it differs by
    # no more than the output's uint8 rounding (under 0.4 L units), except where the colour
    # lies outside sRGB at that lightness and a channel is clipped at 0 or 255.
    difference = np.abs(_lightness(colorized) - _lightness(image))
    in_gamut = ((colorized > 0) & (colorized < 255)).all(axis=-1)
    assert in_gamut.mean() > 0.9
    assert difference[in_gamut].max() < 0.4
    assert difference.mean() < 0.1


@pytest.mark.slow
def test_pil_images_and_paths_give_the_same_result_as_arrays(unet, photo, tmp_path):
    from_array = unet.colorize(photo)
    Image.fromarray(photo).save(tmp_path / "photo.png")
    np.testing.assert_array_equal(unet.colorize(Image.fromarray(photo)), from_array)
    np.testing.assert_array_equal(unet.colorize(tmp_path / "photo.png"), from_array)
    np.testing.assert_array_equal(unet.colorize(str(tmp_path / "photo.png")), from_array)
    gray_pil = Image.fromarray(photo).convert("L")
    assert unet.colorize(gray_pil).shape == (*ODD_SIZE, 3)


@pytest.mark.slow
def test_batches_and_lists_match_single_images(unet, photo):
    batch = np.stack([photo, photo[::-1], photo[:, ::-1]])
    colorized = unet.colorize(batch)
    assert colorized.shape == (3, *ODD_SIZE, 3) and colorized.dtype == np.uint8
    for image, result in zip(batch, colorized):
        assert np.abs(unet.colorize(image).astype(int) - result).max() <= 1

    mixed = [photo, photo[:101, :77], Image.fromarray(photo[:50, :60])]
    results = unet.colorize(mixed)
    assert [result.shape for result in results] == [(*ODD_SIZE, 3), (101, 77, 3), (50, 60, 3)]


@pytest.mark.slow
def test_sketch_model_returns_a_photo_at_the_sketch_size(trained_run, photo):
    sketch_inverter = Colorizer.load(trained_run("sketch_inverter"))
    assert sketch_inverter.name == "sketch_inverter"
    sketch = cv2.cvtColor(photo, cv2.COLOR_RGB2GRAY)
    colorized = sketch_inverter.colorize(sketch)
    assert colorized.shape == (*ODD_SIZE, 3) and colorized.dtype == np.uint8
    assert colorized.std() > 0


@pytest.mark.slow
def test_run_folder_keras_file_and_saved_model_load_the_same_model(trained_run, unet, photo):
    run = trained_run("unet")
    expected = unet.colorize(photo)
    for source in (run / "model.keras", str(run / "model.keras"), run / "export"):
        colorizer = Colorizer.load(source)
        assert colorizer.name == "unet"
        assert np.abs(colorizer.colorize(photo).astype(int) - expected).max() <= 1, source
    assert unet.name == "unet" and unet.element_format == "l_lab_unit"


def test_bad_model_sources_name_the_path_and_the_problem(tmp_path, monkeypatch):
    monkeypatch.setattr("keras_colorize.shipped.WEIGHTS_DIR", tmp_path / "no_weights")
    with pytest.raises(ModelLoadError, match=r"missing_run: no such file or folder.*not a shipped"):
        Colorizer.load(tmp_path / "missing_run")
    (tmp_path / "empty_run").mkdir()
    with pytest.raises(ModelLoadError, match=r"empty_run: holds neither model.keras nor a SavedModel"):
        Colorizer.load(tmp_path / "empty_run")
    (tmp_path / "broken.keras").write_text("not a zip archive")
    with pytest.raises(ModelLoadError, match=r"broken.keras: not a loadable .keras model"):
        Colorizer.load(tmp_path / "broken.keras")


def test_shipped_weights_that_do_not_fit_are_a_model_load_error(tmp_path, monkeypatch):
    config = models.config("unet", "small", base_filters=8)
    shipped.save(models.build("unet", **config), "unet", config, folder=tmp_path)
    description = json.loads((tmp_path / "unet.json").read_text())
    description["config"]["base_filters"] = 4
    (tmp_path / "unet.json").write_text(json.dumps(description))
    monkeypatch.setattr("keras_colorize.shipped.WEIGHTS_DIR", tmp_path)
    # The apps catch ModelLoadError alone.
    with pytest.raises(ModelLoadError, match="unet.npz: its arrays do not fit"):
        Colorizer.load("unet")


@pytest.mark.parametrize(
    "shape, dtype",
    [((1, 8, 8, 4), np.uint8), ((1, 8, 8, 2), np.uint8), ((0, 8, 8, 3), np.uint8), ((2, 0, 8, 1), np.float32)],
)
def test_bad_batches_raise_a_clear_error(shape, dtype):
    untrained = Colorizer.from_model(models.build("unet", "small", base_filters=8))
    with pytest.raises(ValueError, match=rf"expected a batch .* not \({', '.join(map(str, shape))}\)"):
        untrained.colorize(np.zeros(shape, dtype))


class _InputRecorder:
    """A stand-in model at `size` x `size` that keeps what it was given and predicts zeros."""

    def __init__(self, size):
        self.input_shape = (None, size, size, 1)
        self.seen = None

    def __call__(self, inputs, training):
        self.seen = inputs.numpy()
        return tf.zeros([*inputs.shape[:3], 3])


def _gray_ramp(size):
    """A batch of one uint8 RGB size x size image, black to white from left to right: its gray
    image (and so a sketch model's input) is the ramp itself."""
    row = np.linspace(0, 255, size).astype(np.uint8)
    return np.repeat(np.tile(row, (size, 1))[None, ..., None], 3, axis=-1)


def test_the_model_sees_small_images_enlarged_as_in_training():
    element_format = "sketch_rgb"
    low, high = data.get_format(element_format).input_range
    recorder = _InputRecorder(size=32)
    inference.colorize_batch(recorder, _gray_ramp(8), element_format)
    trained_on = next(iter(data.resize_samples(data.from_arrays(_gray_ramp(8)), 32)))["rgb"].numpy()
    np.testing.assert_allclose(recorder.seen[0, ..., 0], trained_on[..., 0] * (high - low) + low, atol=1e-3)

    at_model_size = _gray_ramp(32)
    inference.colorize_batch(recorder, at_model_size, element_format)
    np.testing.assert_array_equal(recorder.seen, inference.full_resolution_input(at_model_size, element_format))


@pytest.mark.slow
def test_bad_arrays_raise_a_clear_error(unet):
    with pytest.raises(ValueError, match=r"\(4, 5, 4\)"):
        unet.colorize(np.zeros((4, 5, 4), np.uint8))
    with pytest.raises(ValueError, match="int32"):
        unet.colorize(np.zeros((4, 5, 3), np.int32))
