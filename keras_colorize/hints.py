"""Colour hints: the sparse ab map and mask a hint-conditioned model takes beside L.

A hint says "this patch is this colour". A model sees all of them as one (H, W, 3) map at its
input size: the hints' ab / `color.AB_OFFSET` where a hint lies and 0 elsewhere, then the mask
(1 at hinted pixels), as Zhang et al. 2017 ("Real-Time User-Guided Image Colorization with
Learned Deep Priors", SIGGRAPH, sec. 3.1) feed their local-hints network.

Two producers, one encoding (`encode`):
- `simulated`: what training and the hint evaluation reveal of a ground truth (sec. 3.2): a
  number of patches, each patch's mean ab painted over it.
- `from_points`: what a user gives, `(x, y, (r, g, b))` in the image's own pixels, moved to
  the model's input size.
"""

import json
import math

from pathlib import Path

import numpy as np
import tensorflow as tf

from keras_colorize import color

HINT_CHANNELS = 3
# Sec. 3.2: the number of hints is geometric with p = 1/8 (0 hints one time in 8, so the network
# still colorizes on its own), patch sides uniform from 1 to 9 px, centres normal around the
# image centre with a quarter of its size as deviation.
HINT_PROBABILITY = 1 / 8
MAX_PATCH_RADIUS = 4  # patches of 1, 3, 5, 7 or 9 px a side
MAX_SIMULATED_HINTS = 48  # the geometric count is cut here: P(more) = (7/8)^49, about 0.1%
USER_PATCH_RADIUS = 1  # a user's click hints a 3x3 patch at the model's input size


def encode(ab, mask):
    """ab (..., H, W, 2) in CIELAB units and mask (..., H, W, 1) in {0, 1} -> the hint map."""
    mask = tf.cast(mask, tf.float32)
    return tf.concat([color.ab_to_signed(ab) * mask, mask], axis=-1)


def decode(hint_map):
    """The hint map -> (ab in CIELAB units, mask)."""
    return color.ab_from_signed(hint_map[..., :2]), hint_map[..., 2:]


def empty(batch, height, width):
    """A hint map with no hints: what a hint model is given to colorize on its own."""
    return tf.zeros([batch, height, width, HINT_CHANNELS])


def takes_hints(model):
    """Whether a Keras model takes a hint map beside its image input."""
    return len(model.inputs) == 2 and model.inputs[1].shape[-1] == HINT_CHANNELS


def resized(hint_map, size):
    """A hint map (N, h, w, 3) at `size` (height, width): a pixel is hinted where any pixel it
    covers was, with their mean ab."""
    ab, mask = decode(tf.cast(hint_map, tf.float32))
    pooled = tf.image.resize(tf.concat([ab * mask, mask], axis=-1), size, method="area")
    coverage = pooled[..., 2:]
    return encode(pooled[..., :2] / tf.maximum(coverage, 1e-6), coverage > 0)


def without_hints(network):
    """A hint model `network([L, hint map])` as a function of L alone, given no hints: what it
    paints on its own (training's prediction previews)."""

    def colorize(lightness, training=False):
        lightness = tf.convert_to_tensor(lightness)
        shape = tf.shape(lightness)
        return network([lightness, empty(shape[0], shape[1], shape[2])], training=training)

    return colorize


def simulated(ab, seed, count=None, max_hints=MAX_SIMULATED_HINTS):
    """Hints revealed from true ab (N, H, W, 2): (hint map (N, H, W, 3), centres (N, K, 2) as
    (y, x), in use (N, K)).

    count: hints per image; None draws it from the geometric distribution (training). `seed`
    is a stateless seed (shape (2,) int); the same seed reveals the same hints.
    """
    ab = tf.cast(ab, tf.float32)
    shape = tf.shape(ab)
    batch, height, width = shape[0], shape[1], shape[2]
    seeds = tf.unstack(tf.random.experimental.stateless_split(seed, 4))
    if count is None:
        uniform = tf.random.stateless_uniform([batch], seeds[0], minval=1e-7, maxval=1.0)
        count = tf.floor(tf.math.log(uniform) / math.log(1.0 - HINT_PROBABILITY))
        counts = tf.cast(tf.minimum(count, max_hints), tf.int32)
    else:
        max_hints = count
        counts = tf.fill([batch], count)
    sides = tf.cast(tf.stack([height, width]), tf.float32)
    centres = tf.random.stateless_normal([batch, max_hints, 2], seeds[1]) * sides / 4.0 + sides / 2.0
    centres = tf.cast(tf.clip_by_value(tf.round(centres), 0.0, sides - 1.0), tf.int32)
    radii = tf.random.stateless_uniform([batch, max_hints], seeds[2], 0, MAX_PATCH_RADIUS + 1, dtype=tf.int32)
    in_use = tf.range(max_hints)[tf.newaxis] < counts[:, tf.newaxis]
    means = _patch_means(ab, centres, radii)
    return _painted(means, centres, radii, in_use, height, width), centres, in_use


def _patch_means(ab, centres, radii):
    """Mean ab of each (2r+1)-sided patch around `centres` (N, K, 2), the image's edge cutting it."""
    # avg_pool leaves padding out of its means, so a patch at the edge averages what it covers.
    box_means = tf.stack(
        [tf.nn.avg_pool2d(ab, 2 * radius + 1, 1, "SAME") for radius in range(MAX_PATCH_RADIUS + 1)], axis=1
    )
    batch_index = tf.broadcast_to(tf.range(tf.shape(ab)[0])[:, tf.newaxis], tf.shape(radii))
    indices = tf.stack([batch_index, radii, centres[..., 0], centres[..., 1]], axis=-1)
    return tf.gather_nd(box_means, indices)


def _painted(means, centres, radii, in_use, height, width):
    """The hint map of patches (N, K): each in-use patch's mean over it, overlaps averaged."""
    rows = tf.range(height)[tf.newaxis, tf.newaxis, :, tf.newaxis]
    columns = tf.range(width)[tf.newaxis, tf.newaxis, tf.newaxis, :]
    reach = radii[..., tf.newaxis, tf.newaxis]
    covered = (
        (tf.abs(rows - centres[..., 0, tf.newaxis, tf.newaxis]) <= reach)
        & (tf.abs(columns - centres[..., 1, tf.newaxis, tf.newaxis]) <= reach)
        & in_use[..., tf.newaxis, tf.newaxis]
    )
    covered = tf.cast(covered, tf.float32)  # (N, K, H, W)
    coverage = tf.reduce_sum(covered, axis=1)[..., tf.newaxis]
    painted = tf.einsum("nkhw,nkc->nhwc", covered, means) / tf.maximum(coverage, 1.0)
    return encode(painted, coverage > 0)


def from_points(points, image_height, image_width, model_height, model_width, radius=USER_PATCH_RADIUS):
    """A user's hints -> the hint map (1, model_height, model_width, 3).

    points: `(x, y, (r, g, b))` each, x and y in the image's pixels (0 at the top left), the
    colour as 0-255 integers or floats in [0, 1]. ValueError names a point outside the image or
    a colour out of range.
    """
    ab = np.zeros((model_height, model_width, 2), np.float32)
    mask = np.zeros((model_height, model_width, 1), np.float32)
    for index, point in enumerate(points):
        x, y, rgb = _checked_point(index, point, image_height, image_width)
        row = min(model_height - 1, int(y * model_height / image_height))
        column = min(model_width - 1, int(x * model_width / image_width))
        rows = slice(max(0, row - radius), row + radius + 1)
        columns = slice(max(0, column - radius), column + radius + 1)
        ab[rows, columns] = color.split_lab(color.rgb_to_lab(np.reshape(rgb, (1, 1, 3))))[1].numpy()[0, 0]
        mask[rows, columns] = 1.0
    return encode(ab[np.newaxis], mask[np.newaxis])


def _checked_point(index, point, image_height, image_width):
    try:
        x, y, rgb = point
        x, y = float(x), float(y)
        rgb = np.asarray(rgb, np.float64).reshape(3)
    except (TypeError, ValueError):
        raise ValueError(f"hint {index}: {point!r} is not (x, y, (r, g, b))") from None
    if not (0 <= x < image_width and 0 <= y < image_height):
        raise ValueError(f"hint {index}: ({x:g}, {y:g}) lies outside the {image_width}x{image_height} image")
    scale = 255.0 if rgb.max() > 1.0 or np.issubdtype(np.asarray(point[2]).dtype, np.integer) else 1.0
    if rgb.min() < 0 or rgb.max() > scale:
        raise ValueError(f"hint {index}: colour {tuple(point[2])} is not RGB in 0-255 (or 0-1)")
    return x, y, (rgb / scale).astype(np.float32)


def read_file(path):
    """A hints file (JSON) -> its hints: a list of `[x, y, colour]` for every image, or
    `{image file name: list}`; a colour is `[r, g, b]` (0-255) or "#rrggbb". ValueError names the
    file and what is wrong in it."""
    try:
        given = json.loads(Path(path).read_text())
    except OSError as error:
        raise ValueError(f"{path}: cannot read the hints file ({error.strerror})") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"{path}: not a JSON hints file ({error})") from None
    try:
        if isinstance(given, dict):
            return {str(name): _parsed_points(points) for name, points in given.items()}
        return _parsed_points(given)
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from None


def for_image(given, path):
    """The hints `read_file` gave for the image at `path` (by its path or file name), or None."""
    if given is None or isinstance(given, list):
        return given
    return given.get(str(path), given.get(Path(path).name))


def _parsed_points(points):
    if not isinstance(points, list):
        raise ValueError(f"hints must be a list of [x, y, colour], not {type(points).__name__}")
    parsed = []
    for point in points:
        if not (isinstance(point, list) and len(point) == 3):
            raise ValueError(f"hint {point!r} is not [x, y, colour]")
        parsed.append((*point[:2], _parsed_colour(point[2])))
    return parsed


def _parsed_colour(colour):
    if isinstance(colour, str):
        text = colour.removeprefix("#")
        if len(text) != 6:
            raise ValueError(f"colour {colour!r} is not #rrggbb")
        try:
            return tuple(int(text[index:index + 2], 16) for index in (0, 2, 4))
        except ValueError:
            raise ValueError(f"colour {colour!r} is not #rrggbb") from None
    return tuple(colour) if isinstance(colour, list) else colour
