"""Synthetic sketches of photos: the inputs that sketch-inversion models learn to colorize.

Two styles, both single-channel uint8 with 255 = paper white:

- `pencil_sketch`: the pencil sketch of the sketch-inversion paper (Joy & Singh 2017):
  gray -> negative -> Gaussian blur -> colour-dodge blend of the gray image with the blurred
  negative. Flat areas become white and edges keep their gray-level shading.
- `line_sketch`: an XDoG line drawing (Winnemoeller et al. 2012): a soft-thresholded
  difference of Gaussians that keeps only dark strokes, like the papers' "line sketch" inputs.
"""

import numbers

import cv2
import numpy as np

from data_prep.common import map_folder
from keras_colorize.images import read_rgb


def to_gray(image):
    """uint8 RGB (H, W, 3) or gray (H, W) -> gray (H, W), OpenCV's Rec. 601 luma."""
    image = np.asarray(image, dtype=np.uint8)
    return image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)


def check_kernel_size(kernel_size):
    """`kernel_size` if it can be a Gaussian kernel's side (odd and positive); else ValueError."""
    if not isinstance(kernel_size, numbers.Integral) or kernel_size < 1 or kernel_size % 2 == 0:
        raise ValueError(f"the kernel size must be an odd whole number >= 1, not {kernel_size!r}")
    return kernel_size


def pencil_sketch(image, kernel_size=21, sigma=0.0):
    """Colour-dodge pencil sketch; `sigma` 0 lets OpenCV derive it from `kernel_size` (odd)."""
    check_kernel_size(kernel_size)
    gray = to_gray(image)
    blurred_negative = cv2.GaussianBlur(255 - gray, (kernel_size, kernel_size), sigma)
    # Colour dodge: gray / (1 - blurred negative), saturating at white. The divisor is kept
    # >= 1 because cv2.divide turns x / 0 into black where the dodge gives white.
    return cv2.divide(gray, np.maximum(255 - blurred_negative, 1).astype(np.uint8), scale=256)


def pencil_sketch_at(image, size, **params):
    """The pencil sketch of `image` drawn as a model of input `size` saw its training sketches:
    `data_prep build` shrinks a photo to the stored size before sketching it, and the sketch's
    fixed 21 px blur makes thinner strokes on a larger photo, which vanish when shrunk. The
    photo is shrunk to size x size (`cv2.INTER_AREA`, as build does), sketched, and the sketch
    enlarged back to the image's size. `size` None: sketched at the image's own size."""
    if size is None:
        return pencil_sketch(image, **params)
    height, width = np.shape(image)[:2]
    shrunk = cv2.resize(np.asarray(image, np.uint8), (size, size), interpolation=cv2.INTER_AREA)
    return cv2.resize(pencil_sketch(shrunk, **params), (width, height), interpolation=cv2.INTER_CUBIC)


def line_sketch(image, sigma=0.8, k=1.6, gamma=1.0, phi=100.0, epsilon=-0.01):
    """XDoG line drawing: dark strokes where the difference of Gaussians drops below `epsilon`.

    `sigma` sets the stroke scale, `k` the ratio of the two Gaussians, `gamma` how much of the
    wider one is subtracted (below 1 also darkens dark regions), `epsilon` the edge strength
    (in gray levels / 255) where strokes start and `phi` how sharply they fade in.
    """
    gray = to_gray(image).astype(np.float32) / 255.0
    fine = cv2.GaussianBlur(gray, (0, 0), sigma)
    coarse = cv2.GaussianBlur(gray, (0, 0), sigma * k)
    difference = fine - gamma * coarse
    strokes = np.where(difference >= epsilon, 1.0, 1.0 + np.tanh(phi * (difference - epsilon)))
    return np.round(np.clip(strokes, 0.0, 1.0) * 255.0).astype(np.uint8)


SKETCH_STYLES = {"pencil": pencil_sketch, "line": line_sketch}


def make_sketch(image, style="pencil", **params):
    """The `style` sketch ("pencil" or "line") of an RGB or gray uint8 image."""
    if style not in SKETCH_STYLES:
        raise ValueError(f"unknown sketch style {style!r}; choose from {sorted(SKETCH_STYLES)}")
    return SKETCH_STYLES[style](image, **params)


def sketch_folder(source, out, style="pencil", verbose=True, **params):
    """Sketch every image under `source` into `out` (same relative names, .png).

    Returns the summary.
    """
    # A one-pixel sketch first, so bad parameters fail before the output folder is created.
    make_sketch(np.zeros((1, 1), np.uint8), style, **params)
    tally = map_folder(
        source,
        out,
        lambda path: {"": make_sketch(read_rgb(path), style, **params)},
        label=f"{style} sketches of {source}",
        verbose=verbose,
    )
    return tally.finish(f"{style} sketches", output=str(out))
