"""Colour maths against scikit-image, and the classifier's ab quantization."""

import numpy as np
import pytest
import skimage.color
import skimage.data
import tensorflow as tf

from keras_colorize import color

RNG = np.random.default_rng(7)


@pytest.mark.parametrize("shape", [(37, 53, 3), (3, 16, 24, 3), (2, 2, 5, 7, 3)])
def test_rgb_to_lab_agrees_with_skimage(shape):
    rgb = RNG.random(shape).astype(np.float32)
    ours = color.rgb_to_lab(rgb).numpy()
    assert ours.dtype == np.float32 and ours.shape == shape
    np.testing.assert_allclose(ours, skimage.color.rgb2lab(rgb), atol=0.5)


def test_lab_to_rgb_agrees_with_skimage_including_out_of_gamut():
    lab = np.stack(
        [RNG.uniform(0, 100, 5000), RNG.uniform(-128, 127, 5000), RNG.uniform(-128, 127, 5000)], -1
    ).reshape(50, 100, 3)
    with pytest.warns(UserWarning):  # skimage warns about the negative Z it clips
        reference = skimage.color.lab2rgb(lab)
    ours = color.lab_to_rgb(lab).numpy()
    np.testing.assert_allclose(ours, reference, atol=0.5 / 255)
    assert ours.min() >= 0.0 and ours.max() <= 1.0


def test_round_trip_on_a_real_photo():
    rgb = skimage.data.astronaut().astype(np.float32) / 255.0
    back = color.lab_to_rgb(color.rgb_to_lab(rgb)).numpy()
    np.testing.assert_allclose(back, rgb, atol=1e-3)


def test_works_inside_tf_data_and_tf_function():
    batch = RNG.random((4, 8, 8, 3)).astype(np.float32)
    dataset = tf.data.Dataset.from_tensor_slices(batch).map(color.rgb_to_lab)
    mapped = np.stack(list(dataset.as_numpy_iterator()))
    compiled = tf.function(color.rgb_to_lab)(tf.constant(batch)).numpy()
    np.testing.assert_allclose(mapped, compiled, atol=1e-4)
    np.testing.assert_allclose(mapped, skimage.color.rgb2lab(batch), atol=0.5)


def test_gray_has_the_same_lightness_and_no_chroma():
    rgb = skimage.data.coffee().astype(np.float32) / 255.0
    gray = color.rgb_to_gray(rgb).numpy()
    np.testing.assert_allclose(gray[..., 0], gray[..., 1], atol=1e-5)
    np.testing.assert_allclose(gray[..., 1], gray[..., 2], atol=1e-5)
    gray_lab = skimage.color.rgb2lab(gray)
    np.testing.assert_allclose(gray_lab[..., 0], skimage.color.rgb2lab(rgb)[..., 0], atol=0.1)
    assert np.abs(gray_lab[..., 1:]).max() < 0.1


def test_encodings_round_trip_and_ranges():
    lab = skimage.color.rgb2lab(RNG.random((64, 64, 3)))
    lightness, ab = color.split_lab(lab)
    unit = color.ab_to_unit(ab).numpy()
    assert 0.0 <= unit.min() and unit.max() <= 1.0
    np.testing.assert_allclose(color.ab_from_unit(unit), ab, atol=1e-4)
    signed = color.ab_to_signed(ab).numpy()
    assert -1.0 <= signed.min() and signed.max() <= 1.0
    np.testing.assert_allclose(color.ab_from_signed(signed), ab, atol=1e-4)
    l_unit = color.l_to_unit(lightness).numpy()
    assert 0.0 <= l_unit.min() and l_unit.max() <= 1.0
    np.testing.assert_allclose(color.l_from_unit(l_unit), lightness, atol=1e-4)
    np.testing.assert_allclose(color.join_lab(lightness, ab), lab, atol=1e-4)


def test_uint8_storage_error_is_within_the_documented_bound():
    lab = skimage.color.rgb2lab(RNG.random((128, 128, 3)))
    encoded = color.lab_to_uint8(lab)
    assert encoded.dtype == tf.uint8
    error = np.abs(color.lab_from_uint8(encoded).numpy() - lab)
    assert error[..., 0].max() <= 50 / 255 + 1e-4
    assert error[..., 1:].max() <= 0.5 + 1e-4


def test_quantizer_bins_cover_the_srgb_gamut():
    quantizer = color.ABQuantizer()
    assert quantizer.num_bins == 261
    assert np.all(quantizer.bins % 10 == 0)
    ab = skimage.color.rgb2lab(RNG.random((20000, 3)))[:, 1:]
    nearest = quantizer.bins[quantizer.hard_encode(ab).numpy()]
    assert np.abs(nearest - ab).max() <= 5.0 + 1e-3  # every in-gamut colour has a bin in its cell
    assert color.ABQuantizer(grid_size=20).num_bins < quantizer.num_bins


def test_soft_encoding_is_a_local_distribution():
    quantizer = color.ABQuantizer()
    ab = skimage.color.rgb2lab(RNG.random((500, 3)))[:, 1:].astype(np.float32)
    target = quantizer.soft_encode(ab).numpy()
    assert target.shape == (500, quantizer.num_bins)
    np.testing.assert_allclose(target.sum(-1), 1.0, atol=1e-5)
    assert ((target > 0).sum(-1) == 5).all()
    expected_mean = target @ quantizer.bins
    assert np.abs(expected_mean - ab).max() < 10.0


def test_annealed_mean_decoding_interpolates_between_mean_and_mode():
    quantizer = color.ABQuantizer()
    ab = np.array([[30.0, -40.0], [-10.0, 60.0]], np.float32)
    probabilities = quantizer.soft_encode(ab).numpy()
    decoded = quantizer.decode(probabilities).numpy()
    assert np.abs(decoded - ab).max() < 6.0
    mode = quantizer.bins[probabilities.argmax(-1)]
    np.testing.assert_allclose(quantizer.decode(probabilities, temperature=1e-3), mode, atol=1e-3)
    np.testing.assert_allclose(
        quantizer.decode(probabilities, temperature=1.0), probabilities @ quantizer.bins, atol=1e-3
    )


def test_rebalancing_weights_favour_rare_colours():
    quantizer = color.ABQuantizer()
    counts = np.ones(quantizer.num_bins)
    counts[0] = 1000.0
    weights = quantizer.rebalancing_weights(counts, mix=0.5)
    assert weights[0] < np.median(weights) / 2
    assert weights.min() > 0
    # mix = 1 is the paper's uniform prior: no rebalancing at all
    np.testing.assert_allclose(quantizer.rebalancing_weights(counts, mix=1.0), 1.0, rtol=1e-5)


def test_integer_images_are_refused_rather_than_read_as_huge_lightness():
    # 0-255 levels taken as [0, 1] values would give L in the thousands without a word.
    with pytest.raises(TypeError, match="float sRGB in \\[0, 1\\], not uint8"):
        color.rgb_to_lab(skimage.data.astronaut()[:4, :4])


def test_lightness_alone_is_rgb_to_lab_s_for_float_and_uint8_images():
    levels = RNG.integers(0, 256, (40, 60, 3), dtype=np.uint8)
    expected = color.rgb_to_lab(levels / np.float32(255.0)).numpy()[..., :1]
    np.testing.assert_allclose(color.rgb_to_lightness(levels / np.float32(255.0)).numpy(), expected, atol=1e-4)
    np.testing.assert_allclose(color.rgb_to_lightness(levels).numpy(), expected, atol=1e-4)  # looked up
    with pytest.raises(TypeError, match="rgb_to_lightness takes float sRGB"):
        color.rgb_to_lightness(levels.astype(np.int32))


def test_looked_up_srgb_levels_are_at_most_one_off_and_rarely():
    lab = np.concatenate([RNG.uniform(0, 100, (200_000, 1)), RNG.normal(0, 40, (200_000, 2))], -1)
    exact = tf.cast(tf.round(color.lab_to_rgb(lab) * 255.0), tf.uint8).numpy().astype(int)
    difference = np.abs(color.lab_to_rgb_uint8(lab).numpy() - exact)
    assert difference.max() <= 1 and (difference > 0).mean() < 0.005
