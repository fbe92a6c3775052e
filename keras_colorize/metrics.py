"""Colorization quality metrics, as TensorFlow ops: what `evaluate.py` reports.

Every per-image metric takes a batch of ground-truth and predicted sRGB images, (N, H, W, 3) or a
single (H, W, 3), uint8 or float on the 0-255 scale, and returns one value per image:

| name                | value                                                               | better  |
|---------------------|---------------------------------------------------------------------|---------|
| `psnr`              | `tf.image.psnr`, data range 255, MSE over all pixels and channels   | higher  |
| `ssim`              | `tf.image.ssim`, 11x11 Gaussian window, sigma 1.5, data range 255   | higher  |
| `colorfulness`      | Hasler & Suesstrunk (2003) M3 of the prediction                     | -       |
| `colorfulness_diff` | the prediction's M3 minus the ground truth's (signed)               | near 0  |
| `saturation`        | Sayyed et al. eq. 3: abs(sum S_pred - sum S_truth) / sum S_truth    | lower   |
| `saturation_mae`    | mean absolute difference of HSV saturation per pixel, in [0, 1]     | lower   |
| `ab_mae`            | mean absolute difference of CIELAB a and b (`keras_colorize.color`) | lower   |

SSIM uses K1 = 0.01, K2 = 0.03 and averages the three channels' SSIM maps, so it equals
`skimage.metrics.structural_similarity(channel_axis=-1, data_range=255, gaussian_weights=True,
sigma=1.5, use_sample_covariance=False)`; PSNR equals `skimage.metrics.peak_signal_noise_ratio(
data_range=255)`.

`saturation` is eq. 3 of Sayyed et al., "Automatic Colorization of Gray-scale Images using Deep
Learning" (section V.C.3, "to measure closeness of generated image and actual image"):

    Sat. diff. = |sum_ij S_p,ij - sum_ij S_a,ij| / sum_ij S_a,ij

over the N x N pixels of the predicted (p) and actual (a) image. The paper does not say which
saturation S is; we take HSV's, S = (max - min) / max of R, G, B (0 for black). The sums make
it the difference of the images' total saturation relative to the truth's: 0 when the
prediction is as saturated overall, 1 for a gray prediction; saturation moved between pixels
does not count. A gray ground truth (sum 0) has no defined value: NaN for a gray prediction,
infinity otherwise (`evaluate.py` skips gray ground truths). `saturation_mae` is the per-pixel
reading used before eq. 3 was at hand, kept for comparisons that need a value on every image.

`recognition_matches` is the face-recognition test of the sketch-inversion paper (Joy & Singh
2017, Table III): eigenfaces (PCA) of the gallery of true photos, each probe matched to the
gallery face whose PCA coefficients correlate best with its own.

`losses.SSIMLoss` is 1 - `ssim(..., max_val=1)` of its targets mapped to [0, 1], so training and
evaluation share one SSIM.

`frechet_distance` scores a set of images, not each one: PSNR rewards leaving a photo gray,
while a colorizer should give colours distributed as real photos' are. It is FID's recipe
(Heusel et al. 2017: the Frechet distance between Gaussians fitted to two sets' pooled
features, ||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^1/2)) with the ImageNet MobileNet v1
(alpha 0.75, 768 pooled features at 224x224, `keras_colorize.pretrained`) in place of
Inception v3, whose weights cannot be had here: its values are not comparable with published
FIDs, only with each other on the same images. With a few hundred images the covariances are
singular and the distance carries a bias of its own; compare systems on one set.
"""

import functools

import numpy as np
import scipy.linalg
import tensorflow as tf

from keras_colorize import color, pretrained

MAX_VALUE = 255.0
SSIM_FILTER_SIZE = 11
SSIM_FILTER_SIGMA = 1.5
SSIM_K1 = 0.01
SSIM_K2 = 0.03
# Hasler & Suesstrunk's M3 weight of the mean opponent colour against its spread.
COLORFULNESS_MEAN_WEIGHT = 0.3
RECOGNITION_SIZE = (64, 64)
RECOGNITION_VARIANCE = 0.95
MIN_COMPONENTS = 3
FRECHET_SIZE = 224  # MobileNet's ImageNet input size


def _float(images):
    return tf.cast(tf.convert_to_tensor(images), tf.float32)


def _unit(images):
    return _float(images) / MAX_VALUE


def psnr(truth, prediction):
    """Peak signal-to-noise ratio in dB; infinite for identical images."""
    return tf.image.psnr(_float(truth), _float(prediction), max_val=MAX_VALUE)


def ssim(truth, prediction, max_val=MAX_VALUE):
    """Structural similarity (Wang et al. 2004), Gaussian-weighted, of images in [0, max_val]; in [-1, 1]."""
    return tf.image.ssim(
        _float(truth),
        _float(prediction),
        max_val=max_val,
        filter_size=SSIM_FILTER_SIZE,
        filter_sigma=SSIM_FILTER_SIGMA,
        k1=SSIM_K1,
        k2=SSIM_K2,
    )


def colorfulness(images):
    """Hasler & Suesstrunk (2003) M3: spread plus 0.3 x mean of the rg / yb opponent colours.

    0 for a gray image; about 15 'slightly', 33 'moderately', 59 'quite' and 109 'extremely'
    colourful by the authors' scale. Standard deviations are over all pixels (ddof 0).
    """
    red, green, blue = tf.unstack(_float(images), axis=-1)
    red_green = red - green
    yellow_blue = 0.5 * (red + green) - blue
    pixels = [-2, -1]
    spread = tf.sqrt(
        tf.math.reduce_variance(red_green, pixels) + tf.math.reduce_variance(yellow_blue, pixels)
    )
    mean = tf.sqrt(
        tf.square(tf.reduce_mean(red_green, pixels)) + tf.square(tf.reduce_mean(yellow_blue, pixels))
    )
    return spread + COLORFULNESS_MEAN_WEIGHT * mean


def prediction_colorfulness(truth, prediction):
    """`colorfulness` of the prediction, in the (truth, prediction) form of the other metrics."""
    del truth  # a no-reference metric
    return colorfulness(prediction)


def colorfulness_difference(truth, prediction):
    """The prediction's colourfulness minus the ground truth's: negative when duller."""
    return colorfulness(prediction) - colorfulness(truth)


def _hsv_saturation(images):
    """Per-pixel HSV saturation (max - min) / max of R, G, B, in [0, 1]; (..., H, W)."""
    return tf.image.rgb_to_hsv(_unit(images))[..., 1]


def saturation_difference(truth, prediction):
    """Sayyed et al.'s eq. 3: |sum S_prediction - sum S_truth| / sum S_truth over each image."""
    pixels = [-2, -1]
    truth_total = tf.reduce_sum(_hsv_saturation(truth), axis=pixels)
    prediction_total = tf.reduce_sum(_hsv_saturation(prediction), axis=pixels)
    return tf.abs(prediction_total - truth_total) / truth_total


def saturation_mae(truth, prediction):
    """Mean absolute difference of per-pixel HSV saturation, in [0, 1]."""
    return tf.reduce_mean(tf.abs(_hsv_saturation(prediction) - _hsv_saturation(truth)), axis=[-2, -1])


def ab_mae(truth, prediction):
    """Mean absolute error of CIELAB a and b over pixels and both channels (ab units)."""

    def ab(images):
        return color.rgb_to_lab(_unit(images))[..., 1:]

    return tf.reduce_mean(tf.abs(ab(prediction) - ab(truth)), axis=[-3, -2, -1])


IMAGE_METRICS = {
    "psnr": psnr,
    "ssim": ssim,
    "colorfulness": prediction_colorfulness,
    "colorfulness_diff": colorfulness_difference,
    "saturation": saturation_difference,
    "saturation_mae": saturation_mae,
    "ab_mae": ab_mae,
}


def get(name):
    """The per-image metric `name` (a key of `IMAGE_METRICS`)."""
    if name not in IMAGE_METRICS:
        raise ValueError(f"unknown metric {name!r}; choose from {sorted(IMAGE_METRICS)}")
    return IMAGE_METRICS[name]


# --- face recognition ----------------------------------------------------------------------


def face_vectors(images, size=RECOGNITION_SIZE):
    """RGB faces (N, H, W, 3), 0-255 -> their gray images area-resized to `size`, flattened.

    Photos, sketches and predictions of any size become comparable (N, h*w) float32 vectors.
    """
    gray = color.rgb_to_gray(_unit(images))[..., :1]
    small = tf.image.resize(gray, size, method="area", antialias=True)
    return tf.reshape(small, [tf.shape(small)[0], -1]).numpy()


def recognition_matches(gallery, probes, explained_variance=RECOGNITION_VARIANCE):
    """For each probe, the index of the gallery face it is recognised as.

    Eigenfaces: PCA of the (N, D) gallery vectors by SVD, keeping the leading components that
    explain `explained_variance` of the gallery's variance (at least 3: the correlation of two
    numbers is always +1 or -1, which ties most of the gallery); gallery and probes are
    projected onto them, and each probe matches the gallery face with the highest Pearson
    correlation of PCA coefficients.
    """
    gallery = np.asarray(gallery, np.float64)
    probes = np.asarray(probes, np.float64)
    if len(gallery) < 2:
        raise ValueError(f"recognition needs a gallery of at least 2 faces, not {len(gallery)}")
    mean_face = gallery.mean(axis=0)
    _, singular_values, components = np.linalg.svd(gallery - mean_face, full_matrices=False)
    explained = np.cumsum(singular_values**2) / np.sum(singular_values**2)
    kept = components[: max(MIN_COMPONENTS, int(np.searchsorted(explained, explained_variance)) + 1)]

    def standardized_coefficients(faces):
        coefficients = (faces - mean_face) @ kept.T
        coefficients -= coefficients.mean(axis=1, keepdims=True)
        return coefficients / np.linalg.norm(coefficients, axis=1, keepdims=True)

    correlations = standardized_coefficients(probes) @ standardized_coefficients(gallery).T
    return correlations.argmax(axis=1)


def rank1_hits(gallery, probes, explained_variance=RECOGNITION_VARIANCE):
    """1.0 where probe i is recognised as gallery face i, else 0.0; the mean is rank-1 accuracy."""
    matches = recognition_matches(gallery, probes, explained_variance)
    return (matches == np.arange(len(probes))).astype(np.float64)


# --- distribution distance -----------------------------------------------------------------


@functools.cache
def _frechet_network():
    return pretrained.mobilenet(
        weights="imagenet", include_top=False, pooling="avg", input_shape=(FRECHET_SIZE, FRECHET_SIZE, 3)
    )


def frechet_features(images, batch_size=32):
    """sRGB images (N, H, W, 3), 0-255 -> the ImageNet MobileNet's pooled features (N, 768),
    float64, each image resized (antialiased) to 224x224."""
    resized = tf.image.resize(_unit(images), (FRECHET_SIZE, FRECHET_SIZE), antialias=True)
    features = _frechet_network().predict(pretrained.preprocess(resized), batch_size=batch_size, verbose=0)
    return features.astype(np.float64)


def frechet_distance(features, reference):
    """The Frechet distance between Gaussians fitted to two feature sets (N, D) and (M, D)."""
    if len(features) < 2 or len(reference) < 2:
        raise ValueError("the Frechet distance needs at least 2 images in each set")
    mean_gap = np.mean(features, axis=0) - np.mean(reference, axis=0)
    covariance, reference_covariance = np.cov(features, rowvar=False), np.cov(reference, rowvar=False)
    root = scipy.linalg.sqrtm(covariance @ reference_covariance)
    if not np.isfinite(root).all():  # singular product: FID's usual remedy, a small offset
        offset = np.eye(len(covariance)) * 1e-6
        root = scipy.linalg.sqrtm((covariance + offset) @ (reference_covariance + offset))
    distance = mean_gap @ mean_gap + np.trace(covariance + reference_covariance - 2.0 * np.real(root))
    return float(max(distance, 0.0))
