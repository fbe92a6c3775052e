"""Scoring a trained colorizer on a dataset, next to the baselines every colorizer must beat.

    from keras_colorize import Colorizer, evaluation
    dataset = evaluation.open_data("data/cufs.h5", split="test")
    summary = evaluation.evaluate(Colorizer.load("runs/pix2pix"), dataset, ["psnr", "ssim"],
                                  "runs/pix2pix/evaluation", baselines=("gray", "sketch"))
    print(evaluation.format_table(summary))

Data (`open_data`): an HDF5 file from `data_prep build` (one split), a folder of colour photos,
or a folder with `photos/` and `sketches/` (CUFS style, matched by name); a folder with
`train/`, `test/` subfolders gives the `split` one.

Systems scored on the same images: `model`, whose input is the ground truth's gray image (its
CIELAB lightness, `color.rgb_to_gray`) or, for sketch models, the sketch; the `gray` baseline,
that gray image itself (a = b = 0); the `sketch` baseline, the sketch itself. Data without
sketches (a photo folder, an HDF5 file built without them) gets the pencil sketch of each
photo, drawn at the model's input size (`Colorizer.pencil_sketch`) as the standard training
files' sketches were drawn at theirs.

Conventions: every image is scored at its stored size (the Colorizer runs the model at its own
size and returns the input's size). Ground truths that are already gray (`is_grayscale`) are
skipped with the reason "grayscale", like unreadable files: a colour metric means nothing on them
(PSNR is infinite). A photo with no drawn sketch is skipped ("no_sketch") only when sketches
are used: a gray model without the sketch baseline scores every photo. With SSIM, images under
its 11x11 window are skipped ("too_small"): it cannot score them. Std is the population std
(ddof 0). Recognition (`metrics.rank1_hits`) uses the evaluated photos as the gallery and each
system's outputs as probes.

Outputs in `out_dir`: `per_image.csv` (image, system, one column per metric), `summary.json`
(mean and std per system and metric, image sizes, skipped files), `table.txt` (`format_table`)
and `samples.png` (input / ground truth / prediction / baselines for the first images).
"""

import collections
import csv
import dataclasses
import functools
import itertools
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np

from keras_colorize import data, files, hdf5, images, inference, metrics, plotting, sketches
from keras_colorize.errors import EvaluationError
from keras_colorize.image_checks import is_grayscale
from keras_colorize.image_folders import find_samples
from keras_colorize.progress import Tally
from keras_colorize.sketches import to_gray

# Metric names as `evaluate.py --metrics` takes them -> the columns each one reports.
METRICS = {
    "psnr": ("psnr",),
    "ssim": ("ssim",),
    "colorfulness": ("colorfulness", "colorfulness_diff"),
    "saturation": ("saturation",),
    "ab_mae": ("ab_mae",),
    "recognition": ("recognition",),
    "fid_mobilenet": ("fid_mobilenet",),
}
SET_COLUMNS = ("fid_mobilenet",)  # one value for the whole set (`metrics.frechet_distance`)
BASELINES = ("gray", "sketch")
MODEL_INPUTS = ("gray", "sketch")
COLUMN_FORMATS = {  # column -> (table heading, format of mean and std)
    "psnr": ("PSNR (dB)", "{:.2f}"),
    "ssim": ("SSIM", "{:.4f}"),
    "colorfulness": ("colourfulness", "{:.2f}"),
    "colorfulness_diff": ("colourfulness diff", "{:.2f}"),
    "saturation": ("saturation diff", "{:.4f}"),
    "ab_mae": ("ab MAE", "{:.2f}"),
    "recognition": ("rank-1 recognition", "{:.1%}"),
    "fid_mobilenet": ("FID (MobileNet)", "{:.2f}"),
}
IMAGE_SIZE_POLICY = (
    "each image scored at its stored size (WxH below); the model runs at its own input size "
    "inside the Colorizer, which returns the input's size (LAB models keep the full-resolution "
    f"lightness); recognition compares gray faces area-resized to {metrics.RECOGNITION_SIZE}"
)
OUTPUT_FILES = ("per_image.csv", "summary.json", "table.txt", "samples.png")
SKETCHES_MADE_HERE = "pencil (made here at the model's input size: Colorizer.pencil_sketch)"


@dataclasses.dataclass(frozen=True)
class Sample:
    name: str
    truth: np.ndarray  # uint8 RGB (H, W, 3)
    sketch: np.ndarray | None  # uint8 (H, W), 255 = paper white


@dataclasses.dataclass(frozen=True)
class EvalData:
    """A dataset to score on; `read(with_sketches)` yields a `Sample`, or the `ImageError` of a bad
    file, per item. Without sketches every `Sample.sketch` is None and photos lacking one are kept."""

    path: Path
    kind: str  # "hdf5", "photos" or "photos+sketches"
    split: str | None
    count: int
    sketches: str  # where its sketches come from: "pencil", "line", "drawn", or "" (none)
    read: Callable


# --- data ------------------------------------------------------------------------------------


def open_data(path, split="test"):
    """An HDF5 file's `split`, or a folder of photos (with `sketches/`, or `split/` folders)."""
    path = Path(path)
    if hdf5.is_hdf5(path):
        return _hdf5_data(path, split)
    if path.is_dir():
        return _folder_data(path, split)
    if not path.exists():
        raise EvaluationError(f"{path}: no such file or folder")
    raise EvaluationError(f"{path}: neither an HDF5 file nor a folder of images")


def _hdf5_data(path, split):
    opened = hdf5.open_split(path, split)  # DataSourceError names what is wrong with the file
    if opened.count == 0:
        raise EvaluationError(f"{path}: split {split!r} is empty; choose another split")
    names = opened.source_names()
    stream = data.from_hdf5_split(opened)
    as_uint8 = stream.map(lambda sample: {key: inference.to_uint8(value) for key, value in sample.items()})

    def read(with_sketches=True):
        for name, sample in zip(names, as_uint8.as_numpy_iterator()):
            sketch = sample["sketch"][..., 0] if with_sketches and "sketch" in sample else None
            yield Sample(str(name), sample["rgb"], sketch)

    return EvalData(path, "hdf5", split, opened.count, opened.sketch, read)


def _folder_data(path, split):
    try:
        found, drawn = find_samples(path)
    except ValueError as error:
        raise EvaluationError(str(error)) from None
    splits = sorted({sample.split for sample in found} - {None})
    if splits:
        if split not in splits:
            raise EvaluationError(f"{path}: has no {split!r} split folder (it has {splits})")
        found = [sample for sample in found if sample.split == split]
    if not found:
        raise EvaluationError(f"{path}: no image files found")

    def read(with_sketches=True):
        for sample in found:
            try:
                truth = images.read_rgb(sample.path)
                sketch = (
                    to_gray(sample.read_drawn_sketch(truth.shape[:2]))
                    if drawn and with_sketches
                    else None
                )
            except images.ImageError as error:
                yield error
                continue
            yield Sample(sample.name, truth, sketch)

    kind = "photos+sketches" if drawn else "photos"
    return EvalData(path, kind, split if splits else None, len(found), "drawn" if drawn else "", read)


# --- scoring ---------------------------------------------------------------------------------


def metric_columns(metric_names):
    """The CSV / summary columns of the requested metrics, in the order asked, once each."""
    unknown = sorted(set(metric_names) - set(METRICS))
    if unknown or not metric_names:
        raise EvaluationError(f"unknown metrics {unknown}; choose from {list(METRICS)}")
    return tuple(dict.fromkeys(column for name in metric_names for column in METRICS[name]))


def _smallest_side(columns):
    """The least height and width the `columns` can score: SSIM's window must fit in the image."""
    return metrics.SSIM_FILTER_SIZE if "ssim" in columns else 1


def _usable_samples(items, tally, sketch_of, smallest_side):
    """The samples worth scoring; bad files, images under `smallest_side` and gray ground truths
    go to `tally` as rejects. A sample without a sketch gets `sketch_of` its photo, if given."""
    for item in items:
        if isinstance(item, images.ImageError):
            tally.reject(item)
        elif min(item.truth.shape[:2]) < smallest_side:
            height, width = item.truth.shape[:2]
            detail = f"{width}x{height}; SSIM needs at least {smallest_side}x{smallest_side}"
            tally.reject(images.ImageError(item.name, "too_small", detail))
        elif is_grayscale(item.truth):
            tally.reject(images.ImageError(item.name, "grayscale", "the ground truth has no colour"))
        else:
            tally.keep()
            if sketch_of and item.sketch is None:
                item = dataclasses.replace(item, sketch=sketch_of(item.truth))
            yield item


def batches(samples, batch_size):
    """Runs of up to `batch_size` consecutive samples of one image size."""
    batch = []
    for sample in samples:
        if batch and (len(batch) == batch_size or sample.truth.shape != batch[0].truth.shape):
            yield batch
            batch = []
        batch.append(sample)
    if batch:
        yield batch


def _outputs(colorizer, batch, model_input, baselines):
    """{"input", "truth", "model", *baselines: uint8 RGB (N, H, W, 3)} for one batch."""
    truth = np.stack([sample.truth for sample in batch])
    shown = {"gray": inference.gray_version(truth)}
    if batch[0].sketch is not None:
        shown["sketch"] = images.gray_to_rgb(np.stack([sample.sketch for sample in batch]))
    outputs = {"input": shown[model_input], "truth": truth, "model": colorizer.colorize(shown[model_input])}
    return {**outputs, **{baseline: shown[baseline] for baseline in baselines}}


class _Scores:
    """Collects, batch by batch, the images' names and sizes, every system's per-image scores
    and the grid's first rows."""

    def __init__(self, systems, columns, grid_rows):
        self.systems = systems
        self.columns = columns
        self.grid_rows = grid_rows
        self.names = []
        self.sizes = collections.Counter()
        self.grid = []
        self._values = collections.defaultdict(list)  # (system, column) -> arrays
        self._faces = collections.defaultdict(list)  # "truth" or system -> face vectors
        self._features = collections.defaultdict(list)  # "truth" or system -> MobileNet features

    def add(self, batch, outputs):
        self.names += [sample.name for sample in batch]
        height, width = batch[0].truth.shape[:2]
        self.sizes[f"{width}x{height}"] += len(batch)
        for system in self.systems:
            for column in self.columns:
                if column not in ("recognition", *SET_COLUMNS):
                    score = metrics.get(column)(outputs["truth"], outputs[system])
                    self._values[system, column].append(score.numpy())
        if "recognition" in self.columns:
            for key in ("truth", *self.systems):
                self._faces[key].append(metrics.face_vectors(outputs[key]))
        if "fid_mobilenet" in self.columns:
            for key in ("truth", *self.systems):
                self._features[key].append(metrics.frechet_features(outputs[key]))
        shown = [outputs[key] for key in ("input", "truth", *self.systems)]
        self.grid += list(zip(*shown))[: self.grid_rows - len(self.grid)]

    @property
    def image_columns(self):
        """The columns with a value per image (all but `SET_COLUMNS`)."""
        return [column for column in self.columns if column not in SET_COLUMNS]

    def per_set(self):
        """{system: {column: value}} for the `SET_COLUMNS` asked for: the Frechet distance of
        each system's outputs from the ground truths."""
        if "fid_mobilenet" not in self.columns:
            return {system: {} for system in self.systems}
        truth = np.concatenate(self._features["truth"])
        return {
            system: {"fid_mobilenet": metrics.frechet_distance(np.concatenate(self._features[system]), truth)}
            for system in self.systems
        }

    def per_image(self):
        """{system: {column: values (N,)}}; recognition against the gallery of all ground truths."""
        table = {system: {} for system in self.systems}
        if "recognition" in self.columns:
            gallery = np.concatenate(self._faces["truth"])
        for system in self.systems:
            for column in self.image_columns:
                table[system][column] = (
                    metrics.rank1_hits(gallery, np.concatenate(self._faces[system]))
                    if column == "recognition"
                    else np.concatenate(self._values[system, column])
                )
        return table


def default_baselines(model_input):
    """The gray baseline, and the sketch baseline for sketch models."""
    return ("gray", "sketch") if model_input == "sketch" else ("gray",)


def evaluate(colorizer, dataset, metric_names, out_dir, *, baselines=None, model_input=None,
             samples=8, batch_size=16, limit=None, overwrite=False, verbose=True, sketch_style=None):
    """Score `colorizer` and `baselines` on `dataset` (from `open_data`); write and return the summary.

    `model_input` ("gray" or "sketch") defaults to what the model was trained on, `baselines`
    to `default_baselines(model_input)`; `samples` images go into the grid; `limit` reads only
    the first items; outputs already in `out_dir` are kept unless `overwrite`. `sketch_style`
    (a `sketches.SKETCH_STYLES` name) draws every sketch anew in that style from its photo, at
    the photo's stored size, in place of the data's own sketches.
    """
    if sketch_style is not None and sketch_style not in sketches.SKETCH_STYLES:
        raise EvaluationError(f"unknown sketch style {sketch_style!r}; choose from {sorted(sketches.SKETCH_STYLES)}")
    columns = metric_columns(metric_names)
    _check_counts(samples, batch_size, limit)
    model_input = model_input or colorizer.input_kind
    if model_input not in MODEL_INPUTS:
        raise EvaluationError(
            f"{colorizer.source}: cannot tell whether model {colorizer.name!r} colorizes gray "
            f"photos or sketches; say which with `model_input` (evaluate.py --input: "
            f"{' or '.join(MODEL_INPUTS)})"
        )
    baselines = default_baselines(model_input) if baselines is None else tuple(baselines)
    unknown = sorted(set(baselines) - set(BASELINES))
    if unknown:
        raise EvaluationError(f"unknown baselines {unknown}; choose from {list(BASELINES)}")
    out_dir = output_folder(out_dir, overwrite, dataset.path)
    count = dataset.count if limit is None else min(dataset.count, limit)
    tally = Tally(count, f"evaluating {colorizer.name} on {dataset.path}", verbose)
    with_sketches = model_input == "sketch" or "sketch" in baselines
    items = itertools.islice(dataset.read(with_sketches and sketch_style is None), count)
    sketch_of = colorizer.pencil_sketch if with_sketches else None
    if with_sketches and sketch_style is not None:
        sketch_of = functools.partial(sketches.make_sketch, style=sketch_style)
    usable = _usable_samples(items, tally, sketch_of, _smallest_side(columns))

    scores = _Scores(("model", *baselines), columns, samples)
    for batch in batches(usable, batch_size):
        scores.add(batch, _outputs(colorizer, batch, model_input, baselines))
    skipped = tally.finish(f"evaluated {colorizer.name} on {dataset.path}")["skipped"]
    if len(scores.names) < (2 if "recognition" in columns else 1):
        raise EvaluationError(
            f"{dataset.path}: {len(scores.names)} usable images, too few to score "
            f"(skipped: {skipped or 'none'})"
        )
    per_image, per_set = scores.per_image(), scores.per_set()
    summary = {
        "model": {
            "name": colorizer.name,
            "source": colorizer.source,
            "element_format": colorizer.element_format,
            "input": model_input,
        },
        "data": {
            "path": str(dataset.path),
            "kind": dataset.kind,
            "split": dataset.split,
            "sketches": _where_sketches_come_from(dataset, with_sketches, sketch_style),
        },
        "image_size": {"policy": IMAGE_SIZE_POLICY, "sizes": dict(scores.sizes)},
        "images": {
            "read": count,
            "evaluated": len(scores.names),
            "skipped": skipped,
            "skipped_files": [
                {"file": error.path, "reason": error.reason, "detail": error.detail}
                for error in tally.rejects
            ],
        },
        "columns": list(columns),
        "results": {
            system: {
                **{
                    column: {"mean": float(np.mean(values)), "std": float(np.std(values))}
                    for column, values in columns_values.items()
                },
                **{column: {"value": value} for column, value in per_set[system].items()},
            }
            for system, columns_values in per_image.items()
        },
    }
    _write_naming_failures(out_dir, OUTPUT_FILES, lambda: _write_outputs(out_dir, summary, scores, per_image))
    return summary


def _where_sketches_come_from(dataset, with_sketches, sketch_style):
    if not with_sketches:
        return ""
    if sketch_style is not None:
        return f"{sketch_style} (drawn here from each photo at its stored size)"
    return dataset.sketches or SKETCHES_MADE_HERE


def _check_counts(samples, batch_size, limit):
    """Refuse counts that would be misread: a limit of 0 as "all", a negative one by islice."""
    if batch_size < 1 or (limit is not None and limit < 1) or samples < 0:
        raise EvaluationError(
            f"batch_size and limit must be at least 1 and samples at least 0, not "
            f"batch_size={batch_size}, limit={limit}, samples={samples}"
        )


def _write_naming_failures(out_dir, file_names, write):
    """`write()` the files `file_names` into `out_dir`; when the disk is full or a file is
    refused, an EvaluationError naming the folder (and the file, when the system says), and the
    outputs it had written removed: half of a per_image.csv would make the next run need --overwrite."""
    existed = {name for name in file_names if (out_dir / name).exists()}
    try:
        write()
    except OSError as error:
        for name in set(file_names) - existed:
            (out_dir / name).unlink(missing_ok=True)
        where = f" ({error.filename})" if error.filename else ""
        raise EvaluationError(
            f"{out_dir}: the results could not be written{where}: {error.strerror or error}"
        ) from None


def _write_outputs(out_dir, summary, scores, per_image):
    # Made only now, so that a run that fails while scoring leaves no empty folder behind.
    out_dir.mkdir(parents=True, exist_ok=True)
    with open(out_dir / "per_image.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["image", "system", *scores.image_columns])
        for index, name in enumerate(scores.names):
            for system, values in per_image.items():
                cells = (f"{values[column][index]:.6g}" for column in scores.image_columns)
                writer.writerow([name, system, *cells])
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    (out_dir / "table.txt").write_text(format_table(summary) + "\n", encoding="utf-8")
    if scores.grid:
        titles = (f"input ({summary['model']['input']})", "ground truth", "prediction",
                  *(f"{system} baseline" for system in scores.systems[1:]))
        title = f"{summary['model']['name']} on {Path(summary['data']['path']).name}"
        plotting.image_grid(scores.grid, out_dir / "samples.png", title, titles=titles)


def output_folder(out_dir, overwrite, data_path, outputs=OUTPUT_FILES):
    """`out_dir` as a Path, once it is known not to hold earlier `outputs` (unless `overwrite`)
    nor to lie in a data folder, where the next evaluation would score its images."""
    try:
        return files.prepare_output(
            out_dir, overwrite, hint="--out takes a folder (created when missing)", outputs=outputs,
            remedy="choose another output folder or overwrite them (evaluate.py --overwrite)", source=data_path,
        )
    except (ValueError, OSError) as error:
        raise EvaluationError(str(error)) from None


def _mean_and_std(result, column):
    number = COLUMN_FORMATS[column][1].format
    return f"{number(result['mean'])} ± {number(result['std'])}"


def format_table(summary):
    """The summary as a text table, one row per system, each cell "mean ± std" (paper Table II)."""
    model, data_info, counts = summary["model"]["name"], summary["data"], summary["images"]
    labels = {"model": f"{model} (model)", **{b: f"{b} baseline" for b in BASELINES}}

    def cell(result, column):
        if "value" in result:  # a whole-set metric
            return COLUMN_FORMATS[column][1].format(result["value"])
        return _mean_and_std(result, column)

    header = ["system", *(COLUMN_FORMATS[column][0] for column in summary["columns"])]
    rows = [
        [labels[system], *(cell(results[column], column) for column in summary["columns"])]
        for system, results in summary["results"].items()
    ]
    split = f" ({data_info['split']} split)" if data_info["split"] else ""
    skipped = ", ".join(f"{reason} {n}" for reason, n in counts["skipped"].items()) or "none"
    title = f"{model} on {data_info['path']}{split}: {counts['evaluated']} images, skipped: {skipped}"
    return _text_table(title, header, rows)


def _text_table(title, header, rows):
    """`title`, then the header, a rule and the rows in columns as wide as their widest cell."""
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    rule = ["-" * width for width in widths]
    lines = [title]
    for row in (header, rule, *rows):
        lines.append("  ".join(text.ljust(width) for text, width in zip(row, widths)).rstrip())
    return "\n".join(lines)


# --- the sketch-inversion paper's protocol ---------------------------------------------------

PROTOCOLS = ("joy2017",)
JOY2017_DATA = "data/celeba100.h5"  # CelebA faces at the paper's 100x100 (`make data`)
# The sketch styles of Table II, as `sketches.SKETCH_STYLES` names -> the paper's row names.
JOY2017_STYLES = {"line": "line sketch", "pencil": "gray-scale (pencil) sketch"}
# Joy & Singh 2017, Table II (mean ± std on CelebA test faces) and Table III (rank-1, PCA +
# correlation matcher; one figure for both sketch styles: the paper does not split it).
JOY2017_PAPER = {
    "line": {"ssim": (0.81342, 0.027), "psnr": (17.58561, 0.014)},
    "pencil": {"ssim": (0.75812, 0.012), "psnr": (15.82431, 0.019)},
    "recognition": {"sketch": 0.6534, "model": 0.942},
}
JOY2017_FILES = ("joy2017.json", "joy2017.txt")


def joy2017(colorizer, dataset, out_dir, *, batch_size=16, limit=None, overwrite=False, verbose=True):
    """The sketch-inversion paper's evaluation (Tables II and III): for each of its sketch styles
    (`JOY2017_STYLES`), every photo of `dataset` sketched in that style at its stored size, and
    SSIM, PSNR and rank-1 recognition (`metrics.rank1_hits`, the paper's PCA + correlation
    matcher) scored for the generated photos and for the sketches themselves, in
    `out_dir/<style>/` (`evaluate`'s files). `out_dir/joy2017.json` and `joy2017.txt` put both
    styles beside the paper's figures; returns that report."""
    for style in JOY2017_STYLES:
        output_folder(Path(out_dir) / style, overwrite, dataset.path)
    out_dir = output_folder(out_dir, overwrite, dataset.path, JOY2017_FILES)
    summaries = {
        style: evaluate(
            colorizer, dataset, ["ssim", "psnr", "recognition"], out_dir / style, baselines=("sketch",),
            model_input="sketch", batch_size=batch_size, limit=limit, overwrite=overwrite, verbose=verbose,
            sketch_style=style,
        )
        for style in JOY2017_STYLES
    }
    first = summaries[next(iter(JOY2017_STYLES))]
    report = {
        "protocol": "joy2017",
        "model": first["model"],
        "data": {**first["data"], "sketches": "drawn here from each photo at its stored size"},
        "image_size": first["image_size"],
        "images": first["images"]["evaluated"],
        "paper": JOY2017_PAPER,
        "results": {style: summary["results"] for style, summary in summaries.items()},
    }
    _write_naming_failures(out_dir, JOY2017_FILES, lambda: _write_joy2017(out_dir, report))
    return report


def _write_joy2017(out_dir, report):
    (out_dir / "joy2017.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    (out_dir / "joy2017.txt").write_text(format_joy2017(report) + "\n", encoding="utf-8")


def format_joy2017(report):
    """The protocol's report as a text table: each sketch style's row, then the paper's."""
    header = ["sketches", "SSIM", "PSNR (dB)", "rank-1, sketches", "rank-1, generated photos"]
    paper_rank1 = [f"{JOY2017_PAPER['recognition'][system]:.1%}" for system in ("sketch", "model")]
    rows = []
    for style, results in report["results"].items():
        generated = results["model"]
        rows.append([
            JOY2017_STYLES[style], _mean_and_std(generated["ssim"], "ssim"), _mean_and_std(generated["psnr"], "psnr"),
            f"{results['sketch']['recognition']['mean']:.1%}", f"{generated['recognition']['mean']:.1%}",
        ])
        paper = {column: dict(zip(("mean", "std"), values)) for column, values in JOY2017_PAPER[style].items()}
        rows.append([
            "  paper", _mean_and_std(paper["ssim"], "ssim"), _mean_and_std(paper["psnr"], "psnr"), *paper_rank1,
        ])
    data_info = report["data"]
    sizes = ", ".join(report["image_size"]["sizes"])
    model = report["model"]
    title = (
        f"{model['name']} ({model['source']}), Joy & Singh 2017 Tables II-III, on {data_info['path']} "
        f"({data_info['split']} split): {report['images']} faces at {sizes}, sketches drawn from each photo"
    )
    return _text_table(title, header, rows)
