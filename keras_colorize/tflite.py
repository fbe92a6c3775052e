"""TensorFlow Lite: a trained model as a `.tflite` file, and that file run on the CPU.

`export` converts the network alone (float32 input -> its output in the target encoding) with
float32 or float16 weights, and records in the file's metadata which registered model it is
and how it renders: a fully convolutional network takes any size there and keeps an image's
shape as the Keras path does (`models.at_any_size`), the others take their own square size.
`load` checks such a file and returns a `TFLiteModel`, which runs it with the TFLite
interpreter (LiteRT's, XNNPACK on the CPU); `Colorizer.load` puts the same pre- and
post-processing around it as around the Keras model (`inference.prepared` / `finished`).

A .tflite file holds no code: the interpreter runs its built-in operators only. A file with
custom operators (TensorFlow's own ops through the Flex delegate, file operations among them)
is refused, as is a file that is not a TFLite flatbuffer or was not written by `export`.
"""

import json
import os
import struct
import tempfile
import threading
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from tensorflow.lite.python import schema_py_generated as schema
from tensorflow.lite.tools import flatbuffer_utils

from keras_colorize import console, files, models
from keras_colorize.errors import ModelLoadError

SUFFIX = ".tflite"
QUANTIZATIONS = ("float32", "float16")
METADATA_NAME = "keras_colorize"  # the metadata entry holding the model's description (JSON)
FILE_IDENTIFIER = b"TFL3"  # bytes 4-8 of every TFLite flatbuffer
# What a corrupt flatbuffer raises while its tables are read.
UNREADABLE = (IndexError, struct.error, ValueError, TypeError, AttributeError, UnicodeDecodeError)


def export(predictor, name, element_format, path, quantization="float32", rendering=None):
    """Write `predictor` (a Colorizer's model: `models.inference_model`) as a new .tflite file,
    taking images of any size when it has a `rendering` (`models.Rendering`)."""
    if quantization not in QUANTIZATIONS:
        raise ValueError(f"quantization must be one of {QUANTIZATIONS}, not {quantization!r}")
    with tempfile.TemporaryDirectory() as folder, console.native_logs_hidden():
        # Through a SavedModel: the converter freezes its variables into the file's weights.
        archive = keras.export.ExportArchive()
        archive.track(predictor)
        archive.add_endpoint(
            name="network", fn=lambda inputs: predictor(inputs, training=False),
            input_signature=[tf.TensorSpec(_input_shape(predictor, rendering), tf.float32)],
        )
        archive.write_out(folder, verbose=False)
        converter = tf.lite.TFLiteConverter.from_saved_model(folder, signature_keys=["network"])
        content = _converted(converter, quantization)
    description = {
        "model": name, "element_format": element_format,
        "image_size": predictor.input_shape[1], "quantization": quantization,
        "rendering": None if rendering is None else list(rendering),
    }
    with files.written_atomically(path) as temporary:
        Path(temporary).write_bytes(_with_metadata(content, description))
    return Path(path)


def _input_shape(predictor, rendering):
    height, width, channels = predictor.input_shape[1:]
    return [None, None, None, channels] if rendering else [None, height, width, channels]


def rendering_of(description):
    """The `models.Rendering` that `export` recorded; None: the file runs at its own square size."""
    recorded = description.get("rendering")
    return None if recorded is None else models.Rendering(*recorded)


def _converted(converter, quantization):
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]  # no Flex ops: see `load`
    if quantization == "float16":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.target_spec.supported_types = [tf.float16]
    return converter.convert()


def _with_metadata(content, description):
    model = flatbuffer_utils.read_model_from_bytearray(bytearray(content))
    buffer = schema.BufferT()
    buffer.data = np.frombuffer(json.dumps(description).encode(), np.uint8)
    model.buffers.append(buffer)
    entry = schema.MetadataT()
    entry.name, entry.buffer = METADATA_NAME, len(model.buffers) - 1
    model.metadata = [*(model.metadata or []), entry]
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model))


def load(path):
    """(TFLiteModel, description) of a .tflite file that `export` wrote; ModelLoadError naming
    the file and the problem for anything else."""
    path = Path(path)
    content = path.read_bytes()
    if content[4:8] != FILE_IDENTIFIER:
        raise ModelLoadError(f"{path}: not a TensorFlow Lite model (no TFL3 flatbuffer identifier)")
    try:
        model = schema.Model.GetRootAsModel(content, 0)
        custom = _custom_operators(model)
        description = _description(model)
    except UNREADABLE as error:
        raise ModelLoadError(f"{path}: a damaged TensorFlow Lite model ({models.first_line(error)})") from None
    if custom:
        raise ModelLoadError(
            f"{path}: uses operators outside TFLite's built-in set ({', '.join(sorted(custom))}); "
            "a keras-colorize model needs none, and these could run TensorFlow ops of any kind"
        )
    _check_description(path, description)
    return TFLiteModel(content, path, description["image_size"]), description


def _custom_operators(model):
    codes = (model.OperatorCodes(index) for index in range(model.OperatorCodesLength()))
    return {
        (code.CustomCode() or b"?").decode("utf-8", "replace") for code in codes
        # Newer files keep the code in BuiltinCode, older ones in the deprecated byte.
        if max(code.BuiltinCode(), code.DeprecatedBuiltinCode()) == schema.BuiltinOperator.CUSTOM
    }


def _description(model):
    for index in range(model.MetadataLength()):
        entry = model.Metadata(index)
        if entry.Name() == METADATA_NAME.encode():
            return json.loads(model.Buffers(entry.Buffer()).DataAsNumpy().tobytes())
    return None


def _check_description(path, description):
    if not isinstance(description, dict) or description.get("model") not in models.available():
        raise ModelLoadError(
            f"{path}: a TensorFlow Lite model, but not one `keras-colorize export` wrote (its "
            f"metadata names no keras-colorize model)"
        )
    if description.get("element_format") != models.element_format(description["model"]):
        raise ModelLoadError(f"{path}: its metadata gives model {description['model']!r} another element format")


def level_differences(reference, other, photos):
    """|reference - other| of the two Colorizers' uint8 outputs on `photos`, every channel of
    every pixel in one flat array: how far an export strays from its Keras model."""
    return np.concatenate([
        np.abs(reference.colorize(photo).astype(np.int16) - other.colorize(photo)).ravel() for photo in photos
    ])


class TFLiteModel:
    """A .tflite network run by the TFLite interpreter: float32 (N, H, W, C) -> its output
    (a new batch size or image size re-plans the interpreter's tensors)."""

    def __init__(self, content, path, image_size):
        try:
            # LiteRT, TFLite's runtime as Google now ships it (tf.lite.Interpreter is deprecated).
            from ai_edge_litert.interpreter import Interpreter
        except ImportError:
            raise ModelLoadError(
                f"{path}: running TensorFlow Lite models needs the `tflite` extra: "
                "pip install 'keras-colorize[tflite]'"
            ) from None
        try:
            with console.native_logs_hidden():
                self._interpreter = Interpreter(model_content=content, num_threads=len(os.sched_getaffinity(0)))
        except (ValueError, RuntimeError) as error:
            raise ModelLoadError(f"{path}: TFLite cannot run it ({models.first_line(error)})") from None
        self._input, self._output = self._interpreter.get_input_details(), self._interpreter.get_output_details()
        if len(self._input) != 1 or len(self._input[0]["shape_signature"]) != 4:
            raise ModelLoadError(f"{path}: takes {len(self._input)} inputs, not one batch of images")
        self.input_shape = tuple(None if side < 0 else int(side) for side in self._input[0]["shape_signature"])
        self._shape = None
        self._lock = threading.Lock()  # an interpreter runs one call at a time
        try:  # planned for one image at the model's own size: a file TFLite cannot run fails here
            self._plan((1, image_size, image_size, self.input_shape[-1]))
        except (ValueError, RuntimeError) as error:
            raise ModelLoadError(f"{path}: TFLite cannot run it ({models.first_line(error)})") from None

    def _plan(self, shape):
        self._interpreter.resize_tensor_input(self._input[0]["index"], shape)
        self._interpreter.allocate_tensors()
        self._shape = shape

    def __call__(self, inputs):
        inputs = np.asarray(inputs, np.float32)
        with self._lock:
            if inputs.shape != self._shape:
                self._plan(inputs.shape)
            self._interpreter.set_tensor(self._input[0]["index"], inputs)
            self._interpreter.invoke()
            return self._interpreter.get_tensor(self._output[0]["index"])
