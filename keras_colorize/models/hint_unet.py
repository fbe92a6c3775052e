"""A colorizer that follows the user's colour hints: L plus a sparse map of hinted ab in,
ab out; with no hints it colorizes on its own.

After Zhang et al. 2017, "Real-Time User-Guided Image Colorization with Learned Deep Priors"
(SIGGRAPH; "SIGGRAPH17"), the local-hints network: the gray image and the user's points, each
an ab value with a mask (sec. 3.1), go through a U-Net whose output is regressed to the true ab
with the smooth-L1 (Huber, delta 1) loss (sec. 3.3); training reveals points of the ground truth
at random (sec. 3.2, `keras_colorize.hints.simulated`), a geometric number of them, so the
network learns both to propagate hints and to colorize where none are given. Built from this
package's `mobilenet_unet`: its frozen ImageNet MobileNet encoder and its U-Net decoder, with
a small trainable hint encoder beside MobileNet and two full-resolution stages after the
decoder so that a hinted pixel gets its colour exactly. Inputs: L/100 ("lightness") and the
hint map ("hints", `keras_colorize.hints.encode`); element format "l_ab".

Layer table (`small` preset, 128x128 input; every conv 3x3 ReLU unless said):

| part          | layer                                                        | output        |
|---------------|--------------------------------------------------------------|---------------|
| encoder       | L -> gray RGB -> MobileNet v1 0.75 (frozen), taps as `mobilenet_unet` | 32/16/8/4 px |
| hint encoder  | concat(L, hints) -> conv 16                                  | 128 px x 16   |
|               | conv stride 2: 32, 64, 64, 128, 128                          | 64/32/16/8/4 px |
| decoder       | `mobilenet_unet`'s decoder, each tap concatenated with the hint encoder's map of its size | 32 px x 64 |
| refinement    | bilinear x2, concat hint 64 px, conv 32                      | 64 px x 32    |
|               | bilinear x2, concat hint 128 px, conv 16                     | 128 px x 16   |
| head          | 1x1 conv to 2, x `color.AB_OFFSET` (float32)                 | 128 px x 2 ab |

Departures from SIGGRAPH17, and why:
- Encoder: a frozen ImageNet MobileNet and a 256/128/64 decoder instead of their VGG-style
  network trained from scratch on 1.3 M ImageNet photos: this package trains on a few thousand
  photos on a 2-core CPU, where pretrained features are what generalizes.
- No global hints (their colour histogram and saturation inputs) and no colour-distribution
  side branch (their palette suggestions): only local points.
- Patch sides 1, 3, 5, 7 or 9 px (odd, so a patch has a centre pixel) for their 1 to 9.
- One network at the model's input size, its ab upsampled to the photo's size by `Colorizer`
  as for the other LAB models, where they run at 256 px.
"""

import keras
import tensorflow as tf
from keras import layers

from keras_colorize import color, hints, pretrained
from keras_colorize.models import register
from keras_colorize.models.mobilenet_unet import DECODER_FILTERS, INPUT_STRIDE, TAPS, conv, decoder, feature_extractor

HINT_FILTERS = (16, 32, 64, 64, 128, 128)  # at 1, 1/2, 1/4, 1/8, 1/16 and 1/32 of the input size
REFINE_FILTERS = (32, 16)  # the refinement stages at 1/2 and 1/1


@keras.saving.register_keras_serializable(package="keras_colorize")
class HintColorizer(keras.Model):
    """`network([lightness, hints]) -> ab`, trained on (L, ab) pairs with hints revealed from
    the true ab in every step (`hints.simulated`): `fit` takes the "l_ab" pairs of the other
    LAB models. Its graph is the network's, so `predict` and the exports see the colorizer."""

    def __init__(self, network, seed=0, **kwargs):
        inputs = [keras.Input(tensor.shape[1:], name=tensor.name) for tensor in network.inputs]
        super().__init__(inputs, network(inputs), **kwargs)
        self.network = network
        self.seed = seed
        self._hint_seeds = keras.random.SeedGenerator(seed)

    def _with_hints(self, data):
        lightness, ab, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        hint_map, _, _ = hints.simulated(ab, tf.cast(self._hint_seeds.next(), tf.int32))
        return (lightness, hint_map), ab, sample_weight

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


def hint_network(model):
    """The network a Colorizer runs: [L/100, hint map] -> ab in CIELAB units."""
    return model.network


@register(
    "hint_unet",
    presets={
        "paper": {"image_size": 256, "decoder_filters": [512, 256, 128], "backbone_weights": "imagenet"},
        "small": {"image_size": 128, "decoder_filters": [256, 128, 64], "backbone_weights": "imagenet"},
    },
    element_format="l_ab",
    inference=hint_network,
)
def build_hint_unet(image_size=128, decoder_filters=None, backbone_weights=None, backbone_trainable=False, seed=0):
    """[L/100 (S, S, 1), hint map (S, S, 3)] -> ab (S, S, 2), as a `HintColorizer`.

    decoder_filters: the widths of the decoder's three stages (default `mobilenet_unet`'s).
    backbone_weights: "imagenet" (what `train.py` uses), None (random: for loading trained
    weights over) or a weights path. seed: seeds the hints revealed in training.
    """
    decoder_filters = list(decoder_filters or DECODER_FILTERS)
    if image_size % INPUT_STRIDE:
        raise ValueError(f"image_size must be a multiple of {INPUT_STRIDE}; got {image_size}")
    if len(decoder_filters) != len(TAPS) - 1:
        raise ValueError(f"decoder_filters takes {len(TAPS) - 1} widths; got {decoder_filters}")
    lightness = keras.Input((image_size, image_size, 1), name="lightness")
    hint_map = keras.Input((image_size, image_size, hints.HINT_CHANNELS), name="hints")
    rgb = pretrained.MobileNetInput(name="mobilenet_input")(lightness)
    taps = feature_extractor(image_size, backbone_weights, backbone_trainable)(rgb)
    hint_maps = _hint_encoder(layers.Concatenate(name="hint_input")([lightness, hint_map]))
    # hint_maps run from full size down; the taps from the deepest (1/32) up to 1/4.
    joined = [
        layers.Concatenate(name=f"hinted_tap{index}")([tap, hinted])
        for index, (tap, hinted) in enumerate(zip(taps, hint_maps[:1:-1]), 1)
    ]
    x = decoder(joined, decoder_filters)
    for index, (hinted, filters) in enumerate(zip(hint_maps[1::-1], REFINE_FILTERS), 1):
        x = layers.UpSampling2D(interpolation="bilinear", name=f"refine_up{index}")(x)
        x = layers.Concatenate(name=f"refine_concat{index}")([x, hinted])
        x = conv(x, filters, f"refine_conv{index}")
    ab = layers.Conv2D(2, 1, dtype="float32", name="ab_signed")(x)
    ab = layers.Rescaling(color.AB_OFFSET, dtype="float32", name="ab")(ab)
    network = keras.Model([lightness, hint_map], ab, name="hint_unet_network")
    return HintColorizer(network, seed=seed, name="hint_unet")


def _hint_encoder(x):
    """The hint encoder's maps, full size first, each half the size of the one before."""
    maps = [conv(x, HINT_FILTERS[0], "hint_conv0")]
    for index, filters in enumerate(HINT_FILTERS[1:], 1):
        maps.append(conv(maps[-1], filters, f"hint_conv{index}", strides=2))
    return maps
