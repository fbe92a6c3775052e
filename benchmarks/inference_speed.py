"""Inference latency per model and preset (batch 1 and 16), and video frames per second.

    python benchmarks/inference_speed.py [--presets small paper] [--repeats 10]

Latency is `Colorizer.colorize` end to end, as a user calls it: uint8 photos (LFW test faces
at 128 x 128, or CUFS sketches for sketch models) in, uint8 RGB out, pre- and post-processing
included; the median of `--repeats` calls after two warm-up calls. Every model is timed as
built at each preset (speed does not depend on the weights), then every shipped model as
shipped. Float32, as a Colorizer runs.

Video: `video.colorize_video` on the shared face clip resized to `--video-size` square frames
(100 x 100: the sketch-inversion paper's size) through the small presets and the shipped
models, batches of `--video-batch` frames, smoothing
over 5 frames; frames/s counts decoding, sketching (sketch models), colorizing, smoothing and
encoding. Prints tables and writes benchmarks/results/inference_speed.json.
"""

import argparse
import json
import statistics
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from keras_colorize import console  # noqa: E402

console.import_tensorflow_quietly()  # a command's output opens without TensorFlow's start-up lines

from keras_colorize import (
    Colorizer,
    evaluation,
    images,
    inference,
    models,
    shipped,
    video,
)

RESULTS = REPO / "benchmarks" / "results"
VIDEO_IN_SHARED = Path("video") / "short_hamilton_clip.mp4"


def colorizers(presets):
    """[(model name, label, Colorizer)]: every model built at each preset, then every shipped model."""
    chosen = [(name, preset, Colorizer.from_model(models.build(name, preset)))
              for preset in presets for name in models.available()]
    for name in shipped.available():
        colorizer = Colorizer.load(name)
        chosen.append((name, "shipped", colorizer))
    return chosen


def test_images(kind, count, data_dir):
    """`count` uint8 RGB inputs: gray LFW test faces, or CUFS test sketches."""
    file_name = "cufs.h5" if kind == "sketch" else "lfw128.h5"
    samples = []
    for sample in evaluation.open_data(data_dir / file_name, "test").read():
        if kind == "sketch":
            samples.append(images.gray_to_rgb(sample.sketch))
        else:
            samples.append(sample.truth)
        if len(samples) == count:
            break
    batch = np.stack(samples)
    return batch if kind == "sketch" else inference.gray_version(batch)


def median_seconds(function, repeats):
    function()
    function()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def latency_rows(chosen, repeats, data_dir):
    rows = []
    for name, label, colorizer in chosen:
        inputs = test_images(colorizer.input_kind, 16, data_dir)
        row = {"model": name, "preset": label, "input_size": f"{inputs.shape[2]}x{inputs.shape[1]}"}
        for batch in (1, 16):
            seconds = median_seconds(partial(colorizer.colorize, inputs[:batch]), repeats)
            row[f"batch{batch}_ms"] = round(1000 * seconds, 1)
            row[f"batch{batch}_images_per_second"] = round(batch / seconds, 1)
        print(f"{name:22s} {label:8s} batch 1: {row['batch1_ms']:8.1f} ms   "
              f"batch 16: {row['batch16_ms']:8.1f} ms ({row['batch16_images_per_second']:7.1f} img/s)",
              flush=True)
        rows.append(row)
    return rows


def resized_video(source, size, folder):
    """`source` with every frame resized to size x size, as a new file in `folder`."""
    capture = cv2.VideoCapture(str(source))
    fps = capture.get(cv2.CAP_PROP_FPS)
    path = Path(folder) / f"clip_{size}.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*video.FOURCC), fps, (size, size))
    frames = 0
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        writer.write(cv2.resize(frame, (size, size), interpolation=cv2.INTER_AREA))
        frames += 1
    capture.release()
    writer.release()
    return path, frames


def video_rows(chosen, source, size, batch_size, smooth):
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        clip, _ = resized_video(source, size, folder)
        for name, label, colorizer in chosen:
            video.colorize_video(colorizer, clip, Path(folder) / f"warm_{label}_{name}.mp4",
                                 smooth=smooth, batch_size=batch_size, verbose=False)
            report = video.colorize_video(colorizer, clip, Path(folder) / f"{label}_{name}.mp4",
                                          smooth=smooth, batch_size=batch_size, verbose=False)
            row = {"model": name, "preset": label, "frame_size": f"{size}x{size}",
                   "frames": report.frames, "batch_size": batch_size, "smooth": smooth,
                   "frames_per_second": round(report.frames_per_second, 1)}
            print(f"{name:22s} {label:8s} video {size}x{size}: {row['frames_per_second']:7.1f} frames/s "
                  f"({report.frames} frames)", flush=True)
            rows.append(row)
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", nargs="*", default=["small", "paper"])
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--data", type=Path, default=REPO / "data")
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared" / "data",
                        help="the shared research data folder (its face video)")
    parser.add_argument("--video-size", type=int, default=100)
    parser.add_argument("--video-batch", type=int, default=8)
    parser.add_argument("--smooth", type=int, default=5)
    parser.add_argument("--out", type=Path, default=RESULTS / "inference_speed.json")
    args = parser.parse_args()
    clip = args.shared / VIDEO_IN_SHARED
    missing = [path for path in (args.data / "lfw128.h5", args.data / "cufs.h5", clip) if not path.exists()]
    if missing:
        sys.exit(f"missing {', '.join(map(str, missing))}: run `make data`, or pass --data and --shared")
    chosen = colorizers(args.presets)
    shipped_and_small = [item for item in chosen if item[1] in ("shipped", "small")]
    report = {
        "latency": latency_rows(chosen, args.repeats, args.data),
        "video": video_rows(shipped_and_small, clip, args.video_size, args.video_batch, args.smooth),
    }
    args.out.parent.mkdir(exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
