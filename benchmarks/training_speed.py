"""Training throughput per model and precision on real data: images/s, seconds per epoch, % of peak.

    python benchmarks/training_speed.py [--data data/lfw128.h5] [--preset small]
        [--models unet sketch_inverter ...] [--precisions float32 mixed_bfloat16] [--steps 20]

Each (model, precision) pair runs in its own process (a dtype policy is process-global):
the model's training pipeline on the HDF5 file's train split, `--warmup` steps to trace and
fill the pipeline, then `--steps` timed steps. Seconds per epoch are for one pass over the
train split at that rate. The achieved GFLOP/s count a training step as 3x the analytic forward
FLOPs (`models.flops.forward_flops`), against this machine's float32 matmul peak measured in the
same run. Prints a table and writes benchmarks/results/training_speed.json.
"""

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def matmul_peak_gflops(size=2048, repeats=20):
    """float32 matmul GFLOP/s of this machine: the best of a few timed rounds."""
    import tensorflow as tf

    a = tf.random.normal((size, size))
    b = tf.random.normal((size, size))
    product = tf.function(lambda x, y: tf.linalg.matmul(x, y))
    product(a, b).numpy()
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        for _ in range(repeats):
            result = product(a, b)
        result.numpy()
        best = min(best, time.perf_counter() - started)
    return 2 * size**3 * repeats / best / 1e9


def measure(model_name, preset, precision, data_path, steps, warmup, batch_size):
    """Train `warmup + steps` steps in this process; return the measured figures."""
    import keras

    from keras_colorize import data, models, training
    from keras_colorize.models.flops import forward_flops

    keras.mixed_precision.set_global_policy(precision)
    settings = training.default_settings(
        model_name, preset=preset, batch_size=batch_size, precision=precision
    )
    model = models.build(model_name, preset)
    size = model.input_shape[1]
    source = data.resize_samples(data.from_hdf5(data_path, "train"), size)
    epoch_images = int(source.cardinality())
    pairs = training.pairs_for(source, settings, training=True).repeat()
    training.compile_model(model, settings, pairs, steps_per_epoch=warmup)
    model.fit(pairs, epochs=1, steps_per_epoch=warmup, verbose=0)
    started = time.perf_counter()
    model.fit(pairs, epochs=1, steps_per_epoch=steps, verbose=0)
    seconds = time.perf_counter() - started
    rate = steps * settings.batch_size / seconds
    return {
        "training_gflops_per_second": round(3 * forward_flops(model) * rate / 1e9, 1),
        "model": model_name,
        "preset": preset,
        "precision": precision,
        "image_size": size,
        "batch_size": settings.batch_size,
        "images_per_second": round(rate, 2),
        "seconds_per_epoch": round(epoch_images / rate, 1),
        "epoch_images": epoch_images,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="data/lfw128.h5")
    parser.add_argument("--preset", default="small")
    parser.add_argument("--models", nargs="*")
    parser.add_argument("--precisions", nargs="*", default=["float32", "mixed_bfloat16"])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--batch", type=int, default=16, help="same batch for every model")
    parser.add_argument("--one", nargs=2, metavar=("MODEL", "PRECISION"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        figures = measure(*args.one[:1], args.preset, args.one[1], args.data, args.steps,
                          args.warmup, args.batch)
        print("RESULT " + json.dumps(figures))
        return
    if not Path(args.data).exists():
        sys.exit(f"{args.data}: missing; run `make data` first (needs {SHARED_DATA})")
    from keras_colorize import models

    peak = matmul_peak_gflops()
    print(f"float32 matmul peak: {peak:.0f} GFLOP/s")
    rows = []
    for model_name in args.models or models.available():
        for precision in args.precisions:
            command = [sys.executable, __file__, "--one", model_name, precision, "--data", args.data,
                       "--preset", args.preset, "--steps", str(args.steps),
                       "--warmup", str(args.warmup), "--batch", str(args.batch)]
            output = subprocess.run(command, capture_output=True, text=True)
            result = [line for line in output.stdout.splitlines() if line.startswith("RESULT ")]
            if not result:
                print(f"{model_name} {precision}: failed\n{output.stderr[-2000:]}", file=sys.stderr)
                continue
            row = json.loads(result[0][len("RESULT "):])
            row["percent_of_float32_peak"] = round(100 * row["training_gflops_per_second"] / peak, 1)
            rows.append(row)
            print(f"{row['model']:16s} {row['precision']:15s} {row['image_size']:4d}px "
                  f"batch {row['batch_size']:3d}  {row['images_per_second']:8.1f} img/s  "
                  f"{row['seconds_per_epoch']:8.1f} s/epoch  "
                  f"{row['training_gflops_per_second']:7.1f} GFLOP/s  "
                  f"{row['percent_of_float32_peak']:5.1f}% of peak", flush=True)
    RESULTS.mkdir(exist_ok=True)
    report = {"float32_matmul_peak_gflops": round(peak, 1), "runs": rows}
    (RESULTS / "training_speed.json").write_text(json.dumps(report, indent=2))
    print(f"wrote {RESULTS / 'training_speed.json'}")


if __name__ == "__main__":
    main()
