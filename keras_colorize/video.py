"""Video colorization, frame by frame, with the sketch-inversion paper's temporal smoothing.

Joy & Singh (2017) colorize a video one frame at a time and average the predicted colour over
neighbouring frames, because independent predictions flicker. `colorize_video` reads a video
with OpenCV, turns every frame gray (and, for sketch models, into its pencil sketch), colorizes
batches of frames with a `Colorizer`, and, with
`smooth=N`, replaces each frame's ab by the mean ab of the last N predictions (causal: no frame
waits for later ones) joined with the frame's own lightness. The output keeps the input's frame
count, size and frame rate, except that an odd width or height loses its last column or row
(see `written_size`), and its sound: OpenCV writes images only, so PyAV (FFmpeg's libraries)
then copies the input's audio streams, unchanged, beside the colorized frames.

`FlickerMeter` gives the flicker figure reported for smoothing off and on: the mean change of
the output's ab between consecutive frames (CIELAB ab units), weighted towards pixels whose
input lightness barely changed, where a change of colour can only be flicker, not motion.

Photo models of this package predict ab at their own small size (`Colorizer.predict_ab`):
each frame is converted to CIELAB lightness once, and only the enlarged ab and the final
sRGB conversion run at full resolution, in XLA-compiled graphs.
"""

import collections
import contextlib
import dataclasses
import heapq
import os
import sys
import tempfile
import time
from pathlib import Path

import av
import cv2
import keras
import numpy as np
import tensorflow as tf
from PIL import Image

from keras_colorize import color, inference
from keras_colorize.console import is_terminal
from keras_colorize.files import unwritable_folder, written_atomically
from keras_colorize.images import IMAGE_SUFFIXES, ImageError, check_file, gray_to_rgb, printable

# Frames per model call: at 1280x720, 8 run no faster than 4 and peak 90 MB higher.
BATCH_SIZE = 4
FOURCC = "mp4v"  # MPEG-4 part 2: written by every OpenCV build, no external encoder needed
# The containers OpenCV writes FOURCC into. Others fail, or worse: an image suffix (.png) makes
# OpenCV write the first frame as a still image and drop the rest without a word.
VIDEO_SUFFIXES = (".mp4", ".m4v", ".mov", ".mkv", ".avi")
STILL_IMAGE_SUFFIXES = tuple(s for s in IMAGE_SUFFIXES if s != ".gif")  # an animated GIF is a video


class VideoError(ImageError):
    """A file that cannot be read or written as a video; names the file and the problem."""


@dataclasses.dataclass
class VideoReport:
    """What `colorize_video` did; `flicker` is measured on the output, `raw_flicker` before smoothing."""

    frames: int
    fps: float
    width: int
    height: int
    seconds: float
    flicker: float
    raw_flicker: float
    smooth: int
    audio_streams: int = 0

    @property
    def frames_per_second(self):
        return self.frames / max(self.seconds, 1e-9)

    def summary(self):
        line = (
            f"{self.frames} frames ({self.width}x{self.height}, {self.fps:.2f} fps) in "
            f"{self.seconds:.1f} s: {self.frames_per_second:.1f} frames/s; "
            f"flicker {self.flicker:.3f}"
        )
        if self.smooth > 1:
            line += f" (smoothed over {self.smooth} frames; {self.raw_flicker:.3f} without)"
        if self.audio_streams:
            line += f"; {self.audio_streams} audio stream{'s' if self.audio_streams > 1 else ''} copied"
        return line


def check_source(path):
    """VideoError for a folder, a missing or empty file, or a still image, which OpenCV would
    open as a one-frame video; checked before opening so that the command line can refuse it
    before loading a model."""
    path = Path(path)
    check_file(path, "a video file", VideoError)
    image_format = _still_image_format(path)
    if path.suffix.lower() in STILL_IMAGE_SUFFIXES or image_format:
        what = f"a {image_format} image" if image_format else "not a video"
        raise VideoError(path, "still_image", f"{what}; colorize images with `keras-colorize colorize`")


def _still_image_format(path):
    """The format of a still image whatever its name says (a JPEG renamed .mp4), else None.
    Pillow reads only the header; a GIF may be animated, and so a video."""
    try:
        with Image.open(path) as image:
            return None if image.format == "GIF" else image.format
    except (OSError, ValueError, SyntaxError):  # UnidentifiedImageError is an OSError
        return None


def open_video(path):
    """An opened `cv2.VideoCapture`, or VideoError when `path` is not a readable video."""
    check_source(path)
    # FFmpeg's own errors ("moov atom not found") would precede the one-line error that names
    # the file; read by OpenCV when FFmpeg first opens a file. 8: fatal errors only.
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "8")
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        raise VideoError(path, "not_a_video", "OpenCV cannot open it")
    return capture


def read_batches(capture, batch_size):
    """uint8 RGB frames (n, H, W, 3) from an opened capture, `batch_size` at a time, each
    converted straight into its batch (a list of frames stacked would hold them twice)."""
    batch, count = None, 0
    while True:
        ok, bgr = capture.read()
        if not ok:
            break
        if batch is None:
            batch = np.empty((batch_size, *bgr.shape), np.uint8)
        cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB, dst=batch[count])
        count += 1
        if count == batch_size:
            yield batch
            batch, count = None, 0
    if count:
        yield batch[:count]


# The colour conversions run on whole frames; XLA fuses their elementwise ops, which makes
# them 4-5x faster than plain graph mode here. A video's frames share one size, so each
# compiles once.
@tf.function(jit_compile=True, reduce_retracing=True)
def lab_of(frames):
    """uint8 frames (n, H, W, 1 or 3) -> CIELAB float32 (n, H, W, 3)."""
    return color.rgb_to_lab(inference.to_float_rgb(frames))


@tf.function(jit_compile=True, reduce_retracing=True)
def lightness_of(frames):
    """uint8 RGB frames (n, H, W, 3) -> CIELAB lightness float32 (n, H, W, 1)."""
    return color.rgb_to_lightness(frames)


@tf.function(jit_compile=True, reduce_retracing=True)
def gray_of(lightness):
    """CIELAB lightness (n, H, W, 1) -> uint8 gray (n, H, W, 1) of that lightness."""
    return inference.to_uint8(color.lightness_to_gray(lightness)[..., :1])


@tf.function(jit_compile=True, reduce_retracing=True)
def rgb_of(lightness, ab):
    """CIELAB lightness (n, H, W, 1) and ab (n, H, W, 2) -> uint8 RGB (n, H, W, 3)."""
    return color.lab_to_rgb_uint8(color.join_lab(lightness, ab))


class ColorSmoother:
    """Causal moving average of ab over the last `window` frames."""

    def __init__(self, window):
        if window < 1:
            raise ValueError(f"the smoothing window must be at least 1 frame, not {window}")
        self.window = window
        self._recent = collections.deque()
        self._sum = None

    def __call__(self, ab):
        """Predicted ab (n, H, W, 2) of the next n frames -> each one's mean over the window, float32."""
        smoothed = np.empty(ab.shape, np.float32)
        for index, frame_ab in enumerate(np.asarray(ab, np.float64)):
            self._recent.append(frame_ab)
            self._sum = frame_ab.copy() if self._sum is None else self._sum + frame_ab
            if len(self._recent) > self.window:
                self._sum -= self._recent.popleft()
            smoothed[index] = self._sum / len(self._recent)
        return smoothed


class FlickerMeter:
    """Accumulates the flicker figure over a stream of frames (see the module docstring).

    Each pixel's ab change between consecutive frames counts with weight
    exp(-(dL / `lightness_scale`)^2), dL being the change of the input's lightness there.
    """

    def __init__(self, lightness_scale=2.0):
        self.lightness_scale = lightness_scale
        self._previous = None
        self._weighted_change = 0.0
        self._weight = 0.0

    def update(self, lightness, ab):
        """Input lightness (n, H, W, 1) and output ab (n, H, W, 2) of the next n frames."""
        lightness, ab = tf.cast(lightness, tf.float32), tf.cast(ab, tf.float32)
        if self._previous is not None:
            lightness = tf.concat([self._previous[0], lightness], 0)
            ab = tf.concat([self._previous[1], ab], 0)
        self._previous = lightness[-1:], ab[-1:]
        if len(ab) < 2:
            return
        weighted_changes, weights = _flicker_sums(lightness, ab, self.lightness_scale)
        # Summed pair by pair in float64: the figure does not depend on how frames are batched.
        self._weighted_change += float(np.sum(weighted_changes.numpy(), dtype=np.float64))
        self._weight += float(np.sum(weights.numpy(), dtype=np.float64))

    @property
    def value(self):
        """Mean weighted ab change between consecutive frames; 0 before two frames were seen."""
        return self._weighted_change / self._weight if self._weight else 0.0


@tf.function(jit_compile=True, reduce_retracing=True)
def _flicker_sums(lightness, ab, lightness_scale):
    """For each pair of consecutive frames: (sum of weight x ab change, sum of weight), as
    `FlickerMeter` weighs them."""
    ab_change = tf.norm(ab[1:] - ab[:-1], axis=-1)
    weight = tf.exp(-tf.square((lightness[1:, ..., 0] - lightness[:-1, ..., 0]) / lightness_scale))
    return tf.reduce_sum(weight * ab_change, axis=[1, 2]), tf.reduce_sum(weight, axis=[1, 2])


@contextlib.contextmanager
def _video_writer(temporary, destination, fps, size):
    """A cv2.VideoWriter into `temporary`, released on exit; a VideoError naming `destination`
    when OpenCV cannot open one."""
    writer = cv2.VideoWriter(str(temporary), cv2.VideoWriter_fourcc(*FOURCC), fps, size)
    if not writer.isOpened():
        raise VideoError(destination, "cannot_write", f"OpenCV could not open a {FOURCC} writer for it")
    try:
        yield writer
    finally:
        writer.release()


@dataclasses.dataclass
class VideoInfo:
    """A video's frame count, frame rate and frame size."""

    frames: int
    fps: float
    width: int
    height: int


def stated_info(capture):
    """VideoInfo of an opened capture as its container states it (frames 0 when unknown)."""
    return VideoInfo(
        int(capture.get(cv2.CAP_PROP_FRAME_COUNT)),
        capture.get(cv2.CAP_PROP_FPS),
        int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)),
        int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT)),
    )


def written_size(info):
    """(width, height) of the colorized video: MPEG-4 stores colour at half resolution (4:2:0),
    which needs even sizes, so OpenCV's writer drops the last column or row of an odd size."""
    return info.width - info.width % 2, info.height - info.height % 2


def check_destination(destination):
    """Refuse, before anything is read or written, a destination that exists, that OpenCV
    cannot write a video to, or whose folder takes no new files (OpenCV would only say that
    it has no writer)."""
    if destination.exists():
        raise FileExistsError(f"{destination}: exists; refusing to overwrite it")
    if destination.suffix.lower() not in VIDEO_SUFFIXES:
        suffixes = ", ".join(VIDEO_SUFFIXES)
        raise VideoError(destination, "unsupported_suffix", f"videos are written as {suffixes}")
    folder = unwritable_folder(destination)
    if folder:
        raise VideoError(destination, "cannot_write", f"{folder} is not a writable folder")


def video_info(path):
    """VideoInfo of a video file, with the frames counted by decoding them all."""
    capture = open_video(path)
    try:
        info = stated_info(capture)
        info.frames = sum(len(batch) for batch in read_batches(capture, 32))
    finally:
        capture.release()
    return info


def model_inputs(frames, lightness, colorizer):
    """uint8 RGB frames as the model takes them: photo models get the gray of their CIELAB
    `lightness`; sketch models the frames' pencil sketches, made as training sketches are (from
    the RGB frame, at the model's input size), the paper's route for video (sketch each frame,
    then invert the sketch)."""
    if colorizer.input_kind != "sketch":
        return gray_of(lightness).numpy()
    return gray_to_rgb(np.stack([colorizer.pencil_sketch(frame) for frame in frames]))


def _colorized(batches, colorizer, smoother, raw_flicker, output_flicker):
    """Colorized uint8 RGB frames (H, W, 3), a batch at a time, smoothed when a `smoother` is
    given; both flicker meters are fed on the way (the raw one with the model's own colours).

    A Keras model of a lightness format (`Colorizer.predict_ab`) predicts ab at its own small
    size, which is smoothed there (a mean commutes with the bilinear enlargement) and
    enlarged to join the frame's lightness; the flicker is measured on that ab, before the
    sRGB gamut's clipping. Other models colorize whole frames, whose ab is read back. The
    full-resolution steps go one frame at a time: XLA's temporaries for a batch of 720p
    frames would take hundreds of MB."""
    for batch in batches:
        lightness = tf.concat([lightness_of(frame[None]) for frame in batch], 0)
        if colorizer.predict_ab is not None:
            colorized, ab = None, colorizer.predict_ab(lightness)
        else:
            colorized = colorizer.colorize(model_inputs(batch, lightness, colorizer))
            ab = tf.concat([lab_of(frame[None])[..., 1:] for frame in colorized], 0)
        smoothed = smoother(ab) if smoother else None
        joined = colorized is None or smoother  # the frames are lightness and ab joined here
        rgb = [] if joined else colorized
        for index in range(len(batch)):
            frame_lightness = lightness[index : index + 1]
            frame_ab = _at_size_of(ab[index : index + 1], frame_lightness)
            raw_flicker.update(frame_lightness, frame_ab)
            if smoother:
                frame_ab = _at_size_of(smoothed[index : index + 1], frame_lightness)
                output_flicker.update(frame_lightness, frame_ab)
            if joined:
                rgb.append(rgb_of(frame_lightness, frame_ab).numpy()[0])
        yield rgb


_enlarged = tf.function(inference.resize, reduce_retracing=True)


def _at_size_of(ab, lightness):
    """`ab` (n, h, w, 2) resized to the frames of `lightness` (n, H, W, 1)."""
    return ab if ab.shape[1:3] == lightness.shape[1:3] else _enlarged(ab, tf.shape(lightness)[1:3])


def colorize_video(colorizer, source, destination, smooth=1, batch_size=BATCH_SIZE, verbose=True,
                   on_progress=None):
    """Colorize video `source` into a new file `destination` (never replaced), with its audio;
    returns a VideoReport. `on_progress(frames done, frames stated or 0)` follows each batch."""
    destination = Path(destination)
    check_destination(destination)
    check_source(source)
    audio_streams = check_audio(source, destination)
    capture = open_video(source)
    info = stated_info(capture)
    smoother = ColorSmoother(smooth) if smooth > 1 else None
    output_flicker, raw_flicker = FlickerMeter(), FlickerMeter()
    progress = keras.utils.Progbar(
        info.frames or None, verbose=int(verbose and is_terminal()), unit_name="frame"
    )
    frames, started = 0, time.perf_counter()
    width, height = written_size(info)
    if min(width, height) < 2:
        raise VideoError(source, "too_small", f"{info.width}x{info.height}: MPEG-4 needs at least 2x2 pixels")
    try:
        with written_atomically(destination) as temporary, _frames_file(temporary, audio_streams) as frames_path:
            with _video_writer(frames_path, destination, info.fps, (width, height)) as writer:
                batches = read_batches(capture, batch_size)
                for colorized in _colorized(batches, colorizer, smoother, raw_flicker, output_flicker):
                    for rgb in colorized:
                        writer.write(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
                    frames += len(colorized)
                    progress.add(len(colorized))
                    if on_progress:
                        on_progress(frames, info.frames)
            if not frames:
                raise VideoError(source, "no_frames", "OpenCV decoded no frame of it")
            if audio_streams:
                _join_audio(frames_path, source, temporary)
    finally:
        capture.release()
    if frames < info.frames:
        print(f"{source}: warning: its header states {info.frames} frames, but only {frames} could be "
              "decoded (truncated?); the colorized video has those", file=sys.stderr)
    return VideoReport(
        frames, info.fps, width, height, time.perf_counter() - started,
        (output_flicker if smoother else raw_flicker).value, raw_flicker.value, smooth, audio_streams,
    )


def check_audio(source, destination):
    """How many audio streams `source` has, after checking that `destination`'s container can
    hold each of them unchanged (a header written to a scratch file of its suffix); VideoError
    naming both files otherwise. Checked before any frame is colorized."""
    codecs = _audio_codecs(source)
    if not codecs:
        return 0
    with tempfile.TemporaryDirectory() as folder, av.open(str(source)) as sound:
        try:
            with av.open(str(Path(folder) / f"probe{destination.suffix.lower()}"), "w") as probe:
                for stream in sound.streams.audio:
                    probe.add_stream_from_template(stream)
                probe.start_encoding()
        except (av.error.FFmpegError, ValueError):
            raise VideoError(
                destination, "audio_unsupported",
                f"the audio of {printable(source)} ({', '.join(codecs)}) cannot be stored unchanged in a "
                f"{destination.suffix} file; write a .mkv, which holds almost any audio",
            ) from None
    return len(codecs)


def _audio_codecs(source):
    """The codec names of `source`'s audio streams, as FFmpeg (PyAV) reads them; none for a
    file FFmpeg cannot open (OpenCV, which reads the frames, then reports it)."""
    try:
        with av.open(str(source)) as container:
            return [stream.codec_context.name for stream in container.streams.audio]
    except av.error.FFmpegError:
        return []


@contextlib.contextmanager
def _frames_file(temporary, audio_streams):
    """Where OpenCV writes the frames: `temporary` itself for a silent video, else a second
    temporary beside it (named so that a killed run's is swept, `files.remove_stale_partials`),
    which `_join_audio` copies into `temporary` with the audio."""
    if not audio_streams:
        yield temporary
        return
    frames_path = temporary.with_name(temporary.name.replace(".partial", ".partial-frames", 1))
    try:
        yield frames_path
    finally:
        frames_path.unlink(missing_ok=True)


def _join_audio(frames_path, source, path):
    """Write `path`: the video stream of `frames_path` and every audio stream of `source`, their
    packets copied unchanged (no re-encoding), interleaved by time as players expect."""
    with av.open(str(frames_path)) as frames, av.open(str(source)) as sound, av.open(str(path), "w") as out:
        inputs = [(frames, frames.streams.video[0]), *((sound, stream) for stream in sound.streams.audio)]
        outputs = {id(stream): out.add_stream_from_template(stream) for _, stream in inputs}
        timed = heapq.merge(
            _timed_packets(frames, [frames.streams.video[0]]), _timed_packets(sound, list(sound.streams.audio)),
            key=lambda pair: pair[0],
        )
        for _, packet in timed:
            packet.stream = outputs[id(packet.stream)]
            out.mux(packet)


def _timed_packets(container, streams):
    """(seconds, packet) of `streams` in file order; the demuxer's empty end-of-stream packets
    (no timestamp) are left out."""
    for packet in container.demux(*streams):
        if packet.dts is not None:
            yield float(packet.dts * packet.time_base), packet
