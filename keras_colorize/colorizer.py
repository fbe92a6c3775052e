"""`Colorizer`: load any trained model and colorize images of any size.

    from keras_colorize import Colorizer
    colorizer = Colorizer.from_preset("unet")     # a shipped model; Colorizer.load takes those too
    colorizer = Colorizer.load("runs/unet")       # run folder, .keras file, SavedModel, shipped name
    rgb = colorizer.colorize("old_photo.jpg")     # uint8 RGB at the input's size

LAB models predict ab at their own size and join it, resized, with the input's full-resolution
lightness; sketch models return their photo resized back (see `keras_colorize.inference`).
"""

import functools
import os
import zipfile
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from PIL import Image

from keras_colorize import (
    data, exporting, files, hardware, images, inference, models, runs, savedmodel_check, shipped, striped, tflite,
)
from keras_colorize import hints as hint_maps
from keras_colorize.sketches import pencil_sketch_at
from keras_colorize.errors import ModelLoadError

IMAGE_SHAPES = "(H, W), (H, W, 1) or (H, W, 3)"
INPUT_NAMES = {"sketch": "drawn sketches", "gray": "photos"}  # by `Colorizer.input_kind`


class Colorizer:
    """Wraps a model and its element format; `colorize` handles sizes, dtypes and batches."""

    def __init__(self, colorize_batch, name, element_format, source="", input_size=None, predictor=None,
                 rendering=None, predict_ab=None, takes_hints=False):
        self._colorize_batch = colorize_batch  # (batch, hint map or None) -> uint8 RGB batch
        self._predictor = predictor  # the Keras model, to colorize large images in strips
        # CIELAB lightness (N, H, W, 1) -> the predicted ab at the model's size
        # (`inference.predicted_ab`), for callers that join it with the lightness themselves
        # (`video`); None for a model that takes no lightness or runs outside Keras.
        self.predict_ab = predict_ab
        self.name = name
        self.element_format = element_format
        self.source = str(source)
        self.input_size = input_size  # the model's square input side; None when unknown
        self.rendering = rendering  # `models.Rendering`; None: the model runs at its own square size
        self.takes_hints = takes_hints  # whether `colorize` takes colour hints (`keras_colorize.hints`)

    @property
    def network(self):
        """The Keras network a Colorizer of a Keras model runs; None for an exported graph."""
        return self._predictor

    @property
    def render_size(self):
        """The side the model runs at on an image's shorter side, the longer in proportion; None
        when it runs at its own square size (a model with global features, a SavedModel)."""
        return None if self.rendering is None else self.rendering.short_side

    @property
    def input_kind(self):
        """"sketch" or "gray": what the model colorizes; None when unknown (a bare SavedModel)."""
        element_format = self.element_format
        if element_format == "saved_model" and self.name in models.available():
            element_format = models.element_format(self.name)
        return input_kind_of(element_format)

    def check_input_kind(self, kind):
        """ModelLoadError when the model was trained on the other kind of input than `kind`
        ("sketch" or "gray"): a sketch model given a photo, or a photo model given a sketch,
        returns noise. A model of unknown input (a bare SavedModel) passes."""
        if self.input_kind not in (None, kind):
            raise ModelLoadError(
                f"{self.source}: model {self.name!r} takes {INPUT_NAMES[self.input_kind]}, "
                f"not {INPUT_NAMES[kind]}"
            )
        return self

    def pencil_sketch(self, photo):
        """uint8 RGB (H, W, 3) -> its pencil sketch, gray (H, W), drawn at the model's input
        size as its training sketches were (`sketches.pencil_sketch_at`)."""
        return pencil_sketch_at(photo, self.input_size)

    def __repr__(self):
        return f"Colorizer({self.name!r}, format={self.element_format!r}, source={self.source!r})"

    @classmethod
    def from_model(cls, model, name=None, source="", size=None, precision="float32"):
        """A Colorizer around a Keras model built by `keras_colorize.models`. A fully
        convolutional model keeps an image's shape: it runs at `size` pixels (default: its own
        input size; a multiple of its stride) on the image's short side, the long side in
        proportion (`models.at_any_size`). Squeezing a photo into the square distorts what the
        network sees: measured in docs/render_size.md. A model with global features runs at its
        own square size. `precision` "mixed_bfloat16" runs the network's convolutions in
        bfloat16 (`hardware.in_bfloat16`): about twice as fast on a CPU with bf16 instructions;
        how far the colours move depends on the network (tests/test_colorizer.py)."""
        if precision not in hardware.INFERENCE_PRECISIONS:
            raise ValueError(f"precision must be one of {hardware.INFERENCE_PRECISIONS}, not {precision!r}")
        name = name or model.name
        if name not in models.available():
            raise ModelLoadError(
                f"{source or model.name}: model name {name!r} is not one of {models.available()}"
            )
        _check_finite_weights(model, source or model.name)
        element_format = models.element_format(name)
        predictor = models.inference_model(name, model)
        try:
            models.check_interface(name, predictor)
        except ValueError as error:
            raise ModelLoadError(f"{source or model.name}: {error}") from None
        except IndexError:  # its input or output has too few axes to be an image
            raise ModelLoadError(
                f"{source or model.name}: not a keras-colorize {name!r} model: its input "
                f"{predictor.input_shape} or output {predictor.output_shape} is not a batch of images"
            ) from None
        try:
            predictor, rendering = models.at_any_size(predictor, size)
        except ValueError as error:
            raise ModelLoadError(f"{source or model.name}: {error}") from None
        if precision != "float32":
            predictor = hardware.in_bfloat16(predictor)

        # One trace per input dtype and rank; sizes stay symbolic after the first retrace.
        @tf.function(reduce_retracing=True)
        def colorize_batch(batch, hint_map=None):
            return inference.colorize_batch(predictor, batch, element_format, rendering, hint_map)

        @tf.function(reduce_retracing=True)
        def predict_ab(lightness):
            return inference.predicted_ab(predictor, lightness, element_format, rendering)

        takes_hints = hint_maps.takes_hints(predictor)
        # A hint model's video frames go through `colorize_batch`, given no hints.
        joins_lightness = data.get_format(element_format).takes_lightness and not takes_hints
        return cls(lambda batch, hint_map=None: colorize_batch(batch, hint_map).numpy(), name, element_format,
                   source, predictor.inputs[0].shape[1], predictor, rendering,
                   predict_ab if joins_lightness else None, takes_hints)

    @classmethod
    def load(cls, source, trust_savedmodel=False, size=None):
        """From a run folder, a `.keras` file, a SavedModel folder, a `.tflite` file from
        `keras-colorize export`, or a shipped model's name (`"unet"`, or `"shipped:unet"` as a
        loaded Colorizer's `source` names it); `size` as in `from_model` (Keras models only: an
        exported graph runs at its own size).

        A SavedModel runs its own graph, so one is loaded only with `trust_savedmodel`, or when
        it has the shape of this package's exports (`savedmodel_check`). `.keras` files load
        in Keras's safe mode (no Lambda layers' code) whatever the setting."""
        shipped_name = shipped.name_in(str(source))
        if shipped_name is not None:
            return cls.from_preset(shipped_name, size)
        path = Path(source)
        if (path / "model.keras").is_file():
            return cls._load_keras(path / "model.keras", size)
        if (path / "saved_model.pb").is_file():
            return _fixed_size_only(cls._load_saved_model(path, trust_savedmodel), size)
        # Checked only now: a file or a folder without a model that shares a shipped model's
        # name (a `classifier/` of outputs, say) must not hide that model, the apps' default.
        if str(source) in shipped.available():
            return cls.from_preset(str(source), size)
        if path.is_file() and path.suffix.lower() == tflite.SUFFIX:
            return _fixed_size_only(cls._load_tflite(path), size)
        if path.is_file():
            return cls._load_keras(path, size)
        if not path.exists():
            raise ModelLoadError(
                f"{source}: no such file or folder, and not a shipped model "
                f"(shipped: {shipped.available() or 'none'})"
            )
        unfinished = " (a run stopped early: load its best.keras)" if (path / "best.keras").is_file() else ""
        raise ModelLoadError(
            f"{path}: holds neither model.keras nor a SavedModel (saved_model.pb){unfinished}"
        )

    @classmethod
    def from_preset(cls, name, size=None):
        """The model shipped as preset `name` (`keras_colorize/weights/<name>/`: see `shipped`);
        `size` as in `from_model`."""
        return cls.from_model(shipped.load(name), source=shipped.source_of(name), size=size)

    @classmethod
    def _load_keras(cls, path, size=None):
        # Keras calls any .keras file that is not a zip archive (a truncated one) "not found".
        if path.suffix == ".keras" and not zipfile.is_zipfile(path):
            raise ModelLoadError(
                f"{path}: not a loadable .keras model (not a zip archive: truncated, or not a .keras file)"
            )
        try:
            model = keras.saving.load_model(path, compile=False)
        except (ValueError, *models.UNREADABLE_MODEL_FILE) as error:
            raise ModelLoadError(f"{path}: not a loadable .keras model ({models.first_line(error)})") from None
        return cls.from_model(model, source=path, size=size)

    @classmethod
    def _load_saved_model(cls, path, trusted):
        try:
            if not trusted:
                savedmodel_check.check_package_export(path)
            loaded = tf.saved_model.load(str(path))
        except savedmodel_check.UntrustedSavedModel as error:
            raise ModelLoadError(str(error)) from None
        # A truncated variables file gives an IndexError ("Read less bytes than requested").
        except (OSError, ValueError, IndexError, tf.errors.OpError) as error:
            raise ModelLoadError(f"{path}: not a loadable SavedModel ({models.first_line(error)})") from None
        serve = loaded.signatures.get(exporting.SERVING_ENDPOINT)
        if serve is None:
            raise ModelLoadError(f"{path}: SavedModel has no {exporting.SERVING_ENDPOINT!r} signature")
        _check_serving_signature(path, serve)
        name, input_size = _recorded_model(path.parent)

        takes_hints = "hints" in serve.structured_input_signature[1]

        def colorize_batch(batch, hint_map=None):
            given = {"images": inference.to_uint8(inference.to_float_rgb(batch))}
            if takes_hints:
                given["hints"] = hint_maps.empty(len(batch), 1, 1) if hint_map is None else hint_map
            return serve(**given)["colorized"].numpy()

        return cls(colorize_batch, name, "saved_model", path, input_size, takes_hints=takes_hints)

    @classmethod
    def _load_tflite(cls, path):
        """A .tflite file from `keras-colorize export`, run by the TFLite interpreter between the
        Keras path's own pre- and post-processing (each one traced graph)."""
        network, description = tflite.load(path)
        name, element_format = description["model"], description["element_format"]
        image_size, rendering = description["image_size"], tflite.rendering_of(description)

        @tf.function(reduce_retracing=True)
        def prepare(batch):
            return inference.prepared(batch, element_format, inference.model_size((image_size, image_size), batch, rendering))

        finish = tf.function(functools.partial(inference.finished, element_format), reduce_retracing=True)

        def colorize_batch(batch, hint_map=None):
            full_inputs, model_inputs = prepare(batch)
            return finish(full_inputs, network(model_inputs.numpy())).numpy()

        return cls(colorize_batch, name, element_format, path, image_size, rendering=rendering)

    EXPORT_FORMATS = ("savedmodel", "tflite")

    def export(self, path, export_format, quantization="float32"):
        """Write the Keras model as a new SavedModel folder (`exporting.export_serving`: pre- and
        post-processing inside) or `.tflite` file (`tflite.export`: the network, `quantization`
        float32 or float16) at `path`, never replacing anything there."""
        path = Path(path)
        if self._predictor is None:
            raise ModelLoadError(
                f"{self.source}: an exported model already; export takes a Keras model (a shipped "
                "name, a run folder or a .keras file)"
            )
        if export_format not in self.EXPORT_FORMATS:
            raise ValueError(f"export format must be one of {self.EXPORT_FORMATS}, not {export_format!r}")
        if os.path.lexists(path):
            raise FileExistsError(f"{path}: exists; refusing to overwrite it")
        if export_format == "tflite":
            if self.takes_hints:
                raise ValueError(f"{self.name}: a hint model exports as a SavedModel (its signature takes the hints)")
            if path.suffix.lower() != tflite.SUFFIX:
                raise ValueError(f"{path}: a TensorFlow Lite model is written as a {tflite.SUFFIX} file")
            return tflite.export(self._predictor, self.name, self.element_format, path, quantization, self.rendering)
        return exporting.export_serving(self._predictor, self.element_format, path, self.rendering)

    def colorize(self, image, hints=None):
        """One image (array, PIL image or path) -> uint8 RGB (H, W, 3); or a list of them -> list.

        Arrays may be gray (H, W) / (H, W, 1) or RGB (H, W, 3), uint8 or float in [0, 1];
        a 4-D array is a batch of equal-sized images and gives a 4-D array back.

        hints: for a model that takes them (`takes_hints`), colour hints for one image:
        `[(x, y, (r, g, b)), ...]`, x and y in the image's pixels, the colour 0-255 (or floats
        in [0, 1]); the model paints each point's surroundings that colour.
        """
        if hints is not None:
            return self._colorize_with_hints(image, hints)
        if isinstance(image, (list, tuple)):
            return [self.colorize(item) for item in image]
        if isinstance(image, np.ndarray) and image.ndim == 4:
            if not _is_image_shape(image.shape):
                raise ValueError(
                    "expected a batch (N, H, W, C) of N > 0 non-empty images of shape "
                    f"{IMAGE_SHAPES}, not {image.shape}"
                )
            return self._colorize_batch(_as_batch_input(image))
        array = _as_batch_input(to_array(image)[None])[0]
        if self.colorizes_in_strips(array.shape[1], array.shape[0]):
            return striped.colorize(self._predictor, self.element_format, array, self._model_size(*array.shape[:2]))
        return self._colorize_batch(array[None])[0]

    def _colorize_with_hints(self, image, points):
        if not self.takes_hints:
            raise ValueError(
                f"model {self.name!r} takes no colour hints; a hint model does "
                f"({', '.join(hint_models()) or 'none shipped'})"
            )
        if isinstance(image, (list, tuple)) or (isinstance(image, np.ndarray) and image.ndim == 4):
            raise ValueError("hints are given for one image at a time")
        array = _as_batch_input(to_array(image)[None])[0]
        height, width = array.shape[:2]
        # An exported graph of unknown size takes the hints at the image's size and resizes them.
        own_size = (self.input_size, self.input_size) if self.input_size else (height, width)
        model_height, model_width = self._model_size(height, width) or own_size
        hint_map = hint_maps.from_points(points, height, width, model_height, model_width)
        return self._colorize_batch(array[None], hint_map)[0]

    def _model_size(self, height, width):
        """(height, width) the model runs at for an image of this size; None: its own size."""
        if self.rendering is None:
            return None
        return tuple(inference.render_shape(height, width, *self.rendering).numpy().tolist())

    def colorizes_in_strips(self, width, height):
        """Whether an image this large is colorized in strips, in bounded memory (`striped`);
        a SavedModel colorizes whole images, in its own graph."""
        return self._predictor is not None and not self.takes_hints and width * height > striped.STRIPED_ABOVE_PIXELS

    def colorize_to_png(self, image, source, path):
        """Colorize a decoded Pillow image read from `source` into a new PNG at `path`, in strips:
        neither the whole colorized image nor a float copy of the input is ever held."""
        width, height = image.size
        strips = striped.colorized_strips(self._predictor, self.element_format, *striped.rows_of_pil(image, source),
                                          model_size=self._model_size(height, width))
        with files.written_atomically(path) as temporary:
            striped.write_png(temporary, height, width, (strip for _, strip in strips))
        return path


def hint_models():
    """Names of the shipped models that take colour hints."""
    return [name for name in shipped.available() if models.takes_hints(shipped.description(name)["model"])]


def input_kind_of(element_format):
    """"sketch" or "gray": what models of this element format colorize; None for another format."""
    if element_format not in data.element_formats():
        return None
    return "sketch" if "sketch" in data.get_format(element_format).reads else "gray"


def to_array(image):
    """A path, PIL image or array -> array (H, W, C) with C = 1 or 3; paths give uint8 RGB."""
    if isinstance(image, (str, Path)):
        return images.read_rgb(image)
    if isinstance(image, Image.Image):
        return images.to_rgb_array(image)
    array = np.asarray(image)
    if array.ndim == 2:
        array = array[..., None]
    if array.ndim != 3 or not _is_image_shape(array.shape):
        raise ValueError(f"expected an image of shape {IMAGE_SHAPES}, not {array.shape}")
    return array


def _fixed_size_only(colorizer, size):
    """`colorizer`, or ModelLoadError when a render size was asked of an exported graph."""
    if size is not None:
        raise ModelLoadError(
            f"{colorizer.source}: an exported model runs at its own size; a render size needs the "
            "Keras model (a run folder, .keras file or shipped name)"
        )
    return colorizer


def _check_serving_signature(path, serve):
    """A SavedModel of another program has a signature of other names, which fails only when
    called, printing the whole input tensor."""
    inputs, outputs = serve.structured_input_signature[1], serve.structured_outputs
    images_spec = inputs.get("images")
    if (set(inputs) - {"hints"} != {"images"} or images_spec.dtype != tf.uint8 or images_spec.shape.rank != 4
            or "colorized" not in outputs):
        expected = "images (uint8, N x H x W x C) -> colorized"
        raise ModelLoadError(
            f"{path}: not a keras-colorize SavedModel: its {exporting.SERVING_ENDPOINT!r} signature "
            f"takes {sorted(inputs)} and gives {sorted(outputs)}, not {expected}"
        )


def _check_finite_weights(model, source):
    """A model with NaN or infinite weights (a diverged run's) colorizes every image black."""
    broken = [variable.path for variable in model.weights if not np.isfinite(variable.numpy()).all()]
    if broken:
        raise ModelLoadError(
            f"{source}: {len(broken)} weight array(s) hold NaN or infinity, first {broken[0]} "
            "(its training diverged); it would colorize every image black"
        )


def _recorded_model(run_dir):
    """(model name, input size) that the run's config.json beside a SavedModel records;
    ("saved_model", None) for a SavedModel outside a run folder."""
    try:
        recorded = runs.read_if_present(run_dir)
    except runs.RunRecordError as error:
        raise ModelLoadError(str(error)) from None
    if recorded is None:
        return "saved_model", None
    return recorded["model"], recorded.get("model_config", {}).get("image_size")


def _is_image_shape(shape):
    """Whether (..., H, W, C) has C = 1 or 3 and no empty axis (TensorFlow fails deep inside on either)."""
    return shape[-1] in (1, 3) and 0 not in shape


def _as_batch_input(batch):
    if batch.dtype != np.uint8 and not np.issubdtype(batch.dtype, np.floating):
        raise ValueError(f"expected uint8 or float images, not {batch.dtype}")
    if np.issubdtype(batch.dtype, np.floating):
        _check_unit_range(batch)
        batch = batch.astype(np.float32)
    return batch


def _check_unit_range(batch):
    """Floats outside [0, 1] (0-255 values, NaN) would come back white or black without a word."""
    if not np.isfinite(batch).all():
        raise ValueError("float images must be in [0, 1]; got NaN or infinite values")
    low, high = batch.min(), batch.max()
    if low < 0 or high > 1:
        raise ValueError(
            f"float images must be in [0, 1]; got min {low:g}, max {high:g} "
            "(divide 0-255 values by 255, or pass uint8)"
        )
