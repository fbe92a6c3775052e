"""Counting a batch job's files: kept and skipped, with a progress bar and a summary.

A job (colorizing files, building or checking a dataset, scoring a model) reads many files,
keeps some and skips others. `Tally` counts both, keeps the skipped files' `ImageError`s for
the report, and drives one Keras progress bar, so every job reports the same way and a bad file
never stops it.
"""

import collections
import sys

import keras

from keras_colorize.console import is_terminal


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
    """Print a summary dict as indented `name: value` lines."""
    print(f"{title}:")
    for name, value in summary.items():
        if isinstance(value, dict):
            value = ", ".join(f"{k} {v}" for k, v in value.items()) or "none"
        print(f"  {name}: {value}")
