"""Checks that find the images a colour dataset should not contain (`data_prep clean` and
`build` run them; evaluation skips gray ground truths with `is_grayscale`).

`ImageChecker` holds the checks; each failure is an `ImageError` whose `reason` is one of:

| reason                 | the file                                                      |
|------------------------|---------------------------------------------------------------|
| missing / empty        | does not exist / has zero bytes                               |
| not_an_image           | is not in a format Pillow reads                               |
| truncated_or_corrupt   | starts like an image but does not decode completely           |
| too_large              | has more pixels than Pillow's decompression-bomb limit        |
| cmyk / 16_bit / alpha  | is CMYK, has 16 bits per channel, or has transparency         |
| unsupported_mode       | is in another mode without a faithful RGB reading (e.g. float)|
| too_small              | has a side below `min_size`                                   |
| constant               | is (nearly) one flat colour, e.g. all black or all white      |
| grayscale              | has R ~ G ~ B everywhere: no colour to learn from             |
| duplicate              | decodes to the same pixels as a file seen before              |
"""

import dataclasses
import hashlib

import cv2
import numpy as np
from PIL import Image

from keras_colorize.images import SIXTEEN_BIT_MODES, ImageError, open_image, to_rgb_array

ALPHA_MODES = ("RGBA", "RGBa", "LA", "La", "PA")
READABLE_MODES = ("RGB", "L", "1", "P")


def _stored_bits_per_channel(path):
    """16 for files stored with 16-bit channels, else 8.

    Pillow decodes 16-bit RGB PNG and TIFF silently to 8-bit "RGB", so only the decoder's raw
    mode in the (not yet decoded) file header tells.
    """
    with Image.open(path) as header:
        # The decoder arguments start with the raw mode, e.g. "RGB;16B".
        return 16 if any(";16" in str(tile.args) for tile in header.tile) else 8


def _mode_problem(image, path):
    """(reason, detail) when a decoded image has no faithful 8-bit RGB reading, else None."""
    mode = image.mode
    if mode == "CMYK":
        return "cmyk", "CMYK colours"
    if mode in SIXTEEN_BIT_MODES or _stored_bits_per_channel(path) == 16:
        return "16_bit", f"16 bits per channel (mode {mode})"
    if mode in ALPHA_MODES or (mode == "P" and "transparency" in image.info):
        return "alpha", f"transparency (mode {mode})"
    if mode not in READABLE_MODES:
        return "unsupported_mode", f"mode {mode}"
    return None


def is_grayscale(rgb, tolerance=3, allowed_fraction=0.01):
    """True when R, G and B differ by at most `tolerance` levels in all but `allowed_fraction`
    of the pixels (the fraction forgives JPEG colour noise; tinted sepia still counts as colour)."""
    red, green, blue = cv2.split(rgb)
    spread = cv2.max(cv2.max(red, green), blue) - cv2.min(cv2.min(red, green), blue)
    return np.count_nonzero(spread > tolerance) <= allowed_fraction * spread.size


def is_near_constant(rgb, max_std=2.0):
    """True when the image is one flat colour up to noise (std of every channel <= `max_std`)."""
    _, std = cv2.meanStdDev(rgb)
    return bool(np.all(std <= max_std))


def pixel_digest(rgb):
    return hashlib.blake2b(rgb.tobytes() + str(rgb.shape).encode(), digest_size=16).hexdigest()


@dataclasses.dataclass
class ImageChecker:
    """The checks of `data_prep clean`, split so callers can check a part of a decoded file (`build`
    checks the photo half of side-by-side pairs). `check(path)` runs them all and returns the
    image as uint8 RGB; failures raise `ImageError`. Remembers what it has seen, to find
    duplicates.
    """

    min_size: int = 32
    allow_gray: bool = False
    gray_tolerance: int = 3
    constant_std: float = 2.0
    _seen: dict = dataclasses.field(default_factory=dict, init=False, repr=False)

    def decode(self, path):
        """Read `path` as uint8 RGB, rejecting unreadable files and unsupported modes."""
        image = open_image(path)
        problem = _mode_problem(image, path)
        if problem:
            raise ImageError(path, *problem)
        return to_rgb_array(image, path)

    def check_content(self, rgb, path):
        """Reject too small, flat, gray (unless `allow_gray`) and already seen images."""
        height, width = rgb.shape[:2]
        if min(height, width) < self.min_size:
            raise ImageError(path, "too_small", f"{width}x{height} < {self.min_size}")
        if is_near_constant(rgb, self.constant_std):
            colour = np.round(rgb.reshape(-1, 3).mean(axis=0)).astype(int).tolist()
            raise ImageError(path, "constant", f"one flat colour, about RGB {colour}")
        if not self.allow_gray and is_grayscale(rgb, self.gray_tolerance):
            raise ImageError(path, "grayscale", f"R, G, B within {self.gray_tolerance} levels")
        first = self._seen.setdefault(pixel_digest(rgb), str(path))
        if first != str(path):
            raise ImageError(path, "duplicate", f"same pixels as {first}")

    def check(self, path):
        rgb = self.decode(path)
        self.check_content(rgb, path)
        return rgb
