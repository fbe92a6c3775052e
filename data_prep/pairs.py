"""`python -m data_prep pairs`: split a folder of side-by-side (sketch | photo) images, the
pix2pix format, into `sketches/` and `photos/` (the split itself: `keras_colorize.datasets`).
"""

from data_prep.common import map_folder
from keras_colorize.datasets import split_pair
from keras_colorize.images import read_rgb
from keras_colorize.sketches import to_gray


def split_pairs_folder(source, out, sketch_side="left", verbose=True):
    """Split every image under `source` into `out/sketches/NAME.png` (gray) and
    `out/photos/NAME.png`: the photo/sketch folder layout that `build` reads as drawn pairs.
    Returns the summary.
    """

    def split(path):
        sketch, photo = split_pair(read_rgb(path), sketch_side, path)
        return {"sketches": to_gray(sketch), "photos": photo}

    tally = map_folder(source, out, split, label=f"splitting pairs in {source}", verbose=verbose)
    return tally.finish("split pairs", output=str(out))
