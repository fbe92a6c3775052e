"""How a hint model's colours improve with hints: PSNR against the number of hints revealed from
the ground truth, and how often the output keeps a hint's colour.

Zhang et al. 2017 (SIGGRAPH), sec. 4.1 and fig. 4: points of the ground truth are revealed to the
network and PSNR is plotted against their number. Here the points are drawn as in training
(`hints.simulated`: centres around the image centre, patches of 1 to 9 px at the model's input
size), with one seed per batch so that every model and count sees the same draws, and PSNR is
taken on the full-size output, as `evaluate.py` scores the automatic models. A hint counts as
kept when the predicted ab at its centre lies within `KEPT_WITHIN` ab units of the hint's.
"""

import csv
import itertools

import numpy as np
import tensorflow as tf

from keras_colorize import color, evaluation, hints, inference, metrics, plotting
from keras_colorize.errors import EvaluationError
from keras_colorize.image_checks import is_grayscale

HINT_COUNTS = (0, 1, 2, 5, 10, 20, 50, 100)  # sec. 4.1's axis
KEPT_WITHIN = 10.0  # ab units: a just noticeable colour difference is about 2.3; 10 is clearly the hint's colour
OUTPUT_FILES = ("hint_curve.csv", "hint_curve.png")


def hint_curve(colorizer, dataset, out_dir, counts=HINT_COUNTS, *, batch_size=16, limit=None, overwrite=False, seed=0):
    """Score `colorizer` (a hint model) on `dataset` (`evaluation.open_data`) at each hint count;
    writes hint_curve.csv and hint_curve.png into `out_dir` and returns the rows
    ({"hints", "psnr", "psnr_std", "kept", "images"})."""
    if not colorizer.takes_hints or colorizer.network is None:
        raise EvaluationError(f"{colorizer.source}: model {colorizer.name!r} takes no colour hints")
    out_dir = evaluation.output_folder(out_dir, overwrite, dataset.path, OUTPUT_FILES)
    psnrs = {count: [] for count in counts}
    kept = {count: [] for count in counts}
    for index, batch in enumerate(_truth_batches(dataset, batch_size, limit)):
        for count in counts:
            batch_psnr, batch_kept = _score(colorizer, batch, count, tf.constant([seed, index]))
            psnrs[count].extend(batch_psnr)
            kept[count].extend(batch_kept)
    if not psnrs[counts[0]]:
        raise EvaluationError(f"{dataset.path}: no colour images to score")
    rows = [
        {
            "hints": count,
            "psnr": float(np.mean(psnrs[count])),
            "psnr_std": float(np.std(psnrs[count])),
            "kept": float(np.mean(kept[count])) if kept[count] else float("nan"),
            "images": len(psnrs[count]),
        }
        for count in counts
    ]
    _write(out_dir, rows, f"{colorizer.name} on {dataset.path.name} ({dataset.split or 'all'})")
    return rows


def _truth_batches(dataset, batch_size, limit):
    """uint8 RGB ground truths (N, H, W, 3) of one size each; unreadable and gray ones left out."""
    usable = (
        sample
        for sample in dataset.read(with_sketches=False)
        if not isinstance(sample, Exception) and not is_grayscale(sample.truth)
    )
    for batch in evaluation.batches(itertools.islice(usable, limit), batch_size):
        yield np.stack([sample.truth for sample in batch])


def _score(colorizer, truth, count, seed):
    """(PSNR per image, kept or not per hint) with `count` hints revealed in each image."""
    network = colorizer.network
    size = inference.model_size(network.inputs[0].shape[1:3], truth, colorizer.rendering)
    full_inputs, model_inputs = inference.prepared(truth, colorizer.element_format, size)
    true_ab = color.split_lab(color.rgb_to_lab(inference.resize(inference.to_float_rgb(truth), size)))[1]
    hint_map, centres, in_use = hints.simulated(true_ab, seed, count=count)
    ab = network([model_inputs, hint_map], training=False)
    rgb = inference.finished(colorizer.element_format, full_inputs, ab)
    hint_ab, _ = hints.decode(hint_map)
    batch_index = tf.broadcast_to(tf.range(tf.shape(centres)[0])[:, tf.newaxis], tf.shape(centres)[:2])
    at_centres = tf.concat([batch_index[..., tf.newaxis], centres], axis=-1)
    distance = tf.norm(tf.gather_nd(ab, at_centres) - tf.gather_nd(hint_ab, at_centres), axis=-1)
    kept = tf.boolean_mask(distance <= KEPT_WITHIN, in_use)
    return metrics.psnr(truth, rgb).numpy().tolist(), kept.numpy().tolist()


def _write(out_dir, rows, title):
    out_dir.mkdir(parents=True, exist_ok=True)
    with open(out_dir / "hint_curve.csv", "w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    plotting.line_plot(
        [row["hints"] for row in rows], [row["psnr"] for row in rows], out_dir / "hint_curve.png",
        title=title, x_label="hints revealed", y_label="PSNR (dB)", log_x=True,
    )


def format_table(rows):
    """The rows as a text table."""
    lines = ["hints  PSNR (dB)       kept (within 10 ab)  images", "-----  --------------  -------------------  ------"]
    for row in rows:
        kept = "" if np.isnan(row["kept"]) else f"{row['kept']:.1%}"
        lines.append(f"{row['hints']:>5}  {row['psnr']:.2f} ± {row['psnr_std']:.2f}  {kept:>19}  {row['images']:>6}")
    return "\n".join(lines)
