"""Every loss the models train with, in one place.

Pixel losses are Keras's own (`get("mse" | "mae" | "huber")`); the rest are here:
`HuberEq2` ("huber_eq2", the classifier's regression baseline), `SSIMLoss` (the LAB U-Net's
second stage), `PerceptualLoss` ("perceptual", for RGB targets), `SumLoss` ("mse+ssim",
"mse+perceptual"), `RebalancedCrossEntropy` (Zhang et al. 2016
class-rebalanced multinomial loss over quantized ab bins) and the conditional-GAN losses
(`generator_adversarial_loss`, `discriminator_loss`).

"huber" is Keras's Huber, 0.5 u^2 below delta and delta (|u| - delta / 2) above: half of
Sayyed et al.'s eq. 2, which is `HuberEq2`.
"""

import functools

import keras
import numpy as np
import tensorflow as tf

from keras_colorize import metrics, pretrained
from keras_colorize.color import ABQuantizer

# MobileNet v1's second and third stride blocks (1/4 and 1/8 of the size, 96 and 192 channels
# at alpha 0.75): edges, strokes and small textures such as eyes and hair, not ImageNet classes.
PERCEPTUAL_LAYERS = ("conv_pw_3_relu", "conv_pw_5_relu")
# "mse+perceptual"'s weight, measured on 64 CelebA test faces: a 1.5 px Gaussian blur costs
# 0.0019 MSE and 0.33 perceptual loss, so 0.006 weighs blur in both terms alike; the mean face
# costs 0.074 MSE and 1.18 perceptual, so colour and shape still lead.
PERCEPTUAL_WEIGHT = 0.006

_binary_crossentropy = keras.losses.BinaryCrossentropy(from_logits=True)


@keras.saving.register_keras_serializable(package="keras_colorize")
class SSIMLoss(keras.losses.Loss):
    """1 - `metrics.ssim` (the SSIM `evaluate.py` reports) of images whose values lie in
    `value_range`, mapped to [0, 1] first: SSIM's constants are fractions of the range, and
    its luminance term is not shift-invariant (fusion's ab/128 targets span [-1, 1])."""

    def __init__(self, value_range=(0.0, 1.0), name="ssim_loss", **kwargs):
        super().__init__(name=name, **kwargs)
        self.value_range = tuple(value_range)

    def call(self, y_true, y_pred):
        low, high = self.value_range
        return 1.0 - metrics.ssim((y_true - low) / (high - low), (y_pred - low) / (high - low), max_val=1.0)

    def get_config(self):
        return {**super().get_config(), "value_range": list(self.value_range)}


@keras.saving.register_keras_serializable(package="keras_colorize")
class PerceptualLoss(keras.losses.Loss):
    """Johnson et al. (2016)'s feature reconstruction loss with the frozen ImageNet MobileNet
    (`pretrained.mobilenet`) for VGG: the mean squared difference of its activations at
    `layers`, averaged over the layers, for RGB images in `value_range` (mapped to [0, 1]).

    A pixel loss rewards the blurred mean of all faces a sketch could be; early ImageNet
    features respond to edges and textures, so a blurred face costs more here. `weights` as
    `pretrained.mobilenet` takes them (None: random, for tests that need no files).
    """

    def __init__(self, value_range=(0.0, 1.0), layers=PERCEPTUAL_LAYERS, weights="imagenet",
                 name="perceptual_loss", **kwargs):
        super().__init__(name=name, **kwargs)
        self.value_range = tuple(value_range)
        self.layers = tuple(layers)
        self.weights = weights
        network = pretrained.mobilenet(weights=weights, input_shape=(None, None, 3))
        self.features = keras.Model(
            network.input, [network.get_layer(layer).output for layer in self.layers], name="perceptual_features"
        )

    def call(self, y_true, y_pred):
        low, high = self.value_range
        images = (tf.concat([tf.cast(y_true, tf.float32), tf.cast(y_pred, tf.float32)], 0) - low) / (high - low)
        differences = [
            _per_sample(tf.square(tf.cast(true - predicted, tf.float32)))
            for true, predicted in (tf.split(features, 2) for features in self.features(pretrained.preprocess(images)))
        ]
        return tf.add_n(differences) / len(differences)

    def get_config(self):
        return {**super().get_config(), "value_range": list(self.value_range), "layers": list(self.layers),
                "weights": self.weights}


@keras.saving.register_keras_serializable(package="keras_colorize")
class HuberEq2(keras.losses.Loss):
    """Sayyed et al.'s eq. 2 (section V.C.2), the Huber penalty of residual u with threshold M:
    u^2 where |u| < M, M (2|u| - M) above; averaged over the elements of each sample.

    Twice Keras's `Huber(delta=M)`, so its values are the paper's; the paper gives no M, and 1
    (in the targets' units: one ab unit for the regression baseline) is Keras's default delta.
    """

    def __init__(self, threshold=1.0, name="huber_eq2", **kwargs):
        super().__init__(name=name, **kwargs)
        self.threshold = float(threshold)

    def call(self, y_true, y_pred):
        residual = tf.abs(tf.cast(y_pred, tf.float32) - tf.cast(y_true, tf.float32))
        quadratic = tf.square(residual)
        linear = self.threshold * (2.0 * residual - self.threshold)
        return _per_sample(tf.where(residual < self.threshold, quadratic, linear))

    def get_config(self):
        return {**super().get_config(), "threshold": self.threshold}


@keras.saving.register_keras_serializable(package="keras_colorize")
class RebalancedCrossEntropy(keras.losses.Loss):
    """Zhang et al. (2016) eq. 2-4: soft-encoded ab targets, per-pixel rebalancing weights.

    y_true: ab in CIELAB units, (N, H, W, 2), at any resolution (area-resized to the
    prediction's); y_pred: logits over the quantizer's bins, (N, h, w, Q).
    `class_weights` of None means uniform weights (no rebalancing).
    """

    def __init__(self, quantizer_config=None, class_weights=None, name="rebalanced_ce", **kwargs):
        super().__init__(name=name, **kwargs)
        self.quantizer_config = dict(quantizer_config or {})
        self.quantizer = ABQuantizer(**self.quantizer_config)
        if class_weights is None:
            class_weights = np.ones(self.quantizer.num_bins, np.float32)
        self.class_weights = np.asarray(class_weights, np.float32)
        if self.class_weights.shape != (self.quantizer.num_bins,):
            raise ValueError(
                f"class_weights has shape {self.class_weights.shape}; "
                f"the quantizer has {self.quantizer.num_bins} bins"
            )

    def call(self, y_true, y_pred):
        logits = tf.cast(y_pred, tf.float32)
        ab = tf.image.resize(tf.cast(y_true, tf.float32), tf.shape(logits)[1:3], method="area")
        # -sum_q target_q log softmax_q = logsumexp - sum_k w_k logit_{bin_k}, over the
        # neighbours only: the dense target would be Q/neighbours times larger.
        bins, target = self.quantizer.nearest_bins(ab)
        pixel_weights = tf.gather(self.class_weights, bins[..., 0])
        target_logits = tf.reduce_sum(target * tf.gather(logits, bins, batch_dims=3), axis=-1)
        cross_entropy = tf.reduce_logsumexp(logits, axis=-1) - target_logits
        return tf.reduce_mean(cross_entropy * pixel_weights, axis=[1, 2])

    def get_config(self):
        return {
            **super().get_config(),
            "quantizer_config": self.quantizer_config,
            "class_weights": self.class_weights.tolist(),
        }


def _per_sample(values):
    """A loss's values (per pixel or per image) -> one mean per sample."""
    return tf.reduce_mean(tf.reshape(values, [tf.shape(values)[0], -1]), axis=-1)


@keras.saving.register_keras_serializable(package="keras_colorize")
class SwitchingLoss(keras.losses.Loss):
    """`first` until `stage` is set to 1, then `second` (the LAB U-Net trains MAE, then SSIM).

    `stage` is a variable so that an already compiled train step follows the switch;
    `callbacks.LossStage` sets it by epoch.
    """

    def __init__(self, first="mae", second="ssim", stage=0, value_range=(0.0, 1.0), name="switching_loss",
                 **kwargs):
        super().__init__(name=name, **kwargs)
        self.first_name, self.second_name = first, second
        self.value_range = tuple(value_range)
        self.first, self.second = get(first, self.value_range), get(second, self.value_range)
        self.stage = tf.Variable(float(stage), trainable=False, name="loss_stage")

    def call(self, y_true, y_pred):
        # A conditional, not a blend of both: the idle loss would still be computed and
        # differentiated (SSIM's Gaussian filtering was a sixth of the small U-Net's step).
        return tf.cond(
            self.stage > 0.5,
            lambda: _per_sample(self.second.call(y_true, y_pred)),
            lambda: _per_sample(self.first.call(y_true, y_pred)),
        )

    def get_config(self):
        # The stage too: a model saved after the switch must go on with the second loss.
        return {**super().get_config(), "first": self.first_name, "second": self.second_name,
                "stage": int(self.stage.numpy()), "value_range": list(self.value_range)}


@keras.saving.register_keras_serializable(package="keras_colorize")
class SumLoss(keras.losses.Loss):
    """`first` + `weight` x `second`, per sample: "mse+ssim" keeps the colours MSE learns and
    adds the structure SSIM rewards (SSIM alone lets colours drift: it barely weighs means)."""

    def __init__(self, first="mse", second="ssim", weight=0.1, value_range=(0.0, 1.0), name="sum_loss",
                 **kwargs):
        super().__init__(name=name, **kwargs)
        self.first_name, self.second_name, self.weight = first, second, weight
        self.value_range = tuple(value_range)
        self.first, self.second = get(first, self.value_range), get(second, self.value_range)

    def call(self, y_true, y_pred):
        first = _per_sample(self.first.call(y_true, y_pred))
        second = _per_sample(self.second.call(y_true, y_pred))
        return first + self.weight * second

    def get_config(self):
        return {**super().get_config(), "first": self.first_name, "second": self.second_name,
                "weight": self.weight, "value_range": list(self.value_range)}


def generator_adversarial_loss(fake_logits):
    """The generator wants the discriminator to call its output real."""
    return _binary_crossentropy(tf.ones_like(fake_logits), fake_logits)


def discriminator_loss(real_logits, fake_logits, weight=0.5):
    """weight x (BCE(real, 1) + BCE(fake, 0)): Isola et al.'s pix2pix halves the sum (weight
    0.5) "to slow down the rate at which D learns"; Zhang's sketch-to-colour GAN takes the sum."""
    real = _binary_crossentropy(tf.ones_like(real_logits), real_logits)
    fake = _binary_crossentropy(tf.zeros_like(fake_logits), fake_logits)
    return weight * (real + fake)


_RANGE_AWARE = ("ssim", "mse+ssim", "perceptual", "mse+perceptual")
RGB_ONLY = ("perceptual", "mse+perceptual")  # losses that see targets as sRGB images
_PIXEL_LOSSES = {
    "mse": keras.losses.MeanSquaredError,
    "mae": keras.losses.MeanAbsoluteError,
    "huber": keras.losses.Huber,
    "huber_eq2": HuberEq2,
    "ssim": SSIMLoss,
    "mse+ssim": SumLoss,
    "perceptual": PerceptualLoss,
    "mse+perceptual": functools.partial(SumLoss, second="perceptual", weight=PERCEPTUAL_WEIGHT),
}


def get(name, value_range=(0.0, 1.0)):
    """A pixel loss by name: mse, mae, huber (Keras's, delta 1), huber_eq2 (Sayyed et al.'s
    eq. 2, M 1), ssim, mse+ssim, perceptual, mse+perceptual (MSE + `PERCEPTUAL_WEIGHT` x
    perceptual; RGB targets only); `value_range` is the targets' (`data.ElementFormat.target_range`),
    which SSIM and the perceptual loss need."""
    if name not in _PIXEL_LOSSES:
        raise ValueError(f"unknown loss {name!r}; choose from {sorted(_PIXEL_LOSSES)}")
    loss_class = _PIXEL_LOSSES[name]
    return loss_class(value_range=value_range) if name in _RANGE_AWARE else loss_class()
