"""Pix2pix: a conditional GAN that colours line drawings.

Zhang, "Sketch-to-Color Image with GANs", applies Isola et al., "Image-to-Image Translation
with Conditional Adversarial Networks" (CVPR 2017) to sketch colorization. Input: a sketch
as 3-channel RGB scaled to [-1, 1]; output: the colour image in [-1, 1] (tanh); element
format "sketch_rgb_tanh". All kernels are 4x4, initialised N(0, 0.02); LReLU has slope 0.2;
BN is batch norm. Shapes at the paper preset (256x256, 64 base filters):

| generator (U-Net) | layers                                      | output                    |
|-------------------|---------------------------------------------|---------------------------|
| sketch            |                                             | 256x256x3                 |
| down1             | conv stride 2, LReLU                        | 128x128x64                |
| down2-down3       | conv stride 2, BN, LReLU                    | 64x64x128, 32x32x256      |
| down4-down8       | conv stride 2, BN, LReLU                    | 16x16x512 .. 1x1x512      |
| up1-up3           | deconv s2, BN, dropout 0.5, ReLU; + down7-5 | 2x2x1024 .. 8x8x1024      |
| up4-up7           | deconv s2, BN, ReLU; + down4-1              | 16x16x1024 .. 128x128x128 |
| image             | deconv stride 2 to 3 channels, tanh         | 256x256x3                 |

(`+ downN`: concatenated with that down block's output, the U-Net skip.) Filters double
per down block from `base_filters` up to 8x; up blocks mirror them.

| discriminator (PatchGAN) | layers                                 | output               |
|--------------------------|----------------------------------------|----------------------|
| sketch_and_image         | concat(sketch, image)                  | 256x256x6            |
| down1                    | conv stride 2, LReLU                   | 128x128x64           |
| down2-down3              | conv stride 2, BN, LReLU               | 64x64x128, 32x32x256 |
| conv                     | zero-pad 1, conv stride 1, BN, LReLU   | 31x31x512            |
| patch_logits             | zero-pad 1, conv stride 1 to 1 channel | 30x30x1              |

Each of the 30x30 logits judges a 70x70 patch of the pair.

`Pix2Pix` trains the two: G minimises BCE(D(x, G(x)), real) + 100 * L1(y, G(x)), D minimises
BCE(D(x, y), real) + BCE(D(x, G(x)), fake), each with Adam (2e-4, beta_1 0.5). Section II.B
names those terms and "the sum" for D (Isola et al. halve it; under Adam the scale of a loss
barely changes its steps, but the reported `d` is the paper's).

Presets: `paper` as above; `small` is 64x64 with 6 down / 5 up blocks and 32 base filters
(1x1 bottleneck, dropout still in the first 3 up blocks), whose discriminator (same layers)
gives 6x6 patch logits, each seeing a 70x70 window: more than the whole image.

Training (`SPEC.training`): section II.B's 65 epochs with Adam, section II.A's
rotation / shear / zoom / shift / Gaussian-noise augmentation; the rate, beta_1, batch (1) and
L1 weight (100) the paper leaves out are pix2pix's.

Where the code departs from the paper:
- The data is edges2shoes (sketch on the left); the paper's Kaggle anime pairs (real image on
  the left, Function 1: `data_prep build --pairs right`) are not at hand.
- Table 1's per-block parameter counts (6,145 / 131,641 / 533,423 / 2,123,123) fit no 4x4
  convolution of those shapes; ours are the TensorFlow pix2pix tutorial's (6,144 / 131,584 /
  525,312 / 2,097,152), whose layer names the table prints. Its shapes, 31x31x512 before the
  last convolution and 30x30x1 after, are ours. Its concatenation lists `input_image` twice;
  this one, as the tutorial's, pairs the sketch with the image judged.
- Dropout and batch norm run in inference mode at prediction (Keras's `training=False`);
  the paper keeps dropout on and uses batch statistics at test time, as noise and as
  instance norm with its batch size 1.
- `upsampling="resize"` (not in the paper; its presets keep "transpose") replaces every
  up block's 4x4 stride-2 transposed convolution by a nearest-neighbour 2x enlargement and a
  3x3 convolution (Odena et al. 2016, "Deconvolution and Checkerboard Artifacts"). A 4x4
  kernel at stride 2 covers output pixels unevenly unless training balances its weights,
  which a few hundred CUFS pairs do not: the shipped pix2pix showed a checkerboard. An
  enlargement gives every output pixel the same footing, so no period-2 pattern can come of it.
- The `small` preset (64x64, 6 down blocks, 32 base filters) is not in the paper; it
  exists to train in minutes on a CPU. 32 filters, not 16: at 16 the layers are too thin to
  keep a CPU busy (41% of its float32 peak in training, against 63% at 32).
"""

import keras
from keras import layers

from keras_colorize.models import ModelSpec, register
from keras_colorize.models.gan import ConditionalGAN
from keras_colorize.models.layers import FusedBatchNormalization

KERNEL_SIZE = 4
LEAKY_SLOPE = 0.2
DROPOUT_RATE = 0.5
DROPOUT_BLOCKS = 3
MAX_FILTER_MULTIPLE = 8
PATCHGAN_DOWN_BLOCKS = 3


def _normal():
    # A fresh initializer per layer: one shared unseeded instance gives every layer equal weights.
    return keras.initializers.RandomNormal(mean=0.0, stddev=0.02)


def _down_block(x, filters, name, batch_norm=True):
    x = layers.Conv2D(
        filters,
        KERNEL_SIZE,
        strides=2,
        padding="same",
        kernel_initializer=_normal(),
        use_bias=False,
        name=f"{name}_conv",
    )(x)
    if batch_norm:
        x = FusedBatchNormalization(name=f"{name}_bn")(x)
    return layers.LeakyReLU(LEAKY_SLOPE, name=f"{name}_lrelu")(x)


UPSAMPLING = ("transpose", "resize")
RESIZE_KERNEL_SIZE = 3  # odd: centred on each enlarged pixel, where 4x4 would shift by half a pixel


def _upsampled(x, filters, name, upsampling, **options):
    """x at twice the size with `filters` channels, by a layer called `name`: a transposed 4x4
    convolution (the paper's) or a 3x3 convolution after a nearest-neighbour enlargement."""
    if upsampling == "transpose":
        return layers.Conv2DTranspose(
            filters, KERNEL_SIZE, strides=2, padding="same", kernel_initializer=_normal(), name=name, **options
        )(x)
    x = layers.UpSampling2D(interpolation="nearest", name=f"{name}_upsample")(x)
    return layers.Conv2D(
        filters, RESIZE_KERNEL_SIZE, padding="same", kernel_initializer=_normal(), name=name, **options
    )(x)


def _up_block(x, filters, name, dropout, upsampling):
    layer_name = f"{name}_deconv" if upsampling == "transpose" else f"{name}_conv"
    x = _upsampled(x, filters, layer_name, upsampling, use_bias=False)
    x = FusedBatchNormalization(name=f"{name}_bn")(x)
    if dropout:
        x = layers.Dropout(DROPOUT_RATE, name=f"{name}_dropout")(x)
    return layers.ReLU(name=f"{name}_relu")(x)


def _down_filters(base_filters, depth):
    return [base_filters * min(2**i, MAX_FILTER_MULTIPLE) for i in range(depth)]


def build_generator(image_size=256, base_filters=64, depth=8, upsampling="transpose", name="pix2pix_generator"):
    """The U-Net generator: sketch (S, S, 3) in [-1, 1] -> colour image (S, S, 3) in [-1, 1].
    `upsampling`: "transpose" (the paper's) or "resize" (see the module docstring)."""
    if image_size % 2**depth:
        raise ValueError(f"image_size {image_size} must be divisible by 2**depth = {2**depth}")
    if upsampling not in UPSAMPLING:
        raise ValueError(f"upsampling must be one of {UPSAMPLING}, not {upsampling!r}")
    sketch = keras.Input((image_size, image_size, 3), name="sketch")
    down_filters = _down_filters(base_filters, depth)
    x = sketch
    skips = []
    for index, filters in enumerate(down_filters):
        x = _down_block(x, filters, f"down{index + 1}", batch_norm=index > 0)
        skips.append(x)
    # The deepest block has no mirror; every other down block feeds the up block of its size.
    for index, (filters, skip) in enumerate(zip(down_filters[-2::-1], skips[-2::-1])):
        x = _up_block(x, filters, f"up{index + 1}", dropout=index < DROPOUT_BLOCKS, upsampling=upsampling)
        x = layers.Concatenate(name=f"up{index + 1}_skip")([x, skip])
    image = _upsampled(x, 3, "image", upsampling, activation="tanh", dtype="float32")
    return keras.Model(sketch, image, name=name)


def build_discriminator(image_size=256, base_filters=64, name="pix2pix_discriminator"):
    """The 70x70 PatchGAN: (sketch, image) -> real/fake logits per patch (30x30x1 at 256)."""
    sketch = keras.Input((image_size, image_size, 3), name="sketch")
    image = keras.Input((image_size, image_size, 3), name="image")
    x = layers.Concatenate(name="sketch_and_image")([sketch, image])
    down_filters = _down_filters(base_filters, PATCHGAN_DOWN_BLOCKS + 1)
    for index, filters in enumerate(down_filters[:-1]):
        x = _down_block(x, filters, f"down{index + 1}", batch_norm=index > 0)
    x = layers.ZeroPadding2D(name="pad1")(x)
    x = layers.Conv2D(
        down_filters[-1], KERNEL_SIZE, kernel_initializer=_normal(), use_bias=False, name="conv"
    )(x)
    x = FusedBatchNormalization(name="bn")(x)
    x = layers.LeakyReLU(LEAKY_SLOPE, name="lrelu")(x)
    x = layers.ZeroPadding2D(name="pad2")(x)
    logits = layers.Conv2D(
        1, KERNEL_SIZE, kernel_initializer=_normal(), dtype="float32", name="patch_logits"
    )(x)
    return keras.Model([sketch, image], logits, name=name)


@keras.saving.register_keras_serializable(package="keras_colorize")
class Pix2Pix(ConditionalGAN):
    """The conditional GAN: `call` runs the generator; `fit` trains generator and discriminator.

    Train on (sketch, image) pairs in [-1, 1]; `fit` reports the losses "g_gan" (adversarial),
    "g_l1" and "d" (training as in `gan.ConditionalGAN`). Either optimizer may be a
    `keras.optimizers.LossScaleOptimizer`.
    """

    # Zhang, section II.B: the discriminator's loss is "the sum" of its two cross-entropies.
    DISCRIMINATOR_LOSS_WEIGHT = 1.0

    def discriminate(self, sketch, image, training):
        # PatchGAN judges each (sketch, image) patch pair: the sketch is the condition.
        return self.discriminator([sketch, image], training=training)


def build_pix2pix(image_size=256, base_filters=64, depth=8, l1_weight=100.0, upsampling="transpose"):
    """The pix2pix GAN (uncompiled; `compile()` defaults to the paper's optimizers)."""
    return Pix2Pix(
        build_generator(image_size, base_filters, depth, upsampling),
        build_discriminator(image_size, base_filters),
        l1_weight=l1_weight,
        name="pix2pix",
    )


SPEC = register(ModelSpec(
    name="pix2pix",
    builder=build_pix2pix,
    presets={
        "paper": {"image_size": 256, "base_filters": 64, "depth": 8, "l1_weight": 100.0},
        "small": {"image_size": 64, "base_filters": 32, "depth": 6, "l1_weight": 100.0},
    },
    element_format="sketch_rgb_tanh",
    # Zhang, "Sketch-to-Color Image with GANs", section II.B: 65 epochs, Adam, rotation / shear /
    # zoom / shift / Gaussian noise augmentation (II.A). Rate, beta_1 and batch are unstated:
    # 2e-4, 0.5 and 1 are pix2pix's (Isola et al. 2017, the TensorFlow tutorial it follows).
    training=dict(learning_rate=2e-4, beta_1=0.5, batch_size=1, epochs=65, augment="gan"),
    standard_data="edges2shoes.h5",
    adversarial=True,
))
