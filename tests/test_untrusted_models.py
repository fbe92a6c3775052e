"""Model files from strangers: a SavedModel whose graph touches files is refused unless
trusted, before TensorFlow runs any of it; a shipped name cannot climb out of the weights."""

import json
import zipfile

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_colorize import Colorizer, cli, exporting, models, shipped
from keras_colorize.errors import ModelLoadError


class FileWritingServer(tf.Module):
    """A SavedModel that looks like a colorizer, but writes a file each time it serves."""

    def __init__(self, marker):
        super().__init__()
        self.marker = str(marker)

    @tf.function(input_signature=[tf.TensorSpec([None, None, None, None], tf.uint8, name="images")])
    def serve(self, images):
        tf.io.write_file(self.marker, "owned")
        return {"colorized": tf.tile(images, [1, 1, 1, 3 // tf.shape(images)[-1]])}


class TableAtLoad(tf.Module):
    """A SavedModel with a lookup table: its initializer runs while loading."""

    def __init__(self):
        super().__init__()
        self.table = tf.lookup.StaticHashTable(tf.lookup.KeyValueTensorInitializer([1], [2]), 0)

    @tf.function(input_signature=[tf.TensorSpec([None, None, None, None], tf.uint8, name="images")])
    def serve(self, images):
        return {"colorized": images + tf.cast(self.table.lookup(tf.constant(1)) * 0, tf.uint8)}


def _save(module, path):
    tf.saved_model.save(module, str(path), signatures={"serving_default": module.serve})
    return path


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    return _save(FileWritingServer(root / "written_by_the_model"), root / "savedmodel"), root / "written_by_the_model"


def test_a_savedmodel_with_file_operations_is_refused_before_it_runs(hostile):
    path, marker = hostile
    with pytest.raises(ModelLoadError, match=r"savedmodel: operations \['WriteFile'\].*--trust-savedmodel"):
        Colorizer.load(path)
    assert not marker.exists()


def test_a_trusted_savedmodel_loads_and_runs_its_graph(hostile):
    path, marker = hostile
    colorizer = Colorizer.load(path, trust_savedmodel=True)
    assert colorizer.colorize(np.zeros((4, 4), np.uint8)).shape == (4, 4, 3)
    assert marker.read_text() == "owned"  # what trusting it means
    marker.unlink()


def test_the_cli_refuses_it_and_takes_trust_savedmodel(hostile, tmp_path, capsys):
    path, marker = hostile
    photo = tmp_path / "photo.png"
    from PIL import Image

    Image.new("L", (8, 8), 128).save(photo)
    assert cli.main(["colorize", str(photo), "-o", str(tmp_path / "out"), "--model", str(path)]) == 2
    assert "--trust-savedmodel" in capsys.readouterr().err and not marker.exists()
    arguments = ["colorize", str(photo), "-o", str(tmp_path / "out"), "--model", str(path), "--trust-savedmodel"]
    assert cli.main(arguments) == 0
    assert marker.exists()
    marker.unlink()


def test_a_savedmodel_that_runs_code_while_loading_is_refused(tmp_path):
    path = _save(TableAtLoad(), tmp_path / "table")
    with pytest.raises(ModelLoadError, match=r"table: .* object \(run or read on load\).*--trust-savedmodel"):
        Colorizer.load(path)


def test_a_shipped_name_cannot_leave_the_presets_folder(tmp_path):
    presets, outside = tmp_path / "presets", tmp_path / "elsewhere"
    presets.mkdir()
    config = models.config("unet", "small", base_filters=8)
    shipped.save(models.build("unet", **config), "unet", config, name="stolen", folder=outside)
    assert json.loads((outside / "stolen" / "config.json").read_text())["model"] == "unet"
    with pytest.raises(ModelLoadError, match=r"\.\./elsewhere/stolen: not a shipped model"):
        shipped.load("../elsewhere/stolen", folder=presets)
    with pytest.raises(ModelLoadError, match="not a shipped model"):
        Colorizer.load("shipped:../../../" + str(outside / "stolen").lstrip("/"))


def test_a_keras_file_with_a_lambda_layer_is_refused(tmp_path):
    """A Lambda layer is Python bytecode in the file; Keras's safe mode refuses to load it."""
    inputs = keras.Input((8, 8, 1))
    keras.Model(inputs, keras.layers.Lambda(lambda x: x * 2)(inputs), name="unet").save(tmp_path / "lambda.keras")
    with pytest.raises(ModelLoadError, match=r"lambda.keras: not a loadable .keras model \(.*Lambda"):
        Colorizer.load(tmp_path / "lambda.keras")


def _rewrite_archive(path, change_config=None, extra_entry=None):
    with zipfile.ZipFile(path) as archive:
        entries = {name: archive.read(name) for name in archive.namelist()}
    if change_config:
        entries["config.json"] = json.dumps(change_config(json.loads(entries["config.json"]))).encode()
    if extra_entry:
        entries[extra_entry] = b"escaped"
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in entries.items():
            archive.writestr(name, content)


def test_a_keras_file_whose_config_names_os_system_is_refused(tmp_path):
    path = exporting.save_keras(models.build("unet", "small", base_filters=8), tmp_path / "system.keras")

    def call_os_system(config):
        config["config"]["layers"][1].update(module="os", class_name="system", registered_name=None)
        return config

    _rewrite_archive(path, change_config=call_os_system)
    with pytest.raises(ModelLoadError, match=r"system.keras: not a loadable .keras model"):
        Colorizer.load(path)


def test_a_keras_file_with_a_path_traversal_entry_extracts_nothing(tmp_path):
    (tmp_path / "inner" / "deeper").mkdir(parents=True)
    path = exporting.save_keras(models.build("unet", "small", base_filters=8), tmp_path / "inner" / "deeper" / "m.keras")
    _rewrite_archive(path, extra_entry="../../escaped.txt")
    try:
        Colorizer.load(path)
    except ModelLoadError:
        pass  # refusing it is as good as ignoring the entry
    assert not any(found.name == "escaped.txt" for found in tmp_path.rglob("*"))
