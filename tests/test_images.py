"""keras_colorize.images: every image file reads as uint8 RGB or fails with a clear ImageError."""

import numpy as np
import pytest
from PIL import Image

from keras_colorize.images import (
    SIXTEEN_BIT_MODES,
    ImageError,
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
