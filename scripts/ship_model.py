"""Ship a trained run inside the package: `python scripts/ship_model.py runs/unet --name unet`.

Writes the preset folder keras_colorize/weights/<name>/: model.weights.h5 (float16) and
config.json (see `keras_colorize.shipped`). config.json also records how the model was trained,
stage by stage (a fine-tuned run names the run it started from), which `scripts/results.py`
turns into the model card, README.md.

float16 is kept only when the shipped model's mean PSNR on the first --check-images test
images stays within --tolerance dB (0.1) of the float32 model's; otherwise float32 ships.
"""

import argparse
import csv
import sys
import tempfile
from pathlib import Path

from keras_colorize import console

console.import_tensorflow_quietly()  # a command's output opens without TensorFlow's start-up lines

import keras  # noqa: E402

from keras_colorize import Colorizer, evaluation, models, runs, shipped, training_settings  # noqa: E402

CHECKPOINTS = {"best": "best.keras", "final": "model.keras"}
WEIGHTS_BUDGET_BYTES = 40e6  # all shipped models together, as the package promises


def run_model_path(run, checkpoint):
    path = run / CHECKPOINTS[checkpoint]
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such checkpoint")
    return path


def _started_from(settings):
    """(the run folder of the model file a fine-tuned run started from, or None; the name of
    the shipped model it started from, or None). Both None: it started from scratch."""
    source = settings.get("initial_weights") or settings["model_overrides"].get("generator_weights")
    if not source:
        return None, None
    shipped_name = shipped.name_in(source)
    return (None, shipped_name) if shipped_name else (Path(source).parent, None)


def _loss(settings):
    """What the run minimised: a GAN's own objective (the loss setting does not apply to it)."""
    config = models.config(settings["model"], settings["preset"], **settings["model_config"])
    if "l1_weight" in config:
        return f"adversarial BCE + {config['l1_weight']:g} x L1"
    loss = settings["loss"]
    # runs/ship/mobilenet_unet and the runs beside it were recorded before the setting existed.
    mix = settings.get("rebalancing_mix", training_settings.TrainingSettings.rebalancing_mix)
    if loss == "rebalanced" and mix != training_settings.TrainingSettings.rebalancing_mix:
        loss += f" (lambda {mix:g})"
    return " then ".join(filter(None, (loss, settings["second_loss"])))


def _wall_seconds(history):
    """The run's training time: the sum of its epochs' `epoch_seconds`, which survives resuming."""
    return sum(float(row["epoch_seconds"] or 0) for row in history)


def training_stages(run):
    """[{run, model, data, preset, overrides, epochs, ...}, ...], the first stage first: back
    from `run` through the runs each one started from, up to one that started from scratch or
    from a model file outside a run folder; a run that started from a shipped model is
    preceded by the stages recorded for it."""
    stages = []
    settings = runs.read(run)
    while settings is not None:
        with open(run / "history.csv", newline="") as handle:
            history = list(csv.DictReader(handle))
        stages.append({
            "run": str(run), "model": settings["model"], "data": settings["data"], "preset": settings["preset"],
            "extra_data": settings["extra_data"], "data_weights": settings["data_weights"],
            # The full builder config, as a preset's values may change after the run.
            "overrides": settings["model_config"], "epochs_run": len(history),
            "steps_per_epoch": settings["steps_per_epoch"] or "one pass",
            "batch_size": settings["batch_size"], "learning_rate": settings["learning_rate"],
            "halve_lr_every_half_epoch": settings["halve_lr_every_half_epoch"],
            "loss": _loss(settings),
            "augment": settings["augment"], "precision": settings["precision"],
            "wall_seconds": round(_wall_seconds(history)),
        })
        run, shipped_name = _started_from(settings)
        settings = runs.read_if_run(run) if run else None
    # A shipped model's config.json keeps the stages that made it; read before this run replaces it.
    earlier = shipped.description(shipped_name)["training"] if shipped_name else []
    return earlier + stages[::-1]


def mean_psnr(colorizer, check_data, images):
    """(mean PSNR, images evaluated) on the first `images` test images, fewer if the split has."""
    with tempfile.TemporaryDirectory() as folder:
        summary = evaluation.evaluate(
            colorizer, evaluation.open_data(check_data, "test"), ["psnr"], folder,
            samples=0, limit=images, verbose=False,
        )
    return summary["results"]["model"]["psnr"]["mean"], summary["images"]["evaluated"]


def stored_psnr(model, model_name, config, preset, dtype, check_data, images):
    """(mean PSNR, images evaluated) of `model` stored in `dtype` and rebuilt as shipped: in
    float32, whatever precision policy the run trained and saved its layers with."""
    with tempfile.TemporaryDirectory() as folder:
        shipped.save(model, model_name, config, folder=folder, dtype=dtype, preset=preset)
        return mean_psnr(Colorizer.from_model(shipped.load(model_name, folder)), check_data, images)


def ship(run, name, checkpoint, check_data, check_images, tolerance, replace=False, temperature=None):
    settings = runs.read(run)
    if name in shipped.available() and not replace:
        raise ValueError(f"{name}: already shipped (keras_colorize/weights/{name}/); "
                         "pass --replace to ship this run in its place, or --name to ship it beside")
    model = keras.saving.load_model(run_model_path(run, checkpoint), compile=False)
    model_name, config, preset = settings["model"], settings["model_config"], settings["preset"]
    if temperature is not None:  # refused (ValueError) for a model without the option
        config = models.config(model_name, preset, **{**config, "temperature": temperature})
    reference, evaluated = stored_psnr(model, model_name, config, preset, "float32", check_data, check_images)
    half, _ = stored_psnr(model, model_name, config, preset, "float16", check_data, check_images)
    dtype = "float16" if abs(reference - half) <= tolerance else "float32"
    extra = {
        "training": training_stages(run), "checkpoint": checkpoint,
        "storage_check": {
            "data": str(check_data), "images": evaluated,
            "psnr_float32": round(reference, 3), "psnr_float16": round(half, 3), "kept": dtype,
        },
    }
    path = shipped.save(model, model_name, config, name=name, dtype=dtype, preset=preset, extra=extra)
    print(f"{path}: {path.stat().st_size / 2**20:.2f} MiB, {dtype} "
          f"(PSNR float32 {reference:.3f} dB, float16 {half:.3f} dB)")
    if dtype == "float32":
        print(f"warning: {name} ships in float32 (twice float16's bytes): float16 moved PSNR by more "
              f"than {tolerance} dB", file=sys.stderr)
    total = sum(shipped.weights_path(shipped_name).stat().st_size for shipped_name in shipped.available())
    if total > WEIGHTS_BUDGET_BYTES:
        print(f"warning: the shipped weights now total {total / 1e6:.1f} MB, over the "
              f"{WEIGHTS_BUDGET_BYTES / 1e6:.0f} MB budget", file=sys.stderr)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", type=Path, help="a run folder from train.py")
    parser.add_argument("--name", help="shipped name (default: the run's model)")
    parser.add_argument("--checkpoint", choices=sorted(CHECKPOINTS), default="best",
                        help="best: the best validation checkpoint (default); final: the last epoch's "
                             "model (for a GAN, whose L1 validation loss favours the least-changed generator)")
    parser.add_argument("--check-data", type=Path, help="default: the test split of the data it trained on")
    parser.add_argument("--check-images", type=int, default=128)
    parser.add_argument("--tolerance", type=float, default=0.1, help="dB")
    parser.add_argument("--replace", action="store_true", help="replace a shipped model of the same name")
    parser.add_argument("--temperature", type=float,
                        help="the annealed-mean temperature to ship an ab-bin model with (see "
                             "scripts/choose_temperature.py); default: the run's")
    args = parser.parse_args(argv)
    try:
        stages = training_stages(args.run)
        ship(args.run, args.name or stages[-1]["model"], args.checkpoint,
             args.check_data or Path(stages[-1]["data"]),
             args.check_images, args.tolerance, args.replace, args.temperature)
    except (FileNotFoundError, ValueError, evaluation.EvaluationError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
