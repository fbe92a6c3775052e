"""Colour quality against the render size (`Colorizer(..., size=N)`): the size a fully
convolutional model runs at, on the image's short side.

    python benchmarks/render_size.py [--model mobilenet_unet] [--sizes 64 96 128 ...] [--limit 100]

Scores the model at each size, and at its own square training size ("own"), on the first
`--limit` test photos of `data/general256_test.h5` (256 px) and `data/lfw128.h5` (128 px
faces): PSNR, SSIM, colourfulness (with the ground truth's) and the Frechet distance in
MobileNet features, each from `evaluation.evaluate` as `evaluate.py` reports it. Writes
benchmarks/results/render_size.json and the table in docs/render_size.md.
"""

import argparse
import json
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from keras_colorize import Colorizer, evaluation, shipped  # noqa: E402

METRICS = ["psnr", "ssim", "colorfulness", "fid_mobilenet"]
DATA_FILES = ["general256_test.h5", "lfw128.h5"]
RESULTS = REPO / "benchmarks" / "results" / "render_size.json"
TABLE = REPO / "docs" / "render_size.md"


def score(model, size, data_path, limit, folder):
    """{metric: value} of `model` rendered at `size` (None: its own size) on `data_path`'s test split."""
    colorizer = Colorizer.load(model, size=size)
    summary = evaluation.evaluate(
        colorizer, evaluation.open_data(data_path, "test"), METRICS, Path(folder) / f"{data_path.stem}_{size}",
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
        f"The first {limit} test photos of each file; `own` is the model's own square training "
        f"size, as `Colorizer` ran it before the knob (`benchmarks/render_size.py`).", "",
        "| data | render size | PSNR (dB) | SSIM | colourfulness (truth) | FID (MobileNet) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row['data']} | {row['size'] or 'own'} | {row['psnr']:.2f} | {row['ssim']:.4f} | "
            f"{row['colorfulness']:.2f} ({row['truth_colorfulness']:.2f}) | {row['fid_mobilenet']:.2f} |"
        )
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=shipped.PHOTO_MODEL)
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 96, 128, 160, 192, 224, 256, 320])
    parser.add_argument("--limit", type=int, default=100)
    parser.add_argument("--data", type=Path, default=REPO / "data")
    args = parser.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for name in DATA_FILES:
            for size in [None, *args.sizes]:
                row = {"data": name, "size": size, **score(args.model, size, args.data / name, args.limit, folder)}
                print(json.dumps(row), flush=True)
                rows.append(row)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"model": args.model, "limit": args.limit, "rows": rows}, indent=2) + "\n")
    TABLE.write_text(table(rows, args.model, args.limit))
    print(TABLE.read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
