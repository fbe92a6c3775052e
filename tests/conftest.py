"""Shared fixtures: the real data in ../shared/data, and small real-image batches from it."""

from pathlib import Path

import numpy as np
import pytest

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def shared_path(*parts):
    """A path under ../shared/data, or skip the test when that data is not on this machine."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"needs {path} (the shared research data)")
    return path


@pytest.fixture(scope="session")
def lfw_root():
    return shared_path("lfw", "images")


@pytest.fixture(scope="session")
def lfw_faces(lfw_root):
    """8 real LFW faces, centre-cropped to 128x128, uint8 RGB, shape (8, 128, 128, 3)."""
    from keras_colorize.images import read_rgb

    people = sorted(p for p in lfw_root.iterdir() if p.is_dir())[:8]
    faces = [read_rgb(sorted(person.glob("*.jpg"))[0])[61:189, 61:189] for person in people]
    return np.stack(faces)


@pytest.fixture(scope="session")
def cufs_root():
    return shared_path("cufs_cuhk")


@pytest.fixture(scope="session")
def lfw_pairs(lfw_faces):
    """`pairs(model_name, size)`: the 8 LFW faces as that model's (input, target) numpy batch.

    Made by `keras_colorize.data` in the model's element format at size x size; the sketch
    formats get each face's gray image as a stand-in sketch.
    """
    from keras_colorize import color, data, models

    gray = color.rgb_to_gray(lfw_faces / 255.0)[..., 0].numpy()
    sketches = np.round(gray * 255.0).astype(np.uint8)

    def pairs(model_name, size):
        source = data.resize_samples(data.from_arrays(lfw_faces, sketch=sketches), size)
        batches = data.make_dataset(
            source, models.element_format(model_name), len(lfw_faces), shuffle=False
        )
        inputs, targets = next(iter(batches))
        return inputs.numpy(), targets.numpy()

    return pairs


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory):
    """`trained_run(model_name)`: a real run folder of that model, trained two steps on the
    built-in sample photos (a few seconds each; trained once per session, on first use)."""
    from keras_colorize import training

    root = tmp_path_factory.mktemp("trained_runs")
    runs = {}

    def run(model_name):
        if model_name not in runs:
            sample = training.build_sample_dataset(root / "sample.h5")
            settings = training.default_settings(
                model_name, data=str(sample), epochs=1, batch_size=2, steps_per_epoch=2,
                validation_steps=1, triplet_samples=2, precision="float32",
            )
            training.train(settings, root / model_name)
            runs[model_name] = root / model_name
        return runs[model_name]

    return run
