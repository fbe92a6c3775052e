"""The papers' networks, one spec per model, each declared in its own module of this package.

    >>> from keras_colorize import models
    >>> models.available()
    >>> model = models.build("unet", preset="small", base_filters=8)

A model module builds its network and registers a `ModelSpec`: the builder, its presets, its
element format, the paper's training defaults and the data it trains on. Every module of this
package is imported below, so adding a model is one new module:

    def build_my_model(image_size=128, base_filters=32):
        ...  # the graph; returns an uncompiled keras.Model
        return model

    SPEC = register(ModelSpec(
        name="my_model",
        builder=build_my_model,
        presets={"paper": {"image_size": 256, "base_filters": 64}, "small": {"image_size": 64, "base_filters": 8}},
        element_format="l_ab_signed",  # a `keras_colorize.data` format: what its (input, target) pairs are
        training=dict(loss="mae", learning_rate=1e-3, batch_size=16, epochs=10),  # TrainingSettings fields
        standard_data="lfw128.h5",  # built by `make data` into data/
    ))

A preset is a dict of builder keyword arguments, `paper` holding the paper's sizes and `small`
a size that trains in seconds on a 2-core CPU; `build(name, preset, **overrides)` merges
overrides over the preset. Builders return uncompiled models: a run compiles one from its
settings (`training.compile_model`), which start from the spec's `training`. A model whose raw
output is not in its element format's target encoding (the classifier's logits) gives
`inference`, turning the trained model into one that outputs it; `inference_model(name, model)`
applies it (identity for the others). `tests/model_harness.py` holds the contract every
registered model is tested against.
"""

import collections
import dataclasses
import functools
import importlib
import inspect
import pkgutil
import warnings
import zipfile
from pathlib import Path
from typing import Callable, Optional

import keras
import numpy as np
import tensorflow as tf

from keras_colorize import console
from keras_colorize.models.layers import ResizeUpSampling2D

# Builder options that name pretrained weights to load (a file, or "imagenet"): a model built
# only to load trained weights over, or to read its interface, sets them to None.
WEIGHT_FILE_OPTIONS = (
    "generator_weights", "vgg_weights", "mobilenet_weights", "backbone_weights", "automatic_weights",
)


@dataclasses.dataclass(frozen=True)
class ModelSpec:
    """Everything the package knows about one model (see the module docstring).

    name: what `--model` and `build` take.
    builder: `builder(**config) -> keras.Model`, uncompiled; a subclassed model's `get_config`
        returns exactly its constructor's arguments, as keras-hub's do.
    presets: {preset name: builder config}; at least "paper" and "small".
    element_format: the `keras_colorize.data` format of its (input, target) pairs.
    training: the paper's `training_settings.TrainingSettings` defaults (loss, learning_rate,
        batch_size, epochs, schedule, augmentation); where a paper is silent, its module says so.
    standard_data: the file of `make data` (under data/) a run trains on unless told otherwise.
    inference: model -> the model giving its element format's targets; None: the model does.
    adversarial: trained by `ConditionalGAN`'s own losses (adversarial + L1), not by `loss`.
    """

    name: str
    builder: Callable
    presets: dict
    element_format: str
    training: dict
    standard_data: str
    inference: Optional[Callable] = None
    adversarial: bool = False


_SPECS = {}


def register(spec):
    """Add `spec` (a `ModelSpec`) to the registry; returns it."""
    if spec.name in _SPECS:
        raise ValueError(f"model {spec.name!r} is registered twice")
    if not {"paper", "small"} <= set(spec.presets):
        raise ValueError(f"model {spec.name!r} needs 'paper' and 'small' presets, not {sorted(spec.presets)}")
    _SPECS[spec.name] = spec
    return spec


def spec(name):
    """The `ModelSpec` registered as `name`."""
    _check_name(name)
    return _SPECS[name]


def available():
    """Names of the registered models, sorted."""
    return sorted(_SPECS)


def presets(name):
    """{preset name: config dict} for one model."""
    return {key: dict(value) for key, value in spec(name).presets.items()}


def element_format(name):
    """The `keras_colorize.data` element format giving this model's (input, target) pairs."""
    return spec(name).element_format


def inference_model(name, model):
    """`model` as a model whose output is in its element format's target encoding."""
    inference = spec(name).inference
    return model if inference is None else inference(model)


def config(name, preset="small", **overrides):
    """The full builder config: the preset with overrides applied, checked against the
    builder's options (names, and the type of each one's default)."""
    options = presets(name)
    if preset not in options:
        raise ValueError(f"model {name!r} has no preset {preset!r}; presets: {sorted(options)}")
    _check_overrides(name, overrides)
    return {**options[preset], **overrides}


def value_fits(value, kind):
    """Whether `value` (as JSON or argparse gives it) can stand for a `kind` option: a float
    option takes an int too, and only a bool option takes True or False."""
    if isinstance(value, bool):
        return kind is bool
    return isinstance(value, (int, float) if kind is float else kind)


def _check_overrides(name, overrides):
    parameters = inspect.signature(spec(name).builder).parameters
    unknown = sorted(set(overrides) - set(parameters))
    if unknown:
        raise ValueError(f"{name} has no option {unknown}; its options: {sorted(parameters)}")
    for key, value in overrides.items():
        default = parameters[key].default
        if default is None or default is inspect.Parameter.empty:
            continue
        if not value_fits(value, type(default)):
            raise ValueError(
                f"{name} option {key} takes {type(default).__name__} values (like {default!r}), "
                f"not {value!r}"
            )


def build(name, preset="small", **overrides):
    """Build model `name` at `preset` ('paper' or 'small'), with builder overrides."""
    return spec(name).builder(**config(name, preset, **overrides))


def check_interface(name, predictor):
    """ValueError unless `predictor` (an `inference_model`) takes and gives what this package's
    `name` models do: one input of fixed size with their input's name and channels, and their
    output channels. Any other model of that name would fail deep inside TensorFlow."""
    interface, expected = _interface_of(predictor), _interface(name)
    if interface != expected:
        raise ValueError(
            f"not a keras-colorize {name!r} model: it takes {_describe(interface)}, "
            f"where a {name!r} model takes {_describe(expected)}"
        )


def takes_hints(name):
    """Whether model `name` takes a colour-hint map beside its image (`keras_colorize.hints`)."""
    _check_name(name)
    return "hints" in _interface(name)[0]


def accept_any_size(model):
    """Let `model` and the models nested in it take images of any height and width (their
    channels still checked): a fully convolutional network computes the same at any size, but
    Keras holds a functional model to the size it was built at."""
    model.input_spec = [
        keras.layers.InputSpec(ndim=len(tensor.shape), axes={-1: tensor.shape[-1]}) for tensor in model.inputs
    ]
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            accept_any_size(layer)
    return model


# How a Colorizer runs a fully convolutional model: `short_side` px on an image's shorter side, the
# longer side in proportion, both multiples of `stride` (`inference.render_shape`).
Rendering = collections.namedtuple("Rendering", "short_side stride")


def at_any_size(model, short_side=None):
    """(network, `Rendering` or None): how a Colorizer and the exports run `model`.

    A fully convolutional model keeps an image's shape, at `short_side` px (default: its own
    input size) on the short side; the network is `model` (a GAN's generator) let take any size
    (`_let_take_any_size`). A model with global features runs at its own square size: `model`
    and None, or ValueError when `short_side` is given."""
    network = _let_take_any_size(model)
    model_stride = _fully_convolutional_stride(network)
    if short_side is None:
        own = network.inputs[0].shape[1]
        return (network, Rendering(own, model_stride)) if model_stride and own % model_stride == 0 else (model, None)
    if not model_stride:
        raise ValueError(
            "runs only at its own square size (not fully convolutional), without a render size"
        )
    if short_side % model_stride:
        below = short_side // model_stride * model_stride
        nearest = [side for side in (below, below + model_stride) if side]
        raise ValueError(
            f"render size {short_side} is not a multiple of the model's stride {model_stride} "
            f"(take {' or '.join(map(str, nearest))})"
        )
    return network, Rendering(short_side, model_stride)


def _let_take_any_size(model):
    """`model` (a GAN: its generator, which colorizes) let take any size: `accept_any_size`, and
    each `UpSampling2D` made, in place, a `ResizeUpSampling2D` (the same values; no copy of
    the model, which would cost a second of loading)."""
    model = getattr(model, "generator", model)
    for layer in _all_layers(model):
        if type(layer) is keras.layers.UpSampling2D:
            layer.__class__ = ResizeUpSampling2D
    return accept_any_size(model)


def _all_layers(model):
    for layer in model.layers:
        yield layer
        if isinstance(layer, keras.Model):
            yield from _all_layers(layer)


def _fully_convolutional_stride(network):
    """`network`'s stride when it computes at any multiple of it, else None."""
    model_stride = stride(network)
    probe = [np.zeros((1, model_stride, 2 * model_stride, tensor.shape[-1]), np.float32) for tensor in network.inputs]
    probe = probe[0] if len(probe) == 1 else probe
    try:
        with console.native_logs_hidden():  # TensorFlow logs the failed concatenation it raises
            shape = tuple(network(probe, training=False).shape[1:3])
    except (ValueError, tf.errors.OpError):  # global features need the model's own shape
        return None
    return model_stride if shape == (model_stride, 2 * model_stride) else None


def stride(model):
    """Input pixels per step of `model`'s coarsest feature map (a U-Net's bottleneck): the
    sizes a fully convolutional model takes are multiples of it."""
    return model.inputs[0].shape[1] // min(_feature_sides(model))


def _feature_sides(model):
    """Heights of the 4-D outputs of every layer in `model` and the models nested in it."""
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            yield from _feature_sides(layer)
            continue
        try:
            outputs = keras.tree.flatten(layer.output)
        except (AttributeError, ValueError):  # a layer called more than once has no one output
            continue
        yield from (tensor.shape[1] for tensor in outputs if len(tensor.shape) == 4 and tensor.shape[1])


def without_weight_files(name, config=None):
    """`config` (default: the small preset) with every `WEIGHT_FILE_OPTIONS` option None."""
    config = dict(presets(name)["small"] if config is None else config)
    parameters = inspect.signature(spec(name).builder).parameters
    return {**config, **{option: None for option in WEIGHT_FILE_OPTIONS if option in parameters}}


@functools.cache
def _interface(name):
    # No pretrained weights: the interface does not depend on them, and they may not be here.
    return _interface_of(inference_model(name, build(name, **without_weight_files(name))))


def _interface_of(model):
    """(input names, whether each has a fixed square size, input channels, output channels)."""
    inputs = [tensor.shape for tensor in model.inputs]
    return (
        tuple(tensor.name for tensor in model.inputs),
        tuple(shape[1] is not None and shape[1] == shape[2] for shape in inputs),
        tuple(shape[-1] for shape in inputs),
        tuple(tensor.shape[-1] for tensor in model.outputs),
    )


def _describe(interface):
    names, fixed, channels, outputs = interface
    sizes = ["fixed size" if is_fixed else "any size" for is_fixed in fixed]
    taken = ", ".join(
        f"{name!r} ({_channels(count)}, {size})" for name, count, size in zip(names, channels, sizes)
    )
    return f"{taken} and gives {', '.join(map(_channels, outputs))}"


def _channels(count):
    return f"{count} channel" + ("" if count == 1 else "s")


def first_line(error, limit=200):
    """An error's first line, cut at a word: Keras puts a whole model config in some messages."""
    line = (str(error).strip().splitlines() or [type(error).__name__])[0]
    return line if len(line) <= limit else line[:limit].rsplit(" ", 1)[0] + " ..."


# What Keras and h5py raise for a truncated or foreign model file, besides ValueError.
UNREADABLE_MODEL_FILE = (OSError, KeyError, TypeError, zipfile.BadZipFile)


def load_weights(model, path):
    """Load a trained model's weights (.keras, .weights.h5 or legacy .h5 file) into `model`,
    which must have the same layers (same builder and config); the error names the file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such weights file")
    try:
        with warnings.catch_warnings():
            # A .keras file also holds its optimizer's state, which a new model has no use for.
            warnings.filterwarnings("ignore", message="Skipping variable loading for optimizer")
            model.load_weights(path)
    except ValueError as error:
        raise ValueError(
            f"{path}: its weights do not fit {model.name} ({model.count_params():,} "
            "parameters); was it trained with the same preset and overrides (base_filters, ...)?"
        ) from error
    except UNREADABLE_MODEL_FILE as error:
        raise ValueError(f"{path}: not a readable model or weights file ({first_line(error)})") from None


def _check_name(name):
    if name not in _SPECS:
        raise ValueError(f"unknown model {name!r}; available: {sorted(_SPECS)}")


# Every module of this package, imported here, after `register` exists, so that
# `import keras_colorize` registers every model and its custom layers, and
# `keras.saving.load_model` can rebuild any of them.
for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")
