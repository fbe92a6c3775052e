"""`python -m data_prep clean`: find the images a colour dataset should not contain (the checks:
`keras_colorize.image_checks`), without touching the source; and `min_max_scale`, the per-image
normalization of the transfer-learning paper (You et al.).
"""

from pathlib import Path

import numpy as np

from data_prep.common import prepare_output_folder
from keras_colorize.files import written_atomically
from keras_colorize.image_checks import ImageChecker
from keras_colorize.images import ImageError
from keras_colorize.progress import Tally


def min_max_scale(image):
    """Scale one image to [0, 1] by its own minimum and maximum (You et al.); float32.

    A constant image has no range to stretch and becomes all zeros.
    """
    image = np.asarray(image, dtype=np.float32)
    low, high = image.min(), image.max()
    return (image - low) / (high - low) if high > low else np.zeros_like(image)


def write_rejects(path, rejects):
    """A TSV report of rejected files: path, reason, detail."""
    lines = ["path\treason\tdetail"]
    lines += [f"{e.path}\t{e.reason}\t{' '.join(e.detail.split())}" for e in rejects]
    with written_atomically(path) as temporary:
        temporary.write_text("\n".join(lines) + "\n", encoding="utf-8")


def clean_folder(source, out, checker=None, verbose=True):
    """Check every file under `source`, whatever its suffix, and write `out/kept.txt` (one path
    a line) and `out/rejects.tsv` (path, reason, detail). Nothing under `source` is modified.
    Returns the summary.
    """
    checker = checker or ImageChecker()
    out = prepare_output_folder(out, source)
    paths = sorted(path for path in Path(source).rglob("*") if path.is_file())
    tally = Tally(len(paths), f"checking {source}", verbose)
    kept = []
    for path in paths:
        try:
            checker.check(path)
        except ImageError as error:
            tally.reject(error)
            continue
        kept.append(str(path))
        tally.keep()
    with written_atomically(out / "kept.txt") as temporary:  # never half a list: it failed empty
        temporary.write_text("".join(f"{path}\n" for path in kept), encoding="utf-8")
    write_rejects(out / "rejects.tsv", tally.rejects)
    return tally.finish(f"clean {source}", output=str(out))
