"""The contract every registered model keeps, in keras-hub's shape (`run_model_saving_test` and
friends): a model's test calls these on its own small build and real data, so a new model is
checked the same way as the others by registering it (`test_model_contract.py` runs them on
every `models.available()`).

Each check takes a model `name`, the Keras `model` built for it and an (inputs, targets) batch in
its element format, and fails with a message naming what broke.
"""

import inspect

import keras
import numpy as np
import tensorflow as tf

from data_prep.standard import STANDARD_DATASETS
from keras_colorize import Colorizer, data, exporting, hints, models, training, training_settings

# What each element format's target holds, so what a model's (inference) output must stay in.
TARGET_RANGES = {
    "l_ab_unit": (0.0, 1.0),
    "l_lab_unit": (0.0, 1.0),
    "l_ab_signed": (-1.0, 1.0),
    "l_ab": (-128.0, 128.0),
    "gray_rgb": (0.0, 1.0),
    "sketch_rgb": (0.0, 1.0),
    "sketch_rgb_tanh": (-1.0, 1.0),
}
LINEAR_OUTPUTS = {"sketch_inverter"}  # Joy & Singh's last layer is linear: no range to check
OVERFIT_STEPS = 15


def bare_build(name, preset="small", **overrides):
    """`name` at `preset` without pretrained weights: the contract holds for any weights, and a
    machine without ../shared/pretrained would otherwise try to download them."""
    config = {**models.presets(name)[preset], **overrides}
    return models.build(name, preset, **models.without_weight_files(name, config))


def input_side(model):
    """The side of the square images `model` was built for."""
    return model.inputs[0].shape[1]


def model_inputs(model, inputs, targets):
    """What `model` takes for an element-format batch: the inputs, and for a hint model
    (`hints.takes_hints`) five hints revealed from the targets beside them."""
    if not hints.takes_hints(model):
        return inputs
    return [inputs, hints.simulated(targets, tf.constant([0, 0]), count=5)[0]]


def format_shapes(name, size):
    """(input shape, target shape) of one `name` element at size x size, batch dim first."""
    sample = {"rgb": tf.zeros((size, size, 3)), "sketch": tf.zeros((size, size, 1))}
    inputs, target = data.get_format(models.element_format(name)).to_pair(sample)
    return (None, *inputs.shape), (None, *target.shape)


def check_spec(name, model):
    """The spec is whole and its builder keeps keras-hub's contract: an uncompiled model (a run
    compiles it from its settings); a subclassed model's `get_config` gives its constructor's
    arguments; the paper's training defaults are valid run settings, and the standard data a
    file `make data` builds."""
    spec = models.spec(name)
    assert not model.compiled
    if type(model).__module__.startswith("keras_colorize"):
        parameters = inspect.signature(type(model).__init__).parameters
        assert set(model.get_config()) - {"name", "trainable"} <= set(parameters)
    settings = training_settings.default_settings(name)
    assert {key: getattr(settings, key) for key in spec.training} == spec.training
    assert spec.standard_data in STANDARD_DATASETS


def check_element_format(name, model, inputs, targets):
    """The model takes its element format's inputs and, through its inference model, gives
    finite float32 outputs shaped and ranged as its targets."""
    input_shape, target_shape = format_shapes(name, input_side(model))
    assert tuple(model.inputs[0].shape) == input_shape
    predictor = models.inference_model(name, model)
    assert predictor.output_shape == target_shape
    outputs = predictor.predict(model_inputs(model, inputs, targets), verbose=0)
    assert outputs.shape == targets.shape and outputs.dtype == np.float32
    assert np.isfinite(outputs).all()
    if name not in LINEAR_OUTPUTS:
        low, high = TARGET_RANGES[models.element_format(name)]
        assert low <= outputs.min() and outputs.max() <= high


def check_keras_round_trip(model, inputs, targets, path):
    """Saved as `.keras` and loaded back in safe mode: the same class, weights and outputs."""
    model.save(path)
    loaded = keras.saving.load_model(path, compile=False)
    assert type(loaded) is type(model)
    assert loaded.count_params() == model.count_params()
    given = model_inputs(model, inputs, targets)
    np.testing.assert_allclose(loaded.predict(given, verbose=0), model.predict(given, verbose=0), rtol=0, atol=1e-6)


def check_serving_export(name, model, images, path):
    """Exported as `keras-colorize export` does (`exporting.export_serving`): the SavedModel
    passes the untrusted-export check and colorizes uint8 `images` as the Keras model does."""
    keras_colorizer = Colorizer.from_model(model, name)
    predictor, rendering = models.at_any_size(models.inference_model(name, model))
    exporting.export_serving(predictor, models.element_format(name), path, rendering)
    exported = Colorizer.load(path)  # not trusted: loads only when shaped like a package export
    difference = exported.colorize(images).astype(int) - keras_colorizer.colorize(images).astype(int)
    assert np.abs(difference).max() <= 1  # uint8 rounding of the same floats


def check_overfits(name, model, inputs, targets, learning_rate=1e-3):
    """Compiled by a training run's own path with the model's paper settings (at a rate that
    moves in a few steps), OVERFIT_STEPS steps on one batch lower its loss by a fifth."""
    settings = training_settings.default_settings(name, learning_rate=learning_rate, steps_per_execution=1)
    training.compile_model(model, settings, [(inputs, targets)], steps_per_epoch=1)
    loss_name = "g_l1" if models.spec(name).adversarial else "loss"
    losses = [float(model.train_on_batch(inputs, targets, return_dict=True)[loss_name]) for _ in range(OVERFIT_STEPS)]
    assert all(np.isfinite(losses)), losses
    assert losses[-1] < 0.8 * losses[0], f"{name}: loss {losses[0]:.4g} -> {losses[-1]:.4g}"
