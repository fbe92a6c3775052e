"""`keras-colorize export`: TensorFlow Lite files (and `Colorizer.load` of them) and SavedModels."""

import contextlib
import io
import re

import numpy as np
import pytest
import skimage.data
from tensorflow.lite.python import schema_py_generated as schema
from tensorflow.lite.tools import flatbuffer_utils

from keras_colorize import cli, tflite
from keras_colorize.colorizer import Colorizer
from keras_colorize.errors import ModelLoadError

pytest.importorskip("ai_edge_litert", reason="needs the tflite extra (pip install 'keras-colorize[tflite]')")


@pytest.fixture(scope="module")
def keras_unet():
    return Colorizer.load("unet")


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """{quantization: .tflite file of the shipped unet}, written by the command line."""
    folder = tmp_path_factory.mktemp("tflite")
    files = {}
    for quantization in tflite.QUANTIZATIONS:
        files[quantization] = folder / f"unet_{quantization}.tflite"
        float16 = ["--float16"] if quantization == "float16" else []
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            assert cli.main(["export", "unet", "--format", "tflite", str(files[quantization]), *float16]) == 0
        files[f"{quantization} said"] = printed.getvalue()
    return files


@pytest.fixture(scope="module")
def photos():
    """Real photos at sizes of their own, uint8 RGB."""
    return [skimage.data.coffee()[::2, ::2], skimage.data.astronaut()[50:290, 100:420], skimage.data.chelsea()]


@pytest.mark.parametrize("quantization", tflite.QUANTIZATIONS)
def test_a_tflite_file_colorizes_within_one_level_of_the_keras_model(exported, keras_unet, photos, quantization):
    colorizer = Colorizer.load(exported[quantization])
    assert (colorizer.name, colorizer.element_format, colorizer.input_size, colorizer.rendering) == (
        "unet", keras_unet.element_format, keras_unet.input_size, keras_unet.rendering)
    assert colorizer.rendering is not None  # photos keep their shape, as in Keras
    for photo in photos:
        output = colorizer.colorize(photo)
        assert output.shape == photo.shape and output.dtype == np.uint8
        assert np.abs(output.astype(int) - keras_unet.colorize(photo)).max() <= 1
    batch = np.stack([photos[0]] * 3)
    np.testing.assert_array_equal(colorizer.colorize(batch)[2], colorizer.colorize(photos[0]))


def test_float16_halves_the_file_and_export_says_how_close_each_file_is(exported):
    assert exported["float16"].stat().st_size < 0.6 * exported["float32"].stat().st_size
    assert re.fullmatch(r".*unet_float16.tflite: unet \(shipped:unet\) as tflite with float16 weights; on the 6 "
                        r"sample photos 100.00% of the values are within 1 uint8 level of the Keras model's, "
                        r"[01] at most\n", exported["float16 said"])
    assert "unet_float32.tflite: unet (shipped:unet) as tflite; on the 6 sample photos" in exported["float32 said"]


def _rewritten(source, destination, change):
    model = flatbuffer_utils.read_model(str(source))
    change(model)
    flatbuffer_utils.write_model(model, str(destination))
    return destination


def _without_metadata(model):
    model.metadata = [entry for entry in model.metadata if entry.name != tflite.METADATA_NAME.encode()]


def _with_a_flex_operator(model):
    model.operatorCodes[0].builtinCode = schema.BuiltinOperator.CUSTOM
    model.operatorCodes[0].deprecatedBuiltinCode = schema.BuiltinOperator.CUSTOM
    model.operatorCodes[0].customCode = "FlexWriteFile"


def test_files_that_are_not_this_packages_tflite_models_are_named_and_refused(exported, tmp_path):
    (tmp_path / "text.tflite").write_text("hello, not a model at all")
    with pytest.raises(ModelLoadError, match="text.tflite: not a TensorFlow Lite model"):
        Colorizer.load(tmp_path / "text.tflite")
    foreign = _rewritten(exported["float32"], tmp_path / "foreign.tflite", _without_metadata)
    with pytest.raises(ModelLoadError,
                       match="foreign.tflite: a TensorFlow Lite model, but not one `keras-colorize export` wrote"):
        Colorizer.load(foreign)
    flex = _rewritten(exported["float32"], tmp_path / "flex.tflite", _with_a_flex_operator)
    with pytest.raises(ModelLoadError,
                       match=r"flex.tflite: uses operators outside TFLite's built-in set \(FlexWriteFile\)"):
        Colorizer.load(flex)
    content = exported["float32"].read_bytes()
    (tmp_path / "truncated.tflite").write_bytes(content[: len(content) // 3])
    with pytest.raises(ModelLoadError, match="truncated.tflite: (a damaged TensorFlow Lite model|TFLite cannot run it)"):
        Colorizer.load(tmp_path / "truncated.tflite")


def test_export_never_replaces_a_file_and_takes_only_keras_models(exported, tmp_path, capsys):
    taken = tmp_path / "taken.tflite"
    taken.write_text("mine")
    assert cli.main(["export", "unet", "--format", "tflite", str(taken)]) == cli.EXIT_ERROR
    assert taken.read_text() == "mine" and "taken.tflite: exists; refusing to overwrite it" in capsys.readouterr().err
    assert cli.main(["export", "unet", "--format", "tflite", str(tmp_path / "unet.lite")]) == cli.EXIT_ERROR
    assert "unet.lite: a TensorFlow Lite model is written as a .tflite file" in capsys.readouterr().err
    assert cli.main(["export", str(exported["float32"]), "--format", "tflite", str(tmp_path / "again.tflite")]) == 2
    assert "an exported model already; export takes a Keras model" in capsys.readouterr().err
    assert not (tmp_path / "unet.lite").exists() and not (tmp_path / "again.tflite").exists()
    with pytest.raises(ModelLoadError, match="runs at its own size"):
        Colorizer.load(exported["float32"], size=128)


def test_the_colorize_command_takes_a_tflite_model(exported, photos, tmp_path, capsys):
    from keras_colorize import images

    images.write_image(tmp_path / "coffee.png", photos[0])
    assert cli.main(["colorize", str(tmp_path / "coffee.png"), "-o", str(tmp_path / "out"),
                     "--model", str(exported["float16"])]) == cli.EXIT_OK
    assert images.read_rgb(tmp_path / "out" / "coffee.png").shape == photos[0].shape


def test_export_writes_a_savedmodel_that_colorizes_as_the_keras_model(keras_unet, photos, tmp_path, capsys):
    assert cli.main(["export", "unet", "--format", "savedmodel", str(tmp_path / "unet_export")]) == cli.EXIT_OK
    assert "unet (shipped:unet) as savedmodel" in capsys.readouterr().out
    exported = Colorizer.load(tmp_path / "unet_export")
    square = photos[2][:300, :300]  # an export runs at the model's square size, as the Keras default
    assert np.abs(exported.colorize(square).astype(int) - keras_unet.colorize(square)).max() <= 1
    assert cli.main(["export", "unet", "--format", "savedmodel", str(tmp_path / "unet_export")]) == cli.EXIT_ERROR
    assert "unet_export: exists; refusing to overwrite it" in capsys.readouterr().err
