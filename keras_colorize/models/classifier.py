"""Colorization as per-pixel classification over quantized ab bins, with a regression baseline.

Sayyed et al., "Automatic Colorization of Gray-scale Images using Deep Learning": CIELAB, the
colours "discretized into 50 bins" (section V.C.c), ReLU (eq. 1), a regression model as the
baseline trained with the Huber penalty of eq. 2, scored by the saturation difference of eq. 3
(`metrics.saturation_difference`). Its network is in figures lost from the text at hand, so
the network and the classification loss are Zhang, Isola and Efros, "Colorful Image
Colorization" (ECCV 2016; layer sizes of richzhang/colorization's release): input L / 100
(element format "l_ab"), output logits over the Q in-gamut ab bins of
`keras_colorize.color.ABQuantizer` at a quarter of the input size. Paper preset (224x224,
`base_filters` 64, Sayyed's 50 bins; every conv 3x3 with ReLU, each block ends in batch norm):

| block  | layers                                      | output      |
|--------|---------------------------------------------|-------------|
| input  | L/100 centred: (L - 50) / 100               | 224x224x1   |
| conv1  | 2 convs 64, the last stride 2               | 112x112x64  |
| conv2  | 2 convs 128, the last stride 2              | 56x56x128   |
| conv3  | 3 convs 256, the last stride 2              | 28x28x256   |
| conv4  | 3 convs 512                                 | 28x28x512   |
| conv5-6| 3 convs 512, dilation 2                     | 28x28x512   |
| conv7  | 3 convs 512                                 | 28x28x512   |
| conv8  | 4x4 deconv stride 2 256, 2 convs 256 (no BN)| 56x56x256   |
| head   | 1x1 conv to Q bin logits                    | 56x56x50    |

The bins: `grid_size` 25 (`SAYYED_GRID_SIZE`, the paper preset) keeps exactly 50 in-gamut
cells of a square ab grid, Zhang et al.'s construction made coarser, so everything built on
that grid (soft encoding, rebalancing, annealed mean) carries over unchanged; a k-means or
quantile set of 50 would depend on the training set, which the paper does not give, and would
need to ship with every model. The builder's default, and the `small` preset, keep Zhang et
al.'s 10-unit grid (261 bins here); the shipped classifier was trained with it.

`training_loss(model, batches)` gives the loss each head trains with. The classification
head's is Zhang et al.'s class-rebalanced multinomial cross-entropy (eq. 2-4, lambda 0.5,
weights from the training set's empirical bin distribution); `ab_model` (the registry's
inference model) turns it into an image colorizer: softmax, annealed mean at T = 0.38
(`AnnealedMeanDecoding`), bilinear upsampling to the input size. `head="regression"` is
Sayyed et al.'s baseline: the same network with a 1x1 conv to ab / 128 (tanh), scaled to
CIELAB units and upsampled bilinearly to the input size inside the model, so it trains
directly on "l_ab" targets with eq. 2's Huber penalty (`losses.HuberEq2`). The `small` preset
is 64x64 with channels divided by 4.

Where the code departs from Sayyed et al. (docs/fidelity.md has the full comparison):
- The network (figures 9-10) is not in the text; section V.C.e's "concatenation" of hidden
  layers' results (hypercolumns, their ref. [8]) is not built: the ECCV16 network has none.
- Eq. 2's threshold M is not given: 1 ab unit, Keras's default Huber delta.
- The soft encoding's and the rebalancing's Gaussians keep Zhang et al.'s sigma 5 ab units
  on the 25-unit grid too (the paper gives neither).
- Training settings are not given (only "approximately 500 images" from ImageNet,
  section IV.A): Zhang et al.'s learning rate 3e-5 and batch 40.

Where it departs from Zhang et al.:
- On their 10-unit grid, Q = 261 bins, not 313: the bins are the grid cells that sRGB colours
  fall in, computed here because their in-gamut test is unpublished (see
  `color.in_gamut_bins`).
- The empirical bin distribution is counted (nearest bin per pixel) over the training set it
  is given, not over ImageNet.
- The stride-2 3x3 convolutions use Keras's "same" padding, 0 pixels top-left and 1
  bottom-right, where the release pads 1 on every side: same sizes, a half-pixel shift.
- The regression head is upsampled inside the model, so its loss compares full-size ab
  (the classification loss compares at a quarter of the size, as in Zhang et al.).
- Training uses the learning rate 3e-5 but Keras's Adam betas (0.9, 0.999) and no weight
  decay, where Zhang et al. use betas 0.9/0.99 and weight decay 1e-3: every model in this
  package trains with one Adam (`training`), whose `beta_1` is the setting exposed.
"""

import itertools

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from keras_colorize import color, losses
from keras_colorize.color import AB_OFFSET, ABQuantizer
from keras_colorize.models import ModelSpec, register
from keras_colorize.models.layers import FusedBatchNormalization

# (convs, multiple of base_filters, stride of the last conv, dilation) for conv1-conv7.
ENCODER_BLOCKS = (
    (2, 1, 2, 1),
    (2, 2, 2, 1),
    (3, 4, 2, 1),
    (3, 8, 1, 1),
    (3, 8, 1, 2),
    (3, 8, 1, 2),
    (3, 8, 1, 1),
)
DECODER_MULTIPLE = 4
OUTPUT_STRIDE = 4
HEADS = ("classification", "regression")
REBALANCING_MIX = 0.5  # Zhang et al.'s lambda
# Sayyed et al. discretize colour "into 50 bins"; the in-gamut cells of a 25-unit ab grid are 50.
SAYYED_GRID_SIZE = 25.0
PIXELS_PER_CHUNK = 65536  # bounds the (pixels, Q) distance matrix of the bin histogram


def _conv_block(x, filters, convs, name, strides=1, dilation=1):
    for index in range(convs):
        x = layers.Conv2D(
            filters,
            3,
            strides=strides if index == convs - 1 else 1,
            dilation_rate=dilation,
            padding="same",
            activation="relu",
            name=f"{name}_{index + 1}",
        )(x)
    return FusedBatchNormalization(name=f"{name}_bn")(x)


def _features(lightness, base_filters):
    """conv1-conv8: L/100 -> features at a quarter of the input size."""
    x = layers.Rescaling(1.0, offset=-0.5, name="centred_lightness")(lightness)
    for index, (convs, multiple, strides, dilation) in enumerate(ENCODER_BLOCKS):
        x = _conv_block(x, base_filters * multiple, convs, f"conv{index + 1}", strides, dilation)
    filters = base_filters * DECODER_MULTIPLE
    x = layers.Conv2DTranspose(
        filters, 4, strides=2, padding="same", activation="relu", name="conv8_1"
    )(x)
    for index in (2, 3):
        x = layers.Conv2D(filters, 3, padding="same", activation="relu", name=f"conv8_{index}")(x)
    return x


def _regression_head(features):
    """ab / 128 by tanh, to CIELAB units, upsampled to the input size."""
    signed = layers.Conv2D(2, 1, activation="tanh", dtype="float32", name="ab_signed")(features)
    ab = layers.Rescaling(AB_OFFSET, dtype="float32", name="ab_quarter_size")(signed)
    return layers.UpSampling2D(OUTPUT_STRIDE, interpolation="bilinear", dtype="float32", name="ab")(
        ab
    )


@keras.saving.register_keras_serializable(package="keras_colorize")
class BinLogits(layers.Conv2D):
    """1x1 convolution to logits over the bins of `ABQuantizer(grid_size)`.

    It keeps `grid_size` so that a classifier loaded from a file decodes with its own bins.
    """

    def __init__(self, grid_size=10.0, **kwargs):
        super().__init__(filters=ABQuantizer(grid_size).num_bins, kernel_size=1, **kwargs)
        self.grid_size = float(grid_size)

    def get_config(self):
        config = super().get_config()
        del config["filters"], config["kernel_size"]
        return {**config, "grid_size": self.grid_size}


def _bin_logits(model):
    """The classification head's `BinLogits` layer; None for the regression head."""
    return next((layer for layer in model.layers if isinstance(layer, BinLogits)), None)


@keras.saving.register_keras_serializable(package="keras_colorize")
class AnnealedMeanDecoding(layers.Layer):
    """Logits over the ab bins (..., Q) -> ab in CIELAB units (..., 2), by the annealed mean."""

    def __init__(self, grid_size=10.0, temperature=color.ANNEALED_MEAN_TEMPERATURE, **kwargs):
        super().__init__(**kwargs)
        self.quantizer = ABQuantizer(grid_size, temperature=temperature)

    def call(self, logits):
        return self.quantizer.decode(keras.ops.softmax(logits, axis=-1))

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], 2)

    def get_config(self):
        return {
            **super().get_config(),
            "grid_size": self.quantizer.grid_size,
            "temperature": self.quantizer.temperature,
        }


def ab_model(model, temperature=color.ANNEALED_MEAN_TEMPERATURE):
    """The colorizer for either head: L/100 (N, S, S, 1) -> ab in CIELAB units (N, S, S, 2).

    `temperature` is the annealed mean's: 0.38 in the paper, 1 the mean, towards 0 the mode.
    The regression head already predicts that, so it comes back unchanged.
    """
    head = _bin_logits(model)
    if head is None:
        return model
    lightness = keras.Input(model.input.shape[1:], name="lightness")
    ab = AnnealedMeanDecoding(head.grid_size, temperature, dtype="float32", name="annealed_mean")(
        model(lightness)
    )
    ab = layers.UpSampling2D(OUTPUT_STRIDE, interpolation="bilinear", dtype="float32", name="ab")(
        ab
    )
    return keras.Model(lightness, ab, name=f"{model.name}_ab")


def build_classifier(image_size=224, base_filters=64, head="classification", grid_size=10.0):
    """L/100 (S, S, 1) -> ab-bin logits (S/4, S/4, Q), or ab (S, S, 2) with head="regression"."""
    if head not in HEADS:
        raise ValueError(f"unknown head {head!r}; choose from {HEADS}")
    if image_size % 8:
        raise ValueError(f"image_size {image_size} must be divisible by 8 (three stride-2 convs)")
    lightness = keras.Input((image_size, image_size, 1), name="lightness")
    features = _features(lightness, base_filters)
    if head == "regression":
        output = _regression_head(features)
    else:
        output = BinLogits(grid_size, dtype="float32", name="ab_logits")(features)
    return keras.Model(lightness, output, name="classifier")


SPEC = register(ModelSpec(
    name="classifier",
    builder=build_classifier,
    presets={
        "paper": {"image_size": 224, "base_filters": 64, "grid_size": SAYYED_GRID_SIZE},
        "small": {"image_size": 64, "base_filters": 16},
    },
    element_format="l_ab",
    # Sayyed et al. give no training settings: Zhang et al. 2016's class-rebalanced
    # cross-entropy, Adam 3e-5, batch 40; the regression baseline trains with eq. 2's Huber.
    training=dict(loss="rebalanced", learning_rate=3e-5, batch_size=40, epochs=10),
    standard_data="lfw128.h5",
    inference=ab_model,
))


def empirical_bin_distribution(batches, quantizer, max_batches=None):
    """The fraction of pixels whose nearest ab bin is each bin, shape (Q,), summing to 1.

    `batches` yields ab arrays (..., 2) in CIELAB units, or (input, ab) pairs such as an
    "l_ab" dataset from `keras_colorize.data`; only the first `max_batches` are counted
    when given (a repeated dataset needs it).
    """
    if (
        max_batches is None
        and isinstance(batches, tf.data.Dataset)
        and batches.cardinality() == tf.data.INFINITE_CARDINALITY
    ):
        raise ValueError("empirical_bin_distribution: the dataset repeats; pass max_batches")
    counts = np.zeros(quantizer.num_bins, np.int64)
    for batch in itertools.islice(batches, max_batches):
        ab = batch[-1] if isinstance(batch, (tuple, list)) else batch
        pixels = np.reshape(np.asarray(ab, np.float32), (-1, 2))
        for start in range(0, len(pixels), PIXELS_PER_CHUNK):
            nearest = quantizer.hard_encode(pixels[start : start + PIXELS_PER_CHUNK])
            counts += np.bincount(nearest.numpy(), minlength=quantizer.num_bins)
    if not counts.sum():
        raise ValueError("empirical_bin_distribution: the batches hold no pixels")
    return counts / counts.sum()


def training_loss(model, batches, max_batches=None, rebalance=True, rebalancing_mix=REBALANCING_MIX):
    """The loss `model` trains with on "l_ab" pairs.

    The classification head: the soft-encoded cross-entropy, class-rebalanced (eq. 2-4, with
    `rebalancing_mix` as lambda: 1 is no rebalancing, smaller is stronger) with weights from
    the ab pixels of (the first `max_batches` of) `batches`, the training data, or with
    uniform weights when not `rebalance` (a calibrated distribution, whose annealed mean then
    sets the vividness); the regression head: the paper's eq. 2 Huber penalty
    (`losses.HuberEq2`).
    """
    if not 0.0 < rebalancing_mix <= 1.0:
        raise ValueError(f"rebalancing_mix (eq. 4's lambda) must be in (0, 1], not {rebalancing_mix}")
    head = _bin_logits(model)
    if head is None:
        return losses.get("huber_eq2")
    quantizer = ABQuantizer(head.grid_size)
    if not rebalance:
        return losses.RebalancedCrossEntropy(quantizer_config=quantizer.get_config(), name="crossentropy")
    distribution = empirical_bin_distribution(batches, quantizer, max_batches)
    return losses.RebalancedCrossEntropy(
        quantizer_config=quantizer.get_config(),
        class_weights=quantizer.rebalancing_weights(distribution, mix=rebalancing_mix),
    )
