"""A training run's data: the sources it reads (an HDF5 file, an image folder, several mixed,
or the built-in sample) and the model's (input, target) batches made from them.
"""

import tempfile
from pathlib import Path

import tensorflow as tf

from keras_colorize import augment as augment_lib
from keras_colorize import data, datasets, models, samples
from keras_colorize.run_folder import SAMPLE_FILE


def default_data(model, out_dir, data_dir="data"):
    """`data/<the model's standard data>` when `make data` has built it, else the built-in sample."""
    standard = Path(data_dir) / models.spec(model).standard_data
    if standard.exists():
        return standard
    return build_sample_dataset(Path(out_dir) / SAMPLE_FILE)


def build_sample_dataset(path, size=128):
    """The photos scikit-image ships, with pencil sketches, as a one-split HDF5 file."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # The photos are only the build's input; a run interrupted here starts it afresh.
        with tempfile.TemporaryDirectory() as scratch:
            folder = Path(scratch) / "sample_photos"
            samples.write_sample_folder(folder)
            datasets.build_dataset([folder], path, size, sketch="pencil", split=(1.0, 0.0, 0.0), seed=0)
    return path


def training_sources(data_path, image_size, element_format):
    """(train, validation) sample streams at the model's image size.

    An HDF5 file gives its train and val splits (train again when val is empty, as in the
    built-in sample); a folder of images is split 9:1 by file order, every tenth readable file
    validating. A source with nothing to train on, or without the sketches a sketch model
    needs, is a ValueError saying how to make one.
    """
    data_path = Path(data_path)
    if data_path.is_dir():
        skipped = {}
        everything = data.from_folder(data_path, image_size, skipped=skipped)
        if skipped:
            print(f"{data_path}: skipped {len(skipped)} unreadable file(s), listed above")
        train, validation = _every_tenth(everything, False), _every_tenth(everything, True)
    else:
        train = data.from_hdf5(data_path, "train")
        validation = data.from_hdf5(data_path, "val")
        if int(validation.cardinality()) == 0:
            validation = train
        train = data.resize_samples(train, image_size)
        validation = data.resize_samples(validation, image_size)
    _check_trainable(data_path, train, element_format)
    return train, validation


def mixed_training_sources(data_paths, weights, image_size, element_format, seed=0):
    """(train, validation) from several sources: training draws from source i with
    probability weights[i] (default: in proportion to its size), an epoch as long as all
    train splits together, a smaller source repeated to fill its share; validation is every
    source's validation split, the first source's first (the triplets show its samples)."""
    splits = [training_sources(path, image_size, element_format) for path in data_paths]
    if len(splits) == 1:
        return splits[0]
    reads = data.get_format(element_format).reads
    splits = [[_only(reads, source) for source in pair] for pair in splits]
    sizes = [int(train.cardinality()) for train, _ in splits]
    weights = _normalized_weights(weights, sizes)
    shares = [max(1, round(weight * sum(sizes))) for weight in weights]
    parts = [train.repeat(-(-share // size)).take(share) for (train, _), share, size in zip(splits, shares, sizes)]
    train = tf.data.Dataset.sample_from_datasets(parts, weights, seed=seed, stop_on_empty_dataset=False)
    validation = splits[0][1]
    for _, more in splits[1:]:
        validation = validation.concatenate(more)
    return train.apply(tf.data.experimental.assert_cardinality(sum(shares))), validation


def _only(keys, samples):
    """Samples holding only `keys`: sources mixed together must give samples of one structure."""
    return samples.map(lambda sample: {key: sample[key] for key in keys})


def _normalized_weights(weights, sizes):
    if not weights:
        return [size / sum(sizes) for size in sizes]
    if len(weights) != len(sizes) or any(weight < 0 for weight in weights) or not sum(weights):
        raise ValueError(
            f"data_weights {weights}: give one share >= 0 per data source ({len(sizes)}), not all 0"
        )
    return [weight / sum(weights) for weight in weights]


def _check_trainable(data_path, train, element_format):
    if int(train.cardinality()) == 0:
        hint = (
            "a folder needs at least 2 readable images, as every tenth validates"
            if data_path.is_dir()
            else "its train split is empty"
        )
        raise ValueError(f"{data_path}: no training samples ({hint})")
    if "sketch" in data.get_format(element_format).reads and "sketch" not in train.element_spec:
        raise ValueError(
            f"{data_path}: has photos but no sketches, and this model trains on sketch/photo "
            "pairs; make them with `python -m data_prep build PHOTOS OUT.h5 --sketch pencil` "
            "(or from photos/ + sketches/ folders of drawn pairs) and pass OUT.h5"
        )


def _every_tenth(samples, chosen):
    """Samples whose index is (chosen=True) or is not (False) a multiple of ten."""
    count = int(samples.cardinality())
    tenths = -(-count // 10)
    indexed = samples.enumerate()
    kept = indexed.filter(lambda index, _: tf.equal(index % 10 == 0, chosen)).map(lambda _, s: s)
    # A filter hides the count that steps per epoch and the cache budget are computed from.
    return kept.apply(tf.data.experimental.assert_cardinality(tenths if chosen else count - tenths))


def take_samples(pairs, count):
    """The first `count` (input, target) pairs of a batched dataset, as numpy arrays."""
    inputs, targets = next(iter(pairs.unbatch().batch(count)))
    return inputs.numpy(), targets.numpy()


def pairs_for(source, settings, training, cache=True):
    """The model's (input, target) batches from a sample stream; augmented when training.

    Batches are always whole, so that every replica of a distributed run gets its share; a
    split smaller than one batch (the built-in sample's) is repeated to fill one. When training
    redraws every sketch in random styles, validation scores (and the triplets show) random-style
    sketches too, the same every epoch (`data.with_random_sketches`). With
    `cache`, what the first epoch computed stays in memory when it fits (`data.make_dataset`);
    a pipeline that will only be read part-way should not cache, as the part is thrown away.
    """
    count = int(source.cardinality())
    if 0 < count < settings.batch_size:
        source = source.repeat(-(-settings.batch_size // count))
    if not training and getattr(augment_lib.get(settings.augment or None), "redraw", False):
        source = data.with_random_sketches(source, settings.seed)
    return data.make_dataset(
        source,
        models.element_format(settings.model),
        settings.batch_size,
        augment=(settings.augment or None) if training else None,
        shuffle=training,
        seed=settings.seed,
        cache="auto" if cache else False,
        drop_remainder=True,
    )
