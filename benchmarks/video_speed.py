"""`keras-colorize video` with the default model on real 1280x720 clips: frames/s and peak memory.

    python benchmarks/video_speed.py [--shared ../shared/data] [--rounds 2] [--batch-size N]

Each clip of ../shared/data/bw_video (black-and-white film, 960x540 and 1280x720) is resized
to 1280x720 into a temporary folder, then colorized `--rounds` times by the command as a user
runs it, each run a process of its own: frames/s as the command reports it (reading, colorizing
and writing every frame, the first batch's compilation included; not the start-up or the
model's loading), the whole process's wall time, and its peak resident memory (wait4).
Prints a line per run and writes benchmarks/results/video_speed.json.
"""

import argparse
import re
import sys
import tempfile
from pathlib import Path

import cv2

from peers import RESULTS, load_average, machine, run_measured, write_report

CLIPS = Path("bw_video")
FRAME_SIZE = (1280, 720)


def resized_clip(source, folder):
    """`source` with every frame resized to `FRAME_SIZE`, as a new file in `folder`."""
    capture = cv2.VideoCapture(str(source))
    path = Path(folder) / f"{source.stem}_720p.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), capture.get(cv2.CAP_PROP_FPS), FRAME_SIZE)
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        writer.write(frame if frame.shape[1::-1] == FRAME_SIZE else cv2.resize(frame, FRAME_SIZE))
    capture.release()
    writer.release()
    return path


def colorized(clip, output, batch_size=None):
    """(frames, frames/s the command reports, wall seconds, peak MiB) of one `video` command,
    at its default batch size unless given one."""
    command = [sys.executable, "-m", "keras_colorize.cli", "video", str(clip), str(output)]
    command += ["--batch-size", str(batch_size)] if batch_size else []
    stdout, seconds, peak = run_measured(command)
    found = re.search(r"(\d+) frames .*: ([\d.]+) frames/s", stdout)
    return int(found.group(1)), float(found.group(2)), round(seconds, 1), round(peak)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--batch-size", type=int, help="frames per model call (default: the command's)")
    parser.add_argument("--out", type=Path, default=RESULTS / "video_speed.json")
    args = parser.parse_args()
    sources = sorted((args.shared / CLIPS).glob("*.mp4"))
    if not sources:
        sys.exit(f"no clips in {args.shared / CLIPS}: pass --shared")
    report = {"machine": machine(), "load_average_before": load_average(), "batch_size": args.batch_size or "default",
              "frame_size": "x".join(map(str, FRAME_SIZE)), "runs": []}
    with tempfile.TemporaryDirectory(prefix="video-speed-") as folder:
        for source in sources:
            clip = resized_clip(source, folder)
            for round_index in range(args.rounds):
                output = Path(folder) / f"{clip.stem}_{round_index}_colorized.mp4"
                frames, rate, seconds, peak = colorized(clip, output, args.batch_size)
                report["runs"].append({"clip": source.name, "frames": frames, "frames_per_second": rate,
                                       "wall_seconds": seconds, "peak_rss_mib": peak})
                print(f"{source.name:18s} {frames:4d} frames at {report['frame_size']}: {rate:5.1f} frames/s, "
                      f"{seconds:5.1f} s in all, peak {peak} MiB", flush=True)
    write_report(report, args.out)


if __name__ == "__main__":
    main()
