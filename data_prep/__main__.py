"""Command line: `python -m data_prep SUBCOMMAND ...` (`SUBCOMMAND -h` lists its options)."""

import argparse
import sys
from pathlib import Path

from keras_colorize import console

console.import_tensorflow_quietly()  # a command's output opens without TensorFlow's start-up lines

from data_prep.clean import clean_folder  # noqa: E402
from data_prep.demo import run_demo  # noqa: E402
from data_prep.faces import crop_faces_folder  # noqa: E402
from data_prep.pairs import split_pairs_folder  # noqa: E402
from data_prep.sketch import sketch_folder  # noqa: E402
from data_prep.standard import build_standard  # noqa: E402
from keras_colorize import images  # noqa: E402
from keras_colorize.cli_types import (  # noqa: E402
    add_max_pixels_argument,
    float_in,
    non_negative_float,
    non_negative_int,
    positive_int,
)
from keras_colorize.datasets import ENCODINGS, IDENTITY_MODES, SKETCH_SIDES, build_dataset  # noqa: E402
from keras_colorize.image_checks import ImageChecker  # noqa: E402
from keras_colorize.sketches import RANDOM_STYLE, SKETCH_STYLES, check_kernel_size, style_names  # noqa: E402


def _kernel_size(text):
    try:
        return check_kernel_size(int(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an odd whole number >= 1, not {text}") from None


def _sketch(args):
    params = {"kernel_size": args.kernel_size, "sigma": args.sigma}
    params = {name: value for name, value in params.items() if value is not None}
    sketch_folder(args.source, args.out, args.style, seed=args.seed, **params)


def _faces(args):
    crop_faces_folder(args.source, args.out, args.size, args.margin, args.keep_faceless)


def _clean(args):
    checker = ImageChecker(args.min_size, args.allow_gray, args.gray_tolerance)
    clean_folder(args.source, args.out, checker)


def _pairs(args):
    split_pairs_folder(args.source, args.out, args.sketch_side)


def _build(args):
    build_dataset(
        args.sources,
        args.out,
        args.size,
        faces=args.faces,
        sketch=args.sketch,
        pairs=args.pairs,
        encoding=args.encoding,
        identities=args.identities,
        split=tuple(args.split),
        seed=args.seed,
        limit=args.limit,
        overwrite=args.overwrite,
        center_crop=args.center_crop,
        keep_faceless=args.keep_faceless,
    )


def _standard(args):
    if not args.shared.is_dir():
        print(f"{args.shared}: not found, so there are no standard datasets to build")
        return
    build_standard(args.shared, args.out, args.limit)


def _demo(args):
    run_demo(args.out, args.size, overwrite=args.overwrite)


def _parser():
    parser = argparse.ArgumentParser(
        prog="python -m data_prep", description="Prepare colorization datasets."
    )
    commands = parser.add_subparsers(dest="command", required=True)

    def command(name, run, description, source=True, out="new or empty output folder"):
        sub = commands.add_parser(name, help=description, description=description)
        sub.set_defaults(run=run)
        if source:
            sub.add_argument("source", type=Path, help="folder of input images (left untouched)")
            add_max_pixels_argument(sub)
        if out:
            sub.add_argument("--out", type=Path, required=True, help=out)
        return sub

    sub = command("sketch", _sketch, "Sketch a folder of images (PNG outputs, same names).")
    sub.add_argument("--style", choices=style_names(), default="pencil",
                     help="random: a style and its parameters drawn per image (seeded)")
    sub.add_argument("--kernel-size", type=_kernel_size, help="pencil: Gaussian kernel size (odd)")
    sub.add_argument("--sigma", type=float, help="pencil: blur sigma; line, contour: stroke scale")
    sub.add_argument("--seed", type=int, default=0, help="random: seeds every image's draw")

    sub = command("faces", _faces, "Crop the largest face of each image (Haar cascade).")
    sub.add_argument("--size", type=positive_int, default=100)
    sub.add_argument("--margin", type=non_negative_float, default=0.25,
                     help="added on each side, x face size")
    sub.add_argument("--keep-faceless", action="store_true", help="centre-crop faceless images")

    sub = command("clean", _clean, "List usable images (kept.txt) and rejects (rejects.tsv).")
    sub.add_argument("--min-size", type=positive_int, default=32)
    sub.add_argument("--allow-gray", action="store_true", help="keep grayscale images")
    sub.add_argument("--gray-tolerance", type=non_negative_int, default=3,
                     help="R, G, B spread in levels")

    sub = command("pairs", _pairs, "Split side-by-side images into sketches/ and photos/.")
    sub.add_argument("--sketch-side", choices=SKETCH_SIDES, default="left")

    sub = command("build", _build, "Build an HDF5 dataset file.", source=False, out="")
    sub.add_argument("sources", type=Path, nargs="+", help="image folders or files")
    sub.add_argument("out", type=Path, help="the .h5 file to write")
    add_max_pixels_argument(sub)
    sub.add_argument("--size", type=positive_int, required=True, help="side of the square images")
    sub.add_argument("--faces", action="store_true", help="crop around the largest face")
    sub.add_argument("--keep-faceless", action="store_true", help="with --faces: centre-crop")
    sub.add_argument("--center-crop", type=float_in(0, 1, low_included=False), default=1.0,
                     help="share of the shorter side")
    sub.add_argument("--sketch", choices=sorted(SKETCH_STYLES), help="store generated sketches")
    sub.add_argument("--pairs", choices=SKETCH_SIDES, help="side-by-side: the sketch's side")
    sub.add_argument("--encoding", choices=sorted(ENCODINGS), default="both")
    sub.add_argument("--identities", choices=IDENTITY_MODES, default="auto")
    sub.add_argument("--seed", type=int, default=0)
    sub.add_argument("--split", type=float, nargs=3, default=(0.8, 0.1, 0.1),
                     metavar=("TRAIN", "VAL", "TEST"))
    sub.add_argument("--limit", type=positive_int, help="use only LIMIT images, evenly spaced over the folders")
    sub.add_argument("--overwrite", action="store_true", help="replace an existing OUT")

    sub = command("standard", _standard, "Build the standard datasets from the shared data.",
                  source=False, out="folder for the .h5 files (created; files there are kept)")
    sub.add_argument("--shared", type=Path, default=Path("../shared/data"))
    sub.add_argument("--limit", type=positive_int, help="use only LIMIT images of each, evenly spaced")

    sub = command("demo", _demo, "Prepare the built-in samples and plot them.", source=False)
    sub.add_argument("--size", type=positive_int, default=256)
    sub.add_argument("--overwrite", action="store_true", help="replace the demo's files in OUT")
    return parser


def main(argv=None):
    args = _parser().parse_args(argv)
    images.set_max_pixels(getattr(args, "max_pixels", images.DEFAULT_MAX_PIXELS))
    if args.command == "sketch" and args.style != "pencil" and args.kernel_size is not None:
        _stop(args, "--kernel-size applies to --style pencil only")
    if args.command == "sketch" and args.style == RANDOM_STYLE and args.sigma is not None:
        _stop(args, "--style random draws its own parameters; --sigma does not apply")
    try:
        args.run(args)
    except (OSError, ValueError) as error:  # a bad path or value: one line, no traceback
        _stop(args, error)


def _stop(args, problem):
    """One line on stderr and exit status 2, as argparse gives for a bad option."""
    print(f"data_prep {args.command}: error: {problem}", file=sys.stderr)
    sys.exit(2)


if __name__ == "__main__":
    main()
