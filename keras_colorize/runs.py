"""A training run folder's record, `config.json`: the one place it is read.

`training.train` writes it; training (to resume or refuse a folder), `Colorizer` (the model
behind a run's export/), evaluate.py (the data a run trained on) and scripts/ship_model.py
(the training stages) read it here.
"""

import json
from pathlib import Path

from keras_colorize.errors import ColorizeError

RUN_CONFIG = "config.json"


class RunRecordError(ColorizeError, ValueError):
    """A folder's config.json is missing, unreadable, or not a run's record."""


def read(run_dir):
    """The settings `run_dir/config.json` records: a dict whose "model" is a model name."""
    path = Path(run_dir) / RUN_CONFIG
    try:
        record = json.loads(path.read_text())
    except OSError as error:
        raise RunRecordError(f"{path}: cannot be read ({error.strerror or error})") from None
    except ValueError as error:
        raise RunRecordError(f"{path}: not valid JSON ({error})") from None
    if not isinstance(record, dict) or not isinstance(record.get("model"), str):
        raise RunRecordError(f"{path}: names no model (no \"model\" entry, which train.py writes)")
    return record


def read_if_present(run_dir):
    """The record when `run_dir` has a config.json, else None. Unlike `read_if_run`, a
    config.json that is not a run's record raises RunRecordError: the folder claims to be a
    run, so its broken record is the user's error to hear about."""
    if not (Path(run_dir) / RUN_CONFIG).is_file():
        return None
    return read(run_dir)


def read_if_run(run_dir):
    """The record when `run_dir` holds a run's config.json, else None (a folder of other files)."""
    try:
        return read(run_dir)
    except RunRecordError:
        return None
