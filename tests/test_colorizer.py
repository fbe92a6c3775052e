"""Colorizer: any size, dtype and channel count in; uint8 RGB at the input's size out; loading."""

import json
import shutil
from pathlib import Path

import cv2
import keras
import numpy as np
import pytest
import skimage.color
import skimage.data
import tensorflow as tf
from PIL import Image

from keras_colorize import data, exporting, inference, models, shipped
from keras_colorize.colorizer import Colorizer
from keras_colorize.errors import ModelLoadError

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


def _lightness_gray(rgb_uint8):
    """The neutral uint8 gray of each pixel's CIELAB lightness, by scikit-image: what a model
    that sees only lightness should be given for a colour photo."""
    lightness = skimage.color.rgb2lab(rgb_uint8)[..., 0]
    neutral = np.stack([lightness, np.zeros_like(lightness), np.zeros_like(lightness)], axis=-1)
    return np.round(skimage.color.lab2rgb(neutral) * 255).astype(np.uint8)


@pytest.mark.slow
def test_sketch_model_returns_a_photo_at_the_sketch_size(trained_run, photo):
    run = trained_run("sketch_inverter")
    sketch_inverter = Colorizer.load(run)
    assert sketch_inverter.name == "sketch_inverter"
    sketch = cv2.cvtColor(photo, cv2.COLOR_RGB2GRAY)
    colorized = sketch_inverter.colorize(sketch)
    assert colorized.shape == (*ODD_SIZE, 3) and colorized.dtype == np.uint8
    assert colorized.std() > 0

    # The photo is the model's own prediction at its size on the short side, enlarged: shrunk
    # back (by OpenCV, not the package) it matches the model run on the sketch shrunk to that size.
    model = models.accept_any_size(keras.saving.load_model(run / "model.keras", compile=False))
    height, width = sketch_inverter._model_size(*ODD_SIZE)
    assert min(height, width) == model.input_shape[1]
    small_sketch = cv2.resize(sketch, (width, height), interpolation=cv2.INTER_AREA) / 255.0
    model_input = np.repeat(small_sketch[None, ..., None], 3, axis=-1).astype(np.float32)
    predicted = np.clip(model.predict(model_input, verbose=0)[0], 0.0, 1.0)  # sketch_rgb: [0, 1]
    shrunk = cv2.resize(colorized, (width, height), interpolation=cv2.INTER_AREA) / 255.0
    spread = np.abs(predicted - predicted.mean(axis=(0, 1))).mean()  # a barely trained model's
    assert np.abs(shrunk - predicted).mean() < min(0.01, 0.4 * spread)

    # A sketch model sees lightness only: a colour photo gives what its gray version gives.
    from_colour = sketch_inverter.colorize(photo).astype(int)
    assert np.abs(from_colour - sketch_inverter.colorize(_lightness_gray(photo))).max() <= 2


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
    monkeypatch.setattr("keras_colorize.shipped.PRESETS_DIR", tmp_path / "no_presets")
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
    description = json.loads((tmp_path / "unet" / "config.json").read_text())
    description["config"]["base_filters"] = 4
    (tmp_path / "unet" / "config.json").write_text(json.dumps(description))
    monkeypatch.setattr("keras_colorize.shipped.PRESETS_DIR", tmp_path)
    # The apps catch ModelLoadError alone.
    with pytest.raises(ModelLoadError, match="model.weights.h5: its weights do not fit"):
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
        self.inputs = [tf.TensorSpec((None, size, size, 1))]
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


@pytest.mark.parametrize("element_format", ["sketch_rgb", "sketch_rgb_tanh"])
def test_a_sketch_model_is_given_the_gray_of_a_colour_photo(element_format):
    # Sketch models trained on gray sketches: a colour photo reaches them as the neutral gray
    # of its CIELAB lightness (scikit-image's here), in every channel, in their input range.
    colour = cv2.resize(skimage.data.astronaut(), (32, 32), interpolation=cv2.INTER_AREA)
    recorder = _InputRecorder(size=32)
    inference.colorize_batch(recorder, colour[None], element_format)
    low, high = data.get_format(element_format).input_range
    expected = skimage.color.lab2rgb(
        skimage.color.rgb2lab(colour) * np.array([1.0, 0.0, 0.0])
    ) * (high - low) + low
    assert recorder.seen.shape == (1, 32, 32, 3)
    np.testing.assert_allclose(recorder.seen[0], expected, atol=2e-3 * (high - low))


# Each LAB element format's target, encoded by hand from scikit-image's CIELAB (L, ab).
LAB_TARGETS = {
    "l_ab": lambda lightness, ab: ab,
    "l_ab_unit": lambda lightness, ab: (ab + 128.0) / 255.0,
    "l_ab_signed": lambda lightness, ab: ab / 128.0,
    "l_lab_unit": lambda lightness, ab: np.concatenate([lightness / 100.0, (ab + 128.0) / 255.0], -1),
}


@pytest.mark.parametrize("element_format", LAB_TARGETS)
@pytest.mark.parametrize("scale", [1, 2], ids=["same size", "half size prediction"])
def test_decoding_a_real_photos_true_target_gives_the_photo_back(photo, element_format, scale):
    # A perfect model predicts the photo's own target: decoding it (with the full-resolution
    # L) must give the photo's colours back, a and b each in its place.
    lab = skimage.color.rgb2lab(photo)
    predicted = lab
    if scale > 1:  # a model's smaller prediction is enlarged to the input's size
        predicted = cv2.resize(lab, (ODD_SIZE[1] // scale, ODD_SIZE[0] // scale), interpolation=cv2.INTER_AREA)
    target = LAB_TARGETS[element_format](predicted[..., :1], predicted[..., 1:])
    full_inputs = (lab[..., :1] / 100.0)[None].astype(np.float32)
    decoded = inference.outputs_to_rgb(element_format, full_inputs, target[None].astype(np.float32))
    decoded = decoded.numpy()[0]
    assert decoded.shape == photo.shape
    error = np.abs(decoded * 255.0 - photo)
    if scale == 1:  # float32 rounding only (a and b swapped: 12 levels on average)
        assert error.max() < 0.05
    else:  # only the colour is blurred, at its edges (1.4 levels on average)
        assert error.mean() < 3.0
    # The colour itself (not just the lightness): mean a and b of the photo come back.
    decoded_ab = skimage.color.rgb2lab(decoded)[..., 1:].mean(axis=(0, 1))
    np.testing.assert_allclose(decoded_ab, lab[..., 1:].mean(axis=(0, 1)), atol=0.5)


class _Checkerboard(_InputRecorder):
    """A stand-in sketch model whose output is a 1-pixel black and white checkerboard."""

    def __call__(self, inputs, training):
        rows, columns = np.indices(inputs.shape[1:3])
        board = np.repeat(((rows + columns) % 2)[None, ..., None], 3, axis=-1)
        return tf.constant(board * 2.0 - 1.0, tf.float32)  # sketch_rgb_tanh's [-1, 1]


def test_outputs_shrunk_to_a_small_input_are_antialiased_not_aliased():
    # Shrinking the 24 px board to 8 px must average it to mid-gray; plain bilinear samples
    # one pixel in three there, giving a black and white board again.
    shrunk = inference.colorize_batch(_Checkerboard(size=24), _gray_ramp(8), "sketch_rgb_tanh")
    assert shrunk.shape == (1, 8, 8, 3)
    np.testing.assert_allclose(shrunk, 128, atol=2)


@pytest.mark.slow
def test_bad_arrays_raise_a_clear_error(unet):
    with pytest.raises(ValueError, match=r"\(4, 5, 4\)"):
        unet.colorize(np.zeros((4, 5, 4), np.uint8))
    with pytest.raises(ValueError, match="int32"):
        unet.colorize(np.zeros((4, 5, 3), np.int32))


@pytest.mark.parametrize(
    "image, named",
    [
        pytest.param(np.full((8, 8, 3), 200.0), r"got min 200, max 200", id="0-255 floats"),
        pytest.param(np.full((8, 8), -1.0, np.float32), r"got min -1, max -1", id="negative"),
        pytest.param(np.full((2, 8, 8, 1), np.nan, np.float32), r"got NaN or infinite", id="NaN batch"),
    ],
)
def test_float_images_outside_the_unit_range_are_refused(image, named):
    untrained = Colorizer.from_model(models.build("unet", "small", base_filters=8))
    with pytest.raises(ValueError, match=r"float images must be in \[0, 1\]; " + named):
        untrained.colorize(image)


@pytest.fixture
def shipped_unet(tmp_path, monkeypatch):
    """A small untrained U-Net shipped as "unet" from a presets folder of its own."""
    config = models.config("unet", "small", base_filters=8)
    shipped.save(models.build("unet", **config), "unet", config, folder=tmp_path / "presets")
    monkeypatch.setattr("keras_colorize.shipped.PRESETS_DIR", tmp_path / "presets")
    return "unet"


def test_a_file_or_folder_named_like_a_shipped_model_does_not_hide_it(shipped_unet, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path(shipped_unet).mkdir()  # say, an output folder
    assert Colorizer.load(shipped_unet).source == f"shipped:{shipped_unet}"
    Path(shipped_unet).rmdir()
    Path(shipped_unet).write_text("notes")
    assert Colorizer.load(shipped_unet).source == f"shipped:{shipped_unet}"

    # A folder of that name that does hold a model is that model.
    Path(shipped_unet).unlink()
    exporting.save_keras(models.build("unet", "small", base_filters=8), Path(shipped_unet) / "model.keras")
    assert Colorizer.load(shipped_unet).source == str(Path(shipped_unet) / "model.keras")


def test_a_source_as_a_loaded_colorizer_names_it_loads_again(shipped_unet, tmp_path, monkeypatch):
    """The apps print `shipped:NAME`; typed back as --model, it is that shipped model, even
    where the folder `shipped:NAME` holds another model."""
    monkeypatch.chdir(tmp_path)
    source = Colorizer.load(shipped_unet).source
    exporting.save_keras(models.build("classifier", "small"), Path(source) / "model.keras")
    again = Colorizer.load(source)
    assert (again.name, again.source) == ("unet", source)
    with pytest.raises(ModelLoadError, match=r"^fusion: not a shipped model \(shipped: \['unet'\]\)"):
        Colorizer.load("shipped:fusion")


@pytest.fixture(scope="module")
def small_export(tmp_path_factory):
    """A SavedModel of a small untrained U-Net, exported as train.py exports one."""
    path = tmp_path_factory.mktemp("export") / "export"
    return exporting.export_serving(models.build("unet", "small", base_filters=8), "l_lab_unit", path)


def _truncate(path):
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


# Damage done to a copy of a run's export/ (and its config.json) -> what the error must name.
BROKEN_SAVED_MODELS = {
    "config not JSON": (lambda run: (run / "config.json").write_text("{unet"), r"config.json: not valid JSON"),
    "config without model": (lambda run: (run / "config.json").write_text('{"data": "x.h5"}'),
                             r"config.json: names no model"),
    "corrupt saved_model.pb": (lambda run: (run / "export" / "saved_model.pb").write_bytes(b"\x00garbage"),
                               r"export: not a loadable SavedModel \(Cannot parse"),
    "no variables": (lambda run: shutil.rmtree(run / "export" / "variables"),
                     r"export: not a loadable SavedModel \(.*variables"),
    "truncated variables": (
        lambda run: _truncate(next((run / "export" / "variables").glob("variables.data-*"))),
        r"export: not a loadable SavedModel",
    ),
}


@pytest.mark.parametrize("damage", BROKEN_SAVED_MODELS)
def test_broken_saved_models_are_a_one_line_model_load_error(small_export, tmp_path, damage):
    run = tmp_path / "run"
    shutil.copytree(small_export, run / "export")
    (run / "config.json").write_text(json.dumps({"model": "unet"}))
    assert Colorizer.load(run / "export").name == "unet"  # the undamaged copy loads

    break_it, named = BROKEN_SAVED_MODELS[damage]
    break_it(run)
    with pytest.raises(ModelLoadError, match=named) as raised:
        Colorizer.load(run / "export")
    assert str(raised.value).startswith(str(run)) and "\n" not in str(raised.value)


def test_a_keras_model_that_only_shares_a_models_name_is_refused_on_loading(tmp_path):
    """Before, a plain Keras model named "unet" loaded and failed on its first image, deep in
    tf.image.resize; one of another name never loaded."""
    inputs = keras.Input((None, None, 3))
    plain = keras.Model(inputs, keras.layers.Conv2D(3, 3, padding="same")(inputs), name="unet")
    plain.save(tmp_path / "plain.keras")
    with pytest.raises(ModelLoadError, match=(
        r"plain.keras: not a keras-colorize 'unet' model: it takes 'input_layer(_\d+)?' \(3 channels, any size\) "
        r"and gives 3 channels, where a 'unet' model takes 'lightness' \(1 channel, fixed size\)"
    )):
        Colorizer.load(tmp_path / "plain.keras")
    renamed = keras.Model(inputs, plain.outputs, name="mine")
    with pytest.raises(ModelLoadError, match="model name 'mine' is not one of"):
        Colorizer.from_model(renamed)


def test_a_truncated_keras_file_is_not_called_missing(tmp_path):
    path = exporting.save_keras(models.build("unet", "small", base_filters=8), tmp_path / "unet.keras")
    _truncate(path)
    with pytest.raises(ModelLoadError, match=r"unet.keras: not a loadable .keras model \(not a zip archive"):
        Colorizer.load(path)


def test_a_run_stopped_before_its_end_points_to_its_best_checkpoint(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "best.keras").write_bytes(b"")
    with pytest.raises(ModelLoadError, match=r"holds neither model.keras.*load its best.keras"):
        Colorizer.load(run)


@pytest.mark.parametrize("name", ["classifier", "unet"])
def test_in_bfloat16_the_shipped_classifier_and_unet_colour_within_three_levels(name):
    photo = skimage.data.astronaut()
    exact = Colorizer.load(name).colorize(photo)
    fast = Colorizer.from_model(shipped.load(name), precision="mixed_bfloat16").colorize(photo)
    difference = np.abs(fast.astype(int) - exact)
    assert difference.max() <= 3 and difference.mean() < 0.2
    with pytest.raises(ValueError, match="precision must be one of"):
        Colorizer.from_model(shipped.load(name), precision="float16")
