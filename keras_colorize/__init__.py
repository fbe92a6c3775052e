"""keras-colorize: grayscale photo, video and sketch colorization with Keras.

Modules: `color` (colour maths), `images` (file reading), `data` (tf.data pipelines), `hdf5`
(dataset files), `datasets` (building them), `losses`, `models` (the five papers' networks,
`models.build(name, preset)`), `training`, `evaluation`, `plotting`, `Colorizer` (load a
trained model, colorize images of any size).

Importing the package imports nothing else: `Colorizer` and the modules named here load on
first use, so a command can import TensorFlow its own way first (`console.import_tensorflow_quietly`).
"""

import importlib

__version__ = "0.1.0"

_MODULES = ("color", "images", "losses", "models")


def __getattr__(name):
    if name == "Colorizer":
        return importlib.import_module("keras_colorize.colorizer").Colorizer
    if name in _MODULES:
        return importlib.import_module(f"keras_colorize.{name}")
    raise AttributeError(f"module 'keras_colorize' has no attribute {name!r}")
