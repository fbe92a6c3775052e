"""train.py end to end: run folders, SavedModel serving, resume after kill -9, distribution."""

import ast
import csv
import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import h5py
import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_colorize import (
    callbacks,
    data,
    hardware,
    losses,
    models,
    run_folder,
    training,
    training_data,
    training_settings,
)
from keras_colorize.errors import TrainingError

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def sample_h5(tmp_path_factory):
    """The built-in sample (scikit-image's photos with pencil sketches) as an HDF5 file."""
    return training_data.build_sample_dataset(tmp_path_factory.mktemp("sample") / "sample.h5")


def _settings(model, data_path, **overrides):
    # No pretrained weights (the runs test the run folder, not the colours): none to read or fetch.
    bare = {option: None for option in models.WEIGHT_FILE_OPTIONS if option in models.presets(model)["small"]}
    defaults = dict(
        data=str(data_path), epochs=2, batch_size=2, steps_per_epoch=2, validation_steps=1,
        triplet_samples=2, precision="float32", model_overrides=bare,
    )
    return training_settings.default_settings(model, **{**defaults, **overrides})


def _epochs_logged(run):
    with open(run / "history.csv") as handle:
        return [int(row["epoch"]) for row in csv.DictReader(handle)]


# The metric each model's best checkpoint is chosen by: a GAN's adversarial losses do not
# measure colour quality, and the switching U-Net's loss changes meaning at the switch.
MONITORED = {
    "sketch_inverter": "val_loss", "unet": "val_mae", "unet_gan": "val_g_l1",
    "fusion": "val_loss", "pix2pix": "val_g_l1", "classifier": "val_loss", "mobilenet_unet": "val_loss",
    "hint_unet": "val_loss",
}


@pytest.mark.slow
@pytest.mark.parametrize("model", models.available())
def test_two_epoch_run_writes_a_complete_run_folder(model, sample_h5, tmp_path):
    run = tmp_path / model
    history = training.train(_settings(model, sample_h5), run)
    assert len(history.epoch) == 2
    assert all(np.isfinite(values).all() for values in history.history.values())
    assert sorted(p.name for p in (run / "triplets").iterdir()) == ["epoch_001.png", "epoch_002.png"]
    assert list((run / "logs").rglob("events.out.tfevents.*"))
    assert _epochs_logged(run) == [0, 1]
    # The best checkpoint's metric is one the run reports (else it is never written anew).
    assert MONITORED[model] in history.history
    recorded = json.loads((run / "config.json").read_text())
    assert recorded["model"] == model
    settings = _settings(model, sample_h5)
    assert recorded["model_config"] == models.config(model, settings.preset, **settings.model_overrides)
    assert (run / "best.keras").is_file() and (run / "model.keras").is_file()
    assert not (run / "backup").exists()

    serve = tf.saved_model.load(str(run / "export")).signatures["serving_default"]
    no_hints = {"hints": tf.zeros((2, 45, 71, 3))} if "hints" in serve.structured_input_signature[1] else {}
    for channels in (1, 3):
        images = np.random.default_rng(0).integers(0, 256, (2, 45, 71, channels), np.uint8)
        colorized = serve(images=tf.constant(images), **no_hints)["colorized"].numpy()
        assert colorized.shape == (2, 45, 71, 3) and colorized.dtype == np.uint8


@pytest.mark.slow
def test_finished_run_folder_is_never_overwritten(sample_h5, tmp_path):
    settings = _settings("sketch_inverter", sample_h5, epochs=1)
    training.train(settings, tmp_path / "run")
    before = (tmp_path / "run" / "model.keras").stat().st_mtime_ns
    with pytest.raises(TrainingError, match="finished run"):
        training.train(settings, tmp_path / "run")
    assert (tmp_path / "run" / "model.keras").stat().st_mtime_ns == before


def _train_command(data_path, out, epochs):
    return [
        sys.executable, str(REPO / "train.py"), "--model", "unet", "--data", str(data_path),
        "--epochs", str(epochs), "--batch", "2", "--steps-per-epoch", "3",
        "--precision", "float32", "--out", str(out),
    ]


@pytest.mark.parametrize(("epochs", "steps_per_epoch", "cached"), [(1, 1, False), (3, 1, True), (1, 0, True)])
def test_the_training_split_is_cached_only_when_the_run_reads_a_whole_pass(sample_h5, tmp_path, monkeypatch,
                                                                           epochs, steps_per_epoch, cached):
    # A run that stops part-way through its first pass (the sample's 6 photos are 3 batches)
    # would leave the cache half-filled; TensorFlow discards it with a warning at the end.
    caching = []

    def recording_pairs_for(source, settings, **options):
        if options["training"]:
            caching.append(options.get("cache", True))
        return real_pairs_for(source, settings, **options)

    real_pairs_for = training_data.pairs_for
    monkeypatch.setattr(training_data, "pairs_for", recording_pairs_for)
    settings = _settings("sketch_inverter", sample_h5, epochs=epochs, steps_per_epoch=steps_per_epoch)
    training.train(settings, tmp_path / "run")
    # The pipeline `fit` reads, and the uncached one that compiling looks at.
    assert sorted(caching) == sorted([cached, False])


@pytest.mark.slow
def test_run_killed_after_an_epoch_resumes_without_training_an_epoch_twice(sample_h5, tmp_path):
    run = tmp_path / "run"
    command = _train_command(sample_h5, run, epochs=3)
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 240
    # An epoch is finished once backed up: its history row is written just before.
    while not (run / "backup" / run_folder.BACKUP_EPOCH).exists():
        assert process.poll() is None, "training ended before its first epoch was backed up"
        assert time.monotonic() < deadline, "no epoch finished in time"
        time.sleep(0.2)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert not (run / "model.keras").exists()

    finished = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0, finished.stderr[-3000:]
    # Every epoch exactly once, in order: the resumed run appends to the killed run's
    # history (epoch 0 stays) and starts after the last epoch it had finished.
    assert _epochs_logged(run) == [0, 1, 2]
    assert (run / "model.keras").is_file()


def _interrupted_after_training(settings, run, monkeypatch):
    """Train `run` to its last epoch and stop it there, before model.keras is written (as a kill
    would); the backup is then all that is left of the finished epochs."""
    def killed(*args, **kwargs):
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(training.exporting, "export_serving", killed)
        with pytest.raises(KeyboardInterrupt):
            training.train(settings, run)
    assert not (run / "model.keras").exists()


@pytest.mark.slow
def test_a_run_stopped_after_its_last_epoch_finishes_without_training_again(sample_h5, tmp_path,
                                                                            monkeypatch):
    run = tmp_path / "run"
    settings = _settings("sketch_inverter", sample_h5)
    _interrupted_after_training(settings, run, monkeypatch)
    history = training.train(settings, run)
    assert history.epoch == [] and _epochs_logged(run) == [0, 1]
    assert (run / "model.keras").is_file() and (run / "export" / "saved_model.pb").is_file()
    assert not (run / "backup").exists()  # removed only once the run is finished


@pytest.mark.slow
@pytest.mark.parametrize("second_row_written", [True, False])
def test_a_backup_whose_save_was_cut_off_resumes_from_the_epoch_before(sample_h5, tmp_path, monkeypatch,
                                                                       second_row_written):
    run = tmp_path / "run"
    settings = _settings("sketch_inverter", sample_h5)
    _interrupted_after_training(settings, run, monkeypatch)
    backup = run / "backup"
    # How a kill in the middle of the second epoch's save leaves the folder: the weights file
    # half written, the epoch count at the first epoch, and the history written before the
    # backup (or, in a run from before that order, not).
    (backup / "latest.weights.h5").write_bytes(b"")
    (backup / "training_metadata.json").write_text((backup / "training_metadata.json.bkp").read_text())
    if not second_row_written:
        rows = (run / "history.csv").read_text().splitlines(keepends=True)
        (run / "history.csv").write_text("".join(rows[:-1]))

    history = training.train(settings, run)
    assert history.epoch == [1] and _epochs_logged(run) == [0, 1]  # the second epoch logged once
    assert (run / "model.keras").is_file()


@pytest.mark.slow
def test_a_first_backup_cut_off_before_it_recorded_its_epoch_starts_the_run_over(sample_h5, tmp_path,
                                                                                 monkeypatch, capsys):
    run = tmp_path / "run"
    settings = _settings("sketch_inverter", sample_h5, epochs=1)
    _interrupted_after_training(settings, run, monkeypatch)
    # A kill in the middle of the first save: the weights half written, no epoch recorded,
    # and the history row (written before the backup) there.
    (run / "backup" / "latest.weights.h5").write_bytes(b"")
    (run / "backup" / run_folder.BACKUP_EPOCH).unlink()
    assert _epochs_logged(run) == [0]

    history = training.train(settings, run)
    assert "the first epoch's backup was cut off; starting the run over" in capsys.readouterr().out
    assert history.epoch == [0] and _epochs_logged(run) == [0]
    assert (run / "model.keras").is_file() and not (run / "backup").exists()


@pytest.mark.slow
def test_a_backup_that_cannot_be_read_is_a_one_line_error_saying_how_to_start_over(sample_h5, tmp_path,
                                                                                   monkeypatch):
    run = tmp_path / "run"
    settings = _settings("sketch_inverter", sample_h5, epochs=1)
    _interrupted_after_training(settings, run, monkeypatch)
    (run / "backup" / "latest.weights.h5").write_bytes(b"")  # the first epoch's save, cut off
    assert not (run / "backup" / "latest.weights.h5.bkp").exists()
    with pytest.raises(TrainingError, match=r"backup: the interrupted run's backup cannot be read.*remove"):
        training.train(settings, run)


def test_a_resumed_run_replaces_its_best_checkpoint_only_with_a_better_epoch(tmp_path):
    (tmp_path / "history.csv").write_text("epoch,loss,val_mae\n0,0.5,0.031\n1,0.4,0.027\n2,0.4,0.029\n")
    best = run_folder.best_so_far(tmp_path / "history.csv", "val_mae")
    assert best == 0.027
    assert run_folder.best_so_far(tmp_path / "none.csv", "val_mae") == float("inf")
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    checkpoint = callbacks.BestCheckpoint(tmp_path / "best.keras", "val_mae", best=best)
    checkpoint.set_model(model)
    checkpoint.on_epoch_end(3, {"val_mae": 0.028})
    assert not (tmp_path / "best.keras").exists()
    checkpoint.on_epoch_end(4, {"val_mae": 0.020})
    assert keras.saving.load_model(tmp_path / "best.keras").count_params() == 3
    assert checkpoint.best == 0.020
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best.keras", "history.csv"]  # no temporary left


def test_a_folder_of_other_files_is_refused_and_left_as_it_was(sample_h5, tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "config.json").write_text('{"learning": "my own notes"}')
    (mine / "history.csv").write_text("epoch,loss\n")
    with pytest.raises(TrainingError, match="mine: holds files that are not a training run"):
        training.train(_settings("unet", sample_h5, epochs=1), mine)
    assert (mine / "config.json").read_text() == '{"learning": "my own notes"}'
    assert sorted(p.name for p in mine.iterdir()) == ["config.json", "history.csv"]


def test_a_run_folder_inside_its_image_folder_is_refused(tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    with pytest.raises(ValueError, match="run: must be outside the source"):
        training.train(_settings("unet", photos, epochs=1), photos / "run")
    assert not (photos / "run").exists()


MIRRORED_SCRIPT = textwrap.dedent(
    """
    import sys
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import keras
    import numpy as np
    from keras_colorize import models, training, training_settings
    for model in ("unet", "pix2pix"):
        settings = training_settings.default_settings(
            model, data=sys.argv[1], epochs=1, batch_size=4, steps_per_epoch=2,
            validation_steps=1, triplet_samples=2, precision="float32", strategy="mirrored",
        )
        training.train(settings, f"{sys.argv[2]}/{model}")

    # The GAN reports the same losses on one replica as on two.
    images = np.random.default_rng(0).uniform(-1, 1, (4, 64, 64, 3)).astype("float32")
    def gan_losses(strategy):
        with strategy.scope():
            keras.utils.set_random_seed(0)
            gan = models.build("pix2pix", "small", base_filters=4)
            gan.compile()
        return gan.evaluate(images, images[::-1], batch_size=4, verbose=0, return_dict=True)
    print("GAN losses", gan_losses(tf.distribute.get_strategy()), gan_losses(tf.distribute.MirroredStrategy()))
    """
)


@pytest.mark.slow
def test_mirrored_strategy_on_two_logical_cpus_trains_the_unet_and_the_gan(sample_h5, tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", MIRRORED_SCRIPT, str(sample_h5), str(tmp_path)],
        capture_output=True, text=True, timeout=600, env={**os.environ, "CI": "1"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.count("2 replica(s)") == 2
    assert (tmp_path / "unet" / "model.keras").is_file()
    assert (tmp_path / "pix2pix" / "model.keras").is_file()
    one, two = (ast.literal_eval(text) for text in
                re.search(r"GAN losses ({.*?}) ({.*?})$", result.stdout, re.MULTILINE).groups())
    assert one.keys() == two.keys() == {"g_gan", "g_l1", "d"}
    for name in one:
        assert two[name] == pytest.approx(one[name], rel=1e-4)


def test_precision_choice_follows_the_hardware(monkeypatch):
    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind=None: [])
    monkeypatch.setattr(hardware, "cpu_has_bf16", lambda: True)
    assert hardware.choose_precision("auto") == "mixed_bfloat16"
    monkeypatch.setattr(hardware, "cpu_has_bf16", lambda: False)
    assert hardware.choose_precision("auto") == "float32"
    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind=None: ["GPU:0"])
    assert hardware.choose_precision("auto") == "mixed_float16"
    assert hardware.choose_precision("float32") == "float32"


def test_paper_settings_are_the_defaults_and_overrides_win():
    settings = training_settings.default_settings("sketch_inverter")
    assert settings.halve_lr_every_half_epoch and settings.loss == "mse"
    unet = training_settings.default_settings("unet", epochs=4, batch_size=None)
    assert (unet.loss, unet.second_loss, unet.epochs, unet.batch_size) == ("mae", "ssim", 4, 32)
    pix2pix = training_settings.default_settings("pix2pix")
    assert (pix2pix.learning_rate, pix2pix.beta_1, pix2pix.batch_size) == (2e-4, 0.5, 1)
    with pytest.raises(ValueError, match="unknown model"):
        training_settings.default_settings("nope")
    with pytest.raises(ValueError, match=r"\['learning_rate'\] are training settings"):
        training_settings.default_settings("unet", model_overrides={"learning_rate": 0.1, "base_filters": 8})
    adversarial = [name for name in models.available() if models.spec(name).adversarial]
    assert adversarial == ["pix2pix", "unet_gan"]
    for gan in adversarial:
        with pytest.raises(ValueError, match=rf"{gan} trains with adversarial BCE.*\['loss'\]"):
            training_settings.default_settings(gan, loss="mae")


def _photo_folder(folder, count, size=72):
    folder.mkdir()
    rng = np.random.default_rng(0)
    for index in range(count):
        colour = rng.integers(0, 256, 3, dtype=np.uint8)
        photo = np.clip(colour + rng.integers(-40, 40, (size, size + 8, 3)), 0, 255).astype(np.uint8)
        keras.utils.save_img(folder / f"photo_{index:02d}.png", photo)
    (folder / "broken.jpg").write_bytes(b"not a jpeg")
    return folder


def test_an_image_folder_splits_nine_to_one_with_known_sizes(tmp_path):
    folder = _photo_folder(tmp_path / "photos", 25)
    train, validation = training_data.training_sources(folder, 64, "l_lab_unit")
    assert (int(train.cardinality()), int(validation.cardinality())) == (22, 3)
    assert len(list(train)) == 22 and len(list(validation)) == 3


def _solid_folder(folder, rgb, count=20, size=16):
    folder.mkdir()
    for index in range(count):
        keras.utils.save_img(folder / f"{index:02d}.png", np.full((size, size, 3), rgb, np.uint8))
    return folder


def test_mixed_sources_train_in_the_stated_shares_and_validate_on_every_source(sample_h5, tmp_path):
    red = _solid_folder(tmp_path / "red", (200, 30, 30))  # 18 train, 2 validation
    blue = _solid_folder(tmp_path / "blue", (30, 30, 200), count=10)  # 9 train, 1 validation
    train, validation = training_data.mixed_training_sources([red, blue], [1, 3], 16, "l_ab", seed=0)
    reds = [bool(sample["rgb"][0, 0, 0] > 0.5) for sample in train]
    assert int(train.cardinality()) == len(reds) == 27  # an epoch is as long as both together
    assert sum(reds) == 7 and reds.count(False) == 20  # 1:3, the smaller source repeated
    shown = [bool(sample["rgb"][0, 0, 0] > 0.5) for sample in validation]
    assert shown == [True, True, False]  # the first source's first: the triplets show it
    # A source with sketches mixes with one without: samples keep what the format reads.
    train, _ = training_data.mixed_training_sources([sample_h5, red], [], 16, "l_ab")
    assert set(train.element_spec) == {"rgb"}
    with pytest.raises(ValueError, match=r"one share >= 0 per data source \(2\)"):
        training_data.mixed_training_sources([red, blue], [1], 16, "l_ab")


def test_train_py_passes_several_data_sources_and_their_shares(tmp_path, monkeypatch):
    import train

    trained = {}
    monkeypatch.setattr(training, "train", lambda settings, out: trained.update(settings=settings))
    assert train.main(["--model", "unet", "--data", "a.h5", "b", "--data-weights", "2", "1",
                       "--out", str(tmp_path / "run")]) == 0
    settings = trained["settings"]
    assert (settings.data, settings.extra_data, settings.data_weights) == ("a.h5", ["b"], [2.0, 1.0])


@pytest.mark.slow
def test_a_run_on_an_image_folder_makes_every_batch_an_epoch_and_records_its_data(tmp_path, monkeypatch):
    folder = _photo_folder(tmp_path / "photos", 25)
    run = tmp_path / "run"
    monkeypatch.chdir(tmp_path)  # given relative, recorded absolute: read back from anywhere
    settings = _settings("unet", "photos", epochs=1, batch_size=4, steps_per_epoch=0, validation_steps=0)
    training.train(settings, run)
    with open(run / "history.csv") as handle:
        assert len(list(csv.DictReader(handle))) == 1
    assert json.loads((run / "config.json").read_text())["data"] == str(folder)
    # 22 training images make 5 whole batches of 4, and the optimizer stepped once per batch.
    model = keras.saving.load_model(run / "model.keras")
    assert int(model.optimizer.iterations) == 5


@pytest.mark.slow
def test_the_default_data_is_recorded_and_an_interrupted_sample_build_starts_afresh(
    tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)  # no data/ here: the built-in sample is the default
    run = tmp_path / "run"
    run.mkdir()
    from keras_colorize import datasets as build

    real_build = build.build_dataset

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(build, "build_dataset", interrupted)
    with pytest.raises(KeyboardInterrupt):
        training_data.build_sample_dataset(run / "sample.h5")
    monkeypatch.setattr(build, "build_dataset", real_build)
    training.train(_settings("unet", "", epochs=1), run)
    assert json.loads((run / "config.json").read_text())["data"] == str(run / "sample.h5")
    assert sorted(path.name for path in run.iterdir() if "sample" in path.name) == ["sample.h5"]


# Keras warns about each layer it could not fill before the mismatch error.
@pytest.mark.filterwarnings("ignore:Skipping nested container")
@pytest.mark.slow
def test_fine_tuning_starts_from_the_given_weights(trained_run, tmp_path):
    source = trained_run("unet") / "model.keras"
    model = models.build("unet", "small")
    models.load_weights(model, source)
    trained = keras.saving.load_model(source, compile=False)
    for mine, theirs in zip(model.weights, trained.weights):
        np.testing.assert_array_equal(mine.numpy(), theirs.numpy())
    with pytest.raises(ValueError, match="model.keras: its weights do not fit"):
        models.load_weights(models.build("unet", "small", base_filters=8), source)
    with pytest.raises(FileNotFoundError, match="missing.keras: no such weights file"):
        models.load_weights(model, tmp_path / "missing.keras")


@pytest.mark.parametrize(
    ("name", "content"),
    [("cut.keras", b"PK\x03\x04 cut short"), ("noise.keras", bytes(range(256))), ("empty.weights.h5", b"")],
)
def test_weights_that_cannot_be_read_are_a_one_line_error_naming_the_file(name, content, tmp_path, capsys):
    (tmp_path / name).write_bytes(content)
    with pytest.raises(ValueError, match=f"{name}: not a readable model or weights file"):
        models.load_weights(models.build("unet", "small", base_filters=4), tmp_path / name)
    sys.path.insert(0, str(REPO))
    import train

    # The weights load before the data is read: none is needed to see the error.
    code = train.main(["--model", "unet", "--initial-weights", str(tmp_path / name),
                       "--data", str(tmp_path / "unread.h5"), "--out", str(tmp_path / "run")])
    error = capsys.readouterr().err
    assert code == 2 and error.startswith("error: ") and error.count("\n") == 1 and name in error


@pytest.mark.parametrize("option", ["--epochs", "--batch", "--steps-per-epoch"])
def test_train_py_refuses_counts_below_one_as_a_usage_error(option, capsys):
    sys.path.insert(0, str(REPO))
    import train

    with pytest.raises(SystemExit) as stopped:
        train.parse_args(["--model", "unet", "--out", "runs/x", option, "0"])
    assert stopped.value.code == 2
    assert f"argument {option}: must be at least 1, not 0" in capsys.readouterr().err


# --- pipelines, optimizer and callbacks, checked directly (no training run) -----------------


def _numbered_samples(count, size=8):
    """A sample stream whose image i is filled with the value i: its order can be read back."""
    numbers = np.arange(count, dtype=np.uint8)[:, None, None, None]
    rgb = np.broadcast_to(numbers, (count, size, size, 3))
    return data.from_arrays(rgb, sketch=rgb[..., 0])


def _epoch_order(pairs):
    """The image numbers of one pass over `sketch_rgb` pairs (targets are rgb / 255)."""
    corners = np.concatenate([targets[:, 0, 0, 0].numpy() for _, targets in pairs])
    return [round(float(value) * 255) for value in corners]


def test_only_the_training_pipeline_is_reshuffled_every_epoch():
    settings = training_settings.default_settings("sketch_inverter", batch_size=4)
    source = _numbered_samples(16)
    train_pairs = training_data.pairs_for(source, settings, training=True)
    validation_pairs = training_data.pairs_for(source, settings, training=False)

    first, second = _epoch_order(train_pairs), _epoch_order(train_pairs)
    assert sorted(first) == sorted(second) == list(range(16))
    # A new order each epoch (16! orders: seeded, so this cannot pass by chance run to run).
    assert first != list(range(16)) and first != second
    # Validation sees the file order, the same every epoch: its losses compare across epochs.
    assert _epoch_order(validation_pairs) == _epoch_order(validation_pairs) == list(range(16))


def test_sketch_inverter_learning_rate_halves_every_half_epoch():
    """Joy & Singh: the learning rate is halved every half epoch, stepwise."""
    settings = training_settings.default_settings("sketch_inverter", learning_rate=1e-3)
    tiny = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    training.compile_model(tiny, settings, None, steps_per_epoch=10)
    for optimizer in (training._adam(settings, steps_per_epoch=10), tiny.optimizer):
        for step in range(31):
            optimizer.iterations.assign(step)
            # 10 steps per epoch: halved after steps 5, 10, 15, ... (step // 5 halvings).
            assert float(optimizer.learning_rate) == pytest.approx(1e-3 * 0.5 ** (step // 5)), step
    # The other papers keep the rate fixed.
    constant = training._adam(training_settings.default_settings("pix2pix"), steps_per_epoch=10)
    constant.iterations.assign(25)
    assert float(constant.learning_rate) == pytest.approx(2e-4) and constant.beta_1 == 0.5


def _checkpoint_and_stage(model_name, model, loss, tmp_path, **overrides):
    settings = training_settings.default_settings(model_name, batch_size=2, triplet_samples=2, **overrides)
    chosen = training._callbacks(
        settings, tmp_path, model, None, loss, _numbered_samples(4), steps_per_epoch=3
    )
    checkpoint, = (c for c in chosen if isinstance(c, callbacks.BestCheckpoint))
    stages = [c for c in chosen if isinstance(c, callbacks.LossStage)]
    return checkpoint, stages


def test_best_checkpoint_monitors_a_colour_error_and_the_loss_switches_on_time(tmp_path):
    gan = models.build("pix2pix", "small", base_filters=4)
    checkpoint, stages = _checkpoint_and_stage("pix2pix", gan, None, tmp_path)
    # The generator's L1 to the truth, not the discriminator's or adversarial loss.
    assert checkpoint.monitor == "val_g_l1" and not stages
    assert checkpoint.path == tmp_path / "best.keras"

    switching = losses.SwitchingLoss("mae", "ssim")
    checkpoint, stages = _checkpoint_and_stage("unet", None, switching, tmp_path, epochs=30)
    assert checkpoint.monitor == "val_mae"  # comparable across the MAE -> SSIM switch
    (stage,) = stages
    assert stage.loss is switching and stage.at_epoch == 24  # the paper's epoch
    _, (stage,) = _checkpoint_and_stage(
        "unet", None, switching, tmp_path, epochs=6, second_loss_epoch=0
    )
    assert stage.at_epoch == 3  # 0: half way through 6 epochs
    _, (stage,) = _checkpoint_and_stage(
        "unet", None, switching, tmp_path, epochs=6, second_loss_epoch=2
    )
    assert stage.at_epoch == 2

    checkpoint, stages = _checkpoint_and_stage("sketch_inverter", None, losses.get("mse"), tmp_path)
    assert checkpoint.monitor == "val_loss" and not stages


def _noise_photo_folder(folder, count, size=40):
    folder.mkdir()
    rng = np.random.default_rng(1)
    for index in range(count):
        photo = rng.integers(0, 256, (size, size, 3), np.uint8)
        keras.utils.save_img(folder / f"{index}.png", photo)
    return folder


def test_an_hdf5_file_validates_on_its_val_split_and_on_train_only_without_one(tmp_path):
    from keras_colorize.datasets import build_dataset

    photos = _noise_photo_folder(tmp_path / "photos", 8)
    with_val, without_val = tmp_path / "with_val.h5", tmp_path / "without_val.h5"
    build_dataset([photos], with_val, 32, encoding="rgb", split=(0.5, 0.25, 0.25), verbose=False)
    build_dataset([photos], without_val, 32, encoding="rgb", split=(1.0, 0.0, 0.0), verbose=False)

    def images(samples):
        # The stream holds floats in [0, 1]; the file holds their uint8 levels.
        return [np.round(sample["rgb"].numpy() * 255).astype(np.uint8) for sample in samples]

    def stored(path):
        with h5py.File(path, "r") as file:
            return {split: list(file[split]["rgb"][()]) for split in ("train", "val")}

    split_file = stored(with_val)
    assert (len(split_file["train"]), len(split_file["val"])) == (4, 2)
    train, validation = training_data.training_sources(with_val, 32, "l_lab_unit")
    assert int(validation.cardinality()) == 2
    np.testing.assert_array_equal(images(train), split_file["train"])
    np.testing.assert_array_equal(images(validation), split_file["val"])

    # Without a val split (the built-in sample) the run validates on train.
    one_split = stored(without_val)
    assert (len(one_split["train"]), len(one_split["val"])) == (8, 0)
    train, validation = training_data.training_sources(without_val, 32, "l_lab_unit")
    assert int(validation.cardinality()) == 8
    np.testing.assert_array_equal(images(validation), one_split["train"])


def test_a_one_epoch_unet_run_stays_on_its_first_loss():
    # Half of one epoch rounds to 0, which would skip MAE and train on SSIM alone.
    half_way = {"second_loss_epoch": 0}
    assert training._loss_switch_epoch(training_settings.default_settings("unet", epochs=1, **half_way)) == 1
    assert training._loss_switch_epoch(training_settings.default_settings("unet", epochs=7, **half_way)) == 3


def test_a_run_shorter_than_the_papers_switch_says_it_never_switches(capsys):
    training._warn_if_the_loss_never_switches(training_settings.default_settings("unet", epochs=10))
    assert "ssim starts after epoch 24, and this run has 10: it trains with mae only" in capsys.readouterr().out
    training._warn_if_the_loss_never_switches(training_settings.default_settings("unet"))
    assert capsys.readouterr().out == ""


def test_paper_settings_are_the_papers_numbers():
    # Joy & Singh, section VIII: "over 6 epochs with a batch size of 128 images".
    sketch_inverter = training_settings.default_settings("sketch_inverter")
    assert (sketch_inverter.epochs, sketch_inverter.batch_size) == (6, 128)
    # Varjas & Vitanov (Hungarian abstract): SSIM "24 epoch után", then 20 epochs of it.
    unet = training_settings.default_settings("unet")
    assert (unet.loss, unet.second_loss, unet.second_loss_epoch, unet.epochs) == ("mae", "ssim", 24, 44)
    # Zhang, section II.B: "the model is trained for 65 epochs".
    assert training_settings.default_settings("pix2pix").epochs == 65
    # You et al., section III.C: "A batch size of 16"; eq. 2 is the mean squared error.
    fusion = training_settings.default_settings("fusion")
    assert (fusion.batch_size, fusion.loss) == (16, "mse")
