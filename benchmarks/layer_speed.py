"""Each convolution of a model timed alone, against the float32 matmul peak: what the
convolutions allow, and what the rest of a training step costs.

    python benchmarks/layer_speed.py [--models unet pix2pix ...] [--preset small] [--batch 128]

A layer's step is its forward pass and the gradients a training step takes through it (its
kernel's when it trains, its input's unless it reads its model's input or sits in a frozen
sub-model) from an output gradient of the layer's shape; each pass counts the layer's forward
FLOPs once. Taken as often as a training step runs them (a GAN's discriminator twice), the
convolutions together bound the training rate; the float32 row of
benchmarks/results/training_speed.json, where measured, shows how far the whole step falls
below that bound. Each model runs in its own process, against its own matmul peak (the
higher of one taken before its layers and one after). Prints a table and writes
benchmarks/results/layer_speed.json, where a run of some models replaces their rows only.
"""

import argparse
import json
import sys
import time
from pathlib import Path

from training_speed import (
    RESULTS,
    child_figures,
    matmul_peak_gflops,
    report_figures,
    write_rows,
)

ROUNDS = 3
REPEATS = 5


def conv_layers(model, prefix=""):
    """(name, layer, takes an input gradient, runs per step) for every convolution, named
    with the models it sits in; a GAN's discriminator runs on a real and a generated image."""
    from keras_colorize.models.gan import ConditionalGAN

    if isinstance(model, ConditionalGAN):
        return conv_layers(model.generator, "generator/") + [
            (name, layer, input_gradient, 2)
            for name, layer, input_gradient, _ in conv_layers(model.discriminator, "discriminator/")
        ]
    found = []
    for layer in model.layers:
        if hasattr(layer, "layers"):
            # The models' only sub-model, fusion's VGG16, reads the image: when it is frozen
            # (pretrained) no gradient goes through it at all.
            found += [(name, inner, input_gradient and layer.trainable, runs)
                      for name, inner, input_gradient, runs in conv_layers(layer, f"{prefix}{layer.name}/")]
        elif hasattr(layer, "kernel") and len(layer.kernel.shape) == 4:
            reads_input = any(layer.input is tensor for tensor in model.inputs)
            found.append((prefix + layer.name, layer, not reads_input, 1))
    return found


def gradient_sources(layer, input_gradient, inputs):
    """What a training step differentiates through `layer`: its input, its kernel, or neither."""
    return ([inputs] if input_gradient else []) + ([layer.kernel] if layer.trainable else [])


def layer_step_seconds(layer, input_gradient, batch_size):
    """Seconds of one forward + backward pass of `layer` alone on random float32 data."""
    import tensorflow as tf

    inputs = tf.random.normal((batch_size, *layer.input.shape[1:]))
    output_gradient = tf.random.normal((batch_size, *layer.output.shape[1:]))

    @tf.function
    def step(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = layer(x)
        sources = gradient_sources(layer, input_gradient, x)
        return tape.gradient(y, sources, output_gradients=output_gradient) if sources else y

    def synced(result):
        return tf.nest.flatten(result)[0].numpy()

    synced(step(inputs))
    best = float("inf")
    for _ in range(ROUNDS):
        started = time.perf_counter()
        for _ in range(REPEATS):
            result = step(inputs)
        synced(result)
        best = min(best, (time.perf_counter() - started) / REPEATS)
    return best


def measure(model_name, preset, batch_size):
    from keras_colorize import models
    from keras_colorize.models.flops import layer_flops

    model = models.build(model_name, preset)
    peak = matmul_peak_gflops()
    timed, step_seconds, step_flops = [], 0.0, 0
    for name, layer, input_gradient, runs in conv_layers(model):
        seconds = layer_step_seconds(layer, input_gradient, batch_size)
        passes = 1 + len(gradient_sources(layer, input_gradient, inputs=None))
        flops = passes * layer_flops(layer) * batch_size
        step_seconds += runs * seconds
        step_flops += runs * flops
        timed.append((name, layer, seconds, flops))
    peak = max(peak, matmul_peak_gflops())  # as in training_speed: a slow moment is not the peak
    layers = [{
        "layer": name, "kernel": list(layer.kernel.shape), "input": list(layer.input.shape[1:]),
        "ms": round(1e3 * seconds, 2), "percent_of_float32_peak": round(100 * flops / seconds / 1e9 / peak, 1),
    } for name, layer, seconds, flops in timed]
    return {
        "model": model_name, "preset": preset, "batch_size": batch_size,
        "float32_matmul_peak_gflops": round(peak, 1),
        "convolutions_percent_of_float32_peak": round(100 * step_flops / step_seconds / 1e9 / peak, 1),
        "convolutions_bound_images_per_second": round(batch_size / step_seconds, 1),
        "layers": layers,
    }


def with_training_rate(row, training_report):
    """The row with the float32 training rate of its model and preset, and the share of a
    step that the convolutions timed alone do not account for."""
    for run in training_report:
        if (run["model"], run["preset"], run["precision"]) == (row["model"], row["preset"], "float32"):
            outside = 1 - run["images_per_second"] / row["convolutions_bound_images_per_second"]
            return {**row, "training_images_per_second": run["images_per_second"],
                    "training_batch_size": run["batch_size"],
                    "percent_of_step_outside_convolutions": round(100 * outside, 1)}
    return row


def print_row(row):
    print(f"{row['model']:16s} {row['preset']:6s} batch {row['batch_size']}: convolutions alone "
          f"{row['convolutions_percent_of_float32_peak']:5.1f}% of peak "
          f"({row['float32_matmul_peak_gflops']:.0f} GFLOP/s), at most "
          f"{row['convolutions_bound_images_per_second']:.1f} img/s", flush=True)
    for layer in row["layers"]:
        print(f"    {layer['layer']:40s} {layer['input']!s:16s} {layer['kernel']!s:20s} "
              f"{layer['ms']:7.2f} ms {layer['percent_of_float32_peak']:6.1f}%")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="*")
    parser.add_argument("--preset", default="small")
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--out", type=Path, default=RESULTS / "layer_speed.json")
    parser.add_argument("--one", metavar="MODEL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        report_figures(measure(args.one, args.preset, args.batch))
        return
    from keras_colorize import models

    training_path = RESULTS / "training_speed.json"
    training_report = json.loads(training_path.read_text())["runs"] if training_path.is_file() else []
    rows, failed = [], []
    for model_name in args.models or models.available():
        command = [sys.executable, __file__, "--one", model_name, "--preset", args.preset,
                   "--batch", str(args.batch)]
        figures = child_figures(command, model_name)
        if figures is None:
            failed.append(model_name)
            continue
        row = with_training_rate(figures, training_report)
        rows.append(row)
        print_row(row)
    write_rows(args.out, rows, failed, key_fields=("model", "preset"))


if __name__ == "__main__":
    main()
