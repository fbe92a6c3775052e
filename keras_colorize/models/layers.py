"""Layers shared by the models.

`FusedBatchNormalization` is Keras's `BatchNormalization` computed by TensorFlow's fused
kernel. Keras 3 normalizes with separate moment, subtract, scale and shift ops; on this CPU
those memory-bound passes cost as much as the 16-64-channel convolutions around them
(measured: the small U-Net trains 19% faster fused, see benchmarks/training_speed.py). Same
variables in the same order and the same maths, so weights saved from either layer load
into the other (the shipped weights predate this layer).
"""

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="keras_colorize")
class FusedBatchNormalization(keras.layers.BatchNormalization):
    """`keras.layers.BatchNormalization` over the last axis of NHWC images, one fused op.

    Anything the fused kernel does not cover (another backend, another axis or rank, masks,
    renorm, synchronized statistics) falls back to the Keras layer.
    """

    def _fusable(self, inputs, mask):
        return (
            keras.backend.backend() == "tensorflow"
            and len(inputs.shape) == 4
            and self.axis in (-1, 3)
            and mask is None
            and self.scale
            and self.center
            and not self.renorm
            and not self.synchronized
        )

    def call(self, inputs, training=None, mask=None):
        if not self._fusable(inputs, mask):
            return super().call(inputs, training=training, mask=mask)
        # The kernel's statistics are float32 whatever the input; float32 in keeps it simple
        # and matches the Keras layer, which upcasts too.
        x = tf.cast(inputs, tf.float32)
        if training and self.trainable:
            outputs, mean, variance = tf.compat.v1.nn.fused_batch_norm(
                x, self.gamma, self.beta, epsilon=self.epsilon, is_training=True
            )
            # The kernel returns the unbiased batch variance; Keras tracks the biased one.
            count = tf.cast(tf.size(x) // tf.shape(x)[-1], tf.float32)
            variance = variance * (count - 1.0) / count
            self.moving_mean.assign(self.moving_mean * self.momentum + mean * (1.0 - self.momentum))
            self.moving_variance.assign(
                self.moving_variance * self.momentum + variance * (1.0 - self.momentum)
            )
        else:
            outputs, _, _ = tf.compat.v1.nn.fused_batch_norm(
                x,
                self.gamma,
                self.beta,
                mean=self.moving_mean,
                variance=self.moving_variance,
                epsilon=self.epsilon,
                is_training=False,
            )
        return tf.cast(outputs, self.compute_dtype)


@keras.saving.register_keras_serializable(package="keras_colorize")
class ResizeUpSampling2D(keras.layers.UpSampling2D):
    """`keras.layers.UpSampling2D` as one TensorFlow resize op, for graphs that take images of
    any size (`models.at_any_size`): Keras's bilinear one checks its output size in Python,
    which a size known only at run time fails, and its nearest one repeats by reshapes that
    TFLite freezes to one shape. Integer factors give the same values either way."""

    def call(self, inputs):
        if keras.backend.backend() != "tensorflow" or self.data_format != "channels_last":
            return super().call(inputs)
        size = tf.shape(inputs)[1:3] * tf.constant(self.size, tf.int32)
        return tf.cast(tf.image.resize(inputs, size, method=self.interpolation), inputs.dtype)
