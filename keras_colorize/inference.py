"""Pre- and post-processing around a trained model, for every element format, in TF ops.

`full_resolution_input` turns images of any size into what the model sees (resized to the
model's size by `colorize_batch`); `outputs_to_rgb` turns the model's outputs back into sRGB
at the size of the image the input came from, with the element format's own `decode`. LAB
models keep the full-resolution lightness of the input and only resize the predicted ab, so
no detail is lost; sketch and gray->RGB models are resized back as a whole. The training
callbacks, the SavedModel export and the Colorizer all use these functions.
"""

import tensorflow as tf

from keras_colorize import color, data, hints


def to_float_rgb(images):
    """uint8 or float images, gray (..., 1) or RGB (..., 3) -> float32 RGB in [0, 1]."""
    images = tf.convert_to_tensor(images)
    if images.dtype == tf.uint8:
        images = tf.cast(images, tf.float32) / 255.0
    return _three_channels(tf.cast(images, tf.float32))


def _three_channels(images):
    """Gray (..., 1) or RGB (..., 3) images -> RGB, of the same dtype."""
    if images.shape[-1] == 3:
        return images
    # Gray, or channels unknown until run time (a serving signature): 1 tiles to 3, 3 stays.
    repeats = tf.concat([tf.ones([tf.rank(images) - 1], tf.int32), [3 // tf.shape(images)[-1]]], 0)
    return tf.ensure_shape(tf.tile(images, repeats), images.shape[:-1] + [3])


def resize(images, size):
    """Images (N, H, W, C) resized to `size` both ways as training resizes them
    (`data.resize_samples`): bilinear, antialiased when shrinking; area would enlarge into
    blocks. Enlarging, the antialiasing filter changes nothing (to float rounding) but its
    kernel (ScaleAndTranslate) takes 4x as long as plain bilinear's on a 720p frame."""
    size = tf.convert_to_tensor(size, tf.int32)
    return tf.cond(
        tf.reduce_all(size >= tf.shape(images)[1:3]),
        lambda: tf.image.resize(images, size, method="bilinear"),
        lambda: tf.image.resize(images, size, method="bilinear", antialias=True),
    )


def _to_input_range(unit, element):
    low, high = element.input_range
    return unit * (high - low) + low


def _from_input_range(inputs, element):
    low, high = element.input_range
    return (inputs - low) / (high - low)


def full_resolution_input(images, element_format):
    """Images as the model sees them, but at their own size (L/100, or the scaled gray/sketch)."""
    element = data.get_format(element_format)
    images = tf.convert_to_tensor(images)
    if element.takes_lightness and images.dtype == tf.uint8:
        # uint8 levels go to `rgb_to_lightness` as they are: it looks them up, 7x faster.
        return color.l_to_unit(color.rgb_to_lightness(_three_channels(images)))
    rgb = to_float_rgb(images)
    if element.takes_lightness:
        return color.l_to_unit(color.rgb_to_lightness(rgb))
    return _to_input_range(color.rgb_to_gray(rgb), element)


def outputs_to_rgb(element_format, full_inputs, outputs):
    """Model outputs (target encoding) -> float sRGB in [0, 1] at `full_inputs`' size.

    `full_inputs` is `full_resolution_input(images)`: for lightness formats its L is joined
    with the predicted ab resized to it.
    """
    decoded = data.get_format(element_format).decode(tf.cast(outputs, tf.float32))
    return joined_rgb(element_format, full_inputs, resize(decoded, tf.shape(full_inputs)[1:3]))


def joined_rgb(element_format, full_inputs, decoded):
    """Decoded outputs already at `full_inputs`' size -> float sRGB in [0, 1]: lightness
    formats join the predicted ab with the input's L, the others are the prediction, clipped."""
    if not data.get_format(element_format).takes_lightness:
        return tf.clip_by_value(decoded, 0.0, 1.0)
    return color.lab_to_rgb(color.join_lab(color.l_from_unit(full_inputs), decoded))


def inputs_to_rgb(element_format, inputs):
    """What a model input looks like, as sRGB in [0, 1] (the gray L, or the sketch)."""
    element = data.get_format(element_format)
    inputs = tf.cast(inputs, tf.float32)
    if element.takes_lightness:
        return color.lightness_to_gray(color.l_from_unit(inputs))
    return tf.clip_by_value(_from_input_range(inputs, element), 0.0, 1.0)


def to_uint8(rgb):
    return tf.cast(tf.round(tf.clip_by_value(rgb, 0.0, 1.0) * 255.0), tf.uint8)


def gray_version(images):
    """uint8 RGB images of the same CIELAB lightness with no colour: what a photo model sees."""
    return to_uint8(color.rgb_to_gray(to_float_rgb(images))).numpy()


def colorize_batch(model, images, element_format, rendering=None, hint_map=None):
    """uint8/float images (N, H, W, C) -> uint8 RGB (N, H, W, 3), the model run at its own
    input size, or keeping the images' shape as `rendering` (`models.Rendering`) says.

    A hint model (`hints.takes_hints`) is also given `hint_map` (N, h, w, 3) of any size,
    resized to the model's (`hints.resized`), or no hints when it is None."""
    size = model_size(model.inputs[0].shape[1:3], images, rendering)
    full_inputs, model_inputs = prepared(images, element_format, size)
    if hints.takes_hints(model):
        given = hints.empty(tf.shape(images)[0], size[0], size[1]) if hint_map is None else hints.resized(hint_map, size)
        model_inputs = [model_inputs, given]
    return finished(element_format, full_inputs, model(model_inputs, training=False))


def predicted_ab(model, lightness, element_format, rendering=None):
    """CIELAB lightness (N, H, W, 1) -> the ab (N, h, w, 2) that a model of a lightness format
    predicts for it, decoded, at the size the model runs at (as in `colorize_batch`, which
    joins it, enlarged, with the full-resolution lightness)."""
    size = model_size(model.input_shape[1:3], lightness, rendering)
    outputs = model(resize(color.l_to_unit(lightness), size), training=False)
    return data.get_format(element_format).decode(tf.cast(outputs, tf.float32))


def model_size(own_size, images, rendering):
    """(height, width) a model of input size `own_size` runs at for `images` (N, H, W, C):
    its own, or the `rendering`'s (`render_shape`)."""
    if rendering is None:
        return own_size
    shape = tf.shape(images)
    return render_shape(shape[1], shape[2], *rendering)


def prepared(images, element_format, size):
    """(full-resolution inputs, the model's inputs at `size`) of uint8/float images (N, H, W, C):
    the two halves of `colorize_batch` around the model, for a model run outside TensorFlow."""
    full_inputs = full_resolution_input(images, element_format)
    return full_inputs, resize(full_inputs, size)


def finished(element_format, full_inputs, outputs):
    """uint8 RGB at `full_inputs`' size from the model's `outputs` (see `prepared`)."""
    return to_uint8(outputs_to_rgb(element_format, full_inputs, outputs))


def render_shape(height, width, short_side, stride):
    """(height, width) at which a fully convolutional model renders an image of this size:
    `short_side` (a multiple of `stride`) on its shorter side, the longer one in proportion,
    rounded to a multiple of `stride`. TF ops, so that a traced graph takes any image size."""
    height, width = tf.cast(height, tf.float32), tf.cast(width, tf.float32)
    scale = short_side / tf.minimum(height, width)

    def side(length):
        steps = tf.maximum(1, tf.cast(tf.round(length * scale / stride), tf.int32))
        return steps * stride

    return tf.stack([side(height), side(width)])
