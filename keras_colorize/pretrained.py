"""ImageNet-trained MobileNet v1 for the models that see through a pretrained network.

    from keras_colorize import pretrained
    net = pretrained.mobilenet(include_top=True)           # ImageNet classifier, frozen
    features = pretrained.mobilenet(include_top=False, input_shape=(128, 128, 3), pooling="avg")

`weights` is "imagenet" (the default), None (random, trainable) or a path: a TensorFlow.js
layers-model folder (`model.json` + binary shards) or a Keras `.h5`/`.weights.h5` file.
"imagenet" takes the first TensorFlow.js copy of MobileNet v1 (alpha 0.75, 224) found in
`$KERAS_COLORIZE_PRETRAINED` or in `shared/pretrained/` beside this checkout, else lets Keras
download its own copy. A TensorFlow.js model is read as data only: `model.json`'s weights
manifest names each tensor and its place in the shards, and the tensors go by layer name into
`keras.applications.MobileNet`, which this module builds itself; the file's topology is not run.

Shipped models carry the backbone's weights in their own files, so colorizing needs none of this.
"""

import json
import os
from pathlib import Path

import keras
import numpy as np

from keras_colorize import color
from keras_colorize.errors import ColorizeError

ALPHA = 0.75
TFJS_FOLDER = "mobilenet_v1_0.75_224"
MANIFEST = "model.json"
# TensorFlow.js names a depthwise convolution's kernel by its Keras 2 attribute.
KERNEL_ALIASES = {"depthwise_kernel": "kernel"}
DTYPES = {"float32": np.float32, "int32": np.int32, "uint8": np.uint8, "uint16": np.uint16}


class PretrainedWeightsError(ColorizeError, ValueError):
    """A pretrained-weights file or folder that cannot be read into the network; names it."""


def search_path():
    """Folders searched for `TFJS_FOLDER` when weights="imagenet", in order."""
    folders = []
    if os.environ.get("KERAS_COLORIZE_PRETRAINED"):
        folders.append(Path(os.environ["KERAS_COLORIZE_PRETRAINED"]))
    folders.append(Path(__file__).resolve().parents[2] / "shared" / "pretrained")
    return folders


def find_imagenet_tfjs():
    """The first TensorFlow.js MobileNet folder on `search_path()`, or None."""
    for folder in search_path():
        candidate = folder / TFJS_FOLDER
        if (candidate / MANIFEST).is_file():
            return candidate
    return None


def mobilenet(weights="imagenet", include_top=False, input_shape=(224, 224, 3), pooling=None,
              trainable=False, name=None):
    """MobileNet v1 (alpha 0.75) taking RGB in [-1, 1]; frozen unless `trainable`.

    include_top: the 1000-class softmax head (needs input_shape (224, 224, 3)); without it the
    last feature map, or its global `pooling` ("avg" or "max").
    """
    options = dict(
        alpha=ALPHA, include_top=include_top, input_shape=tuple(input_shape), pooling=pooling,
        name=name or "mobilenet_v1",
    )
    folder = find_imagenet_tfjs() if weights == "imagenet" else None
    if weights == "imagenet" and folder is None:
        network = _downloaded(options)
    else:
        network = _random(options)
        if folder is not None:
            load_tfjs_weights(network, folder)
        elif weights is not None:
            load_weights_file(network, Path(weights))
    network.trainable = trainable
    return network


def _random(options):
    return keras.applications.MobileNet(weights=None, **options)


def _downloaded(options):
    try:
        return keras.applications.MobileNet(weights="imagenet", **options)
    except Exception as error:  # keras raises a bare Exception when the download fails
        raise PretrainedWeightsError(
            f"no local copy of MobileNet's ImageNet weights ({TFJS_FOLDER}/ in "
            f"{', '.join(map(str, search_path()))}) and Keras could not download one "
            f"({error}); set KERAS_COLORIZE_PRETRAINED to the folder that holds {TFJS_FOLDER}/"
        ) from None


def load_weights_file(network, path):
    """Load a TensorFlow.js folder (or its model.json) or a Keras weights file into `network`."""
    if path.is_dir() or path.name == MANIFEST:
        load_tfjs_weights(network, path)
        return
    if not path.is_file():
        raise PretrainedWeightsError(f"{path}: no such weights file or TensorFlow.js folder")
    try:
        network.load_weights(path)
    except (ValueError, OSError, KeyError) as error:
        raise PretrainedWeightsError(f"{path}: not weights of {network.name} ({error})") from None


def read_tfjs_tensors(path):
    """{tensor name: numpy array} from a TensorFlow.js layers model (folder or model.json)."""
    path = Path(path)
    manifest_path = path / MANIFEST if path.is_dir() else path
    try:
        manifest = json.loads(manifest_path.read_text())["weightsManifest"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise PretrainedWeightsError(
            f"{manifest_path}: not a TensorFlow.js model.json with a weightsManifest ({error})"
        ) from None
    tensors = {}
    for group in manifest:
        buffer = b"".join(_read_shard(manifest_path.parent, shard) for shard in group["paths"])
        tensors.update(_split_group(manifest_path, buffer, group["weights"]))
    return tensors


def _read_shard(folder, name):
    shard = folder / name
    if Path(name).name != name or not shard.is_file():
        raise PretrainedWeightsError(f"{folder / MANIFEST}: names a missing shard {name!r}")
    return shard.read_bytes()


def _split_group(manifest_path, buffer, entries):
    tensors, offset = {}, 0
    for entry in entries:
        quantization = entry.get("quantization")
        stored = quantization["dtype"] if quantization else entry["dtype"]
        if stored not in DTYPES:
            raise PretrainedWeightsError(f"{manifest_path}: {entry['name']} has unsupported dtype {stored}")
        dtype = np.dtype(DTYPES[stored]).newbyteorder("<")
        count = int(np.prod(entry["shape"], dtype=np.int64))
        end = offset + count * dtype.itemsize
        if end > len(buffer):
            raise PretrainedWeightsError(f"{manifest_path}: its shards end inside {entry['name']}")
        values = np.frombuffer(buffer[offset:end], dtype).reshape(entry["shape"])
        if quantization:  # TensorFlow.js's affine quantization: stored * scale + min
            values = values * np.float32(quantization["scale"]) + np.float32(quantization["min"])
        tensors[entry["name"]] = values.astype(np.float32 if entry["dtype"] == "float32" else values.dtype)
        offset = end
    return tensors


def load_tfjs_weights(network, path):
    """Set every weight of `network` from the TensorFlow.js tensors of the same layer and name.

    Every variable must be found with its exact shape; tensors of layers the network does not
    have (the classifier head, for a network without it) are left unused.
    """
    tensors = read_tfjs_tensors(path)
    for layer in network.layers:
        if not layer.weights:
            continue
        values = [_tensor_for(path, tensors, layer.name, variable) for variable in layer.weights]
        layer.set_weights(values)


def _tensor_for(path, tensors, layer_name, variable):
    short_name = variable.path.split("/")[-1]
    candidates = [f"{layer_name}/{short_name}"] + [
        f"{layer_name}/{alias}" for alias, name in KERNEL_ALIASES.items() if name == short_name
    ]
    found = next((tensors[key] for key in candidates if key in tensors), None)
    if found is None:
        raise PretrainedWeightsError(f"{path}: has no tensor for {layer_name}/{short_name}")
    if tuple(found.shape) != tuple(variable.shape):
        raise PretrainedWeightsError(
            f"{path}: {layer_name}/{short_name} is {tuple(found.shape)}, the network's "
            f"{tuple(variable.shape)} (MobileNet v1 alpha {ALPHA} expected)"
        )
    return found


def preprocess(rgb_unit):
    """sRGB in [0, 1] -> MobileNet's input, [-1, 1]."""
    return rgb_unit * 2.0 - 1.0


@keras.saving.register_keras_serializable(package="keras_colorize")
class MobileNetInput(keras.layers.Layer):
    """L/100 (N, H, W, 1) -> MobileNet's input: the neutral gray sRGB of L in [-1, 1], three
    channels, resized to `size` x `size` when a size is given."""

    def __init__(self, size=None, **kwargs):
        super().__init__(**kwargs)
        self.size = size

    def call(self, lightness):
        if self.size:
            lightness = keras.ops.image.resize(lightness, (self.size, self.size))
        return preprocess(color.lightness_to_gray(color.l_from_unit(lightness)))

    def compute_output_shape(self, input_shape):
        side = (self.size, self.size) if self.size else tuple(input_shape[1:3])
        return (input_shape[0], *side, 3)

    def get_config(self):
        return {**super().get_config(), "size": self.size}
