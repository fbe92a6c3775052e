"""Shared fixtures: the real data in ../shared/data, small real-image batches from it, and a
made-up video with sound."""

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
    from keras_colorize import training, training_data, training_settings

    root = tmp_path_factory.mktemp("trained_runs")
    runs = {}

    def run(model_name):
        if model_name not in runs:
            sample = training_data.build_sample_dataset(root / "sample.h5")
            settings = training_settings.default_settings(
                model_name, data=str(sample), epochs=1, batch_size=2, steps_per_epoch=2,
                validation_steps=1, triplet_samples=2, precision="float32",
            )
            training.train(settings, root / model_name)
            runs[model_name] = root / model_name
        return runs[model_name]

    return run


@pytest.fixture(scope="session")
def weights_with_a_hint_model(tmp_path_factory):
    """A shipped-models folder: the package's, linked, with an untrained `hint_unet` (in place of
    any shipped one), for the tests of the hint interfaces to patch `shipped.PRESETS_DIR` to:
    they must not wait for a trained hint model, and they check that hints reach the model."""
    import keras

    from keras_colorize import models, shipped

    folder = tmp_path_factory.mktemp("weights")
    for path in shipped.PRESETS_DIR.iterdir():
        if path.stem != shipped.HINT_MODEL:
            (folder / path.name).symlink_to(path)
    config = models.without_weight_files(shipped.HINT_MODEL)
    shipped.save(untrained_hint_model(**config), shipped.HINT_MODEL, config, folder=folder)
    return folder


def untrained_hint_model(**config):
    """A `hint_unet` with random weights (seeded: the same pixels change each session) whose hint
    correction, zero at the start of training, is random too, so that hints show."""
    import keras

    from keras_colorize import models
    from keras_colorize.models.hint_unet import CORRECTION_LAYER

    keras.utils.set_random_seed(0)
    model = models.build("hint_unet", **config)
    correction = model.network.get_layer(CORRECTION_LAYER)
    correction.kernel.assign(keras.random.normal(correction.kernel.shape, stddev=0.05, seed=0))
    return model


def change_around(before, after, x, y, reach=4):
    """Mean change, in uint8 levels, between two colorized images around pixel (x, y): where a
    hint there shows."""
    around = np.s_[max(0, y - reach):y + reach + 1, max(0, x - reach):x + reach + 1]
    return np.abs(after[around].astype(int) - before[around]).mean()


# A made-up video with sound (`make_clip`).
CLIP_FRAMES, CLIP_FPS, CLIP_SIZE = 12, 10, (64, 48)
TONE_HZ = 440


def make_clip(path, audio_codec, sample_rate):
    """A made-up clip: CLIP_FRAMES gray-ramp frames of CLIP_SIZE at CLIP_FPS (MPEG-4) and a
    TONE_HZ sine tone of the clip's length in `audio_codec`, written by PyAV."""
    import av

    with av.open(str(path), "w") as out:
        frames = out.add_stream("mpeg4", rate=CLIP_FPS)
        frames.width, frames.height, frames.pix_fmt = *CLIP_SIZE, "yuv420p"
        sound = out.add_stream(audio_codec, rate=sample_rate)
        sound.layout = "mono"
        for index in range(CLIP_FRAMES):
            ramp = np.full((CLIP_SIZE[1], CLIP_SIZE[0], 3), 20 * index, np.uint8)
            out.mux(frames.encode(av.VideoFrame.from_ndarray(ramp, format="rgb24")))
        seconds = np.arange(CLIP_FRAMES * sample_rate // CLIP_FPS) / sample_rate
        tone = (0.3 * np.sin(2 * np.pi * TONE_HZ * seconds)).astype(np.float32)[None]
        for start in range(0, tone.shape[1], 1024):
            chunk = av.AudioFrame.from_ndarray(tone[:, start : start + 1024], format="fltp", layout="mono")
            chunk.sample_rate = sample_rate
            out.mux(sound.encode(chunk))
        out.mux(frames.encode())
        out.mux(sound.encode())
    return path
