"""evaluate.py end to end: photo folders, CUFS photo/sketch folders, HDF5 splits, SavedModels."""

import csv
import importlib.util
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from keras_colorize import (
    Colorizer,
    evaluation,
    exporting,
    inference,
    metrics,
    models,
    pretrained,
    samples,
    training,
    training_data,
    training_settings,
)
from keras_colorize.sketches import pencil_sketch_at

REPO = Path(__file__).resolve().parents[1]
ALL_METRICS = ["psnr", "ssim", "colorfulness", "saturation", "ab_mae", "recognition"]


def _load_cli():
    spec = importlib.util.spec_from_file_location("evaluate_cli", REPO / "evaluate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


evaluate_cli = _load_cli()


@pytest.fixture(scope="module")
def sample_h5(tmp_path_factory):
    return training_data.build_sample_dataset(tmp_path_factory.mktemp("sample") / "sample.h5")


@pytest.fixture(scope="module")
def unet_run(sample_h5, tmp_path_factory):
    """A LAB U-Net trained for 2 steps: a real run folder with model.keras and export/."""
    settings = training_settings.default_settings(
        "unet", data=str(sample_h5), epochs=1, batch_size=2, steps_per_epoch=2,
        validation_steps=1, triplet_samples=2, precision="float32",
    )
    run = tmp_path_factory.mktemp("runs") / "unet"
    training.train(settings, run)
    return run


@pytest.fixture(scope="module")
def sketch_model(tmp_path_factory):
    """An untrained small sketch inverter: evaluation only needs a model that takes sketches."""
    path = tmp_path_factory.mktemp("models") / "sketch_inverter.keras"
    return exporting.save_keras(models.build("sketch_inverter", "small"), path)


@pytest.fixture(scope="module")
def photo_folder(tmp_path_factory):
    """Five colour photos in two sizes, one gray photo and one broken file."""
    folder = tmp_path_factory.mktemp("photos")
    photos = list(samples.sample_photos().values())[:5]
    for index, photo in enumerate(photos):
        size = (72, 56) if index % 2 else (64, 64)
        Image.fromarray(cv2.resize(photo, size, interpolation=cv2.INTER_AREA)).save(folder / f"{index}.png")
    gray = cv2.cvtColor(cv2.resize(photos[0], (64, 64)), cv2.COLOR_RGB2GRAY)
    Image.fromarray(gray).convert("RGB").save(folder / "gray.png")
    (folder / "broken.jpg").write_bytes(b"not a jpeg")
    return folder


def _run(capsys, *args):
    code = evaluate_cli.main([str(arg) for arg in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _per_image(out):
    with open(out / "per_image.csv", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.slow
def test_photo_folder_with_a_trained_unet(unet_run, photo_folder, tmp_path, capsys):
    out = tmp_path / "eval"
    code, printed, _ = _run(capsys, "--model", unet_run, "--data", photo_folder,
                            "--metrics", *ALL_METRICS, "--out", out)
    assert code == 0
    assert "unet (model)" in printed and "gray baseline" in printed and "PSNR (dB)" in printed
    assert printed.count("±") == 2 * 7  # two systems, seven columns

    summary = json.loads((out / "summary.json").read_text())
    assert summary["images"]["evaluated"] == 5
    assert summary["images"]["skipped"] == {"grayscale": 1, "not_an_image": 1}
    assert summary["image_size"]["sizes"] == {"64x64": 3, "72x56": 2}
    assert set(summary["results"]) == {"model", "gray"}
    assert summary["results"]["gray"]["colorfulness"] == {"mean": 0.0, "std": 0.0}

    rows = _per_image(out)
    assert len(rows) == 10 and list(rows[0]) == ["image", "system", *summary["columns"]]
    # Recompute one image's scores from the files, independently of the pipeline.
    truth = np.asarray(Image.open(photo_folder / "1.png"))
    predicted = Colorizer.load(unet_run).colorize(inference.gray_version(truth))
    scored = {row["system"]: row for row in rows if row["image"] == "1.png"}
    for system, output in (("model", predicted), ("gray", inference.gray_version(truth))):
        for column in ("psnr", "ab_mae", "colorfulness_diff"):
            expected = metrics.get(column)(truth, output).numpy()
            np.testing.assert_allclose(float(scored[system][column]), expected, rtol=1e-4)

    grid = np.asarray(Image.open(out / "samples.png"))
    assert grid.ndim == 3 and grid.shape[0] > grid.shape[1]  # five rows of four images


@pytest.mark.slow
def test_cufs_test_folder_with_a_sketch_model(sketch_model, cufs_root, tmp_path, capsys):
    out = tmp_path / "cufs"
    code, printed, _ = _run(capsys, "--model", sketch_model, "--data", cufs_root, "--split", "test",
                            "--metrics", "psnr", "recognition", "--limit", 12, "--out", out)
    assert code == 0
    assert "sketch baseline" in printed
    summary = json.loads((out / "summary.json").read_text())
    assert summary["model"]["input"] == "sketch"
    assert summary["data"] == {"path": str(cufs_root), "kind": "photos+sketches", "split": "test",
                               "sketches": "drawn"}
    assert summary["image_size"]["sizes"] == {"200x250": 12}
    recognition = {system: result["recognition"]["mean"] for system, result in summary["results"].items()}
    # The gray baseline keeps each photo's lightness: every face is recognised. Artists' sketches
    # are recognised less often (75% here); an untrained model's near-uniform outputs hardly ever
    # (1 in 12 here, chance).
    assert recognition["gray"] == 1.0
    assert 0.5 < recognition["sketch"] < 1.0
    assert recognition["model"] < 0.5

    first = _per_image(out)[:3]
    name = first[0]["image"]
    photo = np.asarray(Image.open(cufs_root / name).convert("RGB"))
    sketch = np.asarray(Image.open(cufs_root / name.replace("photos", "sketches")).convert("L"))
    sketch_row = next(row for row in first if row["system"] == "sketch")
    expected = metrics.psnr(photo, np.repeat(sketch[..., None], 3, -1)).numpy()
    np.testing.assert_allclose(float(sketch_row["psnr"]), expected, rtol=1e-4)


@pytest.mark.slow
def test_hdf5_split_with_the_saved_model_is_deterministic(unet_run, sample_h5, tmp_path, capsys):
    out = tmp_path / "h5"
    arguments = ["--model", unet_run / "export", "--data", sample_h5, "--split", "train",
                 "--metrics", "psnr", "ssim", "--samples", 2, "--out", out]
    assert _run(capsys, *arguments)[0] == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["model"]["name"] == "unet" and summary["model"]["element_format"] == "saved_model"
    assert summary["image_size"]["sizes"] == {"128x128": summary["images"]["evaluated"]}
    first = (out / "per_image.csv").read_bytes()

    code, _, error = _run(capsys, *arguments)
    assert code == 2 and "already holds per_image.csv" in error
    assert _run(capsys, *arguments, "--overwrite")[0] == 0
    assert (out / "per_image.csv").read_bytes() == first


@pytest.mark.slow
def test_an_empty_split_is_refused(unet_run, sample_h5, tmp_path, capsys):
    code, _, error = _run(capsys, "--model", unet_run, "--data", sample_h5, "--out", tmp_path / "x")
    assert code == 2
    assert error.strip() == f"error: {sample_h5}: split 'test' is empty; choose another split"


@pytest.mark.parametrize(
    "model, data, named",
    [
        ("missing_model", "{folder}", "missing_model: no such file or folder"),
        ("{model}", "missing_data", "missing_data: no such file or folder"),
        ("{model}", "{text}", "notes.txt: neither an HDF5 file nor a folder of images"),
        ("{model}", "{empty}", "no image files found"),
    ],
)
def test_unusable_arguments_exit_2_with_one_line(model, data, named, sketch_model, photo_folder,
                                                 tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    text = tmp_path / "notes.txt"
    text.write_text("not a dataset")
    paths = {"model": sketch_model, "folder": photo_folder, "empty": empty, "text": text}
    code, printed, error = _run(capsys, "--model", model.format(**paths), "--data",
                                data.format(**paths), "--out", tmp_path / "out")
    assert code == 2 and printed == ""
    assert error.count("\n") == 1 and named in error and "Traceback" not in error
    assert not (tmp_path / "out").exists()


def _echo_colorizer(name="saved_model"):
    """A Colorizer that returns its input, like a SavedModel whose task is unknown."""
    return Colorizer(lambda batch: np.asarray(batch, np.uint8), name, "saved_model")


def test_a_model_returning_its_gray_input_scores_as_the_gray_baseline(photo_folder, tmp_path):
    dataset = evaluation.open_data(photo_folder)
    summary = evaluation.evaluate(_echo_colorizer(), dataset, ["psnr", "ssim", "ab_mae"], tmp_path,
                                  model_input="gray", verbose=False)
    assert summary["results"]["model"] == summary["results"]["gray"]
    assert summary["images"]["skipped"] == {"grayscale": 1, "not_an_image": 1}


def test_photos_without_a_drawn_sketch_are_skipped_only_when_sketches_are_used(tmp_path):
    folder = tmp_path / "cufs_like"
    (folder / "photos").mkdir(parents=True)
    (folder / "sketches").mkdir()
    for index, photo in enumerate(list(samples.sample_photos().values())[:3]):
        Image.fromarray(photo).save(folder / "photos" / f"{index}.png")
        if index:  # photo 0 has no sketch
            Image.fromarray(cv2.cvtColor(photo, cv2.COLOR_RGB2GRAY)).save(folder / "sketches" / f"{index}.png")
    dataset = evaluation.open_data(folder)

    gray_only = evaluation.evaluate(_echo_colorizer(), dataset, ["psnr"], tmp_path / "gray",
                                    model_input="gray", verbose=False)
    assert gray_only["images"]["evaluated"] == 3 and gray_only["images"]["skipped"] == {}
    with_sketches = evaluation.evaluate(_echo_colorizer(), dataset, ["psnr"], tmp_path / "sketch",
                                        model_input="gray", baselines=("gray", "sketch"), verbose=False)
    assert with_sketches["images"]["evaluated"] == 2
    assert with_sketches["images"]["skipped"] == {"no_sketch": 1}


def test_a_photo_folder_is_sketched_at_the_models_input_size(tmp_path):
    """The echo model returns the sketch it is given, so its scores are the sketch's: drawn at
    the model's 64 px, enlarged back to each photo's size (`Colorizer.pencil_sketch`)."""
    folder = tmp_path / "photos"
    folder.mkdir()
    photo = samples.sample_photos()["astronaut"]  # 512 px
    Image.fromarray(photo).save(folder / "astronaut.png")
    sized = Colorizer(lambda batch: np.asarray(batch, np.uint8), "pix2pix", "saved_model", input_size=64)
    summary = evaluation.evaluate(sized, evaluation.open_data(folder), ["psnr"], tmp_path / "out",
                                  baselines=("sketch",), verbose=False)
    expected = metrics.psnr(photo, np.repeat(pencil_sketch_at(photo, 64)[..., None], 3, -1)).numpy()
    assert summary["data"]["sketches"] == evaluation.SKETCHES_MADE_HERE
    np.testing.assert_allclose(summary["results"]["model"]["psnr"]["mean"], expected, rtol=1e-4)
    np.testing.assert_allclose(summary["results"]["sketch"]["psnr"]["mean"], expected, rtol=1e-4)


def test_unknown_model_input_is_an_error(photo_folder, tmp_path):
    with pytest.raises(evaluation.EvaluationError, match="gray photos or sketches"):
        evaluation.evaluate(_echo_colorizer(), evaluation.open_data(photo_folder), ["psnr"], tmp_path)
    assert _echo_colorizer("pix2pix").input_kind == "sketch"
    assert _echo_colorizer("unet").input_kind == "gray"


def _photo_folder_with_a_tiny_photo(folder, photos=2):
    """`photos` colour photos at 64x64 and one at 8x9, under SSIM's 11x11 window."""
    folder.mkdir()
    for index, photo in enumerate(list(samples.sample_photos().values())[: photos + 1]):
        size = (8, 9) if index == photos else (64, 64)
        Image.fromarray(cv2.resize(photo, size, interpolation=cv2.INTER_AREA)).save(folder / f"{index}.png")
    return evaluation.open_data(folder)


def test_images_under_the_ssim_window_are_skipped_only_for_ssim(tmp_path):
    dataset = _photo_folder_with_a_tiny_photo(tmp_path / "photos")
    with_ssim = evaluation.evaluate(_echo_colorizer(), dataset, ["psnr", "ssim"], tmp_path / "ssim",
                                    model_input="gray", verbose=False)
    assert with_ssim["images"]["evaluated"] == 2 and with_ssim["images"]["skipped"] == {"too_small": 1}
    assert with_ssim["images"]["skipped_files"][0]["file"] == "2.png"
    psnr_only = evaluation.evaluate(_echo_colorizer(), dataset, ["psnr"], tmp_path / "psnr",
                                    model_input="gray", verbose=False)
    assert psnr_only["images"]["evaluated"] == 3 and psnr_only["images"]["skipped"] == {}


def test_data_too_small_to_score_exits_2_and_leaves_no_output_folder(sketch_model, tmp_path, capsys):
    _photo_folder_with_a_tiny_photo(tmp_path / "tiny", photos=0)
    code, _, error = _run(capsys, "--model", sketch_model, "--data", tmp_path / "tiny",
                          "--metrics", "ssim", "--out", tmp_path / "out")
    skipped, message = error.splitlines()  # the file that was skipped, then the one-line error
    assert code == 2 and skipped == "skipped 0.png: too_small (8x9; SSIM needs at least 11x11)"
    assert message.endswith("0 usable images, too few to score (skipped: {'too_small': 1})")
    assert not (tmp_path / "out").exists()


def test_an_output_folder_inside_the_data_folder_is_refused(sketch_model, photo_folder, tmp_path, capsys):
    # The next evaluation of that folder would score the grids written there.
    code, _, error = _run(capsys, "--model", sketch_model, "--data", photo_folder,
                          "--out", photo_folder / "scores")
    assert code == 2 and f"{photo_folder / 'scores'}: must be outside the source" in error
    assert not (photo_folder / "scores").exists()


@pytest.mark.parametrize(
    "flag, value, named",
    [("--limit", -5, "at least 1"), ("--limit", 0, "at least 1"), ("--batch", 0, "at least 1"),
     ("--samples", -2, "at least 0")],
)
def test_counts_out_of_range_are_usage_errors(flag, value, named, sketch_model, photo_folder, tmp_path, capsys):
    with pytest.raises(SystemExit) as exited:
        _run(capsys, "--model", sketch_model, "--data", photo_folder, "--out", tmp_path / "out", flag, value)
    assert exited.value.code == 2
    assert f"argument {flag}: must be {named}, not {value}" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("under", ["", "sub"])
def test_an_out_that_is_a_file_or_lies_under_one_is_named(under, photo_folder, tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("mine")
    with pytest.raises(evaluation.EvaluationError, match=f"^{notes}: is a file; --out takes a folder"):
        evaluation.evaluate(_echo_colorizer(), evaluation.open_data(photo_folder), ["psnr"], notes / under,
                            model_input="gray", verbose=False)
    assert notes.read_text() == "mine"


def test_the_library_refuses_a_limit_of_0_rather_than_scoring_everything(photo_folder, tmp_path):
    with pytest.raises(evaluation.EvaluationError, match="limit must be at least 1.*limit=0"):
        evaluation.evaluate(_echo_colorizer(), evaluation.open_data(photo_folder), ["psnr"], tmp_path / "out",
                            model_input="gray", limit=0, verbose=False)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("recorded", ["{not json", "[1, 2]", '{"data": 3}', '{"data": "gone.h5"}'])
def test_a_run_whose_config_names_no_usable_data_asks_for_data(recorded, tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text(recorded)
    with pytest.MonkeyPatch.context() as patch:  # the model itself is not what is tested
        patch.setattr(evaluate_cli.Colorizer, "load", staticmethod(lambda source, trust_savedmodel=False: _echo_colorizer()))
        code, printed, error = _run(capsys, "--model", run, "--out", tmp_path / "out")
    assert code == 2 and printed == ""
    assert error.count("\n") == 1 and "pass --data" in error and "Traceback" not in error


def test_the_frechet_distance_is_one_number_per_system_kept_out_of_the_per_image_table(photo_folder, tmp_path):
    if pretrained.find_imagenet_tfjs() is None:
        pytest.skip("needs ../shared/pretrained")
    dataset = evaluation.open_data(photo_folder)
    summary = evaluation.evaluate(_echo_colorizer(), dataset, ["psnr", "fid_mobilenet"], tmp_path,
                                  model_input="gray", verbose=False)
    model, gray = summary["results"]["model"]["fid_mobilenet"], summary["results"]["gray"]["fid_mobilenet"]
    assert model == gray and set(model) == {"value"} and model["value"] > 0  # gray is far from colour
    assert list(_per_image(tmp_path)[0]) == ["image", "system", "psnr"]
    assert f"{gray['value']:.2f}" in (tmp_path / "table.txt").read_text()


def test_joy2017_protocol_scores_line_and_pencil_sketches_drawn_from_each_photo(
    sketch_model, sample_h5, tmp_path, capsys
):
    """evaluate.py --protocol joy2017: Tables II-III of the sketch-inversion paper, each sketch
    style drawn anew from the photos (the file's own pencil sketches are not used)."""
    from keras_colorize import sketches

    out = tmp_path / "joy2017"
    arguments = ["--model", sketch_model, "--protocol", "joy2017", "--data", sample_h5, "--split", "train", "--out", out]
    code, printed, _ = _run(capsys, *arguments)
    assert code == 0
    assert "line sketch" in printed and "gray-scale (pencil) sketch" in printed and "0.8134" in printed
    report = json.loads((out / "joy2017.json").read_text())
    assert set(report["results"]) == {"line", "pencil"}
    photos = [sample.truth for sample in evaluation.open_data(sample_h5, "train").read(with_sketches=False)]
    for style in ("line", "pencil"):
        drawn = np.stack([np.repeat(sketches.make_sketch(photo, style)[..., None], 3, -1) for photo in photos])
        expected = float(np.mean(metrics.psnr(np.stack(photos), drawn)))
        assert report["results"][style]["sketch"]["psnr"]["mean"] == pytest.approx(expected, rel=1e-5)
        assert set(report["results"][style]["model"]) == {"ssim", "psnr", "recognition"}
    assert (out / "line" / "per_image.csv").is_file() and (out / "joy2017.txt").is_file()
    code, _, error = _run(capsys, *arguments)
    assert code == 2 and "already holds" in error
