"""Memory bombs: declared sizes above --max-pixels are refused before decoding, HDF5 headers
that declare more than the file stores are refused before reading, and large images are
colorized in strips, as the whole-image graph would colorize them."""

import struct
import zlib

import h5py
import numpy as np
import pytest
import skimage.data
from PIL import Image

from keras_colorize import Colorizer, cli, data, hdf5, images, models, striped
from keras_colorize.errors import DataSourceError
from keras_colorize.images import ImageError


def _png_header_only(path, width, height):
    """A few dozen bytes that declare a width x height gray PNG (its pixels never come)."""
    def chunk(kind, payload):
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
                     + chunk(b"IEND", b""))
    return path


@pytest.fixture
def max_pixels():
    """Restores the limit a test sets."""
    yield images.set_max_pixels
    images.set_max_pixels(images.DEFAULT_MAX_PIXELS)


def test_a_png_declaring_13000_squared_pixels_is_refused_before_decoding(tmp_path):
    bomb = _png_header_only(tmp_path / "bomb.png", 13000, 13000)
    with pytest.raises(ImageError) as refused:
        images.read_rgb(bomb)
    assert str(refused.value) == f"{bomb}: too_large (13000 x 13000 = 169 megapixels, above the limit of 150 (--max-pixels))"


def test_max_pixels_sets_the_limit_for_the_cli(tmp_path, capsys, max_pixels):
    photo = tmp_path / "photo.png"
    Image.new("L", (40, 30), 128).save(photo)
    out = tmp_path / "out"
    assert cli.main(["colorize", str(photo), "-o", str(out), "--model", "unet", "--max-pixels", "1000"]) == 2
    assert f"skipped {photo}: too_large (40 x 30 = 0.0012 megapixels, above the limit of 0.001" in capsys.readouterr().err
    assert not out.exists()
    assert cli.main(["colorize", str(photo), "-o", str(out), "--model", "unet", "--max-pixels", "1200"]) == 0


def test_an_animated_gif_says_it_uses_its_first_frame(tmp_path, capsys):
    frames = [Image.new("RGB", (8, 8), colour) for colour in ("red", "blue")]
    frames[0].save(tmp_path / "moving.gif", save_all=True, append_images=frames[1:])
    assert tuple(images.read_rgb(tmp_path / "moving.gif")[0, 0]) == (255, 0, 0)
    assert "moving.gif: animated or multi-page; using its first frame" in capsys.readouterr().err


def _keras_colorize_h5(path, rows, image_size, store_rows=True):
    with h5py.File(path, "w") as file:
        file.attrs.update(format=hdf5.FORMAT, version=1, image_size=image_size)
        group = file.create_group("train")
        dataset = group.create_dataset("rgb", (rows, image_size, image_size, 3), np.uint8,
                                       chunks=(1, image_size, image_size, 3))
        if store_rows:
            dataset[0] = 1
    return path


def test_an_hdf5_header_declaring_huge_images_is_refused_before_reading(tmp_path, max_pixels):
    path = _keras_colorize_h5(tmp_path / "wide.h5", 1, 64)
    max_pixels(1000)
    with pytest.raises(DataSourceError, match=r"wide.h5: too_large \(image_size: 64 x 64 = 0.0041 megapixels"):
        data.from_hdf5(path, "train")


def test_an_hdf5_header_declaring_a_billion_rows_is_refused_before_reading(tmp_path):
    path = _keras_colorize_h5(tmp_path / "rows.h5", 10**9, 64, store_rows=False)
    with pytest.raises(DataSourceError, match=r"rows.h5: declared_beyond_stored \(train/rgb declares "
                                                   r"1,000,000,000 rows \(12288.0 GB\) but the file stores 0 bytes"):
        data.from_hdf5(path, "train")


@pytest.fixture(scope="module", params=["unet", "sketch_inverter"])
def small_colorizer(request):
    name = request.param
    model = models.build(name, "small", **({"base_filters": 8} if name == "unet" else {}))
    return Colorizer.from_model(model)


@pytest.fixture(scope="module")
def photo():
    return skimage.data.coffee()[:397, :533]  # odd sizes: strips of unequal rows


def test_strips_colorize_as_the_whole_image_graph_does(small_colorizer, photo):
    whole = small_colorizer.colorize(photo)
    asked = []

    def read(top, bottom):
        asked.append(bottom - top)
        return photo[top:bottom]

    strips = dict(striped.colorized_strips(small_colorizer._predictor, small_colorizer.element_format,
                                           *photo.shape[:2], read, strip_pixels=533 * 50,
                                           model_size=small_colorizer._model_size(*photo.shape[:2])))
    joined = np.concatenate([strips[top] for top in sorted(strips)])
    assert max(asked) == 50 and sum(asked) == 2 * 397  # read twice, never more than a strip
    assert np.abs(joined.astype(int) - whole).max() <= 1


def test_a_large_image_is_colorized_in_strips_and_straight_into_its_png(
    small_colorizer, photo, tmp_path, monkeypatch
):
    whole = small_colorizer.colorize(photo)
    monkeypatch.setattr(striped, "STRIPED_ABOVE_PIXELS", 100_000)
    monkeypatch.setattr(striped, "STRIP_PIXELS", 533 * 64)
    assert small_colorizer.colorizes_in_strips(533, 397)
    assert np.abs(small_colorizer.colorize(photo).astype(int) - whole).max() <= 1

    Image.fromarray(photo).save(tmp_path / "photo.png")
    written = small_colorizer.colorize_to_png(images.open_image(tmp_path / "photo.png"), tmp_path / "photo.png",
                                              tmp_path / "colorized.png")
    assert np.abs(images.read_rgb(written).astype(int) - whole).max() <= 1
    assert sorted(path.name for path in tmp_path.iterdir()) == ["colorized.png", "photo.png"]  # no temporary left


def test_the_streamed_png_is_the_image_pillow_reads_back(tmp_path):
    rgb = np.random.default_rng(0).integers(0, 256, (37, 23, 3), dtype=np.uint8)
    striped.write_png(tmp_path / "out.png", 37, 23, (rgb[top:top + 5] for top in range(0, 37, 5)))
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "out.png")), rgb)


def test_train_takes_max_pixels_for_a_folder_of_images(tmp_path, capsys, caplog, max_pixels):
    import train

    photos = tmp_path / "photos"
    photos.mkdir()
    for index in range(3):
        Image.new("RGB", (40, 30), (index * 80, 0, 0)).save(photos / f"{index}.png")
    out = tmp_path / "run"
    assert train.main(["--model", "unet", "--data", str(photos), "--max-pixels", "1000", "--out", str(out)]) == 2
    assert "photos: no_images (none of its 3 image files can be read)" in capsys.readouterr().err
    assert "0.png: too_large (40 x 30 = 0.0012 megapixels" in caplog.text  # each skip is logged
