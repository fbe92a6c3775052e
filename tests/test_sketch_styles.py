"""Sketch styles of many artists (keras_colorize.sketches) and the training pipeline that draws
a fresh random-style sketch of every photo (augment "sketch_styles", "sketch_styles_paper",
"paper_background")."""

import numpy as np
import pytest
import tensorflow as tf

from data_prep import __main__ as data_prep_main
from keras_colorize import augment, data, samples, sketches
from keras_colorize.images import read_rgb


@pytest.fixture(scope="module")
def face():
    """A real photo, 64x64 uint8 RGB."""
    import cv2

    return cv2.resize(samples.sample_photos()["astronaut"], (64, 64), interpolation=cv2.INTER_AREA)


def _darkness(sketch):
    return 255.0 - sketch.astype(np.float64).mean()


@pytest.mark.parametrize("style", sorted(sketches.SKETCH_STYLES))
def test_every_style_is_a_gray_uint8_sketch_whose_strokes_follow_the_photo(face, style):
    sketch = sketches.make_sketch(face, style)
    assert sketch.dtype == np.uint8 and sketch.shape == face.shape[:2]
    # Strokes where the photo has edges: the sketch of a shifted photo is a different sketch.
    assert _darkness(sketch) > 5
    assert not np.array_equal(sketches.make_sketch(np.roll(face, 8, axis=1), style), sketch)


def test_contour_shading_darkens_dark_regions_and_hatching_breaks_it_into_strokes():
    light, dark = np.full((32, 32), 220, np.uint8), np.full((32, 32), 40, np.uint8)
    assert _darkness(sketches.contour_sketch(dark)) > _darkness(sketches.contour_sketch(light)) + 30
    assert (sketches.contour_sketch(dark, shading=0.0) == 255).all()  # no edges, no shading: paper
    smooth, hatched = sketches.contour_sketch(dark), sketches.contour_sketch(dark, hatching=0.7)
    assert hatched.std() > smooth.std() + 5


def test_tone_and_paper_keep_white_paper_near_white_and_move_the_strokes():
    sketch = np.tile(np.linspace(0, 255, 64).astype(np.uint8), (8, 1))
    darker = sketches.adjust_tone(sketch, contrast=1.2, gamma=1.5)
    assert darker[0, -1] == 255 and darker[0, 0] == 0
    assert (darker[:, 1:-1] <= sketch[:, 1:-1]).all() and _darkness(darker) > _darkness(sketch) + 10
    paper = sketches.on_paper(np.full((32, 32), 255, np.uint8), np.random.default_rng(0), tone=0.9, grain=0.02)
    assert 215 < paper.mean() < 245 and paper.std() > 0.5


def test_random_sketches_are_seeded_and_cover_several_styles(face):
    first = sketches.random_sketch(face, seed=3)
    np.testing.assert_array_equal(sketches.make_sketch(face, "random", seed=3), first)
    drawn = [sketches.random_sketch(face, seed=seed) for seed in range(24)]
    assert all(sketch.dtype == np.uint8 and sketch.shape == face.shape[:2] for sketch in drawn)
    assert len({sketch.tobytes() for sketch in drawn}) == len(drawn)
    # Light line drawings and heavily shaded sketches alike; some on toned paper, some on white.
    darkness = [_darkness(sketch) for sketch in drawn]
    assert max(darkness) > 2 * min(darkness)
    assert any((sketch == 255).mean() > 0.3 for sketch in drawn)
    assert any(sketch.max() < 250 for sketch in drawn)


def test_data_prep_sketch_random_gives_each_file_its_own_reproducible_sketch(tmp_path, face):
    from PIL import Image

    source = tmp_path / "photos"
    source.mkdir()
    for name in ("a", "b"):
        Image.fromarray(face).save(source / f"{name}.png")
    for out in ("one", "two"):
        data_prep_main.main(["sketch", str(source), "--out", str(tmp_path / out), "--style", "random", "--seed", "5"])
    one = {name: read_rgb(tmp_path / "one" / f"{name}.png")[..., 0] for name in ("a", "b")}
    np.testing.assert_array_equal(read_rgb(tmp_path / "two" / "a.png")[..., 0], one["a"])
    assert not np.array_equal(one["a"], one["b"])  # same photo, different files: different draws


def test_data_prep_sketch_random_refuses_parameters_it_draws_itself(tmp_path, capsys):
    with pytest.raises(SystemExit):
        data_prep_main.main(["sketch", str(tmp_path), "--out", str(tmp_path / "o"), "--style", "random", "--sigma", "1"])
    assert "--sigma does not apply" in capsys.readouterr().err


def _photos(count=4, size=32):
    photos = [np.asarray(photo) for photo in samples.sample_photos().values()][:count]
    import cv2

    return np.stack([cv2.resize(photo, (size, size), interpolation=cv2.INTER_AREA) for photo in photos])


def _first_epochs(augmentation, seed, epochs=2, photos=None, sketch=None):
    photos = _photos() if photos is None else photos
    sketch = np.zeros(photos.shape[:3], np.uint8) if sketch is None else sketch
    dataset = data.make_dataset(
        data.from_arrays(photos, sketch), "sketch_rgb", len(photos), augment=augmentation, shuffle=False, seed=seed
    )
    iterator = iter(dataset.repeat())
    return [tuple(tensor.numpy() for tensor in next(iterator)) for _ in range(epochs)]


def test_sketch_styles_redraws_every_sketch_each_epoch_the_same_way_for_a_seed():
    (first_inputs, _), (second_inputs, _) = _first_epochs("sketch_styles", seed=1)
    # The stored sketches were black: every input was drawn anew from its photo.
    assert (first_inputs.mean(axis=(1, 2, 3)) > 0.5).all()
    assert not np.allclose(first_inputs, second_inputs)  # a fresh sketch every epoch
    (again, _), _ = _first_epochs("sketch_styles", seed=1)
    np.testing.assert_array_equal(again, first_inputs)


def test_paper_background_puts_sketch_and_photo_on_the_sketchs_own_paper():
    rgb = np.zeros((32, 32, 3), np.float32)
    rgb[..., 2] = 1.0  # a blue backdrop, as CUFS's
    sketch = np.full((32, 32, 1), 0.8, np.float32)
    sketch[12:20, 12:20] = 0.0  # strokes in the middle
    new_rgb, new_sketch = augment.paper_background(tf.constant(rgb), tf.constant(sketch), tf.constant([1, 2]))
    new_rgb, new_sketch = new_rgb.numpy(), new_sketch.numpy()
    np.testing.assert_allclose(new_rgb[0, 0], [0.8, 0.8, 0.8], atol=1e-6)  # corner: neutral paper tone
    np.testing.assert_allclose(new_sketch[0, 0], [0.8], atol=1e-6)
    np.testing.assert_allclose(new_rgb[16, 16], [0.0, 0.0, 1.0])  # the face is kept
    np.testing.assert_allclose(new_sketch[16, 16], [0.0])
    kept_rgb, _ = augment.paper_background(tf.constant(rgb), tf.constant(sketch), tf.constant([1, 2]), probability=0.0)
    np.testing.assert_array_equal(kept_rgb.numpy(), rgb)


def test_drawn_pairs_lose_their_backdrop_colour_wherever_it_is():
    rgb = np.zeros((32, 32, 3), np.float32)
    rgb[..., 2] = 1.0  # CUFS's blue backdrop
    rgb[10:22, 12:20] = [0.9, 0.7, 0.6]  # a face
    sketch = np.full((32, 32, 1), 0.8, np.float32)
    keyed, _ = augment.paper_background(tf.constant(rgb), tf.constant(sketch), tf.constant([1, 2]), key_backdrop=True)
    keyed = keyed.numpy()
    np.testing.assert_allclose(keyed[16, 10], [0.8, 0.8, 0.8], atol=1e-6)  # blue beside the face: paper
    np.testing.assert_allclose(keyed[0, 0], [0.8, 0.8, 0.8], atol=1e-6)
    np.testing.assert_allclose(keyed[16, 16], [0.9, 0.7, 0.6], atol=1e-6)  # the face stays
    unkeyed, _ = augment.paper_background(tf.constant(rgb), tf.constant(sketch), tf.constant([1, 2]))
    np.testing.assert_allclose(unkeyed.numpy()[16, 10], [0.0, 0.0, 1.0], atol=1e-6)
    assert augment.get("paper_background").key_backdrop and not augment.get("sketch_styles_paper").key_backdrop


def test_a_drawn_sketch_keeps_its_strokes_and_the_photo_gets_its_paper_as_backdrop():
    photos = _photos()
    drawn = np.full(photos.shape[:3], 240, np.uint8)
    drawn[:, 14:18, 14:18] = 0
    unmoved = augment.RandomJitter(scale=1.0, mirror=False)  # no transform after: pixels stay put
    keep_and_replace = augment.SketchStyles(redraw=False, background_probability=1.0, then=unmoved)
    (inputs, targets), _ = _first_epochs(keep_and_replace, seed=0, photos=photos, sketch=drawn)
    np.testing.assert_allclose(inputs, np.repeat(drawn[..., None], 3, -1) / 255, atol=1e-6)
    np.testing.assert_allclose(targets[:, [0, 0, -1, -1], [0, -1, 0, -1]], 240 / 255, atol=1e-6)
    np.testing.assert_allclose(targets[:, 16, 16], photos[:, 16, 16] / 255, atol=1e-6)
    assert isinstance(augment.get("paper_background"), augment.SketchStyles)


def test_sketch_styles_keep_backgrounds_and_the_paper_variant_replaces_some():
    photos = np.zeros((8, 32, 32, 3), np.uint8)
    photos[..., 2] = 255  # all blue: a backdrop to keep or replace
    photos[:, 12:20, 12:20] = 40  # and something to sketch
    kept, papered = (_first_epochs(name, seed=0, photos=photos, epochs=1)[0] for name in ("sketch_styles", "sketch_styles_paper"))
    # Blue has no red; the sketch's paper, white or toned, is gray with plenty of it.
    blue_corners = [(targets[:, :2, :2, 0] < 0.05).all(axis=(1, 2)) for _, targets in (kept, papered)]
    assert blue_corners[0].all()
    assert 0 < blue_corners[1].sum() < len(photos)


def test_validation_of_a_run_that_redraws_sketches_sees_random_styles_the_same_every_epoch():
    from keras_colorize import training_data, training_settings

    photos = _photos()
    stored = np.full(photos.shape[:3], 255, np.uint8)
    source = data.from_arrays(photos, stored)
    settings = training_settings.default_settings("sketch_inverter", batch_size=len(photos), augment="sketch_styles")
    validation = training_data.pairs_for(source, settings, training=False, cache=False)
    (inputs, targets), (again, _) = (tuple(tensor.numpy() for tensor in next(iter(validation))) for _ in range(2))
    assert (inputs < 0.9).any(axis=(1, 2, 3)).all()  # drawn anew: the stored sketches were blank
    np.testing.assert_array_equal(again, inputs)
    np.testing.assert_allclose(targets, photos / 255, atol=1e-6)  # no transform in validation
    plain = training_settings.default_settings("sketch_inverter", batch_size=len(photos), augment="paper_background")
    kept, _ = next(iter(training_data.pairs_for(source, plain, training=False, cache=False)))
    assert (kept.numpy() == 1.0).all()  # drawn sketches are what a drawn-pair run validates on
