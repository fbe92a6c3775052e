"""What a training run is given: its settings (`TrainingSettings`, the run folder's
config.json), the papers' settings per model (`PAPER_SETTINGS`, the defaults; where a paper is
silent the value is marked so in the comment) and the standard data each model trains on.
"""

import dataclasses
import json

from keras_colorize import models
from keras_colorize.models.classifier import REBALANCING_MIX

SHARED_DATA_FILES = {
    "sketch_inverter": "celeba100.h5",
    "unet": "lfw128.h5",
    "unet_gan": "lfw128.h5",
    "fusion": "lfw128.h5",
    "classifier": "lfw128.h5",
    "pix2pix": "edges2shoes.h5",
    "mobilenet_unet": "general256_train.h5",
    "hint_unet": "general256_train.h5",
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
    # Zhang et al. 2017 (SIGGRAPH), sec. 3.3: smooth-L1 (Huber, delta 1) on ab, Adam; their rate
    # (1e-5) and schedule are for training from scratch on ImageNet: ours are mobilenet_unet's.
    "hint_unet": dict(loss="huber", learning_rate=3e-4, batch_size=32, epochs=10, augment="pix2pix"),
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
