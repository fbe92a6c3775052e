"""The trained models shipped inside the package, as Keras presets: `Colorizer.from_preset("unet")`.

Each shipped model is a folder `keras_colorize/weights/<name>/`:

    config.json        the registered model, its builder preset and config, its element format,
                       its storage dtype, how it was trained and the storage check
    model.weights.h5   its weights, written by Keras's `save_weights` (keyed by layer path, so
                       two same-shaped layers cannot trade weights), in float16 where
                       `scripts/ship_model.py` found the outputs within 0.1 dB PSNR of float32's
                       (an array float16 cannot hold stays float32); no optimizer state
    README.md          its model card: data, preset, epochs, training time, metrics

Loading reads JSON and HDF5 arrays only: the model is rebuilt by this package's own builder
from the recorded config, so a preset folder runs no code of its own. A GAN ships its generator
only: the discriminator matters for training, not for colorizing. Builder options that name
files (a U-Net generator, VGG16 or MobileNet weights) are None in the config: the weights they
loaded are in model.weights.h5.
"""

import json
import tempfile
import warnings
from pathlib import Path

import h5py
import numpy as np

from keras_colorize import files, models
from keras_colorize.errors import ModelLoadError
from keras_colorize.models.gan import ConditionalGAN

PRESETS_DIR = Path(__file__).resolve().parent / "weights"
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.weights.h5"
CARD_FILE = "README.md"
# What the apps and the demo use unless told otherwise: the best shipped model of each task.
PHOTO_MODEL = "mobilenet_unet"  # general photos and faces (README results)
SKETCH_MODEL = "sketch_inverter"  # artists' sketches of many styles, painted on their own paper
PENCIL_SKETCH_MODEL = "sketch_inverter_pencil"  # pencil sketches made from photos: gray2color --via-sketch, video
HINT_MODEL = "hint_unet"  # follows colour hints (`Colorizer.colorize(image, hints=...)`, --hints)
SOURCE_PREFIX = "shipped:"  # a Colorizer's `source` when it was loaded by shipped name
_OPTIMIZER_GROUP = "optimizer"  # what `save_weights` writes for a compiled model; a preset has no use for it


def source_of(name):
    """The `Colorizer.source` of shipped model `name`."""
    return f"{SOURCE_PREFIX}{name}"


def name_in(source):
    """The shipped name a `Colorizer.source` names; None for a model loaded from a path."""
    return source.removeprefix(SOURCE_PREFIX) if source.startswith(SOURCE_PREFIX) else None


def available(folder=None):
    """Names of the models shipped in `folder` (default: the package's presets)."""
    return sorted(path.parent.name for path in Path(folder or PRESETS_DIR).glob(f"*/{CONFIG_FILE}"))


def weights_path(name, folder=None):
    """Shipped model `name`'s weights file."""
    return Path(folder or PRESETS_DIR) / name / WEIGHTS_FILE


def card_path(name, folder=None):
    """Shipped model `name`'s model card."""
    return Path(folder or PRESETS_DIR) / name / CARD_FILE


def app_photo_model():
    """The photo model the GUI and the web page start with: HINT_MODEL where it ships, since it
    colorizes on its own too and takes the hints their users place; else PHOTO_MODEL."""
    return HINT_MODEL if HINT_MODEL in available() else PHOTO_MODEL


def _holder(model):
    """The part of `model` whose weights ship: a GAN's generator, else the whole model."""
    return model.generator if isinstance(model, ConditionalGAN) else model


def save(model, model_name, config, name=None, folder=None, dtype="float16", preset="small", extra=None):
    """Write `model` (built by `models.build(model_name, preset, **config)`) as shipped model
    `name`, keeping a model card already there; `extra` adds to its config.json (how it was
    trained). Returns the weights file."""
    folder = Path(folder or PRESETS_DIR) / (name or model_name)
    # None, not dropped: a preset may name the file, and model.weights.h5 holds what it loaded.
    config = models.without_weight_files(model_name, config)
    description = {
        "model": model_name, "preset": preset, "config": config,
        "element_format": models.element_format(model_name), "dtype": dtype, **(extra or {}),
    }
    with tempfile.TemporaryDirectory() as scratch:
        full = Path(scratch) / WEIGHTS_FILE
        _holder(model).save_weights(full)
        with files.written_atomically(folder / WEIGHTS_FILE) as weights:
            _copy_stored(full, weights, dtype)
    with files.written_atomically(folder / CONFIG_FILE) as config_path:
        config_path.write_text(json.dumps(description, indent=2, sort_keys=True) + "\n")
    return folder / WEIGHTS_FILE


def _copy_stored(source, target, dtype):
    """Copy Keras weights file `source` to `target` without the optimizer's state, each float
    array in `dtype` where it can hold its values (`_stored`). Compressed in HDF5's latest
    layout, whose small per-array overhead keeps the files as small as an .npz of the arrays."""
    with h5py.File(source, "r") as read, h5py.File(target, "w", libver="latest") as written:
        written.attrs.update(read.attrs)

        def copy(path, item):
            if path.split("/")[0] == _OPTIMIZER_GROUP:
                return
            if isinstance(item, h5py.Group):
                written.require_group(path).attrs.update(item.attrs)
                return
            array = item[()]
            if array.dtype.kind == "f" and array.ndim:
                written.create_dataset(path, data=_stored(array, dtype), compression="gzip")
            else:
                written.create_dataset(path, data=array)
            written[path].attrs.update(item.attrs)

        read.visititems(copy)


def _stored(array, dtype):
    """`array` in `dtype`, or in float32 where `dtype` cannot hold its values (a batch norm's
    moving variance can pass float16's 65504)."""
    with np.errstate(over="ignore"):
        narrowed = array.astype(dtype)
    return narrowed if np.isfinite(narrowed).all() else array.astype(np.float32)


def load(name, folder=None):
    """The shipped model `name`, rebuilt in float32 (returns the full registered model)."""
    recorded = description(name, folder)
    model = models.build(recorded["model"], recorded["preset"],
                         **models.without_weight_files(recorded["model"], recorded["config"]))
    _load_weights(model, name, folder, recorded)
    return model


def load_into(model, name, folder=None):
    """Set shipped model `name`'s weights into `model`, built by the same builder with the same
    layers; its image size may differ (the shipped models are fully convolutional), which is how
    a run fine-tunes a shipped model at another size (`--initial-weights shipped:NAME`)."""
    _load_weights(model, name, folder, description(name, folder))


def _load_weights(model, name, folder, recorded):
    path = weights_path(name, folder)
    try:
        with warnings.catch_warnings():
            # A compiled model's optimizer finds no state in a preset, as it should.
            warnings.filterwarnings("ignore", message="Skipping variable loading for optimizer")
            # Keras casts each float16 array to its float32 variable exactly.
            _holder(model).load_weights(path)
    except (ValueError, *models.UNREADABLE_MODEL_FILE) as error:
        raise ModelLoadError(
            f"{path}: its weights do not fit {model.name} (shipped as {recorded['model']} "
            f"{recorded['config']}): {models.first_line(error)}"
        ) from None


def description(name, folder=None):
    """What shipped model `name`'s config.json says: its model, builder config and training stages."""
    folder = Path(folder or PRESETS_DIR)
    # Only the names listed there: "../../x" must not reach files outside the folder.
    if name not in available(folder) or not weights_path(name, folder).is_file():
        raise ModelLoadError(f"{name}: not a shipped model (shipped: {available(folder) or 'none'})")
    recorded = json.loads((folder / name / CONFIG_FILE).read_text())
    if recorded["model"] not in models.available():
        raise ModelLoadError(f"{name}: shipped as model {recorded['model']!r}, not one of {models.available()}")
    if recorded["element_format"] != models.element_format(recorded["model"]):
        raise ModelLoadError(
            f"{name}: recorded element format {recorded['element_format']!r}, where {recorded['model']} "
            f"models give {models.element_format(recorded['model'])!r}"
        )
    return recorded
