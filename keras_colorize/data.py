"""`tf.data` input pipelines: image sources, per-model (input, target) formats, batching.

A pipeline has two halves. A *source* is a stream of samples, dicts of float32 images in [0, 1]:
`{"rgb": (S, S, 3)}`, plus `"sketch": (S, S, 1)` (1 = paper white) when the source has one.

    from_hdf5(path, split="train")       # a `data_prep build` file, streamed block by block
    from_folder(folder, size)            # image files, centre-square cropped and resized
    from_arrays(rgb_uint8, sketch=None)  # images already in memory

Side-by-side sketch | photo files (pix2pix's data) become an HDF5 file with
`python -m data_prep build FOLDER OUT.h5 --pairs left` (or `right`).

`resize_samples(source, size)` brings a source to a model's image size. `make_dataset(source,
element_format, batch_size, ...)` then shuffles, augments (one random transform for input and
target alike, see `keras_colorize.augment`), maps each sample to the model family's
(input, target) pair, batches and prefetches:

| format              | input (S, S, C)      | target (S, S, C)                 | models          |
|---------------------|----------------------|----------------------------------|-----------------|
| `"l_ab_unit"`       | L / 100, C=1         | (ab + 128) / 255 in [0, 1], C=2  | ab-only models  |
| `"l_lab_unit"`      | L / 100, C=1         | concat(L / 100, ab unit), C=3    | LAB U-Net, L+ab |
| `"l_ab_signed"`     | L / 100, C=1         | ab / 128, about [-1, 1], C=2     | fusion          |
| `"l_ab"`            | L / 100, C=1         | CIELAB ab, [-128, 127], C=2      | classifier      |
| `"gray_rgb"`        | gray, [0, 1], C=3    | sRGB, [0, 1], C=3                | RGB-out models  |
| `"sketch_rgb"`      | sketch, [0, 1], C=3  | sRGB, [0, 1], C=3                | sketch inverter |
| `"sketch_rgb_tanh"` | sketch, [-1, 1], C=3 | sRGB, [-1, 1], C=3               | pix2pix         |

The classifier's loss soft-encodes the raw ab itself. The gray image is the photo's CIELAB
lightness shown as sRGB (`color.rgb_to_gray`), the lightness the L formats feed, so every model
sees one definition of "gray". `l_ab_unit` and `gray_rgb` serve models of your own (no
registered model uses them). Sketches are the exception: `keras_colorize.sketches` draws them from
the RGB photo through OpenCV's luma, wherever one is made (datasets, evaluation, the CLI's
`--via-sketch`, video), so a sketch model always sees sketches made as in training.

Runs are deterministic: with the same `seed` two pipelines give identical batches (shuffling
and augmentation draw from seeded streams; parallel maps keep their order). tf.data autotuning
is off, with small fixed parallelism, because with it on TF 2.21's `fit` can stall at an
epoch's end.
"""

import dataclasses
import functools
import logging
from collections.abc import Callable
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from keras_colorize import augment as augment_lib
from keras_colorize import color, hdf5, images
from keras_colorize.errors import DataSourceError

logger = logging.getLogger(__name__)

PARALLEL_CALLS = 2
PREFETCH_BATCHES = 2
CACHE_BUDGET_BYTES = 2 * 2**30  # `make_dataset(cache="auto")` caches what fits in this
SHUFFLE_BUFFER = 512  # samples; a training pipeline reads this many before its first batch

# --- element formats -------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ElementFormat:
    """How one model family wants its samples: `to_pair(samples) -> (inputs, targets)`.

    `to_pair` takes one sample or a batch of them. `reads` names the sample images it uses;
    `input_range` bounds the input's values (augmentation noise is clipped to it) and
    `target_range` the target's (an SSIM loss maps it to [0, 1]).
    `decode` maps a target (or a prediction of it) back to colour: ab in CIELAB units when
    the input is the lightness (`takes_lightness`), else sRGB in [0, 1].
    """

    name: str
    to_pair: Callable
    decode: Callable
    reads: tuple = ("rgb",)
    input_range: tuple = (0.0, 1.0)
    target_range: tuple = (0.0, 1.0)
    takes_lightness: bool = False


_FORMATS = {}


def _element_format(name, decode, **details):
    def register(to_pair):
        _FORMATS[name] = ElementFormat(name, to_pair, decode, **details)
        return to_pair

    return register


def element_formats():
    """Names of the element formats, sorted."""
    return sorted(_FORMATS)


def get_format(name):
    """The `ElementFormat` registered under `name`."""
    if name not in _FORMATS:
        raise ValueError(f"unknown element format {name!r}; choose from {element_formats()}")
    return _FORMATS[name]


def _unit_lightness_and_ab(rgb):
    lightness, ab = color.split_lab(color.rgb_to_lab(rgb))
    return color.l_to_unit(lightness), ab


@_element_format("l_ab_unit", decode=color.ab_from_unit, takes_lightness=True)
def _l_ab_unit(sample):
    lightness, ab = _unit_lightness_and_ab(sample["rgb"])
    return lightness, color.ab_to_unit(ab)


def _ab_of_lab_unit(lab_unit):
    return color.ab_from_unit(lab_unit[..., 1:])


@_element_format("l_lab_unit", decode=_ab_of_lab_unit, takes_lightness=True)
def _l_lab_unit(sample):
    lightness, ab_unit = _l_ab_unit(sample)
    return lightness, tf.concat([lightness, ab_unit], axis=-1)


@_element_format("l_ab_signed", decode=color.ab_from_signed, target_range=(-1.0, 1.0), takes_lightness=True)
def _l_ab_signed(sample):
    lightness, ab = _unit_lightness_and_ab(sample["rgb"])
    return lightness, color.ab_to_signed(ab)


@_element_format(
    "l_ab", decode=tf.identity, target_range=(-color.AB_OFFSET, color.AB_UNIT_SPAN - color.AB_OFFSET),
    takes_lightness=True,
)
def _l_ab(sample):
    return _unit_lightness_and_ab(sample["rgb"])


@_element_format("gray_rgb", decode=tf.identity)
def _gray_rgb(sample):
    return color.rgb_to_gray(sample["rgb"]), sample["rgb"]


@_element_format("sketch_rgb", decode=tf.identity, reads=("rgb", "sketch"))
def _sketch_rgb(sample):
    return tf.image.grayscale_to_rgb(sample["sketch"]), sample["rgb"]


def _rgb_of_tanh(rgb):
    return (rgb + 1.0) / 2.0


@_element_format(
    "sketch_rgb_tanh", decode=_rgb_of_tanh, reads=("rgb", "sketch"), input_range=(-1.0, 1.0),
    target_range=(-1.0, 1.0),
)
def _sketch_rgb_tanh(sample):
    sketch, rgb = _sketch_rgb(sample)
    return sketch * 2.0 - 1.0, rgb * 2.0 - 1.0


# --- sources ---------------------------------------------------------------------------------


def from_arrays(rgb, sketch=None):
    """Images in memory -> sample stream: uint8 rgb (N, S, S, 3), sketch (N, S, S[, 1])."""
    arrays = {"rgb": np.asarray(rgb, np.uint8)}
    if arrays["rgb"].ndim != 4 or arrays["rgb"].shape[-1] != 3:
        raise ValueError(f"rgb must have shape (N, S, S, 3), not {arrays['rgb'].shape}")
    if sketch is not None:
        arrays["sketch"] = np.asarray(sketch, np.uint8)
        if arrays["sketch"].shape[:3] != arrays["rgb"].shape[:3]:
            raise ValueError(
                f"sketch shape {arrays['sketch'].shape} does not match rgb {arrays['rgb'].shape}"
            )
    return _decoded(tf.data.Dataset.from_tensor_slices(arrays))


def from_hdf5(path, split="train", *, block_size=64):
    """Stream one split of a `data_prep build` HDF5 file (`keras_colorize.hdf5`), after
    checking it (a `DataSourceError` names what is wrong)."""
    return from_hdf5_split(hdf5.open_split(path, split), block_size=block_size)


def from_hdf5_split(split, *, block_size=64):
    """Stream an `hdf5.Split`, `block_size` rows read at a time (`Split.rows`).

    The builder stores rows in a seeded-shuffled order, so a shuffle buffer much smaller than
    the split still mixes well. Uses the "rgb" images when the file has them, else decodes the
    "lab" ones.
    """
    signature = {column: tf.TensorSpec(split.row_shape(column), tf.uint8) for column in split.columns}
    rows = functools.partial(split.rows, block_size)
    dataset = tf.data.Dataset.from_generator(rows, output_signature=signature)
    return _decoded(dataset.apply(tf.data.experimental.assert_cardinality(split.count)))


def from_folder(folder, size, *, skipped=None):
    """Every image under `folder` (`images.list_images`), centre-square cropped to size x size.

    Files that cannot be read are skipped, logged and recorded in the dict `skipped`
    (path -> ImageError) when one is given, so one bad file never stops a training run.
    """
    dataset = _image_files(folder, skipped)
    squares = dataset.map(
        lambda rgb: {"rgb": _centre_square(rgb, size)}, num_parallel_calls=PARALLEL_CALLS
    )
    return _with_options(squares)


def resize_samples(samples, size):
    """A sample stream with every image resized to size x size (unchanged when already so)."""
    if samples.element_spec["rgb"].shape[:2] == (size, size):
        return samples

    def resize(sample):
        return {name: _centre_square(image, size) for name, image in sample.items()}

    return _with_options(samples.map(resize, num_parallel_calls=PARALLEL_CALLS))


def _image_files(folder, skipped):
    """The readable files under `folder` as uint8 (H, W, 3) tensors; bad ones go to `skipped`.

    Every file is read once up front: the stream's length is then known (steps per epoch, the
    cache budget), and a bad file is reported before training starts rather than mid-epoch.
    """
    if not Path(folder).is_dir():
        raise DataSourceError(folder, "missing", "no such folder")
    paths = images.list_images(folder)
    if not paths:
        raise DataSourceError(folder, "no_images", "no image files found")
    skipped = {} if skipped is None else skipped
    readable = []
    for path in paths:
        try:
            images.read_rgb(path)
        except images.ImageError as error:
            logger.warning("skipping %s", error)
            skipped[str(path)] = error
        else:
            readable.append(path)
    if not readable:
        raise DataSourceError(folder, "no_images", f"none of its {len(paths)} image files can be read")

    def decoded():
        for path in readable:
            yield images.read_rgb(path)

    signature = tf.TensorSpec((None, None, 3), tf.uint8)
    dataset = tf.data.Dataset.from_generator(decoded, output_signature=signature)
    return dataset.apply(tf.data.experimental.assert_cardinality(len(readable)))


def _centre_square(image, size):
    """uint8 or [0, 1] float image -> its centre square resized to size x size, float32."""
    image = tf.image.convert_image_dtype(image, tf.float32)

    def resize(antialias):
        return keras.ops.image.resize(
            image, (size, size), crop_to_aspect_ratio=True, antialias=antialias
        )

    # Antialiasing only changes a shrink; enlarging without it gives the same pixels in a
    # third of the time (the paper presets enlarge LFW's 128 px faces to 224-256 px).
    shrinking = tf.reduce_min(tf.shape(image)[:2]) > size
    square = tf.cond(shrinking, lambda: resize(True), lambda: resize(False))
    return tf.clip_by_value(square, 0.0, 1.0)


def _decoded(dataset):
    """Stored uint8 columns (rgb or lab storage encoding, sketch) -> float32 samples."""

    def decode(columns):
        if "rgb" in columns:
            sample = {"rgb": tf.image.convert_image_dtype(columns["rgb"], tf.float32)}
        else:
            sample = {"rgb": color.lab_to_rgb(color.lab_from_uint8(columns["lab"]))}
        if "sketch" in columns:
            sketch = columns["sketch"]
            sketch = sketch[..., None] if sketch.shape.rank == 2 else sketch
            sample["sketch"] = tf.image.convert_image_dtype(sketch, tf.float32)
        return sample

    return _with_options(dataset.map(decode, num_parallel_calls=PARALLEL_CALLS))


def with_random_sketches(samples, seed=0):
    """Samples whose sketch is a random-style sketch of their photo (`augment.redraw_sketch`),
    seeded by `seed` and the sample's place in the stream, so every pass gives the same ones:
    validation on the styles that `--augment sketch_styles` trains on."""

    def redraw(index, sample):
        sketch_seed = tf.stack([tf.cast(seed, tf.int64), index])
        return {**sample, "sketch": augment_lib.redraw_sketch(sample["rgb"], sketch_seed)}

    return _with_options(samples.enumerate().map(redraw, num_parallel_calls=PARALLEL_CALLS))


# --- training pipelines ----------------------------------------------------------------------


def make_dataset(source, element_format, batch_size, *, augment=None, shuffle=True, seed=0,
                 cache=False, drop_remainder=False, shuffle_buffer=SHUFFLE_BUFFER):
    """A sample stream -> batched, prefetched (input, target) pairs for `fit`.

    Args:
        source: a sample stream from `from_hdf5`, `from_folder` or `from_arrays`.
        element_format: a name from `element_formats()` (see the module docstring).
        augment: None, a name in `keras_colorize.augment.AUGMENTATIONS` or an augmentation object.
        shuffle: shuffle with a `shuffle_buffer`-sample buffer, reshuffled every epoch.
        seed: seeds shuffling and augmentation; the same seed gives the same batches.
        cache: True, False, or "auto" (when it takes at most CACHE_BUDGET_BYTES): keep what
            the first epoch computed in memory. Without augmentation that is the finished
            pairs, so later epochs skip reading and colour conversion altogether; with it,
            the samples before augmentation.
        drop_remainder: drop the last, smaller batch.
    """
    element = get_format(element_format)
    missing = set(element.reads) - set(source.element_spec)
    if missing:
        raise ValueError(
            f"element format {element.name!r} needs {sorted(missing)}, which this source lacks "
            f"(it has {sorted(source.element_spec)})"
        )
    augmentation = augment_lib.get(augment)
    dataset = source.map(lambda sample: {name: sample[name] for name in element.reads})
    # Formats map single samples: on a 2-core CPU that measured as fast as mapping whole
    # batches, and it gives every sample its own noise seed.
    if augmentation is None:
        dataset = dataset.map(element.to_pair, num_parallel_calls=PARALLEL_CALLS)
    if cache == "auto":
        cache = cached_bytes(dataset) <= CACHE_BUDGET_BYTES
    if cache:
        dataset = dataset.cache()
    if shuffle:
        dataset = dataset.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
    if augmentation is not None:
        sample_seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2)
        dataset = tf.data.Dataset.zip(dataset, sample_seeds).map(
            functools.partial(_augmented_pair, element, augmentation),
            num_parallel_calls=PARALLEL_CALLS,
        )
    dataset = dataset.batch(batch_size, drop_remainder=drop_remainder)
    return _with_options(dataset.prefetch(PREFETCH_BATCHES))


def cached_bytes(dataset):
    """Bytes that caching every element of `dataset` would take (inf when its size is unknown)."""
    count = int(dataset.cardinality())
    if count < 0:
        return float("inf")
    specs = tf.nest.flatten(dataset.element_spec)
    return count * sum(spec.shape.num_elements() * spec.dtype.size for spec in specs)


def _augmented_pair(element, augmentation, sample, seed):
    transform_seed, noise_seed = tf.unstack(tf.random.split(seed, 2))
    if hasattr(augmentation, "prepare"):  # folded like the tone's seed, for the same reason
        sample = augmentation.prepare(sample, tf.random.experimental.stateless_fold_in(noise_seed, 2))
    augmented = augment_lib.apply_jointly(augmentation, sample, transform_seed)
    if augmentation.sketch_gamma != 1.0 and "sketch" in augmented:
        # A seed of its own, folded from the noise seed: the transform and the noise
        # draw the same whether or not an augmentation retones the sketch.
        tone_seed = tf.random.experimental.stateless_fold_in(noise_seed, 1)
        augmented["sketch"] = augment_lib.random_sketch_tone(
            augmented["sketch"], tone_seed, augmentation.sketch_gamma
        )
    inputs, target = element.to_pair(augmented)
    if augmentation.noise_stddev:
        inputs = augment_lib.gaussian_noise(
            inputs, noise_seed, augmentation.noise_stddev, element.input_range
        )
    return inputs, target


def _with_options(dataset):
    options = tf.data.Options()
    options.autotune.enabled = False
    options.deterministic = True
    return dataset.with_options(options)
