"""Image grids saved as files: the training triplets, evaluation samples, the demo's results.

Figures are drawn with Matplotlib's object API (`matplotlib.figure.Figure`), which renders
without pyplot, a GUI backend or any global state.
"""

from pathlib import Path

from matplotlib.figure import Figure

TRIPLET_COLUMNS = ("input", "ground truth", "prediction")


def image_grid(rows, path, title="", titles=None, metadata=None):
    """Save a grid of image rows (each a sequence of uint8 RGB images) as a PNG (or a JPEG,
    when `path` ends in .jpg).

    `titles` label the columns; by default three columns are input / ground truth / prediction.
    `metadata` adds PNG text fields, e.g. {"Software": ...} to tell the file's writer later.
    """
    rows = [list(row) for row in rows]
    columns = len(rows[0])
    figure = Figure(figsize=(2.2 * columns, 2.2 * len(rows)))
    axes = figure.subplots(len(rows), columns, squeeze=False)
    for row_axes, row in zip(axes, rows):
        for axis, image in zip(row_axes, row):
            axis.imshow(image)
            axis.set_xticks([])
            axis.set_yticks([])
    if titles is None:
        titles = TRIPLET_COLUMNS if columns == 3 else ()
    for axis, label in zip(axes[0], titles):
        axis.set_title(label, fontsize=9)
    if title:
        figure.suptitle(title, fontsize=10)
    # Keep a strip at the top for the title, clear of the column labels.
    figure.tight_layout(rect=(0, 0, 1, 1 - 0.3 / figure.get_figheight() if title else 1))
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=80, metadata=metadata)
    return Path(path)


def line_plot(x, y, path, title="", x_label="", y_label="", log_x=False):
    """Save one line of points as a PNG; `log_x` spaces x logarithmically, 0 included."""
    figure = Figure(figsize=(5, 3.5))
    axis = figure.subplots()
    axis.plot(x, y, marker="o")
    if log_x:
        axis.set_xscale("symlog", linthresh=1)
        axis.set_xticks(x, [str(value) for value in x])
    axis.set(title=title, xlabel=x_label, ylabel=y_label)
    axis.grid(alpha=0.3)
    figure.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    return Path(path)
