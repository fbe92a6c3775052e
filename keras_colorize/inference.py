"""Pre- and post-processing around a trained model, for every element format, in TF ops.

`full_resolution_input` turns images of any size into what the model sees (resized to the
model's size by `colorize_batch`); `outputs_to_rgb` turns the model's outputs back into sRGB at
the size of the image the input came from. LAB models keep the full-resolution lightness of the input and only resize the
predicted ab, so no detail is lost; sketch and gray->RGB models are resized back as a whole.
The training callbacks, the SavedModel export and the Colorizer all use these functions.
"""

import tensorflow as tf

from keras_colorize import color

LAB_FORMATS = ("l_ab_unit", "l_lab_unit", "l_ab_signed", "l_ab")
RGB_INPUT_FORMATS = ("gray_rgb", "sketch_rgb", "sketch_rgb_tanh")


def _check_format(element_format):
    if element_format not in LAB_FORMATS + RGB_INPUT_FORMATS:
        raise ValueError(
            f"unknown element format {element_format!r}; "
            f"known: {', '.join(LAB_FORMATS + RGB_INPUT_FORMATS)}"
        )


def to_float_rgb(images):
    """uint8 or float images, gray (..., 1) or RGB (..., 3) -> float32 RGB in [0, 1]."""
    images = tf.convert_to_tensor(images)
    if images.dtype == tf.uint8:
        images = tf.cast(images, tf.float32) / 255.0
    images = tf.cast(images, tf.float32)
    if images.shape[-1] == 3:
        return images
    # Gray, or channels unknown until run time (a serving signature): 1 tiles to 3, 3 stays.
    repeats = tf.concat([tf.ones([tf.rank(images) - 1], tf.int32), [3 // tf.shape(images)[-1]]], 0)
    return tf.ensure_shape(tf.tile(images, repeats), images.shape[:-1] + [3])


def _resize(images, size):
    return tf.image.resize(images, size, method="area", antialias=True)


def full_resolution_input(images, element_format):
    """Images as the model sees them, but at their own size (L/100, or the [0,1] sketch/gray)."""
    _check_format(element_format)
    rgb = to_float_rgb(images)
    if element_format in LAB_FORMATS:
        return color.l_to_unit(color.rgb_to_lab(rgb)[..., :1])
    gray = color.rgb_to_gray(rgb)
    return gray * 2.0 - 1.0 if element_format == "sketch_rgb_tanh" else gray


def outputs_to_rgb(element_format, full_inputs, outputs):
    """Model outputs (target encoding) -> float sRGB in [0, 1] at `full_inputs`' size.

    `full_inputs` is `full_resolution_input(images)`: for LAB formats its lightness is joined
    with the predicted ab resized to it.
    """
    _check_format(element_format)
    outputs = tf.cast(outputs, tf.float32)
    size = tf.shape(full_inputs)[1:3]
    if element_format not in LAB_FORMATS:
        rgb = (outputs + 1.0) / 2.0 if element_format == "sketch_rgb_tanh" else outputs
        return tf.clip_by_value(tf.image.resize(rgb, size, method="bilinear"), 0.0, 1.0)
    ab = {
        "l_ab_unit": lambda: color.ab_from_unit(outputs),
        "l_lab_unit": lambda: color.ab_from_unit(outputs[..., 1:]),
        "l_ab_signed": lambda: color.ab_from_signed(outputs),
        "l_ab": lambda: outputs,
    }[element_format]()
    ab = tf.image.resize(ab, size, method="bilinear")
    return color.lab_to_rgb(color.join_lab(color.l_from_unit(full_inputs), ab))


def inputs_to_rgb(element_format, inputs):
    """What a model input looks like, as sRGB in [0, 1] (the gray L, or the sketch)."""
    _check_format(element_format)
    inputs = tf.cast(inputs, tf.float32)
    if element_format in LAB_FORMATS:
        return color.lightness_to_gray(color.l_from_unit(inputs))
    if element_format == "sketch_rgb_tanh":
        inputs = (inputs + 1.0) / 2.0
    return tf.clip_by_value(inputs, 0.0, 1.0)


def to_uint8(rgb):
    return tf.cast(tf.round(tf.clip_by_value(rgb, 0.0, 1.0) * 255.0), tf.uint8)


def colorize_batch(model, images, element_format):
    """uint8/float images (N, H, W, C) -> uint8 RGB (N, H, W, 3), the model run at its own size."""
    size = model.input_shape[1:3]
    full_inputs = full_resolution_input(images, element_format)
    outputs = model(_resize(full_inputs, size), training=False)
    return to_uint8(outputs_to_rgb(element_format, full_inputs, outputs))
