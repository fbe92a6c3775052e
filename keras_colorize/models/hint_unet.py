"""A colorizer that follows the user's colour hints: L plus a sparse map of hinted ab in,
ab out; with no hints it colorizes on its own.

After Zhang et al. 2017, "Real-Time User-Guided Image Colorization with Learned Deep Priors"
(SIGGRAPH; "SIGGRAPH17"), the local-hints network: the gray image and the user's points, each
an ab value with a mask (sec. 3.1), go through a network whose output is regressed to the true
ab with the smooth-L1 (Huber, delta 1) loss (sec. 3.3); training reveals points of the ground
truth at random (sec. 3.2, `keras_colorize.hints.simulated`), a geometric number of them, so
the network learns both to spread hints and to colorize where none are given. Built on this
package's `mobilenet_unet`: its frozen ImageNet MobileNet encoder, U-Net decoder and ab-bin
head, started from a shipped automatic model (`automatic_weights`), whose annealed-mean colours
the hint head corrects. Inputs: L/100 ("lightness") and the hint map ("hints",
`keras_colorize.hints.encode`); element format "l_ab".

Layer table (`small` preset, 128x128 input; every conv 3x3 ReLU unless said):

| part          | layer                                                         | output          |
|---------------|---------------------------------------------------------------|-----------------|
| automatic     | `mobilenet_unet`: MobileNet v1 0.75 (frozen), decoder, ab-bin logits | 32 px x 64, 261 |
|               | annealed mean of the logits                                   | 32 px x 2 ab    |
| hint fields   | hint map pooled to 32 px, normalized convolution, sigma 1/3/8 px: hinted ab, density | 32 px x 9 |
| hint encoder  | concat(L, hints) -> conv 16; conv stride 2: 32, 64             | 128/64/32 px    |
| hint head     | concat(decoder, automatic ab, fields, hint 32 px) -> conv 64, conv 64 | 32 px x 64 |
|               | bilinear x2, concat hint 64 px, conv 32                        | 64 px x 32      |
|               | bilinear x2, concat hint 128 px, conv 16                       | 128 px x 16     |
| output        | automatic ab bilinear x4 + 1x1 conv (zero at the start) x `color.AB_OFFSET` | 128 px x 2 ab |

Departures from SIGGRAPH17, and why:
- The automatic part is a frozen ImageNet MobileNet with this package's decoder and bins, started
  from a trained automatic model, where they train a VGG-style network from scratch on 1.3 M
  ImageNet photos: this package trains on a few thousand photos on a 2-core CPU. Started so, the
  model with no hints gives the automatic model's colours from its first step.
- Hints spread by fixed Gaussian normalized convolutions (Knutsson & Westin 1993) beside the
  learned hint encoder, where theirs spread only through the learned network: the long-range
  spreading then needs no training, which this budget cannot give.
- Training weighs the hinted pixels' loss `HINTED_PIXEL_WEIGHT` times, so that the output keeps
  the hinted colours (they are about 1% of the pixels).
- No global hints (their colour histogram and saturation inputs) and no colour-distribution
  side branch (their palette suggestions): only local points.
- Patch sides 1, 3, 5, 7 or 9 px (odd, so a patch has a centre pixel) for their 1 to 9.
- One network at the model's input size, its ab upsampled to the photo's size by `Colorizer`
  as for the other LAB models, where they run at 256 px.
"""

import math

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from keras_colorize import color, hints
from keras_colorize.models import ModelSpec, register
from keras_colorize.models.classifier import AnnealedMeanDecoding
from keras_colorize.models.mobilenet_unet import OUTPUT_STRIDE, AnnealedBinLogits, conv, decoded_features

HINT_FILTERS = (16, 32, 64)  # the hint encoder at 1, 1/2 and 1/4 of the input size
HEAD_FILTERS = (64, 32, 16)  # the hint head at 1/4, 1/2 and 1/1
FIELD_SIGMAS = (1.0, 3.0, 8.0)  # the hint fields' spreads, in pixels at 1/4 of the input size
HINTED_PIXEL_WEIGHT = 10.0
GATE_BIAS = 2.0  # the field gates start at sigmoid(2) = 0.88: hints spread before any training
CORRECTION_LAYER = "ab_correction"  # the layer whose output corrects the automatic colours


@keras.saving.register_keras_serializable(package="keras_colorize")
class HintColorizer(keras.Model):
    """`network([lightness, hints]) -> ab`, trained on (L, ab) pairs with hints revealed from
    the true ab in every step (`hints.simulated`), the hinted pixels' loss weighed
    `HINTED_PIXEL_WEIGHT` times: `fit` takes the "l_ab" pairs of the other LAB models. Its
    graph is the network's, so `predict` and the exports see the colorizer."""

    def __init__(self, network, seed=0, **kwargs):
        inputs = [keras.Input(tensor.shape[1:], name=tensor.name) for tensor in network.inputs]
        super().__init__(inputs, network(inputs), **kwargs)
        self.network = network
        self.seed = seed
        self._hint_seeds = keras.random.SeedGenerator(seed)

    def _with_hints(self, data):
        lightness, ab, _ = keras.utils.unpack_x_y_sample_weight(data)
        hint_map, _, _ = hints.simulated(ab, tf.cast(self._hint_seeds.next(), tf.int32))
        pixel_weights = 1.0 + HINTED_PIXEL_WEIGHT * hint_map[..., -1]
        return (lightness, hint_map), ab, pixel_weights

    def train_step(self, data):
        return super().train_step(self._with_hints(data))

    def test_step(self, data):
        return super().test_step(self._with_hints(data))

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "network": keras.saving.serialize_keras_object(self.network),
            "seed": self.seed,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**{**config, "network": keras.saving.deserialize_keras_object(config["network"])})


@keras.saving.register_keras_serializable(package="keras_colorize")
class HintFields(layers.Layer):
    """Hint map (N, H, W, 3) -> dense hint fields (N, H/pool, W/pool, 3 per sigma): at every
    pixel, the Gaussian-weighted mean of the hinted ab around it (normalized convolution: the
    blurred ab x mask over the blurred mask) and how many hinted pixels that mean rests on."""

    def __init__(self, sigmas=FIELD_SIGMAS, pool=OUTPUT_STRIDE, **kwargs):
        super().__init__(**kwargs)
        self.sigmas = tuple(float(sigma) for sigma in sigmas)
        self.pool = int(pool)

    def call(self, hint_map):
        hint_map = tf.cast(hint_map, tf.float32)
        # Channels: ab / AB_OFFSET already times the mask, then the mask.
        pooled = tf.nn.avg_pool2d(hint_map, self.pool, self.pool, "VALID")
        fields = []
        for sigma in self.sigmas:
            blurred = _gaussian_blur(pooled, sigma)
            density = blurred[..., 2:]
            fields += [blurred[..., :2] / tf.maximum(density, 1e-6), _hinted_pixels(density, sigma, self.pool)]
        return tf.concat(fields, axis=-1)

    def compute_output_shape(self, input_shape):
        side = [None if size is None else size // self.pool for size in input_shape[1:3]]
        return (input_shape[0], *side, 3 * len(self.sigmas))

    def get_config(self):
        return {**super().get_config(), "sigmas": list(self.sigmas), "pool": self.pool}


@keras.saving.register_keras_serializable(package="keras_colorize")
class FieldBlend(layers.Layer):
    """[ab (N, h, w, 2), hint fields (N, h, w, 3 per sigma), gates (N, h, w, one per sigma)] ->
    ab moved towards each field's hinted colour, widest first, by gate x the field's density:
    where no hint is near, the ab stays as it was."""

    def call(self, inputs):
        ab, fields, gates = (tf.cast(tensor, tf.float32) for tensor in inputs)
        for index in reversed(range(gates.shape[-1])):
            hinted_ab = color.ab_from_signed(fields[..., 3 * index:3 * index + 2])
            weight = gates[..., index:index + 1] * fields[..., 3 * index + 2:3 * index + 3]
            ab = ab + weight * (hinted_ab - ab)
        return ab

    def compute_output_shape(self, input_shapes):
        return input_shapes[0]


def _gaussian_blur(images, sigma):
    radius = math.ceil(3 * sigma)
    taps = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    taps = tf.constant(taps / taps.sum(), tf.float32)
    channels = images.shape[-1]
    rows = tf.tile(taps[:, tf.newaxis, tf.newaxis, tf.newaxis], [1, 1, channels, 1])
    columns = tf.tile(taps[tf.newaxis, :, tf.newaxis, tf.newaxis], [1, 1, channels, 1])
    images = tf.nn.depthwise_conv2d(images, rows, [1, 1, 1, 1], "SAME")
    return tf.nn.depthwise_conv2d(images, columns, [1, 1, 1, 1], "SAME")


def _hinted_pixels(density, sigma, pool):
    """The blurred mask as a count of hinted input pixels within about sigma, capped at 4, / 4."""
    return tf.minimum(density * 2.0 * math.pi * sigma**2 * pool**2, 4.0) / 4.0


def hint_network(model):
    """The network a Colorizer runs: [L/100, hint map] -> ab in CIELAB units."""
    return model.network


def build_hint_unet(
    image_size=128,
    decoder_filters=None,
    backbone_weights=None,
    backbone_trainable=False,
    automatic_weights=None,
    automatic_trainable=False,
    grid_size=10.0,
    temperature=color.ANNEALED_MEAN_TEMPERATURE,
    seed=0,
):
    """[L/100 (S, S, 1), hint map (S, S, 3)] -> ab (S, S, 2), as a `HintColorizer`.

    decoder_filters: the widths of the decoder's three stages (default `mobilenet_unet`'s).
    backbone_weights: "imagenet" (what `train.py` uses), None (random: for loading trained
    weights over) or a weights path.
    automatic_weights: a shipped `mobilenet_unet` model of the same decoder widths and grid to
    start the automatic part from (the `small` preset: "mobilenet_unet_ce"), or None; give its
    annealed-mean `temperature`. automatic_trainable: train the decoder and bin head too (by
    default only the hint encoder and head train, so no hints still give the automatic colours).
    seed: seeds the hints revealed in training.
    """
    lightness = keras.Input((image_size, image_size, 1), name="lightness")
    hint_map = keras.Input((image_size, image_size, hints.HINT_CHANNELS), name="hints")
    features = decoded_features(lightness, decoder_filters, backbone_weights, backbone_trainable)
    logits = AnnealedBinLogits(grid_size, temperature, dtype="float32", name="ab_logits")(features)
    automatic_ab = AnnealedMeanDecoding(grid_size, temperature, dtype="float32", name="automatic_ab")(logits)
    full, half, quarter = _hint_encoder(layers.Concatenate(name="hint_input")([lightness, hint_map]))
    fields = HintFields(name="hint_fields")(hint_map)
    x = layers.Concatenate(name="head_concat0")([
        features, layers.Rescaling(1 / color.AB_OFFSET, name="automatic_ab_signed")(automatic_ab), fields, quarter,
    ])
    x = conv(conv(x, HEAD_FILTERS[0], "head_conv0a"), HEAD_FILTERS[0], "head_conv0b")
    gates = layers.Conv2D(
        len(FIELD_SIGMAS), 1, activation="sigmoid", kernel_initializer="zeros",
        bias_initializer=keras.initializers.Constant(GATE_BIAS), dtype="float32", name="field_gates",
    )(x)
    guided_ab = FieldBlend(name="field_blend")([automatic_ab, fields, gates])
    for index, (hinted, filters) in enumerate(zip((half, full), HEAD_FILTERS[1:]), 1):
        x = layers.UpSampling2D(interpolation="bilinear", name=f"head_up{index}")(x)
        x = layers.Concatenate(name=f"head_concat{index}")([x, hinted])
        x = conv(x, filters, f"head_conv{index}")
    correction = layers.Conv2D(2, 1, kernel_initializer="zeros", dtype="float32", name=CORRECTION_LAYER)(x)
    upsampled = layers.UpSampling2D(OUTPUT_STRIDE, interpolation="bilinear", dtype="float32", name="guided_ab_up")(
        guided_ab
    )
    correction = layers.Rescaling(color.AB_OFFSET, dtype="float32", name="ab_correction_scaled")(correction)
    ab = layers.Add(dtype="float32", name="ab")([upsampled, correction])
    network = keras.Model([lightness, hint_map], ab, name="hint_unet_network")
    if automatic_weights:
        _start_from(network, automatic_weights)
    for layer in _automatic_layers(network):
        layer.trainable = automatic_trainable
    return HintColorizer(network, seed=seed, name="hint_unet")


def _hint_encoder(x):
    """The hint encoder's maps at full, half and quarter size."""
    maps = [conv(x, HINT_FILTERS[0], "hint_conv0")]
    for index, filters in enumerate(HINT_FILTERS[1:], 1):
        maps.append(conv(maps[-1], filters, f"hint_conv{index}", strides=2))
    return maps


def _automatic_layers(network):
    """The decoder and bin head: the layers `mobilenet_unet` shares (MobileNet is frozen anyway)."""
    return [layer for layer in network.layers if layer.name.startswith("decoder_") or layer.name == "ab_logits"]


def _start_from(network, shipped_name):
    """Set the automatic part's weights from shipped model `shipped_name` (same layer names)."""
    from keras_colorize import shipped  # here: shipped imports the model registry

    automatic = shipped.load(shipped_name)
    for layer in automatic.layers:
        if layer.weights:
            network.get_layer(layer.name).set_weights(layer.get_weights())


SPEC = register(ModelSpec(
    name="hint_unet",
    builder=build_hint_unet,
    presets={
        "paper": {"image_size": 256, "decoder_filters": [512, 256, 128], "backbone_weights": "imagenet"},
        "small": {"image_size": 128, "decoder_filters": [256, 128, 64], "backbone_weights": "imagenet",
                  "automatic_weights": "mobilenet_unet_ce", "temperature": 0.5},
    },
    element_format="l_ab",
    # SIGGRAPH17 sec. 3.3: smooth-L1 (Huber, delta 1) on ab, Adam; their rate (1e-5) and schedule
    # are for training from scratch on ImageNet: here only the small hint head trains, faster.
    training=dict(loss="huber", learning_rate=5e-4, batch_size=32, epochs=10, augment="pix2pix"),
    standard_data="general256_train.h5",
    inference=hint_network,
))
