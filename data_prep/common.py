"""What every data_prep step shares: the progress bar, the counted summary, safe output folders.

A step reads many files, keeps some and skips others. `Tally` counts both, keeps the skipped
files' `ImageError`s for the rejects report, and drives one Keras progress bar, so every step
reports the same way and a bad file never stops a batch job.
"""

import collections
import sys
from pathlib import Path

import keras

from keras_colorize.console import is_terminal
from keras_colorize.files import check_output_folder, check_outside
from keras_colorize.images import ImageError, free_output_name, list_images, write_image

OUTPUT_SUFFIX = ".png"  # lossless, so a step's output is exactly what it computed


class Tally:
    """Counts kept and skipped files (skipped by reason) while showing a progress bar (on a
    terminal: `console.is_terminal`)."""

    def __init__(self, total, label, verbose=True):
        if verbose:
            print(f"{label}: {total} file{'' if total == 1 else 's'}")
        self.verbose = verbose
        self.kept = 0
        self.rejects = []
        self._bar = keras.utils.Progbar(total, verbose=int(verbose and is_terminal()), unit_name="file")

    @property
    def skipped(self):
        return dict(sorted(collections.Counter(e.reason for e in self.rejects).items()))

    def keep(self):
        self.kept += 1
        self._bar.add(1)

    def reject(self, error):
        self.rejects.append(error)
        self._bar.add(1)

    def finish(self, title, **extra):
        """The summary dict (kept, skipped by reason, `extra`); when verbose, each skipped file
        is named on stderr ("skipped PATH: reason (detail)") and the summary printed."""
        summary = {"kept": self.kept, "skipped": self.skipped, **extra}
        if self.verbose:
            for error in self.rejects:
                print(f"skipped {error}", file=sys.stderr)
            print_summary(title, summary)
        return summary


def print_summary(title, summary):
    """Print a step's summary dict as indented `name: value` lines."""
    print(f"{title}:")
    for name, value in summary.items():
        if isinstance(value, dict):
            value = ", ".join(f"{k} {v}" for k, v in value.items()) or "none"
        print(f"  {name}: {value}")


def new_output_folder(out, overwrite=False, remedy="choose a new output folder"):
    """Create `out`; refuse one that already holds files unless `overwrite`.

    `remedy` ends the refusal's message: what the user can do instead.
    """
    out = Path(out)
    check_output_folder(out, "pass a folder")
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise FileExistsError(f"{out}: exists and is not empty; {remedy}")
    out.mkdir(parents=True, exist_ok=True)
    return out


def prepare_output_folder(out, source):
    """Create `out` for a step's files; refuse one that could mix with or overwrite anything."""
    if Path(source).is_file():
        raise NotADirectoryError(f"{source}: is a file; this step takes a folder of images")
    if not Path(source).is_dir():
        raise FileNotFoundError(f"{source}: no such folder")
    check_outside(out, source)
    return new_output_folder(out)


def map_folder(source, out, transform, label, verbose=True):
    """Apply `transform(path) -> {subfolder: image}` to every image under `source`.

    Each image is written losslessly as `out/subfolder/<path relative to source>.png`, so the
    outputs of one input share a name; inputs that differ only in suffix (`a.jpg`, `a.png`)
    get the next free name (`a-2.png`). Files that raise `ImageError` are skipped and counted.
    Returns the `Tally`.
    """
    out = prepare_output_folder(out, source)
    paths = list_images(source)
    tally = Tally(len(paths), label, verbose)
    for path in paths:
        try:
            outputs = transform(path)
        except ImageError as error:
            tally.reject(error)
            continue
        relative = path.relative_to(source)
        folders = [out / subfolder / relative.parent for subfolder in outputs]
        name = free_output_name(folders, relative.stem, OUTPUT_SUFFIX)
        for folder, image in zip(folders, outputs.values()):
            write_image(folder / name, image)
        tally.keep()
    return tally
