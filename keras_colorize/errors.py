"""The errors the package raises for what a user gave it: one base, `ColorizeError`, which a
program catches to handle them all, and a subclass per kind of thing that can be wrong. Each
message names the thing, says what is wrong and, where it can, what to do, so that a command
prints it in one line.

Modules add their own where a caller tells them apart: `video.VideoError` (an `ImageError`),
`runs.RunRecordError`, `pretrained.PretrainedWeightsError`, `savedmodel_check.UntrustedSavedModel`
(a `ModelLoadError`), `cli.CommandError`, `gui.NoDisplayError`, `web.UploadError`.
"""

import os


class ColorizeError(Exception):
    """Something a user gave the package (a file, a model, a folder, an option) cannot be used."""


class ImageError(ColorizeError, ValueError):
    """A file that cannot be used as an image; `reason` is a short machine-friendly tag."""

    def __init__(self, path, reason, detail=""):
        self.path = printable(path)
        self.reason = reason
        self.detail = detail
        message = f"{self.path}: {reason}" + (f" ({detail})" if detail else "")
        super().__init__(message)


class DataSourceError(ImageError):
    """A data source (HDF5 file, image folder) that cannot be used; names it and the problem."""


class ModelLoadError(ColorizeError, ValueError):
    """A path or name (a shipped model's too) that does not hold a usable model; says which and why."""


class TrainingError(ColorizeError, RuntimeError):
    """A training run that cannot start or go on: its folder is in use by another run, holds a
    finished run or another network's, or its losses stopped being finite."""


class EvaluationError(ColorizeError, ValueError):
    """Data, a model or an output folder that cannot be used for scoring; names it and why."""


def printable(path):
    """`path` as text that can be printed and written to UTF-8 files: bytes of a file name that
    are not UTF-8 (kept by Python as lone surrogates, which crash `print`) become \\xNN."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")
