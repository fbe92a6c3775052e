"""Markdown tables of the benchmark results in benchmarks/results/ (for docs/benchmarks.md).

    python benchmarks/summary.py
"""

import json
import sys
from pathlib import Path

import peers

RESULTS = Path(__file__).resolve().parent / "results"


def _table(heading, rows):
    lines = ["| " + " | ".join(heading) + " |", "|---|---" + "|---:" * (len(heading) - 2) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def _rate(value, preset):
    """Images/s as docs/benchmarks.md shows them: paper presets train at a few per second."""
    return f"{value:.2f}" if preset == "paper" else f"{value:.1f}"


def training_table(report):
    by_key = {(run["model"], run["preset"], run["precision"]): run for run in report["runs"]}
    rows = []
    for (model, preset, precision), run in by_key.items():
        if precision != "float32":
            continue
        bf16 = by_key.get((model, preset, "mixed_bfloat16"))  # not measured, or failed
        rows.append([
            f"`{model}`", f"{preset} ({run['image_size']} px, batch {run['batch_size']})",
            _rate(run["images_per_second"], preset), f"{run['percent_of_float32_peak']:.1f}%",
            _rate(bf16["images_per_second"], preset) if bf16 else "-",
            f"{bf16['percent_of_float32_peak']:.1f}%" if bf16 else "-",
            f"{run['input_images_per_second']:,.0f} ({run['input_to_training_ratio']:.1f}x)",
        ])
    heading = ["model", "preset", "float32 img/s", "% peak", "bf16 img/s", "% of f32 peak",
               "input img/s (x training)"]
    peaks = [run["float32_matmul_peak_gflops"] for run in report["runs"]]
    return (f"float32 matmul peak, the higher of one before and one after each row: "
            f"{min(peaks):.0f}-{max(peaks):.0f} GFLOP/s\n\n" + _table(heading, rows))


def layer_table(report):
    rows = []
    for run in report["runs"]:
        slowest = sorted(run["layers"], key=lambda layer: layer["percent_of_float32_peak"])[:3]
        trained = "training_images_per_second" in run
        rows.append([
            f"`{run['model']}`", f"{run['preset']} (batch {run['batch_size']})",
            f"{run['convolutions_percent_of_float32_peak']:.1f}%",
            f"{run['convolutions_bound_images_per_second']:.1f}",
            f"{run['training_images_per_second']:.1f}" if trained else "-",
            f"{run['percent_of_step_outside_convolutions']:.0f}%" if trained else "-",
            ", ".join(f"{layer['layer']} {layer['percent_of_float32_peak']:.0f}%" for layer in slowest),
        ])
    heading = ["model", "preset", "convolutions alone (% peak)", "at most img/s", "float32 training img/s",
               "step outside convolutions", "least efficient layers"]
    return _table(heading, rows)


def _latency_order(row):
    """Shipped models first, then what is not shipped (its small preset), then paper presets."""
    return {"shipped": 0, "small": 1, "paper": 2}[row["preset"]]


def inference_tables(report):
    shipped = {row["model"] for row in report["latency"] if row["preset"] == "shipped"}
    rows = [row for row in report["latency"] if not (row["preset"] == "small" and row["model"] in shipped)]
    latency = _table(
        ["model", "preset", "batch 1 (ms)", "batch 16 (ms)", "batch 16 img/s"],
        [[f"`{row['model']}`", row["preset"], f"{row['batch1_ms']:.1f}", f"{row['batch16_ms']:.1f}",
          f"{row['batch16_images_per_second']:.1f}"]
         for row in sorted(rows, key=_latency_order)],
    )
    video = _table(
        ["model", "preset", "frames", "frames/s"],
        [[f"`{row['model']}`", row["preset"], f"{row['frames']} at {row['frame_size']}", row["frames_per_second"]]
         for row in report["video"]],
    )
    return latency + "\n\n" + video


def data_table(report):
    build = report["build"]
    lines = [
        (f"build: {build['images']:,} LFW images in {build['seconds']} s = {build['images_per_second']} img/s; "
         f"peak RSS {build['peak_rss_mib']} MiB ({build['peak_rss_after_imports_mib']} MiB after imports); "
         f"{build['kept']:,} kept; file {build['file_mib']} MiB"),
        "",
        _table(["element format", "augment", "img/s"],
               [[row["format"], row["augment"], row["images_per_second"]] for row in report["read"]]),
    ]
    return "\n".join(lines)


def peers_table(report):
    return f"{peers.conditions(report)}, `{report['command']}`\n\n{peers.table(report['rows'])}"


def video_table(report):
    return peers.conditions(report) + "\n\n" + _table(
        ["clip", "frames", "frames/s", "whole command (s)", "peak memory (MiB)"],
        [[row["clip"], f"{row['frames']} at {report['frame_size']}", row["frames_per_second"], row["wall_seconds"],
          row["peak_rss_mib"]] for row in report["runs"]],
    )


def main():
    sections = {
        "training_speed.json": training_table,
        "layer_speed.json": layer_table,
        "inference_speed.json": inference_tables,
        "data_pipeline.json": data_table,
        "peers.json": peers_table,
        "video_speed.json": video_table,
    }
    found = [name for name in sections if (RESULTS / name).is_file()]
    if not found:
        print(f"no benchmark results in {RESULTS}: run `make bench` first", file=sys.stderr)
        return 1
    for name in found:
        print(f"### {name}\n\n{sections[name](json.loads((RESULTS / name).read_text()))}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
