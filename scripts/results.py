"""Score every shipped model and write the model cards, README tables and picture grids.

    python scripts/results.py            # make results

For each model in keras_colorize/weights/ (and each unshipped one named by --also, or scored
before): `evaluation.evaluate` on the LFW test faces (data/lfw128.h5, pencil sketches for sketch
models), the CUFS test portraits (data/cufs.h5, artists' sketches) and, for gray-photo models,
the general photos (data/general256_test.h5, with the Frechet distance), into
docs/results/<lfw|cufs|general>/<name>/, unless that folder already holds the summary of the same
weights (their sha256 in `weights.sha256`: a re-shipped or retrained model is scored again;
`--rescore` scores every model again, after a change to how models are run or scored). Then:
- keras_colorize/weights/<name>/README.md, the model card (training stages from its config.json,
  metrics);
- the README's results tables, between the `results:begin` / `results:end` markers;
- docs/results/bw_historical.jpg (old photographs through every gray model; a JPEG, as its PNG
  took 2 MB),
  docs/results/general_photos.jpg (ImageNet test photos through every gray model; a JPEG, as
  a PNG of 56 photos takes 2.7 MB) and
  docs/results/cufs_sketches.png (CUFS test sketches through every sketch model).
"""

import argparse
import hashlib
import json
import re
import sys
from pathlib import Path

import cv2

from keras_colorize import console

console.import_tensorflow_quietly()  # a command's output opens without TensorFlow's start-up lines

from keras_colorize import Colorizer, evaluation, images, inference, plotting, shipped  # noqa: E402
from keras_colorize.faces import centre_box, crop_to_box  # noqa: E402
from keras_colorize.errors import ModelLoadError  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
TEST_SETS = {  # name -> (HDF5 file under --data, what it is, the model inputs it scores)
    "lfw": ("lfw128.h5", "LFW test faces (1,318, identity-disjoint from training; pencil sketches)",
            ("gray", "sketch")),
    "cufs": ("cufs.h5", "CUFS test portraits (100 photos with artists' sketches)", ("gray", "sketch")),
    "general": ("general256_test.h5", "general photos, 256x256 centre crops (493 colour photos of ImageNet "
                "sample and flowers val, none seen in training)", ("gray",)),
}
METRICS = {"lfw": ["psnr", "ssim", "colorfulness", "recognition"],
           "cufs": ["psnr", "ssim", "colorfulness", "recognition"],
           "general": ["psnr", "ssim", "colorfulness", "fid_mobilenet"]}
GRID_PHOTOS = 8
GRID_WIDTH = 256
CHECKPOINT_WORDS = {"best": "best validation checkpoint", "final": "model after its last epoch"}
README_MARKERS = ("<!-- results:begin -->", "<!-- results:end -->")


def weights_fingerprint(colorizer):
    """sha256 of what `colorizer` was loaded from: a shipped model's weights, a model file or a
    SavedModel folder (`Colorizer.load` has resolved the source to it)."""
    shipped_name = shipped.name_in(colorizer.source)
    path = shipped.weights_path(shipped_name) if shipped_name else Path(colorizer.source)
    files = sorted(file for file in path.rglob("*") if file.is_file()) if path.is_dir() else [path]
    digest = hashlib.sha256()
    for file in files:
        digest.update(file.read_bytes())
    return digest.hexdigest()


def evaluate_all(sources, data_dir, out_dir, rescore=False):
    """{(test set, name): summary} for {name: model source}, evaluating what `out_dir` lacks
    (everything with `rescore`)."""
    summaries = {}
    # All loaded first: a model that cannot load stops the script before the others are scored.
    colorizers = {name: Colorizer.load(source) for name, source in sources.items()}
    for name, colorizer in colorizers.items():
        fingerprint = weights_fingerprint(colorizer)
        for test_set, (file_name, _, inputs) in TEST_SETS.items():
            if colorizer.input_kind not in inputs:
                continue
            folder = out_dir / test_set / name
            scored = folder / "weights.sha256"
            if not rescore and scored.is_file() and scored.read_text().strip() == fingerprint:
                summaries[test_set, name] = json.loads((folder / "summary.json").read_text())
                continue
            dataset = evaluation.open_data(data_dir / file_name, "test")
            # The folder is this script's own; what it holds was scored from other weights.
            summaries[test_set, name] = evaluation.evaluate(
                colorizer, dataset, METRICS[test_set], folder, samples=0, overwrite=True, verbose=False
            )
            scored.write_text(fingerprint + "\n")
            print(evaluation.format_table(summaries[test_set, name]), flush=True)
    return summaries


# --- tables ------------------------------------------------------------------------------------


def _cell(result, column):
    value = result[column].get("value", result[column].get("mean"))  # a whole-set metric has one value
    return evaluation.COLUMN_FORMATS[column][1].format(value)


def _truth_colourfulness(result):
    """The ground truth's mean colourfulness, from a system's mean and its mean difference."""
    return result["colorfulness"]["mean"] - result["colorfulness_diff"]["mean"]


def _colourfulness_gap(summary, system):
    """Mean colourfulness relative to the ground truth's, as a signed percentage."""
    result = summary["results"][system]
    return f"{100 * result['colorfulness_diff']['mean'] / _truth_colourfulness(result):+.0f}%"


def results_table(summaries, test_set, input_kind):
    """Markdown: the models that take `input_kind` on `test_set`, then the baseline rows."""
    chosen = {name: s for (kind, name), s in summaries.items() if kind == test_set and s["model"]["input"] == input_kind}
    if not chosen:
        return ""
    columns = METRICS[test_set]
    heading = ["system", "PSNR (dB)", "SSIM", "colourfulness", "vs truth",
               *(evaluation.COLUMN_FORMATS[column][0] for column in columns[3:])]
    lines = ["| " + " | ".join(heading) + " |", "|" + "---|" + "---:|" * (len(heading) - 1)]

    def row(label, summary, system):
        cells = [_cell(summary["results"][system], column) for column in columns]
        cells.insert(3, _colourfulness_gap(summary, system))
        lines.append(f"| {label} | " + " | ".join(cells) + " |")

    for name, summary in sorted(chosen.items()):
        shipped_note = "" if shipped.name_in(summary["model"]["source"]) else " (not shipped)"
        row(f"`{name}`{shipped_note}", summary, "model")
    any_summary = next(iter(chosen.values()))
    for baseline in evaluation.default_baselines(input_kind):
        row(f"{baseline} baseline", any_summary, baseline)
    truth_colourfulness = _truth_colourfulness(any_summary["results"]["model"])
    lines.append(f"| ground truth | | | {truth_colourfulness:.2f} | |" + " |" * (len(columns) - 3))
    return "\n".join(lines)


def readme_section(summaries):
    parts = []
    for test_set, (_, description, _) in TEST_SETS.items():
        for kind, task in (("gray", "gray photo to colour"), ("sketch", "sketch to photo")):
            table = results_table(summaries, test_set, kind)
            if table:
                parts.append(f"**{task}, {description}**\n\n{table}")
    parts.append(
        "Every figure is the mean over the test split (`scripts/results.py`, per-image CSVs in "
        "`docs/results/`). Colourfulness is Hasler & Suesstrunk's; \"vs truth\" is the gap to the "
        "ground truth's. Recognition is rank-1 with the ground-truth photos as the gallery; FID "
        "(MobileNet) is the Frechet distance of the outputs from the ground truths in the ImageNet "
        "MobileNet's pooled features, FID's recipe with MobileNet for Inception, lower is better "
        "(`docs/evaluation.md`)."
    )
    parts.append("![Old photographs](docs/results/bw_historical.jpg)\n\n"
                 "![General photos](docs/results/general_photos.jpg)\n\n"
                 "![CUFS sketches](docs/results/cufs_sketches.png)")
    return "\n\n".join(parts)


def update_readme(readme, section):
    text = readme.read_text()
    begin, end = README_MARKERS
    pattern = re.compile(re.escape(begin) + ".*?" + re.escape(end), re.DOTALL)
    if not pattern.search(text):
        raise ValueError(f"{readme}: has no {begin} ... {end} markers")
    readme.write_text(pattern.sub(lambda _: f"{begin}\n{section}\n{end}", text))


# --- model cards -------------------------------------------------------------------------------


def _stage_line(index, stage):
    settings = ", ".join(
        f"{key} {stage[key]}" for key in ("batch_size", "learning_rate", "loss", "augment") if stage[key]
    )
    schedule = "; learning rate halved every half epoch" if stage["halve_lr_every_half_epoch"] else ""
    overrides = "".join(f", {key}={value}" for key, value in stage["overrides"].items())
    steps = stage["steps_per_epoch"]
    epochs = f"{stage['epochs_run']} epochs" + ("" if steps == "one pass" else f" of {steps} steps")
    sources = [stage["data"], *stage.get("extra_data", [])]  # shipped before mixing: one source
    data = " + ".join(f"`{_shown(source)}`" for source in sources) + (" (train splits" if len(sources) > 1 else " (train split")
    if stage.get("data_weights"):
        data += ", shares " + " / ".join(f"{weight:g}" for weight in stage["data_weights"])
    return (
        f"{index}. {data}), preset `{stage['preset']}`{overrides}: {epochs} "
        f"({settings}{schedule}), {stage['wall_seconds'] / 60:.0f} min wall clock (`{_shown(stage['run'])}`)"
    )


def _shown(path):
    """A recorded path as a card shows it: relative to the repository when inside it (runs
    record their data's absolute path)."""
    path = Path(path)
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)


def model_card(name, description, summaries):
    total_minutes = sum(stage["wall_seconds"] for stage in description["training"]) / 60
    check = description["storage_check"]
    lines = [
        f"# Model card: `{name}`",
        "",
        f"Model `{description['model']}` (`keras_colorize/models/`), builder config "
        f"`{json.dumps(description['config'])}`. Load it with `Colorizer.from_preset(\"{name}\")`.",
        "",
        "## Training",
        "",
        f"On this project's 2-core CPU (mixed bfloat16), {total_minutes:.0f} min in all; each stage "
        f"starts from the one before. Shipped: the last stage's {CHECKPOINT_WORDS[description['checkpoint']]}.",
        "",
        *(_stage_line(index, stage) for index, stage in enumerate(description["training"], 1)),
        "",
        f"Stored as {description['dtype']}: mean PSNR {check['psnr_float16']:.3f} dB against "
        f"{check['psnr_float32']:.3f} dB in float32 on the first {check['images']} test images of "
        f"`{_shown(check['data'])}`.",
        "",
        "## Metrics (test splits, against the baselines)",
    ]
    for test_set, (_, test_description, _) in TEST_SETS.items():
        if (test_set, name) not in summaries:
            continue
        summary = summaries[test_set, name]
        lines += ["", f"{test_description}; input: {summary['model']['input']}", "", "```",
                  evaluation.format_table(summary), "```"]
    lines += ["", "Data: research-use datasets (LFW, CelebA, CUFS, edges2shoes, ImageNet samples, flowers); "
              "see `docs/data.md`."]
    return "\n".join(lines) + "\n"


# --- grids -------------------------------------------------------------------------------------


def _shrunk(image):
    height, width = image.shape[:2]
    if width <= GRID_WIDTH:
        return image
    return cv2.resize(image, (GRID_WIDTH, round(height * GRID_WIDTH / width)), interpolation=cv2.INTER_AREA)


def historical_grid(sources, folder, path):
    """Old photographs (the first GRID_PHOTOS readable ones) through every gray model; no grid
    when `folder` is missing or holds none."""
    colorizers = [Colorizer.load(source) for source in sources.values()]
    rows = []
    for photo_path in images.list_images(folder):
        try:
            photo = _shrunk(images.read_rgb(photo_path))
        except images.ImageError as error:
            print(f"skipped {error}")
            continue
        gray = inference.gray_version(photo)
        rows.append([gray, *(colorizer.colorize(gray) for colorizer in colorizers)])
        if len(rows) == GRID_PHOTOS:
            break
    if not rows:
        # main has rewritten the cards and README by now: a missing folder must not end it in an error.
        print(f"skipped {path}: no readable photographs in {folder}")
        return
    plotting.image_grid(rows, path, f"old photographs ({folder.name})", titles=["input", *sources])


def general_grid(sources, folder, path):
    """GRID_PHOTOS photos spread over `folder` (imagenet_sample: 200 classes in wnid order),
    centre-cropped to 256x256 as in the general test set, through every gray model, with the
    photo; no grid when `folder` is missing or empty."""
    colorizers = [Colorizer.load(source) for source in sources.values()]
    photos = images.list_images(folder) if folder.is_dir() else []
    if not photos:
        print(f"skipped {path}: no photos in {folder}")
        return
    rows = []
    for photo_path in photos[:: max(1, len(photos) // GRID_PHOTOS)][:GRID_PHOTOS]:
        photo = images.read_rgb(photo_path)
        photo = crop_to_box(photo, centre_box(photo.shape), GRID_WIDTH)
        gray = inference.gray_version(photo)
        rows.append([gray, photo, *(colorizer.colorize(gray) for colorizer in colorizers)])
    plotting.image_grid(rows, path, f"general photos ({folder.name}, test)", titles=["input", "photo", *sources])


def sketch_grid(sources, data_dir, path):
    """The first CUFS test sketches through every sketch model, with the photos."""
    colorizers = [Colorizer.load(source) for source in sources.values()]
    dataset = evaluation.open_data(data_dir / TEST_SETS["cufs"][0], "test")
    rows = []
    for sample in dataset.read():
        sketch = images.gray_to_rgb(sample.sketch)
        rows.append([sketch, sample.truth, *(colorizer.colorize(sketch) for colorizer in colorizers)])
        if len(rows) == GRID_PHOTOS:
            break
    plotting.image_grid(rows, path, "CUFS test sketches (drawn by artists)",
                           titles=["sketch", "photo", *sources])


def unshipped_scored(out_dir, shipped_names):
    """{name: model file} of the models scored into `out_dir` earlier that are not shipped, so that
    a plain `make results` keeps their rows; one whose file is gone here is left out, with a word.
    A name shipped since it was scored is the shipped model's now."""
    found = {}
    for path in sorted(out_dir.glob("lfw/*/summary.json")):
        source = json.loads(path.read_text())["model"]["source"]
        if shipped.name_in(source) or path.parent.name in shipped_names:
            continue
        if Path(source).exists():
            found[path.parent.name] = source
        else:
            print(f"warning: {path.parent.name} was scored from {source}, which is not here; "
                  "its rows are dropped (pass --also NAME=MODEL)", file=sys.stderr)
    return found


def named_model(text):
    """An argparse type: NAME=MODEL -> (NAME, MODEL)."""
    name, equals, model = text.partition("=")
    if not (name and equals and model):
        raise argparse.ArgumentTypeError(f"expected NAME=MODEL, not {text!r}")
    return name, model


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path("data"), help="where `make data` built the test sets")
    parser.add_argument("--shared", type=Path, default=Path("../shared/data"))
    parser.add_argument("--out", type=Path, default=Path("docs/results"))
    parser.add_argument("--readme", type=Path, default=Path("README.md"))
    parser.add_argument("--rescore", action="store_true",
                        help="score every model again, not only those whose weights changed")
    parser.add_argument("--also", nargs="*", metavar="NAME=MODEL", type=named_model,
                        help="trained models that are not shipped, for the tables and grids (e.g. "
                             "fusion=runs/fusion/best.keras); default: those scored into --out before")
    args = parser.parse_args(argv)
    names = shipped.available()
    if not names:
        print("error: no shipped models in keras_colorize/weights/", file=sys.stderr)
        return 2
    also = unshipped_scored(args.out, names) if args.also is None else dict(args.also)
    if clashes := sorted(set(also) & set(names)):
        print(f"error: --also names {', '.join(clashes)} the shipped model(s) of that name; pick another name",
              file=sys.stderr)
        return 2
    sources = {**{name: name for name in names}, **also}
    try:
        summaries = evaluate_all(sources, args.data, args.out, args.rescore)
    except ModelLoadError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for name in names:
        description = shipped.description(name)
        shipped.card_path(name).write_text(model_card(name, description, summaries))
    update_readme(args.readme, readme_section(summaries))
    by_input = {
        kind: {name: source for name, source in sources.items() if summaries["lfw", name]["model"]["input"] == kind}
        for kind in ("gray", "sketch")
    }
    historical_grid(by_input["gray"], args.shared / "bw_historical", args.out / "bw_historical.jpg")
    general_grid(by_input["gray"], args.shared / "imagenet_sample", args.out / "general_photos.jpg")
    sketch_grid(by_input["sketch"], args.data, args.out / "cufs_sketches.png")
    print(f"cards in {shipped.PRESETS_DIR}/*/{shipped.CARD_FILE}, tables in {args.readme}, grids in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
