"""Ship a trained run inside the package: `python scripts/ship_model.py runs/unet --name unet`.

Writes keras_colorize/weights/<name>.npz (float16) and <name>.json (see `keras_colorize.shipped`).
The JSON also records how the model was trained, stage by stage (a fine-tuned run names the
run it started from), which `scripts/results.py` turns into the model card.

float16 is kept only when the shipped model's mean PSNR on the first --check-images test
images stays within --tolerance dB (0.1) of the float32 model's; otherwise float32 ships.
"""

import argparse
import csv
import json
import sys
import tempfile
from pathlib import Path

import keras

from keras_colorize import Colorizer, evaluation, shipped, training

# Runs made before `train` recorded the data it resolved wrote "" for the default data:
# the standard file `make data` puts here.
STANDARD_DATA_DIR = Path("data")


CHECKPOINTS = {"best": "best.keras", "final": "model.keras"}


def run_model_path(run, checkpoint):
    path = run / CHECKPOINTS[checkpoint]
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such checkpoint")
    return path


def _started_from(settings):
    """The run folder a fine-tuned run started from (its initial or generator weights)."""
    source = settings.get("initial_weights") or settings["model_overrides"].get("generator_weights")
    return Path(source).parent if source else None


def training_stages(run):
    """[{run, model, data, preset, overrides, epochs, ...}, ...], the first stage first."""
    stages = []
    while run is not None:
        settings = json.loads((run / "config.json").read_text())
        with open(run / "history.csv", newline="") as handle:
            epochs = sum(1 for _ in csv.DictReader(handle))
        seconds = (run / "history.csv").stat().st_mtime - (run / "config.json").stat().st_mtime
        data = settings["data"] or str(STANDARD_DATA_DIR / training.SHARED_DATA_FILES[settings["model"]])
        stages.append({
            "run": str(run), "model": settings["model"], "data": data, "preset": settings["preset"],
            # The full builder config, as a preset's values may change after the run; runs older
            # than `model_config` recorded only what they changed in the preset.
            "overrides": settings.get("model_config", settings["model_overrides"]), "epochs_run": epochs,
            "steps_per_epoch": settings["steps_per_epoch"] or "one pass",
            "batch_size": settings["batch_size"], "learning_rate": settings["learning_rate"],
            "halve_lr_every_half_epoch": settings["halve_lr_every_half_epoch"],
            "loss": " then ".join(filter(None, (settings["loss"], settings["second_loss"]))),
            "augment": settings["augment"], "precision": settings["precision"],
            "wall_seconds": round(seconds),
        })
        run = _started_from(settings)
    return stages[::-1]


def mean_psnr(colorizer, check_data, images):
    """(mean PSNR, images evaluated) on the first `images` test images, fewer if the split has."""
    with tempfile.TemporaryDirectory() as folder:
        summary = evaluation.evaluate(
            colorizer, evaluation.open_data(check_data, "test"), ["psnr"], folder,
            samples=0, limit=images, verbose=False,
        )
    return summary["results"]["model"]["psnr"]["mean"], summary["images"]["evaluated"]


def ship(run, name, checkpoint, check_data, check_images, tolerance):
    settings = json.loads((run / "config.json").read_text())
    model = keras.saving.load_model(run_model_path(run, checkpoint), compile=False)
    if "model_config" not in settings:
        raise ValueError(f"{run}/config.json has no model_config (the run is older than it); "
                         "add the builder config the run trained with")
    config = settings["model_config"]
    reference, evaluated = mean_psnr(
        Colorizer.from_model(model, name=settings["model"]), check_data, check_images
    )
    with tempfile.TemporaryDirectory() as folder:
        shipped.save(model, settings["model"], config, name=name, folder=folder)
        half, _ = mean_psnr(Colorizer.from_model(shipped.load(name, folder)), check_data, check_images)
    dtype = "float16" if abs(reference - half) <= tolerance else "float32"
    path = shipped.save(model, settings["model"], config, name=name, dtype=dtype)
    description_path = path.with_suffix(".json")
    description = json.loads(description_path.read_text())
    description["training"] = training_stages(run)
    description["checkpoint"] = checkpoint
    description["storage_check"] = {
        "data": str(check_data), "images": evaluated,
        "psnr_float32": round(reference, 3), "psnr_float16": round(half, 3), "kept": dtype,
    }
    description_path.write_text(json.dumps(description, indent=2, sort_keys=True) + "\n")
    print(f"{path}: {path.stat().st_size / 2**20:.2f} MiB, {dtype} "
          f"(PSNR float32 {reference:.3f} dB, float16 {half:.3f} dB)")


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
    args = parser.parse_args(argv)
    try:
        stages = training_stages(args.run)
        ship(args.run, args.name or stages[-1]["model"], args.checkpoint,
             args.check_data or Path(stages[-1]["data"]),
             args.check_images, args.tolerance)
    except (FileNotFoundError, ValueError, evaluation.EvaluationError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
