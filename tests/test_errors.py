"""Every error the package defines is a ColorizeError, so that a program can catch them all."""

import importlib
import inspect
import pkgutil

import keras_colorize
from keras_colorize.errors import ColorizeError, ImageError, ModelLoadError, TrainingError


def _package_modules():
    for module in pkgutil.walk_packages(keras_colorize.__path__, "keras_colorize."):
        try:
            yield importlib.import_module(module.name)
        except ModuleNotFoundError as error:  # an optional dependency (tkinter, the web extra)
            if error.name.startswith("keras_colorize"):
                raise


def test_every_error_class_of_the_package_is_a_colorize_error():
    defined = {
        value
        for module in _package_modules()
        for value in vars(module).values()
        if inspect.isclass(value) and issubclass(value, BaseException) and value.__module__.startswith("keras_colorize")
    }

    assert {"VideoError", "RunRecordError", "PretrainedWeightsError", "CommandError"} <= {cls.__name__ for cls in defined}
    assert [cls.__name__ for cls in defined if not issubclass(cls, ColorizeError)] == []


def test_the_errors_keep_the_builtin_kinds_callers_catch():
    assert issubclass(ImageError, ValueError) and issubclass(ModelLoadError, ValueError)
    assert issubclass(TrainingError, RuntimeError)
    assert str(ImageError("a.png", "not_an_image", "Pillow cannot read it")) == "a.png: not_an_image (Pillow cannot read it)"
