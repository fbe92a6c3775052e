"""The trained models shipped inside the package: `Colorizer.load("unet")`.

Each shipped model is three files in `keras_colorize/weights/`:

    <name>.json   the registered model and the builder config that rebuild it
    <name>.npz    its weights in float16 (half the bytes of float32; `scripts/ship_model.py`
                  checks that the outputs stay within 0.1 dB PSNR of float32's; an array
                  float16 cannot hold stays float32), in `get_weights()` order
    <name>.md     its model card: data, preset, epochs, training time, metrics

A GAN ships its generator only: the discriminator matters for training, not for colorizing.
Builder options that name files (a U-Net generator, VGG16 or MobileNet weights) are None in
the config: the weights they loaded are in the .npz.
"""

import json
from pathlib import Path

import numpy as np

from keras_colorize import files, models
from keras_colorize.errors import ModelLoadError
from keras_colorize.models.gan import ConditionalGAN

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
# What the apps and the demo use unless told otherwise: the best shipped model of each task.
PHOTO_MODEL = "mobilenet_unet"  # general photos and faces (README results)
SKETCH_MODEL = "sketch_inverter"  # artists' sketches of many styles, painted on their own paper
PENCIL_SKETCH_MODEL = "sketch_inverter_pencil"  # pencil sketches made from photos: gray2color --via-sketch, video
HINT_MODEL = "hint_unet"  # follows colour hints (`Colorizer.colorize(image, hints=...)`, --hints)
SOURCE_PREFIX = "shipped:"  # a Colorizer's `source` when it was loaded by shipped name


def source_of(name):
    """The `Colorizer.source` of shipped model `name`."""
    return f"{SOURCE_PREFIX}{name}"


def name_in(source):
    """The shipped name a `Colorizer.source` names; None for a model loaded from a path."""
    return source.removeprefix(SOURCE_PREFIX) if source.startswith(SOURCE_PREFIX) else None


def available(folder=None):
    """Names of the models shipped in `folder` (default: the package's weights)."""
    return sorted(path.stem for path in Path(folder or WEIGHTS_DIR).glob("*.json"))


def app_photo_model():
    """The photo model the GUI and the web page start with: HINT_MODEL where it ships, since it
    colorizes on its own too and takes the hints their users place; else PHOTO_MODEL."""
    return HINT_MODEL if HINT_MODEL in available() else PHOTO_MODEL


def _holder(model):
    """The part of `model` whose weights ship: a GAN's generator, else the whole model."""
    return model.generator if isinstance(model, ConditionalGAN) else model


def save(model, model_name, config, name=None, folder=None, dtype="float16", extra=None):
    """Write `model` (built by `models.build(model_name, **config)`) as shipped model `name`;
    `extra` adds to its description (how it was trained)."""
    folder = Path(folder or WEIGHTS_DIR)
    name = name or model_name
    # None, not dropped: a preset may name the file, and the .npz holds what it loaded.
    config = models.without_weight_files(model_name, config)
    weights = {f"w{index:04d}": _stored(array, dtype) for index, array in enumerate(_holder(model).get_weights())}
    description = {"model": model_name, "config": config, "dtype": dtype, **(extra or {})}
    with files.written_atomically(folder / f"{name}.npz") as weights_path:
        np.savez_compressed(weights_path, **weights)
    with files.written_atomically(folder / f"{name}.json") as description_path:
        description_path.write_text(json.dumps(description, indent=2, sort_keys=True) + "\n")
    return folder / f"{name}.npz"


def _stored(array, dtype):
    """`array` in `dtype`, or in float32 where `dtype` cannot hold its values (a batch norm's
    moving variance can pass float16's 65504)."""
    with np.errstate(over="ignore"):
        narrowed = array.astype(dtype)
    return narrowed if np.isfinite(narrowed).all() else array.astype(np.float32)


def load(name, folder=None):
    """The shipped model `name`, rebuilt in float32 (returns the full registered model)."""
    recorded = description(name, folder)
    model = models.build(recorded["model"], **models.without_weight_files(recorded["model"], recorded["config"]))
    _set_weights(model, name, folder, recorded)
    return model


def load_into(model, name, folder=None):
    """Set shipped model `name`'s weights into `model`, built by the same builder with the same
    layers; its image size may differ (the shipped models are fully convolutional), which is how
    a run fine-tunes a shipped model at another size (`--initial-weights shipped:NAME`)."""
    _set_weights(model, name, folder, description(name, folder))


def _set_weights(model, name, folder, recorded):
    weights_path = Path(folder or WEIGHTS_DIR) / f"{name}.npz"
    holder = _holder(model)
    with np.load(weights_path) as stored:
        weights = [stored[key].astype(np.float32) for key in sorted(stored.files)]
    expected = [tuple(variable.shape) for variable in holder.weights]
    if [array.shape for array in weights] != expected:
        raise ModelLoadError(
            f"{weights_path}: its arrays do not fit {model.name} (shipped as {recorded['model']} "
            f"{recorded['config']})"
        )
    holder.set_weights(weights)


def description(name, folder=None):
    """What shipped model `name`'s JSON says: its model, builder config and training stages."""
    folder = Path(folder or WEIGHTS_DIR)
    # Only the names listed there: "../../x" must not reach files outside the folder.
    if name not in available(folder) or not (folder / f"{name}.npz").is_file():
        raise ModelLoadError(f"{name}: not a shipped model (shipped: {available(folder) or 'none'})")
    return json.loads((folder / f"{name}.json").read_text())
