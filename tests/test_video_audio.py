"""A colorized video keeps its sound: the input's audio packets, copied unchanged."""

import av
import numpy as np
import pytest

from keras_colorize import cli, video
from keras_colorize.colorizer import Colorizer

FRAMES, FPS, SIZE = 12, 10, (64, 48)
TONE_HZ = 440


def _clip(path, audio_codec, sample_rate):
    """A made-up clip: FRAMES gray-ramp frames of SIZE at FPS (MPEG-4) and a sine tone of the
    clip's length in `audio_codec`, written by PyAV."""
    with av.open(str(path), "w") as out:
        frames = out.add_stream("mpeg4", rate=FPS)
        frames.width, frames.height, frames.pix_fmt = *SIZE, "yuv420p"
        sound = out.add_stream(audio_codec, rate=sample_rate)
        sound.layout = "mono"
        for index in range(FRAMES):
            ramp = np.full((SIZE[1], SIZE[0], 3), 20 * index, np.uint8)
            out.mux(frames.encode(av.VideoFrame.from_ndarray(ramp, format="rgb24")))
        seconds = np.arange(FRAMES * sample_rate // FPS) / sample_rate
        tone = (0.3 * np.sin(2 * np.pi * TONE_HZ * seconds)).astype(np.float32)[None]
        for start in range(0, tone.shape[1], 1024):
            chunk = av.AudioFrame.from_ndarray(tone[:, start : start + 1024], format="fltp", layout="mono")
            chunk.sample_rate = sample_rate
            out.mux(sound.encode(chunk))
        out.mux(frames.encode())
        out.mux(sound.encode())
    return path


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
    return _clip(tmp_path_factory.mktemp("sound") / "tone.mp4", "aac", 16000)


def test_the_audio_is_copied_unchanged_and_the_frames_are_kept(clip_with_sound, tmp_path):
    out = tmp_path / "colour.mp4"
    report = video.colorize_video(_stand_in_colorizer(), clip_with_sound, out, batch_size=5, verbose=False)
    assert report.audio_streams == 1 and "1 audio stream copied" in report.summary()
    written, source = video.video_info(out), video.video_info(clip_with_sound)
    assert written.frames == source.frames == report.frames == FRAMES
    assert (written.width, written.height) == SIZE and written.fps == pytest.approx(FPS)
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
    source = _clip(tmp_path / "opus.mkv", "opus", 48000)
    with pytest.raises(video.VideoError, match=r"out.avi: audio_unsupported \(the audio of .*opus.mkv \(opus\) "
                                               r"cannot be stored unchanged in a .avi file; write a .mkv"):
        video.colorize_video(_stand_in_colorizer(), source, tmp_path / "out.avi", verbose=False)
    assert cli.main(["video", str(source), str(tmp_path / "out.avi"), "--model", "no-such-model"]) == cli.EXIT_ERROR
    assert "audio_unsupported" in capsys.readouterr().err  # said before the model is looked for
    assert sorted(path.name for path in tmp_path.iterdir()) == ["opus.mkv"]
    report = video.colorize_video(_stand_in_colorizer(), source, tmp_path / "out.mkv", verbose=False)
    assert report.audio_streams == 1 and _audio_packets(tmp_path / "out.mkv") == _audio_packets(source)
