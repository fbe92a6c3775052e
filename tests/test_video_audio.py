"""A colorized video keeps its sound: the input's audio packets, copied unchanged."""

import av
import numpy as np
import pytest
from conftest import CLIP_FPS, CLIP_FRAMES, CLIP_SIZE, TONE_HZ, make_clip

from keras_colorize import cli, video
from keras_colorize.colorizer import Colorizer

def _audio_packets(path):
    with av.open(str(path)) as container:
        return [bytes(packet) for packet in container.demux(container.streams.audio[0]) if packet.size]


def _stand_in_colorizer():
    """Tints every frame orange, keeping its lightness: no model to load."""
    def colorize_batch(gray):
        lightness = video.lab_of(gray).numpy()[..., :1]
        return video.rgb_of(lightness, np.broadcast_to(np.float32([30, 40]), (*lightness.shape[:3], 2))).numpy()

    return Colorizer(colorize_batch, "tint", "test")


@pytest.fixture(scope="module")
def clip_with_sound(tmp_path_factory):
    return make_clip(tmp_path_factory.mktemp("sound") / "tone.mp4", "aac", 16000)


def test_the_audio_is_copied_unchanged_and_the_frames_are_kept(clip_with_sound, tmp_path):
    out = tmp_path / "colour.mp4"
    report = video.colorize_video(_stand_in_colorizer(), clip_with_sound, out, batch_size=5, verbose=False)
    assert report.audio_streams == 1 and "1 audio stream copied" in report.summary()
    written, source = video.video_info(out), video.video_info(clip_with_sound)
    assert written.frames == source.frames == report.frames == CLIP_FRAMES
    assert (written.width, written.height) == CLIP_SIZE and written.fps == pytest.approx(CLIP_FPS)
    with av.open(str(out)) as container:
        sound = container.streams.audio[0]
        assert (sound.codec_context.name, sound.sample_rate) == ("aac", 16000)
        tone = np.concatenate([frame.to_ndarray()[0] for frame in container.decode(sound)])
    assert _audio_packets(out) == _audio_packets(clip_with_sound) and len(_audio_packets(out)) > 10
    spectrum = np.abs(np.fft.rfft(tone))
    assert np.fft.rfftfreq(len(tone), 1 / 16000)[spectrum.argmax()] == pytest.approx(TONE_HZ, abs=5)
    with av.open(str(out)) as container:
        rgb = next(container.decode(video=0)).to_ndarray(format="rgb24").astype(int)
    assert (rgb[..., 0] - rgb[..., 2]).mean() > 20  # the stand-in's orange, not gray
    assert [path.name for path in tmp_path.iterdir()] == ["colour.mp4"]  # no temporary left


def test_audio_the_container_cannot_hold_is_refused_before_any_frame(tmp_path, capsys):
    source = make_clip(tmp_path / "opus.mkv", "opus", 48000)
    with pytest.raises(video.VideoError, match=r"out.avi: audio_unsupported \(the audio of .*opus.mkv \(opus\) "
                                               r"cannot be stored unchanged in a .avi file; write a .mkv"):
        video.colorize_video(_stand_in_colorizer(), source, tmp_path / "out.avi", verbose=False)
    assert cli.main(["video", str(source), str(tmp_path / "out.avi"), "--model", "no-such-model"]) == cli.EXIT_ERROR
    assert "audio_unsupported" in capsys.readouterr().err  # said before the model is looked for
    assert sorted(path.name for path in tmp_path.iterdir()) == ["opus.mkv"]
    report = video.colorize_video(_stand_in_colorizer(), source, tmp_path / "out.mkv", verbose=False)
    assert report.audio_streams == 1 and _audio_packets(tmp_path / "out.mkv") == _audio_packets(source)
