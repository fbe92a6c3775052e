"""The fusion network: a colorization encoder-decoder told what the picture shows by an
ImageNet classifier.

You et al., "Facial Colorization Using Transfer Learning", after Baldassarre et al. (2017),
"Deep Koalarization: Image Colorization using CNNs and Inception-ResNet-v2". A
convolutional encoder reads L (sec. II.B); an ImageNet-trained network reads the same image
at 224x224 and its class vector (sec. II.C) is tiled over the encoder's H/8 x W/8 grid and
fused in by a 1x1 convolution of 256 kernels (sec. II.D); a decoder upsamples to the image's
ab by nearest neighbour (sec. II.E), through tanh (ab/128, element format "l_ab_signed").
Trained with Adam on eq. 2, half the mean square over a and b, which is the MSE over both
channels. The resize to the extractor's input and its own preprocessing happen inside the
model.

Layer table (Figure II; paper preset, 224x224 input, base_filters 64; 3x3 ReLU convs):

| part      | layer                                               | output        |
|-----------|-----------------------------------------------------|---------------|
| encoder   | conv 64, stride 2, dropout 0.4                      | 112x112x64    |
|           | conv 128, dropout 0.5                               | 112x112x128   |
|           | conv 128, stride 2, dropout 0.5                     | 56x56x128     |
|           | conv 256, dropout 0.6                               | 56x56x256     |
|           | conv 256, stride 2, dropout 0.6                     | 28x28x256     |
|           | conv 512, dropout 0.7                               | 28x28x512     |
|           | conv 512, dropout 0.6                               | 28x28x512     |
|           | conv 256                                            | 28x28x256     |
| embedding | L -> gray RGB 224x224 -> VGG16 -> 1000 class scores | 1000          |
| fusion    | tile to 28x28, concat encoder, conv 1x1 256         | 28x28x256     |
| decoder   | conv 128, upsample                                  | 56x56x128     |
|           | conv 64, conv 64, upsample                          | 112x112x64    |
|           | conv 32, conv 2 tanh, upsample                      | 224x224x2     |

`extractor` picks the ImageNet network: "vgg16" (the paper's; `vgg_weights`) or "mobilenet"
(MobileNet v1 alpha 0.75, `mobilenet_weights`, whose ImageNet weights ship with this
project's data, see `keras_colorize.pretrained`). The `small` preset is the one that works out
of the box: 64x64 L, base_filters 16, the ImageNet MobileNet's 1000 class probabilities at
224x224, frozen.

Where and why this departs from the papers:
- The 1000 ImageNet class scores stand for the paper's 1001-d embedding (Koalarization's
  Inception-ResNet-v2 has a background class; VGG16 and MobileNet have none): the fused
  volume is H/8 x W/8 x 1256, not 1257.
- VGG16's ImageNet weights cannot be downloaded everywhere, so `vgg_weights=None` (the paper
  preset's default) gives a randomly initialised, trainable VGG16; the paper's frozen
  pretrained VGG16 is `vgg_weights="imagenet"` or the path to the Keras weights file. The
  small preset's MobileNet is the pretrained extractor that is at hand (sec. II.C's "pre-trained
  model"), a departure in the network, not in the method.
- Figure II's dropout values are read as Keras drop rates after each of the first seven
  encoder convs (the text's "probabilities of remaining the nodes" could also mean keep
  rates; the figure's layer names are Keras's).
- You et al. min-max scale each image to [0, 1] (eq. 1); here L and ab are scaled by their
  fixed ranges (L/100, ab/128), as every model in this package is, so that the lightness a
  photo is colored from is the photo's own.
- Sec. II.D duplicates the vector "256 times", a 16x16 grid, which would mean a 128x128
  encoder input; with the 224x224 input the grid is 28x28 (784 copies), as in Koalarization.
- The extractor sees the neutral sRGB gray of L (`color.lightness_to_gray`, the package's one
  definition of gray) rather than the gray JPEG the papers started from.
- `extractor_top=False` feeds the extractor at `extractor_input_size` without its classifier
  top: global-average-pooled features and a trainable Dense softmax of `embedding_size` stand
  in for the class scores (VGG16 at 224x224 costs about 31 GFLOPs an image).
"""

from pathlib import Path

import keras

from keras_colorize import color, pretrained
from keras_colorize.models import ModelSpec, register

# (filters / base_filters, stride, dropout rate after the conv): Figure II
ENCODER = (
    (1, 2, 0.4),
    (2, 1, 0.5),
    (2, 2, 0.5),
    (4, 1, 0.6),
    (4, 2, 0.6),
    (8, 1, 0.7),
    (8, 1, 0.6),
    (4, 1, 0.0),
)
FUSION_FILTERS = 4  # 1x1 fusion conv filters / base_filters
# (filters / base_filters, upsample after the conv)
DECODER = ((2, True), (1, False), (1, True), (0.5, False))
DOWNSAMPLING = 8
TOP_INPUT_SIZE = 224  # both extractors' classifier tops take 224x224
EXTRACTORS = ("vgg16", "mobilenet")


@keras.saving.register_keras_serializable(package="keras_colorize")
class VGGInput(keras.layers.Layer):
    """L/100 (N, H, W, 1) -> VGG16's input: the gray sRGB image, resized, caffe-preprocessed."""

    def __init__(self, size, **kwargs):
        super().__init__(**kwargs)
        self.size = size

    def call(self, lightness):
        lightness = keras.ops.image.resize(lightness, (self.size, self.size))
        gray_rgb = color.lightness_to_gray(color.l_from_unit(lightness)) * 255.0
        return keras.applications.vgg16.preprocess_input(gray_rgb)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.size, self.size, 3)

    def get_config(self):
        return {**super().get_config(), "size": self.size}


def load_vgg16(weights, include_top, input_size):
    """VGG16 giving a vector per image; frozen when pretrained, trainable when `weights` is None.

    weights: None, "imagenet" (downloaded by Keras) or the path to a Keras VGG16 weights
    file with or without the classifier top, as `include_top` says.
    """
    options = {
        "include_top": include_top,
        "input_shape": (input_size, input_size, 3),
        "pooling": None if include_top else "avg",
    }
    if weights == "imagenet":
        vgg = _imagenet_vgg16(options)
    elif weights is None:
        vgg = keras.applications.VGG16(weights=None, **options)
    else:
        vgg = _local_vgg16(Path(weights), options)
    vgg.trainable = weights is None
    return vgg


def _imagenet_vgg16(options):
    try:
        return keras.applications.VGG16(weights="imagenet", **options)
    except Exception as error:  # keras raises a bare Exception when the download fails
        top = "" if options["include_top"] else "_notop"
        raise ConnectionError(
            f"the VGG16 ImageNet weights could not be downloaded ({error}). Download "
            f"'vgg16_weights_tf_dim_ordering_tf_kernels{top}.h5' from "
            "https://storage.googleapis.com/tensorflow/keras-applications/vgg16/ and pass its "
            "path as vgg_weights, or pass vgg_weights=None for a trainable, randomly "
            "initialised VGG16"
        ) from error


def _local_vgg16(path, options):
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such VGG16 weights file")
    try:
        return keras.applications.VGG16(weights=str(path), **options)
    except ValueError as error:
        top = "with" if options["include_top"] else "without"
        raise ValueError(f"{path}: not the weights of a VGG16 {top} its classifier top") from error


def _encoder(lightness, base_filters):
    x = lightness
    for index, (multiple, strides, dropout_rate) in enumerate(ENCODER, start=1):
        x = keras.layers.Conv2D(
            int(multiple * base_filters),
            3,
            strides=strides,
            padding="same",
            activation="relu",
            name=f"encoder_conv{index}",
        )(x)
        if dropout_rate:
            x = keras.layers.Dropout(dropout_rate, name=f"encoder_dropout{index}")(x)
    return x


def _embedding(lightness, extractor, weights, top, input_size, embedding_size):
    if extractor == "vgg16":
        network = load_vgg16(weights, top, input_size)
        network_input = VGGInput(input_size, name="vgg_input")(lightness)
    else:
        network = pretrained.mobilenet(
            weights=weights, include_top=top, input_shape=(input_size, input_size, 3),
            pooling=None if top else "avg", trainable=weights is None,
        )
        network_input = pretrained.MobileNetInput(input_size, name="mobilenet_input")(lightness)
    embedding = network(network_input)
    if not top:
        embedding = keras.layers.Dense(embedding_size, activation="softmax", name="embedding")(
            embedding
        )
    return embedding


def _fuse(features, embedding, base_filters):
    height, width = features.shape[1:3]
    tiled = keras.layers.RepeatVector(height * width, name="embedding_tile")(embedding)
    tiled = keras.layers.Reshape((height, width, embedding.shape[-1]), name="embedding_grid")(tiled)
    fused = keras.layers.Concatenate(name="fusion_concat")([features, tiled])
    return keras.layers.Conv2D(
        FUSION_FILTERS * base_filters, 1, activation="relu", name="fusion_conv"
    )(fused)


def _decoder(x, base_filters):
    for index, (multiple, upsample) in enumerate(DECODER, start=1):
        x = keras.layers.Conv2D(
            int(multiple * base_filters),
            3,
            padding="same",
            activation="relu",
            name=f"decoder_conv{index}",
        )(x)
        if upsample:
            x = keras.layers.UpSampling2D(name=f"decoder_upsample{index}")(x)
    x = keras.layers.Conv2D(
        2, 3, padding="same", activation="tanh", dtype="float32", name="ab_tanh"
    )(x)
    return keras.layers.UpSampling2D(dtype="float32", name="ab")(x)


def build_fusion(
    image_size=224,
    base_filters=64,
    extractor="vgg16",
    vgg_weights=None,
    mobilenet_weights=None,
    extractor_top=True,
    extractor_input_size=TOP_INPUT_SIZE,
    embedding_size=1000,
):
    """The fusion network, uncompiled: L/100 (S, S, 1) -> ab/128 (S, S, 2).

    extractor: "vgg16" or "mobilenet". vgg_weights / mobilenet_weights (the chosen
    extractor's): "imagenet", a path to a weights file (VGG16: a Keras file with or without
    the top, matching `extractor_top`; MobileNet: that or a TensorFlow.js folder), or None for
    a trainable random network. extractor_top: use the 1000 class scores (needs
    extractor_input_size 224), else pooled features -> Dense(embedding_size) softmax.
    """
    if image_size % DOWNSAMPLING:
        raise ValueError(f"image_size must be a multiple of {DOWNSAMPLING}; got {image_size}")
    if extractor not in EXTRACTORS:
        raise ValueError(f"unknown extractor {extractor!r}; choose from {EXTRACTORS}")
    if extractor_top and extractor_input_size != TOP_INPUT_SIZE:
        raise ValueError(
            f"extractor_top=True needs extractor_input_size {TOP_INPUT_SIZE}; got {extractor_input_size}"
        )
    weights = vgg_weights if extractor == "vgg16" else mobilenet_weights
    lightness = keras.Input((image_size, image_size, 1), name="lightness")
    features = _encoder(lightness, base_filters)
    embedding = _embedding(lightness, extractor, weights, extractor_top, extractor_input_size, embedding_size)
    ab = _decoder(_fuse(features, embedding, base_filters), base_filters)

    return keras.Model(lightness, ab, name="fusion")


SPEC = register(ModelSpec(
    name="fusion",
    builder=build_fusion,
    presets={
        "paper": {"image_size": 224, "base_filters": 64, "extractor": "vgg16", "extractor_top": True,
                  "extractor_input_size": 224},
        "small": {"image_size": 64, "base_filters": 16, "extractor": "mobilenet",
                  "mobilenet_weights": "imagenet", "extractor_top": True, "extractor_input_size": 224},
    },
    element_format="l_ab_signed",
    # Section III.A/C: MSE (eq. 2), Adam, batch 16; epochs unstated ("approximately 10 hours"),
    # the rate is Keras's default.
    training=dict(loss="mse", learning_rate=1e-3, batch_size=16, epochs=20),
    standard_data="lfw128.h5",
))
