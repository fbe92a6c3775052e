"""The LAB U-Net refined adversarially: a discriminator judges whole LAB portraits.

Varjas & Vitanov, "Grayscale Portrait Colorization with Neural Networks", section 3.2.
The generator is the LAB U-Net of section 3.1 (`lab_unet`), usually already trained
(`generator_weights=`). Training has two phases: first the discriminator alone learns to
tell the U-Net's outputs from real LAB images (`model.train_generator = False`, which a
callback can switch at an epoch's start), then both networks train together.

Discriminator (paper preset, 128x128x3 unit LAB input; 4x4 convs, LeakyReLU 0.2):

| layer                          | output      |
|--------------------------------|-------------|
| conv 64, stride 2              | 64x64x64    |
| conv 128, stride 2, BN         | 32x32x128   |
| conv 256, stride 2, BN         | 16x16x256   |
| conv 512, stride 2, BN         | 8x8x512     |
| flatten, dense 1 (logit)       | 1           |

Training is `models.gan.ConditionalGAN`'s: generator loss adversarial BCE + `l1_weight` x
MAE against the real image, discriminator loss (BCE(real, 1) + BCE(fake, 0)) / 2.

Where and why this departs from the paper (readings of what it leaves open):
- The discriminator's layers are not given; this is a DCGAN discriminator (strided 4x4
  convs, BN on all but the first, LeakyReLU 0.2) with one logit per image, judging the LAB
  image, which carries its own L, so it is implicitly conditioned on the input.
- The paper's generator loss is adversarial; the MAE term is kept beside it, weighted
  100 as in pix2pix (Isola et al. 2017), so the generator cannot drift from the
  colours section 3.1 learnt while the discriminator is still weak.
- Adam with learning rate 2e-4 and beta_1 0.5 for both networks (the DCGAN/pix2pix
  settings; the paper gives none).
"""

import keras

from keras_colorize.models import ModelSpec, load_weights, register
from keras_colorize.models.gan import ConditionalGAN
from keras_colorize.models.lab_unet import lab_unet
from keras_colorize.models.layers import FusedBatchNormalization

DISCRIMINATOR = (1, 2, 4, 8)  # filters / base_filters, each a stride-2 conv


def build_lab_discriminator(image_size=128, base_filters=64):
    """Unit LAB image (S, S, 3) -> one real/fake logit."""
    lab = keras.Input((image_size, image_size, 3), name="lab")
    x = lab
    for index, multiple in enumerate(DISCRIMINATOR, start=1):
        x = keras.layers.Conv2D(
            multiple * base_filters,
            4,
            strides=2,
            padding="same",
            use_bias=index == 1,
            name=f"conv{index}",
        )(x)
        if index > 1:
            x = FusedBatchNormalization(name=f"bn{index}")(x)
        x = keras.layers.LeakyReLU(0.2, name=f"leaky_relu{index}")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    logit = keras.layers.Dense(1, dtype="float32", name="logit")(x)
    return keras.Model(lab, logit, name="lab_discriminator")


@keras.saving.register_keras_serializable(package="keras_colorize")
class LabUNetGAN(ConditionalGAN):
    """The LAB U-Net against a discriminator of whole LAB images (`gan.ConditionalGAN` training).

    Train on (L/100, unit LAB) pairs; `train_generator = False` is section 3.2's first phase.
    """

    def discriminate(self, lightness, lab, training):
        # The LAB image carries its own L: the discriminator needs no separate condition.
        return self.discriminator(lab, training=training)


def build_lab_unet_gan(
    image_size=128,
    base_filters=64,
    discriminator_filters=64,
    generator_weights=None,
    l1_weight=100.0,
):
    """The GAN, uncompiled (`compile()` defaults to `default_optimizer()` for both networks).

    generator_weights: a trained `unet` (.keras, .weights.h5 or legacy .h5 file) to start
    the generator from, as section 3.2 does; None starts from a fresh U-Net.
    """
    generator = lab_unet(image_size, base_filters)
    if generator_weights is not None:
        load_weights(generator, generator_weights)
    return LabUNetGAN(
        generator,
        build_lab_discriminator(image_size, discriminator_filters),
        l1_weight=l1_weight,
        name="unet_gan",
    )


SPEC = register(ModelSpec(
    name="unet_gan",
    builder=build_lab_unet_gan,
    presets={
        "paper": {"image_size": 128, "base_filters": 64, "discriminator_filters": 64, "l1_weight": 100.0},
        "small": {"image_size": 64, "base_filters": 16, "discriminator_filters": 16, "l1_weight": 100.0},
    },
    element_format="l_lab_unit",
    # Section 3.2: the discriminator alone first, then both; the rest unstated (ours).
    training=dict(learning_rate=2e-4, beta_1=0.5, batch_size=16, epochs=10, discriminator_warmup_epochs=1),
    standard_data="lfw128.h5",
    adversarial=True,
))
