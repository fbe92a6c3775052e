"""What the apps hand the user looks right: colours, smoothness, files.

Guards user-visible behaviour the other tests left open: a colorized video keeps red red (no
BGR/RGB swap on read or write) and `--smooth 2` really smooths; a SavedModel colorizes float
images as their uint8 version; an LAB model's colour enlarged to a big photo (and the
classifier's own ab upsampling) is smooth, not blocky; exporting never clobbers a user's folder
and a failed `.keras` save keeps the old file; the sample photos are RGB; the training triplets'
input column shows the real gray, the column titles match their images, and the TensorBoard
strip puts the three images side by side.
"""

from pathlib import Path

import cv2
import keras
import matplotlib.axes
import numpy as np
import pytest
import skimage.color
import skimage.data
import tensorflow as tf

from keras_colorize import (
    callbacks,
    exporting,
    inference,
    models,
    samples,
    shipped,
    video,
)
from keras_colorize.colorizer import Colorizer
from keras_colorize.models import classifier

RED_RGB = (230, 20, 20)
SIZE = 64  # video frames: a large flat area, so lossy mp4v keeps the colour


def _write_flat_video(path, rgb, frames=3, size=SIZE):
    """A small mp4v video whose frames are all the colour `rgb` (written as OpenCV wants: BGR)."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10.0, (size, size))
    frame = np.zeros((size, size, 3), np.uint8)
    frame[:] = rgb[::-1]  # OpenCV writes BGR
    for _ in range(frames):
        writer.write(frame)
    writer.release()
    return path


def _frames_as_rgb(path):
    """Every frame of a video, read with plain OpenCV and turned to RGB here (not by the package)."""
    capture = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, bgr = capture.read()
        if not ok:
            break
        frames.append(bgr[..., ::-1])
    capture.release()
    return np.stack(frames)


def _assert_reddish(rgb_frames):
    """Centre colour close to RED_RGB: red high, blue low (a swap makes blue high, red low)."""
    centre = rgb_frames[:, 16:48, 16:48].reshape(-1, 3).mean(axis=0)
    np.testing.assert_allclose(centre, RED_RGB, atol=25)


def test_video_frames_are_read_as_rgb(tmp_path):
    path = _write_flat_video(tmp_path / "red.mp4", RED_RGB)
    capture = video.open_video(path)
    try:
        batches = list(video.read_batches(capture, 2))
    finally:
        capture.release()
    frames = np.concatenate(batches)
    assert frames.shape == (3, SIZE, SIZE, 3)
    _assert_reddish(frames)


def test_colorized_video_is_written_with_the_models_colours_not_channel_swapped(tmp_path):
    source = _write_flat_video(tmp_path / "gray.mp4", (128, 128, 128))
    # A stand-in photo model that paints everything red.
    red = Colorizer(
        lambda batch: np.broadcast_to(np.uint8(RED_RGB), (*batch.shape[:3], 3)).copy(),
        "unet", "l_lab_unit", "test",
    )
    video.colorize_video(red, source, tmp_path / "out.mp4", verbose=False)
    _assert_reddish(_frames_as_rgb(tmp_path / "out.mp4"))


def test_smoothing_over_two_frames_averages_alternating_colours(tmp_path):
    source = _write_flat_video(tmp_path / "gray.mp4", (128, 128, 128), frames=6)
    seen = [0]

    def alternating(batch):
        """Mid-gray lightness tinted a = +40 and a = -40 on alternate frames (whole stream)."""
        count = len(batch)
        sign = np.where((np.arange(count) + seen[0]) % 2 == 0, 40.0, -40.0)
        seen[0] += count
        lab = np.zeros((count, *batch.shape[1:3], 3))
        lab[..., 0] = 50.0
        lab[..., 1] = sign[:, None, None]
        return np.round(skimage.color.lab2rgb(lab) * 255).astype(np.uint8)

    colorizer = Colorizer(alternating, "unet", "l_lab_unit", "test")
    report = video.colorize_video(colorizer, source, tmp_path / "out.mp4", smooth=2, batch_size=4, verbose=False)
    # Raw, a jumps by 80 every frame; averaged over 2 frames the tints cancel to gray.
    assert report.raw_flicker > 50
    assert report.flicker < 0.2 * report.raw_flicker
    out = _frames_as_rgb(tmp_path / "out.mp4")[1:, 16:48, 16:48].astype(float)
    assert np.abs(out - out.mean(axis=-1, keepdims=True)).max() < 15  # gray: R = G = B


@pytest.fixture(scope="module")
def tiny_export(tmp_path_factory):
    """A SavedModel of a tiny untrained U-Net, as train.py exports one."""
    path = tmp_path_factory.mktemp("export") / "export"
    return exporting.export_serving(models.build("unet", "small", base_filters=4, image_size=32), "l_lab_unit", path)


def test_saved_model_colorizes_float_images_like_their_uint8_version(tiny_export):
    colorizer = Colorizer.load(tiny_export)
    assert colorizer.element_format == "saved_model"
    photo = skimage.data.coffee()[::8, ::8][:48, :48]  # a real photo, small
    from_uint8 = colorizer.colorize(photo)
    from_float = colorizer.colorize(photo.astype(np.float32) / 255.0)
    assert from_uint8.mean() > 40  # a real picture, not black
    np.testing.assert_allclose(from_float.astype(int), from_uint8.astype(int), atol=1)


def test_lab_models_ab_enlarged_to_a_large_input_is_smooth_not_blocky():
    # An 8x8 ab prediction ("l_ab": ab itself) with a ramp in a, joined with a 64x64 mid gray.
    ramp = np.linspace(-40.0, 40.0, 8, dtype=np.float32)
    outputs = np.zeros((1, 8, 8, 2), np.float32)
    outputs[..., 0] = ramp[None, None, :]
    full_inputs = np.full((1, 64, 64, 1), 0.5, np.float32)
    rgb = inference.outputs_to_rgb("l_ab", full_inputs, outputs).numpy()[0]
    a = skimage.color.rgb2lab(rgb.astype(np.float64))[..., 1]  # scikit-image as the reference
    row = a[32]
    # Enlarged bilinear, a rises pixel by pixel across the inner columns, never in 8-pixel steps.
    assert len(np.unique(np.round(row[4:60], 2))) > 40
    assert np.abs(np.diff(row)).max() < 3.0


def test_classifier_upsamples_its_ab_smoothly_not_in_blocks():
    # The shipped (trained) classifier, so that its coarse ab really varies over a real photo.
    predictor = models.inference_model("classifier", shipped.load("classifier"))
    size = predictor.input_shape[1]
    photo = tf.image.resize(skimage.data.coffee()[None] / 255.0, (size, size)).numpy()[0]
    lightness = (skimage.color.rgb2lab(photo)[..., :1] / 100.0)[None].astype(np.float32)
    ab = predictor(lightness, training=False).numpy()[0]
    assert ab.shape == (size, size, 2)
    coarse = keras.Model(predictor.input, predictor.get_layer("annealed_mean").output)(lightness).numpy()
    assert coarse.std(axis=(0, 1, 2)).min() > 1.0  # the photo's colour varies from cell to cell
    # Reference: the coarse ab enlarged bilinearly (half-pixel centres) by TensorFlow itself.
    expected = tf.image.resize(coarse, (size, size), method="bilinear").numpy()[0]
    np.testing.assert_allclose(ab, expected, atol=1e-3)
    stride = classifier.OUTPUT_STRIDE
    blocks = ab.reshape(size // stride, stride, size // stride, stride, 2)
    assert blocks.std(axis=(1, 3)).mean() > 0.2  # not constant within each 4x4 block


def test_export_into_a_folder_of_user_files_is_refused_and_keeps_them(tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "notes.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match="not a SavedModel"):
        exporting.export_serving(models.build("unet", "small", base_filters=4), "l_lab_unit", folder)
    assert (folder / "notes.txt").read_text() == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine"]


def test_a_keras_save_failing_midway_keeps_the_previous_file(tmp_path):
    path = tmp_path / "run" / "model.keras"
    path.parent.mkdir()
    path.write_bytes(b"the previous good model")

    class CrashingModel:
        def save(self, target):
            Path(target).write_bytes(b"half a fi")
            raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        exporting.save_keras(CrashingModel(), path)
    assert path.read_bytes() == b"the previous good model"
    assert sorted(p.name for p in path.parent.iterdir()) == ["model.keras"]  # no temporary left


def test_sample_photos_are_rgb_like_scikit_images_own():
    photos = samples.sample_photos()
    for name in ("coffee", "astronaut", "chelsea"):
        np.testing.assert_array_equal(photos[name], getattr(skimage.data, name)())
    # And by content, independent of scikit-image's loader: coffee is a warm (red > blue) picture.
    coffee = photos["coffee"].reshape(-1, 3).mean(axis=0)
    assert coffee[0] > coffee[2] + 20


def test_triplet_input_column_shows_the_inputs_real_gray():
    photo = skimage.data.coffee()[::16, ::16].astype(np.float64) / 255.0
    lightness = skimage.color.rgb2lab(photo)[..., :1]
    shown = inference.inputs_to_rgb("l_lab_unit", (lightness / 100.0)[None].astype(np.float32)).numpy()[0]
    # Reference: scikit-image's sRGB of that lightness with no colour.
    expected = skimage.color.lab2rgb(np.concatenate([lightness, np.zeros_like(photo[..., :2])], -1))
    np.testing.assert_allclose(shown, expected, atol=2e-3)


def _triplets_callback(tmp_path, log_dir=None):
    rng = np.random.default_rng(0)
    sketches = np.repeat(rng.uniform(0, 1, (2, 8, 8, 1)), 3, axis=-1).astype("float32")
    photos = rng.uniform(0, 1, (2, 8, 8, 3)).astype("float32")
    predicted = tf.constant(1.0 - photos)
    callback = callbacks.PredictionTriplets(
        sketches, photos, "sketch_rgb", tmp_path / "triplets", log_dir=log_dir,
        predictor=lambda inputs, training: predicted,
    )
    return callback, sketches, photos, 1.0 - photos


def test_triplet_grid_titles_name_the_columns_they_stand_over(tmp_path, monkeypatch):
    titled = []
    original = matplotlib.axes.Axes.set_title

    def spy(axis, label, *args, **kwargs):
        titled.append((axis.get_position().x0, label))
        return original(axis, label, *args, **kwargs)

    monkeypatch.setattr(matplotlib.axes.Axes, "set_title", spy)
    callback, sketches, photos, predicted = _triplets_callback(tmp_path)
    triplets = callback.render()
    # render()'s columns: input, truth, prediction (checked by value) ...
    np.testing.assert_array_equal(triplets[:, 0], np.round(sketches * 255).astype(np.uint8))
    np.testing.assert_array_equal(triplets[:, 1], np.round(photos * 255).astype(np.uint8))
    np.testing.assert_array_equal(triplets[:, 2], np.round(predicted * 255).astype(np.uint8))
    callback.on_epoch_end(0)
    # ... and the grid's titles, left to right, say so.
    assert [label for _, label in sorted(titled)] == ["input", "ground truth", "prediction"]


def test_tensorboard_strip_puts_input_truth_and_prediction_side_by_side(tmp_path, monkeypatch):
    logged = []
    monkeypatch.setattr(tf.summary, "image", lambda name, data, **kwargs: logged.append(np.asarray(data)))
    callback, sketches, photos, predicted = _triplets_callback(tmp_path, log_dir=tmp_path / "logs")
    callback.on_epoch_end(0)
    (strips,) = logged
    assert strips.shape == (2, 8, 24, 3)  # each row: height 8, width 3 x 8
    np.testing.assert_array_equal(strips[:, :, :8], np.round(sketches * 255).astype(np.uint8))
    np.testing.assert_array_equal(strips[:, :, 8:16], np.round(photos * 255).astype(np.uint8))
    np.testing.assert_array_equal(strips[:, :, 16:], np.round(predicted * 255).astype(np.uint8))
