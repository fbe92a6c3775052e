"""data_prep image transforms: sketches, face crops, side-by-side pairs, min-max scaling, samples"""

import cv2
import numpy as np
import pytest
import skimage.data
from PIL import Image

from conftest import shared_path
from data_prep.__main__ import main
from data_prep.clean import min_max_scale
from data_prep.faces import crop_faces_folder
from data_prep.pairs import split_pairs_folder
from data_prep.sketch import sketch_folder
from keras_colorize.datasets import split_pair
from keras_colorize.faces import centre_box, crop_face, face_box, face_or_centre_box, find_face
from keras_colorize.images import ImageError, read_rgb, write_image
from keras_colorize.samples import SAMPLE_NAMES, sample_photos, write_sample_folder
from keras_colorize.sketches import line_sketch, make_sketch, pencil_sketch, pencil_sketch_at


@pytest.fixture(scope="module")
def astronaut():
    return skimage.data.astronaut()


@pytest.fixture(scope="module")
def small_photo(astronaut):
    return cv2.resize(astronaut, (128, 128), interpolation=cv2.INTER_AREA)


def folder_snapshot(folder):
    return {path: path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


# --- sketches -------------------------------------------------------------------------------


@pytest.mark.parametrize("kernel_size, sigma", [(21, 0.0), (7, 3.0)])
def test_pencil_sketch_is_the_colour_dodge_of_the_blurred_negative(small_photo, kernel_size, sigma):
    gray = cv2.cvtColor(small_photo, cv2.COLOR_RGB2GRAY)
    blurred_negative = cv2.GaussianBlur(255 - gray, (kernel_size, kernel_size), sigma)
    reference = cv2.divide(gray, np.maximum(255 - blurred_negative, 1).astype(np.uint8), scale=256)

    sketch = pencil_sketch(small_photo, kernel_size, sigma)

    assert sketch.shape == (128, 128) and sketch.dtype == np.uint8
    np.testing.assert_array_equal(sketch, reference)
    # The dodge formula in floats: gray * 256 / (255 - blurred negative), saturated at white.
    dodge = gray * 256.0 / np.maximum(255.0 - blurred_negative, 1.0)
    np.testing.assert_allclose(sketch, np.clip(dodge, 0, 255), atol=1)


def test_pencil_sketch_turns_flat_areas_white_and_keeps_edges_dark(small_photo):
    assert (pencil_sketch(np.full((32, 32, 3), 90, np.uint8)) == 255).all()
    sketch = pencil_sketch(small_photo)
    assert np.median(sketch) > 220 and sketch.min() < 60
    # Gray input gives the same sketch as the colour image it came from.
    gray = cv2.cvtColor(small_photo, cv2.COLOR_RGB2GRAY)
    np.testing.assert_array_equal(pencil_sketch(gray), sketch)


def test_line_sketch_draws_dark_strokes_on_edges_only(small_photo):
    assert (line_sketch(np.full((32, 32, 3), 90, np.uint8)) == 255).all()
    sketch = line_sketch(small_photo)
    assert sketch.shape == (128, 128) and sketch.dtype == np.uint8
    strokes = sketch < 128
    assert 0.02 < strokes.mean() < 0.35  # a drawing, neither blank nor ink-filled
    edges = cv2.Canny(cv2.cvtColor(small_photo, cv2.COLOR_RGB2GRAY), 50, 150)
    near_edges = cv2.dilate(edges, np.ones((5, 5), np.uint8)) > 0
    assert near_edges[strokes].mean() > 0.8


def test_make_sketch_picks_the_style_and_rejects_unknown_ones(small_photo):
    np.testing.assert_array_equal(make_sketch(small_photo, "line"), line_sketch(small_photo))
    np.testing.assert_array_equal(
        make_sketch(small_photo, "pencil", kernel_size=5), pencil_sketch(small_photo, 5)
    )
    with pytest.raises(ValueError, match="unknown sketch style"):
        make_sketch(small_photo, "charcoal")


def test_sketch_folder_writes_same_names_and_leaves_the_source_alone(tmp_path, small_photo):
    source = tmp_path / "photos"
    write_image(source / "a.jpg", small_photo)
    write_image(source / "sub" / "b.png", small_photo[:64])
    (source / "broken.png").write_bytes(b"not an image")
    before = folder_snapshot(source)

    summary = sketch_folder(source, tmp_path / "out", "line", verbose=False)

    assert summary["kept"] == 2 and summary["skipped"] == {"not_an_image": 1}
    np.testing.assert_array_equal(
        read_rgb(tmp_path / "out" / "sub" / "b.png")[..., 0], line_sketch(small_photo[:64])
    )
    assert (tmp_path / "out" / "a.png").is_file()
    assert folder_snapshot(source) == before
    with pytest.raises(FileExistsError, match="not empty"):
        sketch_folder(source, tmp_path / "out", verbose=False)
    with pytest.raises(ValueError, match="outside the source"):
        sketch_folder(source, source / "sketches", verbose=False)


def test_inputs_sharing_a_stem_each_get_their_own_output(tmp_path, small_photo):
    source = tmp_path / "photos"
    write_image(source / "a.jpg", small_photo)
    write_image(source / "a.png", small_photo[::-1])
    write_image(source / "b.jpg", small_photo[:, ::-1])

    summary = sketch_folder(source, tmp_path / "out", "line", verbose=False)

    assert summary["kept"] == 3 and summary["skipped"] == {}
    written = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert written == ["a-2.png", "a.png", "b.png"]
    for output, original in [("a.png", "a.jpg"), ("a-2.png", "a.png"), ("b.png", "b.jpg")]:
        expected = line_sketch(read_rgb(source / original))
        np.testing.assert_array_equal(read_rgb(tmp_path / "out" / output)[..., 0], expected)


def test_outputs_of_one_input_keep_one_name_across_subfolders(tmp_path, small_photo):
    source = tmp_path / "pairs"
    pair = small_photo[:64]  # two 64x64 squares side by side
    write_image(source / "a.jpg", pair)
    write_image(source / "a.png", pair[::-1])

    summary = split_pairs_folder(source, tmp_path / "out", verbose=False)

    assert summary["kept"] == 2
    for half in ("sketches", "photos"):
        assert sorted(p.name for p in (tmp_path / "out" / half).iterdir()) == ["a-2.png", "a.png"]
    np.testing.assert_array_equal(
        read_rgb(tmp_path / "out" / "photos" / "a-2.png"), pair[::-1, 64:]
    )


def test_a_too_large_image_is_skipped_and_the_job_goes_on(tmp_path, small_photo, monkeypatch):
    source = tmp_path / "photos"
    write_image(source / "huge.png", small_photo)
    write_image(source / "small.png", small_photo[:40, :40])
    # Pillow refuses images over twice this many pixels: 128 x 128 is over, 40 x 40 is not.
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 4000)

    summary = sketch_folder(source, tmp_path / "out", verbose=False)

    assert summary["kept"] == 1 and summary["skipped"] == {"too_large": 1}
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["small.png"]


@pytest.mark.parametrize("kernel_size", ["20", "0", "-3"])
def test_a_kernel_size_that_is_not_odd_and_positive_is_refused_up_front(
    tmp_path, small_photo, capsys, kernel_size
):
    source, out = tmp_path / "photos", tmp_path / "out"
    write_image(source / "a.png", small_photo)

    with pytest.raises(SystemExit) as caught:
        main(["sketch", str(source), "--out", str(out), "--kernel-size", kernel_size])

    assert caught.value.code == 2
    error = capsys.readouterr().err
    assert "--kernel-size: must be an odd whole number" in error and "Traceback" not in error
    assert not out.exists()


def test_a_file_given_for_a_folder_is_named_as_a_file(tmp_path, small_photo, capsys):
    source, notes = tmp_path / "photos", tmp_path / "notes.txt"
    write_image(source / "a.png", small_photo)
    notes.write_text("mine")
    for argv, named in (
        (["sketch", str(source / "a.png"), "--out", str(tmp_path / "out")],
         f"{source / 'a.png'}: is a file; this step takes a folder of images"),
        (["sketch", str(source), "--out", str(notes)], f"{notes}: is a file; pass a folder"),
    ):
        with pytest.raises(SystemExit) as caught:
            main(argv)
        assert caught.value.code == 2
        assert capsys.readouterr().err == f"data_prep sketch: error: {named}\n"
    assert notes.read_text() == "mine" and not (tmp_path / "out").exists()


def test_pencil_sketch_and_sketch_folder_refuse_an_even_kernel_size(tmp_path, small_photo):
    source, out = tmp_path / "photos", tmp_path / "out"
    write_image(source / "a.png", small_photo)
    with pytest.raises(ValueError, match="odd whole number >= 1, not 20"):
        pencil_sketch(small_photo, kernel_size=20)
    with pytest.raises(ValueError, match="odd whole number"):
        sketch_folder(source, out, kernel_size=20, verbose=False)
    assert not out.exists()


# --- face and centre crops ------------------------------------------------------------------


def test_haar_cascade_finds_the_astronauts_face(astronaut):
    x, y, side = face_box(astronaut)
    # The face (hair to chin) spans about x 140-320, y 30-230 of the 512 x 512 image.
    overlap_width = min(x + side, 320) - max(x, 140)
    overlap_height = min(y + side, 230) - max(y, 30)
    assert overlap_width > 0.8 * side and overlap_height > 0.8 * side
    crop = crop_face(astronaut, size=100)
    assert crop.shape == (100, 100, 3) and crop.dtype == np.uint8


def test_face_box_widens_the_cascade_box_by_the_margin_on_each_side(astronaut):
    # The cascade's box runs from the eyebrows to the mouth; the crop adds `margin` x the
    # face size above, below, left and right, centred on the face.
    x, y, width, height = find_face(astronaut)
    face = max(width, height)
    for margin in (0.0, 0.25, 0.5):
        box_x, box_y, side = face_box(astronaut, margin)
        assert abs(side - face * (1 + 2 * margin)) <= 1, margin
        assert abs(box_x + side / 2 - (x + width / 2)) <= 1, margin
        assert abs(box_y + side / 2 - (y + height / 2)) <= 1, margin


def test_images_without_a_face_are_skipped_or_centre_cropped(tmp_path, astronaut):
    coffee = skimage.data.coffee()
    assert face_box(coffee) is None and crop_face(coffee) is None
    source = tmp_path / "photos"
    write_image(source / "astronaut.png", astronaut)
    write_image(source / "coffee.png", coffee)

    skipping = crop_faces_folder(source, tmp_path / "faces", size=64, verbose=False)
    keeping = crop_faces_folder(
        source, tmp_path / "all", size=64, keep_faceless=True, verbose=False
    )

    assert skipping["kept"] == 1 and skipping["skipped"] == {"no_face": 1}
    assert sorted(p.name for p in (tmp_path / "faces").iterdir()) == ["astronaut.png"]
    assert keeping["kept"] == 2 and keeping["kept_without_face"] == 1
    x, y, side = centre_box(coffee.shape)
    square = coffee[y : y + side, x : x + side]
    expected = cv2.resize(square, (64, 64), interpolation=cv2.INTER_AREA)
    np.testing.assert_array_equal(read_rgb(tmp_path / "all" / "coffee.png"), expected)


def test_face_or_centre_box_falls_back_to_the_centre_only_when_asked(astronaut):
    coffee = skimage.data.coffee()
    assert face_or_centre_box(astronaut, "astronaut.png") == (face_box(astronaut), True)
    with pytest.raises(ImageError, match="coffee.png: no_face"):
        face_or_centre_box(coffee, "coffee.png")
    fallback = face_or_centre_box(coffee, "coffee.png", keep_faceless=True, centre_fraction=0.5)
    assert fallback == (centre_box(coffee.shape, 0.5), False)


def test_centre_box_is_the_centred_square_of_the_shorter_side():
    assert centre_box((250, 200, 3)) == (0, 25, 200)  # CUFS portrait: height 250, width 200
    assert centre_box((250, 250, 3), 0.64) == (45, 45, 160)
    assert centre_box((100, 300)) == (100, 0, 100)


def test_pencil_sketch_at_a_size_keeps_strokes_that_a_large_photos_sketch_loses(small_photo):
    """A photo four times larger, sketched as it is, comes out nearly white once shrunk: the
    21 px blur is small beside its features. Drawn at the small size, it is that size's sketch."""
    big = cv2.resize(small_photo, (512, 512), interpolation=cv2.INTER_CUBIC)
    sketch = pencil_sketch(small_photo)

    def shrunk(image):
        return cv2.resize(image, (128, 128), interpolation=cv2.INTER_AREA).astype(float)

    drawn_at_size, drawn_big = pencil_sketch_at(big, 128), pencil_sketch(big)
    assert drawn_at_size.shape == (512, 512)
    # Enlarging and shrinking again softens the strokes a little (a mean 6 levels here).
    assert np.abs(shrunk(drawn_at_size) - sketch).mean() < 8
    assert abs(shrunk(drawn_at_size).mean() - sketch.mean()) < 3
    assert np.abs(shrunk(drawn_big) - sketch).mean() > 15 and shrunk(drawn_big).mean() > sketch.mean() + 12
    np.testing.assert_array_equal(pencil_sketch_at(small_photo, 128), sketch)
    np.testing.assert_array_equal(pencil_sketch_at(big, None), pencil_sketch(big))


# --- side-by-side pairs ---------------------------------------------------------------------


def test_split_pair_takes_the_sketch_from_the_given_side():
    pair = np.concatenate([np.full((6, 6, 3), 1, np.uint8), np.full((6, 6, 3), 2, np.uint8)], 1)
    sketch, photo = split_pair(pair, "left")
    assert sketch.shape == photo.shape == (6, 6, 3)
    assert (sketch == 1).all() and (photo == 2).all()
    sketch, photo = split_pair(pair, "right")
    assert (sketch == 2).all() and (photo == 1).all()
    for not_a_pair in (pair[:, :11], pair[:, :10], pair[:4]):  # odd, even, and a 3:1 strip
        height, width = not_a_pair.shape[:2]
        with pytest.raises(ImageError, match=f"not_side_by_side \\({width}x{height}: not two squares"):
            split_pair(not_a_pair, "left")
    with pytest.raises(ValueError, match="sketch_side"):
        split_pair(pair, "top")


def test_split_pairs_folder_on_edges2shoes(tmp_path):
    source = tmp_path / "pairs"
    source.mkdir()
    originals = sorted(shared_path("edges2shoes").glob("*.jpg"))[:3]
    for original in originals:
        (source / original.name).symlink_to(original)

    summary = split_pairs_folder(source, tmp_path / "out", "left", verbose=False)

    assert summary["kept"] == 3
    for original in originals:
        pair = read_rgb(original)
        name = original.with_suffix(".png").name
        photo = read_rgb(tmp_path / "out" / "photos" / name)
        sketch = np.asarray(read_rgb(tmp_path / "out" / "sketches" / name))[..., 0]
        np.testing.assert_array_equal(photo, pair[:, 256:])
        np.testing.assert_array_equal(sketch, cv2.cvtColor(pair[:, :256], cv2.COLOR_RGB2GRAY))
        # edges2shoes: a white page with thin lines on the left, the photo on the right.
        assert np.median(sketch) > 240 and (sketch < 128).mean() < 0.2


# --- min-max scaling ------------------------------------------------------------------------


def test_min_max_scale_stretches_each_image_to_the_unit_range():
    image = np.random.default_rng(0).integers(40, 200, (16, 16, 3)).astype(np.uint8)
    scaled = min_max_scale(image)
    assert scaled.dtype == np.float32
    assert scaled.min() == 0.0 and scaled.max() == 1.0
    low, high = image.min(), image.max()
    np.testing.assert_allclose(scaled, (image - float(low)) / (high - low), rtol=1e-6)
    np.testing.assert_array_equal(min_max_scale(np.full((4, 4), 7)), np.zeros((4, 4)))


# --- built-in samples -----------------------------------------------------------------------


def test_sample_photos_are_real_colour_images_that_write_and_read_back(tmp_path):
    photos = sample_photos()
    assert tuple(photos) == SAMPLE_NAMES
    for photo in photos.values():
        assert photo.dtype == np.uint8 and photo.ndim == 3 and photo.shape[2] == 3
        assert min(photo.shape[:2]) >= 300
    paths = write_sample_folder(tmp_path)
    assert [p.name for p in paths] == [f"{name}.png" for name in SAMPLE_NAMES]
    np.testing.assert_array_equal(read_rgb(paths[0]), photos[SAMPLE_NAMES[0]])
    with pytest.raises(FileExistsError):
        write_sample_folder(tmp_path)
