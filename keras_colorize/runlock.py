"""One training process per run folder.

Two runs writing one folder each "succeed" while their history.csv gets two headers and
every epoch twice. `locked(run_dir)` holds an exclusive `flock` on `run_dir/.lock` for the
whole run; the file records the holder's PID so that the process refused can name it. The
kernel drops the lock when its process ends, however it ends, so a run killed with
`kill -9` leaves nothing to clean up: the next run takes the lock. The file is hidden, which
`training` ignores when it tells a run folder from a folder of other files.
"""

import contextlib
import fcntl
import os
from pathlib import Path

from keras_colorize.errors import TrainingError

LOCK_FILE = ".lock"


@contextlib.contextmanager
def locked(run_dir):
    """Hold `run_dir`'s lock for the block (creating the folder); a TrainingError naming the
    holder's PID when another process holds it. A folder made here that holds nothing but the
    lock when the block ends (a refused run) is removed again."""
    run_dir = Path(run_dir)
    created = not run_dir.exists()
    run_dir.mkdir(parents=True, exist_ok=True)
    lock_path = run_dir / LOCK_FILE
    with open(lock_path, "a+") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise TrainingError(
                f"{run_dir}: another training run (process {_holder(lock)}) is using this folder; "
                "wait for it to end or choose another --out"
            ) from None
        try:
            lock.truncate(0)
            lock.write(f"{os.getpid()}\n")
            lock.flush()
            yield run_dir
        finally:
            lock.truncate(0)
            if created and [path.name for path in run_dir.iterdir()] == [LOCK_FILE]:
                lock_path.unlink()
                run_dir.rmdir()


def _holder(lock):
    """The PID the lock file records ("unknown" while its holder is still writing it)."""
    lock.seek(0)
    return lock.read().strip() or "unknown"
