"""Built-in sample photos: real colour photographs that scikit-image ships with its package.

They load without a network connection, so demos and smoke tests always have real images.
"""

from pathlib import Path

import skimage.data

from keras_colorize.images import write_image

# skimage.data loaders whose images are bundled in the wheel (no pooch download).
SAMPLE_NAMES = (
    "astronaut",
    "chelsea",
    "coffee",
    "rocket",
    "immunohistochemistry",
    "hubble_deep_field",
)


def sample_photos():
    """{name: uint8 RGB (H, W, 3)} for the built-in sample photos."""
    return {name: getattr(skimage.data, name)() for name in SAMPLE_NAMES}


def write_sample_folder(folder, overwrite=False):
    """Write the sample photos as `folder/<name>.png`; returns the paths."""
    folder = Path(folder)
    return [
        write_image(folder / f"{name}.png", rgb, overwrite=overwrite)
        for name, rgb in sample_photos().items()
    ]
