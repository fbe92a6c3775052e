"""Each metric against scikit-image or the paper's formula; recognition; the SSIM loss and eq. 2's Huber."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from skimage import color as skcolor
from skimage import metrics as skmetrics

from keras_colorize import losses, metrics


@pytest.fixture(scope="module")
def image_pairs():
    """Random ground truths and degraded predictions, uint8 (3, 40, 48, 3)."""
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 256, (3, 40, 48, 3), dtype=np.uint8)
    noise = rng.integers(-60, 61, truth.shape)
    prediction = np.clip(truth.astype(int) + noise, 0, 255).astype(np.uint8)
    return truth, prediction


def _reference(function, truth, prediction):
    return np.array([function(t, p) for t, p in zip(truth, prediction)])


def test_psnr_matches_skimage(image_pairs):
    expected = _reference(
        lambda t, p: skmetrics.peak_signal_noise_ratio(t, p, data_range=255), *image_pairs
    )
    np.testing.assert_allclose(metrics.psnr(*image_pairs).numpy(), expected, rtol=1e-5)


def _skimage_ssim(truth, prediction, data_range):
    return _reference(
        lambda t, p: skmetrics.structural_similarity(
            t, p, channel_axis=-1, data_range=data_range, gaussian_weights=True, sigma=1.5,
            use_sample_covariance=False,
        ),
        truth,
        prediction,
    )


def test_ssim_matches_skimage_gaussian_window(image_pairs):
    expected = _skimage_ssim(*image_pairs, data_range=255)
    assert 0.2 < expected.min() < expected.max() < 0.99  # a range where a wrong window shows
    np.testing.assert_allclose(metrics.ssim(*image_pairs).numpy(), expected, atol=1e-5)


def test_ssim_loss_is_one_minus_the_reported_ssim_on_unit_images(image_pairs):
    truth, prediction = (images / np.float32(255.0) for images in image_pairs)
    expected = 1.0 - _skimage_ssim(truth.astype(np.float64), prediction.astype(np.float64), data_range=1)
    np.testing.assert_allclose(losses.SSIMLoss().call(truth, prediction).numpy(), expected, atol=1e-5)


@pytest.mark.parametrize(
    ("threshold", "residuals", "expected"),
    [
        # Below M, u^2: 0.5^2 = 0.25; above, M (2|u| - M): 1 x (2 x 3 - 1) = 5, for -3 too.
        (1.0, [0.5], 0.25),
        (1.0, [3.0], 5.0),
        (1.0, [-3.0], 5.0),
        # M = 2: 1^2 = 1 below, 2 x (2 x 5 - 2) = 16 above; a sample's loss is their mean.
        (2.0, [1.0, 5.0], (1.0 + 16.0) / 2),
    ],
)
def test_huber_eq2_is_sayyed_eq2_by_hand(threshold, residuals, expected):
    prediction = np.array([residuals], np.float32)
    loss = losses.HuberEq2(threshold).call(np.zeros_like(prediction), prediction)
    np.testing.assert_allclose(loss.numpy(), [expected], rtol=1e-6)


def test_huber_eq2_is_twice_keras_huber_and_named_in_the_registry():
    rng = np.random.default_rng(0)
    truth, prediction = rng.normal(0.0, 2.0, (2, 4, 8, 8, 2)).astype(np.float32)
    keras_huber = keras.losses.Huber(delta=1.0)(truth, prediction)
    np.testing.assert_allclose(losses.get("huber_eq2")(truth, prediction), 2.0 * keras_huber, rtol=1e-5)
    restored = losses.HuberEq2.from_config(losses.HuberEq2(threshold=0.5).get_config())
    assert restored.threshold == 0.5


def test_mse_is_you_et_al_eq2_by_hand():
    # Eq. 2: 1/(2HW) sum over k in (a, b), i, j of squared differences. H = 1, W = 2:
    # differences a (1, 2), b (3, 0): (1 + 4 + 9 + 0) / (2 x 1 x 2) = 3.5.
    truth = np.zeros((1, 1, 2, 2), np.float32)
    prediction = np.array([[[[1.0, 3.0], [2.0, 0.0]]]], np.float32)
    assert float(losses.get("mse")(truth, prediction)) == pytest.approx(3.5)


def test_saturation_mae_matches_skimage_hsv(image_pairs):
    expected = _reference(
        lambda t, p: np.abs(skcolor.rgb2hsv(p)[..., 1] - skcolor.rgb2hsv(t)[..., 1]).mean(),
        *image_pairs,
    )
    np.testing.assert_allclose(metrics.saturation_mae(*image_pairs).numpy(), expected, rtol=1e-4)


def test_saturation_is_sayyed_eq3_computed_by_hand():
    # HSV saturation (max - min) / max: (200, 100, 100) -> 0.5, (100, 100, 50) -> 0.5,
    # (200, 150, 50) -> 0.75, white -> 0. Truth total 0.5 + 0.5 = 1.0, prediction total
    # 0.75 + 0 = 0.75: eq. 3 gives |0.75 - 1.0| / 1.0 = 0.25.
    truth = np.array([[[200, 100, 100], [100, 100, 50]]], np.uint8)
    prediction = np.array([[[200, 150, 50], [255, 255, 255]]], np.uint8)
    assert float(metrics.saturation_difference(truth, prediction)) == pytest.approx(0.25)
    assert float(metrics.get("saturation")(truth, prediction)) == pytest.approx(0.25)
    # The per-pixel reading differs: (|0.75 - 0.5| + |0 - 0.5|) / 2 = 0.375.
    assert float(metrics.saturation_mae(truth, prediction)) == pytest.approx(0.375)


def test_saturation_eq3_compares_image_totals():
    truth = np.array([[[200, 100, 100], [128, 128, 128]]], np.uint8)
    swapped = truth[:, ::-1]
    # The same saturation in other pixels: the totals agree, so eq. 3 gives 0 (MAE would not).
    assert float(metrics.saturation_difference(truth, swapped)) == 0.0
    assert float(metrics.saturation_mae(truth, swapped)) == pytest.approx(0.5)
    # A gray prediction has no saturation at all: |0 - sum| / sum = 1.
    gray = np.full_like(truth, 90)
    assert float(metrics.saturation_difference(truth, gray)) == pytest.approx(1.0)
    # Twice the truth's saturation overall: 1 as well, as eq. 3 takes the absolute value.
    doubled = np.array([[[200, 0, 0], [128, 128, 128]]], np.uint8)  # S 1.0 against 0.5
    assert float(metrics.saturation_difference(truth, doubled)) == pytest.approx(1.0)


def test_ab_mae_matches_skimage_lab(image_pairs):
    expected = _reference(
        lambda t, p: np.abs(skcolor.rgb2lab(p)[..., 1:] - skcolor.rgb2lab(t)[..., 1:]).mean(),
        *image_pairs,
    )
    np.testing.assert_allclose(metrics.ab_mae(*image_pairs).numpy(), expected, atol=0.01)


def _hasler_suesstrunk(image):
    """M3 as written in the paper: sigma_rgyb + 0.3 mu_rgyb."""
    red, green, blue = np.moveaxis(image.astype(np.float64), -1, 0)
    rg, yb = red - green, 0.5 * (red + green) - blue
    return np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean())


def test_colorfulness_matches_the_paper_formula(image_pairs):
    truth, prediction = image_pairs
    np.testing.assert_allclose(
        metrics.colorfulness(truth).numpy(), [_hasler_suesstrunk(t) for t in truth], rtol=1e-5
    )
    np.testing.assert_allclose(
        metrics.colorfulness_difference(truth, prediction).numpy(),
        [_hasler_suesstrunk(p) - _hasler_suesstrunk(t) for t, p in zip(truth, prediction)],
        rtol=1e-4,
    )


def test_colorfulness_of_a_gray_image_is_zero(image_pairs):
    gray = np.repeat(image_pairs[0][..., :1], 3, axis=-1)
    np.testing.assert_array_equal(metrics.colorfulness(gray).numpy(), 0.0)
    red = np.zeros((8, 8, 3), np.uint8)
    red[..., 0] = 255
    # A flat colour has no spread, only the 0.3-weighted mean opponent colour.
    np.testing.assert_allclose(metrics.colorfulness(red).numpy(), 0.3 * np.hypot(255, 127.5), rtol=1e-6)


def test_single_images_give_scalars(image_pairs):
    truth, prediction = image_pairs
    for name, metric in metrics.IMAGE_METRICS.items():
        single = metric(truth[1], prediction[1]).numpy()
        batched = metric(truth, prediction).numpy()[1]
        assert np.ndim(single) == 0, name
        np.testing.assert_allclose(single, batched, rtol=1e-5, err_msg=name)


def test_unknown_metric_names_the_choices():
    with pytest.raises(ValueError, match="psnr"):
        metrics.get("fid")


def _faces(count, seed=0, size=(32, 24)):
    """Look-alike faces, uint8 (count, 32, 24, 3): one shared bright oval face plus small,
    smooth per-identity differences (std about 8 levels), so faces correlate strongly, as
    real ones do, and a matcher has to tell them apart by their small differences."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[: size[0], : size[1]] / np.array(size)[:, None, None]
    oval = 140 + 90 * np.exp(-((x - 0.5) ** 2 / 0.08 + (y - 0.5) ** 2 / 0.15))
    mean_face = oval[..., None] * np.array([1.0, 0.85, 0.75])
    coarse = rng.normal(0, 1, (count, 4, 3, 3)).astype(np.float32)
    differences = tf.image.resize(coarse, size, "bicubic").numpy() * 8
    return np.clip(np.round(mean_face + differences), 0, 255).astype(np.uint8)


def _eigenfaces(gallery, explained_variance):
    """Independent numpy eigenfaces: (mean face, all components, how many are kept), kept the
    smallest k >= 3 whose cumulative explained variance reaches `explained_variance`."""
    mean_face = gallery.mean(axis=0)
    _, singular_values, components = np.linalg.svd(gallery - mean_face, full_matrices=False)
    explained = np.cumsum(singular_values**2) / np.sum(singular_values**2)
    kept = max(3, 1 + int(np.flatnonzero(explained >= explained_variance)[0]))
    return mean_face, components, kept


def _reference_matches(gallery, probes, explained_variance=metrics.RECOGNITION_VARIANCE):
    """Each probe's best gallery face by np.corrcoef of the kept PCA coefficients."""
    mean_face, components, kept = _eigenfaces(gallery, explained_variance)
    probe_coefficients = (probes - mean_face) @ components[:kept].T
    gallery_coefficients = (gallery - mean_face) @ components[:kept].T
    correlations = np.corrcoef(probe_coefficients, gallery_coefficients)[: len(probes), len(probes) :]
    return correlations.argmax(axis=1)


def test_look_alike_faces_are_strongly_correlated():
    """The premise of the recognition tests below: a shared face dominates every image."""
    vectors = metrics.face_vectors(_faces(10))
    correlations = np.corrcoef(vectors)[np.triu_indices(10, 1)]
    assert correlations.min() > 0.85


def test_recognition_is_perfect_when_probes_are_the_gallery():
    gallery = metrics.face_vectors(_faces(10))
    assert gallery.shape == (10, np.prod(metrics.RECOGNITION_SIZE))
    np.testing.assert_array_equal(metrics.rank1_hits(gallery, gallery), 1.0)


def test_rank1_hits_only_where_probe_i_is_gallery_face_i():
    faces = _faces(8)
    # Probes 1 and 2, 5 and 7 are swapped: each is recognised, as the wrong identity.
    order = np.array([0, 2, 1, 3, 4, 7, 6, 5])
    hits = metrics.rank1_hits(metrics.face_vectors(faces), metrics.face_vectors(faces[order]))
    np.testing.assert_array_equal(hits, [1, 0, 0, 1, 1, 0, 1, 0])


def test_recognition_finds_shuffled_and_noisy_probes():
    faces = _faces(10)
    order = np.random.default_rng(1).permutation(10)
    # Pixel noise (std 12 levels) stronger than the differences between identities.
    noise = np.random.default_rng(2).integers(-20, 21, faces.shape)
    probes = np.clip(faces[order].astype(int) + noise, 0, 255)
    gallery_vectors, probe_vectors = metrics.face_vectors(faces), metrics.face_vectors(probes)
    matches = metrics.recognition_matches(gallery_vectors, probe_vectors)
    np.testing.assert_array_equal(matches, order)
    np.testing.assert_array_equal(matches, _reference_matches(gallery_vectors, probe_vectors))


def test_recognition_correlates_coefficients_so_a_common_offset_or_scale_does_not_matter():
    """Pearson correlation, not cosine similarity: a probe whose kept PCA coefficients are
    gallery face i's, scaled and all shifted by one amount, correlates exactly with face i.
    Cosine similarity is not shift-invariant: with a large shift every probe would match
    whichever face's coefficients sum highest."""
    gallery = metrics.face_vectors(_faces(10)).astype(np.float64)
    mean_face, components, kept = _eigenfaces(gallery, metrics.RECOGNITION_VARIANCE)
    assert 2 < kept < 9  # a real choice of components, not the floor nor all of them
    coefficients = (gallery - mean_face) @ components[:kept].T
    spread = np.abs(coefficients).max()
    order = np.random.default_rng(3).permutation(10)
    for scale, shift in [(1.0, 5 * spread), (0.5, -5 * spread), (3.0, 20 * spread)]:
        shifted = scale * coefficients[order] + shift
        probes = mean_face + shifted @ components[:kept]
        np.testing.assert_array_equal(metrics.recognition_matches(gallery, probes), order)
        np.testing.assert_array_equal(_reference_matches(gallery, probes), order)
        cosine = shifted @ coefficients.T / np.linalg.norm(coefficients, axis=1)
        assert len(set(cosine.argmax(axis=1))) == 1  # the shift does fool a cosine matcher


@pytest.mark.parametrize("explained_variance", [0.5, 0.8, 0.95, 0.99])
def test_recognition_keeps_the_fewest_components_that_explain_the_variance(explained_variance):
    """The kept components are the smallest k (at least 3) whose cumulative explained variance
    reaches the threshold. A probe that differs from gallery face i only along discarded
    components is still face i; a large step along the last kept component moves it."""
    gallery = metrics.face_vectors(_faces(12)).astype(np.float64)
    _, components, kept = _eigenfaces(gallery, explained_variance)
    # 3, 5, 7 and 9 here, with a discarded component to step along.
    assert 3 <= kept < len(components) - 1
    step = 100 * np.linalg.norm(gallery - gallery.mean(axis=0), axis=1).max()
    identity = np.arange(12)

    beyond = gallery + step * components[kept]  # the first discarded component
    matches = metrics.recognition_matches(gallery, beyond, explained_variance)
    np.testing.assert_array_equal(matches, identity)

    along = gallery + step * components[kept - 1]  # the last kept component
    matches = metrics.recognition_matches(gallery, along, explained_variance)
    np.testing.assert_array_equal(matches, _reference_matches(gallery, along, explained_variance))
    # The step dominates every probe's coefficients: all match one face, at most one rightly.
    assert len(set(matches)) == 1 and (matches == identity).sum() <= 1


def test_recognition_keeps_three_components_however_little_variance_is_asked_for():
    # Two coefficients correlate at +1 or -1 only, so most of the gallery would tie and the
    # first face would win: with the floor at 2, this scored a third of the faces.
    gallery = metrics.face_vectors(_faces(12))
    np.testing.assert_array_equal(metrics.rank1_hits(gallery, gallery, explained_variance=0.01), 1.0)


def test_recognition_needs_two_gallery_faces():
    single = metrics.face_vectors(_faces(1))
    with pytest.raises(ValueError, match="at least 2"):
        metrics.rank1_hits(single, single)


def test_frechet_distance_matches_the_closed_form_for_diagonal_covariances():
    # Sample covariances diag(2/3, 8/3) and, scaled by 3, diag(6, 24); means (0, 0) and (5, 0).
    first = np.array([[-1.0, 0.0], [1.0, 0.0], [0.0, -2.0], [0.0, 2.0]])
    second = first * 3 + [5.0, 0.0]
    expected = 25 + (np.sqrt(2 / 3) - np.sqrt(6)) ** 2 + (np.sqrt(8 / 3) - np.sqrt(24)) ** 2
    assert metrics.frechet_distance(first, second) == pytest.approx(expected, rel=1e-6)
    assert metrics.frechet_distance(second, first) == pytest.approx(expected, rel=1e-6)
    assert metrics.frechet_distance(first, first) == pytest.approx(0.0, abs=1e-6)


def test_frechet_distance_stays_finite_with_fewer_images_than_features():
    rng = np.random.default_rng(0)
    features, reference = rng.normal(size=(5, 40)), rng.normal(size=(6, 40)) + 1.0
    distance = metrics.frechet_distance(features, reference)
    assert np.isfinite(distance) and distance > 40 * 0.9  # the mean gap alone is 40
    with pytest.raises(ValueError, match="at least 2 images"):
        metrics.frechet_distance(features[:1], reference)
