"""Training runs: `train(settings, out_dir)` builds the model, compiles it as its settings say,
fits it on its data with the run's callbacks, and writes the run folder:

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

The settings and the papers' defaults are `training_settings`; precision and distribution
`hardware`; the data `training_data`; whether a folder may be written and what a run resumes
from `run_folder`.
"""

import dataclasses
import shutil
import tempfile
from pathlib import Path

import keras

from keras_colorize import callbacks as kc_callbacks
from keras_colorize import (
    console, data, exporting, files, hardware, hints, losses, models, multiworker, run_folder, runlock, runs, shipped,
    training_data,
)
from keras_colorize.models.gan import ConditionalGAN
from keras_colorize.training_settings import BIN_LOSSES


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


def _preview(predictor):
    """What the prediction previews run: a hint model given no hints."""
    return hints.without_hints(predictor) if len(predictor.inputs) > 1 else predictor


def _callbacks(settings, out_dir, model, predictor, loss, validation_source, steps_per_epoch):
    inputs, targets = training_data.take_samples(
        training_data.pairs_for(validation_source, settings, training=False, cache=False), settings.triplet_samples
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
            out_dir / "best.keras", monitor, best=run_folder.best_so_far(out_dir / run_folder.HISTORY, monitor)
        ),
        kc_callbacks.ResumableHistory(out_dir / run_folder.HISTORY),
        # After the history row and the best checkpoint: an epoch is done once it is backed up.
        # Kept until model.keras and export/ are written (`train`), so a run killed after its
        # last epoch resumes there instead of starting over; a save cut off falls back to the
        # epoch before.
        keras.callbacks.BackupAndRestore(
            str(out_dir / run_folder.BACKUP), double_checkpoint=True, delete_checkpoint=False
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


def train(settings, out_dir):
    """Train per `settings` into `out_dir`; returns the Keras History. Resumes an interrupted run.
    One process at a time trains into a folder (`runlock`: another gets a TrainingError)."""
    files.prepare_output(out_dir, hint="pass a folder for the run")
    if settings.strategy == "multiworker" and not multiworker.is_chief():
        return _train_as_extra_worker(settings)
    run_folder.check_run_folder(Path(out_dir))  # before the lock file: someone's own folder stays untouched
    with runlock.locked(out_dir):
        return _train(settings, Path(out_dir))


def _train_as_extra_worker(settings):
    """A worker other than the chief trains in step with it, but writes its copies of the run
    files (checkpoints, history, export) to scratch: only the chief's run folder is kept."""
    with tempfile.TemporaryDirectory(prefix="keras-colorize-worker-") as scratch:
        return _train(settings, Path(scratch))


def _train(settings, out_dir):
    run_folder.check_run_folder(out_dir)  # again: a run holding the lock may have finished meanwhile
    run_folder.check_backup_readable(out_dir)
    keras.utils.set_random_seed(settings.seed)
    precision = hardware.choose_precision(settings.precision)
    keras.mixed_precision.set_global_policy(precision)
    strategy = hardware.choose_strategy(settings.strategy)
    model_config = models.config(settings.model, settings.preset, **settings.model_overrides)
    run_folder.check_resumes_the_same_model(out_dir, settings.model, model_config)
    for given in filter(None, [settings.data, *settings.extra_data]):
        files.check_outside(out_dir, given)
    data_path = settings.data or training_data.default_data(settings.model, out_dir)
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
    image_size = model.inputs[0].shape[1]
    element_format = models.element_format(settings.model)
    train_source, validation_source = training_data.mixed_training_sources(
        [data_path, *settings.extra_data], settings.data_weights, image_size, element_format, settings.seed
    )
    uncached_train_pairs = training_data.pairs_for(train_source, settings, training=True, cache=False)
    batches_per_pass = max(1, int(uncached_train_pairs.cardinality()))
    steps_per_epoch = settings.steps_per_epoch or batches_per_pass
    # A run, or a validation pass, that never reads a whole pass would discard a half-filled cache.
    train_pairs = training_data.pairs_for(
        train_source, settings, training=True, cache=settings.epochs * steps_per_epoch >= batches_per_pass
    )
    validation_pairs = training_data.pairs_for(
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
            settings, out_dir, model, _preview(predictor), loss, validation_source, steps_per_epoch
        ),
        shuffle=False,  # the pipeline shuffles, seeded
        verbose=1 if console.is_terminal() else 2,  # else one line per epoch
    )
    # model.keras last: its presence marks the run finished, export/ included.
    network, rendering = models.at_any_size(predictor)
    exporting.export_serving(network, element_format, out_dir / "export", rendering)
    exporting.save_keras(model, out_dir / "model.keras")
    shutil.rmtree(out_dir / run_folder.BACKUP, ignore_errors=True)
    print(f"run folder: {out_dir.resolve()}")
    return history
