"""Colour quality against the render size (`Colorizer(..., size=N)`): the size a fully
convolutional model runs at, on the image's short side.

    python benchmarks/render_size.py [--model mobilenet_unet] [--sizes 64 96 128 ...] [--limit 100]

Scores the model at each size, and squeezed into its own square training size ("squeezed",
as `Colorizer` ran every photo before it kept their shape), on the first
`--limit` test photos of `data/general256_test.h5` (256 px) and `data/lfw128.h5` (128 px
faces): PSNR, SSIM, colourfulness (with the ground truth's) and the Frechet distance in
MobileNet features, each from `evaluation.evaluate` as `evaluate.py` reports it. Those photos
are square, where squeezing changes nothing; `--wide` scores the general ones cut to 256 x 160
(the middle rows), where it does. The default render size is the model's own size. Rows of an earlier run for
other data stay in benchmarks/results/render_size.json; the table goes to docs/render_size.md.
"""

import argparse
import dataclasses
import json
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from keras_colorize import console  # noqa: E402

console.import_tensorflow_quietly()  # a command's output opens without TensorFlow's start-up lines

from keras_colorize import Colorizer, evaluation, inference, models, shipped  # noqa: E402

METRICS = ["psnr", "ssim", "colorfulness", "fid_mobilenet"]
DATA_FILES = ["general256_test.h5", "lfw128.h5"]
RESULTS = REPO / "benchmarks" / "results" / "render_size.json"
TABLE = REPO / "docs" / "render_size.md"


WIDE_ROWS = slice(48, 208)  # 160 of a 256 px photo's rows: 256 x 160


def test_split(data_path, wide):
    """`data_path`'s test split, its photos cut to `WIDE_ROWS` when `wide`."""
    dataset = evaluation.open_data(data_path, "test")
    if not wide:
        return dataset

    def read(with_sketches=False):
        for sample in dataset.read(False):
            yield evaluation.Sample(sample.name, sample.truth[WIDE_ROWS], None)

    return dataclasses.replace(dataset, read=read)


def squeezed(model):
    """The shipped `model` run on every photo resized to its own square size."""
    keras_model, element_format = shipped.load(model), models.element_format(model)
    network = models.inference_model(model, keras_model)
    return Colorizer(lambda batch: inference.colorize_batch(network, batch, element_format).numpy(),
                     model, element_format, f"shipped:{model}", network.input_shape[1])


def score(model, size, dataset, limit, folder):
    """{metric: value} of `model` rendered at `size` (None: squeezed) on `dataset`."""
    colorizer = squeezed(model) if size is None else Colorizer.load(model, size=size)
    summary = evaluation.evaluate(
        colorizer, dataset, METRICS, Path(folder) / f"{len(list(Path(folder).iterdir()))}",
        samples=0, limit=limit, verbose=False,
    )
    results = summary["results"]["model"]
    return {
        "images": summary["images"]["evaluated"],
        **{column: results[column]["mean"] for column in ("psnr", "ssim", "colorfulness")},
        "truth_colorfulness": results["colorfulness"]["mean"] - results["colorfulness_diff"]["mean"],
        "fid_mobilenet": results["fid_mobilenet"]["value"],
    }


def table(rows, model, limit):
    lines = [
        f"# Render size: `{model}` at each size on the short side", "",
        f"The first {limit} test photos of each file; `squeezed` is every photo resized to the "
        f"model's own square training size, as `Colorizer` ran them before it kept their shape "
        f"(`benchmarks/render_size.py`). The default is the model's own training size on the short "
        f"side: on square photos the same as squeezed, on the wide ones better.", "",
        "| data | render size | PSNR (dB) | SSIM | colourfulness (truth) | FID (MobileNet) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row['data']} | {row['size'] or 'squeezed'} | {row['psnr']:.2f} | {row['ssim']:.4f} | "
            f"{row['colorfulness']:.2f} ({row['truth_colorfulness']:.2f}) | {row['fid_mobilenet']:.2f} |"
        )
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=shipped.PHOTO_MODEL)
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 96, 128, 160, 192, 224, 256, 320])
    parser.add_argument("--limit", type=int, default=100)
    parser.add_argument("--data", type=Path, default=REPO / "data")
    parser.add_argument("--wide", action="store_true", help="only the general photos cut to 256 x 160")
    args = parser.parse_args(argv)
    parts = [(f"{DATA_FILES[0]} cut to 256x160", DATA_FILES[0], True)] if args.wide else [
        (name, name, False) for name in DATA_FILES
    ]
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for label, name, wide in parts:
            for size in [None, *args.sizes]:
                row = {"data": label, "size": size,
                       **score(args.model, size, test_split(args.data / name, wide), args.limit, folder)}
                print(json.dumps(row), flush=True)
                rows.append(row)
    labels = {row["data"] for row in rows}
    earlier = json.loads(RESULTS.read_text())["rows"] if RESULTS.is_file() else []
    rows = [row for row in earlier if row["data"] not in labels] + rows
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"model": args.model, "limit": args.limit, "rows": rows}, indent=2) + "\n")
    TABLE.write_text(table(rows, args.model, args.limit))
    print(TABLE.read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
