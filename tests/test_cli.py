"""keras-colorize: bad files named, skipped and counted; inputs never overwritten; exit codes."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import skimage.data
from PIL import Image

from keras_colorize import cli, shipped
from keras_colorize.colorizer import Colorizer
from keras_colorize.faces import crop_face
from keras_colorize.images import read_rgb, write_image
from keras_colorize.sketches import pencil_sketch

SIZES = {"coffee.jpg": (333, 517), "sub/cat.png": (120, 181), "gray.png": (90, 64)}


@pytest.fixture
def photo_folder(tmp_path):
    """Three photos of odd sizes (one gray, one in a subfolder) and a truncated JPEG."""
    folder = tmp_path / "photos"
    (folder / "sub").mkdir(parents=True)
    for name, source in zip(SIZES, (skimage.data.coffee(), skimage.data.chelsea(), skimage.data.astronaut())):
        image = cv2.resize(source, SIZES[name][::-1], interpolation=cv2.INTER_AREA)
        Image.fromarray(image).convert("L" if name == "gray.png" else "RGB").save(folder / name)
    jpeg = (folder / "coffee.jpg").read_bytes()
    (folder / "broken.jpg").write_bytes(jpeg[: len(jpeg) // 3])
    return folder


@pytest.fixture
def stand_in_model(monkeypatch):
    """Every command gets a model that returns its input: fast, and the outputs are checkable."""
    colorizer = Colorizer(lambda batch: batch, "stand_in", "l_lab_unit", "test")
    monkeypatch.setattr(cli, "load_model", lambda source, trust_savedmodel=False, render_size=None: colorizer)
    return colorizer


def _snapshot(folder):
    return {path: path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


@pytest.mark.slow
def test_colorize_folder_skips_names_and_counts_the_broken_file(photo_folder, trained_run, tmp_path, capsys):
    before = _snapshot(photo_folder)
    out = tmp_path / "colorized"
    status = cli.main(["colorize", str(photo_folder), "-o", str(out), "--model", str(trained_run("unet"))])
    printed = capsys.readouterr()
    assert status == cli.EXIT_SOME_FAILED
    assert "broken.jpg: truncated_or_corrupt" in printed.err
    assert "kept: 3" in printed.out and "skipped: truncated_or_corrupt 1" in printed.out
    assert sorted(p.name for p in out.iterdir()) == ["cat.png", "coffee.png", "gray.png"]
    for name, size in SIZES.items():
        written = read_rgb(out / f"{Path(name).stem}.png")
        assert written.shape == (*size, 3)
    assert _snapshot(photo_folder) == before


@pytest.mark.slow
def test_outputs_never_replace_existing_files_or_inputs(photo_folder, trained_run, capsys):
    before = _snapshot(photo_folder)
    model = ["--model", str(trained_run("unet"))]
    # Writing into the inputs' own folder, twice: every output takes a new name.
    for _ in range(2):
        status = cli.main(["colorize", str(photo_folder / "gray.png"), "-o", str(photo_folder), *model])
        assert status == cli.EXIT_OK
    capsys.readouterr()
    assert {p: b for p, b in _snapshot(photo_folder).items() if p in before} == before
    assert sorted(p.name for p in photo_folder.glob("gray*.png")) == ["gray-2.png", "gray-3.png", "gray.png"]
    assert read_rgb(photo_folder / "gray-3.png").shape == (*SIZES["gray.png"], 3)


@pytest.mark.slow
def test_sketch_commands_write_photos_at_the_input_size(photo_folder, trained_run, tmp_path, capsys):
    sketch_model = ["--model", str(trained_run("sketch_inverter"))]
    sketches = photo_folder / "sub" / "*.png"  # a glob, as a shell passes it when quoted
    assert cli.main(["sketch2photo", str(sketches), "-o", str(tmp_path / "s2p"), *sketch_model]) == 0
    assert cli.main(["gray2color", "--via-sketch", str(photo_folder / "gray.png"),
                     "-o", str(tmp_path / "g2c"), *sketch_model]) == 0
    capsys.readouterr()
    assert read_rgb(tmp_path / "s2p" / "cat.png").shape == (*SIZES["sub/cat.png"], 3)
    via_sketch = read_rgb(tmp_path / "g2c" / "gray.png")
    assert via_sketch.shape == (*SIZES["gray.png"], 3)
    # Through the sketch, not the photo: the same model given the gray photo itself differs.
    direct = Colorizer.load(trained_run("sketch_inverter")).colorize(read_rgb(photo_folder / "gray.png"))
    assert not np.array_equal(direct, via_sketch)


def test_via_sketch_draws_the_sketch_at_the_models_size_whatever_the_photos(tmp_path, capsys):
    """The shipped pencil model (100 px) learnt from sketches drawn at 100 px. A face four times
    larger, sketched at its own size, loses its strokes when shrunk for the model; sketched at
    the model's size it gives what the small face gives."""
    face = crop_face(skimage.data.astronaut(), size=128)
    write_image(tmp_path / "in" / "small.png", face)
    write_image(tmp_path / "in" / "large.png", cv2.resize(face, (512, 512), interpolation=cv2.INTER_CUBIC))
    assert cli.main(["gray2color", "--via-sketch", str(tmp_path / "in"), "-o", str(tmp_path / "out")]) == 0
    printed = capsys.readouterr().out
    assert "━" not in printed and "\r" not in printed  # progress bars only on a terminal
    small, large = (read_rgb(tmp_path / "out" / name) for name in ("small.png", "large.png"))
    assert large.shape == (512, 512, 3)
    shrunk = cv2.resize(large, (128, 128), interpolation=cv2.INTER_AREA)
    assert np.abs(shrunk.astype(float) - small).mean() < 4
    sketched_large = Colorizer.load(shipped.PENCIL_SKETCH_MODEL).colorize(
        pencil_sketch(read_rgb(tmp_path / "in" / "large.png"))
    )  # what it gave before
    shrunk = cv2.resize(sketched_large, (128, 128), interpolation=cv2.INTER_AREA)
    assert np.abs(shrunk.astype(float) - small).mean() > 12


@pytest.mark.parametrize(
    ("command", "element_format", "hint"),
    [
        (["colorize"], "sketch_rgb", "takes drawn sketches, not photos; for drawn sketches use `sketch2photo`"),
        (["gray2color"], "sketch_rgb", "gray2color --via-sketch` sketches them first"),
        (["sketch2photo"], "l_lab_unit", "takes photos, not drawn sketches; for photos use `colorize`"),
        (["gray2color", "--via-sketch"], "l_ab", "takes photos, not drawn sketches"),
    ],
)
def test_a_model_for_the_other_kind_of_input_is_refused(command, element_format, hint, photo_folder,
                                                         tmp_path, capsys, monkeypatch):
    colorizer = Colorizer(lambda batch: pytest.fail("colorized"), "m", element_format, "mine.keras")
    monkeypatch.setattr(cli, "load_model", lambda source, trust_savedmodel=False, render_size=None: colorizer)
    out = tmp_path / "out"
    assert cli.main([*command, str(photo_folder), "-o", str(out)]) == cli.EXIT_ERROR
    error = capsys.readouterr().err
    assert error.startswith("error: mine.keras: model 'm' takes ") and hint in error
    assert not out.exists() or not any(out.iterdir())


def test_a_model_of_unknown_input_is_trusted(photo_folder, tmp_path, capsys, monkeypatch):
    colorizer = Colorizer(lambda batch: batch, "bare", "saved_model", "serving/")
    monkeypatch.setattr(cli, "load_model", lambda source, trust_savedmodel=False, render_size=None: colorizer)
    assert cli.main(["sketch2photo", str(photo_folder / "gray.png"), "-o", str(tmp_path / "out")]) == 0
    capsys.readouterr()
    assert (tmp_path / "out" / "gray.png").is_file()


def test_model_errors_exit_2_with_a_hint(photo_folder, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("keras_colorize.shipped.PRESETS_DIR", tmp_path / "no_presets")
    out = tmp_path / "out"
    assert cli.main(["colorize", str(photo_folder), "-o", str(out)]) == cli.EXIT_ERROR
    error = capsys.readouterr().err
    assert f"{shipped.PHOTO_MODEL}: no such file or folder" in error and "make train MODEL=unet" in error
    assert cli.main(["sketch2photo", str(photo_folder), "-o", str(out), "--model",
                     str(tmp_path / "nope")]) == cli.EXIT_ERROR
    assert "nope: no such file" in capsys.readouterr().err
    assert not out.exists() or not any(out.iterdir())


def test_inputs_that_name_nothing_are_named_and_counted(photo_folder, stand_in_model, tmp_path, capsys):
    (photo_folder / "gone.png").symlink_to(tmp_path / "deleted.png")
    out = tmp_path / "out"
    status = cli.main(["colorize", str(photo_folder), str(tmp_path / "typo.jpg"),
                       str(tmp_path / "*.tif"), "-o", str(out)])
    printed = capsys.readouterr()
    assert status == cli.EXIT_SOME_FAILED
    assert "typo.jpg: missing" in printed.err and "*.tif: missing" in printed.err
    assert "gone.png: broken_link" in printed.err
    assert "skipped: broken_link 1, missing 2, truncated_or_corrupt 1" in printed.out
    assert len(list(out.iterdir())) == 3


def test_a_file_that_cannot_be_written_is_skipped_and_the_batch_goes_on(photo_folder, stand_in_model,
                                                                        tmp_path, capsys):
    long_stem = "x" * 251  # x...x.png is the longest name allowed; x...x-2.png is too long
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(photo_folder / f"{long_stem}.png")
    out = tmp_path / "out"
    out.mkdir()
    (out / f"{long_stem}.png").write_bytes(b"an earlier output")
    status = cli.main(["colorize", str(photo_folder), "-o", str(out)])
    printed = capsys.readouterr()
    assert status == cli.EXIT_SOME_FAILED
    assert f"skipped {photo_folder / long_stem}.png: file_name_too_long" in printed.err
    assert "skipped: file_name_too_long 1, truncated_or_corrupt 1" in printed.out
    written = sorted(p.name for p in out.iterdir())
    assert written == sorted(["cat.png", "coffee.png", "gray.png", f"{long_stem}.png"])


def test_an_output_folder_that_is_a_file_is_a_one_line_error(photo_folder, stand_in_model, tmp_path, capsys):
    not_a_folder = tmp_path / "notes.txt"
    not_a_folder.write_text("mine")
    assert cli.main(["colorize", str(photo_folder), "-o", str(not_a_folder)]) == cli.EXIT_ERROR
    error = capsys.readouterr().err
    assert error == f"error: {not_a_folder}: is a file; -o takes a folder (created when missing)\n"
    assert not_a_folder.read_text() == "mine"


def test_no_images_found_exits_2(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert cli.main(["colorize", str(tmp_path / "empty"), "-o", str(tmp_path / "out")]) == cli.EXIT_ERROR
    assert "no image files found" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["clip.mp4", "notes.txt"])
def test_named_files_that_hold_no_image_exit_2_and_leave_no_output_folder(name, tmp_path, stand_in_model, capsys):
    (tmp_path / name).write_text("not an image")
    out = tmp_path / "out"
    assert cli.main(["colorize", str(tmp_path / name), "-o", str(out)]) == cli.EXIT_ERROR
    printed = capsys.readouterr()
    assert f"skipped {tmp_path / name}: not_an_image" in printed.err
    assert "  kept: 0\n" in printed.out
    assert "output:" not in printed.out  # no folder was made, so none is named
    assert not out.exists()


def test_an_output_folder_under_a_file_is_named_before_any_work(photo_folder, tmp_path, stand_in_model, capsys):
    (tmp_path / "notes.txt").write_text("mine")
    status = cli.main(["colorize", str(photo_folder), "-o", str(tmp_path / "notes.txt" / "out")])
    assert status == cli.EXIT_ERROR
    assert capsys.readouterr().err == (
        f"error: {tmp_path / 'notes.txt'}: is a file; -o takes a folder (created when missing)\n"
    )


@pytest.mark.parametrize("command", ["colorize", "sketch2photo", "gray2color", "video", "export", "serve", "gui"])
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main([command, "--help"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.startswith(f"usage: keras-colorize {command}")


def test_usage_errors_exit_2(capsys):
    for argv in ([], ["colorize", "x.png"], ["video", "in.mp4", "out.mp4", "--smooth", "0"]):
        with pytest.raises(SystemExit) as exit_info:
            cli.main(argv)
        assert exit_info.value.code == cli.EXIT_ERROR
    assert "--smooth: must be at least 1" in capsys.readouterr().err


def test_ship_model_prints_no_tensorflow_start_up_lines():
    result = subprocess.run(
        [sys.executable, str(Path(__file__).parents[1] / "scripts" / "ship_model.py"), "--help"],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert result.returncode == 0 and result.stdout.startswith("usage: ship_model.py")
    assert result.stderr == ""


def test_console_script_is_installed():
    script = shutil.which("keras-colorize", path=str(Path(sys.executable).parent))
    assert script, "reinstall the package (pip install -e .) to get the keras-colorize script"
    result = subprocess.run(
        [script, "--help"], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0
    assert "Exit status" in result.stdout and "sketch2photo" in result.stdout
    assert result.stderr == ""  # TensorFlow's start-up lines left out (console.import_tensorflow_quietly)


def test_only_tensorflows_start_up_lines_are_left_out_of_stderr(tmp_path):
    """A stand-in `tensorflow` writes TensorFlow 2.21's six start-up lines and two of its own
    to the process's stderr (fd 2, as C++ does); the two come through, in order."""
    start_up = [
        "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
        (
            "I0000 00:00:1795363385.854755   13467 port.cc:153] oneDNN custom operations are on. You may"
            " see slightly different numerical results due to floating-point round-off errors from"
            " different computation orders. To turn them off, set the environment variable"
            " `TF_ENABLE_ONEDNN_OPTS=0`."
        ),
        (
            "I0000 00:00:1795363385.894375   13467 cpu_feature_guard.cc:227] This TensorFlow binary is"
            " optimized to use available CPU instructions in performance-critical operations."
        ),
        (
            "To enable the following instructions: AVX2 AVX512F AVX512_VNNI AVX512_BF16 FMA, in other"
            " operations, rebuild TensorFlow with the appropriate compiler flags."
        ),
    ]
    own = ["E0000 00:00:1795363385.9 13467 cuda_dnn.cc:8] Unable to register cuDNN factory", "a real warning"]
    written = [start_up[0], start_up[1], own[0], start_up[2], start_up[3], start_up[0], start_up[1], own[1]]
    stand_in = "".join(line + "\n" for line in written).encode()
    (tmp_path / "tensorflow.py").write_text(f"import os\nos.write(2, {stand_in!r})\n")
    console = Path(cli.__file__).with_name("console.py")
    script = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('console', {str(console)!r})\n"
        "console = importlib.util.module_from_spec(spec); spec.loader.exec_module(console)\n"
        "console.import_tensorflow_quietly()\n"
        "print('tensorflow' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True,
                            timeout=60, check=True)
    assert result.stdout == "True\n"
    assert result.stderr.splitlines() == own


def test_native_log_lines_are_left_out_and_the_rest_kept(capfd):
    from keras_colorize import console

    with console.native_logs_hidden():
        os.write(2, b"I0000 00:00:1796618949.817368   24242 reader.cc:83] Reading SavedModel from: /tmp/x\n")
        os.write(2, b"W0000 00:00:1796618962.251614   24242 tf_tfl_flatbuffer_helpers.cc:364] Ignored output_format.\n")
        os.write(2, b"INFO: Created TensorFlow Lite XNNPACK delegate for CPU.\n")
        os.write(2, b"error: a problem of the user's\n")
    assert capfd.readouterr().err == "error: a problem of the user's\n"
