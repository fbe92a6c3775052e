"""Leftovers and messages: a killed writer's hidden temporaries are removed by the next run,
unwritable output folders are named before any work, evaluate names what it could not write,
and build and evaluate count broken links and loops of links."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from data_prep.clean import clean_folder
from keras_colorize import Colorizer, cli, evaluation, files, images
from keras_colorize.datasets import build_dataset


def _killed_writer(folder):
    """Run `written_atomically` in a child process, kill it with SIGKILL mid-write, and return
    the temporary it left. The child loads files.py alone (the package imports TensorFlow)."""
    script = (
        "import importlib.util, sys, time\n"
        "spec = importlib.util.spec_from_file_location('files', sys.argv[1])\n"
        "files = importlib.util.module_from_spec(spec)\n"
        "spec.loader.exec_module(files)\n"
        "with files.written_atomically(sys.argv[2]) as temporary:\n"
        "    temporary.write_bytes(b'half a file')\n"
        "    print(temporary, flush=True)\n"
        "    time.sleep(60)\n"
    )
    child = subprocess.Popen([sys.executable, "-c", script, files.__file__, str(folder / "out.png")],
                             stdout=subprocess.PIPE, text=True)
    temporary = Path(child.stdout.readline().strip())
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    return temporary


def test_the_next_write_removes_a_killed_writers_temporary_and_keeps_a_live_ones(tmp_path):
    stale = _killed_writer(tmp_path)
    assert stale.exists() and stale.name.startswith(".")
    live = tmp_path / f".{os.getpid()}-0123456789ab.partial.png"
    live.write_bytes(b"being written")
    images.write_image(tmp_path / "new.png", np.zeros((2, 2, 3), np.uint8))
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted([live.name, "new.png"])


@pytest.fixture
def photos(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    for index in range(3):
        pixels = np.random.default_rng(index).integers(0, 256, (40, 40, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(folder / f"{index}.png")
    return folder


def _unwritable(monkeypatch, locked):
    monkeypatch.setattr("os.access", lambda path, mode: Path(path) != locked)  # as for a non-root user


def test_colorize_names_an_unwritable_output_folder_before_colorizing(photos, tmp_path, capsys, monkeypatch):
    locked = tmp_path / "locked"
    locked.mkdir()
    _unwritable(monkeypatch, locked)
    monkeypatch.setattr(cli, "load_model", lambda source, trust_savedmodel=False: pytest.fail("loaded the model"))
    assert cli.main(["colorize", str(photos), "-o", str(locked / "out")]) == cli.EXIT_ERROR
    assert capsys.readouterr().err == f"error: {locked / 'out'}: cannot be written; {locked} is not a writable folder\n"


def _echo():
    return Colorizer(lambda batch: np.asarray(batch, np.uint8), "echo", "saved_model")


def test_evaluate_names_an_unwritable_output_folder_before_scoring(photos, tmp_path, monkeypatch):
    locked = tmp_path / "locked"
    locked.mkdir()
    _unwritable(monkeypatch, locked)
    monkeypatch.setattr(evaluation, "_outputs", lambda *args: pytest.fail("scored"))
    with pytest.raises(evaluation.EvaluationError, match=f"^{locked}: cannot be written; {locked} is not a writable"):
        evaluation.evaluate(_echo(), evaluation.open_data(photos), ["psnr"], locked, model_input="gray", verbose=False)


def test_evaluate_names_a_full_disk_and_leaves_no_half_outputs(photos, tmp_path, monkeypatch):
    def full_disk(path, *args, **kwargs):
        raise OSError(28, "No space left on device", str(path))

    monkeypatch.setattr(Path, "write_text", full_disk)
    out = tmp_path / "scores"
    with pytest.raises(evaluation.EvaluationError,
                       match=f"^{out}: the results could not be written \\({out / 'summary.json'}\\): No space left"):
        evaluation.evaluate(_echo(), evaluation.open_data(photos), ["psnr"], out, model_input="gray", samples=0,
                            verbose=False)
    assert list(out.iterdir()) == []  # per_image.csv, written first, is gone: a rerun needs no --overwrite


def _with_broken_links(photos):
    (photos / "gone.png").symlink_to(photos / "deleted.png")
    (photos / "loop_a.png").symlink_to(photos / "loop_b.png")
    (photos / "loop_b.png").symlink_to(photos / "loop_a.png")
    return photos


def test_build_counts_broken_links_and_loops(photos, tmp_path):
    summary = build_dataset([_with_broken_links(photos)], tmp_path / "out.h5", 32, split=(1.0, 0.0, 0.0),
                            verbose=False)
    assert summary["kept"] == 3 and summary["skipped"] == {"broken_link": 1, "link_loop": 2}


def test_evaluate_counts_broken_links_and_loops(photos, tmp_path):
    summary = evaluation.evaluate(_echo(), evaluation.open_data(_with_broken_links(photos)), ["psnr"],
                                  tmp_path / "scores", model_input="gray", samples=0, verbose=False)
    assert summary["images"]["skipped"] == {"broken_link": 1, "link_loop": 2}


def test_clean_that_fails_writing_its_lists_leaves_none_half_written(photos, tmp_path, monkeypatch):
    def fail_after_opening(path, *args, **kwargs):
        open(path, "w").close()
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Path, "write_text", fail_after_opening)
    with pytest.raises(OSError, match="No space left"):
        clean_folder(photos, tmp_path / "clean", verbose=False)
    assert list((tmp_path / "clean").iterdir()) == []  # an empty kept.txt would read as "nothing usable"
