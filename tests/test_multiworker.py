"""--strategy multiworker: two local worker processes (TF_CONFIG with two 127.0.0.1 ports) train
a small U-Net for 2 epochs in step; one run folder results, and both saw the same weights."""

import csv
import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np

from keras_colorize import training_data

REPOSITORY = Path(__file__).resolve().parents[1]
WORKER = """
import sys
import numpy as np
from keras_colorize import training, training_settings

out, data_path, weights_path = sys.argv[1:]
settings = training_settings.default_settings(
    "unet", data=data_path, epochs=2, batch_size=4, steps_per_epoch=2, validation_steps=1,
    triplet_samples=2, precision="float32", strategy="multiworker", model_overrides={"base_filters": 8},
)
model = training.train(settings, out).model
np.savez(weights_path, *[variable.numpy() for variable in model.trainable_weights])
"""


def _free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for each in sockets:
        each.bind(("127.0.0.1", 0))
    ports = [each.getsockname()[1] for each in sockets]
    for each in sockets:
        each.close()
    return ports


def test_two_workers_train_in_step_into_one_run_folder(tmp_path):
    sample = training_data.build_sample_dataset(tmp_path / "sample.h5")
    cluster = {"worker": [f"127.0.0.1:{port}" for port in _free_ports(2)]}
    run = tmp_path / "run"
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(run), str(sample), str(tmp_path / f"weights{index}.npz")],
            cwd=REPOSITORY, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env={**os.environ, "TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})},
        )
        for index in range(2)
    ]
    logs = [worker.communicate(timeout=500)[0] for worker in workers]
    assert [worker.returncode for worker in workers] == [0, 0], logs[0][-3000:] + logs[1][-3000:]

    assert "2 replica(s)" in logs[0] and "2 replica(s)" in logs[1]
    assert (run / "model.keras").is_file() and (run / "export" / "saved_model.pb").is_file()
    with open(run / "history.csv", newline="") as history:
        assert [row["epoch"] for row in csv.DictReader(history)] == ["0", "1"]  # one header, each epoch once
    scratch = Path(re.search(r"run folder: (\S+)", logs[1]).group(1))
    assert scratch != run.resolve() and not scratch.exists()  # worker 1 kept nothing

    chief, other = np.load(tmp_path / "weights0.npz"), np.load(tmp_path / "weights1.npz")
    assert len(chief.files) > 10
    for name in chief.files:
        np.testing.assert_array_equal(chief[name], other[name])
