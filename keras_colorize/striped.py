"""Colorizing images far larger than the model's input in bounded memory, in strips of rows.

The model sees the image at its own small size anyway, so a 144-megapixel scan needs only
that small input and, to join the prediction with the full-resolution input, one strip of
rows at a time: memory is the decoded image plus a few strips, and time is linear in pixels.
The whole-image graph (`inference.colorize_batch`) makes several float copies of the image
instead, 7.5 GB for 12000 x 12000.

Both resizes are TensorFlow's antialiased bilinear (`ScaleAndTranslate`, triangle kernel),
which is separable, so the results equal the whole-image graph's up to float rounding:
- down to the model's size: each strip is narrowed to the model's width, then the stacked
  (height x model width) array is shortened to the model's height;
- back up: each output strip is resized straight from the prediction, translated to where
  the strip lies in the whole image.
"""

import struct
import zlib

import numpy as np
import tensorflow as tf

from keras_colorize import data, images, inference

STRIP_PIXELS = 1 << 20  # per strip: TensorFlow's float temporaries stay at tens of MB
STRIPED_ABOVE_PIXELS = 2_000_000  # smaller images go through the whole-image graph (4 MP: 980 MB there)


def rows_of_array(array):
    """(height, width, read(top, bottom)) of an image array (H, W, C)."""
    return array.shape[0], array.shape[1], lambda top, bottom: array[top:bottom]


def rows_of_pil(image, path):
    """(height, width, read(top, bottom)) of a decoded Pillow image, each strip as uint8 RGB."""
    width, height = image.size
    return height, width, lambda top, bottom: images.to_rgb_array(image.crop((0, top, width, bottom)), path)


def colorized_strips(predictor, element_format, height, width, read, strip_pixels=STRIP_PIXELS, model_size=None):
    """Yield (top row, uint8 RGB strip) covering the image that `read(top, bottom)` gives in
    strips, colorized by `predictor` at `model_size` (default: its own input size) as
    `inference.colorize_batch` would."""
    strip_rows = max(1, strip_pixels // width)
    bounds = [(top, min(top + strip_rows, height)) for top in range(0, height, strip_rows)]
    model_height, model_width = model_size or predictor.input_shape[1:3]

    def full_input(top, bottom):
        return inference.full_resolution_input(read(top, bottom)[None], element_format)

    narrowed = [_resize_part(full_input(*rows), (rows[1] - rows[0], model_width)) for rows in bounds]
    model_input = _resize_part(tf.concat(narrowed, axis=1), (model_height, model_width))
    decoded = data.get_format(element_format).decode(
        tf.cast(predictor(model_input, training=False), tf.float32)
    )
    scale = (height / model_height, width / model_width)
    for top, bottom in bounds:
        strip_prediction = _resize_part(decoded, (bottom - top, width), scale, top)
        rgb = inference.joined_rgb(element_format, full_input(top, bottom), strip_prediction)
        yield top, inference.to_uint8(rgb).numpy()[0]


def _resize_part(images_in, size, scale=None, top=0):
    """Rows `top` to `top + size[0]` of `images_in` resized by `scale` (default: to `size`),
    as `tf.image.resize(bilinear, antialias=True)` of the whole would give them."""
    if scale is None:
        scale = (size[0] / images_in.shape[1], size[1] / images_in.shape[2])
    return tf.raw_ops.ScaleAndTranslate(
        images=images_in, size=size, scale=tf.constant(scale, tf.float32),
        translation=tf.constant([-top, 0.0], tf.float32), kernel_type="triangle", antialias=True,
    )


def colorize(predictor, element_format, array, model_size=None):
    """An image array (H, W, C) -> uint8 RGB (H, W, 3), filled strip by strip."""
    height, width, read = rows_of_array(array)
    out = np.empty((height, width, 3), np.uint8)
    for top, strip in colorized_strips(predictor, element_format, height, width, read, model_size=model_size):
        out[top : top + len(strip)] = strip
    return out


def write_png(path, height, width, strips, compress_level=images.PNG_COMPRESS_LEVEL):
    """Write uint8 RGB `strips` (top to bottom, (rows, width, 3) each) as one PNG at `path`
    (which must not exist yet) without ever holding the whole image: Pillow copies an image
    into 4 bytes a pixel before encoding it. Rows use PNG's "Up" filter (difference from the
    row above), which photos compress well with. zlib level 1: on a 16-megapixel colorized photo,
    0.5 s for 16.6 MB, where level 6 took 3.6 s for 15.1 MB (Pillow: 4.2 s, 15.1 MB)."""
    compressor = zlib.compressobj(compress_level)
    previous = np.zeros((1, width * 3), np.uint8)
    with open(path, "xb") as png:
        png.write(b"\x89PNG\r\n\x1a\n")
        _write_chunk(png, b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        for strip in strips:
            rows = strip.reshape(len(strip), width * 3)
            above = np.concatenate([previous, rows[:-1]])
            filtered = np.hstack([np.full((len(rows), 1), 2, np.uint8), rows - above])
            _write_chunk(png, b"IDAT", compressor.compress(filtered.tobytes()))
            previous = rows[-1:]
        _write_chunk(png, b"IDAT", compressor.flush())
        _write_chunk(png, b"IEND", b"")


def _write_chunk(png, kind, payload):
    if not payload and kind == b"IDAT":
        return  # zlib buffers small inputs; an empty IDAT is legal but pointless
    png.write(struct.pack(">I", len(payload)) + kind + payload)
    png.write(struct.pack(">I", zlib.crc32(kind + payload)))
