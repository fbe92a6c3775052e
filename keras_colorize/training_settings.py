"""What a training run is given: its settings (`TrainingSettings`, the run folder's
config.json), starting from the paper's settings of its model (`models.spec(name).training`).
"""

import dataclasses
import json

from keras_colorize import models
from keras_colorize.models.classifier import REBALANCING_MIX

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


# The ab-bin models' losses (`classifier.training_loss`): class-rebalanced, or plain.
BIN_LOSSES = ("rebalanced", "crossentropy")


def default_settings(model, **overrides):
    """The paper settings of `model` (its spec's `training`), with overrides (None values are ignored)."""
    spec = models.spec(model)
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
    if spec.adversarial and pixel_losses:
        raise ValueError(
            f"{model} trains with adversarial BCE + l1_weight x L1, so {pixel_losses} would be "
            "ignored; change the L1 weight with --set l1_weight=VALUE"
        )
    return TrainingSettings(model=model, **{**spec.training, **given})


def _check_setting_types(given):
    for field in dataclasses.fields(TrainingSettings):
        if field.name not in given:
            continue
        if not models.value_fits(given[field.name], field.type):
            raise ValueError(
                f"training setting {field.name} takes {field.type.__name__} values, "
                f"not {given[field.name]!r}"
            )
