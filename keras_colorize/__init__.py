"""keras-colorize: grayscale photo, video and sketch colorization with Keras.

Modules: `color` (colour maths), `images` (file reading), `data` (tf.data pipelines),
`losses`, `models` (the five papers' networks, `models.build(name, preset)`), `training`,
`Colorizer` (load a trained model, colorize images of any size).
"""

__version__ = "0.1.0"

from keras_colorize import console

console.import_tensorflow_quietly()  # before any module imports it

from keras_colorize import color, images, losses, models  # noqa: E402,F401
from keras_colorize.colorizer import Colorizer  # noqa: E402,F401
