"""Score a trained colorizer on a dataset, next to the gray and sketch baselines.

    python evaluate.py --model runs/unet --data data/lfw128.h5 --metrics psnr ssim --out runs/unet/evaluation
    python evaluate.py --model runs/sketch_inverter --data ../shared/data/cufs_cuhk/test \\
        --metrics psnr ssim recognition --baseline gray sketch --out runs/sketch_inverter/cufs
    python evaluate.py --model sketch_inverter --protocol joy2017 --out runs/eval/joy2017
    python evaluate.py --model hint_unet --data data/lfw128.h5 --hint-counts 0 1 2 5 10 20 50 100 --out runs/eval/hints

--protocol joy2017: the sketch-inversion paper's Tables II and III on CelebA test faces at
100x100 (default --data data/celeba100.h5): line and gray-scale (pencil) sketches drawn from
each photo, SSIM, PSNR and rank-1 recognition of the generated photos and of the sketches,
beside the paper's figures (--metrics, --baseline and --input do not apply).

--model: a run folder from train.py, a .keras file, a SavedModel folder or a shipped model's name.
--data: an HDF5 file from data_prep build (scored on --split), a folder of colour photos, or a
folder with photos/ and sketches/ (CUFS style); without --data, the data the run trained on.
Writes per_image.csv, summary.json, table.txt and samples.png to --out and prints the table.
--hint-counts (a hint model): PSNR with each number of hints revealed from the ground truth, and
how often the output keeps a hint's colour; writes hint_curve.csv and hint_curve.png instead.
Metric definitions: docs/evaluation.md. Exit status: 0 done, 2 unusable arguments, model or data.
"""

import argparse
import sys
from pathlib import Path

from keras_colorize import console

console.import_tensorflow_quietly()  # a command's output opens without TensorFlow's start-up lines

from keras_colorize import evaluation, hint_evaluation, images, runs  # noqa: E402
from keras_colorize.cli_types import add_max_pixels_argument, add_trust_argument, non_negative_int, positive_int  # noqa: E402
from keras_colorize.colorizer import Colorizer  # noqa: E402
from keras_colorize.errors import ModelLoadError  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", required=True,
                        help="run folder, .keras file, SavedModel folder or shipped name")
    parser.add_argument("--data", help="HDF5 file, photo folder, or folder with photos/ + sketches/")
    parser.add_argument("--protocol", choices=evaluation.PROTOCOLS, help="a paper's own evaluation (above)")
    parser.add_argument("--split", default="test", help="HDF5 split or split subfolder (default: test)")
    parser.add_argument("--metrics", nargs="+", default=["psnr", "ssim"], choices=list(evaluation.METRICS))
    parser.add_argument("--baseline", dest="baselines", nargs="*", choices=evaluation.BASELINES,
                        help="default: gray, and sketch for sketch models")
    parser.add_argument("--input", dest="model_input", choices=evaluation.MODEL_INPUTS,
                        help="what the model colorizes (default: from the model)")
    parser.add_argument("--hint-counts", type=non_negative_int, nargs="+", metavar="N",
                        help="a hint model: PSNR with N hints revealed from the ground truth, for each N "
                             f"(e.g. {' '.join(map(str, hint_evaluation.HINT_COUNTS))}), instead of --metrics")
    parser.add_argument("--samples", type=non_negative_int, default=8, help="images in samples.png (0: none)")
    parser.add_argument("--batch", dest="batch_size", type=positive_int, default=16)
    parser.add_argument("--limit", type=positive_int, help="score only the first LIMIT images")
    parser.add_argument("--overwrite", action="store_true", help="replace earlier outputs in --out")
    parser.add_argument("--out", required=True, help="output folder")
    add_trust_argument(parser)
    add_max_pixels_argument(parser)
    return parser.parse_args(argv)


def _trained_on(model):
    """The data a run folder's config.json names, when it still exists."""
    try:
        recorded = (runs.read_if_present(model) or {}).get("data")
    except runs.RunRecordError as error:
        raise evaluation.EvaluationError(f"{error}; pass --data") from None
    if not isinstance(recorded, str) or not recorded or not Path(recorded).exists():
        raise evaluation.EvaluationError(f"{model}: records no data that still exists; pass --data")
    return recorded


def main(argv=None):
    args = parse_args(argv)
    images.set_max_pixels(args.max_pixels)
    try:
        colorizer = Colorizer.load(args.model, args.trust_savedmodel)
        if args.hint_counts:
            dataset = evaluation.open_data(args.data or _trained_on(args.model), args.split)
            rows = hint_evaluation.hint_curve(
                colorizer, dataset, args.out, args.hint_counts, batch_size=args.batch_size, limit=args.limit,
                overwrite=args.overwrite,
            )
        elif args.protocol:
            dataset = evaluation.open_data(args.data or evaluation.JOY2017_DATA, args.split)
            report = evaluation.joy2017(
                colorizer, dataset, args.out, batch_size=args.batch_size, limit=args.limit, overwrite=args.overwrite
            )
        else:
            dataset = evaluation.open_data(args.data or _trained_on(args.model), args.split)
            summary = evaluation.evaluate(
                colorizer, dataset, args.metrics, args.out, baselines=args.baselines,
                model_input=args.model_input, samples=args.samples, batch_size=args.batch_size,
                limit=args.limit, overwrite=args.overwrite,
            )
    except (ModelLoadError, images.ImageError, evaluation.EvaluationError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.hint_counts:
        print(hint_evaluation.format_table(rows))
    else:
        print(evaluation.format_joy2017(report) if args.protocol else evaluation.format_table(summary))
    print(f"results: {Path(args.out).resolve()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
