"""The folder layouts that hold photos to build a dataset from or to score a model on.

A source is one of:

- a folder of images, at any depth. Images kept in one subfolder per person (LFW:
  `<Person>/<Person>_NNNN.jpg`) carry that folder's name as their identity;
- a folder with `photos/` and `sketches/`: (photo, hand-drawn sketch) pairs, matched by name;
- a folder with `train/` and `test/` (and maybe `val/`) subfolders, each of either kind above,
  which fix each photo's split (the dataset file's split names, `hdf5.SPLITS`);
- a single image file.
"""

import dataclasses
from pathlib import Path

import cv2

from keras_colorize.hdf5 import SPLITS
from keras_colorize.images import ImageError, list_images, read_rgb


@dataclasses.dataclass(frozen=True)
class Sample:
    """A photo file and what is known about it before it is read."""

    source: Path  # the folder it was found in; `name` is relative to it
    path: Path
    identity: str | None = None
    split: str | None = None  # fixed by the source's train/val/test folders
    drawn_sketch: Path | None = None

    @property
    def name(self):
        return self.path.relative_to(self.source).as_posix()

    def read_drawn_sketch(self, shape, decode=read_rgb):
        """The sketch drawn from this photo, read by `decode`, at the photo's (height, width)
        `shape`; an ImageError when sketches/ has no file of this photo's name."""
        if self.drawn_sketch is None:
            raise ImageError(self.path, "no_sketch", "no file of that name in sketches/")
        drawn = decode(self.drawn_sketch)
        if drawn.shape[:2] != tuple(shape):
            drawn = cv2.resize(drawn, tuple(shape)[::-1], interpolation=cv2.INTER_AREA)
        return drawn


def _key(path, folder):
    """A file's name within `folder`, without suffix: how a photo finds its drawn sketch."""
    return path.relative_to(folder).with_suffix("").as_posix()


def _folder_samples(source, folder, split):
    """Samples of one folder, and whether it has drawn sketches (photos/ + sketches/)."""
    photos, sketches = folder / "photos", folder / "sketches"
    if photos.is_dir() and sketches.is_dir():
        drawn = {_key(path, sketches): path for path in list_images(sketches, with_broken_links=True)}
        samples = [
            Sample(source, path, split=split, drawn_sketch=drawn.get(_key(path, photos)))
            for path in list_images(photos, with_broken_links=True)
        ]
        return samples, True
    samples = []
    for path in list_images(folder, with_broken_links=True):
        parts = path.relative_to(folder).parts
        samples.append(Sample(source, path, parts[0] if len(parts) > 1 else None, split))
    return samples, False


def find_samples(source):
    """The samples of one source (see the module docstring) and whether they come with drawn
    sketches. A sample's identity is its person folder, if it lies in one."""
    source = Path(source)
    if source.is_file():
        return [Sample(source.parent, source)], False
    if not source.is_dir():
        raise FileNotFoundError(f"{source}: no such file or folder")
    given = [split for split in SPLITS if (source / split).is_dir()]
    folders = [(source / split, split) for split in given] or [(source, None)]
    samples, drawn = [], set()
    for folder, split in folders:
        found, has_drawn = _folder_samples(source, folder, split)
        samples += found
        drawn.add(has_drawn)
    if len(drawn) > 1:
        raise ValueError(f"{source}: some split folders have photos/ + sketches/, some do not")
    return samples, drawn.pop()
