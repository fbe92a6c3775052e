"""Data pipeline benchmark: `data_prep build` throughput and peak memory, tf.data read rates.

Builds the standard LFW file (`data_prep.standard`: 128 x 128, pencil sketches, centre crop) from
the first `--images` LFW images, then streams its train split through `keras_colorize.data`
once per element format (and with each augmentation), as `fit` would. Prints a table and
writes benchmarks/results/data_pipeline.json.

    python benchmarks/data_pipeline.py [--images 10000] [--shared ../shared/data]

The build runs in a child process, so its peak resident memory (`ru_maxrss`) is its own; the
peak after the imports alone is reported beside it, the difference being what building takes.
"""

import argparse
import concurrent.futures
import json
import multiprocessing
import os
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

import tensorflow as tf

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # data_prep is importable from a checkout without installing

from data_prep.standard import STANDARD_DATASETS
from keras_colorize import data
from keras_colorize.datasets import build_dataset

STANDARD_FILE = "lfw128.h5"
BATCH_SIZE = 32


def _peak_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def _build_in_child(shared, out_path, images):
    after_imports = _peak_rss_mib()
    sources, options = STANDARD_DATASETS[STANDARD_FILE]
    started = time.perf_counter()
    summary = build_dataset(
        [shared / source for source in sources], out_path, limit=images, verbose=False, **options
    )
    seconds = time.perf_counter() - started
    return {
        "images": images,
        "kept": summary["kept"],
        "skipped": summary["skipped"],
        "seconds": round(seconds, 2),
        "images_per_second": round(images / seconds, 1),
        "peak_rss_mib": round(_peak_rss_mib(), 1),
        "peak_rss_after_imports_mib": round(after_imports, 1),
        "file_mib": round(out_path.stat().st_size / 2**20, 1),
        "options": {"sources": sources, **options},
    }


def measure_build(shared, out_path, images):
    """Build in a fresh process, so that its peak memory is the build's alone."""
    spawn = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(max_workers=1, mp_context=spawn) as child:
        return child.submit(_build_in_child, shared, out_path, images).result()


def time_one_epoch(batches):
    """(images, seconds) for one pass (map functions were traced when the pipeline was made)."""
    images, started = 0, time.perf_counter()
    for batch in batches:
        images += int(tf.nest.flatten(batch)[0].shape[0])
    return images, time.perf_counter() - started


def measure_reads(path):
    """Read rates of the train split: the decoded samples alone, then each element format."""
    runs = [("samples only", None)] + [(name, None) for name in data.element_formats()]
    runs += [("l_ab_unit", "gan"), ("sketch_rgb_tanh", "pix2pix"), ("sketch_rgb", "elastic")]
    rows = []
    for element_format, augment in runs:
        source = data.from_hdf5(path, "train")
        if element_format == "samples only":
            batches = source.batch(BATCH_SIZE)
        else:
            batches = data.make_dataset(source, element_format, BATCH_SIZE, augment=augment)
        images, seconds = time_one_epoch(batches)
        rows.append(
            {
                "format": element_format,
                "augment": augment or "none",
                "images": images,
                "seconds": round(seconds, 2),
                "images_per_second": round(images / seconds, 1),
            }
        )
        rate = images / seconds
        print(f"  {element_format:<16} augment={augment or 'none':<8} {rate:7.1f} img/s")
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=10000, help="LFW images to build from")
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared" / "data",
                        help="the shared research data folder")
    parser.add_argument("--out", type=Path,
                        default=REPO / "benchmarks" / "results" / "data_pipeline.json")
    args = parser.parse_args()
    if not (args.shared / "lfw" / "images").is_dir():
        sys.exit(f"{args.shared / 'lfw' / 'images'}: not found; pass --shared")

    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / STANDARD_FILE
        print(f"building {args.images} LFW images into {path} ...")
        build = measure_build(args.shared, path, args.images)
        print(f"  {build['images_per_second']} img/s, peak RSS {build['peak_rss_mib']} MiB "
              f"({build['peak_rss_after_imports_mib']} MiB after imports)")
        print(f"reading the train split ({BATCH_SIZE}-image batches) ...")
        reads = measure_reads(path)

    results = {
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "tensorflow": tf.__version__,
        },
        "build": build,
        "read": reads,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print_table(build, reads)
    print(f"wrote {args.out}")


def print_table(build, reads):
    print()
    print(f"build: {build['images']} images ({build['kept']} kept, skipped {build['skipped']}) "
          f"in {build['seconds']} s = {build['images_per_second']} img/s; "
          f"peak RSS {build['peak_rss_mib']} MiB, {build['peak_rss_after_imports_mib']} MiB "
          f"of it the imports; file {build['file_mib']} MiB")
    print()
    print(f"| {'read (train split)':<22} | {'augment':<8} | {'images':>6} | {'img/s':>8} |")
    print(f"|{'-' * 24}|{'-' * 10}|{'-' * 8}|{'-' * 10}|")
    for row in reads:
        print(f"| {row['format']:<22} | {row['augment']:<8} | {row['images']:>6} "
              f"| {row['images_per_second']:>8.1f} |")


if __name__ == "__main__":
    main()
