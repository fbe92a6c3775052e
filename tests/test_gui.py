"""GUI smoke test under Xvfb: draw with the real mouse (xdotool), Convert, see the photo on screen;
place, move and delete colour hints on a photo and see the result follow."""

import re
import shutil
import subprocess
import time

import numpy as np
import pytest
import skimage.data
from conftest import change_around
from PIL import Image, ImageGrab

from keras_colorize import cli, shipped
from keras_colorize.images import read_rgb

gui = pytest.importorskip("keras_colorize.gui", reason="needs Python's tkinter")

needs_x = pytest.mark.skipif(
    not (shutil.which("Xvfb") and shutil.which("xdotool")),
    reason="needs Xvfb and xdotool (apt-get install xvfb xdotool)",
)


@pytest.fixture(scope="module")
def display():
    """A virtual X display of its own (Xvfb picks a free number), as $DISPLAY."""
    server = subprocess.Popen(
        ["Xvfb", "-displayfd", "1", "-screen", "0", "900x500x24", "-nolisten", "tcp"],
        stdout=subprocess.PIPE,
    )
    number = server.stdout.readline().decode().strip()
    assert number, "Xvfb did not start"
    name = f":{number}"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DISPLAY", name)
        yield name
    server.terminate()
    server.wait(timeout=10)


@pytest.fixture
def make_app(display):
    """`make_app(sketch_model, photo_model)`: a shown ColorizeApp; its window closes afterwards."""
    import tkinter

    roots = []

    def make(sketch_model, photo_model):
        root = tkinter.Tk()
        roots.append(root)
        app = gui.ColorizeApp(root, sketch_model, photo_model)
        root.update()
        return app

    yield make
    for root in roots:
        root.destroy()


def _xdotool(app, *actions):
    subprocess.run(["xdotool", *map(str, actions)], check=True, timeout=30)
    for _ in range(10):  # X delivers the events asynchronously; let Tk handle them
        time.sleep(0.02)
        app.root.update()


def _on_screen(widget, x, y):
    return widget.winfo_rootx() + x, widget.winfo_rooty() + y


def _drag(app, points):
    """Press, move through `points` (canvas coordinates) and release the left mouse button."""
    _xdotool(app, "mousemove", *_on_screen(app.canvas, *points[0]), "mousedown", 1)
    for point in points[1:]:
        # One move per call: Tk merges the motion events it finds queued together.
        _xdotool(app, "mousemove", *_on_screen(app.canvas, *point))
    _xdotool(app, "mouseup", 1)


def _click(app, widget, x=None, y=None):
    """Click `widget` at (x, y) in its coordinates (default: its middle)."""
    x = widget.winfo_width() // 2 if x is None else round(x)
    y = widget.winfo_height() // 2 if y is None else round(y)
    _xdotool(app, "mousemove", *_on_screen(widget, x, y), "click", 1)


def _screenshot(display, widget):
    x, y = _on_screen(widget, 0, 0)
    box = (x, y, x + widget.winfo_width(), y + widget.winfo_height())
    return np.asarray(ImageGrab.grab(bbox=box, xdisplay=display).convert("RGB")).astype(int)


@needs_x
@pytest.mark.slow
def test_drawn_strokes_convert_to_a_photo_on_screen(make_app, trained_run, display, tmp_path):
    app = make_app(trained_run("sketch_inverter"), trained_run("unet"))
    _drag(app, [(40, 40), (120, 60), (200, 200)])
    sketch = np.asarray(app.sketch)
    assert sketch[40, 40] < 64 and sketch[50, 80] < 64 and sketch[130, 160] < 64  # on the strokes
    assert sketch[200, 40] == gui.PAPER and sketch[20, 230] == gui.PAPER  # away from them

    _click(app, app.tool_buttons["eraser"])
    _drag(app, [(120, 60), (200, 200)])
    sketch = np.asarray(app.sketch)
    assert sketch[50, 80] < 64 and sketch[130, 160] == gui.PAPER

    assert app.result is None
    _click(app, app.buttons["Convert"])
    assert app.result is not None and app.result.shape == (256, 256, 3)
    assert app.result.dtype == np.uint8 and "sketch converted" in app.status.get()
    assert np.abs(_screenshot(display, app.result_view) - app.result).mean() < 2
    assert np.abs(_screenshot(display, app.canvas) - sketch[..., None]).mean() < 2

    saved = app.save(tmp_path / "photo.png")
    np.testing.assert_array_equal(read_rgb(saved), app.result)
    app.result = app.result // 2
    assert app.save(tmp_path / "photo.png") is None and "not saved" in app.status.get()
    assert not np.array_equal(read_rgb(saved), app.result)


@needs_x
@pytest.mark.slow
def test_open_image_colorizes_a_photo_at_its_own_size(make_app, trained_run, tmp_path):
    app = make_app(trained_run("sketch_inverter"), trained_run("unet"))
    Image.fromarray(skimage.data.chelsea()[:333, :417]).save(tmp_path / "cat.png")
    colorized = app.open_image(tmp_path / "cat.png")
    assert colorized.shape == (300, 417, 3) and app.result is colorized
    assert np.asarray(app.sketch).std() > 10  # the gray photo now fills the canvas
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    assert app.open_image(tmp_path / "broken.jpg") is None
    assert "broken.jpg" in app.status.get() and app.result is colorized


@needs_x
def test_a_model_that_cannot_load_is_named_in_the_status_line(make_app, tmp_path):
    app = make_app(tmp_path / "no_sketch_model", tmp_path / "no_photo_model")
    canvas_at = app.canvas.winfo_rootx()
    assert app.convert() is None
    assert "no_sketch_model" in app.status.get() and "--sketch-model" in app.status.get()
    assert app.result is None
    app.canvas.update()  # the long message wraps: the canvas stays under the pen
    assert app.canvas.winfo_rootx() == canvas_at


@needs_x
def test_a_model_for_the_other_kind_of_input_is_named_in_the_status_line(make_app):
    app = make_app("classifier", "sketch_inverter")  # swapped: a photo model to draw with
    assert app.convert() is None
    status = app.status.get()
    assert "model 'classifier' takes photos, not drawn sketches" in status and "--sketch-model" in status
    assert app.result is None


def test_no_display_gives_a_clear_error(monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    with pytest.raises(gui.NoDisplayError, match="cannot open a window"):
        gui.run("sketch_inverter", "unet")


@pytest.fixture
def cat_photo(tmp_path):
    path = tmp_path / "cat.png"
    Image.fromarray(skimage.data.chelsea()[::3, ::3]).save(path)  # 151x100
    return path


def _update_seconds(app):
    return float(re.search(r"colorized in ([\d.]+) s", app.status.get())[1])


@needs_x
def test_hints_placed_recoloured_moved_and_deleted_with_the_mouse_steer_the_result(
        make_app, weights_with_a_hint_model, monkeypatch, cat_photo, tmp_path):
    monkeypatch.setattr(shipped, "PRESETS_DIR", weights_with_a_hint_model)
    photo_model = cli.build_parser().parse_args(["gui"]).photo_model
    assert photo_model == shipped.HINT_MODEL  # shipped, it is the window's default
    app = make_app(tmp_path / "no_sketch_model", photo_model)
    unhinted = app.open_image(cat_photo)
    assert app.tool.get() == "hint" and "click it to add colour hints" in app.status.get()

    app.choose_colour((255, 0, 0))  # the colour chooser's answer, without its dialog
    _click(app, app.canvas, *app.canvas_point(40, 30))
    assert app.hints == [(40, 30, (255, 0, 0))] and app.hint_list.get(0, "end") == ("40, 30  #ff0000",)
    red = app.result
    near = change_around(unhinted, red, 40, 30)
    assert near > 1 and change_around(unhinted, red, 120, 80) < near / 4  # the hinted place changes
    assert _update_seconds(app) < 1  # the bound for the model's size on a 2-core CPU

    app.choose_colour((0, 0, 255))  # the new hint is selected: it takes the colour
    assert app.hints == [(40, 30, (0, 0, 255))] and app.hint_list.get(0) == "40, 30  #0000ff"
    blue = app.result
    assert change_around(red, blue, 40, 30) > 1

    start, end = app.canvas_point(40, 30), app.canvas_point(110, 60)
    _drag(app, [tuple(map(round, start)), tuple(map(round, end))])
    assert app.hints == [(110, 60, (0, 0, 255))] and app.hint_list.get(0, "end") == ("110, 60  #0000ff",)
    moved = app.result
    assert change_around(blue, moved, 110, 60) > 1
    assert change_around(unhinted, moved, 40, 30) < change_around(unhinted, blue, 40, 30) / 4  # the old place reverts

    _click(app, app.canvas, *app.canvas_point(20, 80))  # a second hint, in blue too
    assert len(app.hints) == 2 and app.hint_list.size() == 2 and app.selected_hint() == 1
    app.hint_list.focus_force()
    app.hint_list.event_generate("<Delete>")  # the key deletes the selected hint
    app.root.update()
    assert app.hints == [(110, 60, (0, 0, 255))] and app.hint_list.size() == 1
    np.testing.assert_array_equal(app.result, moved)

    _click(app, app.hint_list, *app.hint_list.bbox(0)[:2])  # select it in the list, then the button
    assert app.selected_hint() == 0
    _click(app, app.buttons["Delete hint"])
    assert app.hints == [] and app.hint_list.size() == 0
    assert np.abs(app.result.astype(int) - unhinted).max() <= 1  # as before the first hint
    saved = app.save(tmp_path / "hinted.png")
    np.testing.assert_array_equal(read_rgb(saved), app.result)


@needs_x
def test_hints_need_a_photo_and_a_photo_model_that_takes_them(make_app, cat_photo, tmp_path):
    app = make_app(tmp_path / "no_sketch_model", "unet")
    _click(app, app.tool_buttons["hint"])
    _click(app, app.canvas, 100, 100)
    assert "open a photo first" in app.status.get() and app.hints == []
    app.open_image(cat_photo)
    assert app.tool.get() == "hint"  # kept: the user chose it
    _click(app, app.canvas, 100, 100)
    assert app.hints == [] and app.hint_list.size() == 0
    assert f"the photo model unet takes no colour hints; start with --photo-model {shipped.HINT_MODEL}" \
        in app.status.get()
