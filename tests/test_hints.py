"""Colour hints: hint maps (simulated and from a user's points), the hint_unet model, and hints
through Colorizer, the SavedModel export, evaluate.py and the command line."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_colorize import Colorizer, cli, color, hints, models, pretrained, shipped

from conftest import untrained_hint_model

RED = (255, 0, 0)
RED_AB = color.split_lab(color.rgb_to_lab(np.array([[[1.0, 0.0, 0.0]]], np.float32)))[1].numpy()[0, 0]


def _constant_ab(batch=2, size=32, a=20.0, b=-30.0):
    return tf.concat([tf.fill([batch, size, size, 1], a), tf.fill([batch, size, size, 1], b)], axis=-1)


def test_simulated_hints_paint_patch_means_where_the_mask_is_set():
    ab = _constant_ab()
    hint_map, centres, in_use = hints.simulated(ab, tf.constant([3, 4]), count=5)
    hinted_ab, mask = hints.decode(hint_map)
    assert hint_map.shape == (2, 32, 32, hints.HINT_CHANNELS)
    assert centres.shape == (2, 5, 2) and bool(tf.reduce_all(in_use))
    on = mask[..., 0].numpy() > 0
    assert 5 <= on[0].sum() <= 5 * 81  # five patches of 1 to 9 px a side, maybe overlapping
    np.testing.assert_allclose(hinted_ab.numpy()[on], np.tile([20.0, -30.0], (on.sum(), 1)), atol=1e-4)
    np.testing.assert_array_equal(hint_map.numpy()[~on], 0.0)
    for image, (row, column) in enumerate(centres.numpy()[:, 0]):
        assert on[image, row, column]


def test_a_patch_hint_is_the_mean_of_the_patch_it_covers():
    ab = np.zeros((1, 16, 16, 2), np.float32)
    ab[0, :, 8:] = 40.0  # left half 0, right half 40: a patch across the edge averages them
    hint_map, centres, _ = hints.simulated(tf.constant(ab), tf.constant([0, 1]), count=30)
    hinted_ab, mask = hints.decode(hint_map)
    values = hinted_ab.numpy()[mask[..., 0].numpy() > 0][:, 0]
    assert values.min() >= 0.0 and values.max() <= 40.0
    assert ((values > 0) & (values < 40)).any()  # some patch straddles the edge


def test_the_same_seed_reveals_the_same_hints_and_counts_follow_the_geometric_law():
    ab = _constant_ab(batch=400, size=16)
    first, _, in_use = hints.simulated(ab, tf.constant([7, 7]))
    second, _, _ = hints.simulated(ab, tf.constant([7, 7]))
    np.testing.assert_array_equal(first, second)
    counts = in_use.numpy().sum(axis=1)
    # Geometric from 0 with p = 1/8: mean 7, no hints one time in eight.
    assert 5.5 < counts.mean() < 8.5
    assert 0.06 < (counts == 0).mean() < 0.2
    assert counts.max() <= hints.MAX_SIMULATED_HINTS


def test_points_land_where_the_user_clicked_at_the_models_size():
    hint_map = hints.from_points([(150, 50, RED), (0.0, 99.0, (0.0, 0.0, 1.0))], 100, 200, 64, 128)
    ab, mask = hints.decode(hint_map)
    mask = mask.numpy()[0, ..., 0]
    assert mask[32, 96] == 1 and mask[63, 0] == 1 and mask.sum() == 9 + 4  # 3x3, and one cut at the corner
    np.testing.assert_allclose(ab.numpy()[0, 32, 96], RED_AB, atol=0.1)


@pytest.mark.parametrize("point, problem", [
    ((200, 5, RED), "outside the 200x100 image"),
    ((5, -1, RED), "outside"),
    ((5, 5, (300, 0, 0)), "not RGB in 0-255"),
    ((5, 5), "is not \\(x, y, \\(r, g, b\\)\\)"),
])
def test_bad_points_are_refused_naming_the_hint(point, problem):
    with pytest.raises(ValueError, match=f"hint 1: .*{problem}"):
        hints.from_points([(1, 1, RED), point], 100, 200, 64, 128)


def test_resizing_a_hint_map_keeps_every_hint_and_its_colour():
    hint_map = hints.from_points([(10, 10, RED)], 400, 400, 400, 400, radius=0)
    small = hints.resized(hint_map, (100, 100))
    ab, mask = hints.decode(small)
    assert mask.numpy().sum() == 1 and mask.numpy()[0, 2, 2, 0] == 1
    np.testing.assert_allclose(ab.numpy()[0, 2, 2], RED_AB, atol=0.1)
    np.testing.assert_allclose(hints.resized(hint_map, (400, 400)), hint_map, atol=1e-5)


def test_hints_files_take_lists_or_a_map_by_image_name_and_name_their_problems(tmp_path):
    every = tmp_path / "every.json"
    every.write_text(json.dumps([[1, 2, [255, 0, 0]], [3, 4, "#00ff80"]]))
    assert hints.read_file(every) == [(1, 2, (255, 0, 0)), (3, 4, (0, 255, 128))]
    by_name = tmp_path / "by_name.json"
    by_name.write_text(json.dumps({"a.jpg": [[1, 2, "#0000ff"]]}))
    given = hints.read_file(by_name)
    assert hints.for_image(given, tmp_path / "a.jpg") == [(1, 2, (0, 0, 255))]
    assert hints.for_image(given, tmp_path / "b.jpg") is None
    broken = tmp_path / "broken.json"
    for text, problem in [("[1, 2", "not a JSON hints file"), ('[[1, 2, "#12"]]', "not #rrggbb"),
                          ("[[1, 2]]", "is not \\[x, y, colour\\]"), ('"red"', "must be a list")]:
        broken.write_text(text)
        with pytest.raises(ValueError, match=f"{broken.name}: .*{problem}"):
            hints.read_file(broken)


# --- the model -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def hint_model():
    """A small hint_unet with random weights (no pretrained files needed)."""
    return untrained_hint_model(backbone_weights=None, automatic_weights=None, decoder_filters=[32, 16, 16])


def test_untrained_it_colours_as_the_automatic_model_it_starts_from(lfw_faces):
    if "mobilenet_unet_ce" not in shipped.available() or pretrained.find_imagenet_tfjs() is None:
        pytest.skip("needs the shipped mobilenet_unet_ce and ../shared/pretrained")
    started = Colorizer.from_model(models.build("hint_unet"))
    automatic = Colorizer.load("mobilenet_unet_ce")
    np.testing.assert_array_equal(started.colorize(lfw_faces[:2]), automatic.colorize(lfw_faces[:2]))


def test_the_model_takes_lightness_and_a_hint_map_and_gives_ab_at_the_input_size(hint_model):
    assert [tuple(tensor.shape) for tensor in hint_model.network.inputs] == [(None, 128, 128, 1), (None, 128, 128, 3)]
    assert hint_model.network.output_shape == (None, 128, 128, 2)
    assert models.takes_hints("hint_unet") and not models.takes_hints("mobilenet_unet")
    network, rendering = models.at_any_size(models.inference_model("hint_unet", hint_model))
    assert rendering == models.Rendering(128, 32)
    wide = [np.zeros((1, 96, 160, 1), np.float32), np.zeros((1, 96, 160, 3), np.float32)]
    assert network(wide).shape == (1, 96, 160, 2)


# --- through the package ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def hint_colorizer(hint_model):
    return Colorizer.from_model(hint_model)


def _photo():
    rng = np.random.default_rng(2)
    return (rng.random((90, 150, 3)) * 255).astype(np.uint8)


def test_a_hint_changes_the_colours_around_it_and_nothing_without_hints(hint_colorizer):
    photo = _photo()
    plain = hint_colorizer.colorize(photo).astype(int)
    np.testing.assert_array_equal(hint_colorizer.colorize(photo, hints=[]), plain)
    hinted = hint_colorizer.colorize(photo, hints=[(30, 40, RED)]).astype(int)
    assert hinted.shape == photo.shape
    assert np.abs(hinted - plain)[35:45, 25:35].max() > 0


def test_a_model_without_hint_input_refuses_hints():
    model = models.build("unet", base_filters=4)
    with pytest.raises(ValueError, match="takes no colour hints"):
        Colorizer.from_model(model).colorize(_photo(), hints=[(1, 1, RED)])


def test_the_savedmodel_export_takes_hints(hint_colorizer, tmp_path):
    hint_colorizer.export(tmp_path / "export", "savedmodel")
    exported = Colorizer.load(tmp_path / "export")
    assert exported.takes_hints
    photo = _photo()
    np.testing.assert_array_equal(exported.colorize(photo), hint_colorizer.colorize(photo))
    assert not np.array_equal(exported.colorize(photo, hints=[(30, 40, RED)]), exported.colorize(photo))


def test_a_hint_model_exports_to_savedmodel_only(hint_colorizer, tmp_path):
    with pytest.raises(ValueError, match="exports as a SavedModel"):
        hint_colorizer.export(tmp_path / "hints.tflite", "tflite")


def test_evaluate_writes_the_psnr_curve_over_hint_counts(hint_model, tmp_path, lfw_faces):
    import evaluate

    (tmp_path / "photos").mkdir()
    for index, face in enumerate(lfw_faces[:4]):
        keras.utils.save_img(tmp_path / "photos" / f"{index}.png", face)
    hint_model.save(tmp_path / "hints.keras")
    assert evaluate.main(["--model", str(tmp_path / "hints.keras"), "--data", str(tmp_path / "photos"),
                          "--hint-counts", "0", "5", "--out", str(tmp_path / "curve")]) == 0
    lines = (tmp_path / "curve" / "hint_curve.csv").read_text().splitlines()
    assert lines[0] == "hints,psnr,psnr_std,kept,images" and len(lines) == 3
    assert lines[2].startswith("5,") and lines[2].endswith(",4")
    assert (tmp_path / "curve" / "hint_curve.png").stat().st_size > 1000


def test_the_command_line_follows_a_hints_file_and_refuses_one_for_a_model_without_hints(
        hint_model, tmp_path, capsys):
    (tmp_path / "in").mkdir()
    keras.utils.save_img(tmp_path / "in" / "photo.png", _photo())
    hint_model.save(tmp_path / "hints.keras")
    (tmp_path / "hints.json").write_text(json.dumps({"photo.png": [[30, 40, "#ff0000"]]}))
    assert cli.main(["colorize", str(tmp_path / "in"), "-o", str(tmp_path / "out"), "--model",
                     str(tmp_path / "hints.keras"), "--hints", str(tmp_path / "hints.json")]) == 0
    colorized = keras.utils.load_img(tmp_path / "out" / "photo.png")
    plain = Colorizer.from_model(hint_model).colorize(_photo())
    assert not np.array_equal(np.asarray(colorized), plain)
    unet = tmp_path / "unet.keras"
    models.build("unet", base_filters=4).save(unet)
    assert cli.main(["colorize", str(tmp_path / "in"), "-o", str(tmp_path / "out2"), "--model", str(unet),
                     "--hints", str(tmp_path / "hints.json")]) == 2
    assert "takes no colour hints" in capsys.readouterr().err


@pytest.mark.skipif("hint_unet" not in shipped.available() or pretrained.find_imagenet_tfjs() is None,
                    reason="needs the shipped hint_unet")
def test_the_shipped_hint_model_keeps_the_colours_it_is_given(lfw_faces):
    colorizer = Colorizer.load("hint_unet")
    network = colorizer.network
    lightness, true_ab = color.split_lab(color.rgb_to_lab(lfw_faces.astype(np.float32) / 255.0))
    hint_map, centres, in_use = hints.simulated(true_ab, tf.constant([0, 0]), count=10)
    predicted = network([color.l_to_unit(lightness), hint_map]).numpy()
    hinted_ab = hints.decode(hint_map)[0].numpy()
    rows, columns = centres.numpy()[..., 0], centres.numpy()[..., 1]
    images = np.arange(len(lfw_faces))[:, None]
    distance = np.linalg.norm(predicted[images, rows, columns] - hinted_ab[images, rows, columns], axis=-1)
    assert (distance <= 10).mean() >= 0.9
