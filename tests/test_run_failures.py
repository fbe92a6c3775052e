"""Failed and concurrent runs: a diverged run fails and ships nothing, a model with NaN weights
refuses to load, and a run folder takes one training process at a time."""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import train
from keras_colorize import Colorizer, exporting, models, runlock, training_data
from keras_colorize.errors import ModelLoadError


@pytest.fixture(scope="module")
def sample_h5(tmp_path_factory):
    return training_data.build_sample_dataset(tmp_path_factory.mktemp("sample") / "sample.h5")


def _train_arguments(sample_h5, out, *extra, model="unet"):
    return ["--model", model, "--data", str(sample_h5), "--epochs", "2", "--batch", "2",
            "--steps-per-epoch", "2", "--precision", "float32", "--setting", "validation_steps=1",
            "--setting", "triplet_samples=2", "--out", str(out), *extra]


def test_a_diverged_run_fails_and_writes_no_model(sample_h5, tmp_path, capsys):
    run = tmp_path / "run"
    # The sketch inverter's unbounded output diverges at once (a U-Net's sigmoid saturates).
    assert train.main(_train_arguments(sample_h5, run, "--lr", "1e30", model="sketch_inverter")) == 2
    error = capsys.readouterr().err
    assert error.startswith(f"error: {run}: training failed: ") and "became nan" in error.lower()
    assert "no model written" in error and "lower --lr" in error
    assert not (run / "model.keras").exists() and not (run / "export").exists()


def test_a_model_with_nan_weights_refuses_to_load(tmp_path):
    model = models.build("unet", "small", base_filters=8)
    weights = model.get_weights()
    weights[3] = np.full_like(weights[3], np.nan)
    model.set_weights(weights)
    path = exporting.save_keras(model, tmp_path / "diverged.keras")
    with pytest.raises(ModelLoadError, match=r"diverged.keras: 1 weight array\(s\) hold NaN or infinity"):
        Colorizer.load(path)


def _hold_lock(run):
    """A child process that holds `run`'s lock until killed, returned once it holds it. It loads
    runlock.py alone: the package would import TensorFlow (seconds)."""
    script = (
        "import importlib.util, sys, time\n"
        "spec = importlib.util.spec_from_file_location('runlock', sys.argv[1])\n"
        "runlock = importlib.util.module_from_spec(spec)\n"
        "spec.loader.exec_module(runlock)\n"
        "with runlock.locked(sys.argv[2]):\n"
        "    print('held', flush=True)\n"
        "    time.sleep(60)\n"
    )
    child = subprocess.Popen([sys.executable, "-c", script, runlock.__file__, str(run)], stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline() == "held\n"
    return child


def test_a_second_training_into_a_busy_folder_is_refused_naming_the_holder(sample_h5, tmp_path, capsys):
    run = tmp_path / "run"
    holder = _hold_lock(run)
    try:
        assert train.main(_train_arguments(sample_h5, run)) == 2
        error = capsys.readouterr().err
        assert f"{run}: another training run (process {holder.pid}) is using this folder" in error
        assert sorted(path.name for path in run.iterdir()) == [".lock"]  # the refused run wrote nothing
    finally:
        holder.kill()
        holder.wait()


def test_the_lock_is_released_on_exit_and_recovered_after_kill_9(tmp_path):
    run = tmp_path / "run"
    with runlock.locked(run):
        (run / "config.json").write_text("{}")
    with runlock.locked(run):  # released on leaving the block
        pass
    holder = _hold_lock(run)
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    started = time.monotonic()
    with runlock.locked(run):
        assert (run / ".lock").read_text() == f"{os.getpid()}\n"
    assert time.monotonic() - started < 1


def test_a_refused_run_leaves_no_folder(tmp_path):
    with pytest.raises(RuntimeError, match="refused"), runlock.locked(tmp_path / "new"):
        raise RuntimeError("refused")
    assert not (tmp_path / "new").exists()
