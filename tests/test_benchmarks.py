"""benchmarks/: the training rate is the fastest of 3 windows of steps, whatever the steps per
execution; the peak is the higher of one before and one after the timed work; a partial run
updates its rows of the results and keeps the others; a layer is timed with the gradients a
training step takes through it."""

import json
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import layer_speed
import summary
import training_speed


def test_the_rate_comes_from_the_fastest_window_of_consecutive_steps():
    # Six timed steps: windows of two steps take 2 s, 3 s and 4 s.
    marks = list(enumerate([0.0, 1.0, 2.0, 3.0, 5.0, 7.0, 9.0]))
    assert training_speed.best_window_seconds(marks) == pytest.approx(1.0)
    # A slow step inside the first window moves the best to the second.
    marks = list(enumerate([0.0, 4.0, 5.0, 6.0, 7.5, 9.0, 11.0]))
    assert training_speed.best_window_seconds(marks) == pytest.approx(1.25)
    # Marks every 4 steps (steps_per_execution 4): seconds per step, not per mark.
    marks = [(4 * index, seconds) for index, seconds in enumerate([0.0, 4.0, 8.0, 12.0])]
    assert training_speed.best_window_seconds(marks) == pytest.approx(1.0)
    assert training_speed.mean_seconds_per_step(marks) == pytest.approx(1.0)


def test_too_few_steps_for_three_windows_is_an_error():
    with pytest.raises(ValueError, match="2 timed intervals cannot make 3 windows"):
        training_speed.best_window_seconds([(0, 0.0), (1, 1.0), (2, 2.0)])


@pytest.mark.parametrize("steps_per_execution", [1, 4])
def test_the_step_timer_starts_after_the_warmup_and_counts_every_step(steps_per_execution):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse", steps_per_execution=steps_per_execution)
    timer = training_speed.step_timer(warmup=4)
    model.fit(np.zeros((64, 3)), np.zeros((64, 1)), batch_size=2, epochs=1, verbose=0, callbacks=[timer])
    steps = [step for step, _ in timer.marks]
    assert steps == list(range(4, 33, steps_per_execution))
    seconds = [time for _, time in timer.marks]
    assert seconds == sorted(seconds)


def _row(model, preset, precision, rate):
    return {"model": model, "preset": preset, "precision": precision, "images_per_second": rate,
            "percent_of_float32_peak": 50.0, "image_size": 64, "batch_size": 8,
            "input_images_per_second": 1000.0, "input_to_training_ratio": 10.0,
            "float32_matmul_peak_gflops": 200.0}


@pytest.mark.parametrize("cached", [True, False])
def test_the_input_rate_reads_past_the_end_of_one_pass(cached):
    import tensorflow as tf

    three_batches = tf.data.Dataset.range(12).batch(4).cache()
    first_pass, steady = training_speed.pipeline_rates(
        three_batches, batch_size=4, input_batches=10, cached=cached, shuffle_buffer=8
    )
    assert steady > 0
    assert (first_pass is not None) == cached


def test_a_partial_run_replaces_its_rows_and_keeps_the_others(tmp_path):
    path = tmp_path / "training_speed.json"
    earlier = [_row("unet", "small", "float32", 1.0), _row("unet", "small", "mixed_bfloat16", 2.0),
               _row("classifier", "paper", "float32", 3.0)]
    path.write_text(json.dumps({"runs": earlier}))
    rows = training_speed.merged_rows(path, [_row("unet", "small", "float32", 9.0)])
    assert [(row["model"], row["precision"], row["images_per_second"]) for row in rows] == [
        ("unet", "float32", 9.0), ("unet", "mixed_bfloat16", 2.0), ("classifier", "float32", 3.0)]


def test_a_partial_layer_run_replaces_its_model_s_row_and_keeps_the_others(tmp_path):
    path = tmp_path / "layer_speed.json"
    path.write_text(json.dumps({"runs": [_layer_row("unet", bound=1.0), _layer_row("classifier", bound=2.0)]}))
    with pytest.raises(SystemExit, match="failed: pix2pix"):
        training_speed.write_rows(path, [_layer_row("unet", bound=9.0)], ["pix2pix"], ("model", "preset"))
    rows = json.loads(path.read_text())["runs"]
    assert [(row["model"], row["convolutions_bound_images_per_second"]) for row in rows] == [
        ("classifier", 2.0), ("unet", 9.0)]


def test_the_training_table_marks_a_missing_bf16_row():
    table = summary.training_table({"runs": [_row("unet", "small", "float32", 1.0)]})
    assert "| `unet` | small (64 px, batch 8) | 1.0 | 50.0% | - | - | 1,000 (10.0x) |" in table


def test_the_summary_says_to_run_the_benchmarks_when_there_are_no_results(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(summary, "RESULTS", tmp_path)
    assert summary.main() == 1
    assert "run `make bench` first" in capsys.readouterr().err


def _nested_conv_model(inner_trainable):
    """Conv `first` on the image, a sub-model `inner` of two convs, conv `last`."""
    inner = keras.Sequential([keras.Input((8, 8, 4)), keras.layers.Conv2D(4, 3, padding="same", name="a"),
                              keras.layers.Conv2D(4, 3, padding="same", name="b")], name="inner")
    inner.trainable = inner_trainable
    image = keras.Input((8, 8, 1))
    x = keras.layers.Conv2D(4, 3, padding="same", name="first")(image)
    x = keras.layers.Conv2D(4, 3, padding="same", name="last")(inner(x))
    return keras.Model(image, keras.layers.Dense(2, name="head")(x))


@pytest.mark.parametrize("inner_trainable", [True, False])
def test_every_convolution_is_found_with_the_gradients_a_step_takes_through_it(inner_trainable):
    import tensorflow as tf

    found = layer_speed.conv_layers(_nested_conv_model(inner_trainable))
    assert [(name, input_gradient, runs) for name, _, input_gradient, runs in found] == [
        ("first", False, 1), ("inner/a", False, 1), ("inner/b", inner_trainable, 1), ("last", True, 1)]
    x = tf.zeros((1, 8, 8, 4))
    sources = [layer_speed.gradient_sources(layer, input_gradient, x) for _, layer, input_gradient, _ in found]
    # A frozen sub-model reading the image runs forward only.
    assert [len(each) for each in sources] == ([1, 1, 2, 2] if inner_trainable else [1, 0, 0, 2])
    assert sources[0] == [found[0][1].kernel] and sources[3][0] is x
    for _, layer, input_gradient, _ in found:
        assert layer_speed.layer_step_seconds(layer, input_gradient, batch_size=2) > 0


def test_a_gan_step_runs_the_discriminator_s_convolutions_twice():
    from keras_colorize import models

    found = layer_speed.conv_layers(models.build("unet_gan", "small"))
    runs = {name.split("/")[0]: runs for name, _, _, runs in found}
    assert runs == {"generator": 1, "discriminator": 2}


def _layer_row(model="unet", bound=200.0, batch_size=128):
    return {"model": model, "preset": "small", "batch_size": batch_size,
            "convolutions_percent_of_float32_peak": 90.0, "convolutions_bound_images_per_second": bound,
            "layers": [{"layer": name, "percent_of_float32_peak": percent}
                       for name, percent in [("a", 50.0), ("b", 5.0), ("c", 80.0), ("d", 120.0)]]}


def test_the_share_of_a_step_outside_the_convolutions_comes_from_the_training_rate():
    training = [_row("unet", "small", "mixed_bfloat16", 150.0), {**_row("unet", "small", "float32", 50.0),
                                                                  "batch_size": 128}]
    row = layer_speed.with_training_rate(_layer_row(), training)
    assert row["training_images_per_second"] == 50.0
    assert row["percent_of_step_outside_convolutions"] == pytest.approx(75.0)
    assert layer_speed.with_training_rate(_layer_row("classifier"), training) == _layer_row("classifier")
    table = summary.layer_table({"runs": [row, _layer_row("classifier")]})
    assert "| `unet` | small (batch 128) | 90.0% | 200.0 | 50.0 | 75% | b 5%, a 50%, c 80% |" in table
    assert "| `classifier` | small (batch 128) | 90.0% | 200.0 | - | - | b 5%, a 50%, c 80% |" in table


def _peaks(monkeypatch, module, *gflops):
    """Make `module`'s matmul peak read `gflops` in turn."""
    readings = iter(gflops)
    monkeypatch.setattr(module, "matmul_peak_gflops", lambda: next(readings))


@pytest.mark.parametrize("slow_moment", ["before", "after"])
def test_a_slow_moment_of_the_machine_does_not_pass_for_its_peak(slow_moment, tmp_path, monkeypatch):
    from keras_colorize import training_data

    peaks = (100.0, 400.0) if slow_moment == "before" else (400.0, 100.0)
    _peaks(monkeypatch, training_speed, *peaks)
    data = training_data.build_sample_dataset(tmp_path / "sample.h5", size=64)
    row = training_speed.measure("unet", "small", "float32", str(data), steps=3, warmup=1, batch_size=2,
                                 input_batches=2, steps_per_execution=1)
    assert row["float32_matmul_peak_gflops"] == 400.0
    assert row["percent_of_float32_peak"] == pytest.approx(row["training_gflops_per_second"] / 4, abs=0.1)

    _peaks(monkeypatch, layer_speed, *peaks)
    row = layer_speed.measure("unet", "small", batch_size=2)
    assert row["float32_matmul_peak_gflops"] == 400.0


def test_peers_rows_give_our_cost_over_theirs_and_the_table_their_ranges():
    import peers

    slower = peers.timed_row("work", "ours", "theirs", [(120.0, 100.0), (90.0, 100.0), (100.0, 100.0)])
    assert slower["ratio"] == 1.0 and slower["ratios"] == [1.2, 0.9, 1.0]
    faster = peers.timed_row("folder", "ours", "theirs", [(2.0, 1.0), (3.0, 1.0)], "images/s", higher_is_better=True)
    assert faster["ratios"] == [0.5, 0.333]
    table = peers.table([slower, faster])
    assert "| work (ms): ours vs theirs | 90-120 | 100 | 1.00 (0.90-1.20) |" in table
    assert "| folder (images/s): ours vs theirs | 2.00-3.00 | 1.00 | 0.42 (0.33-0.50) |" in table


def test_peers_skip_with_a_message_without_the_reference_implementations(tmp_path, monkeypatch, capsys):
    import peers

    monkeypatch.setattr(sys, "argv", ["peers.py", "--peers", str(tmp_path / "none"), "--out", str(tmp_path / "p.json")])
    assert peers.main() == 0
    assert "skipped: no reference implementations" in capsys.readouterr().out
    assert not (tmp_path / "p.json").exists()


def test_our_side_of_the_peer_works_runs_at_tiny_sizes():
    import peers

    assert peers.our_colorize_ms(iters=1, size=32) > 0
    ms, precision = peers.our_pix2pix_ms(iters=1, precision="float32", preset="small")
    assert ms > 0 and precision == "float32"


def test_the_folder_work_resizes_photos_to_a_megapixel_and_measures_a_child(tmp_path):
    import peers
    from PIL import Image

    for name, size in [("bw_historical", (400, 300)), ("imagenet_sample", (200, 500))]:
        (tmp_path / name).mkdir()
        Image.new("RGB", size, "gray").save(tmp_path / name / f"{name}.jpg")
    (tmp_path / "photos").mkdir()
    assert peers.photo_folder(tmp_path, 5, tmp_path / "photos") == 2
    for path in (tmp_path / "photos").iterdir():
        with Image.open(path) as photo:
            assert abs(photo.width * photo.height - peers.PHOTO_PIXELS) < 3000
    stdout, seconds, peak_mib = peers.run_measured([sys.executable, "-c", "print(len(bytearray(50_000_000)))"])
    assert stdout.strip() == "50000000" and seconds > 0 and peak_mib > 45
