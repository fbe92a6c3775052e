"""Sketch a folder of photos (`python -m data_prep sketch`), in any style of
`keras_colorize.sketches` (pencil, line, contour, random), where the styles themselves live:
the training pipeline and the apps draw sketches too.
"""

import zlib

import numpy as np

from data_prep.common import map_folder
from keras_colorize.images import read_rgb
from keras_colorize.sketches import (  # noqa: F401  re-exported: data_prep's sketch API
    RANDOM_STYLE,
    SKETCH_STYLES,
    check_kernel_size,
    contour_sketch,
    line_sketch,
    make_sketch,
    pencil_sketch,
    pencil_sketch_at,
    random_sketch,
    style_names,
    to_gray,
)


def _file_seed(seed, source, path):
    """The random style's seed for one file: from `seed` and the file's path under `source`, so
    a file gets the same sketch whatever else the folder holds."""
    return [seed, zlib.crc32(path.relative_to(source).as_posix().encode())]


def sketch_folder(source, out, style="pencil", verbose=True, seed=0, **params):
    """Sketch every image under `source` into `out` (same relative names, .png).

    `seed` seeds the "random" style (ignored by the others). Returns the summary.
    """
    # A one-pixel sketch first, so bad parameters fail before the output folder is created.
    make_sketch(np.zeros((1, 1), np.uint8), style, **params)

    def sketch(path):
        seeded = {"seed": _file_seed(seed, source, path)} if style == RANDOM_STYLE else {}
        return {"": make_sketch(read_rgb(path), style, **params, **seeded)}

    tally = map_folder(source, out, sketch, label=f"{style} sketches of {source}", verbose=verbose)
    return tally.finish(f"{style} sketches", output=str(out))
