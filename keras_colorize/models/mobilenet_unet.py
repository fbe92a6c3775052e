"""A colorizer that sees through an ImageNet-trained network: MobileNet features at four scales
into a U-Net decoder, classifying each pixel's colour over the ab bins.

This package's own design, built from two of its papers' ideas. From the fusion paper (You et
al., "Facial Colorization Using Transfer Learning", sec. 3, after Baldassarre et al. 2017):
what an ImageNet classifier knows about a picture tells its colours; here its features enter at
every scale of the decoder instead of as one class vector fused at H/8. From the
classification paper (Sayyed et al., sec. 3.2, after Zhang et al. 2016): colour as a
distribution over quantized ab bins, trained with the class-rebalanced cross-entropy and
decoded by the annealed mean, which keeps colours vivid where a regression averages them to
sepia. The encoder is MobileNet v1 (alpha 0.75) with its ImageNet weights
(`keras_colorize.pretrained`), frozen by default, so only the decoder trains: a 2-core CPU
can afford it at 128 px. Input L/100 (element format "l_ab"); the gray image goes to MobileNet
as three equal channels.

Layer table (`small` preset, 128x128 input, decoder_filters (256, 128, 64); every 3x3 conv
ReLU; MobileNet's taps are the ReLU outputs of its pointwise convolutions):

| part     | layer                                                   | output       |
|----------|---------------------------------------------------------|--------------|
| encoder  | L -> gray RGB in [-1, 1] -> MobileNet v1 0.75 (frozen)  |              |
|          | tap conv_pw_3 / conv_pw_5 / conv_pw_11 / conv_pw_13     | 32/16/8/4 px, 96/192/384/768 |
| decoder  | 1x1 conv 256 on conv_pw_13                              | 4x4x256      |
|          | upsample, concat conv_pw_11, conv 256                   | 8x8x256      |
|          | upsample, concat conv_pw_5, conv 128                    | 16x16x128    |
|          | upsample, concat conv_pw_3, conv 64, conv 64            | 32x32x64     |
| head     | 1x1 conv to the Q = 261 ab-bin logits                   | 32x32x261    |

The registry's inference model (`classifier.ab_model`) decodes the logits by the annealed mean
at the model's `temperature` and upsamples ab 4x bilinearly to the input size; `Colorizer`
joins it with the photo's full-resolution L.

Choices and why:
- Frozen encoder: 1,905 general photos cannot retrain ImageNet features without forgetting
  them; `backbone_trainable=True` fine-tunes all of it.
- `temperature` (annealed mean; 0.38 in Zhang et al.) is a builder option so that a trained
  model keeps the value chosen for it on a validation split: lower is more saturated, 1 the
  plain mean.
- The `paper` preset is 224x224, MobileNet's and the fusion paper's extractor size, with
  twice the decoder channels; no paper defines this network.
"""

import keras
from keras import layers

from keras_colorize import color, pretrained
from keras_colorize.models import ModelSpec, register
from keras_colorize.models.classifier import BinLogits, ab_model

# MobileNet v1 layers whose outputs the decoder reads, from deepest to shallowest.
TAPS = ("conv_pw_13_relu", "conv_pw_11_relu", "conv_pw_5_relu", "conv_pw_3_relu")
OUTPUT_STRIDE = 4  # the logits' size is a quarter of the input's, as in Zhang et al.
INPUT_STRIDE = 32  # MobileNet halves the image five times
DECODER_FILTERS = (256, 128, 64)


@keras.saving.register_keras_serializable(package="keras_colorize")
class AnnealedBinLogits(BinLogits):
    """`BinLogits` that also keeps the annealed-mean temperature its model decodes with."""

    def __init__(self, grid_size=10.0, temperature=color.ANNEALED_MEAN_TEMPERATURE, **kwargs):
        super().__init__(grid_size=grid_size, **kwargs)
        self.temperature = float(temperature)

    def get_config(self):
        return {**super().get_config(), "temperature": self.temperature}


def annealed_head(model):
    """The `AnnealedBinLogits` layer of `model`; ValueError when it has none."""
    head = next((layer for layer in model.layers if isinstance(layer, AnnealedBinLogits)), None)
    if head is None:
        raise ValueError(f"{model.name}: has no annealed-mean head")
    return head


def decoded_ab_model(model):
    """L/100 -> ab in CIELAB units at the input size, decoded at the model's own temperature."""
    return ab_model(model, temperature=annealed_head(model).temperature)


def feature_extractor(image_size, weights, trainable):
    """MobileNet v1 on (S, S, 3) in [-1, 1] -> its `TAPS` feature maps, deepest first."""
    backbone = pretrained.mobilenet(
        weights=weights, include_top=False, input_shape=(image_size, image_size, 3),
        trainable=trainable,
    )
    outputs = [backbone.get_layer(name).output for name in TAPS]
    extractor = keras.Model(backbone.input, outputs, name="mobilenet_v1_features")
    extractor.trainable = trainable
    return extractor


def decoded_features(lightness, decoder_filters=None, backbone_weights=None, backbone_trainable=False):
    """L/100 (S, S, 1), a Keras input -> the decoder's features (S/4, S/4, decoder_filters[-1]):
    MobileNet's taps through the U-Net decoder. decoder_filters default DECODER_FILTERS."""
    image_size = lightness.shape[1]
    decoder_filters = list(decoder_filters or DECODER_FILTERS)
    if image_size % INPUT_STRIDE:
        raise ValueError(f"image_size must be a multiple of {INPUT_STRIDE}; got {image_size}")
    if len(decoder_filters) != len(TAPS) - 1:
        raise ValueError(f"decoder_filters takes {len(TAPS) - 1} widths; got {decoder_filters}")
    rgb = pretrained.MobileNetInput(name="mobilenet_input")(lightness)
    return decoder(feature_extractor(image_size, backbone_weights, backbone_trainable)(rgb), decoder_filters)


def conv(x, filters, name, kernel_size=3, strides=1):
    return layers.Conv2D(filters, kernel_size, strides, padding="same", activation="relu", name=name)(x)


def decoder(taps, decoder_filters):
    deepest, *skips = taps
    x = conv(deepest, decoder_filters[0], "decoder_in", kernel_size=1)
    for index, (skip, filters) in enumerate(zip(skips, decoder_filters + decoder_filters[-1:]), 1):
        x = layers.UpSampling2D(name=f"decoder_up{index}")(x)
        x = layers.Concatenate(name=f"decoder_concat{index}")([x, skip])
        x = conv(x, filters, f"decoder_conv{index}")
    return conv(x, decoder_filters[-1], "decoder_out")


def build_mobilenet_unet(
    image_size=128,
    decoder_filters=None,
    backbone_weights=None,
    backbone_trainable=False,
    grid_size=10.0,
    temperature=color.ANNEALED_MEAN_TEMPERATURE,
):
    """L/100 (S, S, 1) -> logits over the ab bins (S/4, S/4, Q).

    decoder_filters: the widths of the decoder's 8, 16 and 32 px stages (at 128 px input);
    default DECODER_FILTERS.
    backbone_weights: "imagenet" (what `train.py` uses; see `keras_colorize.pretrained`), None
    (random: for loading trained weights over) or a weights path.
    """
    lightness = keras.Input((image_size, image_size, 1), name="lightness")
    features = decoded_features(lightness, decoder_filters, backbone_weights, backbone_trainable)
    logits = AnnealedBinLogits(grid_size, temperature, dtype="float32", name="ab_logits")(features)
    return keras.Model(lightness, logits, name="mobilenet_unet")


SPEC = register(ModelSpec(
    name="mobilenet_unet",
    builder=build_mobilenet_unet,
    presets={
        "paper": {"image_size": 224, "decoder_filters": [512, 256, 128], "backbone_weights": "imagenet"},
        "small": {"image_size": 128, "decoder_filters": [256, 128, 64], "backbone_weights": "imagenet"},
    },
    element_format="l_ab",
    # No paper: the classifier's loss on a frozen pretrained encoder, so a higher learning rate;
    # jitter and mirroring because general photos are few.
    training=dict(loss="rebalanced", learning_rate=3e-4, batch_size=32, epochs=10, augment="pix2pix"),
    standard_data="general256_train.h5",
    inference=decoded_ab_model,
))
