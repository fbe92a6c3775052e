"""Train a keras-colorize model: `python train.py --model unet --preset small --epochs 2 --out runs/unet`.

With no --data it trains on data/<standard file> when `make data` has built it, else on the
photos scikit-image ships. Run the same command again to resume an interrupted run.
"""

import argparse
import json
import sys

from keras_colorize import console

console.import_tensorflow_quietly()  # a command's output opens without TensorFlow's start-up lines

from keras_colorize import augment, images, models, training, training_settings  # noqa: E402
from keras_colorize.cli_types import (  # noqa: E402
    add_max_pixels_argument,
    non_negative_float,
    non_negative_int,
    positive_float,
    positive_int,
)
from keras_colorize.errors import TrainingError  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, choices=models.available())
    parser.add_argument("--data", nargs="+", metavar="SOURCE",
                        help="HDF5 files from data_prep build or folders of images; several are mixed "
                        "(validation and evaluation use the first's splits)")
    parser.add_argument("--data-weights", nargs="+", type=non_negative_float, metavar="SHARE",
                        help="each --data source's share of the training samples (default: by size)")
    parser.add_argument("--preset", default="small", choices=("small", "paper"))
    parser.add_argument("--epochs", type=positive_int)
    parser.add_argument("--batch", dest="batch_size", type=positive_int)
    parser.add_argument("--lr", dest="learning_rate", type=positive_float)
    parser.add_argument("--loss", help="mse, mae, huber, huber_eq2, ssim, mse+ssim, perceptual, mse+perceptual (RGB models); rebalanced or crossentropy (ab-bin models)")
    parser.add_argument("--second-loss", help="loss to switch to after --second-loss-epoch epochs")
    parser.add_argument("--second-loss-epoch", type=non_negative_int)
    parser.add_argument("--augment", choices=("", *augment.AUGMENTATIONS))
    parser.add_argument("--steps-per-epoch", type=positive_int, help="default: one pass over the data")
    parser.add_argument("--precision", default="auto",
                        choices=("auto", "float32", "mixed_float16", "mixed_bfloat16"))
    parser.add_argument("--strategy", default="auto", choices=("auto", "one", "mirrored", "multiworker"),
                        help="multiworker: run the same command in every worker, each with its TF_CONFIG; "
                             "worker 0 writes --out (docs/reliability.md)")
    parser.add_argument("--seed", type=int)
    parser.add_argument("--initial-weights", help="fine-tune: start from this trained .keras file, or shipped:NAME (a shipped "
                             "model with the same layers, at any image size)")
    parser.add_argument("--set", dest="model_overrides", action="append", default=[], metavar="KEY=JSON",
                        help="model builder override, e.g. --set base_filters=8 (repeatable)")
    parser.add_argument("--setting", dest="settings", action="append", default=[], metavar="KEY=JSON",
                        help="any other training setting (see config.json), e.g. --setting beta_1=0.5")
    parser.add_argument("--out", required=True, help="run folder (created; resumed if interrupted)")
    add_max_pixels_argument(parser)
    return parser.parse_args(argv)


def _overrides(pairs):
    """["key=value", ...] -> {key: value}, values parsed as JSON where they are JSON."""
    overrides = {}
    for pair in pairs:
        key, _, value = pair.partition("=")
        try:
            overrides[key] = json.loads(value)
        except json.JSONDecodeError:
            overrides[key] = value
    return overrides


def main(argv=None):
    args = vars(parse_args(argv))
    out = args.pop("out")
    images.set_max_pixels(args.pop("max_pixels"))
    args["model_overrides"] = _overrides(args["model_overrides"])
    if args["data"]:
        args["data"], *args["extra_data"] = args["data"]
    args.update(_overrides(args.pop("settings")))
    try:
        settings = training_settings.default_settings(**args)
        training.train(settings, out)
    except (TrainingError, ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"\ninterrupted: run the same command again to resume {out}", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
