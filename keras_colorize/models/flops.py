"""Analytic forward-pass FLOPs of a model, for docs/models.md and the benchmarks.

`forward_flops(model)` counts 2 FLOPs per multiply-add of the layers that dominate a
convolutional network -- Conv2D, Conv2DTranspose, DepthwiseConv2D and Dense -- for one
image, walking into nested models (a VGG16 inside the fusion network, say). Biases,
activations, normalization, pooling and resizing are left out: each costs a few FLOPs per
activation, against a kernel's worth of multiply-adds per activation in the layers counted.

A GAN's forward pass is what its functional graph runs, the generator; its training step
(`training_step_flops`) also runs the discriminator, on a real and on a generated image.
"""

import math

import keras

from keras_colorize.models.gan import ConditionalGAN


def forward_flops(model):
    """FLOPs (2 x multiply-adds) of one forward pass of one image through `model`."""
    return sum(layer_flops(layer) for layer in model.layers)


def training_step_flops(model):
    """FLOPs of one training step per image: 3x the forward pass (backward ~ 2x forward), and
    for a GAN 3x (generator + 2 x discriminator)."""
    if isinstance(model, ConditionalGAN):
        return 3 * (forward_flops(model.generator) + 2 * forward_flops(model.discriminator))
    return 3 * forward_flops(model)


def layer_flops(layer):
    """Forward FLOPs of one image through `layer`: 0 for a layer without a kernel."""
    if isinstance(layer, keras.Model):
        return forward_flops(layer)
    if isinstance(layer, keras.layers.Conv2DTranspose):
        # Every input pixel is multiplied by the whole kernel and scattered to the output.
        return 2 * math.prod(layer.kernel.shape) * _positions(layer.input.shape)
    if isinstance(layer, (keras.layers.Conv2D, keras.layers.DepthwiseConv2D, keras.layers.Dense)):
        return 2 * math.prod(layer.kernel.shape) * _positions(layer.output.shape)
    return 0


def _positions(shape):
    """How many times a layer applies its kernel: the product of the non-batch, non-channel dims."""
    positions = shape[1:-1]
    if any(size is None for size in positions):
        raise ValueError(f"forward_flops needs fixed spatial sizes; got a layer with shape {shape}")
    return math.prod(positions)
