"""Inputs that used to crash with a traceback: each is now a counted skip or a one-line error.
File names that are not UTF-8, loops of links, malformed HDF5 files, foreign model files."""

import os
import shutil

import h5py
import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from data_prep.__main__ import main as data_prep_main
from data_prep.clean import clean_folder
from keras_colorize import Colorizer, data, evaluation, training_data
from keras_colorize.datasets import build_dataset
from keras_colorize.errors import DataSourceError, ModelLoadError

BAD_NAME = os.fsdecode(b"bad\xff\xfename.png")  # what Python makes of a Latin-1 name on Linux


@pytest.fixture
def folder_with_a_bad_name(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    for index, name in enumerate(["a.png", "b.png", "c.png", BAD_NAME]):
        pixels = np.random.default_rng(index).integers(0, 256, (48, 48, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(folder / name)
    return folder


def test_clean_skips_and_counts_a_name_that_is_not_utf8(folder_with_a_bad_name, tmp_path):
    summary = clean_folder(folder_with_a_bad_name, tmp_path / "clean", verbose=False)
    assert summary["skipped"] == {"undecodable_name": 1}
    kept = (tmp_path / "clean" / "kept.txt").read_text().split()
    assert [os.path.basename(path) for path in kept] == ["a.png", "b.png", "c.png"]
    assert "bad\\xff\\xfename.png\tundecodable_name" in (tmp_path / "clean" / "rejects.tsv").read_text()


def test_build_skips_and_counts_a_name_that_is_not_utf8(folder_with_a_bad_name, tmp_path):
    summary = build_dataset([folder_with_a_bad_name], tmp_path / "out.h5", 32, split=(1.0, 0.0, 0.0), verbose=False)
    assert summary["skipped"] == {"undecodable_name": 1}
    with h5py.File(tmp_path / "out.h5") as file:
        assert sorted(file["train/source"].asstr()[...]) == ["a.png", "b.png", "c.png"]


def test_evaluate_skips_and_counts_a_name_that_is_not_utf8(folder_with_a_bad_name, tmp_path):
    echo = Colorizer(lambda batch: np.asarray(batch, np.uint8), "echo", "saved_model")
    summary = evaluation.evaluate(echo, evaluation.open_data(folder_with_a_bad_name), ["psnr"], tmp_path / "scores",
                                  model_input="gray", samples=0, verbose=False)
    assert summary["images"]["skipped"] == {"undecodable_name": 1}
    rows = (tmp_path / "scores" / "per_image.csv").read_text().splitlines()[1:]
    assert sorted({row.split(",")[0] for row in rows}) == ["a.png", "b.png", "c.png"]


def test_build_names_a_loop_of_links_as_source_or_out_in_one_line(folder_with_a_bad_name, tmp_path, capsys):
    (tmp_path / "loop_a").symlink_to(tmp_path / "loop_b")
    (tmp_path / "loop_b").symlink_to(tmp_path / "loop_a")
    for source, out in [(tmp_path / "loop_a", tmp_path / "out.h5"), (folder_with_a_bad_name, tmp_path / "loop_a")]:
        with pytest.raises(SystemExit) as exited:
            data_prep_main(["build", str(source), str(out), "--size", "32"])
        assert exited.value.code == 2
        assert capsys.readouterr().err.endswith(f"data_prep build: error: {tmp_path / 'loop_a'}: its links lead round in a loop\n")


@pytest.fixture(scope="module")
def sample_h5(tmp_path_factory):
    return training_data.build_sample_dataset(tmp_path_factory.mktemp("sample") / "sample.h5")


def _damaged_copy(sample_h5, path, damage):
    path.write_bytes(sample_h5.read_bytes())
    with h5py.File(path, "a") as file:
        damage(file)
    return path


def _group_for_images(file):
    del file["train/rgb"]
    file.create_group("train/rgb")


def _external_images(file):
    del file["train/rgb"]
    file["train/rgb"] = h5py.ExternalLink("elsewhere.h5", "/train/rgb")


@pytest.mark.parametrize("damage, problem", [
    (_group_for_images, r"not_a_dataset \(train/rgb is a group, not a dataset\)"),
    (_external_images, r"unreadable \(train/rgb: .*"),
])
def test_malformed_hdf5_is_a_one_line_data_source_error(sample_h5, tmp_path, damage, problem):
    path = _damaged_copy(sample_h5, tmp_path / "damaged.h5", damage)
    with pytest.raises(DataSourceError, match=f"damaged.h5: {problem}"):
        data.from_hdf5(path, "train")  # what training and evaluate read through
    with pytest.raises(DataSourceError, match=f"damaged.h5: {problem}"):
        evaluation.open_data(path, "train")


def test_hdf5_source_names_that_are_not_utf8_are_escaped_in_evaluate(sample_h5, tmp_path):
    def latin1_names(file):
        count = len(file["train/source"])
        del file["train/source"]
        file["train/source"] = np.array([b"caf\xe9 %d.png" % index for index in range(count)], dtype=object)

    path = _damaged_copy(sample_h5, tmp_path / "latin1.h5", latin1_names)
    names = [sample.name for sample in evaluation.open_data(path, "train").read()]
    assert names[0] == "caf\\xe9 0.png"


def test_a_foreign_keras_model_is_a_model_load_error(tmp_path):
    dense = keras.Sequential([keras.Input((10,)), keras.layers.Dense(2)], name="classifier")
    dense.save(tmp_path / "dense.keras")
    with pytest.raises(ModelLoadError, match=r"dense.keras: not a keras-colorize 'classifier' model: its input "
                                             r"\(None, 10\) or output \(None, 2\) is not a batch of images"):
        Colorizer.load(tmp_path / "dense.keras")


class Doubler(tf.Module):
    @tf.function(input_signature=[tf.TensorSpec([None, 4], tf.float32, name="x")])
    def serve(self, x):
        return {"y": x * 2}


def test_a_foreign_savedmodel_is_a_model_load_error_when_loaded(tmp_path):
    module = Doubler()
    tf.saved_model.save(module, str(tmp_path / "doubler"), signatures={"serving_default": module.serve})
    with pytest.raises(ModelLoadError, match=r"doubler: not a keras-colorize SavedModel: its 'serving_default' "
                                             r"signature takes \['x'\] and gives \['y'\]"):
        Colorizer.load(tmp_path / "doubler")


def test_build_onto_a_full_disk_is_a_one_line_error_and_leaves_no_file(folder_with_a_bad_name, tmp_path, capsys,
                                                                       monkeypatch):
    """HDF5 cannot recover from a full disk (Python crashed while closing the file): the free
    space is checked before each block."""
    really = shutil.disk_usage
    monkeypatch.setattr(shutil, "disk_usage", lambda path: really(path)._replace(free=300_000))
    with pytest.raises(SystemExit) as exited:
        data_prep_main(["build", str(folder_with_a_bad_name), str(tmp_path / "out" / "data.h5"), "--size", "32"])
    assert exited.value.code == 2
    error = capsys.readouterr().err.splitlines()[-1]
    assert error.startswith(f"data_prep build: error: {tmp_path / 'out' / 'data.h5'}: the disk is full (0.3 MB free")
    assert not any((tmp_path / "out").iterdir())
