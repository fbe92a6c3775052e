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
