"""TensorFlow Lite against Keras: agreement in uint8 levels on real photos, and speed.

    python benchmarks/tflite_speed.py [--model mobilenet_unet] [--photos 20] [--repeats 15]

Exports the model as float32 and float16 .tflite files (`Colorizer.export`), loads them
(`Colorizer.load`: the TFLite interpreter with XNNPACK between the Keras path's own pre- and
post-processing) and compares `colorize` with the Keras model's on the first `--photos` test
photos of `data/general256_test.h5` (256 px) and of `data/lfw128.h5` (128 px faces): the
largest difference of any channel of any pixel, the mean, and the share of values more than 1
level apart. Speed: `colorize` of one 256 x 256 photo, and of a batch of 16, and the network
alone on one input at its own size (Keras: the model in a traced function, as `colorize` runs
it; TFLite: the interpreter), each the median of `--repeats` calls after two warm-up calls,
every path in this one process. Writes benchmarks/results/tflite.json.
"""

import argparse
import json
import platform
import sys
import tempfile
from pathlib import Path

import numpy as np
import tensorflow as tf

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from inference_speed import median_seconds  # noqa: E402

from keras_colorize import Colorizer, evaluation, shipped, tflite  # noqa: E402

RESULTS = REPO / "benchmarks" / "results" / "tflite.json"


def test_photos(data_dir, count):
    photos = []
    for name in ("general256_test.h5", "lfw128.h5"):
        for index, sample in enumerate(evaluation.open_data(data_dir / name, "test").read()):
            if index == count:
                break
            photos.append(sample.truth)
    return photos


def agreement(reference, colorizer, photos):
    differences = tflite.level_differences(reference, colorizer, photos)
    return {
        "max_levels": int(differences.max()),
        "mean_levels": float(differences.mean()),
        "share_over_1_level": float((differences > 1).mean()),
    }


def median_ms(function, repeats):
    return 1000 * median_seconds(function, repeats)


def cpu_name():
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=shipped.PHOTO_MODEL)
    parser.add_argument("--photos", type=int, default=20, help="from each test file")
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--data", type=Path, default=REPO / "data")
    args = parser.parse_args(argv)
    keras_path = Colorizer.load(args.model)
    photos = test_photos(args.data, args.photos)
    square = photos[0]  # a 256 x 256 general test photo
    batch = np.stack(photos[:16])
    rows = []
    input_shape = (1, *keras_path._predictor.input_shape[1:])
    network_input = np.random.default_rng(0).uniform(0, 1, input_shape).astype(np.float32)
    with tempfile.TemporaryDirectory() as folder:
        paths = {"keras": (keras_path, tf.function(lambda inputs: keras_path._predictor(inputs, training=False)))}
        for quantization in ("float32", "float16"):
            file = Path(folder) / f"{args.model}_{quantization}.tflite"
            keras_path.export(file, "tflite", quantization)
            paths[f"tflite {quantization}"] = (Colorizer.load(file), tflite.load(file)[0])
        for label, (colorizer, network) in paths.items():
            row = {
                "path": label,
                "one_256px_ms": median_ms(lambda: colorizer.colorize(square), args.repeats),
                "batch16_256px_ms": median_ms(lambda: colorizer.colorize(batch), args.repeats),
                "network_alone_ms": median_ms(lambda: np.asarray(network(network_input)), args.repeats),
            }
            if label != "keras":
                row.update(agreement(keras_path, colorizer, photos))
                row["file_bytes"] = (Path(folder) / f"{args.model}_{label.split()[1]}.tflite").stat().st_size
            print(json.dumps(row), flush=True)
            rows.append(row)
    result = {"model": args.model, "cpu": cpu_name(), "photos": 2 * args.photos, "repeats": args.repeats, "rows": rows}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
