"""Writing trained models: `.keras` files and self-contained SavedModels, both atomically."""

from pathlib import Path

import keras
import tensorflow as tf

from keras_colorize import hints, inference
from keras_colorize.files import written_atomically

SERVING_ENDPOINT = "serving_default"


def save_keras(model, path):
    """`model.save(path)` through a temporary file, so a crash never leaves half a file."""
    with written_atomically(path) as temporary:
        model.save(temporary)
    return Path(path)


def export_serving(model, element_format, path, rendering=None):
    """A SavedModel whose `serving_default` colorizes uint8 images end to end, running `model`
    as `inference.colorize_batch` does with `rendering` (`models.Rendering`).

    Signature: `images`, uint8 (N, H, W, C) with C = 1 (gray) or 3 (RGB) and any H, W ->
    `colorized`, uint8 RGB (N, H, W, 3). Pre- and post-processing run inside the graph, so a
    `tf.saved_model.load` or TF Serving user needs nothing from this package. A hint model's
    signature also takes `hints`, float32 (N, h, w, 3) of any size, usually the images': the
    hint map of `keras_colorize.hints.encode` (all zeros: no hints).
    """
    path = Path(path)
    if path.exists() and not (path / "saved_model.pb").is_file():
        raise FileExistsError(f"{path}: exists and is not a SavedModel; export to a new path")
    archive = keras.export.ExportArchive()
    archive.track(model)

    images = tf.TensorSpec([None, None, None, None], tf.uint8, name="images")
    if hints.takes_hints(model):

        def colorize(images, hint_map):
            return {"colorized": inference.colorize_batch(model, images, element_format, rendering, hint_map)}

        signature = [images, tf.TensorSpec([None, None, None, hints.HINT_CHANNELS], tf.float32, name="hints")]
    else:

        def colorize(images):
            return {"colorized": inference.colorize_batch(model, images, element_format, rendering)}

        signature = [images]
    archive.add_endpoint(name=SERVING_ENDPOINT, fn=colorize, input_signature=signature)
    with written_atomically(path) as temporary:
        archive.write_out(str(temporary), verbose=False)
    return path
