"""Synthetic sketches of photos: the inputs that sketch-inversion models learn to colorize.

Every style returns a single-channel uint8 image with 255 = paper white:

- `pencil_sketch`: the pencil sketch of the sketch-inversion paper (Joy & Singh 2017):
  gray -> negative -> Gaussian blur -> colour-dodge blend of the gray image with the blurred
  negative. Flat areas become white and edges keep their gray-level shading; the blur size
  sets how wide the shaded strokes are.
- `line_sketch`: an XDoG line drawing (Winnemoeller et al. 2012): a soft-thresholded
  difference of Gaussians that keeps only dark strokes, like the papers' "line sketch" inputs.
- `contour_sketch`: XDoG contours over a light tonal shading of the face, as artists shade
  cheeks, hair and shadows with the side of the pencil.
- `random_sketch`: one of the three, with parameters drawn at random, then a random stroke
  contrast and gamma and, half the time, a sheet of paper (an off-white tone with grain).
  A model trained on many such styles cannot learn one artist's hand (issue 27: models trained
  on one style turned other artists' sketches into smeared faces).

`random_sketch`'s ranges suit faces of about 100-128 px, the size the sketch models train at.
The library draws sketches here (training pipelines, evaluation, the apps); `data_prep.sketch`
builds its folder command on it.
"""

import numbers

import cv2
import numpy as np

# Blur sizes of the random pencil style, in px: 21 is the paper's at 100 px; 7 gives fine
# strokes, 31 broad shading.
PENCIL_KERNEL_SIZES = (7, 11, 15, 21, 25, 31)
PAPER_TONE_RANGE = (0.82, 1.0)  # paper's share of white: scanned sheets are rarely pure white
PAPER_PROBABILITY = 0.5


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


def _xdog(gray_unit, sigma, k, gamma, phi, epsilon):
    """XDoG of a gray image in [0, 1] -> strokes in [0, 1] (float, 1 = paper)."""
    fine = cv2.GaussianBlur(gray_unit, (0, 0), sigma)
    coarse = cv2.GaussianBlur(gray_unit, (0, 0), sigma * k)
    difference = fine - gamma * coarse
    strokes = np.where(difference >= epsilon, 1.0, 1.0 + np.tanh(phi * (difference - epsilon)))
    return np.clip(strokes, 0.0, 1.0)


def _to_uint8(unit):
    return np.round(np.clip(unit, 0.0, 1.0) * 255.0).astype(np.uint8)


def _unit_gray(image):
    return to_gray(image).astype(np.float32) / 255.0


def line_sketch(image, sigma=0.8, k=1.6, gamma=1.0, phi=100.0, epsilon=-0.01):
    """XDoG line drawing: dark strokes where the difference of Gaussians drops below `epsilon`.

    `sigma` sets the stroke scale, `k` the ratio of the two Gaussians, `gamma` how much of the
    wider one is subtracted (below 1 also darkens dark regions), `epsilon` the edge strength
    (in gray levels / 255) where strokes start and `phi` how sharply they fade in.
    """
    return _to_uint8(_xdog(_unit_gray(image), sigma, k, gamma, phi, epsilon))


def contour_sketch(image, sigma=0.9, shading=0.4, shading_blur=2.0, epsilon=-0.01, phi=100.0,
                   hatching=0.0, hatch_angle=45.0, seed=0):
    """XDoG contours (`sigma`, `epsilon`, `phi` as in `line_sketch`) times a light shading: the
    photo's gray, blurred by `shading_blur` px, darkening the paper by up to `shading` (0: none,
    1: the blurred photo's full tone) where the photo is dark. `hatching` (0: smooth) breaks the
    shading into parallel strokes at `hatch_angle` degrees, from noise seeded by `seed`."""
    gray = _unit_gray(image)
    contours = _xdog(gray, sigma, 1.6, 1.0, phi, epsilon)
    darkness = shading * (1.0 - cv2.GaussianBlur(gray, (0, 0), shading_blur))
    if hatching:
        darkness *= np.clip(1.0 + hatching * _hatch_strokes(gray.shape, hatch_angle, seed), 0.0, 2.0)
    return _to_uint8(contours * (1.0 - darkness))


def _hatch_strokes(shape, angle, seed, length=9):
    """Noise smeared along `angle` degrees into streaks, with unit standard deviation."""
    noise = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
    kernel = np.zeros((length, length), np.float32)
    kernel[length // 2] = 1.0 / length
    rotation = cv2.getRotationMatrix2D(((length - 1) / 2, (length - 1) / 2), angle, 1.0)
    streaks = cv2.filter2D(noise, -1, cv2.warpAffine(kernel, rotation, (length, length)))
    return streaks / max(float(streaks.std()), 1e-6)


def adjust_tone(sketch, contrast=1.0, gamma=1.0):
    """A uint8 sketch with its strokes `contrast` times as dark (paper white stays white), then
    raised to `gamma` (above 1 darkens the grays between paper and black, below 1 lightens)."""
    unit = sketch.astype(np.float32) / 255.0
    return _to_uint8(np.clip(1.0 - contrast * (1.0 - unit), 0.0, 1.0) ** gamma)


def on_paper(sketch, rng, tone=None, grain=None):
    """A uint8 sketch drawn on a sheet of paper: multiplied by the paper's `tone` (its share of
    white) and by a smooth grain of relative strength `grain`; each drawn from `rng` if None."""
    tone = rng.uniform(*PAPER_TONE_RANGE) if tone is None else tone
    grain = rng.uniform(0.0, 0.04) if grain is None else grain
    noise = rng.standard_normal(sketch.shape).astype(np.float32)
    texture = 1.0 + grain * cv2.GaussianBlur(noise, (0, 0), rng.uniform(0.6, 1.5))
    return _to_uint8(sketch.astype(np.float32) / 255.0 * tone * texture)


def _random_style(rng):
    """(style function, its parameters) drawn from `rng`."""
    style = rng.choice(["pencil", "line", "contour"])
    if style == "pencil":
        return pencil_sketch, {"kernel_size": int(rng.choice(PENCIL_KERNEL_SIZES))}
    if style == "line":
        return line_sketch, {
            "sigma": rng.uniform(0.4, 1.0),
            "gamma": rng.uniform(0.97, 1.0),
            "phi": rng.uniform(20.0, 200.0),
            "epsilon": rng.uniform(-0.02, 0.0),
        }
    return contour_sketch, {
        "sigma": rng.uniform(0.5, 1.0),
        "shading": rng.uniform(0.15, 0.5),
        "shading_blur": rng.uniform(1.0, 2.5),
        "epsilon": rng.uniform(-0.02, 0.0),
        "hatching": rng.uniform(0.0, 0.7),
        "hatch_angle": rng.uniform(20.0, 70.0),
        "seed": int(rng.integers(2**31)),
    }


def random_sketch(image, seed=None):
    """A sketch in a style drawn at random: pencil (blur 7-31 px), line (XDoG, stroke scale
    0.4-1 px, threshold 0-0.02, sometimes thickened by 1 px) or contour + shading (smooth or
    hatched); then its strokes' contrast (x0.8-1.2) and gamma (1/1.5-1.5) and, half the time,
    paper tone and grain.

    `seed`: an int, a sequence of ints or a `numpy.random.Generator`; the same seed draws the
    same sketch.
    """
    rng = np.random.default_rng(seed)
    style, params = _random_style(rng)
    sketch = style(image, **params)
    if style is line_sketch and rng.random() < 0.3:  # thicker strokes: a softer, broader pencil
        sketch = cv2.erode(sketch, np.ones((2, 2), np.uint8))
    sketch = adjust_tone(sketch, rng.uniform(0.8, 1.2), np.exp(rng.uniform(-1.0, 1.0) * np.log(1.5)))
    return on_paper(sketch, rng) if rng.random() < PAPER_PROBABILITY else sketch


# Styles that draw the same sketch every time (what `data_prep build` stores); "random" draws anew.
SKETCH_STYLES = {"pencil": pencil_sketch, "line": line_sketch, "contour": contour_sketch}
RANDOM_STYLE = "random"


def style_names():
    """Every style `make_sketch` takes, sorted."""
    return sorted([*SKETCH_STYLES, RANDOM_STYLE])


def make_sketch(image, style="pencil", **params):
    """The `style` sketch of an RGB or gray uint8 image ("random" takes a `seed`)."""
    if style == RANDOM_STYLE:
        return random_sketch(image, **params)
    if style not in SKETCH_STYLES:
        raise ValueError(f"unknown sketch style {style!r}; choose from {style_names()}")
    return SKETCH_STYLES[style](image, **params)
