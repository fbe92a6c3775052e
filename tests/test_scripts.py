"""scripts/ship_model.py and scripts/results.py: shipping a run, the model card, README tables."""

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from keras_colorize import Colorizer, models, samples, shipped

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import results  # noqa: E402
import ship_model  # noqa: E402


@pytest.mark.slow
def test_shipping_a_run_writes_weights_that_load_and_a_card(trained_run, tmp_path, monkeypatch):
    monkeypatch.setattr("keras_colorize.shipped.PRESETS_DIR", tmp_path / "weights")
    photos = tmp_path / "photos"
    samples.write_sample_folder(photos)
    run = trained_run("unet")
    # A later version's preset must not change the network a run ships as.
    wider = {**models.presets("unet")["small"], "base_filters": 64}
    monkeypatch.setitem(models.spec("unet").presets, "small", wider)

    assert ship_model.main([str(run), "--name", "my_unet", "--check-data", str(photos)]) == 0
    description = json.loads((tmp_path / "weights" / "my_unet" / "config.json").read_text())
    assert description["model"] == "unet" and description["dtype"] == "float16" and description["preset"] == "small"
    assert [stage["run"] for stage in description["training"]] == [str(run)]
    check = description["storage_check"]
    assert abs(check["psnr_float16"] - check["psnr_float32"]) <= 0.1
    gray = np.full((20, 30), 128, np.uint8)
    np.testing.assert_allclose(
        Colorizer.load("my_unet").colorize(gray), Colorizer.load(run).colorize(gray), atol=2
    )

    summary = {"model": {"input": "gray", "source": "shipped:my_unet"}, "images": {"evaluated": 1},
               "data": {"path": "x.h5", "split": "test"}, "columns": ["psnr"],
               "results": {"model": {"psnr": {"mean": 25.0, "std": 1.0}},
                           "gray": {"psnr": {"mean": 20.0, "std": 1.0}}}}
    summary["model"]["name"] = "unet"
    summary["images"]["skipped"] = {}
    card = results.model_card("my_unet", description, {(s, "my_unet"): summary for s in results.TEST_SETS})
    assert "Colorizer.from_preset(\"my_unet\")" in card and "25.00 ± 1.00" in card
    trained_filters = description["config"]["base_filters"]
    assert trained_filters != 64 and f"preset `small`, base_filters={trained_filters}," in card
    assert shipped.available(tmp_path / "weights") == ["my_unet"]
    history = (run / "history.csv").read_text().splitlines()
    epoch_seconds = [float(row.split(",")[history[0].split(",").index("epoch_seconds")]) for row in history[1:]]
    assert description["training"][0]["wall_seconds"] == round(sum(epoch_seconds))
    assert ship_model.main([str(tmp_path / "no_run")]) == 2

    before = (tmp_path / "weights" / "my_unet" / "model.weights.h5").read_bytes()
    assert ship_model.main([str(run), "--name", "my_unet", "--checkpoint", "final", "--check-data", str(photos)]) == 2
    assert (tmp_path / "weights" / "my_unet" / "model.weights.h5").read_bytes() == before
    assert ship_model.main([str(run), "--name", "my_unet", "--checkpoint", "final", "--check-data", str(photos),
                            "--replace"]) == 0
    assert json.loads((tmp_path / "weights" / "my_unet" / "config.json").read_text())["checkpoint"] == "final"


def _fake_run(folder, epochs, **settings):
    """A run folder with the config.json and history.csv `training_stages` reads."""
    folder.mkdir()
    record = {"model": "unet", "data": "faces.h5", "extra_data": [], "data_weights": [], "preset": "small",
              "model_overrides": {},
              "model_config": models.config("unet"), "steps_per_epoch": None, "batch_size": 16,
              "learning_rate": 1e-3, "halve_lr_every_half_epoch": False, "loss": "mae",
              "second_loss": None, "augment": None, "precision": "float32", **settings}
    (folder / "config.json").write_text(json.dumps(record))
    rows = "".join(f"{epoch},2.5\n" for epoch in range(epochs))
    (folder / "history.csv").write_text("epoch,epoch_seconds\n" + rows)
    return folder


def test_training_stages_follow_each_run_back_to_the_one_it_started_from(tmp_path):
    first = _fake_run(tmp_path / "first", 3)
    outside = tmp_path / "downloaded"
    outside.mkdir()
    second = _fake_run(tmp_path / "second", 2, initial_weights=str(first / "best.keras"), loss="ssim")
    third = _fake_run(tmp_path / "third", 1, initial_weights=str(second / "best.keras"))
    from_file = _fake_run(tmp_path / "from_file", 4, initial_weights=str(outside / "model.keras"))

    stages = ship_model.training_stages(third)
    assert [stage["run"] for stage in stages] == [str(first), str(second), str(third)]
    assert [stage["epochs_run"] for stage in stages] == [3, 2, 1]
    assert [stage["loss"] for stage in stages] == ["mae", "ssim", "mae"]
    assert [stage["wall_seconds"] for stage in stages] == [8, 5, 2]
    assert [stage["run"] for stage in ship_model.training_stages(from_file)] == [str(from_file)]


def test_a_run_from_a_shipped_model_keeps_the_stages_that_made_it(tmp_path, monkeypatch):
    config = models.config("unet", "small", base_filters=4)
    earlier = [{"run": "runs/ship/unet", "epochs_run": 6}]
    shipped.save(models.build("unet", **config), "unet", config, folder=tmp_path, extra={"training": earlier})
    monkeypatch.setattr(shipped, "PRESETS_DIR", tmp_path)
    run = _fake_run(tmp_path / "finer", 2, initial_weights="shipped:unet", loss="rebalanced", rebalancing_mix=0.75)

    stages = ship_model.training_stages(run)
    assert [stage["run"] for stage in stages] == ["runs/ship/unet", str(run)]
    assert stages[-1]["loss"] == "rebalanced (lambda 0.75)"


def _summary(name, psnr, colorfulness, shipped_source=True):
    result = {"psnr": {"mean": psnr}, "ssim": {"mean": 0.9}, "recognition": {"mean": 1.0},
              "colorfulness": {"mean": colorfulness}, "colorfulness_diff": {"mean": colorfulness - 40.0}}
    gray = {**result, "psnr": {"mean": 20.0}, "colorfulness": {"mean": 0.0}, "colorfulness_diff": {"mean": -40.0}}
    source = f"shipped:{name}" if shipped_source else "runs/x.keras"
    return {"model": {"input": "gray", "source": source}, "results": {"model": result, "gray": gray}}


def test_results_table_lists_models_then_baselines_and_the_truth():
    summaries = {("lfw", "classifier"): _summary("classifier", 24.7, 36.0),
                 ("lfw", "fusion"): _summary("fusion", 25.8, 30.0, shipped_source=False)}
    lines = results.results_table(summaries, "lfw", "gray").splitlines()
    assert lines[2] == "| `classifier` | 24.70 | 0.9000 | 36.00 | -10% | 100.0% |"
    assert lines[3].startswith("| `fusion` (not shipped) | 25.80")
    assert lines[4].startswith("| gray baseline | 20.00 | 0.9000 | 0.00 | -100% |")
    assert lines[5] == "| ground truth | | | 40.00 | | |"
    assert results.results_table(summaries, "lfw", "sketch") == ""


def test_results_remembers_unshipped_models_it_scored_before(tmp_path, capsys):
    run = tmp_path / "fusion.keras"
    run.write_bytes(b"")
    for name, source in [("classifier", "shipped:classifier"), ("fusion", str(run)), ("unet", str(run)),
                         ("gone", str(tmp_path / "gone.keras"))]:
        folder = tmp_path / "lfw" / name
        folder.mkdir(parents=True)
        (folder / "summary.json").write_text(json.dumps({"model": {"source": source}}))
    # unet was scored from a run before a unet was shipped: the shipped one is scored now, not the run
    assert results.unshipped_scored(tmp_path, ["classifier", "unet"]) == {"fusion": str(run)}
    assert "gone was scored from" in capsys.readouterr().err


def test_results_refuses_an_also_model_named_like_a_shipped_one(tmp_path, capsys):
    code = results.main(["--out", str(tmp_path), "--also", f"unet={tmp_path / 'run.keras'}"])
    assert code == 2
    assert "--also names unet the shipped model" in capsys.readouterr().err


def test_results_also_takes_name_equals_model_and_names_a_model_it_cannot_load(tmp_path, capsys):
    with pytest.raises(SystemExit):
        results.main(["--out", str(tmp_path), "--also", "fusion"])
    assert "expected NAME=MODEL, not 'fusion'" in capsys.readouterr().err
    code = results.main(["--out", str(tmp_path), "--also", f"fusion={tmp_path / 'missing.keras'}"])
    assert code == 2
    assert "missing.keras: no such file or folder" in capsys.readouterr().err


def test_results_scores_again_models_whose_weights_changed_or_all_when_asked(tmp_path, monkeypatch):
    model_file = tmp_path / "model.keras"
    model_file.write_bytes(b"first weights")
    scored = []

    def fake_evaluate(colorizer, dataset, metrics, folder, **options):
        folder.mkdir(parents=True, exist_ok=True)
        summary = {"scored": len(scored)}
        (folder / "summary.json").write_text(json.dumps(summary))
        scored.append(folder.parent.name)
        return summary

    monkeypatch.setattr(results.Colorizer, "load", lambda source: Colorizer(None, "unet", "l_ab", source))
    monkeypatch.setattr(results.evaluation, "open_data", lambda path, split: path)
    monkeypatch.setattr(results.evaluation, "evaluate", fake_evaluate)
    monkeypatch.setattr(results.evaluation, "format_table", str)

    def run(rescore=False):
        return results.evaluate_all({"mine": str(model_file)}, tmp_path, tmp_path / "out", rescore)

    # A gray-photo model is scored on the general photos too.
    assert run()["cufs", "mine"] == {"scored": 1} and scored == ["lfw", "cufs", "general"]
    assert run()["cufs", "mine"] == {"scored": 1} and len(scored) == 3  # the same weights: kept
    model_file.write_bytes(b"retrained weights")
    assert run()["cufs", "mine"] == {"scored": 4} and len(scored) == 6
    assert run(rescore=True)["cufs", "mine"] == {"scored": 7} and len(scored) == 9


def test_results_scores_sketch_models_on_faces_only(tmp_path, monkeypatch):
    scored = []

    def fake_evaluate(colorizer, dataset, metrics, folder, **options):
        folder.mkdir(parents=True)
        scored.append(folder.parent.name)
        return {}

    monkeypatch.setattr(results.Colorizer, "load", lambda source: Colorizer(None, "pix2pix", "sketch_rgb_tanh", source))
    monkeypatch.setattr(results.evaluation, "open_data", lambda path, split: path)
    monkeypatch.setattr(results.evaluation, "evaluate", fake_evaluate)
    monkeypatch.setattr(results.evaluation, "format_table", str)
    monkeypatch.setattr(results, "weights_fingerprint", lambda colorizer: "fingerprint")
    results.evaluate_all({"drawn": "pix2pix"}, tmp_path, tmp_path / "out")
    assert scored == ["lfw", "cufs"]


def test_readme_section_is_replaced_between_the_markers_only(tmp_path):
    readme = tmp_path / "README.md"
    begin, end = results.README_MARKERS
    readme.write_text(f"intro\n{begin}\nold table\n{end}\noutro\n")
    results.update_readme(readme, "new table")
    assert readme.read_text() == f"intro\n{begin}\nnew table\n{end}\noutro\n"
    readme.write_text("no markers")
    with pytest.raises(ValueError, match="has no"):
        results.update_readme(readme, "x")


@pytest.mark.parametrize("contents", ["missing", "empty", "unreadable"])
def test_historical_grid_is_skipped_without_photographs(tmp_path, capsys, contents):
    folder = tmp_path / "bw_historical"
    if contents != "missing":
        folder.mkdir()
    if contents == "unreadable":
        (folder / "broken.jpg").write_bytes(b"not a jpeg")
    results.historical_grid({}, folder, tmp_path / "bw_historical.png")
    assert f"skipped {tmp_path / 'bw_historical.png'}: no readable photographs" in capsys.readouterr().out
    assert not (tmp_path / "bw_historical.png").exists()
