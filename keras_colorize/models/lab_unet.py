"""The LAB U-Net: lightness in, the full LAB portrait out.

Varjas & Vitanov, "Grayscale Portrait Colorization with Neural Networks", section 3.1.
A U-Net over CIELAB: the network sees L and predicts ab through a sigmoid; the input L is
concatenated back so the model's output is the whole LAB image, in the "unit" encoding
(L/100, (ab + 128)/255; element format "l_lab_unit"). Trained with MAE, later SSIM.

Layer table (paper preset, 128x128 input, base_filters 64; every conv is 3x3 -> BN -> ReLU):

| step       | layer                                         | output       |
|------------|-----------------------------------------------|--------------|
| encoder 1  | conv 64                                       | 128x128x64   |
| encoder 2  | conv 128, stride 2                            | 64x64x128    |
| encoder 3  | conv 256, stride 2                            | 32x32x256    |
| encoder 4  | conv 512, stride 2                            | 16x16x512    |
| encoder 5  | conv 512, stride 2                            | 8x8x512      |
| decoder 4  | upsample, concat encoder 4, conv 512          | 16x16x512    |
| decoder 3  | upsample, concat encoder 3, conv 256          | 32x32x256    |
| decoder 2  | upsample, concat encoder 2, conv 128          | 64x64x128    |
| decoder 1  | upsample, concat encoder 1, conv 64           | 128x128x64   |
| ab         | conv 1x1, 2, sigmoid                          | 128x128x2    |
| lab        | concat input L, ab                            | 128x128x3    |

Where and why this departs from the paper (readings of what it leaves open):
- The paper names five encoder convolutions ending at 8x8x512; from 128x128 that is one
  full-resolution convolution and four stride-2 ones, doubling the filters up to 512.
- Downsampling by strided convolution and upsampling by nearest `UpSampling2D` + conv,
  each decoder conv keeping its skip's filter count (a symmetric U-Net).
- BatchNorm sits between each conv and its ReLU (the usual Keras order); the 1x1 sigmoid
  output layer has no BatchNorm, which would fight the sigmoid's range.
- A run (`SPEC.training`) switches from MAE to SSIM after 24 epochs, as the
  Hungarian abstract says, and lasts 44: its "20 epochs, after which no improvement" cannot
  be the whole run (20 < 24), so it is read as the SSIM stage's length.
- The data is LFW at 128x128 (`data/lfw128.h5`); the paper's 240,000 IMDB-WIKI portraits
  (section 4.1) are not at hand.
"""

import keras

from keras_colorize.models import ModelSpec, register
from keras_colorize.models.layers import FusedBatchNormalization

ENCODER = ((1, 1), (2, 2), (4, 2), (8, 2), (8, 2))  # (filters / base_filters, stride)
DOWNSAMPLING = 16


def conv_bn_relu(x, filters, name, strides=1):
    x = keras.layers.Conv2D(
        filters, 3, strides=strides, padding="same", use_bias=False, name=f"{name}_conv"
    )(x)
    x = FusedBatchNormalization(name=f"{name}_bn")(x)
    return keras.layers.ReLU(name=f"{name}_relu")(x)


def lab_unet(image_size=128, base_filters=64):
    """The LAB U-Net network, uncompiled: L/100 (S, S, 1) -> unit LAB (S, S, 3)."""
    if image_size % DOWNSAMPLING:
        raise ValueError(f"image_size must be a multiple of {DOWNSAMPLING}; got {image_size}")
    lightness = keras.Input((image_size, image_size, 1), name="lightness")

    skips = []
    x = lightness
    for index, (multiple, strides) in enumerate(ENCODER, start=1):
        x = conv_bn_relu(x, multiple * base_filters, f"encoder{index}", strides)
        skips.append(x)

    for index in reversed(range(1, len(ENCODER))):
        skip = skips[index - 1]
        x = keras.layers.UpSampling2D(name=f"decoder{index}_upsample")(x)
        x = keras.layers.Concatenate(name=f"decoder{index}_skip")([x, skip])
        x = conv_bn_relu(x, skip.shape[-1], f"decoder{index}")

    ab = keras.layers.Conv2D(2, 1, activation="sigmoid", dtype="float32", name="ab")(x)
    lab = keras.layers.Concatenate(dtype="float32", name="lab")([lightness, ab])
    return keras.Model(lightness, lab, name="unet")


SPEC = register(ModelSpec(
    name="unet",
    builder=lab_unet,
    presets={
        "paper": {"image_size": 128, "base_filters": 64},
        "small": {"image_size": 64, "base_filters": 16},
    },
    element_format="l_lab_unit",
    # Section 4.2 and the Hungarian abstract: MAE, then SSIM "24 epoch után" (after 24 epochs),
    # and no improvement "20 tanítási epoch után" (after 20 training epochs). 20 < 24, so the 20
    # are read as the SSIM stage's: 24 + 20 = 44 epochs in all. Adam (section 3.1); batch
    # unstated (ours).
    training=dict(loss="mae", second_loss="ssim", second_loss_epoch=24, learning_rate=1e-3, batch_size=32,
                  epochs=44),
    standard_data="lfw128.h5",
))
