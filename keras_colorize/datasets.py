"""Building the HDF5 dataset files that `keras_colorize.data` reads (format: docs/data.md),
from the sources `keras_colorize.image_folders` finds. With `identities="auto"` the person
folders become identity labels, and the train/val/test splits then never share a person; a
source's train/ and test/ folders keep their split, and without val/, val is taken from train
in the ratio of the fractions. Side-by-side (sketch | photo) images, the pix2pix format, are
split into their two halves (`split_pair`).

Only the paths are listed and split up front. The images are then decoded, checked (the
`keras_colorize.image_checks` checks), cropped, encoded and appended block by block
(`hdf5.Writer`), so memory does not grow with the dataset.
"""

import dataclasses
import json
import time
from pathlib import Path

import numpy as np

import keras_colorize
from keras_colorize import hdf5
from keras_colorize.faces import centre_box, crop_to_box, face_or_centre_box
from keras_colorize.files import check_free_space, check_outside, check_writable
from keras_colorize.image_checks import ImageChecker
from keras_colorize.image_folders import find_samples
from keras_colorize.images import ImageError
from keras_colorize.progress import Tally
from keras_colorize.sketches import SKETCH_STYLES, make_sketch, to_gray

ENCODINGS = {"rgb": ("rgb",), "lab": ("lab",), "both": ("rgb", "lab")}
IDENTITY_MODES = ("auto", "none")
DRAWN = "drawn"
# Which half of a side-by-side image holds the sketch differs between datasets (edges2shoes:
# left; the anime pairs the pix2pix paper used: right), so it is always a parameter.
SKETCH_SIDES = ("left", "right")


def split_pair(image, sketch_side="left", path="<array>"):
    """(H, 2H, C) side-by-side image -> (sketch half, photo half), each (H, H, C).

    The pix2pix datasets' halves are square; anything else (a photo that slipped into the
    folder) is refused as `not_side_by_side` rather than cut into two half-photos.
    """
    if sketch_side not in SKETCH_SIDES:
        raise ValueError(f"sketch_side must be one of {SKETCH_SIDES}, not {sketch_side!r}")
    height, width = image.shape[:2]
    if width != 2 * height:
        detail = f"{width}x{height}: not two squares side by side ({2 * height}x{height})"
        raise ImageError(path, "not_side_by_side", detail)
    left, right = image[:, :height], image[:, height:]
    return (left, right) if sketch_side == "left" else (right, left)


def _divide(samples, fractions, rng):
    """Split `samples` into len(fractions) parts of about those fractions, keeping each
    identity (or, without identities, each file) whole; seeded by `rng`."""
    groups = {}
    for sample in samples:
        key = ("identity", sample.identity) if sample.identity else ("file", str(sample.path))
        groups.setdefault(key, []).append(sample)
    keys = sorted(groups)
    bounds = np.cumsum(fractions) * len(samples)
    parts = [[] for _ in fractions]
    position = 0
    for index in rng.permutation(len(keys)):
        group = groups[keys[index]]
        part = min(int(np.searchsorted(bounds, position, side="right")), len(parts) - 1)
        parts[part] += group
        position += len(group)
    return parts


def assign_splits(samples, fractions=(0.8, 0.1, 0.1), seed=0):
    """{split: samples in seeded-shuffled order}; see the module docstring for given splits."""
    if len(fractions) != 3 or min(fractions) < 0 or abs(sum(fractions) - 1) > 1e-6:
        raise ValueError(f"split fractions must be 3 numbers >= 0 summing to 1, not {fractions}")
    rng = np.random.default_rng(seed)
    rows = {split: [s for s in samples if s.split == split] for split in hdf5.SPLITS}
    free = [s for s in samples if s.split is None]
    for split, part in zip(hdf5.SPLITS, _divide(free, fractions, rng)):
        rows[split] += part
    if not rows["val"] and rows["train"] and sum(fractions[:2]) > 0:
        given_train = [s for s in rows["train"] if s.split == "train"]
        train_share = fractions[0] / sum(fractions[:2])
        kept, carved = _divide(given_train, (train_share, 1 - train_share), rng)
        rows["train"] = [s for s in rows["train"] if s.split != "train"] + kept
        rows["val"] = carved
    return {split: [rows[split][i] for i in rng.permutation(len(rows[split]))] for split in hdf5.SPLITS}


@dataclasses.dataclass
class _Preparer:
    """Turns a sample into its (rgb, sketch) row: decode, check, crop, resize, sketch."""

    checker: ImageChecker
    size: int
    sketch: str | None  # a SKETCH_STYLES name, DRAWN, or None
    pairs: str | None
    faces: bool
    face_margin: float
    keep_faceless: bool
    center_crop: float

    def __call__(self, sample):
        image = self.checker.decode(sample.path)
        drawn = None
        if self.pairs:
            drawn, image = split_pair(image, self.pairs, sample.path)
        elif self.sketch == DRAWN:
            drawn = sample.read_drawn_sketch(image.shape[:2], self.checker.decode)
        self.checker.check_content(image, sample.path)
        # One box for photo and drawn sketch keeps them aligned.
        box = self._box(image, sample.path)
        rgb = crop_to_box(image, box, self.size)
        if drawn is not None:
            return rgb, to_gray(crop_to_box(drawn, box, self.size))
        return rgb, make_sketch(rgb, self.sketch) if self.sketch else None

    def _box(self, image, path):
        if self.faces:
            box, _ = face_or_centre_box(
                image, path, self.face_margin, self.keep_faceless, self.center_crop
            )
            return box
        return centre_box(image.shape, self.center_crop)


def _sketch_kind(sources_drawn, sketch, pairs):
    """The file's sketch attribute; refuses combinations that would mix sketch kinds."""
    if sketch not in (None, *SKETCH_STYLES):
        raise ValueError(f"sketch must be None or one of {sorted(SKETCH_STYLES)}, not {sketch!r}")
    if pairs not in (None, *SKETCH_SIDES):
        raise ValueError(f"pairs must be None or one of {SKETCH_SIDES}, not {pairs!r}")
    drawn = any(sources_drawn)
    if drawn and (pairs or not all(sources_drawn)):
        raise ValueError(
            "sources with photos/ + sketches/ cannot be mixed with other sources or with pairs"
        )
    if (drawn or pairs) and sketch:
        raise ValueError(f"these sources have drawn sketches; sketch={sketch!r} cannot be added")
    return DRAWN if drawn or pairs else sketch


def _evenly_spaced(samples, limit):
    """`limit` samples spread evenly over the sorted list, so that every folder and every given
    split (CUFS's train/ and test/) keeps its share; all of them when `limit` is None."""
    if limit is None or limit >= len(samples):
        return samples
    return [samples[i] for i in np.linspace(0, len(samples) - 1, limit).round().astype(int)]


def _collect_samples(sources, identities, sketch, pairs, limit):
    """All sources' samples (`limit` of them, evenly spaced) and the file's sketch kind.

    Identities are used when every image lies in a person folder and there are at least two.
    """
    samples, sources_drawn = [], []
    for source in sources:
        found, drawn = find_samples(source)
        samples += found
        sources_drawn.append(drawn)
    sketch_kind = _sketch_kind(sources_drawn, sketch, pairs)
    samples = _evenly_spaced(samples, limit)
    if not samples:
        raise ValueError(f"no images found in {', '.join(map(str, sources))}")
    names = {sample.identity for sample in samples}
    if identities == "none" or None in names or len(names) < 2:
        samples = [dataclasses.replace(sample, identity=None) for sample in samples]
    return samples, sketch_kind


def _write_rows(rows, prepare, writer, tally, block_size, path):
    """Prepare and append every split's rows to the file for `path`, `block_size` images at a
    time, each block only when the disk has room for it uncompressed."""
    for split, samples in rows.items():
        for start in range(0, len(samples), block_size):
            prepared = []
            for sample in samples[start : start + block_size]:
                try:
                    prepared.append((sample, *prepare(sample)))
                except ImageError as error:
                    tally.reject(error)
                    continue
                tally.keep()
            arrays = (value for row in prepared for value in row if isinstance(value, np.ndarray))
            check_free_space(path, sum(array.nbytes for array in arrays))
            writer.append(split, prepared)


def build_dataset(
    sources,
    out_path,
    size,
    *,
    faces=False,
    sketch=None,
    pairs=None,
    encoding="both",
    identities="auto",
    split=(0.8, 0.1, 0.1),
    seed=0,
    limit=None,
    overwrite=False,
    center_crop=1.0,
    face_margin=0.25,
    keep_faceless=False,
    min_size=32,
    block_size=128,
    verbose=True,
):
    """Build one HDF5 dataset file from image sources; returns the summary dict.

    Args:
        sources: folders or files (layouts: `keras_colorize.image_folders`).
        out_path: the .h5 file; an existing one is refused unless `overwrite`.
        size: side of the stored square images.
        faces: crop around the largest face (Haar cascade) instead of the centre square;
            images without a face are skipped, or centre-cropped with `keep_faceless`.
        sketch: "pencil" or "line" to store a generated sketch of each image, or None.
            Drawn sketches (photos/ + sketches/ folders or `pairs`) are stored as "drawn".
        pairs: "left" or "right": the images are side-by-side pairs, sketch on that side.
        encoding: "rgb", "lab" or "both".
        identities: "auto" (person folders become identity labels) or "none".
        split: train, val, test fractions; identity-disjoint when identities exist.
        seed: seeds the split and the row order.
        limit: use only `limit` images, evenly spaced in sorted order so that every folder and
            given split keeps its share, e.g. for a quick look.
        center_crop: fraction of the shorter side that the centre square crop keeps.
        min_size: images with a smaller side are skipped ("too_small").
        block_size: images decoded, encoded and written at a time (memory ~ block_size).
    """
    started = time.perf_counter()
    out = Path(out_path)
    if out.is_dir():
        raise IsADirectoryError(f"{out}: is a folder; OUT is the HDF5 file to write, e.g. {out / 'data.h5'}")
    if out.exists() and not overwrite:
        raise FileExistsError(f"{out}: exists; pass overwrite=True (--overwrite) to replace it")
    check_writable(out)
    if encoding not in ENCODINGS:
        raise ValueError(f"encoding must be one of {sorted(ENCODINGS)}, not {encoding!r}")
    if identities not in IDENTITY_MODES:
        raise ValueError(f"identities must be one of {IDENTITY_MODES}, not {identities!r}")
    sources = [Path(s) for s in ([sources] if isinstance(sources, (str, Path)) else sources)]
    for source in sources:
        check_outside(out, source)
    samples, sketch_kind = _collect_samples(sources, identities, sketch, pairs, limit)
    rows = assign_splits(samples, split, seed)
    identity_names = sorted({sample.identity for sample in samples if sample.identity})
    prepare = _Preparer(
        ImageChecker(min_size=min_size), size, sketch_kind, pairs, faces, face_margin,
        keep_faceless, center_crop,
    )
    crop = f"face, margin {face_margin}" if faces else f"centre square, {center_crop} of the side"

    tally = Tally(len(samples), f"building {out}", verbose)
    with hdf5.writing(out, size, ENCODINGS[encoding], bool(sketch_kind), identity_names, block_size) as writer:
        _write_rows(rows, prepare, writer, tally, block_size, out)
        if not tally.kept:  # a file of no images would fail only later, in training
            tally.finish(f"building {out}")
            raise ValueError(f"{out}: not written; none of the {len(samples)} images could be used")
        counts = writer.counts()
        writer.finish(
            sketch_kind or "",
            sources=json.dumps([str(source) for source in sources]),
            seed=seed,
            split_fractions=json.dumps([float(f) for f in split]),
            counts=json.dumps({**counts, "skipped": tally.skipped}),
            identity_disjoint=writer.identity_disjoint(),
            created_by=f"keras-colorize {keras_colorize.__version__} data_prep",
            crop=crop,
        )
    seconds = time.perf_counter() - started
    return tally.finish(
        f"built {out}",
        **counts,
        identities=len(identity_names),
        identity_disjoint=writer.identity_disjoint(),
        sketch=sketch_kind or "none",
        seconds=round(seconds, 1),
        images_per_second=round(len(samples) / seconds, 1),
        output=str(out),
    )
