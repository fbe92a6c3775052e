"""Side-by-side (sketch | photo) images, the pix2pix format, split into their two halves.

Which half holds the sketch differs between datasets (edges2shoes: left; the anime pairs the
pix2pix paper used: right), so it is always a parameter.
"""

from data_prep.common import map_folder
from data_prep.sketch import to_gray
from keras_colorize.images import ImageError, read_rgb

SKETCH_SIDES = ("left", "right")


def split_pair(image, sketch_side="left", path="<array>"):
    """(H, 2H, C) side-by-side image -> (sketch half, photo half), each (H, H, C).

    The pix2pix datasets' halves are square; anything else (a photo that slipped into the
    folder) is refused as `not_side_by_side` rather than cut into two half-photos.
    """
    if sketch_side not in SKETCH_SIDES:
        raise ValueError(f"sketch_side must be one of {SKETCH_SIDES}, not {sketch_side!r}")
    height, width = image.shape[:2]
    if width != 2 * height:
        detail = f"{width}x{height}: not two squares side by side ({2 * height}x{height})"
        raise ImageError(path, "not_side_by_side", detail)
    left, right = image[:, :height], image[:, height:]
    return (left, right) if sketch_side == "left" else (right, left)


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
