"""Training throughput per model, preset and precision on real data, and the input pipeline's rate.

    python benchmarks/training_speed.py [--data data/lfw128.h5] [--presets small paper]
        [--models unet sketch_inverter ...] [--precisions float32 mixed_bfloat16] [--steps 20]

Each (model, preset, precision) runs in its own process (a dtype policy is process-global):
the model's training pipeline (`training_data.pairs_for`) on the HDF5 file's train split.

- Input rate: the pipeline alone, images/s over its first pass (reading, resizing, colour
  conversion) and over the next `--input-batches` batches (from memory where the pipeline
  caches, as it does when the split fits `data.CACHE_BUDGET_BYTES`; else another read).
- Training rate: `--warmup` steps to trace, then `--steps` timed steps, in one `fit` on the
  same pipeline, split into 3 equal windows: the fastest window gives the rate (as the
  matmul peak is the fastest of 5 rounds), the mean over all timed steps the seconds per
  epoch (one pass over the train split).
- % of peak: a step counts `models.flops.training_step_flops` (3x the analytic forward FLOPs;
  a GAN's discriminator runs on a real and a generated image), against this machine's float32
  matmul peak, measured in the same process just before and just after the timed `fit`, the
  higher counting: on a shared machine the peak itself drifts by 10-15% over minutes (and
  once read 293 against 434 GFLOP/s a minute later), so one figure for the whole run, or one
  slow moment before a row, would not do.

Paper presets are large for a 2-core CPU: they run `--paper-batch` images a step and a few
steps. Prints a table and writes benchmarks/results/training_speed.json.
"""

import argparse
import json
import subprocess
import sys
import time
from operator import itemgetter
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
PEAK_ROUNDS = 5
TIMING_WINDOWS = 3
RESULT_PREFIX = "RESULT "
KEY_FIELDS = ("model", "preset", "precision")  # what one row of training_speed.json measures


def matmul_peak_gflops(size=2048, repeats=20):
    """float32 matmul GFLOP/s of this machine: the fastest of `PEAK_ROUNDS` timed rounds."""
    import tensorflow as tf

    a = tf.random.normal((size, size))
    b = tf.random.normal((size, size))
    product = tf.function(lambda x, y: tf.linalg.matmul(x, y))
    product(a, b).numpy()
    best = float("inf")
    for _ in range(PEAK_ROUNDS):
        started = time.perf_counter()
        for _ in range(repeats):
            result = product(a, b)
        result.numpy()
        best = min(best, time.perf_counter() - started)
    return 2 * size**3 * repeats / best / 1e9


def pipeline_rates(pairs, batch_size, input_batches, cached, shuffle_buffer):
    """(first pass img/s, steady img/s) of the pipeline alone.

    Cached: the first pass fills the cache, the steady rate reads from it. Not cached: one
    iterator, timed after the batches that fill its shuffle buffer, which a training run fills
    once per epoch, not once per few batches.
    """
    first = None
    if cached:
        started, count = time.perf_counter(), 0
        for _ in pairs:
            count += 1
        first = count * batch_size / (time.perf_counter() - started)
    # Repeated: at a large batch one pass can hold fewer than `input_batches` batches.
    batches = iter(pairs.repeat())
    if not cached:
        for _ in range(-(-shuffle_buffer // batch_size)):
            next(batches)
    started = time.perf_counter()
    for _ in range(input_batches):
        next(batches)
    steady = input_batches * batch_size / (time.perf_counter() - started)
    return first, steady


def step_timer(warmup):
    """A callback noting (steps done, time) as steps end after the first `warmup`, in one `fit`.

    One `fit`, so one iterator: a second one would first refill the pipeline's shuffle buffer
    (512 samples, read and converted again where the pipeline does not cache), a cost a
    training run pays once per epoch, not once per few timed steps. A callback without
    `async_safe` gets each step's logs after the step has run, so the clock sees real time.
    With `steps_per_execution` N, Keras calls it once per N steps, with the last one's index.
    """
    import keras

    class StepTimer(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.marks = [(0, time.perf_counter())]  # with no warm-up steps

        def on_train_batch_end(self, batch, logs=None):
            if self.marks[-1][0] < warmup <= batch + 1:
                self.marks = []
            self.marks.append((batch + 1, time.perf_counter()))

    return StepTimer()


def best_window_seconds(marks, windows=TIMING_WINDOWS):
    """Seconds per step in the fastest of `windows` equal runs of consecutive (steps, time) marks.

    The matmul peak is likewise the fastest of its rounds: other tenants of the machine slow
    some windows, never speed one up.
    """
    per_window = (len(marks) - 1) // windows
    if per_window < 1:
        raise ValueError(f"{len(marks) - 1} timed intervals cannot make {windows} windows")
    windows = [(marks[index * per_window], marks[(index + 1) * per_window]) for index in range(windows)]
    return min((end_time - start_time) / (end_step - start_step)
               for (start_step, start_time), (end_step, end_time) in windows)


def mean_seconds_per_step(marks):
    (first_step, first_time), (last_step, last_time) = marks[0], marks[-1]
    return (last_time - first_time) / (last_step - first_step)


def measure(model_name, preset, precision, data_path, steps, warmup, batch_size, input_batches,
            steps_per_execution):
    """Time the input pipeline, then train `warmup + steps` steps in this process."""
    import keras

    from keras_colorize import data, models, training, training_data, training_settings
    from keras_colorize.models.flops import training_step_flops

    keras.mixed_precision.set_global_policy(precision)
    settings = training_settings.default_settings(
        model_name, preset=preset, batch_size=batch_size, precision=precision,
        steps_per_execution=steps_per_execution,
    )
    model = models.build(model_name, preset)
    size = model.input_shape[1]
    source = data.resize_samples(data.from_hdf5(data_path, "train"), size)
    epoch_images = int(source.cardinality())
    pairs = training_data.pairs_for(source, settings, training=True)
    cached = data.cached_bytes(pairs) <= data.CACHE_BUDGET_BYTES
    first_pass, steady = pipeline_rates(pairs, batch_size, input_batches, cached, data.SHUFFLE_BUFFER)
    pairs = pairs.repeat()
    training.compile_model(model, settings, pairs, steps_per_epoch=warmup + steps)
    peak = matmul_peak_gflops()
    timer = step_timer(warmup)
    model.fit(pairs, epochs=1, steps_per_epoch=warmup + steps, verbose=0, callbacks=[timer],
              shuffle=False)  # the pipeline shuffles, as in training.train
    # Other tenants only ever slow the peak down: one slow moment just before the timed steps
    # must not pass for the machine's peak and inflate the percentage.
    peak = max(peak, matmul_peak_gflops())
    rate = batch_size / best_window_seconds(timer.marks)
    mean_rate = batch_size / mean_seconds_per_step(timer.marks)
    gflops_per_second = training_step_flops(model) * rate / 1e9
    return {
        "training_gflops_per_second": round(gflops_per_second, 1),
        "float32_matmul_peak_gflops": round(peak, 1),
        "percent_of_float32_peak": round(100 * gflops_per_second / peak, 1),
        "model": model_name,
        "preset": preset,
        "precision": precision,
        "image_size": size,
        "batch_size": batch_size,
        "steps_per_execution": steps_per_execution,
        "images_per_second": round(rate, 2),
        "mean_images_per_second": round(mean_rate, 2),
        "seconds_per_epoch": round(epoch_images / mean_rate, 1),
        "epoch_images": epoch_images,
        "input_cached": cached,
        "input_first_pass_images_per_second": first_pass and round(first_pass, 1),
        "input_images_per_second": round(steady, 1),
        "input_to_training_ratio": round(steady / rate, 1),
    }


def print_row(row):
    print(f"{row['model']:16s} {row['preset']:6s} {row['precision']:15s} {row['image_size']:4d}px "
          f"batch {row['batch_size']:3d}  {row['images_per_second']:8.1f} img/s  "
          f"{row['seconds_per_epoch']:8.1f} s/epoch  "
          f"{row['training_gflops_per_second']:7.1f} GFLOP/s  "
          f"{row['percent_of_float32_peak']:5.1f}% of peak ({row['float32_matmul_peak_gflops']:.0f})  "
          f"input {row['input_images_per_second']:8.1f} img/s ({row['input_to_training_ratio']:.1f}x)",
          flush=True)


def run_one(args, model_name, preset, precision):
    """`measure` in a child process -> its figures, or None (the error is printed)."""
    batch = args.batch if preset == "small" else args.paper_batch
    steps = args.steps if preset == "small" else args.paper_steps
    command = [sys.executable, __file__, "--one", model_name, preset, precision, "--data", args.data,
               "--steps", str(steps), "--warmup", str(args.warmup), "--batch", str(batch),
               "--input-batches", str(args.input_batches),
               "--steps-per-execution", str(args.steps_per_execution)]
    return child_figures(command, f"{model_name} {preset} {precision}")


def report_figures(figures):
    """What a `--one` child prints for `child_figures` to read back."""
    print(RESULT_PREFIX + json.dumps(figures))


def child_figures(command, label):
    """Run a benchmark's `--one` child process -> the figures it reported, or None (its error is
    printed under `label`)."""
    output = subprocess.run(command, capture_output=True, text=True, check=False)
    result = [line for line in output.stdout.splitlines() if line.startswith(RESULT_PREFIX)]
    if not result:
        print(f"{label}: failed\n{output.stderr[-2000:]}", file=sys.stderr)
        return None
    return json.loads(result[0][len(RESULT_PREFIX):])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="data/lfw128.h5")
    parser.add_argument("--presets", nargs="*", default=["small", "paper"])
    parser.add_argument("--models", nargs="*")
    parser.add_argument("--precisions", nargs="*", default=["float32", "mixed_bfloat16"])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--paper-steps", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--batch", type=int, default=128, help="small presets' batch, every model")
    parser.add_argument("--paper-batch", type=int, default=8, help="paper presets' batch")
    parser.add_argument("--input-batches", type=int, default=50)
    parser.add_argument("--steps-per-execution", type=int, default=1)
    parser.add_argument("--out", type=Path, default=RESULTS / "training_speed.json")
    parser.add_argument("--one", nargs=3, metavar=("MODEL", "PRESET", "PRECISION"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        figures = measure(*args.one, args.data, args.steps, args.warmup, args.batch,
                          args.input_batches, args.steps_per_execution)
        report_figures(figures)
        return
    if not Path(args.data).exists():
        sys.exit(f"{args.data}: missing; run `make data` first (needs {SHARED_DATA})")
    from keras_colorize import models

    rows, failed = [], []
    for preset in args.presets:
        for model_name in args.models or models.available():
            for precision in args.precisions:
                row = run_one(args, model_name, preset, precision)
                if row:
                    rows.append(row)
                    print_row(row)
                else:
                    failed.append(f"{model_name} {preset} {precision}")
    write_rows(args.out, rows, failed, KEY_FIELDS)


def write_rows(path, rows, failed, key_fields):
    """Write `rows` into the JSON at `path` (`merged_rows`), then stop with the failures."""
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps({"runs": merged_rows(path, rows, key_fields)}, indent=2))
    print(f"wrote {path}")
    if failed:
        sys.exit(f"failed: {', '.join(failed)}")


def merged_rows(path, rows, key_fields=KEY_FIELDS):
    """The rows in `path` with those measured now put in their place: a run of some models or
    presets updates their rows and keeps the others'. Small presets first."""
    key = itemgetter(*key_fields)
    earlier = json.loads(path.read_text())["runs"] if path.is_file() else []
    measured = {key(row) for row in rows}
    kept = [row for row in earlier if key(row) not in measured]
    return sorted(kept + rows, key=lambda row: (row["preset"] != "small", row["model"], key(row)))


if __name__ == "__main__":
    main()
