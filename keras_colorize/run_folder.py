"""The run folder: what a run writes there (`training`'s docstring), whether a new run may
write into a folder, and what an interrupted run resumes from.
"""

import csv
import json
import math
import shutil

import h5py

from keras_colorize import runs
from keras_colorize.errors import TrainingError

BACKUP, HISTORY, SAMPLE_FILE = "backup", "history.csv", "sample.h5"
BACKUP_EPOCH = "training_metadata.json"  # BackupAndRestore's record, written after its weights


def check_resumes_the_same_model(out_dir, model_name, model_config):
    """An interrupted run in `out_dir` resumes only with the network it was training."""
    if not (out_dir / BACKUP).exists():
        return  # nothing to resume
    earlier = runs.read_if_run(out_dir)
    if earlier is None:
        return  # no readable record: the backup itself will tell whether it fits
    # Compared as JSON reads them back, so that a tuple in the config equals its list.
    if (earlier.get("model"), earlier.get("model_config")) != (
        model_name, json.loads(json.dumps(model_config))
    ):
        raise TrainingError(
            f"{out_dir}: holds an interrupted run of {earlier.get('model')} "
            f"{earlier.get('model_config')}; run its own command again to resume it, or "
            "choose another --out"
        )


def check_run_folder(out_dir):
    """Refuse a finished run, and a folder of someone's files that a run would write over."""
    if (out_dir / "model.keras").exists() and not (out_dir / BACKUP).exists():
        raise TrainingError(
            f"{out_dir}: holds a finished run (model.keras); choose another --out "
            "or remove it yourself"
        )
    # Before config.json, a run writes only the built-in sample there (hidden while partial).
    entries = {p.name for p in out_dir.iterdir() if not p.name.startswith(".")} if out_dir.is_dir() else set()
    if entries - {SAMPLE_FILE} and runs.read_if_run(out_dir) is None:
        raise TrainingError(
            f"{out_dir}: holds files that are not a training run (no run config.json), which "
            "the run would write over; choose a new or empty --out"
        )


def check_backup_readable(out_dir):
    """A run killed while saving its backup leaves that file unreadable; Keras then restores the
    copy it kept of the epoch before (double_checkpoint). Without one, a first save cut off
    before it recorded its epoch held nothing yet, and the run starts over; any other cannot
    resume."""
    backup = out_dir / BACKUP
    saved = [path for path in backup.glob("latest.weights.h5*") if path.is_file()]
    if not saved or any(_readable_hdf5(path) for path in saved):
        return
    if not (backup / BACKUP_EPOCH).exists():
        print(f"{backup}: the first epoch's backup was cut off; starting the run over")
        shutil.rmtree(backup)
        return
    raise TrainingError(
        f"{backup}: the interrupted run's backup cannot be read (its save was cut "
        f"off); remove {backup} to start the run over"
    )


def _readable_hdf5(path):
    try:
        h5py.File(path, "r").close()
    except OSError:
        return False
    return True


def best_so_far(history_path, monitor):
    """The lowest `monitor` value in a resumed run's history (infinity in a new run)."""
    try:
        with open(history_path, newline="") as history:
            values = [float(row[monitor]) for row in csv.DictReader(history) if row.get(monitor)]
    except OSError:
        return math.inf
    return min(values, default=math.inf)
