"""Choose the annealed-mean temperature of a trained ab-bin model on validation splits.

    python scripts/choose_temperature.py runs/ship/mobilenet_unet \\
        --data data/general256_train.h5 data/lfw128.h5 --out runs/ship/temperature

The annealed mean (Zhang et al. 2016) trades vividness (low T, towards the mode) against PSNR
(T = 1, the mean). Each temperature is scored on the `val` split of every --data file (PSNR,
SSIM, colourfulness and the Frechet distance in MobileNet features); the one with the lowest
mean Frechet distance, the distance of the colours' distribution from the truth's, is chosen
and printed, for `scripts/ship_model.py --temperature`. Test splits are never read.
"""

import argparse
import json
import sys
from pathlib import Path

import keras

from keras_colorize import Colorizer, evaluation, runs
from keras_colorize.models.mobilenet_unet import annealed_head

METRICS = ["psnr", "ssim", "colorfulness", "fid_mobilenet"]
TEMPERATURES = [0.2, 0.3, 0.38, 0.5, 0.7, 1.0]


def score(model, name, data_paths, temperature, out, limit):
    """{data file name: summary} of `model` decoded at `temperature` on each val split."""
    annealed_head(model).temperature = temperature
    colorizer = Colorizer.from_model(model, name)
    summaries = {}
    for path in data_paths:
        dataset = evaluation.open_data(path, "val")
        summaries[path.name] = evaluation.evaluate(
            colorizer, dataset, METRICS, out / f"T{temperature:g}" / path.stem, samples=0,
            limit=limit, overwrite=True, verbose=False,
        )
    return summaries


def mean_frechet(summaries):
    return sum(s["results"]["model"]["fid_mobilenet"]["value"] for s in summaries.values()) / len(summaries)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", type=Path, help="a run folder from train.py")
    parser.add_argument("--checkpoint", default="best.keras")
    parser.add_argument("--data", type=Path, nargs="+", required=True, help="HDF5 files with a val split")
    parser.add_argument("--temperatures", type=float, nargs="+", default=TEMPERATURES)
    parser.add_argument("--limit", type=int, default=400, help="images read from each val split")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    try:
        name = runs.read(args.run)["model"]
        model = keras.saving.load_model(args.run / args.checkpoint, compile=False)
        results = {t: score(model, name, args.data, t, args.out, args.limit) for t in args.temperatures}
    except (OSError, ValueError, runs.RunRecordError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    rows = []
    for temperature, summaries in results.items():
        for data_name, summary in summaries.items():
            model_row, truth_gap = summary["results"]["model"], summary["results"]["model"]["colorfulness_diff"]
            rows.append({
                "temperature": temperature, "data": data_name,
                "psnr": model_row["psnr"]["mean"], "ssim": model_row["ssim"]["mean"],
                "colorfulness": model_row["colorfulness"]["mean"],
                "colorfulness_vs_truth": truth_gap["mean"] / (model_row["colorfulness"]["mean"] - truth_gap["mean"]),
                "fid_mobilenet": model_row["fid_mobilenet"]["value"],
                "gray_psnr": summary["results"]["gray"]["psnr"]["mean"],
            })
    chosen = min(results, key=lambda t: mean_frechet(results[t]))
    print(f"{'T':>5} {'data':<22} {'PSNR':>6} {'gray':>6} {'SSIM':>7} {'colour':>7} {'vs truth':>8} {'FID':>7}")
    for row in rows:
        print(f"{row['temperature']:>5g} {row['data']:<22} {row['psnr']:6.2f} {row['gray_psnr']:6.2f} "
              f"{row['ssim']:7.4f} {row['colorfulness']:7.2f} {row['colorfulness_vs_truth']:+8.0%} "
              f"{row['fid_mobilenet']:7.2f}")
    print(f"chosen temperature (lowest mean Frechet distance on the val splits): {chosen:g}")
    (args.out / "temperatures.json").write_text(json.dumps({"rows": rows, "chosen": chosen}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
