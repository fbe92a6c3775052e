"""keras_colorize.images: every image file reads as uint8 RGB or fails with a clear ImageError."""

import builtins
import os

import numpy as np
import pytest
from PIL import Image

from keras_colorize.images import (
    SIXTEEN_BIT_MODES,
    ImageError,
    find_images,
    free_output_name,
    read_rgb,
    to_rgb_array,
)

# Pillow's raw byte orders for the 16-bit gray modes that `frombytes` takes.
BYTE_ORDERS = {"I;16": "<u2", "I;16L": "<u2", "I;16B": ">u2", "I;16N": "=u2"}


def dark_ramp():
    """A 16-bit gray ramp that never exceeds 255: a very dark 16-bit image."""
    return np.arange(256, dtype=np.uint16).reshape(16, 16)


@pytest.mark.parametrize("suffix", [".png", ".tif", ".pgm"])
def test_a_dark_16_bit_file_stays_dark(tmp_path, suffix):
    path = tmp_path / f"dark{suffix}"
    Image.fromarray(dark_ramp()).save(path)
    assert Image.open(path).mode in SIXTEEN_BIT_MODES  # ".pgm" opens as "I"

    rgb = read_rgb(path)

    assert rgb.dtype == np.uint8 and rgb.shape == (16, 16, 3)
    expected = np.round(dark_ramp() / 65535 * 255).astype(np.uint8)
    np.testing.assert_array_equal(rgb[..., 0], expected)
    assert rgb.max() == 1  # 255 of 65535 is one level of 255, not white


@pytest.mark.parametrize("mode", sorted(BYTE_ORDERS))
def test_every_16_bit_mode_is_scaled_from_the_full_range(mode):
    wide = np.array([[0, 257, 32896, 65535]], dtype=np.uint16)
    image = Image.frombytes(mode, (4, 1), wide.astype(BYTE_ORDERS[mode]).tobytes())

    rgb = to_rgb_array(image)

    np.testing.assert_array_equal(rgb[0, :, 0], [0, 1, 128, 255])
    np.testing.assert_array_equal(rgb[..., 0], rgb[..., 2])


def test_a_float_tiff_is_an_image_error_not_a_black_image(tmp_path):
    path = tmp_path / "float.tif"
    Image.fromarray(np.random.default_rng(0).random((8, 8), dtype=np.float32)).save(path)

    with pytest.raises(ImageError, match="float") as caught:
        read_rgb(path)

    assert caught.value.reason == "unsupported_mode" and caught.value.path == str(path)


def test_a_decompression_bomb_is_an_image_error_naming_the_file(tmp_path, monkeypatch):
    path = tmp_path / "huge.png"
    Image.fromarray(np.zeros((64, 64, 3), np.uint8)).save(path)
    # Pillow refuses images over twice this many pixels: 4096 > 2 x 1000.
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)

    with pytest.raises(ImageError, match="huge.png") as caught:
        read_rgb(path)

    assert caught.value.reason == "too_large"


def test_free_output_name_skips_names_taken_in_any_of_the_folders(tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    assert free_output_name([first, second], "a", ".png") == "a.png"  # folders need not exist
    first.mkdir()
    second.mkdir()
    (first / "a.png").write_bytes(b"")
    (second / "a-2.png").write_bytes(b"")

    assert free_output_name([first], "a", ".png") == "a-2.png"
    assert free_output_name([first, second], "a", ".png") == "a-3.png"
    assert free_output_name([first, second], "b", ".png") == "b.png"


def test_a_phone_photo_is_turned_upright_by_its_exif_orientation(tmp_path):
    stored = np.zeros((20, 40, 3), np.uint8)
    stored[:, :20] = 255  # the left half white, as the sensor saw it
    image = Image.fromarray(stored)
    exif = image.getexif()
    exif[0x0112] = 6  # Orientation: turn 90 degrees clockwise to show
    image.save(tmp_path / "phone.jpg", exif=exif)

    rgb = read_rgb(tmp_path / "phone.jpg")

    assert rgb.shape == (40, 20, 3)
    assert rgb[:18].mean() > 240 and rgb[22:].mean() < 15  # the white half is now on top


def test_a_folder_or_an_unreadable_file_gets_its_own_reason(tmp_path, monkeypatch):
    with pytest.raises(ImageError, match="not_a_file") as caught:
        read_rgb(tmp_path)
    assert caught.value.path == str(tmp_path)

    path = tmp_path / "locked.png"
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(path)
    path.chmod(0)
    real_open = builtins.open

    def open_as_the_kernel_does_for_others(file, *args, **kwargs):
        # Root reads any file whatever its mode; everyone else gets this.
        if str(file) == str(path):
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", open_as_the_kernel_does_for_others)
    with pytest.raises(ImageError, match="locked.png: unreadable") as caught:
        read_rgb(path)
    assert caught.value.detail == "Permission denied"


def _reasons(problems):
    return {os.path.basename(error.path): error.reason for error in problems}


def test_inputs_that_name_nothing_are_reported_missing(tmp_path):
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp_path / "a.png")

    paths, problems = find_images(tmp_path / "a.png", tmp_path / "typo.png", tmp_path / "*.gif",
                                  tmp_path / "*.png")

    assert paths == [tmp_path / "a.png"]
    assert _reasons(problems) == {"typo.png": "missing", "*.gif": "missing"}
    assert "no such file" in problems[0].detail and "pattern" in problems[1].detail


def test_a_recursive_pattern_does_not_follow_links_round_a_loop(tmp_path):
    (tmp_path / "photos" / "sub").mkdir(parents=True)
    for name in ("photos/a.png", "photos/sub/b.png", "photos/.hidden.png"):
        Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp_path / name)
    # Two links up: glob.glob would walk photos/sub/up/sub/up2/... for ever (or until ELOOP).
    (tmp_path / "photos" / "sub" / "up").symlink_to("..")
    (tmp_path / "photos" / "sub" / "up2").symlink_to("../..")

    paths, problems = find_images(str(tmp_path / "photos" / "**" / "*.png"))

    assert paths == [tmp_path / "photos" / "a.png", tmp_path / "photos" / "sub" / "b.png"]
    assert problems == []
    assert find_images(str(tmp_path / "*" / "sub" / "*.png"))[0] == [tmp_path / "photos" / "sub" / "b.png"]


def test_broken_links_and_unreadable_folders_are_reported(tmp_path, monkeypatch):
    (tmp_path / "sub" / "locked").mkdir(parents=True)
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp_path / "sub" / "a.png")
    (tmp_path / "sub" / "gone.jpg").symlink_to(tmp_path / "deleted.jpg")
    (tmp_path / "notes.txt").symlink_to(tmp_path / "deleted.txt")  # not an image name: ignored
    locked = tmp_path / "sub" / "locked"
    real_scandir = os.scandir

    def scandir_as_the_kernel_does_for_others(path="."):
        # Root lists any folder whatever its mode; everyone else gets this.
        if str(path) == str(locked):
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir_as_the_kernel_does_for_others)
    paths, problems = find_images(tmp_path)

    assert paths == [tmp_path / "sub" / "a.png"]
    assert _reasons(problems) == {"gone.jpg": "broken_link", "locked": "unreadable"}
    broken = next(error for error in problems if error.reason == "broken_link")
    assert "deleted.jpg" in broken.detail
    twice = find_images(tmp_path / "sub", tmp_path / "sub" / "gone.jpg")[1]
    assert [error.reason for error in twice].count("broken_link") == 1


def test_a_loop_of_links_is_named_as_a_loop_not_a_broken_link(tmp_path):
    (tmp_path / "a.png").symlink_to("b.png")
    (tmp_path / "b.png").symlink_to("a.png")

    paths, problems = find_images(tmp_path, tmp_path / "a.png")

    assert paths == []
    assert _reasons(problems) == {"a.png": "link_loop", "b.png": "link_loop"}
    with pytest.raises(ImageError, match="a.png: link_loop \\(its links lead round in a loop\\)"):
        read_rgb(tmp_path / "a.png")


def _transparency_files(folder):
    """Three pixels in each alpha-capable mode: (opaque, transparent, half-transparent)."""
    rgba = np.array([[[10, 200, 30, 255], [10, 200, 30, 0], [10, 200, 30, 128]]], np.uint8)
    Image.fromarray(rgba, "RGBA").save(folder / "rgba.png")
    la = np.array([[[40, 255], [40, 0], [40, 128]]], np.uint8)
    Image.fromarray(la, "LA").save(folder / "la.png")
    # A palette image whose entry 1 is transparent (PNG tRNS), the GIF way of transparency.
    palette = Image.fromarray(np.array([[0, 1, 2]], np.uint8), "P")
    palette.putpalette([10, 200, 30, 10, 200, 30, 90, 90, 90])
    palette.save(folder / "palette.png", transparency=1)
    palette.save(folder / "palette.gif", transparency=1)
    return {  # name: (the mode it opens in, its opaque colour)
        "rgba.png": ("RGBA", (10, 200, 30)),
        "la.png": ("LA", (40, 40, 40)),
        "palette.png": ("P", (10, 200, 30)),
        "palette.gif": ("P", (10, 200, 30)),
    }


def test_transparent_pixels_read_as_white_and_opaque_ones_keep_their_colour(tmp_path):
    for name, (mode, colour) in _transparency_files(tmp_path).items():
        assert Image.open(tmp_path / name).mode == mode, name  # the premise: alpha survives saving
        rgb = read_rgb(tmp_path / name)
        assert rgb.shape == (1, 3, 3) and rgb.dtype == np.uint8, name
        np.testing.assert_array_equal(rgb[0, 0], colour, err_msg=name)  # opaque
        np.testing.assert_array_equal(rgb[0, 1], 255, err_msg=name)  # transparent: paper white
    # Half transparent: halfway to white, alpha / 255 of the colour (Porter-Duff "over").
    for name, colour in [("rgba.png", (10, 200, 30)), ("la.png", (40, 40, 40))]:
        alpha = 128 / 255
        expected = alpha * np.array(colour) + (1 - alpha) * 255
        np.testing.assert_allclose(read_rgb(tmp_path / name)[0, 2], expected, atol=1, err_msg=name)


def test_a_palette_image_with_alpha_is_composited_on_white():
    """Mode PA (palette plus alpha) is only made in memory; `to_rgb_array` handles it too."""
    palette = Image.fromarray(np.array([[0, 0]], np.uint8), "P")
    palette.putpalette([10, 200, 30])
    image = palette.convert("PA")
    image.putalpha(Image.fromarray(np.array([[255, 0]], np.uint8), "L"))
    assert image.mode == "PA"
    np.testing.assert_array_equal(to_rgb_array(image)[0], [[10, 200, 30], [255, 255, 255]])
