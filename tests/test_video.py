"""Video colorization: frame count, size and rate kept; the flicker figure; smoothing lowers it."""

import os
import re
import subprocess
import sys

import cv2
import numpy as np
import pytest
from conftest import shared_path
from PIL import Image

from keras_colorize import cli, color, models, video
from keras_colorize.colorizer import Colorizer
from keras_colorize.sketches import pencil_sketch, pencil_sketch_at

CLIP_FRAMES = 24


@pytest.fixture(scope="module")
def short_clip(tmp_path_factory):
    """The first frames of the shared clip (640x360, 29.97 fps) as a video file of their own."""
    source = cv2.VideoCapture(str(shared_path("video", "short_hamilton_clip.mp4")))
    fps, size = source.get(cv2.CAP_PROP_FPS), (640, 360)
    path = tmp_path_factory.mktemp("video") / "clip.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
    for _ in range(CLIP_FRAMES):
        ok, frame = source.read()
        assert ok and frame.shape[1::-1] == size
        writer.write(frame)
    writer.release()
    source.release()
    return path


@pytest.fixture(scope="module")
def odd_clip(tmp_path_factory):
    """A made-up 101x75 clip of 5 frames, 10 fps: an animated GIF, since OpenCV's own writers
    crop odd sizes."""
    path = tmp_path_factory.mktemp("odd") / "odd.gif"
    rng = np.random.default_rng(0)
    frames = [Image.fromarray(rng.integers(0, 256, (75, 101, 3), dtype=np.uint8)) for _ in range(5)]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100)
    assert (video.video_info(path).width, video.video_info(path).height) == (101, 75)
    return path


def _lab_frames(lightness, ab):
    """uint8 RGB frames of the given CIELAB lightness (n, H, W) and ab (n, H, W, 2)."""
    return video.rgb_of(lightness[..., None].astype(np.float32), ab.astype(np.float32)).numpy()


def _flickering_colorizer(seed=0):
    """A stand-in model that keeps the lightness and tints each frame with a random colour."""
    rng = np.random.default_rng(seed)

    def colorize_batch(gray):
        lightness = video.lab_of(gray).numpy()[..., 0]
        tint = rng.normal(0.0, 10.0, (len(gray), 1, 1, 2)) * np.ones((*lightness.shape, 1))
        return _lab_frames(lightness, tint)

    return Colorizer(colorize_batch, "flickering", "test")


def test_flicker_is_the_ab_change_where_the_lightness_stays():
    lightness = np.full((4, 8, 8), 50.0)
    ab = np.zeros((4, 8, 8, 2))
    assert video.FlickerMeter().value == 0.0
    meter = video.FlickerMeter()
    meter.update(lightness[..., None], ab)
    assert meter.value == 0.0

    ab[1::2, ..., 0] = 6.0  # a jumps by 6 and b by 8 (a change of 10) at every frame
    ab[1::2, ..., 1] = 8.0
    meter = video.FlickerMeter()
    meter.update(lightness[..., None], ab)
    assert meter.value == pytest.approx(10.0)

    moving = lightness.copy()
    moving[:, :, 4:] = [[[20.0]], [[60.0]], [[20.0]], [[60.0]]]  # motion: the right half changes
    ab[:, :, 4:] = 50.0 * np.arange(4)[:, None, None, None]  # ... and so does its colour
    meter = video.FlickerMeter()
    meter.update(moving[..., None], ab)
    assert meter.value == pytest.approx(10.0, rel=1e-6)


def test_flicker_is_the_same_fed_in_batches_or_at_once():
    rng = np.random.default_rng(1)
    lightness = rng.uniform(40, 42, (9, 6, 6, 1))
    ab = rng.normal(0, 5, (9, 6, 6, 2))
    whole, batched = video.FlickerMeter(), video.FlickerMeter()
    whole.update(lightness, ab)
    for start in range(0, 9, 4):
        batched.update(lightness[start : start + 4], ab[start : start + 4])
    assert batched.value == pytest.approx(whole.value)


def test_smoother_averages_ab_over_the_last_frames():
    a_values = np.array([0.0, 6.0, 12.0, 18.0, 24.0])
    ab = np.zeros((5, 4, 4, 2), np.float32)
    ab[..., 0] = a_values[:, None, None]
    smoother = video.ColorSmoother(3)
    smoothed = np.concatenate([smoother(ab[:2]), smoother(ab[2:])])
    np.testing.assert_allclose(smoothed[:, 0, 0, 0], [0.0, 3.0, 6.0, 12.0, 18.0], atol=1e-6)
    np.testing.assert_array_equal(smoothed[..., 1], 0.0)
    with pytest.raises(ValueError, match="at least 1 frame"):
        video.ColorSmoother(0)


def test_a_photo_model_s_frames_are_what_colorize_gives_within_a_level():
    # Its ab is predicted at the model's size and joined per frame (`Colorizer.predict_ab`).
    colorizer = Colorizer.from_model(models.build("unet", "small"))
    frames = np.random.default_rng(2).integers(0, 256, (3, 72, 96, 3), dtype=np.uint8)
    meters = video.FlickerMeter(), video.FlickerMeter()
    colorized = np.concatenate(list(video._colorized([frames], colorizer, None, *meters)))
    assert colorized.shape == frames.shape and colorized.dtype == np.uint8
    assert np.abs(colorized.astype(int) - colorizer.colorize(frames)).max() <= 1
    smoothed = np.concatenate(list(video._colorized([frames], colorizer, video.ColorSmoother(2), *meters)))
    np.testing.assert_array_equal(smoothed[0], colorized[0])  # nothing before the first frame to average


@pytest.mark.slow
@pytest.mark.shared_data
def test_video_keeps_frame_count_size_and_rate(short_clip, trained_run, tmp_path):
    colorizer = Colorizer.load(trained_run("unet"))
    report = video.colorize_video(colorizer, short_clip, tmp_path / "out.mp4", verbose=False)
    source, written = video.video_info(short_clip), video.video_info(tmp_path / "out.mp4")
    assert written.frames == source.frames == report.frames == CLIP_FRAMES
    assert (written.width, written.height) == (source.width, source.height) == (640, 360)
    assert written.fps == pytest.approx(source.fps, abs=0.01) and source.fps == pytest.approx(29.97)
    assert report.frames_per_second > 0 and report.flicker >= 0
    assert [p.name for p in tmp_path.iterdir()] == ["out.mp4"]  # no partial file left


@pytest.mark.shared_data
def test_smoothing_lowers_the_flicker_of_a_flickering_model(short_clip, tmp_path):
    raw = video.colorize_video(_flickering_colorizer(), short_clip, tmp_path / "raw.mp4",
                               verbose=False)
    smoothed = video.colorize_video(_flickering_colorizer(), short_clip, tmp_path / "smooth.mp4",
                                    smooth=5, verbose=False)
    # Independent tints change by a difference of two draws from frame to frame; a 5-frame
    # mean changes by a fifth of one (less where dark or bright pixels clip the tint).
    assert smoothed.raw_flicker == pytest.approx(raw.flicker)
    assert raw.flicker > 5.0
    assert smoothed.flicker < raw.flicker / 3
    frames = video.video_info(tmp_path / "smooth.mp4").frames
    assert frames == CLIP_FRAMES


def test_existing_output_and_non_videos_are_refused(tmp_path):
    existing = tmp_path / "existing.mp4"
    existing.write_bytes(b"precious")
    colorizer = _flickering_colorizer()
    with pytest.raises(FileExistsError, match="existing.mp4: exists"):
        video.colorize_video(colorizer, existing, existing)
    assert existing.read_bytes() == b"precious"
    with pytest.raises(video.VideoError, match="missing.mp4: missing"):
        video.colorize_video(colorizer, tmp_path / "missing.mp4", tmp_path / "out.mp4")
    (tmp_path / "notes.mp4").write_text("not a video")
    with pytest.raises(video.VideoError, match="notes.mp4: (not_a_video|no_frames)"):
        video.colorize_video(colorizer, tmp_path / "notes.mp4", tmp_path / "out.mp4")
    assert not (tmp_path / "out.mp4").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["existing.mp4", "notes.mp4"]


def test_a_file_that_is_no_video_gets_one_line_without_ffmpegs_own(tmp_path):
    # A fresh process: OpenCV sets FFmpeg's log level when it first opens a video, and this
    # module's own captures have opened some already.
    (tmp_path / "notes.mp4").write_text("not a video")
    command = [sys.executable, "-m", "keras_colorize.cli", "video", str(tmp_path / "notes.mp4"), str(tmp_path / "out.mp4")]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == cli.EXIT_ERROR
    assert result.stderr == f"error: {tmp_path / 'notes.mp4'}: not_a_video (OpenCV cannot open it)\n"


@pytest.mark.slow
@pytest.mark.shared_data
def test_video_command_prints_speed_and_flicker(short_clip, trained_run, tmp_path, capsys):
    out = tmp_path / "colour.mp4"
    status = cli.main(["video", str(short_clip), str(out), "--model", str(trained_run("unet")),
                       "--smooth", "3", "--batch-size", "5"])
    printed = capsys.readouterr().out
    assert status == cli.EXIT_OK
    assert f"{CLIP_FRAMES} frames (640x360, 29.97 fps)" in printed
    assert "frames/s" in printed and "smoothed over 3 frames" in printed
    assert video.video_info(out).frames == CLIP_FRAMES
    again = ["video", str(short_clip), str(out), "--model", str(trained_run("unet"))]
    assert cli.main(again) == cli.EXIT_ERROR
    assert "exists" in capsys.readouterr().err


def test_sketch_models_get_each_frames_pencil_sketch_and_photo_models_the_gray_frame():
    frames = np.random.default_rng(0).integers(0, 256, (2, 24, 32, 3), dtype=np.uint8)
    lightness = video.lab_of(frames).numpy()[..., :1]
    sketch_model = Colorizer(lambda batch: batch, "sketch_inverter", "sketch_rgb")
    sketches = video.model_inputs(frames, lightness, sketch_model)
    assert sketches.shape == (2, 24, 32, 3)
    # Sketched from the RGB frame, as data_prep sketches training photos, not from its gray.
    np.testing.assert_array_equal(sketches[1, ..., 2], pencil_sketch(frames[1]))
    sized_model = Colorizer(lambda batch: batch, "sketch_inverter", "sketch_rgb", input_size=16)
    sized = video.model_inputs(frames, lightness, sized_model)
    np.testing.assert_array_equal(sized[1, ..., 0], pencil_sketch_at(frames[1], 16))
    photo_model = Colorizer(lambda batch: batch, "unet", "l_lab_unit")
    grays = video.model_inputs(frames, lightness, photo_model)
    expected = color.lightness_to_gray(lightness).numpy()[..., :1]
    np.testing.assert_allclose(grays / 255.0, expected, atol=0.5 / 255 + 1e-6)


@pytest.mark.parametrize("suffix", video.VIDEO_SUFFIXES)
def test_every_accepted_suffix_gets_every_frame(odd_clip, suffix, tmp_path):
    out = tmp_path / f"out{suffix}"
    video.colorize_video(_flickering_colorizer(), odd_clip, out, verbose=False)
    assert video.video_info(out).frames == 5


@pytest.mark.parametrize("suffix", [".png", ".jpg", ".gif", ".webm", ""])
def test_other_suffixes_are_refused_before_anything_is_written(odd_clip, suffix, tmp_path):
    # OpenCV writes .png and .jpg as a single still image and drops every later frame unsaid.
    with pytest.raises(video.VideoError, match=f"out{suffix}: unsupported_suffix"):
        video.colorize_video(_flickering_colorizer(), odd_clip, tmp_path / f"out{suffix}", verbose=False)
    assert list(tmp_path.iterdir()) == []


def test_the_video_command_refuses_a_still_image_before_loading_the_model(odd_clip, tmp_path,
                                                                          capsys, monkeypatch):
    monkeypatch.setattr(cli, "load_model", lambda source, trust_savedmodel=False: pytest.fail("loaded the model"))
    assert cli.main(["video", str(odd_clip), str(tmp_path / "out.png")]) == cli.EXIT_ERROR
    assert "out.png: unsupported_suffix (videos are written as .mp4," in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ["photo.png", "scan.JPG"])
def test_a_still_image_as_the_source_is_refused_before_loading_the_model(name, tmp_path, capsys,
                                                                         monkeypatch):
    # OpenCV opens a still image as a one-frame video, and would write a one-frame film.
    still = tmp_path / name
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(still, format="PNG")
    monkeypatch.setattr(cli, "load_model", lambda source, trust_savedmodel=False: pytest.fail("loaded the model"))
    assert cli.main(["video", str(still), str(tmp_path / "out.mp4")]) == cli.EXIT_ERROR
    assert f"{still}: still_image (a PNG image; colorize images" in capsys.readouterr().err
    with pytest.raises(video.VideoError, match="still_image"):
        video.colorize_video(_flickering_colorizer(), still, tmp_path / "out.mp4", verbose=False)
    assert sorted(tmp_path.iterdir()) == [still]


def test_a_folder_as_the_source_is_named_as_a_folder(tmp_path):
    (tmp_path / "clips").mkdir()
    with pytest.raises(video.VideoError, match="clips: not_a_file \\(a folder, not a video file\\)"):
        video.colorize_video(_flickering_colorizer(), tmp_path / "clips", tmp_path / "out.mp4", verbose=False)


def test_an_empty_file_and_a_loop_of_links_are_named_before_opencv_sees_them(tmp_path):
    (tmp_path / "empty.mp4").touch()
    (tmp_path / "loop.mp4").symlink_to("loop.mp4")
    with pytest.raises(video.VideoError, match="empty.mp4: empty \\(zero bytes\\)"):
        video.check_source(tmp_path / "empty.mp4")
    with pytest.raises(video.VideoError, match="loop.mp4: link_loop"):
        video.check_source(tmp_path / "loop.mp4")


def test_an_odd_size_loses_a_pixel_and_the_report_says_so(odd_clip, tmp_path):
    report = video.colorize_video(_flickering_colorizer(), odd_clip, tmp_path / "out.mp4", verbose=False)
    written = video.video_info(tmp_path / "out.mp4")
    assert (report.width, report.height) == (written.width, written.height) == (100, 74)
    assert written.frames == report.frames == 5
    assert "(100x74, 10.00 fps)" in report.summary()


def test_an_unwritable_folder_is_named_as_the_cause(odd_clip, tmp_path, monkeypatch):
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o555)
    real_access = os.access

    def access_as_for_others(path, mode):
        # Root may write anywhere; any other user may not write here.
        return real_access(path, mode) and not (path == folder and mode & os.W_OK)

    monkeypatch.setattr(os, "access", access_as_for_others)
    expected = re.escape(f"cannot_write ({folder} is not a writable folder)")
    with pytest.raises(video.VideoError, match=expected):
        video.colorize_video(_flickering_colorizer(), odd_clip, folder / "out.mp4", verbose=False)
