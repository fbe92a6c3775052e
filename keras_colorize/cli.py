"""`keras-colorize`: colorize photos, sketches and videos from the command line, or open the GUI.

    keras-colorize colorize old_photos/ scan.jpg -o colorized/ --model runs/unet
    keras-colorize colorize wedding.jpg -o colorized/ --hints hints.json
    keras-colorize sketch2photo 'sketches/*.png' -o photos/
    keras-colorize gray2color --via-sketch faces/ -o colorized/
    keras-colorize video film.mp4 film_colour.mp4 --smooth 5
    keras-colorize export mobilenet_unet --format tflite mobilenet_unet.tflite
    keras-colorize serve --port 8000
    keras-colorize gui

INPUT may be files, folders (searched recursively) or quoted glob patterns. Each image is
written as OUTDIR/<its name>.png at its own size; when that file exists already (from an
earlier run, or another input of the same name) the next free name <name>-2.png, <name>-3.png,
... is taken, so nothing is ever overwritten, inputs included. An input that names nothing
(no such file, a pattern matching none), a broken link and an unreadable folder are reported
and counted as skipped, like a file that cannot be read or written.

--model takes a run folder, a .keras file, a SavedModel folder, a .tflite file from `export`
or the name of a model shipped with the package. A SavedModel is a program that TensorFlow
runs: one that is not shaped like this package's exports (only computation, no file or
process operations) is refused unless --trust-savedmodel says you trust its author.

Exit status: 0 every input was converted; 1 some inputs could not be read or written (each is
named on stderr, counted in the summary, and the others were still written); 2 a usage,
model, video or output error stopped the command, or no input could be converted.
"""

import argparse
import sys
from pathlib import Path

from keras_colorize import console

console.import_tensorflow_quietly()  # a command's output opens without TensorFlow's start-up lines

from keras_colorize import files, hints, images, samples, shipped, tflite, video  # noqa: E402
from keras_colorize.cli_types import add_max_pixels_argument, add_trust_argument, positive_int  # noqa: E402
from keras_colorize.colorizer import Colorizer  # noqa: E402
from keras_colorize.errors import ColorizeError, ModelLoadError  # noqa: E402
from keras_colorize.progress import Tally  # noqa: E402
from keras_colorize.shipped import HINT_MODEL, PENCIL_SKETCH_MODEL, PHOTO_MODEL, SKETCH_MODEL  # noqa: E402

EXIT_OK, EXIT_SOME_FAILED, EXIT_ERROR = 0, 1, 2


class CommandError(ColorizeError):
    """A problem that stops the whole command (exit status 2); the message says what to do."""


def load_model(source, trust_savedmodel=False, render_size=None):
    """`Colorizer.load`, with a hint on how to get a model when there is none."""
    try:
        return Colorizer.load(source, trust_savedmodel, render_size)
    except ModelLoadError as error:
        raise CommandError(
            f"{error}\nPass --model with a run folder (train one with `make train MODEL=unet`, "
            f"or MODEL=sketch_inverter for sketches), a .keras file or a SavedModel folder."
        ) from None


def convert_files(colorizer, paths, out_dir, prepare=None, label="colorizing", problems=(), given_hints=None):
    """Colorize image files into `out_dir`; returns the Tally.

    `prepare` maps each uint8 RGB input to what the model gets (e.g. its pencil sketch).
    Files that cannot be read or written are skipped, named on stderr and counted, with the
    `problems` met while finding them (`images.find_images`). `out_dir` is made with the first
    output (`images.write_image`), so that a command that converts nothing leaves nothing behind.
    `given_hints` (`hints.read_file`) gives a hint model each file's colour hints.
    """
    tally = Tally(len(paths) + len(problems), f"{label} with {colorizer.name} ({colorizer.source})")
    for error in problems:
        tally.reject(error)
    for path in paths:
        try:
            convert_file(colorizer, path, out_dir, prepare, hints.for_image(given_hints, path))
        except images.ImageError as error:
            tally.reject(error)
        except OSError as error:
            # One output can fail (no permission, a name too long) where the others succeed.
            tally.reject(images.ImageError(path, os_error_reason(error), str(error)))
        else:
            tally.keep()
    # Nothing written means no folder was made: the summary names none.
    tally.finish(label, **({"output": str(out_dir)} if tally.kept else {}))
    return tally


def convert_file(colorizer, path, out_dir, prepare, image_hints=None):
    """Colorize one image file into `out_dir`, under the first free name of its stem; a large
    one straight into its PNG, in strips (bounded memory). A hint model follows `image_hints`."""
    image = images.open_image(path)
    out_path = out_dir / images.free_output_name([out_dir], path.stem, images.OUTPUT_SUFFIX)
    if prepare is None and colorizer.colorizes_in_strips(*image.size):
        colorizer.colorize_to_png(image, path, out_path)
        return
    rgb = images.to_rgb_array(image, path)
    if image_hints:
        try:
            colorized = colorizer.colorize(rgb, hints=image_hints)
        except ValueError as error:
            raise images.ImageError(path, "bad_hints", str(error)) from None
    else:
        colorized = colorizer.colorize(prepare(rgb) if prepare else rgb)
    images.write_image(out_path, colorized)


def os_error_reason(error):
    """A reason tag for counting: "Permission denied" -> "permission_denied"."""
    return (error.strerror or "os_error").lower().replace(" ", "_")


def _convert_images(args):
    paths, problems = images.find_images(*args.inputs)
    if not paths:
        why = "".join(f"; {error}" for error in problems)
        raise CommandError(f"no image files found in {' '.join(args.inputs)}{why}")
    # Before any conversion: an unwritable folder would otherwise show only after all the work.
    files.prepare_output(args.out, hint="-o takes a folder (created when missing)")
    via_sketch = getattr(args, "via_sketch", False)
    given_hints = _read_hints(getattr(args, "hints", None))
    model = args.model or (PENCIL_SKETCH_MODEL if via_sketch else HINT_MODEL if given_hints else PHOTO_MODEL)
    takes_sketches = args.command == "sketch2photo" or via_sketch
    colorizer = _model_for(model, "sketch" if takes_sketches else "gray", args.trust_savedmodel, args.render_size)
    if given_hints is not None and not colorizer.takes_hints:
        raise CommandError(f"--hints: model {colorizer.name!r} takes no colour hints; leave out --model "
                           f"(the shipped {HINT_MODEL!r} follows hints) or pass a hint model")
    prepare = colorizer.pencil_sketch if via_sketch else None
    tally = convert_files(colorizer, paths, args.out, prepare, args.command, problems, given_hints)
    if not tally.kept:
        return EXIT_ERROR  # no input held an image: as when none was found
    return EXIT_SOME_FAILED if tally.rejects else EXIT_OK


def _read_hints(path):
    if path is None:
        return None
    try:
        return hints.read_file(path)
    except ValueError as error:
        raise CommandError(f"--hints: {error}") from None


# What to run instead when a command that gives a model this kind of input got the other kind of model.
OTHER_COMMANDS = {
    "sketch": "for photos use `colorize` or `gray2color` (without --via-sketch)",
    "gray": "for drawn sketches use `sketch2photo`; for photos, `gray2color --via-sketch` sketches them first",
}


def _model_for(source, input_kind, trust_savedmodel, render_size):
    """`load_model`, refusing a model trained on the other kind of input, with the command to use."""
    colorizer = load_model(source, trust_savedmodel, render_size)
    try:
        return colorizer.check_input_kind(input_kind)
    except ModelLoadError as error:
        raise CommandError(f"{error}; {OTHER_COMMANDS[input_kind]}") from None


def _video(args):
    try:
        video.check_source(args.input)  # both before the model takes seconds to load
        video.check_destination(args.output)
        video.check_audio(args.input, args.output)
        report = video.colorize_video(
            load_model(args.model, args.trust_savedmodel, args.render_size), args.input, args.output,
            smooth=args.smooth, batch_size=args.batch_size,
        )
    except video.VideoError as error:
        raise CommandError(str(error)) from None
    print(f"{args.output}: {report.summary()}")
    return EXIT_OK


def _export(args):
    colorizer = load_model(args.model)
    try:
        written = colorizer.export(args.output, args.format, "float16" if args.float16 else "float32")
    except (ModelLoadError, ValueError) as error:
        raise CommandError(str(error)) from None
    line = f"{written}: {colorizer.name} ({colorizer.source}) as {args.format}"
    if args.format == "tflite":
        photos = samples.sample_photos()
        differences = tflite.level_differences(colorizer, load_model(written), photos.values())
        line += (f"{' with float16 weights' if args.float16 else ''}; on the {len(photos)} sample photos "
                 f"{(differences <= 1).mean():.2%} of the values are within 1 uint8 level of the Keras "
                 f"model's, {differences.max()} at most")
    print(line)
    return EXIT_OK


def _gui(args):
    # Imported here: some Python builds lack tkinter, and only this command needs it.
    from keras_colorize import gui

    try:
        gui.run(sketch_model=args.sketch_model, photo_model=args.photo_model)
    except gui.NoDisplayError as error:
        raise CommandError(str(error)) from None
    return EXIT_OK


def _serve(args):
    try:
        # Imported here: the web framework is an optional extra, which only this command needs.
        from keras_colorize import web
    except ImportError as error:
        raise CommandError(
            f"`keras-colorize serve` needs the web extra ({error.name} is missing): "
            "pip install 'keras-colorize[web]'"
        ) from None
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"warning: serving on {args.host}: anyone who can reach this address can use the app",
              file=sys.stderr)
    print(f"keras-colorize: http://{args.host}:{args.port}/ (API docs at /docs); Ctrl-C stops it")
    web.serve(args.host, args.port)
    return EXIT_OK


def _add_image_arguments(parser, default_model, model_help):
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="image files, folders or globs")
    parser.add_argument("-o", "--out", type=Path, required=True, metavar="OUTDIR",
                        help="folder for the colorized PNGs (created; existing files are kept)")
    parser.add_argument("--model", default=default_model, help=model_help)
    add_trust_argument(parser)
    add_render_size_argument(parser)
    add_max_pixels_argument(parser)


def add_render_size_argument(parser):
    parser.add_argument("--render-size", type=positive_int, default=None, metavar="N",
                        help="run the model at N pixels on the image's short side, the long side in "
                             "proportion (a multiple of the model's stride; Keras models only); "
                             "default: the model's own input size on the short side (models with "
                             "global features: their own square size)")


def build_parser():
    parser = argparse.ArgumentParser(
        prog="keras-colorize", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name, run, description):
        sub = commands.add_parser(name, help=description, description=description)
        sub.set_defaults(run=run)
        return sub

    sub = command("colorize", _convert_images, "Colorize gray (or colour) photos with a photo model.")
    _add_image_arguments(
        sub, None, f"photo model (default: the shipped {PHOTO_MODEL!r}, or {HINT_MODEL!r} with --hints)"
    )
    sub.add_argument("--hints", type=Path, metavar="HINTS.json",
                     help="colour hints for a hint model: JSON [[x, y, [r, g, b] or \"#rrggbb\"], ...] for "
                          "every image, or {\"image file name\": [...]}; x, y in the image's pixels")

    sub = command("sketch2photo", _convert_images, "Turn sketches into photos with a sketch model.")
    _add_image_arguments(sub, SKETCH_MODEL, f"sketch model (default: the shipped {SKETCH_MODEL!r})")

    sub = command(
        "gray2color",
        _convert_images,
        "Colorize gray photos; with --via-sketch, the sketch-inversion paper's way: pencil-sketch "
        "each photo, then turn the sketch into a photo with a sketch model.",
    )
    _add_image_arguments(
        sub, None, f"default: the shipped {PHOTO_MODEL!r}, or {PENCIL_SKETCH_MODEL!r} with --via-sketch"
    )
    sub.add_argument("--via-sketch", action="store_true",
                     help="colorize the photo's pencil sketch with a sketch model")

    sub = command("video", _video,
                  "Colorize a video frame by frame; keeps its frame count, size (an odd width or "
                  "height loses one pixel: MPEG-4 needs even sizes) and frame rate, and prints "
                  "frames per second and the flicker figure.")
    sub.add_argument("input", type=Path, metavar="IN", help="video file (anything OpenCV reads)")
    sub.add_argument("output", type=Path, metavar="OUT",
                     help=f"new {', '.join(video.VIDEO_SUFFIXES)} file (never overwritten)")
    sub.add_argument("--model", default=PHOTO_MODEL,
                     help=f"photo model, or a sketch model, which gets each frame's pencil sketch "
                          f"(default: {PHOTO_MODEL!r})")
    sub.add_argument("--smooth", type=positive_int, default=1, metavar="N",
                     help="average the predicted colour over the last N frames (default 1: off)")
    sub.add_argument("--batch-size", type=positive_int, default=video.BATCH_SIZE,
                     help=f"frames per model call (default {video.BATCH_SIZE})")
    add_trust_argument(sub)
    add_render_size_argument(sub)

    sub = command("export", _export,
                  "Write a Keras model (a shipped name, run folder or .keras file) as a SavedModel "
                  "folder (uint8 images in, uint8 RGB out) or a TensorFlow Lite file, which "
                  "`--model` then takes.")
    sub.add_argument("model", metavar="MODEL", help="shipped model name, run folder or .keras file")
    sub.add_argument("--format", choices=Colorizer.EXPORT_FORMATS, required=True)
    sub.add_argument("output", type=Path, metavar="OUT",
                     help="new folder (savedmodel) or .tflite file (never overwritten)")
    sub.add_argument("--float16", action="store_true", help="tflite: float16 weights (half the bytes)")

    sub = command("serve", _serve,
                  "Run the web app: a page to colorize photos, sketches and videos, and its HTTP "
                  "API (POST /api/colorize); needs the web extra.")
    sub.add_argument("--host", default="127.0.0.1", help="address to listen on (default: this computer only)")
    sub.add_argument("--port", type=positive_int, default=8000)
    add_max_pixels_argument(sub)

    sub = command("gui", _gui, "Open the drawing and colorizing window.")
    sub.add_argument("--sketch-model", default=SKETCH_MODEL, help="model for Convert")
    sub.add_argument("--photo-model", default=shipped.app_photo_model(),
                     help=f"model for Open image and its colour hints (default: {shipped.HINT_MODEL!r} "
                          f"where it ships, else {PHOTO_MODEL!r})")
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    images.set_max_pixels(getattr(args, "max_pixels", images.DEFAULT_MAX_PIXELS))
    try:
        return args.run(args)
    except (CommandError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
