"""Sketch inversion: a pencil sketch in, the photo it was drawn from out.

Joy & Singh (2017), "Sketch Inversion and Colorization of Gray-scale Photos and Videos".
A plain convolutional encoder-decoder regressing RGB with a mean squared error.

Layer table (paper preset, 100x100 input; "Table I" is the paper's numbering):

| Table I | layer                          | output      |
|---------|--------------------------------|-------------|
| 1       | conv 5x5, 32, ReLU             | 100x100x32  |
| 2       | conv 5x5, 64, stride 2, ReLU   | 50x50x64    |
| 3       | conv 5x5, 128, stride 2, ReLU  | 25x25x128   |
| (3b)    | conv 5x5, 256, ReLU            | 25x25x256   |
| 4       | conv 5x5, 512, ReLU            | 25x25x512   |
| 5       | conv 5x5, 256, ReLU            | 25x25x256   |
| 6       | deconv 5x5, 128, stride 2, ReLU| 50x50x128   |
| 7       | deconv 5x5, 32, stride 2, ReLU | 100x100x32  |
|         | dropout 0.2                    |             |
| 8       | conv 5x5, 3, linear            | 100x100x3   |

Trained with Adam on MSE against the photo in [0, 1] (element format "sketch_rgb"); a run
(`SPEC.training`) takes section VIII's 6 epochs of batch 128, the learning rate halved every
half epoch.

Where and why this departs from the paper:
- Layer 3b is not in Table I. The table gives layer 4 a 256-channel input after a
  128-channel layer 3; a 128 -> 256 convolution is the smallest change that makes the
  channels chain. The conclusion's "11 layers (8 conv + 3 deconv)" matches neither the
  table nor any stride reading that returns to 100x100, so the table wins.
- Strides are not given. Two stride-2 convolutions (layers 2 and 3, where the channels
  grow) are undone by the two stride-2 deconvolutions, returning exactly to 100x100
  (three would need 100/8, not an integer).
- "Drop probability 0.8" after layer 7 is read as tflearn's `dropout(x, 0.8)`, whose
  argument is the keep probability: Keras's `Dropout(rate=0.2)`.
- "same" padding everywhere (not stated), so sizes stay divisible.
- Layer 8 is linear: Table I says ReLU, the conclusion "linear activation function" at the
  last layer. A ReLU output cannot go below 0 and stalls where it does; linear is the
  reading that trains.
- Data: section VIII trains on 88,000 CelebA faces and validates on 12,000 (100,000 in all);
  the CelebA at hand is 10,000 images, which `data/celeba100.h5` splits 80/10/10 so that a
  test split exists for Table II. `python -m data_prep build ... --split 0.88 0.12 0` gives
  the paper's proportions.
"""

import keras

from keras_colorize.models import ModelSpec, register

# Table I's filters as multiples of `base_filters` (32 in the paper), with the strides read above.
ENCODER = ((1, 1), (2, 2), (4, 2), (8, 1), (16, 1), (8, 1))
DECODER = (4, 1)
DOWNSAMPLING = 4


def build_sketch_inverter(image_size=100, base_filters=32, kernel_size=5, dropout_rate=0.2):
    """The sketch inverter, uncompiled: sketch (S, S, 3) -> RGB (S, S, 3)."""
    if image_size % DOWNSAMPLING:
        raise ValueError(f"image_size must be a multiple of {DOWNSAMPLING}; got {image_size}")
    sketch = keras.Input((image_size, image_size, 3), name="sketch")
    x = sketch
    for index, (multiple, strides) in enumerate(ENCODER, start=1):
        x = keras.layers.Conv2D(
            multiple * base_filters,
            kernel_size,
            strides=strides,
            padding="same",
            activation="relu",
            name=f"encoder_conv{index}",
        )(x)
    for index, multiple in enumerate(DECODER, start=1):
        x = keras.layers.Conv2DTranspose(
            multiple * base_filters,
            kernel_size,
            strides=2,
            padding="same",
            activation="relu",
            name=f"decoder_deconv{index}",
        )(x)
    x = keras.layers.Dropout(dropout_rate, name="dropout")(x)
    photo = keras.layers.Conv2D(3, kernel_size, padding="same", dtype="float32", name="photo")(x)

    return keras.Model(sketch, photo, name="sketch_inverter")


SPEC = register(ModelSpec(
    name="sketch_inverter",
    builder=build_sketch_inverter,
    presets={
        "paper": {"image_size": 100, "base_filters": 32},
        "small": {"image_size": 100, "base_filters": 8},
    },
    element_format="sketch_rgb",
    # Section VIII: 6 epochs, batch 128, learning rate halved every half epoch; section VI:
    # MSE, Adam (its rate unstated: 1e-3, tflearn's and Keras's default).
    training=dict(loss="mse", learning_rate=1e-3, batch_size=128, epochs=6, halve_lr_every_half_epoch=True),
    standard_data="celeba100.h5",
))
