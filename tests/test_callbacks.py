"""keras_colorize.callbacks: triplet grids show the real prediction, the loss switches on time."""

import numpy as np
import tensorflow as tf
from PIL import Image

from keras_colorize import callbacks, losses


def _sketch_rgb_batch(count=3, size=8):
    """`sketch_rgb` (input, target) pairs: 3-channel sketches and photos, both in [0, 1]."""
    rng = np.random.default_rng(0)
    sketches = np.repeat(rng.uniform(0, 1, (count, size, size, 1)), 3, axis=-1).astype("float32")
    photos = rng.uniform(0, 1, (count, size, size, 3)).astype("float32")
    return sketches, photos


def test_prediction_triplets_show_input_truth_and_the_predictors_own_output(tmp_path):
    sketches, photos = _sketch_rgb_batch()
    # A prediction unlike the truth (its negative), so a prediction column that showed
    # the ground truth (or the input) could not pass.
    predicted = 1.0 - photos
    calls = []

    def predictor(inputs, training):
        calls.append(training)
        np.testing.assert_array_equal(inputs, sketches)
        return tf.constant(predicted)

    triplets_callback = callbacks.PredictionTriplets(
        sketches, photos, "sketch_rgb", tmp_path / "triplets", predictor=predictor
    )
    triplets = triplets_callback.render()

    assert triplets.shape == (3, 3, 8, 8, 3) and triplets.dtype == np.uint8
    # sketch_rgb decodes as the identity: each column is its [0, 1] image x 255, rounded.
    np.testing.assert_array_equal(triplets[:, 0], np.round(sketches * 255).astype(np.uint8))
    np.testing.assert_array_equal(triplets[:, 1], np.round(photos * 255).astype(np.uint8))
    np.testing.assert_array_equal(triplets[:, 2], np.round(predicted * 255).astype(np.uint8))
    assert calls == [False]  # inference mode: no dropout / batch statistics in the grid

    triplets_callback.on_epoch_end(4)
    grid = np.asarray(Image.open(tmp_path / "triplets" / "epoch_005.png"))
    assert grid.shape[0] > 100 and grid.shape[1] > 100  # 3 x 3 panels, a real PNG


def test_loss_stage_switches_to_the_second_loss_from_the_given_epoch_on():
    switching = losses.SwitchingLoss("mae", "mse")
    stage = callbacks.LossStage(switching, at_epoch=3)
    y_true = tf.constant([[0.0, 0.0]])
    y_pred = tf.constant([[0.5, 1.5]])
    mae, mse = (0.5 + 1.5) / 2, (0.25 + 2.25) / 2  # by hand

    seen = []
    for epoch in (0, 2, 3, 4):
        stage.on_epoch_begin(epoch)
        seen.append((int(switching.stage.numpy()), float(switching(y_true, y_pred))))
    # Epoch 3 (0-based) is the first with the second loss, not epoch 4.
    assert seen == [(0, mae), (0, mae), (1, mse), (1, mse)]
    # Keyed on the epoch number: a run resumed before the switch goes back to the first loss.
    stage.on_epoch_begin(1)
    assert int(switching.stage.numpy()) == 0 and float(switching(y_true, y_pred)) == mae
