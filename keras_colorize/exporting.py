"""Writing trained models: `.keras` files and self-contained SavedModels, both atomically."""

import os
import shutil
from pathlib import Path

import keras
import tensorflow as tf

from keras_colorize import inference

SERVING_ENDPOINT = "serving_default"


def _replace(temporary, path):
    """Move a finished temporary file or folder onto `path` (an old folder is removed first)."""
    path = Path(path)
    if path.is_dir():
        shutil.rmtree(path)
    os.replace(temporary, path)
    return path


def save_keras(model, path):
    """`model.save(path)` through a temporary file, so a crash never leaves half a file."""
    path = Path(path)
    temporary = path.with_name(f".{path.stem}.partial.keras")
    model.save(temporary)
    return _replace(temporary, path)


def export_serving(model, element_format, path):
    """A SavedModel whose `serving_default` colorizes uint8 images end to end.

    Signature: `images`, uint8 (N, H, W, C) with C = 1 (gray) or 3 (RGB) and any H, W ->
    `colorized`, uint8 RGB (N, H, W, 3). Pre- and post-processing run inside the graph, so a
    `tf.saved_model.load` or TF Serving user needs nothing from this package.
    """
    path = Path(path)
    temporary = path.with_name(f".{path.name}.partial")
    if temporary.exists():
        shutil.rmtree(temporary)
    archive = keras.export.ExportArchive()
    archive.track(model)

    def colorize(images):
        return {"colorized": inference.colorize_batch(model, images, element_format)}

    archive.add_endpoint(
        name=SERVING_ENDPOINT,
        fn=colorize,
        input_signature=[tf.TensorSpec([None, None, None, None], tf.uint8, name="images")],
    )
    archive.write_out(str(temporary), verbose=False)
    return _replace(temporary, path)
