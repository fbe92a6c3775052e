"""make demo: shipped weights first, else the demo's own earlier runs; the results grid."""

import shutil

import keras
import numpy as np
import pytest
from PIL import Image

from keras_colorize import demo, models, samples, shipped
from keras_colorize.colorizer import Colorizer
from keras_colorize.images import read_rgb


@pytest.mark.slow
def test_shipped_weights_and_earlier_runs_are_used_without_training(trained_run, tmp_path, monkeypatch):
    presets, runs = tmp_path / "presets", tmp_path / "runs"
    unet = keras.saving.load_model(trained_run("unet") / "model.keras", compile=False)
    shipped.save(unet, "unet", models.config("unet", "small"), name=shipped.PHOTO_MODEL, folder=presets)
    shutil.copytree(trained_run("sketch_inverter"), runs / "sketch_inverter")
    monkeypatch.setattr("keras_colorize.shipped.PRESETS_DIR", presets)
    monkeypatch.setattr("keras_colorize.training.train", lambda *args: pytest.fail("trained"))

    assert demo.load_or_train(shipped.PHOTO_MODEL, runs).source == f"shipped:{shipped.PHOTO_MODEL}"
    earlier = demo.load_or_train(shipped.PENCIL_SKETCH_MODEL, runs)
    assert earlier.source == str(runs / "sketch_inverter" / "model.keras")


@pytest.mark.slow
def test_results_grid_has_a_row_per_sample_and_the_sketch(trained_run, tmp_path):
    photo = Colorizer.load(trained_run("unet"))
    sketch = Colorizer.load(trained_run("sketch_inverter"))
    rows = demo.result_rows(photo, sketch)
    photos = samples.sample_photos()
    assert len(rows) == len(photos) + 1
    for (shown, truth, predicted), original in zip(rows, photos.values()):
        assert shown.shape == truth.shape == predicted.shape == original.shape
        assert np.ptp(shown.astype(int), axis=-1).max() <= 1  # the inputs are gray
    face_shape = (demo.SKETCH_FACE_SIZE, demo.SKETCH_FACE_SIZE, 3)
    assert rows[-1][0].shape == rows[-1][1].shape == rows[-1][2].shape == face_shape
    grid = demo.run_demo(tmp_path, photo, sketch)
    assert grid == tmp_path / "results.png"
    assert read_rgb(grid).shape[0] > 2 * read_rgb(grid).shape[1]  # seven rows of three


def _stand_in():
    """A model that returns its input as RGB: the demo without the seconds a real one takes."""
    return Colorizer(lambda batch: np.repeat(batch[..., :1], 3, axis=-1), "stand_in", "l_lab_unit", "test")


def test_the_demo_replaces_its_own_results_only(tmp_path, capsys, monkeypatch):
    first = demo.run_demo(tmp_path, _stand_in(), _stand_in())
    assert demo.written_by_demo(first)
    assert demo.run_demo(tmp_path, _stand_in(), _stand_in()) == first  # as `make demo` twice does

    mine = tmp_path / "mine"
    mine.mkdir()
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(mine / "results.png")
    before = (mine / "results.png").read_bytes()
    monkeypatch.setattr(demo, "load_or_train", lambda *args: pytest.fail("went on to the models"))
    assert demo.main(["--out", str(mine)]) == 2
    refusal = f"{mine / 'results.png'}: exists and the demo did not write it; pass another --out"
    assert capsys.readouterr().err == f"error: {refusal}\n"
    assert (mine / "results.png").read_bytes() == before


def test_an_out_that_is_a_file_is_a_one_line_error(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(demo, "load_or_train", lambda *args: pytest.fail("went on to the models"))
    not_a_folder = tmp_path / "notes.txt"
    not_a_folder.write_text("mine")
    assert demo.main(["--out", str(not_a_folder)]) == 2
    assert capsys.readouterr().err == f"error: {not_a_folder}: is a file; pass --out a folder\n"
    assert not_a_folder.read_text() == "mine"
