"""Writing a file or folder so that an interruption never leaves half of one in its place,
and refusing an output folder that is a file."""

import contextlib
import os
import re
import secrets
import shutil
from pathlib import Path


@contextlib.contextmanager
def written_atomically(path):
    """Yield a hidden temporary path beside `path` to write; it replaces `path` (a file or a
    folder) only when the block finishes, and is removed when it fails.

    The temporary keeps `path`'s suffix, since Pillow, OpenCV and Keras choose the format by it.
    Its name is short and random, not derived from `path`'s: a long file name must not make
    it too long for the file system, nor may it land on a file someone else owns. It starts
    with the writer's PID, so that the temporaries of a killed process can be told from those
    of a live one: the first write into a folder removes the dead ones' (`remove_stale_partials`).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_partials(path.parent)
    temporary = path.with_name(f".{os.getpid()}-{secrets.token_hex(6)}.partial{path.suffix}")
    try:
        yield temporary
        if path.is_dir():  # os.replace replaces a file in one step, but not a folder
            shutil.rmtree(path)
        os.replace(temporary, path)
    finally:
        _remove(temporary)


PARTIAL_NAME = re.compile(r"\.(\d+)-[0-9a-f]+\.partial")
_swept_folders = set()  # each folder is swept once a process


def remove_stale_partials(folder):
    """Remove the temporaries in `folder` that `written_atomically` left when its process was
    killed (their PID is no longer running); those of running processes stay."""
    folder = Path(folder).absolute()
    if folder in _swept_folders:
        return
    _swept_folders.add(folder)
    for candidate in folder.glob(".*.partial*"):
        match = PARTIAL_NAME.match(candidate.name)
        if match and not _running(int(match.group(1))):
            _remove(candidate)


def _running(pid):
    try:
        os.kill(pid, 0)  # signal 0 is not sent: it only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def _remove(path):
    if path.is_dir():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


EVERY_FILE = "*"


def prepare_output(path, overwrite=False, *, hint, outputs=(), remedy="choose another output folder", source=None):
    """Check the folder a job will write into, before the job's work; returns it as a Path.

    Refused: a file at or above `path` (`hint` says what to pass instead); `path` at or inside
    `source`, the job's input; a folder the job cannot write in; and, unless `overwrite`, a
    folder already holding any of `outputs` (the names the job writes; `EVERY_FILE`: anything
    at all), the message ending in `remedy`.
    """
    path = Path(path)
    check_output_folder(path, hint)
    if source is not None:
        check_outside(path, source)
    check_writable(path / "output", shown=path)
    if overwrite or not path.is_dir():
        return path
    if outputs == EVERY_FILE:
        if any(path.iterdir()):
            raise FileExistsError(f"{path}: exists and is not empty; {remedy}")
        return path
    existing = [name for name in outputs if (path / name).exists()]
    if existing:
        raise FileExistsError(f"{path}: already holds {', '.join(existing)}; {remedy}")
    return path


def check_output_folder(path, remedy):
    """Refuse an output folder that is a file or lies under one, before any work rather than
    with an errno after it; `remedy` ends the message: what to pass instead."""
    existing = _nearest_existing(Path(path))
    if not existing.is_dir():
        raise NotADirectoryError(f"{existing}: is a file; {remedy}")


def check_outside(out, source):
    """Refuse an output that is `source` or lies inside it (when `source` is a folder): what a
    step writes there would be read back as input the next time, or replace it."""
    resolved, source_path = resolved_path(out), resolved_path(source)
    if resolved == source_path or (source_path.is_dir() and source_path in resolved.parents):
        raise ValueError(f"{out}: must be outside the source {source}")


def check_free_space(path, needed, margin=8 << 20):
    """OSError naming `path` when its file system has less than `needed` bytes and `margin`
    (for metadata written on closing) free. For writers that cannot recover from a full disk:
    HDF5 fails in its buffered writes and then crashes Python while closing."""
    free = shutil.disk_usage(_nearest_existing(Path(path).absolute().parent)).free
    if free < needed + margin:
        raise OSError(
            f"{path}: the disk is full ({free / 1e6:.1f} MB free; the next block needs "
            f"{(needed + margin) / 1e6:.1f} MB with room to close the file)"
        )


def resolved_path(path):
    """`Path(path).resolve()`, with a loop of links a ValueError naming `path` (Python before
    3.13 raises a RuntimeError with a traceback; later ones an OSError)."""
    try:
        return Path(path).resolve()
    except (RuntimeError, OSError):
        raise ValueError(f"{path}: its links lead round in a loop") from None


def unwritable_folder(path):
    """The nearest existing folder above `path` when it takes no new files (or is not a folder),
    else None: checked before a step's work, which would otherwise fail at its end, naming a
    temporary file (or, for OpenCV, saying only that it has no writer)."""
    folder = _nearest_existing(Path(path).absolute().parent)
    if not folder.is_dir() or not os.access(folder, os.W_OK | os.X_OK):
        return folder
    return None


def check_writable(path, shown=None):
    """PermissionError naming `shown` (by default `path`) when `path` cannot be created: see
    `unwritable_folder`."""
    blocked = unwritable_folder(path)
    if blocked:
        raise PermissionError(f"{shown or path}: cannot be written; {blocked} is not a writable folder")


def _nearest_existing(path):
    """`path` as given if it exists, else its nearest existing parent."""
    return next(candidate for candidate in (path, *path.absolute().parents) if candidate.exists())
