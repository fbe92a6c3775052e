"""Keras callbacks used in training: prediction triplets, loss switching, GAN phases, summaries,
the best checkpoint."""

import math
import os
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from keras_colorize import inference
from keras_colorize.errors import TrainingError
from keras_colorize.exporting import save_keras
from keras_colorize.plotting import image_grid


class PredictionTriplets(keras.callbacks.Callback):
    """Each epoch, render fixed validation samples as input / ground truth / prediction.

    Writes `out_dir/epoch_NNN.png` and, with `log_dir`, logs the same images to TensorBoard.
    `predictor` maps a model input batch to outputs in the element format's target encoding
    (defaults to the model being trained).
    """

    def __init__(self, inputs, targets, element_format, out_dir, log_dir=None, predictor=None):
        super().__init__()
        self.inputs = np.asarray(inputs)
        self.element_format = element_format
        self.out_dir = Path(out_dir)
        self.log_dir = log_dir
        self.predictor = predictor
        self._writer = None
        # The input and truth columns never change: rendered once.
        self._shown = inference.to_uint8(inference.inputs_to_rgb(element_format, self.inputs)).numpy()
        self._truth = self._rgb(np.asarray(targets))

    def _rgb(self, outputs):
        return inference.to_uint8(
            inference.outputs_to_rgb(self.element_format, self.inputs, outputs)
        ).numpy()

    def render(self):
        predictor = self.predictor or self.model
        predictions = predictor(self.inputs, training=False)
        return np.stack([self._shown, self._truth, self._rgb(predictions)], axis=1)

    def on_epoch_end(self, epoch, logs=None):
        triplets = self.render()
        image_grid(triplets, self.out_dir / f"epoch_{epoch + 1:03d}.png", f"epoch {epoch + 1}")
        if self.log_dir:
            if self._writer is None:
                self._writer = tf.summary.create_file_writer(str(Path(self.log_dir) / "triplets"))
            strips = np.concatenate(list(np.moveaxis(triplets, 1, 0)), axis=2)
            with self._writer.as_default():
                tf.summary.image("input | truth | prediction", strips, step=epoch, max_outputs=8)
            self._writer.flush()


class LossStage(keras.callbacks.Callback):
    """Sets a `losses.SwitchingLoss` to its second loss from epoch `at_epoch` (0-based) on.

    Keyed on the epoch number, so a resumed run switches at the same epoch.
    """

    def __init__(self, loss, at_epoch):
        super().__init__()
        self.loss = loss
        self.at_epoch = int(at_epoch)

    def on_epoch_begin(self, epoch, logs=None):
        second = epoch >= self.at_epoch
        if second != bool(self.loss.stage.numpy()):
            print(f"\nEpoch {epoch + 1}: training with {self.loss.second.name if second else self.loss.first.name}")
        self.loss.stage.assign(1.0 if second else 0.0)


class DiscriminatorWarmup(keras.callbacks.Callback):
    """GAN training with the discriminator alone for the first `epochs` epochs, then both.

    The LAB U-Net GAN's first phase (Varjas & Vitanov, sec. 3.2); keyed on the epoch number,
    so a resumed run is in the right phase.
    """

    def __init__(self, epochs):
        super().__init__()
        self.epochs = int(epochs)

    def on_epoch_begin(self, epoch, logs=None):
        self.model.train_generator = epoch >= self.epochs


class StopOnDivergence(keras.callbacks.Callback):
    """Raise a TrainingError at the first batch whose losses are not all finite: the weights
    are lost, and the run failed.

    Unlike TerminateOnNaN's graceful stop, raising skips the epoch's end, so neither the
    history, the best checkpoint nor the backup takes in the broken epoch, and `train` writes
    no model: a resumed run restarts from the last good epoch. GANs log g_loss and d_loss.
    """

    def __init__(self, run_dir):
        super().__init__()
        self.run_dir = run_dir
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        for name, value in (logs or {}).items():
            if name.endswith("loss") and not math.isfinite(float(value)):
                raise TrainingError(
                    f"{self.run_dir}: training failed: {name} became {float(value)} at epoch "
                    f"{self._epoch + 1}, batch {batch + 1}; no model written. Run again with a lower "
                    "--lr (or check the data) to resume from the last finished epoch"
                )


class EpochSummary(keras.callbacks.Callback):
    """One line per epoch: the losses, the epoch's wall time and its training images/s.

    The rate counts the training steps only (up to the epoch's last batch), not validation
    and the callbacks that follow it. The wall time also goes into the logs as `epoch_seconds`
    for the callbacks after this one (the history CSV): a resumed run's time is their sum.
    """

    def __init__(self, images_per_epoch):
        super().__init__()
        self.images_per_epoch = images_per_epoch
        self._started = self._last_batch_end = 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self._started = self._last_batch_end = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        self._last_batch_end = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        seconds = time.perf_counter() - self._started
        training_seconds = max(self._last_batch_end - self._started, 1e-9)
        losses = "  ".join(f"{name} {value:.4f}" for name, value in sorted((logs or {}).items()))
        print(
            f"\nepoch {epoch + 1}: {losses}  {seconds:.1f} s  "
            f"{self.images_per_epoch / training_seconds:.1f} img/s",
            flush=True,
        )
        if logs is not None:
            logs["epoch_seconds"] = round(seconds, 3)


class ResumableHistory(keras.callbacks.CSVLogger):
    """`CSVLogger(path, append=True)` for a run that resumes from its backup: at its first epoch
    it cuts the history before the rows of that epoch and later ones. The row is written before
    the backup, so a run killed between the two trains that epoch again and logs it once more.
    """

    def __init__(self, path):
        super().__init__(str(path), append=True)
        self._first_epoch = None

    def on_epoch_begin(self, epoch, logs=None):
        if self._first_epoch is None:
            self._first_epoch = epoch
            _cut_history(Path(self.filename), epoch)


def _cut_history(path, epoch):
    """Truncate a CSV history (rows in epoch order) at its first row of `epoch` or later; done in
    place, as CSVLogger already holds the file open for appending."""
    if not path.is_file():
        return
    with open(path, "rb") as history:
        kept = len(history.readline())  # the header
        for row in history:
            first = row.split(b",", 1)[0].strip()
            if first.isdigit() and int(first) >= epoch:
                os.truncate(path, kept)
                return
            kept += len(row)


class BestCheckpoint(keras.callbacks.Callback):
    """Saves the model to `path` at each epoch whose `monitor` value is the lowest yet.

    Unlike `keras.callbacks.ModelCheckpoint` it writes through a temporary file, so a run
    killed mid-save keeps its last good checkpoint, and it starts from `best`: a resumed run
    passes the lowest value its history holds, so that its first epoch cannot replace a
    better checkpoint.
    """

    def __init__(self, path, monitor, best=math.inf):
        super().__init__()
        self.path = Path(path)
        self.monitor = monitor
        self.best = best

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is not None and value < self.best:
            self.best = float(value)
            save_keras(self.model, self.path)
