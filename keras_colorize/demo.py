"""`make demo`: colorize the built-in sample photos and a pencil sketch, and show the results.

    python -m keras_colorize.demo --out runs/demo

The models are the ones shipped in keras_colorize/weights/ when they are there. Otherwise a
small U-Net (gray -> colour) and sketch inverter (sketch -> photo) are first trained for about
a minute on the sample photos themselves, into OUT/runs/ (reused by the next demo): enough to
show the whole pipeline on a fresh machine, not to judge the methods.

Writes OUT/results.png: one row per image, input / ground truth / prediction; the photos are
colorized from their gray version, the last row from the pencil sketch of the astronaut photo.
A results.png there is replaced only when an earlier demo wrote it.
"""

import argparse
import sys
import time
from pathlib import Path

from PIL import Image

from keras_colorize import console

console.import_tensorflow_quietly()  # a command's output opens without TensorFlow's start-up lines

from keras_colorize import (  # noqa: E402
    files, images, inference, plotting, samples, shipped, training, training_data, training_settings,
)
from keras_colorize.colorizer import Colorizer  # noqa: E402
from keras_colorize.faces import crop_face  # noqa: E402
from keras_colorize.shipped import PENCIL_SKETCH_MODEL, PHOTO_MODEL  # noqa: E402

# What to train when a shipped model is missing (a development checkout): the models that
# learn fastest from six photos.
DEMO_MODELS = {PHOTO_MODEL: "unet", PENCIL_SKETCH_MODEL: "sketch_inverter"}

SKETCH_FACE_SIZE = 128
RESULTS_NAME = "results.png"
# Stored in the grid's PNG text fields, so that a later demo knows the file for its own.
DEMO_MARK = {"Software": "keras-colorize demo"}

# About half a minute per model on 2 CPU cores: 240 steps over the six sample photos. Two
# long epochs keep the paper schedules meaningful (the U-Net's loss switch at half time, the
# sketch inverter's learning rate halved every half epoch).
QUICK_TRAINING = {
    "epochs": 2, "batch_size": 6, "steps_per_epoch": 120, "validation_steps": 1, "triplet_samples": 3,
}


def load_or_train(shipped_name, runs_dir):
    """The shipped model, else the demo's earlier run of its kind, else a newly trained one."""
    if shipped_name in shipped.available():
        return Colorizer.load(shipped_name)
    name = DEMO_MODELS[shipped_name]
    run = Path(runs_dir) / name
    if not (run / "model.keras").is_file():
        print(f"no shipped {shipped_name} weights: training a small {name} on the sample photos "
              f"(about half a minute) into {run}", flush=True)
        sample = training_data.build_sample_dataset(Path(runs_dir) / "sample.h5")
        training.train(training_settings.default_settings(name, data=str(sample), **QUICK_TRAINING), run)
    return Colorizer.load(run)


def result_rows(photo_colorizer, sketch_colorizer):
    """(input, ground truth, prediction) rows: each sample photo, then the sketch of the
    astronaut's face (the sketch models' domain: Haar-cropped faces, as their paper crops)."""
    photos = samples.sample_photos()
    rows = []
    for photo in photos.values():
        gray = inference.gray_version(photo)
        rows.append((gray, photo, photo_colorizer.colorize(gray)))
    face = crop_face(photos["astronaut"], size=SKETCH_FACE_SIZE)
    sketch = sketch_colorizer.pencil_sketch(face)
    shown = images.gray_to_rgb(sketch)
    rows.append((shown, face, sketch_colorizer.colorize(sketch)))
    return rows


def _label(colorizer):
    """A shipped model's own name (two shipped models can share a registry name), else the model's."""
    return shipped.name_in(colorizer.source) or colorizer.name


def written_by_demo(path):
    """Whether `path` is a grid that the demo wrote (it carries DEMO_MARK)."""
    try:
        with Image.open(path) as image:
            return image.info.get("Software") == DEMO_MARK["Software"]
    except OSError:  # not an image, or not readable: not ours to replace
        return False


def check_out(out):
    """Refuse, before any training, an OUT that is a file or that holds someone else's results.png."""
    files.prepare_output(out, hint="pass --out a folder")
    results = out / RESULTS_NAME
    if results.exists() and not written_by_demo(results):
        raise FileExistsError(f"{results}: exists and the demo did not write it; pass another --out")


def run_demo(out, photo_colorizer=None, sketch_colorizer=None):
    """Write OUT/results.png (training the models first when needed); returns its path."""
    out = Path(out)
    check_out(out)
    photo_colorizer = photo_colorizer or load_or_train(PHOTO_MODEL, out / "runs")
    sketch_colorizer = sketch_colorizer or load_or_train(PENCIL_SKETCH_MODEL, out / "runs")
    print(f"gray -> colour: {photo_colorizer.source}\nsketch -> photo: {sketch_colorizer.source}")
    return plotting.image_grid(
        result_rows(photo_colorizer, sketch_colorizer),
        out / RESULTS_NAME,
        f"{_label(photo_colorizer)} (gray photos), {_label(sketch_colorizer)} (last row: a face's sketch)",
        metadata=DEMO_MARK,
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("runs/demo"), help="output folder")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    try:
        grid = run_demo(args.out)
    except OSError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"results: {grid.resolve()} ({time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
