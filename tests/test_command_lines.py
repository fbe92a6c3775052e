"""train.py and `python -m data_prep` refuse bad arguments in one line, before any work."""

import json

import keras
import numpy as np
import pytest
import skimage.data

import train
from data_prep import __main__ as data_prep_main
from keras_colorize import models, training, training_data, training_settings
from keras_colorize.datasets import build_dataset


def _train(capsys, *argv):
    code = train.main([str(arg) for arg in argv])
    captured = capsys.readouterr()
    return code, captured.err


def _one_line_error(code, error, named):
    assert code == 2, error
    assert error.startswith("error: ") and error.count("\n") == 1, error
    assert named in error and "Traceback" not in error


@pytest.mark.parametrize(
    "argument, named",
    [
        (["--set", "bogus=1"], "unet has no option ['bogus']"),
        (["--set", "base_filters=abc"], "option base_filters takes int values (like 64), not 'abc'"),
        (["--set", "base_filters"], "option base_filters takes int values (like 64), not ''"),
        (["--setting", "epochs=abc"], "training setting epochs takes int values, not 'abc'"),
        (["--setting", "halve_lr_every_half_epoch=1"], "takes bool values, not 1"),
    ],
)
def test_mistyped_options_are_one_line_errors_that_leave_no_run_folder(argument, named, tmp_path, capsys):
    out = tmp_path / "run"
    code, error = _train(capsys, "--model", "unet", "--out", out, *argument)
    _one_line_error(code, error, named)
    assert not out.exists()


def test_builder_options_of_the_right_type_are_taken():
    assert models.config("unet", "small", base_filters=8)["base_filters"] == 8
    assert models.config("fusion", "small", vgg_weights=None)["vgg_weights"] is None
    assert training_settings.default_settings("unet", learning_rate=1, beta_1=0.5).learning_rate == 1


def test_a_negative_learning_rate_is_a_usage_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as stopped:
        train.main(["--model", "unet", "--out", str(tmp_path / "run"), "--lr", "-1"])
    assert stopped.value.code == 2 and "--lr: must be above 0" in capsys.readouterr().err


def test_an_out_that_is_a_file_is_named(tmp_path, capsys):
    out = tmp_path / "notes.txt"
    out.write_text("mine")
    code, error = _train(capsys, "--model", "unet", "--out", out)
    _one_line_error(code, error, f"{out}: is a file")
    assert out.read_text() == "mine"


def _photo_folder(folder, count):
    folder.mkdir()
    for index in range(count):
        keras.utils.save_img(folder / f"photo_{index}.png", skimage.data.astronaut()[::8, ::8])
    return folder


def test_a_folder_with_nothing_left_to_train_on_is_refused(tmp_path, capsys):
    # One image: every tenth file validates, so the training split would be empty and `fit`
    # would "train" on nothing and report success.
    folder = _photo_folder(tmp_path / "one", 1)
    out = tmp_path / "run"
    code, error = _train(capsys, "--model", "unet", "--data", folder, "--out", out, "--epochs", 1)
    _one_line_error(code, error, f"{folder}: no training samples (a folder needs at least 2")
    assert not (out / "config.json").exists()


def test_a_refused_loss_leaves_no_run_folder(tmp_path, capsys):
    folder = _photo_folder(tmp_path / "photos", 4)
    out = tmp_path / "run"
    code, error = _train(capsys, "--model", "unet", "--data", folder, "--out", out, "--loss", "msee")
    _one_line_error(code, error, "unknown loss 'msee'")
    assert not out.exists()


def test_a_sketch_model_on_photos_alone_is_told_how_to_make_sketches(tmp_path, capsys):
    photos_only = tmp_path / "photos.h5"
    build_dataset([_photo_folder(tmp_path / "photos", 4)], photos_only, 32, split=(1.0, 0.0, 0.0),
                  verbose=False)
    code, error = _train(capsys, "--model", "sketch_inverter", "--data", photos_only,
                         "--out", tmp_path / "run", "--epochs", 1)
    _one_line_error(code, error, "--sketch pencil")


def test_an_interrupted_run_resumes_only_with_its_own_network(tmp_path, capsys):
    out = tmp_path / "run"
    (out / "backup").mkdir(parents=True)
    recorded = {"model": "unet", "model_config": models.config("unet", "small", base_filters=8)}
    (out / "config.json").write_text(json.dumps(recorded))
    code, error = _train(capsys, "--model", "unet", "--out", out, "--set", "base_filters=4")
    _one_line_error(code, error, "holds an interrupted run of unet")
    assert json.loads((out / "config.json").read_text()) == recorded  # the record is kept


def test_ctrl_c_says_how_to_resume(tmp_path, capsys, monkeypatch):
    def interrupted(settings, out_dir):
        raise KeyboardInterrupt

    monkeypatch.setattr(training, "train", interrupted)
    code, error = _train(capsys, "--model", "unet", "--out", tmp_path / "run")
    assert code == 130 and "run the same command again to resume" in error
    assert "Traceback" not in error


def test_the_sample_dataset_is_built_where_its_folder_does_not_exist_yet(tmp_path):
    # The demo's first run on a machine without shipped weights builds it under OUT/runs/.
    path = training_data.build_sample_dataset(tmp_path / "new" / "runs" / "sample.h5", size=32)
    assert path.is_file()
    assert sorted(p.name for p in path.parent.iterdir()) == ["sample.h5"]


@pytest.mark.parametrize(
    "argv, named",
    [
        (["build", "src", "out.h5", "--size", "0"], "--size: must be at least 1"),
        (["build", "src", "out.h5", "--size", "32", "--center-crop", "2"],
         "--center-crop: must be above 0 and at most 1, not 2.0"),
        (["build", "src", "out.h5", "--size", "32", "--center-crop", "0"], "--center-crop: must be above 0"),
        (["build", "src", "out.h5", "--size", "32", "--limit", "0"], "--limit: must be at least 1"),
        (["faces", "src", "--out", "x", "--size", "-3"], "--size: must be at least 1"),
        (["faces", "src", "--out", "x", "--margin", "-5"], "--margin: must be at least 0"),
        (["faces", "src", "--out", "x", "--margin", "nan"], "--margin: must be at least 0, not nan"),
        (["faces", "src", "--out", "x", "--margin", "wide"], "--margin: invalid float value: 'wide'"),
        (["standard", "--out", "x", "--limit", "0"], "--limit: must be at least 1"),
    ],
)
def test_data_prep_refuses_out_of_range_numbers_before_reading_anything(argv, named, capsys):
    with pytest.raises(SystemExit) as stopped:
        data_prep_main.main(argv)
    assert stopped.value.code == 2 and named in capsys.readouterr().err


def test_the_tally_counts_one_file_in_the_singular(tmp_path, capsys):
    from keras_colorize.progress import Tally

    Tally(1, "sketching", verbose=True)
    Tally(np.int64(2), "sketching", verbose=True)
    assert capsys.readouterr().out.splitlines()[:2] == ["sketching: 1 file", "sketching: 2 files"]
