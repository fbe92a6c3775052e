"""Videos that are not what they say: a JPEG named .mp4, a truncated file, a 1-pixel-wide clip."""

import cv2
import numpy as np
import pytest
from PIL import Image

from keras_colorize import video
from keras_colorize.colorizer import Colorizer


def _echo():
    return Colorizer(lambda batch: np.repeat(np.asarray(batch, np.uint8)[..., :1], 3, -1), "echo", "saved_model")


def _clip(path, frames, size=(32, 24)):
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, size)
    for index in range(frames):
        writer.write(np.full((size[1], size[0], 3), index * 20, np.uint8))
    writer.release()
    return path


def test_a_jpeg_renamed_mp4_is_refused_as_a_still_image(tmp_path):
    renamed = tmp_path / "holiday.mp4"
    Image.new("RGB", (16, 16), "red").save(renamed, format="JPEG")
    with pytest.raises(video.VideoError, match=r"holiday.mp4: still_image \(a JPEG image; colorize images with"):
        video.colorize_video(_echo(), renamed, tmp_path / "out.mp4", verbose=False)
    assert not (tmp_path / "out.mp4").exists()


def test_a_truncated_video_warns_with_both_frame_counts(tmp_path, capsys):
    clip = _clip(tmp_path / "clip.avi", 10)
    data = clip.read_bytes()
    truncated = tmp_path / "truncated.avi"
    truncated.write_bytes(data[: len(data) * 9 // 10])  # a tenth cut off: its index, and frames
    stated = video.stated_info(cv2.VideoCapture(str(truncated))).frames
    report = video.colorize_video(_echo(), truncated, tmp_path / "out.mp4", verbose=False)
    assert stated == 10 and 0 < report.frames < 10
    assert (f"truncated.avi: warning: its header states 10 frames, but only {report.frames} could be decoded"
            in capsys.readouterr().err)


def test_a_one_pixel_wide_video_names_the_cause(tmp_path):
    frames = [Image.new("RGB", (1, 8), colour) for colour in ("red", "blue")]
    frames[0].save(tmp_path / "thin.gif", save_all=True, append_images=frames[1:], duration=100)
    with pytest.raises(video.VideoError, match=r"thin.gif: too_small \(1x8: MPEG-4 needs at least 2x2 pixels\)"):
        video.colorize_video(_echo(), tmp_path / "thin.gif", tmp_path / "out.mp4", verbose=False)
    assert not (tmp_path / "out.mp4").exists()
