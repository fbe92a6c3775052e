"""`python -m data_prep demo`: prepare the built-in sample photos as a dataset and show what a
model sees. (`make demo` runs the colorizing demo, `keras_colorize.demo`, instead.)

Writes into a new or empty output folder, or with `overwrite` replaces its own files there:
`samples/*.png` (the photos), `samples.h5` (the prepared dataset, pencil sketches) and
`pairs.png` (per image: photo, gray input, pencil sketch, line sketch).
"""

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from data_prep.common import new_output_folder
from keras_colorize import hdf5
from keras_colorize.datasets import build_dataset
from keras_colorize.inference import gray_version
from keras_colorize.samples import write_sample_folder
from keras_colorize.sketches import line_sketch

GRID_COLUMNS = ("photo", "gray", "pencil sketch", "line sketch")


def read_pairs(dataset_path):
    """(photos (n, N, N, 3), pencil sketches (n, N, N), names) of every split of a dataset file."""
    splits = [hdf5.open_split(dataset_path, split) for split in hdf5.SPLITS]
    rows = [row for split in splits for row in split.rows()]
    names = [str(name) for split in splits for name in split.source_names()]
    return np.stack([row["rgb"] for row in rows]), np.stack([row["sketch"] for row in rows]), names


def plot_pairs(photos, sketches, names, path):
    """A PNG grid, one row per image: photo, gray, pencil sketch, line sketch."""
    grays = gray_version(photos)
    figure = Figure(figsize=(2.2 * len(GRID_COLUMNS), 2.2 * len(photos)))
    axes = figure.subplots(len(photos), len(GRID_COLUMNS), squeeze=False)
    for row, (photo, gray, sketch, name) in enumerate(zip(photos, grays, sketches, names)):
        panels = (photo, gray, sketch, line_sketch(photo))
        for column, (axis, panel) in enumerate(zip(axes[row], panels)):
            axis.imshow(panel, cmap="gray", vmin=0, vmax=255)
            axis.set_axis_off()
            axis.set_title(GRID_COLUMNS[column] if row == 0 else "", fontsize=9)
        axes[row][0].text(-8, photo.shape[0] / 2, Path(name).stem, rotation=90,
                          ha="right", va="center", fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=80)
    return Path(path)


def run_demo(out, size=256, overwrite=False, verbose=True):
    """Write the samples, build their dataset and plot it; returns the paths written.

    `out` must be new or empty unless `overwrite`, which replaces the demo's files there.
    """
    out = new_output_folder(
        out, overwrite, remedy="choose another, or pass --overwrite to replace the demo's files"
    )
    samples = out / "samples"
    write_sample_folder(samples, overwrite=overwrite)
    dataset = out / "samples.h5"
    build_dataset([samples], dataset, size, sketch="pencil", overwrite=overwrite, verbose=verbose)
    grid = plot_pairs(*read_pairs(dataset), out / "pairs.png")
    paths = {"photos": samples, "dataset": dataset, "grid": grid}
    if verbose:
        for what, path in paths.items():
            print(f"{what}: {path}")
    return paths
