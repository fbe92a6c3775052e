"""The render-size knob: a fully convolutional model run at N px on the image's short side."""

import numpy as np
import pytest
import skimage.color
import skimage.data

from keras_colorize import cli, models
from keras_colorize.colorizer import Colorizer
from keras_colorize.errors import ModelLoadError


@pytest.fixture(scope="module")
def wide_photo():
    """A real photo, wider than tall and of no stride's multiple: uint8 RGB (150, 301, 3)."""
    return skimage.data.coffee()[100:250, 150:451]


@pytest.fixture(scope="module")
def unet_at_128():
    return Colorizer.load("unet", size=128)  # the shipped unet at 128 px on the short side


def test_the_model_runs_at_the_size_on_the_short_side_and_the_output_keeps_the_photos_l(wide_photo, unet_at_128):
    colorizer = unet_at_128
    assert colorizer.render_size == 128 and colorizer._model_size(150, 301) == (128, 256)
    assert colorizer._model_size(301, 150) == (256, 128)
    output = colorizer.colorize(wide_photo)
    assert output.shape == wide_photo.shape and output.dtype == np.uint8
    lightness = skimage.color.rgb2lab(wide_photo)[..., 0]
    in_gamut = ((output > 0) & (output < 255)).all(axis=-1)
    assert np.abs(skimage.color.rgb2lab(output)[..., 0] - lightness)[in_gamut].mean() < 0.3
    # Another size is another rendering of the same photo: close, not the same.
    at_64 = Colorizer.load("unet", size=64).colorize(wide_photo)
    difference = np.abs(output.astype(int) - at_64).mean()
    assert 0.05 < difference < 20


def test_the_own_size_on_a_square_photo_is_what_the_default_gives():
    square = skimage.data.astronaut()[::4, ::4]
    default = Colorizer.load("unet")
    sized = Colorizer.load("unet", size=default.input_size)
    assert default.render_size is None
    assert np.abs(default.colorize(square).astype(int) - sized.colorize(square)).max() <= 1


def test_strided_large_images_render_at_the_size_too(wide_photo, unet_at_128, monkeypatch):
    colorizer = unet_at_128
    whole = colorizer.colorize(wide_photo)
    monkeypatch.setattr("keras_colorize.striped.STRIPED_ABOVE_PIXELS", 10_000)
    monkeypatch.setattr("keras_colorize.striped.STRIP_PIXELS", 9_000)
    assert colorizer.colorizes_in_strips(301, 150)
    assert np.abs(colorizer.colorize(wide_photo).astype(int) - whole).max() <= 1


def test_stride_is_that_of_the_coarsest_features():
    assert models.stride(models.build("unet", image_size=64)) == 16
    assert models.stride(models.build("mobilenet_unet", backbone_weights=None)) == 32


@pytest.mark.parametrize("size, hint", [(100, "take 96 or 112"), (8, "take 16")])
def test_a_size_off_the_stride_names_the_sizes_to_take(size, hint):
    expected = f"render size {size} is not a multiple of the model's stride 16 \\({hint}\\)"
    with pytest.raises(ModelLoadError, match=expected):
        Colorizer.load("unet", size=size)


def test_a_model_that_runs_only_at_its_own_size_says_so():
    fusion = models.build("fusion", mobilenet_weights=None)  # its global features need its size
    with pytest.raises(ModelLoadError, match="not fully convolutional"):
        Colorizer.from_model(fusion, size=2 * fusion.input_shape[1])


def test_an_exported_model_takes_no_render_size(trained_run):
    with pytest.raises(ModelLoadError, match="runs at its own size; a render size needs the Keras model"):
        Colorizer.load(trained_run("unet") / "export", size=64)


def test_the_command_line_takes_render_size(tmp_path, wide_photo, capsys):
    from keras_colorize import images

    images.write_image(tmp_path / "wide.png", wide_photo)
    assert cli.main(["colorize", str(tmp_path / "wide.png"), "-o", str(tmp_path / "out"),
                     "--model", "unet", "--render-size", "128"]) == cli.EXIT_OK
    assert images.read_rgb(tmp_path / "out" / "wide.png").shape == wide_photo.shape
    assert cli.main(["colorize", str(tmp_path / "wide.png"), "-o", str(tmp_path / "out"),
                     "--model", "unet", "--render-size", "100"]) == cli.EXIT_ERROR
    assert "render size 100 is not a multiple of the model's stride 16 (take 96 or 112)" in capsys.readouterr().err
