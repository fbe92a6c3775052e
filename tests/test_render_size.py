"""The render-size knob: a fully convolutional model run at N px on the image's short side."""

import keras
import numpy as np
import pytest
import skimage.color
import skimage.data

from keras_colorize import cli, inference, models, shipped
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


def test_by_default_a_photo_keeps_its_shape_at_the_models_own_size(wide_photo):
    default = Colorizer.load("unet")
    assert default.render_size == default.input_size == 128
    assert default._model_size(150, 301) == (128, 256)  # not squeezed into 128 x 128
    square = skimage.data.astronaut()[::4, ::4]
    assert default._model_size(*square.shape[:2]) == (128, 128)

    def squeezed(photo):  # as the model ran before: the photo resized to its own square
        return inference.colorize_batch(shipped.load("unet"), photo[None], default.element_format).numpy()[0]

    assert np.abs(default.colorize(square).astype(int) - squeezed(square)).max() <= 1
    assert np.abs(default.colorize(wide_photo).astype(int) - squeezed(wide_photo)).mean() > 0.5


def test_a_model_with_global_features_runs_at_its_own_square_size():
    colorizer = Colorizer.from_model(models.build("fusion", mobilenet_weights=None))
    assert colorizer.render_size is None and colorizer._model_size(150, 301) is None
    assert colorizer.colorize(np.zeros((30, 50), np.uint8)).shape == (30, 50, 3)


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
    with pytest.raises(ModelLoadError, match="runs only at its own square size"):
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


@pytest.mark.parametrize("interpolation", ["nearest", "bilinear"])
def test_the_any_size_upsampling_equals_keras_upsampling(interpolation):
    from keras_colorize.models.layers import ResizeUpSampling2D

    images = np.random.default_rng(0).random((2, 5, 7, 3)).astype(np.float32)
    expected = keras.layers.UpSampling2D(4, interpolation=interpolation)(images)
    np.testing.assert_allclose(ResizeUpSampling2D(4, interpolation=interpolation)(images), expected, atol=1e-6)


def test_photos_of_many_shapes_in_a_row_go_through_the_default_model():
    colorizer = Colorizer.load("mobilenet_unet")  # its annealed mean is upsampled bilinearly
    for shape in [(100, 150), (120, 90), (200, 100), (64, 64)]:
        assert colorizer.colorize(np.full(shape, 120, np.uint8)).shape == (*shape, 3)
