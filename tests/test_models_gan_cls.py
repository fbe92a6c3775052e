"""pix2pix (sketch -> colour GAN) and the ab-bin classifier with its regression baseline."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_colorize import color, losses, models
from keras_colorize.images import read_rgb
from keras_colorize.models import classifier, pix2pix
from keras_colorize.models.gan import LOSS_NAMES, default_optimizer
from conftest import shared_path

SMALL = 64


@pytest.fixture(scope="module")
def shoe_pairs():
    """4 real edges2shoes pairs at 64x64 in [-1, 1]: (sketches, photos)."""
    files = sorted(shared_path("edges2shoes").glob("*_AB.jpg"))[:4]
    side_by_side = np.stack([read_rgb(path) for path in files]).astype(np.float32)
    width = side_by_side.shape[2] // 2
    halves = [side_by_side[:, :, :width], side_by_side[:, :, width:]]  # sketch left, photo right
    return tuple(
        tf.image.resize(half / 127.5 - 1.0, (SMALL, SMALL), method="area").numpy()
        for half in halves
    )


@pytest.fixture(scope="module")
def face_lightness_ab(lfw_faces):
    """The 8 LFW faces at 64x64 as ("l_ab" format) L/100 (8, 64, 64, 1) and ab (8, 64, 64, 2)."""
    rgb = tf.image.resize(lfw_faces / 255.0, (SMALL, SMALL), method="area")
    lightness, ab = color.split_lab(color.rgb_to_lab(rgb))
    return color.l_to_unit(lightness).numpy(), ab.numpy()


def _small_pix2pix():
    keras.utils.set_random_seed(0)
    return models.build("pix2pix", "small")


# --- pix2pix ---------------------------------------------------------------------------


def test_paper_pix2pix_matches_the_tensorflow_tutorial_networks():
    gan = models.build("pix2pix", "paper")
    assert gan.generator.output.shape == (None, 256, 256, 3)
    assert gan.discriminator.output.shape == (None, 30, 30, 1)
    # The parameter counts the TensorFlow pix2pix tutorial prints for the same networks.
    assert gan.generator.count_params() == 54_425_859
    assert gan.discriminator.count_params() == 2_770_433


def test_paper_discriminator_has_table1_shapes_and_the_counts_that_fit_its_layers():
    discriminator = models.build("pix2pix", "paper").discriminator
    # Zhang, Table 1: the three down blocks, the paddings, 31x31 before the last conv, 30x30 after.
    table1_shapes = {
        "down1_lrelu": (128, 128, 64),
        "down2_lrelu": (64, 64, 128),
        "down3_lrelu": (32, 32, 256),
        "pad1": (34, 34, 256),
        "conv": (31, 31, 512),
        "pad2": (33, 33, 512),
        "patch_logits": (30, 30, 1),
    }
    for name, shape in table1_shapes.items():
        assert tuple(discriminator.get_layer(name).output.shape[1:]) == shape, name
    # Table 1's batch norm (2048) and last conv (8193) counts; its block counts (6145, 131641,
    # 533423, 2123123) fit no 4x4 conv of those shapes, and ours are the tutorial's.
    assert discriminator.get_layer("bn").count_params() == 2048
    assert discriminator.get_layer("patch_logits").count_params() == 8193


def test_small_pix2pix_reaches_a_1x1_bottleneck_with_dropout_in_three_up_blocks():
    gan = _small_pix2pix()
    assert gan.generator.get_layer("down6_lrelu").output.shape == (None, 1, 1, 256)
    layers = gan.generator.layers
    dropout = [layer.name for layer in layers if isinstance(layer, keras.layers.Dropout)]
    assert dropout == ["up1_dropout", "up2_dropout", "up3_dropout"]
    # Isola et al.: "dropout, at a rate of 50%" in the first three decoder blocks.
    assert [layer.rate for layer in layers if isinstance(layer, keras.layers.Dropout)] == [0.5] * 3
    assert gan.discriminator.output.shape == (None, 6, 6, 1)
    assert gan.output.shape == (None, SMALL, SMALL, 3)


def test_generator_rejects_a_size_its_depth_cannot_halve():
    with pytest.raises(ValueError, match="divisible by 2\\*\\*depth"):
        pix2pix.build_generator(image_size=96, base_filters=4, depth=6)


@pytest.mark.slow
def test_pix2pix_fit_lowers_the_l1_loss_on_real_shoes(shoe_pairs):
    sketch, photo = shoe_pairs
    gan = _small_pix2pix()
    gan.compile()
    history = gan.fit(sketch, photo, batch_size=4, epochs=12, verbose=0).history
    assert set(history) == set(LOSS_NAMES)
    assert history["g_l1"][-1] < 0.95 * history["g_l1"][0]
    scores = gan.evaluate(sketch, photo, verbose=0, return_dict=True)
    assert set(scores) == set(LOSS_NAMES)
    assert all(np.isfinite(value) for value in scores.values())
    assert np.all(np.abs(gan.predict(sketch, verbose=0)) <= 1.0)


@pytest.mark.slow
def test_pix2pix_trains_with_loss_scale_optimizers(shoe_pairs):
    sketch, photo = shoe_pairs
    gan = _small_pix2pix()
    gan.compile(
        keras.optimizers.LossScaleOptimizer(default_optimizer()),
        keras.optimizers.LossScaleOptimizer(default_optimizer()),
    )
    kernel = gan.generator.get_layer("down1_conv").kernel
    initial = kernel.numpy()
    history = gan.fit(sketch, photo, batch_size=4, epochs=1, verbose=0).history
    assert all(np.isfinite(values[0]) for values in history.values())
    assert int(gan.g_optimizer.iterations) == 1
    assert not np.allclose(kernel.numpy(), initial)


def test_gan_compile_scales_float16_losses_as_model_compile_does_and_refuses_losses():
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        gan = models.build("pix2pix", "small", base_filters=4, depth=3)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    gan.compile()
    assert isinstance(gan.g_optimizer, keras.optimizers.LossScaleOptimizer)
    assert isinstance(gan.d_optimizer, keras.optimizers.LossScaleOptimizer)
    gan.compile(auto_scale_loss=False)
    assert not isinstance(gan.g_optimizer, keras.optimizers.LossScaleOptimizer)
    with pytest.raises(TypeError, match="takes no loss, metrics"):
        gan.compile(loss="mse", metrics=["mae"])


@pytest.mark.slow
def test_pix2pix_keras_file_round_trip_keeps_networks_and_optimizers(shoe_pairs, tmp_path):
    sketch, photo = shoe_pairs
    gan = _small_pix2pix()
    gan.compile(d_optimizer=keras.optimizers.Adam(1e-4), steps_per_execution=2)
    gan.fit(sketch, photo, batch_size=4, epochs=1, verbose=0)
    gan.save(tmp_path / "pix2pix.keras")

    loaded = keras.saving.load_model(tmp_path / "pix2pix.keras")
    assert isinstance(loaded, pix2pix.Pix2Pix)
    assert loaded.l1_weight == 100.0
    np.testing.assert_array_equal(loaded.predict(sketch, verbose=0), gan.predict(sketch, verbose=0))
    np.testing.assert_array_equal(
        loaded.discriminator([sketch, photo]), gan.discriminator([sketch, photo])
    )
    assert float(loaded.d_optimizer.learning_rate) == pytest.approx(1e-4)
    assert loaded.steps_per_execution == 2
    for restored, original in zip(loaded.g_optimizer.variables, gan.g_optimizer.variables):
        np.testing.assert_array_equal(restored.numpy(), original.numpy())


# --- classifier ------------------------------------------------------------------------


def test_paper_classifier_predicts_bins_at_a_quarter_and_regression_ab_at_full_size():
    # Sayyed et al., section V.C.c: colour "discretized into 50bins".
    assert models.build("classifier", "paper").output.shape == (None, 56, 56, 50)
    regression = models.build("classifier", "paper", head="regression")
    assert regression.output.shape == (None, 224, 224, 2)


def test_sayyed_grid_keeps_50_in_gamut_bins_and_the_default_keeps_zhangs_grid():
    assert color.ABQuantizer(grid_size=classifier.SAYYED_GRID_SIZE).num_bins == 50
    assert models.presets("classifier")["paper"]["grid_size"] == classifier.SAYYED_GRID_SIZE
    # The builder's default and the small preset (the shipped classifier's) keep the 10-unit grid.
    assert models.build("classifier", "small", base_filters=4).output.shape[-1] == color.ABQuantizer(10.0).num_bins


def test_classifier_rejects_an_unknown_head():
    with pytest.raises(ValueError, match="unknown head"):
        classifier.build_classifier(SMALL, 8, head="ordinal")


def test_decoded_ab_has_the_input_size_and_lies_within_the_bins(face_lightness_ab):
    lightness, _ = face_lightness_ab
    decoded = classifier.ab_model(models.build("classifier", "small")).predict(lightness, verbose=0)
    assert decoded.shape == (8, SMALL, SMALL, 2)
    assert decoded.dtype == np.float32
    # The annealed mean is a convex combination of bin centres.
    bins = color.ABQuantizer().bins
    assert np.all(decoded >= bins.min(axis=0) - 1e-3)
    assert np.all(decoded <= bins.max(axis=0) + 1e-3)


def test_ab_model_decodes_with_the_papers_annealed_mean_temperature():
    # Zhang et al. 2016, section 2.3: "T = 0.38" (the literal, not the package's constant).
    network = models.build("classifier", "small", base_filters=4)
    decoding = classifier.ab_model(network).get_layer("annealed_mean")
    assert decoding.quantizer.temperature == pytest.approx(0.38)
    assert classifier.AnnealedMeanDecoding().quantizer.temperature == pytest.approx(0.38)


def test_soft_encoding_decodes_back_to_within_half_a_bin(face_lightness_ab):
    _, ab = face_lightness_ab
    quantizer = color.ABQuantizer()
    logits = tf.math.log(quantizer.soft_encode(ab))
    annealed = classifier.AnnealedMeanDecoding()(logits)
    assert np.abs(annealed - ab).max() < quantizer.grid_size / 2
    mean = classifier.AnnealedMeanDecoding(temperature=1.0)(logits)
    assert np.abs(mean - ab).mean() < 0.5


def test_a_loaded_classifier_decodes_with_the_grid_it_was_built_with(face_lightness_ab, tmp_path):
    lightness, _ = face_lightness_ab
    network = models.build("classifier", "small", grid_size=20.0)
    coarse_bins = color.ABQuantizer(grid_size=20.0).num_bins
    assert network.output.shape[-1] == coarse_bins < color.ABQuantizer().num_bins
    network.save(tmp_path / "coarse.keras")
    loaded = classifier.ab_model(keras.saving.load_model(tmp_path / "coarse.keras"))
    assert loaded.get_layer("annealed_mean").quantizer.num_bins == coarse_bins
    np.testing.assert_array_equal(
        loaded.predict(lightness, verbose=0),
        classifier.ab_model(network).predict(lightness, verbose=0),
    )


def test_ab_model_keras_file_and_saved_model_round_trips(face_lightness_ab, tmp_path):
    lightness, _ = face_lightness_ab
    network = models.build("classifier", "small")
    assert models.inference_model("classifier", network).output_shape == (None, SMALL, SMALL, 2)
    colorizer = classifier.ab_model(network, temperature=0.5)
    expected = colorizer.predict(lightness, verbose=0)
    colorizer.save(tmp_path / "colorizer.keras")
    loaded = keras.saving.load_model(tmp_path / "colorizer.keras")
    assert loaded.get_layer("annealed_mean").quantizer.temperature == 0.5
    np.testing.assert_array_equal(loaded.predict(lightness, verbose=0), expected)
    colorizer.export(tmp_path / "colorizer", verbose=False)
    saved_model = tf.saved_model.load(str(tmp_path / "colorizer"))
    np.testing.assert_allclose(saved_model.serve(lightness), expected, atol=1e-5)


@pytest.mark.slow
def test_overfitting_faces_moves_decoded_ab_toward_the_truth(face_lightness_ab):
    lightness, ab = face_lightness_ab
    keras.utils.set_random_seed(0)
    # Half the small preset's channels: this width fits 8 faces within 30 steps.
    network = models.build("classifier", "small", base_filters=8)
    colorizer = classifier.ab_model(network)
    error_before = np.abs(colorizer.predict(lightness, verbose=0) - ab).mean()
    loss = classifier.training_loss(network, [ab])
    assert isinstance(loss, losses.RebalancedCrossEntropy)
    network.compile(keras.optimizers.Adam(1e-3), loss=loss)
    history = network.fit(lightness, ab, batch_size=8, epochs=30, verbose=0).history
    error_after = np.abs(colorizer.predict(lightness, verbose=0) - ab).mean()
    assert history["loss"][-1] < history["loss"][0]
    assert error_after < error_before


@pytest.mark.slow
def test_regression_head_trains_with_the_papers_eq2_huber(face_lightness_ab):
    lightness, ab = face_lightness_ab
    keras.utils.set_random_seed(0)
    network = models.build("classifier", "small", head="regression", base_filters=8)
    assert classifier.ab_model(network) is network
    loss = classifier.training_loss(network, [ab])
    assert isinstance(loss, losses.HuberEq2) and loss.threshold == 1.0
    network.compile(keras.optimizers.Adam(1e-3), loss=loss)
    history = network.fit(lightness, ab, batch_size=8, epochs=12, verbose=0).history
    assert history["loss"][-1] <= 0.5 * history["loss"][0]


def test_empirical_distribution_is_the_nearest_bin_histogram(face_lightness_ab):
    lightness, ab = face_lightness_ab
    quantizer = color.ABQuantizer()
    pairs = tf.data.Dataset.from_tensor_slices((lightness, ab)).batch(3)
    distribution = classifier.empirical_bin_distribution(pairs, quantizer)

    pixels = ab.reshape(-1, 2)
    distances = ((pixels[:, None, :] - quantizer.bins[None]) ** 2).sum(axis=-1)
    expected = np.bincount(distances.argmin(axis=1), minlength=quantizer.num_bins) / len(pixels)
    np.testing.assert_allclose(distribution, expected, atol=1e-12)
    first_batch = classifier.empirical_bin_distribution(pairs.repeat(), quantizer, max_batches=1)
    np.testing.assert_allclose(
        first_batch, classifier.empirical_bin_distribution([ab[:3]], quantizer), atol=1e-12
    )
    with pytest.raises(ValueError, match="repeats"):
        classifier.empirical_bin_distribution(pairs.repeat(), quantizer)
    with pytest.raises(ValueError, match="no pixels"):
        classifier.empirical_bin_distribution([], quantizer)


def test_rebalancing_weights_favour_rare_bins_with_unit_expectation(face_lightness_ab):
    _, ab = face_lightness_ab
    quantizer = color.ABQuantizer()
    distribution = classifier.empirical_bin_distribution([ab], quantizer)
    # Without smoothing the weights are a function of p alone: falling in p, E_p[w] = 1.
    weights = quantizer.rebalancing_weights(distribution, smoothing_sigma=1e-3)
    assert np.sum(distribution * weights) == pytest.approx(1.0, abs=1e-5)
    order = np.argsort(distribution)
    assert np.all(np.diff(weights[order]) <= 1e-6)
    assert weights[order[-1]] < 1.0 < weights[order[0]]
    # The loss's (smoothed) weights still give the commonest bin less than an unseen one.
    loss_weights = classifier.training_loss(models.build("classifier", "small"), [ab]).class_weights
    assert loss_weights[distribution.argmax()] < 1.0 < loss_weights[distribution == 0].min()
    # A larger lambda rebalances less: the weights' spread shrinks, and lambda 1 is plain CE.
    milder = classifier.training_loss(models.build("classifier", "small"), [ab], rebalancing_mix=0.75).class_weights
    assert np.ptp(milder) < 0.5 * np.ptp(loss_weights)
    uniform = classifier.training_loss(models.build("classifier", "small"), [ab], rebalancing_mix=1.0).class_weights
    np.testing.assert_allclose(uniform, 1.0, rtol=1e-5)
    with pytest.raises(ValueError, match="rebalancing_mix"):
        classifier.training_loss(models.build("classifier", "small"), [ab], rebalancing_mix=0.0)


def test_rebalanced_cross_entropy_equals_the_dense_soft_target_definition():
    # The reference is built in numpy from the paper's definition alone (eq. 2-4), not with
    # the quantizer's own soft encoding: each pixel's target is its 5 nearest bins weighted by
    # a Gaussian (sigma 5) of the distance, normalised; the pixel weight is its nearest bin's.
    rng = np.random.default_rng(0)
    quantizer = color.ABQuantizer()
    bins = quantizer.bins.astype(np.float64)
    ab = rng.uniform(-60.0, 60.0, (2, 8, 8, 2)).astype(np.float32)
    logits = rng.normal(size=(2, 8, 8, quantizer.num_bins)).astype(np.float32)
    class_weights = rng.uniform(0.5, 2.0, quantizer.num_bins).astype(np.float32)

    distances = np.sqrt(((ab[..., None, :].astype(np.float64) - bins) ** 2).sum(-1))
    nearest = np.argsort(distances, axis=-1)[..., :5]
    gaussian = np.exp(-np.take_along_axis(distances, nearest, -1) ** 2 / (2 * 5.0**2))
    target = np.zeros(logits.shape)
    np.put_along_axis(target, nearest, gaussian / gaussian.sum(-1, keepdims=True), -1)
    assert np.allclose(target.sum(-1), 1.0) and np.all((target > 0).sum(-1) == 5)

    log_probabilities = logits - np.log(np.exp(logits.astype(np.float64)).sum(-1, keepdims=True))
    pixel_weights = class_weights[nearest[..., 0]]
    expected = (-(target * log_probabilities).sum(-1) * pixel_weights).mean(axis=(1, 2))
    loss = losses.RebalancedCrossEntropy(class_weights=class_weights)
    np.testing.assert_allclose(loss.call(ab, logits), expected, rtol=1e-5)


# --- conditional-GAN losses --------------------------------------------------------------


def _bce_with_logits(logits, label):
    """Binary cross-entropy of sigmoid(logits) against `label`, averaged, by hand in numpy."""
    probability = 1.0 / (1.0 + np.exp(-np.asarray(logits, np.float64)))
    return float(np.mean(-(label * np.log(probability) + (1 - label) * np.log(1 - probability))))


def test_discriminator_loss_calls_real_one_and_fake_zero():
    rng = np.random.default_rng(0)
    real_logits = rng.normal(size=(2, 6, 6, 1)).astype(np.float32)
    fake_logits = rng.normal(size=(2, 6, 6, 1)).astype(np.float32)
    expected = 0.5 * (_bce_with_logits(real_logits, 1.0) + _bce_with_logits(fake_logits, 0.0))
    assert float(losses.discriminator_loss(real_logits, fake_logits)) == pytest.approx(expected, rel=1e-5)
    # A discriminator that is sure and right loses nothing; sure and wrong, a lot (about 10).
    confident = np.full((2, 6, 6, 1), 10.0, np.float32)
    assert float(losses.discriminator_loss(confident, -confident)) < 1e-3
    assert float(losses.discriminator_loss(-confident, confident)) == pytest.approx(10.0, abs=1e-3)


@pytest.mark.parametrize(("name", "weight"), [("pix2pix", 1.0), ("unet_gan", 0.5)])
def test_gans_report_their_discriminator_loss_weight(name, weight):
    # Zhang, section II.B: D's loss is "the sum" of its two cross-entropies; unet_gan's paper
    # is silent and keeps Isola et al.'s half.
    keras.utils.set_random_seed(0)
    gan = models.build(name, "small")
    gan.compile()
    rng = np.random.default_rng(0)
    inputs = tf.constant(rng.uniform(-1.0, 1.0, (2, *gan.input_shape[1:])), tf.float32)
    targets = tf.constant(rng.uniform(0.0, 1.0, (2, *gan.output_shape[1:])), tf.float32)
    reported = float(gan.test_step((inputs, targets))["d"])
    fake = gan.generator(inputs, training=False)
    real_logits = gan.discriminate(inputs, targets, training=False).numpy()
    fake_logits = gan.discriminate(inputs, fake, training=False).numpy()
    expected = weight * (_bce_with_logits(real_logits, 1.0) + _bce_with_logits(fake_logits, 0.0))
    assert reported == pytest.approx(expected, rel=1e-4)


def test_generator_adversarial_loss_wants_its_fakes_called_real():
    fake_logits = np.random.default_rng(1).normal(size=(2, 6, 6, 1)).astype(np.float32)
    assert float(losses.generator_adversarial_loss(fake_logits)) == pytest.approx(
        _bce_with_logits(fake_logits, 1.0), rel=1e-5
    )
    confident = np.full((2, 6, 6, 1), 10.0, np.float32)
    assert float(losses.generator_adversarial_loss(confident)) < 1e-3  # D fooled
    assert float(losses.generator_adversarial_loss(-confident)) == pytest.approx(10.0, abs=1e-3)


def test_pix2pix_discriminator_is_conditioned_on_the_sketch():
    # pix2pix's D judges (sketch, image) pairs: the same image under another sketch must get
    # other logits, and the logits are the discriminator's on [sketch, image] in that order.
    keras.utils.set_random_seed(0)
    gan = models.build("pix2pix", "small", base_filters=4, depth=3)
    rng = np.random.default_rng(0)
    image, sketch, other_sketch = rng.uniform(-1.0, 1.0, (3, 1, SMALL, SMALL, 3)).astype(np.float32)
    logits = gan.discriminate(sketch, image, training=False).numpy()
    np.testing.assert_allclose(logits, gan.discriminator([sketch, image], training=False), atol=1e-6)
    other = gan.discriminate(other_sketch, image, training=False).numpy()
    assert np.abs(logits - other).mean() > 1e-3 * max(np.abs(logits).mean(), 1e-6)
    swapped = gan.discriminator([image, sketch], training=False).numpy()
    assert not np.allclose(logits, swapped, atol=1e-6)
