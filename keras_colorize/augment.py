"""Paired augmentation: one random transform applied identically to every image of a sample.

Colorization pairs must stay pixel-aligned (a photo's L channel and its ab target, a sketch and
the photo it was drawn from), so `apply_jointly` stacks all images of a sample along the
channel axis, draws one random transform and applies it to the stack.

- `"gan"`, the GAN colorization recipe: random rotation, shear, zoom and shift, composed into
  one affine map, then Gaussian noise on the model input only.
- `"pix2pix"`, Isola et al. (2017): random jitter (resize up by 286/256, crop back at a random
  place) and random mirroring.
- `"elastic"`, for hand-drawn sketches: a smooth random warp (Simard et al. 2003's elastic
  distortion), then `"gan"`, then a random darkness of the sketch (`random_sketch_tone`).
- `"sketch_styles"`, for sketch models trained on photos: every sample, every epoch, gets a
  fresh sketch of its photo in a random style (`sketches.random_sketch`: pencil, line, contour,
  paper), then `"gan"`. Backgrounds stay: for sketches of whole photos (gray photos and video
  colorized through their pencil sketch, the paper's Table II).
- `"sketch_styles_paper"`: the same, with half of the samples on a plain background
  (`paper_background`), for hand-drawn face sketches, whose paper has no backdrop to restore.
- `"paper_background"`, for drawn sketch/photo pairs (CUFS): every sample on a plain
  background in place of the photo's own plain backdrop (`backdrop_weights`), then `"elastic"`.

Randomness is stateless: each sample brings its own seed (`keras_colorize.data.make_dataset`
draws them from `tf.data.Dataset.random`), so a pipeline gives the same augmentations on every
run with the same seed however many threads map it. Keras' `RandomRotation` & co. are not used
because they draw from a stateful `SeedGenerator`, whose draws reach samples in whatever order
parallel map calls happen to run; composing the four maps also interpolates once, not four times.
Geometric transforms fill the border by reflection: a constant fill would paint black wedges,
which as LAB targets teach the model wrong colours.
"""

import math

import keras
import numpy as np
import tensorflow as tf

from keras_colorize import sketches


class RandomAffine:
    """Random rotation, shear, zoom and shift as one affine map, plus input noise ("gan").

    Args:
        rotation: largest rotation, degrees either way.
        shear: largest horizontal shear angle, degrees either way.
        zoom: largest relative zoom in or out (0.1: scale in [0.9, 1.1]).
        shift: largest shift, as a fraction of the image size, in each direction.
        noise_stddev: standard deviation of the Gaussian noise added to the model input.
        fill_mode: "reflect" or "nearest" (see the module docstring).
    """

    sketch_gamma = 1.0

    def __init__(self, rotation=15.0, shear=10.0, zoom=0.1, shift=0.1, noise_stddev=0.02,
                 fill_mode="reflect"):
        if fill_mode not in ("reflect", "nearest"):
            raise ValueError(f"fill_mode must be 'reflect' or 'nearest', not {fill_mode!r}")
        self.rotation = math.radians(rotation)
        self.shear = math.radians(shear)
        self.zoom = zoom
        self.shift = shift
        self.noise_stddev = noise_stddev
        self.fill_mode = fill_mode

    def __call__(self, images, seed):
        """(H, W, C) float images and a stateless seed (2,) -> the same images, transformed."""
        height = tf.cast(tf.shape(images)[0], tf.float32)
        width = tf.cast(tf.shape(images)[1], tf.float32)
        angle, shear, zoom, shift_x, shift_y = tf.unstack(
            tf.random.stateless_uniform([5], seed, minval=-1.0, maxval=1.0)
        )
        angle, shear, zoom = angle * self.rotation, shear * self.shear, 1.0 + zoom * self.zoom
        centre_x, centre_y = (width - 1.0) / 2.0, (height - 1.0) / 2.0
        # Rotate, shear and zoom about the image centre, then shift; pixel (x, y) coordinates.
        forward = (
            _affine(1.0, 0.0, 0.0, 1.0, centre_x + shift_x * self.shift * width,
                    centre_y + shift_y * self.shift * height)
            @ _affine(tf.cos(angle), -tf.sin(angle), tf.sin(angle), tf.cos(angle))
            @ _affine(1.0, tf.tan(shear), 0.0, 1.0)
            @ _affine(zoom, 0.0, 0.0, zoom)
            @ _affine(1.0, 0.0, 0.0, 1.0, -centre_x, -centre_y)
        )
        # The op maps each output pixel back to where it is sampled from in the input.
        output_to_input = tf.reshape(tf.linalg.inv(forward), [9])[:8]
        return keras.ops.image.affine_transform(
            images, output_to_input, interpolation="bilinear", fill_mode=self.fill_mode
        )


class RandomJitter:
    """pix2pix random jitter: resize up by `scale`, crop a random window back, maybe mirror."""

    noise_stddev = 0.0
    sketch_gamma = 1.0

    def __init__(self, scale=286 / 256, mirror=True):
        self.scale = scale
        self.mirror = mirror

    def __call__(self, images, seed):
        """(H, W, C) float images and a stateless seed (2,) -> the same images, transformed."""
        crop_seed, flip_seed = tf.unstack(tf.random.split(seed, 2))
        shape = tf.shape(images)
        enlarged_size = tf.cast(tf.round(tf.cast(shape[:2], tf.float32) * self.scale), tf.int32)
        enlarged = tf.image.resize(images, enlarged_size)
        jittered = tf.image.stateless_random_crop(enlarged, shape, crop_seed)
        if self.mirror:
            jittered = tf.image.stateless_random_flip_left_right(jittered, flip_seed)
        return tf.ensure_shape(jittered, images.shape)


class RandomElastic:
    """A smooth random warp, then another augmentation (by default the "gan" affine map).

    Each pixel moves by a displacement drawn at `grid` x `grid` control points, uniformly within
    `amplitude` pixels either way, and interpolated bicubically in between (which may overshoot
    to 1.25² x `amplitude`): Simard et al.'s elastic distortion, with a coarse lattice standing
    in for their smoothed noise field. Affine maps keep a face's proportions; the warp varies
    them, which is what lifts the sketch inverter on CUFS's 79 training pairs (docs/models.md).
    `sketch_gamma` sets the range of `random_sketch_tone` (1: the sketch keeps its tone).
    """

    def __init__(self, amplitude=4.0, grid=5, then=None, sketch_gamma=2.0):
        self.amplitude = amplitude
        self.grid = grid
        self.then = RandomAffine() if then is None else then
        self.noise_stddev = self.then.noise_stddev
        self.sketch_gamma = sketch_gamma

    def __call__(self, images, seed):
        """(H, W, C) float images and a stateless seed (2,) -> the same images, transformed."""
        warp_seed, then_seed = tf.unstack(tf.random.split(seed, 2))
        shape = tf.shape(images)
        lattice = tf.random.stateless_uniform([self.grid, self.grid, 2], warp_seed, -1.0, 1.0)
        displacement = tf.image.resize(lattice, shape[:2], method="bicubic") * self.amplitude
        rows, columns = tf.meshgrid(tf.range(shape[0]), tf.range(shape[1]), indexing="ij")
        sampled_at = tf.stack([
            tf.cast(rows, tf.float32) + displacement[..., 0],
            tf.cast(columns, tf.float32) + displacement[..., 1],
        ])
        # Channel by channel: map_coordinates interpolates along every axis it is given, and
        # a channel axis among them would double the samples for nothing.
        warped = tf.stack([
            keras.ops.image.map_coordinates(channel, sampled_at, order=1, fill_mode="reflect")
            for channel in tf.unstack(images, axis=-1)
        ], axis=-1)
        return tf.ensure_shape(self.then(warped, then_seed), images.shape)


class SketchStyles:
    """Per sample, before another augmentation (`then`, by default "gan"): a new sketch of the
    photo in a random style (`redraw`), and the background outside a random face ellipse
    replaced by plain paper in sketch and photo alike, with probability `background_probability`.

    The plain background is the sketch's own paper tone (`paper_background`), in the sketch and
    as neutral gray in the target photo: a backdrop the sketch can predict. A random colour
    could not be predicted from the sketch, so a pixel loss would only learn its mean; keeping
    one dataset's backdrop teaches the model to paint it behind every face (CUFS's blue).
    """

    def __init__(self, redraw=True, background_probability=0.0, then=None, key_backdrop=False):
        self.redraw = redraw
        self.background_probability = background_probability
        self.key_backdrop = key_backdrop  # see `paper_background`
        self.then = RandomAffine() if then is None else then
        self.noise_stddev = self.then.noise_stddev
        self.sketch_gamma = self.then.sketch_gamma

    def prepare(self, sample, seed):
        """A sample dict ("rgb", "sketch": [0, 1] images) with its sketch redrawn and background
        replaced, as this augmentation's settings say; `seed` a stateless seed (2,)."""
        sketch_seed, background_seed = tf.unstack(tf.random.split(seed, 2))
        sample = dict(sample)
        if self.redraw:
            sample["sketch"] = redraw_sketch(sample["rgb"], sketch_seed)
        if self.background_probability:
            sample["rgb"], sample["sketch"] = paper_background(
                sample["rgb"], sample["sketch"], background_seed, self.background_probability, self.key_backdrop
            )
        return sample

    def __call__(self, images, seed):
        """(H, W, C) float images and a stateless seed (2,) -> the same images, transformed."""
        return self.then(images, seed)


def _sketch_styles_half_on_paper():
    return SketchStyles(background_probability=0.5)


def _paper_background_of_drawn_sketches():
    return SketchStyles(redraw=False, background_probability=1.0, then=RandomElastic(), key_backdrop=True)


AUGMENTATIONS = {
    "gan": RandomAffine,
    "pix2pix": RandomJitter,
    "elastic": RandomElastic,
    "sketch_styles": SketchStyles,
    "sketch_styles_paper": _sketch_styles_half_on_paper,
    "paper_background": _paper_background_of_drawn_sketches,
}


def get(augment):
    """None, a name in AUGMENTATIONS (default settings) or an augmentation object -> the object.

    An augmentation object maps `(images, seed)` to transformed images, like `RandomAffine`,
    and has a `noise_stddev` (0 for none) for the noise added to the model input afterwards
    and a `sketch_gamma` (1 for none) for `random_sketch_tone`; one with a `prepare(sample,
    seed)` method, like `SketchStyles`, also changes each sample dict before the transform.
    """
    if augment is None or callable(augment):
        return augment
    if augment not in AUGMENTATIONS:
        raise ValueError(f"unknown augmentation {augment!r}; choose from {sorted(AUGMENTATIONS)}")
    return AUGMENTATIONS[augment]()


def apply_jointly(augmentation, sample, seed):
    """One random draw of `augmentation` applied to every image of a sample dict alike."""
    keys = sorted(sample)
    stacked = tf.concat([sample[key] for key in keys], axis=-1)
    channels = [sample[key].shape[-1] for key in keys]
    return dict(zip(keys, tf.split(augmentation(stacked, seed), channels, axis=-1)))


def random_sketch_tone(sketch, seed, max_gamma):
    """A sketch in [0, 1] (1 = paper white) raised to a power log-uniform in [1/max_gamma, max_gamma].

    Artists shade more or less heavily: CUFS's test sketches are darker on average than its
    training ones, and lightening them helps a model that never saw the difference. A power keeps
    paper white and full black where they are and moves the strokes' grays in between.
    """
    log_gamma = tf.random.stateless_uniform([], seed, -1.0, 1.0) * math.log(max_gamma)
    return sketch ** tf.exp(log_gamma)


def redraw_sketch(rgb, seed):
    """A photo (H, W, 3) in [0, 1] -> `sketches.random_sketch` of it, (H, W, 1) in [0, 1], drawn
    from the stateless `seed` (2,): the same seed gives the same sketch."""

    def draw(photo, seed):
        return sketches.random_sketch(photo, seed=seed.view(np.uint64).tolist())[..., None]

    photo = tf.image.convert_image_dtype(rgb, tf.uint8, saturate=True)
    sketch = tf.numpy_function(draw, [photo, seed], tf.uint8, stateful=False)
    return tf.image.convert_image_dtype(tf.ensure_shape(sketch, rgb.shape[:-1] + (1,)), tf.float32)


def paper_tone(sketch, frame=0.0625):
    """The median of a sketch's outer frame (`frame` of its side, at least 1 px): its paper.
    Of one channel of a photo: its backdrop's."""
    width = tf.maximum(1, tf.cast(tf.cast(tf.shape(sketch)[0], tf.float32) * frame, tf.int32))
    edges = [sketch[:width], sketch[-width:], sketch[:, :width], sketch[:, -width:]]
    pixels = tf.sort(tf.concat([tf.reshape(edge, [-1]) for edge in edges], axis=0))
    return pixels[tf.size(pixels) // 2]


def face_ellipse(height, width, seed, feather=0.12):
    """(H, W, 1) weights: 1 inside a random ellipse about the centre (semi-axes 0.36-0.5 of the
    width, 0.45-0.6 of the height, centre moved by up to 4%), falling to 0 over `feather` of
    its radius: the region of a centred face crop that holds the face and hair."""
    centre_x, centre_y, axis_x, axis_y = tf.unstack(tf.random.stateless_uniform(
        [4], seed, minval=[0.46, 0.46, 0.36, 0.45], maxval=[0.54, 0.54, 0.5, 0.6]
    ))
    rows = (tf.range(height, dtype=tf.float32) + 0.5) / tf.cast(height, tf.float32)
    columns = (tf.range(width, dtype=tf.float32) + 0.5) / tf.cast(width, tf.float32)
    y, x = tf.meshgrid(rows, columns, indexing="ij")
    radius = tf.sqrt(((x - centre_x) / axis_x) ** 2 + ((y - centre_y) / axis_y) ** 2)
    return tf.clip_by_value((1.0 + feather / 2.0 - radius) / feather, 0.0, 1.0)[..., None]


def backdrop_weights(rgb, tolerance=0.15):
    """(H, W, 1) weights: 0 where a photo (H, W, 3) in [0, 1] has its backdrop's colour (the
    `paper_tone` of each channel), 1 from twice `tolerance` away (RGB distance): the plain
    studio backdrop of drawn pairs (CUFS's blue), which an ellipse would cut through hair."""
    backdrop = tf.stack([paper_tone(rgb[..., channel : channel + 1]) for channel in range(3)])
    distance = tf.norm(rgb - backdrop, axis=-1, keepdims=True)
    return tf.clip_by_value(distance / tolerance - 1.0, 0.0, 1.0)


def paper_background(rgb, sketch, seed, probability=1.0, key_backdrop=False):
    """With `probability`: photo (H, W, 3) and sketch (H, W, 1) in [0, 1] with everything
    outside a random `face_ellipse` (with `key_backdrop`: the photo's plain backdrop,
    `backdrop_weights`) faded into the sketch's `paper_tone` (neutral gray in the photo); else
    both unchanged."""
    chance_seed, ellipse_seed = tf.unstack(tf.random.split(seed, 2))
    shape = tf.shape(sketch)
    face = backdrop_weights(rgb) if key_backdrop else face_ellipse(shape[0], shape[1], ellipse_seed)
    face = tf.where(tf.random.stateless_uniform([], chance_seed) < probability, face, tf.ones_like(face))
    tone = paper_tone(sketch)
    return face * rgb + (1.0 - face) * tone, face * sketch + (1.0 - face) * tone


def gaussian_noise(images, seed, stddev, value_range):
    """Add N(0, stddev) noise, clipped back into the images' value range."""
    noise = tf.random.stateless_normal(tf.shape(images), seed, stddev=stddev)
    return tf.clip_by_value(images + noise, *value_range)


def _affine(a, b, c, d, x=0.0, y=0.0):
    """The 3x3 matrix of the map (u, v) -> (a u + b v + x, c u + d v + y)."""
    entries = [a, b, x, c, d, y, 0.0, 0.0, 1.0]
    return tf.reshape(tf.stack([tf.cast(entry, tf.float32) for entry in entries]), (3, 3))
