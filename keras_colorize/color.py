"""Colour maths shared by every model: sRGB <-> CIELAB, the papers' encodings, ab quantization.

All conversions are TensorFlow ops, so they run inside `tf.data` pipelines and inside models;
they take any leading shape (`(H, W, 3)` or `(N, H, W, 3)`) and return float32.
The formulas are the ones `skimage.color.rgb2lab` / `lab2rgb` use (sRGB companding, D65
white point, 2-degree observer), so results agree with scikit-image to well under 0.5 units.

Encodings (value ranges):

| name              | L            | a, b                 | used by                       |
|-------------------|--------------|----------------------|-------------------------------|
| CIELAB            | [0, 100]     | about [-128, 127]    | everything in between         |
| unit              | L / 100      | (ab + 128) / 255     | LAB U-Net (sigmoid ab output) |
| signed            | -            | ab / 128             | fusion and regression heads   |
| uint8 storage     | round(2.55 L)| round(ab + 128)      | HDF5 files from `data_prep`   |

The uint8 storage round trip loses at most 50/255 = 0.196 L units and 0.5 ab units
(sRGB colours span a in [-86.2, 98.3] and b in [-107.9, 94.5], so nothing is clipped).
"""

import functools

import numpy as np
import tensorflow as tf

# sRGB (D65) -> XYZ, rows X, Y, Z; the same matrix scikit-image uses.
_RGB_TO_XYZ = np.array(
    [
        [0.412453, 0.357580, 0.180423],
        [0.212671, 0.715160, 0.072169],
        [0.019334, 0.119193, 0.950227],
    ]
)
_XYZ_TO_RGB = np.linalg.inv(_RGB_TO_XYZ)
_D65_WHITE = np.array([0.95047, 1.0, 1.08883])
# Where the CIELAB cube root turns linear, and that line's slope, rounded as scikit-image
# rounds them so that the two agree to float precision.
_DELTA = 0.2068966  # 6/29, in f
_EPSILON = 0.008856  # (6/29)^3, the same point in XYZ / white
_LINEAR_SLOPE = 7.787  # 1 / (3 (6/29)^2)

L_MAX = 100.0
AB_OFFSET = 128.0
AB_UNIT_SPAN = 255.0
ANNEALED_MEAN_TEMPERATURE = 0.38  # Zhang et al. 2016: vivid colours without the mode's blotches


def _float32(x):
    return tf.cast(tf.convert_to_tensor(x), tf.float32)


def _apply_matrix(pixels, matrix):
    return tf.tensordot(pixels, tf.constant(matrix.T, tf.float32), axes=1)


def _srgb_to_linear(rgb):
    return tf.where(rgb > 0.04045, tf.pow((rgb + 0.055) / 1.055, 2.4), rgb / 12.92)


def _linear_to_srgb(linear):
    return tf.where(
        linear > 0.0031308,
        1.055 * tf.pow(tf.maximum(linear, 0.0031308), 1.0 / 2.4) - 0.055,
        12.92 * linear,
    )


def _inverse_f(f):
    """Inverse of the CIELAB companding function."""
    return tf.where(f > _DELTA, tf.pow(f, 3.0), (f - 16.0 / 116.0) / _LINEAR_SLOPE)


def rgb_to_lab(rgb):
    """sRGB in [0, 1] (float) -> CIELAB with L in [0, 100]; integer images are refused."""
    xyz = _apply_matrix(_linear_rgb(rgb, "rgb_to_lab"), _RGB_TO_XYZ) / tf.constant(_D65_WHITE, tf.float32)
    fx, fy, fz = tf.unstack(_f(xyz), axis=-1)
    return tf.stack([116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)], axis=-1)


def rgb_to_lightness(rgb):
    """sRGB (..., 3), float in [0, 1] or uint8 -> CIELAB L (..., 1), as `rgb_to_lab` gives it
    (to float rounding), from the luminance alone: a third of the work where only L is
    needed. uint8 levels are linearized by table lookup, half the time of the formula."""
    rgb = tf.convert_to_tensor(rgb)
    if rgb.dtype == tf.uint8:
        linear = tf.gather(tf.constant(_linear_levels()), tf.cast(rgb, tf.int32))
    else:
        linear = _linear_rgb(rgb, "rgb_to_lightness")
    luminance = _apply_matrix(linear, _RGB_TO_XYZ[1:2])  # the white's Y is 1
    return 116.0 * _f(luminance) - 16.0


@functools.lru_cache(maxsize=1)
def _linear_levels():
    """The linear value of each uint8 sRGB level, float32 (256,), as `_srgb_to_linear` gives it."""
    with tf.init_scope():  # eager, also when first needed inside a traced graph
        return _srgb_to_linear(tf.range(256, dtype=tf.float32) / 255.0).numpy()


def _linear_rgb(rgb, caller):
    """Float sRGB -> linear RGB; integer images are refused, as their 0-255 values would come
    back as L in the thousands."""
    rgb = tf.convert_to_tensor(rgb)
    if rgb.dtype.is_integer:
        raise TypeError(
            f"{caller} takes float sRGB in [0, 1], not {rgb.dtype.name}; convert with "
            "tf.image.convert_image_dtype(images, tf.float32) first"
        )
    return _srgb_to_linear(_float32(rgb))


def _f(xyz):
    """The CIELAB companding function of XYZ / white."""
    return tf.where(
        xyz > _EPSILON,
        tf.pow(tf.maximum(xyz, _EPSILON), 1.0 / 3.0),
        _LINEAR_SLOPE * xyz + 16.0 / 116.0,
    )


def lab_to_rgb(lab):
    """CIELAB -> sRGB in [0, 1]; out-of-gamut colours are clipped, as scikit-image does."""
    return tf.clip_by_value(_linear_to_srgb(_lab_to_linear(lab)), 0.0, 1.0)


def lab_to_rgb_uint8(lab):
    """CIELAB -> uint8 sRGB, the companding looked up in a table of `SRGB_TABLE_SIZE` linear
    levels: 2.5x faster than `lab_to_rgb` on whole frames (in XLA), and one level off
    round(255 * lab_to_rgb) for 0.2% of the values, where that lies within 0.025 of a half."""
    index = tf.round(tf.clip_by_value(_lab_to_linear(lab), 0.0, 1.0) * (SRGB_TABLE_SIZE - 1))
    return tf.gather(tf.constant(_srgb_levels()), tf.cast(index, tf.int32))


SRGB_TABLE_SIZE = 1 << 16


@functools.lru_cache(maxsize=1)
def _srgb_levels():
    """uint8 sRGB of `SRGB_TABLE_SIZE` evenly spaced linear values from 0 to 1."""
    with tf.init_scope():  # eager, also when first needed inside a traced graph
        linear = tf.range(SRGB_TABLE_SIZE, dtype=tf.float32) / (SRGB_TABLE_SIZE - 1)
        return tf.cast(tf.round(_linear_to_srgb(linear) * 255.0), tf.uint8).numpy()


def _lab_to_linear(lab):
    """CIELAB -> linear RGB, not clipped."""
    lightness, a, b = tf.unstack(_float32(lab), axis=-1)
    fy = (lightness + 16.0) / 116.0
    f = tf.stack([fy + a / 500.0, fy, tf.maximum(fy - b / 200.0, 0.0)], axis=-1)
    return _apply_matrix(_inverse_f(f) * tf.constant(_D65_WHITE, tf.float32), _XYZ_TO_RGB)


def lightness_to_gray(lightness):
    """L in [0, 100], shape (..., 1) -> the neutral sRGB gray of that lightness, (..., 3).

    Computed through the luminance Y rather than `lab_to_rgb(L, 0, 0)`, whose channels differ by
    up to 4e-5 (as scikit-image's do) because the sRGB matrix's white and the D65 white differ
    in the 4th digit: exactly equal channels, so a gray input stays gray.
    """
    luminance = _inverse_f((_float32(lightness) + 16.0) / 116.0)
    gray = tf.clip_by_value(_linear_to_srgb(luminance), 0.0, 1.0)
    return tf.concat([gray] * 3, axis=-1)


def rgb_to_gray(rgb):
    """The lightness of an sRGB image as neutral sRGB gray: the 'gray' baseline and model input."""
    return lightness_to_gray(rgb_to_lightness(rgb))


def split_lab(lab):
    """(..., 3) LAB -> (L (..., 1), ab (..., 2))."""
    return lab[..., :1], lab[..., 1:]


def join_lab(lightness, ab):
    return tf.concat([_float32(lightness), _float32(ab)], axis=-1)


def l_to_unit(lightness):
    return _float32(lightness) / L_MAX


def l_from_unit(unit):
    return _float32(unit) * L_MAX


def ab_to_unit(ab):
    """ab -> [0, 1], the range of the LAB U-Net's sigmoid output."""
    return (_float32(ab) + AB_OFFSET) / AB_UNIT_SPAN


def ab_from_unit(unit):
    return _float32(unit) * AB_UNIT_SPAN - AB_OFFSET


def ab_to_signed(ab):
    """ab -> about [-1, 1], for tanh heads."""
    return _float32(ab) / AB_OFFSET


def ab_from_signed(signed):
    return _float32(signed) * AB_OFFSET


def lab_to_uint8(lab):
    """CIELAB -> the uint8 storage encoding (see the module docstring)."""
    lab = _float32(lab)
    scaled = tf.concat([lab[..., :1] * (255.0 / L_MAX), lab[..., 1:] + AB_OFFSET], axis=-1)
    return tf.cast(tf.clip_by_value(tf.round(scaled), 0.0, 255.0), tf.uint8)


def lab_from_uint8(encoded):
    encoded = _float32(encoded)
    return tf.concat(
        [encoded[..., :1] * (L_MAX / 255.0), encoded[..., 1:] - AB_OFFSET], axis=-1
    )


@functools.lru_cache(maxsize=8)
def in_gamut_bins(grid_size=10.0, gamut_levels=64):
    """Centres of the ab grid cells that some sRGB colour falls in, shape (Q, 2).

    The sRGB cube is sampled at `gamut_levels` steps per channel and each colour's ab is
    rounded to the nearest grid point. With a 10-unit grid this keeps 261 cells; Zhang et
    al. (2016) report 313 from an in-gamut test they do not publish, evidently a looser one
    (keeping every point within 10 units of the gamut gives 306).
    """
    steps = np.linspace(0.0, 1.0, gamut_levels, dtype=np.float32)
    cube = np.stack(np.meshgrid(steps, steps, steps, indexing="ij"), axis=-1).reshape(-1, 3)
    gamut_ab = rgb_to_lab(cube).numpy()[:, 1:]
    cells = np.unique(np.round(gamut_ab / grid_size).astype(np.int64), axis=0)
    bins = cells.astype(np.float32) * np.float32(grid_size)
    bins.flags.writeable = False
    return bins


class ABQuantizer:
    """Zhang et al. (2016) ab quantization: the in-gamut cells of a square ab grid.

    `grid_size=10` keeps the cells that any sRGB colour falls in (see `in_gamut_bins`: 261
    here, 313 in the paper); a coarser grid (e.g. 20) gives fewer, larger bins. `soft_encode`
    spreads each pixel's ab over its `neighbours` nearest bins with a Gaussian of `sigma`;
    `decode` is the annealed mean with temperature `temperature` (0.38 in the paper);
    `rebalancing_weights` gives the class weights of the paper's eq. 3-4 from an empirical bin
    distribution.
    """

    def __init__(
        self, grid_size=10.0, neighbours=5, sigma=5.0, temperature=ANNEALED_MEAN_TEMPERATURE
    ):
        self.grid_size = float(grid_size)
        self.neighbours = int(neighbours)
        self.sigma = float(sigma)
        self.temperature = float(temperature)
        self.bins = in_gamut_bins(self.grid_size)

    @property
    def num_bins(self):
        return len(self.bins)

    def get_config(self):
        return {
            "grid_size": self.grid_size,
            "neighbours": self.neighbours,
            "sigma": self.sigma,
            "temperature": self.temperature,
        }

    def _squared_distances(self, ab):
        # |ab - bin|^2 expanded as |ab|^2 - 2 ab.bin + |bin|^2: one (pixels, 2) x (2, Q)
        # matmul, where the direct difference materialises a (pixels, Q, 2) tensor.
        ab = _float32(ab)
        bins = tf.constant(self.bins)
        cross = tf.tensordot(ab, tf.transpose(bins), axes=1)
        return (
            tf.reduce_sum(tf.square(ab), axis=-1, keepdims=True)
            - 2.0 * cross
            + tf.reduce_sum(tf.square(bins), axis=-1)
        )

    def hard_encode(self, ab):
        """Index of the nearest bin, shape ab.shape[:-1]."""
        return tf.argmin(self._squared_distances(ab), axis=-1, output_type=tf.int32)

    def nearest_bins(self, ab):
        """The soft encoding, sparse: (indices, weights), each (..., neighbours), nearest first.

        The weights are a Gaussian of the distance, summing to 1. Losses use this form:
        the dense (..., Q) target is mostly zeros and costs Q/neighbours times the memory.
        """
        neg_squared, indices = tf.math.top_k(-self._squared_distances(ab), k=self.neighbours)
        return indices, tf.nn.softmax(neg_squared / (2.0 * self.sigma**2), axis=-1)

    def soft_encode(self, ab):
        """(..., 2) ab -> (..., Q) target distribution over bins (sums to 1)."""
        indices, weights = self.nearest_bins(ab)
        one_hot = tf.one_hot(indices, self.num_bins, dtype=tf.float32)
        return tf.reduce_sum(one_hot * weights[..., None], axis=-2)

    def decode(self, probabilities, temperature=None):
        """Annealed mean: (..., Q) probabilities -> (..., 2) ab.

        temperature 1 is the mean, towards 0 the mode.
        """
        temperature = self.temperature if temperature is None else temperature
        log_p = tf.math.log(tf.maximum(_float32(probabilities), 1e-12)) / temperature
        annealed = tf.nn.softmax(log_p, axis=-1)
        # One matmul keeping the leading axes: TFLite runs it at any image size, where
        # tensordot's reshapes stop XNNPACK re-planning the graph.
        return tf.linalg.matmul(annealed, tf.constant(self.bins))

    def rebalancing_weights(self, bin_probabilities, mix=0.5, smoothing_sigma=5.0):
        """Zhang et al. eq. 4: w ~ ((1 - mix) * p_smoothed + mix / Q)^-1, with E_p[w] = 1."""
        p = np.asarray(bin_probabilities, np.float64)
        p = p / max(p.sum(), 1e-12)
        d2 = ((self.bins[:, None, :] - self.bins[None, :, :]) ** 2).sum(-1)
        kernel = np.exp(-d2 / (2.0 * smoothing_sigma**2))
        smoothed = kernel @ p
        smoothed /= smoothed.sum()
        weights = 1.0 / ((1.0 - mix) * smoothed + mix / self.num_bins)
        weights /= (smoothed * weights).sum()
        return weights.astype(np.float32)
