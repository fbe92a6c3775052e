"""This package against the reference implementations of its networks, on the same CPU.

    python benchmarks/peers.py [--peers ../shared/peers] [--venv ../peers_venv] [--rounds 3]
        [--works colorize256 pix2pix folder] [--shared ../shared/data] [--photos 100]

The references are in ../shared/peers (its README): richzhang/colorization's ECCV16 (the
`classifier` paper preset) and junyanz's pix2pix (the `pix2pix` paper preset), PyTorch, random
weights. They run in their own virtualenv, `--venv`, made here when missing (python -m venv,
then pip install torch numpy scikit-image pillow). Each side runs in its own process, the two
alternating (ours, theirs, ours, theirs, ... `--rounds` times), both on 2 threads, so that the
machine's drift and any other load fall on both:

- colorize256: one 256x256 uint8 photo colorized end to end through `Colorizer` (the
  classifier's paper preset built at 256x256) against the peers' time_eccv16.py (resize,
  rgb2lab, ECCV16, ab upsampling, lab2rgb); the median ms of `--iters` calls each. Ours in
  float32, and where the CPU has bf16 instructions also with `precision="mixed_bfloat16"`.
- pix2pix: one training iteration, batch 1, 256x256 (`train_on_batch` of the paper preset,
  Adam 2e-4 / 0.5 as the reference) against the peers' time_pix2pix.py
  (`optimize_parameters`); ours twice, in float32 and in the precision train.py chooses on
  this CPU (`hardware.choose_precision`: mixed_bfloat16 where the CPU has bf16 instructions).
- folder: `keras-colorize colorize` with the default model on `--photos` real photos
  (bw_historical, then imagenet_sample, from `--shared`, each resized to about 1 megapixel
  in a temporary folder) against peer_eccv16_folder.py, richzhang's demo_release.py pipeline on
  the same files; each a whole process, outputs written: images/s from its wall time (start-up
  included) and its peak resident memory.

A ratio is ours / theirs per round (time; for the folder, their images/s / ours), the table
gives the median and the range. Prints the table and writes benchmarks/results/peers.json;
skips, saying why, where the peers' folder is missing.
"""

import argparse
import json
import math
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
RESULTS = REPO / "benchmarks" / "results"
RESULT_PREFIX = "RESULT "
THREADS = 2
PEER_PACKAGES = ("torch", "numpy", "scikit-image", "pillow")
PHOTO_SOURCES = ("bw_historical", "imagenet_sample")
PHOTO_PIXELS = 1_000_000
WORKS = ("colorize256", "pix2pix", "folder")


def machine():
    """The CPU's name, its core count and whether it computes in bfloat16 natively."""
    try:
        info = Path("/proc/cpuinfo").read_text()
    except OSError:
        info = ""
    name = re.search(r"^model name\s*:\s*(.+)$", info, re.MULTILINE)
    return {"cpu": name.group(1).strip() if name else "unknown", "cores": os.cpu_count(),
            "bf16": "avx512_bf16" in info or "amx_bf16" in info}


def described(machine_info):
    """'AMD EPYC, 2 cores, bf16 instructions' from `machine()`."""
    bf16 = ", bf16 instructions" if machine_info["bf16"] else ""
    return f"{machine_info['cpu']}, {machine_info['cores']} cores{bf16}"


def load_average():
    return round(os.getloadavg()[0], 2)


def conditions(report):
    """The machine and its load average before and after the work `report` records."""
    return (f"{described(report['machine'])}, load average {report['load_average_before']} before, "
            f"{report['load_average_after']} after")


def write_report(report, out, table_text=""):
    """Record the load average after the work in `report`, print the conditions and
    `table_text`, and write `report` to `out` as JSON."""
    report["load_average_after"] = load_average()
    print(f"\n{conditions(report)}\n\n{table_text}".rstrip())
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    print(f"wrote {out}")


# --- our side, each in a process of its own (--worker) -------------------------------------------


def _our_tensorflow():
    from keras_colorize import console

    console.import_tensorflow_quietly()
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(THREADS)
    tf.config.threading.set_inter_op_parallelism_threads(THREADS)


def median_ms(function, iters):
    from inference_speed import median_seconds

    return 1000 * median_seconds(function, iters)


def our_colorize_ms(iters, size=256, precision="float32"):
    """Median ms to colorize one size x size uint8 photo with the classifier's paper preset, its
    network in `precision` (`Colorizer.from_model`)."""
    import numpy as np

    from keras_colorize import Colorizer, models

    colorizer = Colorizer.from_model(models.build("classifier", "paper", image_size=size), precision=precision)
    photo = (np.random.default_rng(0).random((size, size, 3)) * 255).astype("uint8")
    return median_ms(lambda: colorizer.colorize(photo), iters)


def our_pix2pix_ms(iters, precision, preset="paper"):
    """(median ms of one `train_on_batch` of pix2pix, batch 1, the precision it ran in) in
    `precision` ("auto": train.py's choice)."""
    import keras
    import numpy as np

    from keras_colorize import hardware, models

    precision = hardware.choose_precision(precision)
    keras.mixed_precision.set_global_policy(precision)
    model = models.build("pix2pix", preset)
    model.compile()
    rng = np.random.default_rng(0)
    inputs = rng.uniform(-1, 1, (1, *model.input_shape[1:])).astype("float32")
    targets = rng.uniform(-1, 1, (1, *model.output_shape[1:])).astype("float32")
    return median_ms(lambda: model.train_on_batch(inputs, targets), iters), precision


def worker(args):
    _our_tensorflow()
    if args.worker == "colorize256":
        result = {"ms": our_colorize_ms(args.iters, args.size, args.precision)}
    else:
        ms, precision = our_pix2pix_ms(args.iters, args.precision, args.preset)
        result = {"ms": ms, "precision": precision}
    print(RESULT_PREFIX + json.dumps({**result, "ms": round(result["ms"], 1)}), flush=True)


# --- running both sides -------------------------------------------------------------------------


def run_measured(command):
    """(stdout, seconds, peak resident MiB) of `command` run to its end, the peak from the
    kernel's record of the child (wait4); RuntimeError when it fails."""
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        process = subprocess.Popen(command, cwd=REPO, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if process.returncode:
        raise RuntimeError(f"{' '.join(map(str, command))} failed ({process.returncode}):\n{stderr[-2000:]}")
    return stdout, seconds, usage.ru_maxrss / 1024


def ours_command(work, iters, precision="float32"):
    return [sys.executable, __file__, "--worker", work, "--iters", str(iters), "--precision", precision]


def our_result(command):
    """The worker's RESULT line: {"ms": ..., "precision": ... (pix2pix)}."""
    stdout = run_measured(command)[0]
    line = next(line for line in stdout.splitlines() if line.startswith(RESULT_PREFIX))
    return json.loads(line[len(RESULT_PREFIX):])


def their_ms(command):
    """The median ms that a peers' timing script prints ("... 402.4 ms/img ...")."""
    return float(re.search(r"([\d.]+) ms/(?:img|iter)", run_measured(command)[0]).group(1))


def ensure_venv(venv):
    """The peers' python, after making their virtualenv where it is missing."""
    python = venv / "bin" / "python"
    if not python.exists():
        print(f"making the peers' virtualenv in {venv} (pip install {' '.join(PEER_PACKAGES)})", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", *PEER_PACKAGES], check=True)
    return python


def alternated(rounds, ours, theirs):
    """[(ours, theirs)] of `rounds` rounds, ours first in each: A B A B."""
    results = []
    for index in range(rounds):
        results.append((ours(), theirs()))
        print(f"  round {index + 1}: ours {results[-1][0]}, reference {results[-1][1]}", flush=True)
    return results


def timed_row(work, label, reference, pairs, unit="ms", higher_is_better=False):
    """A row of the table; its ratio is our cost over theirs (time, or memory), below 1 where we
    do better: for a rate (`higher_is_better`) theirs over ours."""
    ratios = [theirs / ours if higher_is_better else ours / theirs for ours, theirs in pairs]
    return {"work": work, "ours": label, "reference": reference, "unit": unit,
            "ours_values": [ours for ours, _ in pairs], "reference_values": [theirs for _, theirs in pairs],
            "ratio": round(statistics.median(ratios), 3), "ratios": [round(ratio, 3) for ratio in ratios]}


def colorize_rows(args, python):
    script = [str(python), str(args.peers / "time_eccv16.py"), str(args.peers / "richzhang_colorization"),
              "1", str(args.iters)]
    rows = []
    for precision in ["float32", "mixed_bfloat16"] if machine()["bf16"] else ["float32"]:
        print(f"colorize 256x256 end to end: classifier (paper, 256) in {precision} vs eccv16", flush=True)
        ours = ours_command("colorize256", args.iters, precision)
        pairs = alternated(args.rounds, lambda: our_result(ours)["ms"], lambda: their_ms(script))
        rows.append(timed_row("colorize a 256x256 image end to end",
                              f"Colorizer, classifier paper preset at 256, {precision}",
                              "richzhang eccv16 (time_eccv16.py)", pairs))
    return rows


def pix2pix_rows(args, python):
    """float32, and where the CPU computes in bfloat16 also train.py's choice ("auto")."""
    script = [str(python), str(args.peers / "time_pix2pix.py"), str(args.peers / "junyanz_pix2pix"),
              str(args.pix2pix_iters)]
    rows = []
    for precision in ["float32", "auto"] if machine()["bf16"] else ["float32"]:
        print(f"pix2pix training iteration, batch 1, 256x256: ours in {precision} precision vs junyanz", flush=True)
        used = set()

        def ours(command=ours_command("pix2pix", args.pix2pix_iters, precision)):
            result = our_result(command)
            used.add(result["precision"])
            return result["ms"]

        pairs = alternated(args.rounds, ours, lambda: their_ms(script))
        rows.append(timed_row("one pix2pix training iteration, batch 1, 256x256",
                              f"pix2pix paper preset, train_on_batch, {'/'.join(sorted(used))}"
                              + (" (train.py's choice)" if precision == "auto" else ""),
                              "junyanz pix2pix (time_pix2pix.py)", pairs))
    return rows


def photo_folder(shared, count, folder):
    """`count` photos of `PHOTO_SOURCES` under `shared`, each resized to about a megapixel
    (Lanczos, JPEG quality 95) into `folder`; their count."""
    from PIL import Image

    sources = [path for name in PHOTO_SOURCES for path in sorted((shared / name).iterdir())
               if path.suffix.lower() in (".jpg", ".jpeg", ".png")][:count]
    for path in sources:
        with Image.open(path) as image:
            photo = image.convert("RGB")
        scale = math.sqrt(PHOTO_PIXELS / (photo.width * photo.height))
        size = (round(photo.width * scale), round(photo.height * scale))
        photo.resize(size, Image.LANCZOS).save(folder / f"{path.stem}.jpg", quality=95)
    return len(sources)


def folder_rows(args, python):
    with tempfile.TemporaryDirectory(prefix="peers-folder-") as scratch:
        photos, outputs = Path(scratch) / "photos", Path(scratch) / "out"
        photos.mkdir()
        count = photo_folder(args.shared, args.photos, photos)
        ours = [sys.executable, "-m", "keras_colorize.cli", "colorize", str(photos), "-o", str(outputs)]
        theirs = [str(python), str(Path(__file__).parent / "peer_eccv16_folder.py"),
                  str(args.peers / "richzhang_colorization"), str(photos), str(outputs)]

        def run(command):
            shutil.rmtree(outputs, ignore_errors=True)
            _, seconds, peak = run_measured(command)
            written = len(list(outputs.glob("*.png")))
            if written != count:
                raise RuntimeError(f"{command[1]} wrote {written} of {count} outputs")
            return round(count / seconds, 3), round(peak)

        print(f"colorize a folder of {count} photos of ~1 megapixel: the default model vs richzhang's "
              "demo_release.py pipeline", flush=True)
        pairs = alternated(args.rounds, lambda: run(ours), lambda: run(theirs))
    work, label = f"colorize a folder of {count} ~1-megapixel photos", "`keras-colorize colorize`, default model"
    reference = "richzhang demo_release.py pipeline (peer_eccv16_folder.py)"
    return [
        timed_row(work, label, reference, [(ours[0], theirs[0]) for ours, theirs in pairs], "images/s",
                  higher_is_better=True),
        timed_row(work, label, reference, [(ours[1], theirs[1]) for ours, theirs in pairs], "MiB peak memory"),
    ]


def table(rows):
    """Markdown: work | ours | reference | ratio, each side's range over the rounds."""
    lines = ["| work | ours | reference | ratio (median, range) |", "|---|---:|---:|---:|"]
    for row in rows:
        ratios = f"{row['ratio']:.2f} ({min(row['ratios']):.2f}-{max(row['ratios']):.2f})"
        lines.append(f"| {row['work']} ({row['unit']}): {row['ours']} vs {row['reference']} "
                     f"| {_span(row['ours_values'])} | {_span(row['reference_values'])} | {ratios} |")
    return "\n".join(lines)


def _span(values):
    """'low-high' of the rounds' values, in whole numbers where they reach 100."""
    digits = 0 if max(values) >= 100 else 2
    low, high = (f"{value:,.{digits}f}" for value in (min(values), max(values)))
    return low if low == high else f"{low}-{high}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peers", type=Path, default=REPO.parent / "shared" / "peers")
    parser.add_argument("--venv", type=Path, default=REPO.parent / "peers_venv",
                        help="the peers' virtualenv, made when missing (default: ../peers_venv)")
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared" / "data",
                        help="the shared data folder, whose photos the folder work resizes")
    parser.add_argument("--works", nargs="*", choices=WORKS, default=list(WORKS))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--iters", type=int, default=10, help="timed calls per colorize256 process")
    parser.add_argument("--pix2pix-iters", type=int, default=8, help="timed iterations per pix2pix process")
    parser.add_argument("--photos", type=int, default=100)
    parser.add_argument("--out", type=Path, default=RESULTS / "peers.json")
    parser.add_argument("--worker", choices=WORKS[:2], help=argparse.SUPPRESS)
    parser.add_argument("--precision", default="float32", help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, default=256, help=argparse.SUPPRESS)
    parser.add_argument("--preset", default="paper", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args)
    if not (args.peers / "time_eccv16.py").is_file():
        print(f"skipped: no reference implementations in {args.peers} (see ../shared/peers/README.md)")
        return 0
    python = ensure_venv(args.venv)
    report = {"machine": machine(), "threads": THREADS, "rounds": args.rounds, "load_average_before": load_average(),
              "command": " ".join(["python", "benchmarks/peers.py", *sys.argv[1:]]), "rows": []}
    producers = {"colorize256": colorize_rows, "pix2pix": pix2pix_rows, "folder": folder_rows}
    for work in args.works:
        report["rows"] += producers[work](args, python)
    write_report(report, args.out, table(report["rows"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
