"""The HDF5 dataset file: its schema, writing it, and reading one split after checking it
(format: docs/data.md). `keras_colorize.datasets` builds the files, `keras_colorize.data`
streams them to training and `keras_colorize.evaluation` scores on them.

A file holds the groups /train, /val and /test, each with image columns of uint8 rows
`(S, S) + CHANNELS[column]`: "rgb", "lab" (`color.lab_to_uint8`'s storage encoding) or both,
and "sketch" when the file has sketches; "source" names each row's file and "identity" indexes
/identities. The file's attributes say what it holds (`format`, `version`, `image_size`,
`encodings`, `sketch`, `compression`) and how it was made.
"""

import contextlib
import dataclasses
from pathlib import Path

import h5py
import numpy as np
import tensorflow as tf

from keras_colorize import color, images
from keras_colorize.errors import DataSourceError
from keras_colorize.files import written_atomically

FORMAT = "keras-colorize"
VERSION = 1
SPLITS = ("train", "val", "test")
CHANNELS = {"rgb": (3,), "lab": (3,), "sketch": ()}  # each image column's row: (S, S) + this
# Photos compress little either way (LFW at 128 x 128: lzf saves 6 %, gzip 15 %), and lzf
# writes 2-3x and reads 1.6x faster than gzip, which matters for a training loop that reads
# every epoch. lzf ships with h5py; other HDF5 tools need its filter plugin.
COMPRESSION = "lzf"
# No compression stores image rows in less than this fraction of their bytes (gzip's best is
# about 1/1000; lzf about 1/1.2 on photos). A header declaring far more rows than the file
# stores (10**9 rows in a few KB) is refused: reading it would never end. Room is left for a
# split resized beyond the rows written (tests do that).
LEAST_STORED_FRACTION = 1 / 10_000
BLOCK_BYTES = 64 << 20  # rows read at once: at most this many bytes


# --- writing ---------------------------------------------------------------------------------


@tf.function(jit_compile=True)
def _lab_storage(rgb):
    # XLA fuses the colour maths into one pass over the pixels: ~6x faster than eager on CPU.
    return color.lab_to_uint8(color.rgb_to_lab(tf.cast(rgb, tf.float32) / 255.0))


def encode_lab(rgb, pad_to=None):
    """uint8 RGB (n, H, W, 3) -> the uint8 LAB storage encoding, through keras_colorize.color.

    Padding the batch to `pad_to` rows keeps its shape fixed, so XLA compiles only once.
    """
    count = len(rgb)
    if pad_to and count < pad_to:
        rgb = np.concatenate([rgb, np.zeros((pad_to - count, *rgb.shape[1:]), rgb.dtype)])
    return _lab_storage(rgb).numpy()[:count]


@contextlib.contextmanager
def writing(path, size, encodings, with_sketch, identities, block_size):
    """A `Writer` on a new file at `path`, which appears there only when the block succeeds."""
    with written_atomically(path) as partial, h5py.File(partial, "w") as file:
        yield Writer(file, size, encodings, with_sketch, identities, block_size)


class Writer:
    """Appends rows to the splits of a new file, open for writing, then describes it (`finish`)."""

    def __init__(self, file, size, encodings, with_sketch, identities, block_size):
        self.file = file
        self.size = size
        self.encodings = encodings
        self.block_size = block_size
        self.identity_index = {name: i for i, name in enumerate(identities)}
        self.identities_per_split = {split: set() for split in SPLITS}
        columns = {name: (size, size) + CHANNELS[name] for name in encodings}
        if with_sketch:
            columns["sketch"] = (size, size) + CHANNELS["sketch"]
        for split in SPLITS:
            group = file.create_group(split)
            for name, shape in columns.items():
                group.create_dataset(
                    name, (0, *shape), np.uint8, maxshape=(None, *shape), chunks=(1, *shape),
                    compression=COMPRESSION,
                )
            if identities:
                group.create_dataset("identity", (0,), np.int32, maxshape=(None,), chunks=True)
            group.create_dataset("source", (0,), h5py.string_dtype(), maxshape=(None,), chunks=True)
        if identities:
            file.create_dataset("identities", data=list(identities), dtype=h5py.string_dtype())

    def append(self, split, rows):
        """Append (sample, rgb, sketch) rows to `split`; a sample has a `name` and an `identity`."""
        if not rows:
            return
        samples, rgbs, sketches = zip(*rows)
        rgb = np.stack(rgbs)
        columns = {"source": [sample.name for sample in samples]}
        if "rgb" in self.encodings:
            columns["rgb"] = rgb
        if "lab" in self.encodings:
            columns["lab"] = encode_lab(rgb, pad_to=self.block_size)
        if sketches[0] is not None:
            columns["sketch"] = np.stack(sketches)
        if self.identity_index:
            identity = [self.identity_index[sample.identity] for sample in samples]
            columns["identity"] = np.array(identity, np.int32)
            self.identities_per_split[split].update(identity)
        group = self.file[split]
        for name, values in columns.items():
            dataset = group[name]
            start = dataset.shape[0]
            dataset.resize(start + len(values), axis=0)
            dataset[start:] = values

    def counts(self):
        """{split: rows written}."""
        return {split: len(self.file[split]["source"]) for split in SPLITS}

    def identity_disjoint(self):
        if not self.identity_index:
            return False
        train, val, test = self.identities_per_split.values()
        return not (train & val or train & test or val & test)

    def finish(self, sketch, **provenance):
        """Write the file's attributes: what it holds (`sketch`: the sketch kind, or "") and
        `provenance`, how it was made."""
        self.file.attrs.update(
            format=FORMAT,
            version=VERSION,
            image_size=self.size,
            encodings=",".join(self.encodings),
            sketch=sketch,
            **provenance,
            compression=COMPRESSION,
        )


# --- reading ---------------------------------------------------------------------------------


def is_hdf5(path):
    return Path(path).is_file() and h5py.is_hdf5(path)


@dataclasses.dataclass(frozen=True)
class Split:
    """One split of a checked file (`open_split`): its image columns to read ("rgb", else
    "lab"; and "sketch"), rows, image size and the file's sketch kind ("" for none)."""

    path: Path
    name: str
    columns: tuple
    count: int
    image_size: int
    sketch: str

    def row_shape(self, column):
        return (self.image_size, self.image_size) + CHANNELS[column]

    def rows(self, block_size=64):
        """Each row as {column: uint8 array}, read `block_size` rows at a time (fewer when
        they would take more than BLOCK_BYTES), so memory stays flat however large the file."""
        row_bytes = sum(int(np.prod(self.row_shape(column))) for column in self.columns)
        block_size = max(1, min(block_size, BLOCK_BYTES // row_bytes))
        with h5py.File(self.path, "r") as file:
            group = file[self.name]
            for start in range(0, self.count, block_size):
                block = {column: group[column][start : start + block_size] for column in self.columns}
                for row in range(len(block[self.columns[0]])):
                    yield {column: block[column][row] for column in self.columns}

    def source_names(self):
        """The rows' file names (those that were not UTF-8 with \\xNN escapes), or their
        numbers when the file names none."""
        with h5py.File(self.path, "r") as file:
            group = file[self.name]
            if "source" not in group:
                return range(self.count)
            return group["source"].asstr(errors="backslashreplace")[...]


def open_split(path, split):
    """The checked `split` of the file at `path`; a `DataSourceError` names what is wrong."""
    path = Path(path)
    if not path.is_file():
        raise DataSourceError(path, "missing", "no such file")
    try:
        file = h5py.File(path, "r")
    except OSError as error:
        raise DataSourceError(path, "not_hdf5", str(error)) from None
    with file:
        if _text_attribute(file, "format") != FORMAT:
            raise DataSourceError(
                path, "not_keras_colorize",
                f"no format={FORMAT!r} attribute; make one with `data_prep build`",
            )
        if file.attrs.get("version", 0) > VERSION:
            raise DataSourceError(
                path, "unsupported_version",
                f"version {file.attrs['version']}; this keras-colorize reads up to {VERSION}",
            )
        if not isinstance(file.get(split), h5py.Group):
            present = [name for name in file if isinstance(file[name], h5py.Group)]
            raise DataSourceError(path, "missing_split", f"no split {split!r}; it has {present}")
        group = file[split]
        encoding = next((name for name in ("rgb", "lab") if name in group), None)
        if encoding is None:
            raise DataSourceError(path, "no_images", f"split {split!r} has neither 'rgb' nor 'lab'")
        columns = (encoding, "sketch") if "sketch" in group else (encoding,)
        image_size = int(file.attrs.get("image_size", 0))
        _check_declared_sizes(path, split, group, columns + (("source",) if "source" in group else ()), image_size)
        count = len(group[encoding])
        for column in columns:
            expected = (count, image_size, image_size) + CHANNELS[column]
            if group[column].shape != expected or group[column].dtype != np.uint8:
                raise DataSourceError(
                    path, "inconsistent_columns",
                    f"{split}/{column} is {group[column].dtype} {group[column].shape}; with image_size="
                    f"{image_size} and {count} {split}/{encoding} rows it should be uint8 {expected}",
                )
        if "source" in group and group["source"].shape != (count,):
            raise DataSourceError(
                path, "inconsistent_columns",
                f"{split}/source names {len(group['source'])} files for {count} {split}/{encoding} rows",
            )
        return Split(path, split, columns, count, image_size, _text_attribute(file, "sketch"))


def _text_attribute(file, name):
    value = file.attrs.get(name, "")
    return value.decode() if isinstance(value, bytes) else str(value)


def _check_declared_sizes(path, split, group, columns, image_size):
    """Refuse, before reading any row, images larger than --max-pixels and columns that declare
    far more bytes than the file stores: both would decode into memory without bound."""
    try:
        images.check_declared_size(path, image_size, image_size)
    except images.ImageError as error:
        raise DataSourceError(path, "too_large", f"image_size: {error.detail}") from None
    for column in columns:
        try:
            dataset = group[column]
        except (KeyError, OSError) as error:  # an external or soft link to nothing
            raise DataSourceError(path, "unreadable", f"{split}/{column}: {str(error).splitlines()[0]}") from None
        if not isinstance(dataset, h5py.Dataset):
            raise DataSourceError(path, "not_a_dataset", f"{split}/{column} is a group, not a dataset")
        declared, stored = dataset.size * dataset.dtype.itemsize, dataset.id.get_storage_size()
        if declared > 1 << 20 and stored < declared * LEAST_STORED_FRACTION:
            raise DataSourceError(
                path, "declared_beyond_stored",
                f"{split}/{column} declares {dataset.shape[0]:,} rows ({declared / 1e9:.1f} GB) but "
                f"the file stores {stored:,} bytes of them",
            )
