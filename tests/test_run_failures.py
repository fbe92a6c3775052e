"""Failed runs: a diverged run fails and ships nothing, a model with NaN weights refuses to load."""

import numpy as np
import pytest

import train
from keras_colorize import Colorizer, exporting, models, training
from keras_colorize.colorizer import ModelLoadError


@pytest.fixture(scope="module")
def sample_h5(tmp_path_factory):
    return training.build_sample_dataset(tmp_path_factory.mktemp("sample") / "sample.h5")


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
