"""Training runs: the papers' settings per model, precision and distribution, the run folder.

`train(settings, out_dir)` builds the model, its tf.data pipelines and callbacks, fits, and
writes the run folder:

    out_dir/config.json        the effective settings (paper defaults + overrides) and the
                               model's full builder config ("model_config")
    out_dir/model.keras        the trained model (written atomically)
    out_dir/export/            SavedModel: `serving_default` takes uint8 images of any size
    out_dir/best.keras         the best validation checkpoint
    out_dir/history.csv        per-epoch losses (a CSVLogger, `callbacks.ResumableHistory`)
    out_dir/logs/              TensorBoard scalars and triplet images
    out_dir/triplets/          input / ground truth / prediction grids per epoch
    out_dir/backup/            BackupAndRestore state: run the same command again to resume;
                               removed once model.keras is written

Paper settings that the models' papers give are the defaults (`PAPER_SETTINGS`); where a paper
is silent the value is marked so in the comment.
"""

import csv
import dataclasses
import json
import math
import shutil
import tempfile
from pathlib import Path

import h5py
import keras
import tensorflow as tf

from keras_colorize import augment as augment_lib
from keras_colorize import callbacks as kc_callbacks
from keras_colorize import (
    console, data, datasets, exporting, files, losses, models, multiworker, runlock, runs, samples, shipped,
)
from keras_colorize.errors import TrainingError
from keras_colorize.models.classifier import REBALANCING_MIX
from keras_colorize.models.gan import ConditionalGAN

# In the run folder:
BACKUP, HISTORY, SAMPLE_FILE = "backup", "history.csv", "sample.h5"
BACKUP_EPOCH = "training_metadata.json"  # BackupAndRestore's record, written after its weights
SHARED_DATA_FILES = {
    "sketch_inverter": "celeba100.h5",
    "unet": "lfw128.h5",
    "unet_gan": "lfw128.h5",
    "fusion": "lfw128.h5",
    "classifier": "lfw128.h5",
    "pix2pix": "edges2shoes.h5",
    "mobilenet_unet": "general256_train.h5",
}


@dataclasses.dataclass
class TrainingSettings:
    """Everything a run needs besides the data; `config.json` in the run folder holds one."""

    model: str
    preset: str = "small"
    data: str = ""  # an HDF5 file, an image folder, or "" for the default
    extra_data: list = dataclasses.field(default_factory=list)  # more sources mixed into training
    data_weights: list = dataclasses.field(default_factory=list)  # each source's share; [] = by size
    epochs: int = 10
    batch_size: int = 16
    learning_rate: float = 1e-3
    beta_1: float = 0.9
    loss: str = "mse"
    rebalancing_mix: float = REBALANCING_MIX  # the "rebalanced" loss's lambda (Zhang et al. eq. 4); 1: none
    second_loss: str = ""  # switched to after `second_loss_epoch` epochs (LAB U-Net: MAE -> SSIM)
    second_loss_epoch: int = 0  # 0: half way through the run
    halve_lr_every_half_epoch: bool = False
    augment: str = ""  # "" or a name in keras_colorize.augment.AUGMENTATIONS
    discriminator_warmup_epochs: int = 0
    steps_per_epoch: int = 0  # 0: one pass over the training split
    steps_per_execution: int = 1  # steps per call into the compiled graph (Python overhead)
    validation_steps: int = 0
    triplet_samples: int = 6
    precision: str = "auto"
    strategy: str = "auto"
    seed: int = 0
    initial_weights: str = ""  # a trained model (.keras / .weights.h5) of the same config, or shipped:NAME
    model_overrides: dict = dataclasses.field(default_factory=dict)

    def to_json(self, **extra):
        return json.dumps({**dataclasses.asdict(self), **extra}, indent=2, sort_keys=True)


PAPER_SETTINGS = {
    # Joy & Singh 2017, section VIII: 6 epochs, batch 128, learning rate halved every half
    # epoch; section VI: MSE, Adam (its rate unstated: 1e-3, tflearn's and Keras's default).
    "sketch_inverter": dict(loss="mse", learning_rate=1e-3, batch_size=128, epochs=6,
                            halve_lr_every_half_epoch=True),
    # Varjas & Vitanov, section 4.2 and the Hungarian abstract: MAE, then SSIM "24 epoch
    # után" (after 24 epochs), and no improvement "20 tanítási epoch után" (after 20 training
    # epochs). 20 < 24, so the 20 are read as the SSIM stage's: 24 + 20 = 44 epochs in all.
    # Adam (section 3.1); batch unstated (ours).
    "unet": dict(loss="mae", second_loss="ssim", second_loss_epoch=24, learning_rate=1e-3,
                 batch_size=32, epochs=44),
    # Same paper, sec. 3.2: discriminator alone first, then both; the rest unstated (ours).
    "unet_gan": dict(learning_rate=2e-4, beta_1=0.5, batch_size=16, epochs=10,
                     discriminator_warmup_epochs=1),
    # You et al., section III.A/C: MSE (eq. 2), Adam, batch 16; epochs unstated ("approximately
    # 10 hours"), the rate is Keras's default.
    "fusion": dict(loss="mse", learning_rate=1e-3, batch_size=16, epochs=20),
    # Zhang, "Sketch-to-Color Image with GANs", section II.B: 65 epochs, Adam, rotation / shear /
    # zoom / shift / Gaussian noise augmentation (II.A). Rate, beta_1 and batch are unstated:
    # 2e-4, 0.5 and 1 are pix2pix's (Isola et al. 2017, the TensorFlow tutorial it follows).
    "pix2pix": dict(learning_rate=2e-4, beta_1=0.5, batch_size=1, epochs=65, augment="gan"),
    # Sayyed et al. give no training settings: Zhang et al. 2016's class-rebalanced
    # cross-entropy, Adam 3e-5, batch 40; the regression baseline trains with eq. 2's Huber.
    "classifier": dict(loss="rebalanced", learning_rate=3e-5, batch_size=40, epochs=10),
    # No paper: the classifier's loss on a frozen pretrained encoder, so a higher learning rate;
    # jitter and mirroring because general photos are few.
    "mobilenet_unet": dict(loss="rebalanced", learning_rate=3e-4, batch_size=32, epochs=10,
                           augment="pix2pix"),
}
# The ab-bin models' losses (`classifier.training_loss`): class-rebalanced, or plain.
BIN_LOSSES = ("rebalanced", "crossentropy")
# Trained by `ConditionalGAN`'s own losses (adversarial BCE + l1_weight x L1), not by `loss`.
GAN_MODELS = ("pix2pix", "unet_gan")


def default_settings(model, **overrides):
    """The paper settings of `model`, with overrides (None values are ignored)."""
    models.presets(model)  # validates the name
    fields = {field.name for field in dataclasses.fields(TrainingSettings)}
    unknown = sorted(set(overrides) - fields)
    if unknown:
        raise ValueError(f"unknown training setting(s) {unknown}; settings: {sorted(fields)}")
    # Some builders take a learning rate or loss for a model used on its own; a run compiles
    # from its settings, so such an override would be silently ignored.
    misplaced = sorted(set(overrides.get("model_overrides") or {}) & fields)
    if misplaced:
        raise ValueError(
            f"{misplaced} are training settings, not model builder options: give them as "
            "--lr / --loss / --setting KEY=VALUE rather than --set"
        )
    given = {key: value for key, value in overrides.items() if value is not None}
    _check_setting_types(given)
    pixel_losses = sorted({"loss", "second_loss"} & set(given))
    if model in GAN_MODELS and pixel_losses:
        raise ValueError(
            f"{model} trains with adversarial BCE + l1_weight x L1, so {pixel_losses} would be "
            "ignored; change the L1 weight with --set l1_weight=VALUE"
        )
    return TrainingSettings(model=model, **{**PAPER_SETTINGS[model], **given})


def _check_setting_types(given):
    for field in dataclasses.fields(TrainingSettings):
        if field.name not in given:
            continue
        if not models.value_fits(given[field.name], field.type):
            raise ValueError(
                f"training setting {field.name} takes {field.type.__name__} values, "
                f"not {given[field.name]!r}"
            )


# --- precision and distribution ----------------------------------------------------------


def cpu_has_bf16():
    """Whether this CPU has native bfloat16 arithmetic (AVX512_BF16 or AMX-BF16)."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def choose_precision(requested="auto"):
    """auto: mixed_float16 on a GPU; mixed_bfloat16 on a CPU with bf16 instructions (1.3-1.9x
    faster training here); else float32 (mixed_float16 is 5-13x slower on CPUs)."""
    if requested != "auto":
        return requested
    if tf.config.list_physical_devices("GPU"):
        return "mixed_float16"
    return "mixed_bfloat16" if cpu_has_bf16() else "float32"


def choose_strategy(requested="auto"):
    if requested == "multiworker":  # first: listing devices starts TensorFlow's runtime
        return multiworker.strategy()
    gpus = tf.config.list_logical_devices("GPU")
    if requested == "auto":
        requested = "mirrored" if len(gpus) > 1 else "default"
    if requested == "default":
        return tf.distribute.get_strategy()
    if requested == "one":
        return tf.distribute.OneDeviceStrategy((gpus[0] if gpus else tf.config.list_logical_devices("CPU")[0]).name)
    if requested == "mirrored":
        # Among CPU devices the default collective all-reduce can launch a GAN's two
        # optimizer steps in different orders on different replicas (a shape-mismatch
        # abort); reducing on one device keeps them in step. GPUs keep NCCL.
        cross_device_ops = None if gpus else tf.distribute.ReductionToOneDevice()
        return tf.distribute.MirroredStrategy(cross_device_ops=cross_device_ops)
    raise ValueError(f"unknown strategy {requested!r}; choose auto, one, mirrored or multiworker")


def _train_as_extra_worker(settings):
    """A worker other than the chief trains in step with it, but writes its copies of the run
    files (checkpoints, history, export) to scratch: only the chief's run folder is kept."""
    with tempfile.TemporaryDirectory(prefix="keras-colorize-worker-") as scratch:
        return _train(settings, Path(scratch))


# --- data ----------------------------------------------------------------------------------


def default_data(model, out_dir, data_dir="data"):
    """`data/<standard file>` when `make data` has built it, else the built-in sample."""
    standard = Path(data_dir) / SHARED_DATA_FILES[model]
    if standard.exists():
        return standard
    return build_sample_dataset(Path(out_dir) / SAMPLE_FILE)


def build_sample_dataset(path, size=128):
    """The photos scikit-image ships, with pencil sketches, as a one-split HDF5 file."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # The photos are only the build's input; a run interrupted here starts it afresh.
        with tempfile.TemporaryDirectory() as scratch:
            folder = Path(scratch) / "sample_photos"
            samples.write_sample_folder(folder)
            datasets.build_dataset([folder], path, size, sketch="pencil", split=(1.0, 0.0, 0.0), seed=0)
    return path


def training_sources(data_path, image_size, element_format):
    """(train, validation) sample streams at the model's image size.

    An HDF5 file gives its train and val splits (train again when val is empty, as in the
    built-in sample); a folder of images is split 9:1 by file order, every tenth readable file
    validating. A source with nothing to train on, or without the sketches a sketch model
    needs, is a ValueError saying how to make one.
    """
    data_path = Path(data_path)
    if data_path.is_dir():
        skipped = {}
        everything = data.from_folder(data_path, image_size, skipped=skipped)
        if skipped:
            print(f"{data_path}: skipped {len(skipped)} unreadable file(s), listed above")
        train, validation = _every_tenth(everything, False), _every_tenth(everything, True)
    else:
        train = data.from_hdf5(data_path, "train")
        validation = data.from_hdf5(data_path, "val")
        if int(validation.cardinality()) == 0:
            validation = train
        train = data.resize_samples(train, image_size)
        validation = data.resize_samples(validation, image_size)
    _check_trainable(data_path, train, element_format)
    return train, validation


def mixed_training_sources(data_paths, weights, image_size, element_format, seed=0):
    """(train, validation) from several sources: training draws from source i with
    probability weights[i] (default: in proportion to its size), an epoch as long as all
    train splits together, a smaller source repeated to fill its share; validation is every
    source's validation split, the first source's first (the triplets show its samples)."""
    splits = [training_sources(path, image_size, element_format) for path in data_paths]
    if len(splits) == 1:
        return splits[0]
    reads = data.get_format(element_format).reads
    splits = [[_only(reads, source) for source in pair] for pair in splits]
    sizes = [int(train.cardinality()) for train, _ in splits]
    weights = _normalized_weights(weights, sizes)
    shares = [max(1, round(weight * sum(sizes))) for weight in weights]
    parts = [train.repeat(-(-share // size)).take(share) for (train, _), share, size in zip(splits, shares, sizes)]
    train = tf.data.Dataset.sample_from_datasets(parts, weights, seed=seed, stop_on_empty_dataset=False)
    validation = splits[0][1]
    for _, more in splits[1:]:
        validation = validation.concatenate(more)
    return train.apply(tf.data.experimental.assert_cardinality(sum(shares))), validation


def _only(keys, samples):
    """Samples holding only `keys`: sources mixed together must give samples of one structure."""
    return samples.map(lambda sample: {key: sample[key] for key in keys})


def _normalized_weights(weights, sizes):
    if not weights:
        return [size / sum(sizes) for size in sizes]
    if len(weights) != len(sizes) or any(weight < 0 for weight in weights) or not sum(weights):
        raise ValueError(
            f"data_weights {weights}: give one share >= 0 per data source ({len(sizes)}), not all 0"
        )
    return [weight / sum(weights) for weight in weights]


def _check_trainable(data_path, train, element_format):
    if int(train.cardinality()) == 0:
        hint = (
            "a folder needs at least 2 readable images, as every tenth validates"
            if data_path.is_dir()
            else "its train split is empty"
        )
        raise ValueError(f"{data_path}: no training samples ({hint})")
    if "sketch" in data.get_format(element_format).reads and "sketch" not in train.element_spec:
        raise ValueError(
            f"{data_path}: has photos but no sketches, and this model trains on sketch/photo "
            "pairs; make them with `python -m data_prep build PHOTOS OUT.h5 --sketch pencil` "
            "(or from photos/ + sketches/ folders of drawn pairs) and pass OUT.h5"
        )


def _every_tenth(samples, chosen):
    """Samples whose index is (chosen=True) or is not (False) a multiple of ten."""
    count = int(samples.cardinality())
    tenths = -(-count // 10)
    indexed = samples.enumerate()
    kept = indexed.filter(lambda index, _: tf.equal(index % 10 == 0, chosen)).map(lambda _, s: s)
    # A filter hides the count that steps per epoch and the cache budget are computed from.
    return kept.apply(tf.data.experimental.assert_cardinality(tenths if chosen else count - tenths))


def take_samples(pairs, count):
    """The first `count` (input, target) pairs of a batched dataset, as numpy arrays."""
    inputs, targets = next(iter(pairs.unbatch().batch(count)))
    return inputs.numpy(), targets.numpy()


# --- model and compilation -----------------------------------------------------------------


def _adam(settings, steps_per_epoch):
    learning_rate = settings.learning_rate
    if settings.halve_lr_every_half_epoch:
        learning_rate = keras.optimizers.schedules.ExponentialDecay(
            learning_rate, decay_steps=max(1, steps_per_epoch // 2), decay_rate=0.5, staircase=True
        )
    return keras.optimizers.Adam(learning_rate, beta_1=settings.beta_1)


def _pixel_loss(settings):
    element = data.get_format(models.element_format(settings.model))
    rgb_only = sorted({settings.loss, settings.second_loss} & set(losses.RGB_ONLY))
    if rgb_only and element.takes_lightness:
        raise ValueError(
            f"{settings.model} predicts {element.name} targets, not sRGB images, and {rgb_only} "
            "compares sRGB images through an ImageNet network; choose another --loss"
        )
    target_range = element.target_range
    if settings.second_loss:
        return losses.SwitchingLoss(settings.loss, settings.second_loss, value_range=target_range)
    return losses.get(settings.loss, target_range)


def compile_model(model, settings, train_pairs, steps_per_epoch):
    """Compile `model` with the optimizer(s) and loss its settings name."""
    if isinstance(model, ConditionalGAN):
        model.compile(
            g_optimizer=_adam(settings, steps_per_epoch),
            d_optimizer=_adam(settings, steps_per_epoch),
            steps_per_execution=settings.steps_per_execution,
        )
        return None
    if settings.loss in BIN_LOSSES:
        from keras_colorize.models import classifier

        loss = classifier.training_loss(
            model, train_pairs, max_batches=steps_per_epoch, rebalance=settings.loss == "rebalanced",
            rebalancing_mix=settings.rebalancing_mix,
        )
    else:
        loss = _pixel_loss(settings)
    metrics = ["mae"] if isinstance(loss, losses.SwitchingLoss) else None
    model.compile(
        optimizer=_adam(settings, steps_per_epoch),
        loss=loss,
        metrics=metrics,
        steps_per_execution=settings.steps_per_execution,
    )
    return loss


# --- the run ---------------------------------------------------------------------------------


def _loss_switch_epoch(settings):
    """The epoch the second loss starts: half way by default, never before one epoch of the first."""
    return settings.second_loss_epoch or max(1, settings.epochs // 2)


def _warn_if_the_loss_never_switches(settings):
    """The paper's switch epoch (the U-Net's 24) holds in a shorter run too, which then never
    reaches its second loss: say so rather than move the paper's epoch."""
    if settings.second_loss_epoch >= settings.epochs:
        print(
            f"note: {settings.second_loss} starts after epoch {settings.second_loss_epoch}, and "
            f"this run has {settings.epochs}: it trains with {settings.loss} only "
            "(--second-loss-epoch N switches earlier)"
        )


def _load_initial_weights(model, source):
    """Start `model` from a trained model file, or from a shipped model (`shipped:NAME`) with the
    same layers, whatever image size it was shipped at (a GAN: its generator's layers)."""
    shipped_name = shipped.name_in(source)
    if shipped_name is None:
        models.load_weights(model, source)
    else:
        shipped.load_into(model, shipped_name)


def _check_resumes_the_same_model(out_dir, model_name, model_config):
    """An interrupted run in `out_dir` resumes only with the network it was training."""
    if not (out_dir / BACKUP).exists():
        return  # nothing to resume
    earlier = runs.read_if_run(out_dir)
    if earlier is None:
        return  # no readable record: the backup itself will tell whether it fits
    if "model_config" not in earlier:
        return  # recorded before runs kept their builder config
    # Compared as JSON reads them back, so that a tuple in the config equals its list.
    if (earlier.get("model"), earlier.get("model_config")) != (
        model_name, json.loads(json.dumps(model_config))
    ):
        raise TrainingError(
            f"{out_dir}: holds an interrupted run of {earlier.get('model')} "
            f"{earlier.get('model_config')}; run its own command again to resume it, or "
            "choose another --out"
        )


def _check_run_folder(out_dir):
    """Refuse a finished run, and a folder of someone's files that a run would write over."""
    if (out_dir / "model.keras").exists() and not (out_dir / BACKUP).exists():
        raise TrainingError(
            f"{out_dir}: holds a finished run (model.keras); choose another --out "
            "or remove it yourself"
        )
    # Before config.json, a run writes only the built-in sample there (hidden while partial).
    entries = {p.name for p in out_dir.iterdir() if not p.name.startswith(".")} if out_dir.is_dir() else set()
    if entries - {SAMPLE_FILE} and runs.read_if_run(out_dir) is None:
        raise TrainingError(
            f"{out_dir}: holds files that are not a training run (no run config.json), which "
            "the run would write over; choose a new or empty --out"
        )


def _check_backup_readable(out_dir):
    """A run killed while saving its backup leaves that file unreadable; Keras then restores the
    copy it kept of the epoch before (double_checkpoint). Without one, a first save cut off
    before it recorded its epoch held nothing yet, and the run starts over; any other cannot
    resume."""
    backup = out_dir / BACKUP
    saved = [path for path in backup.glob("latest.weights.h5*") if path.is_file()]
    if not saved or any(_readable_hdf5(path) for path in saved):
        return
    if not (backup / BACKUP_EPOCH).exists():
        print(f"{backup}: the first epoch's backup was cut off; starting the run over")
        shutil.rmtree(backup)
        return
    raise TrainingError(
        f"{backup}: the interrupted run's backup cannot be read (its save was cut "
        f"off); remove {backup} to start the run over"
    )


def _readable_hdf5(path):
    try:
        h5py.File(path, "r").close()
    except OSError:
        return False
    return True


def _best_so_far(history_path, monitor):
    """The lowest `monitor` value in a resumed run's history (infinity in a new run)."""
    try:
        with open(history_path, newline="") as history:
            values = [float(row[monitor]) for row in csv.DictReader(history) if row.get(monitor)]
    except OSError:
        return math.inf
    return min(values, default=math.inf)


def _callbacks(settings, out_dir, model, predictor, loss, validation_source, steps_per_epoch):
    inputs, targets = take_samples(
        pairs_for(validation_source, settings, training=False, cache=False), settings.triplet_samples
    )
    monitor = "val_loss"
    if isinstance(model, ConditionalGAN):
        monitor = "val_g_l1"
    elif isinstance(loss, losses.SwitchingLoss):
        monitor = "val_mae"  # comparable across the loss switch
    chosen = [
        kc_callbacks.StopOnDivergence(out_dir),
        kc_callbacks.EpochSummary(steps_per_epoch * settings.batch_size),  # before the CSV: its epoch_seconds
        kc_callbacks.BestCheckpoint(
            out_dir / "best.keras", monitor, best=_best_so_far(out_dir / HISTORY, monitor)
        ),
        kc_callbacks.ResumableHistory(out_dir / HISTORY),
        # After the history row and the best checkpoint: an epoch is done once it is backed up.
        # Kept until model.keras and export/ are written (`train`), so a run killed after its
        # last epoch resumes there instead of starting over; a save cut off falls back to the
        # epoch before.
        keras.callbacks.BackupAndRestore(
            str(out_dir / BACKUP), double_checkpoint=True, delete_checkpoint=False
        ),
        keras.callbacks.TensorBoard(str(out_dir / "logs"), write_graph=False),
        kc_callbacks.PredictionTriplets(
            inputs,
            targets,
            models.element_format(settings.model),
            out_dir / "triplets",
            log_dir=out_dir / "logs",
            predictor=predictor,
        ),
    ]
    if isinstance(loss, losses.SwitchingLoss):
        chosen.append(
            kc_callbacks.LossStage(loss, _loss_switch_epoch(settings))
        )
    if settings.discriminator_warmup_epochs:
        chosen.append(kc_callbacks.DiscriminatorWarmup(settings.discriminator_warmup_epochs))
    return chosen


def pairs_for(source, settings, training, cache=True):
    """The model's (input, target) batches from a sample stream; augmented when training.

    Batches are always whole, so that every replica of a distributed run gets its share; a
    split smaller than one batch (the built-in sample's) is repeated to fill one. When training
    redraws every sketch in random styles, validation scores (and the triplets show) random-style
    sketches too, the same every epoch (`data.with_random_sketches`). With
    `cache`, what the first epoch computed stays in memory when it fits (`data.make_dataset`);
    a pipeline that will only be read part-way should not cache, as the part is thrown away.
    """
    count = int(source.cardinality())
    if 0 < count < settings.batch_size:
        source = source.repeat(-(-settings.batch_size // count))
    if not training and getattr(augment_lib.get(settings.augment or None), "redraw", False):
        source = data.with_random_sketches(source, settings.seed)
    return data.make_dataset(
        source,
        models.element_format(settings.model),
        settings.batch_size,
        augment=(settings.augment or None) if training else None,
        shuffle=training,
        seed=settings.seed,
        cache="auto" if cache else False,
        drop_remainder=True,
    )


def train(settings, out_dir):
    """Train per `settings` into `out_dir`; returns the Keras History. Resumes an interrupted run.
    One process at a time trains into a folder (`runlock`: another gets a TrainingError)."""
    files.prepare_output(out_dir, hint="pass a folder for the run")
    if settings.strategy == "multiworker" and not multiworker.is_chief():
        return _train_as_extra_worker(settings)
    _check_run_folder(Path(out_dir))  # before the lock file: someone's own folder stays untouched
    with runlock.locked(out_dir):
        return _train(settings, Path(out_dir))


def _train(settings, out_dir):
    _check_run_folder(out_dir)  # again: a run holding the lock may have finished meanwhile
    _check_backup_readable(out_dir)
    keras.utils.set_random_seed(settings.seed)
    precision = choose_precision(settings.precision)
    keras.mixed_precision.set_global_policy(precision)
    strategy = choose_strategy(settings.strategy)
    model_config = models.config(settings.model, settings.preset, **settings.model_overrides)
    _check_resumes_the_same_model(out_dir, settings.model, model_config)
    for given in filter(None, [settings.data, *settings.extra_data]):
        files.check_outside(out_dir, given)
    data_path = settings.data or default_data(settings.model, out_dir)
    # Absolute: evaluate.py and ship_model.py read it back from any working directory.
    settings = dataclasses.replace(
        settings,
        data=str(Path(data_path).absolute()),
        extra_data=[str(Path(path).absolute()) for path in settings.extra_data],
    )
    if settings.second_loss:  # recorded as the epoch it happens at
        settings = dataclasses.replace(settings, second_loss_epoch=_loss_switch_epoch(settings))
        _warn_if_the_loss_never_switches(settings)
    with strategy.scope():
        model = models.build(settings.model, **model_config)
        if settings.initial_weights:
            _load_initial_weights(model, settings.initial_weights)
    image_size = model.input_shape[1]
    element_format = models.element_format(settings.model)
    train_source, validation_source = mixed_training_sources(
        [data_path, *settings.extra_data], settings.data_weights, image_size, element_format, settings.seed
    )
    uncached_train_pairs = pairs_for(train_source, settings, training=True, cache=False)
    batches_per_pass = max(1, int(uncached_train_pairs.cardinality()))
    steps_per_epoch = settings.steps_per_epoch or batches_per_pass
    # A run, or a validation pass, that never reads a whole pass would discard a half-filled cache.
    train_pairs = pairs_for(
        train_source, settings, training=True, cache=settings.epochs * steps_per_epoch >= batches_per_pass
    )
    validation_pairs = pairs_for(
        validation_source, settings, training=False, cache=not settings.validation_steps
    )
    if settings.steps_per_epoch:
        train_pairs = train_pairs.repeat()
    with strategy.scope():
        loss = compile_model(model, settings, uncached_train_pairs, steps_per_epoch)
        predictor = models.inference_model(settings.model, model)
    # Written once the settings have proved usable, so that a refused run leaves no record.
    # The builder config in full, not only the preset's name: presets change between versions,
    # and shipping or rebuilding the run must give the network it trained.
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / runs.RUN_CONFIG).write_text(
        settings.to_json(model_config=model_config, precision_used=precision)
    )
    print(
        f"training {settings.model} ({settings.preset}: {model_config}) on {data_path}, "
        f"{precision}, {strategy.num_replicas_in_sync} replica(s), {model.count_params():,} parameters"
    )
    if settings.strategy == "multiworker":
        multiworker.prepare_fit(model, train_pairs)
    history = model.fit(
        train_pairs,
        epochs=settings.epochs,
        steps_per_epoch=steps_per_epoch,
        validation_data=validation_pairs,
        validation_steps=settings.validation_steps or None,
        callbacks=_callbacks(
            settings, out_dir, model, predictor, loss, validation_source, steps_per_epoch
        ),
        shuffle=False,  # the pipeline shuffles, seeded
        verbose=1 if console.is_terminal() else 2,  # else one line per epoch
    )
    # model.keras last: its presence marks the run finished, export/ included.
    exporting.export_serving(predictor, element_format, out_dir / "export")
    exporting.save_keras(model, out_dir / "model.keras")
    shutil.rmtree(out_dir / BACKUP, ignore_errors=True)
    print(f"run folder: {out_dir.resolve()}")
    return history
