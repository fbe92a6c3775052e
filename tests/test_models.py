"""Every registered model: builds at both presets (the sizes docs/models.md states), fits its
element format, serializes; FLOPs."""

from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_colorize import data, models
from keras_colorize.models.flops import forward_flops
from keras_colorize.models.layers import FusedBatchNormalization

# A model taking colour hints beside its image has two inputs: tests/test_hints.py holds it to
# the same contract.
MODEL_NAMES = [name for name in models.available() if not models.takes_hints(name)]

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


def documented_sizes():
    """{(model, preset): (parameters, GFLOPs)} from docs/models.md's summary table."""
    table = (Path(__file__).resolve().parents[1] / "docs" / "models.md").read_text()
    sizes = {}
    for line in table.splitlines():
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        if len(cells) == 7 and cells[0].strip("`") in models.available():
            name = cells[0].strip("`")
            sizes[name, "paper"] = (cells[2], float(cells[3]))
            sizes[name, "small"] = (cells[5], float(cells[6]))
    return sizes


DOCUMENTED_SIZES = documented_sizes()


def bare_build(name, preset):
    """`name` at `preset` without pretrained weights: the contract holds for any weights, and a
    machine without ../shared/pretrained would otherwise try to download them."""
    return models.build(name, preset, **models.without_weight_files(name, models.presets(name)[preset]))


def format_shapes(name, size):
    """(input shape, target shape) of one `name` element at size x size, batch dim first."""
    sample = {"rgb": tf.zeros((size, size, 3)), "sketch": tf.zeros((size, size, 1))}
    inputs, target = data.get_format(models.element_format(name)).to_pair(sample)
    return (None, *inputs.shape), (None, *target.shape)


@pytest.fixture(scope="module")
def small_model():
    """`small_model(name)`: the small preset of `name`, built once per module (seeded)."""
    built = {}

    def get(name):
        if name not in built:
            keras.utils.set_random_seed(0)
            built[name] = bare_build(name, "small")
        return built[name]

    return get


@pytest.mark.parametrize("preset", ["paper", "small"])
@pytest.mark.parametrize("name", MODEL_NAMES)
def test_preset_builds_with_its_element_format_shapes(name, preset, record_property):
    model = bare_build(name, preset)
    size = model.input_shape[1]
    input_shape, target_shape = format_shapes(name, size)
    assert model.input_shape == input_shape
    assert models.inference_model(name, model).output_shape == target_shape
    parameters, gflops = DOCUMENTED_SIZES[name, preset]
    assert f"{model.count_params():,}" == parameters, "docs/models.md's summary table is out of date"
    assert forward_flops(model) / 1e9 == pytest.approx(gflops, rel=0.01, abs=0.0005)
    record_property("parameters", model.count_params())
    record_property("forward_flops", forward_flops(model))


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_small_preset_output_on_real_faces(name, small_model, lfw_pairs):
    model = small_model(name)
    inputs, targets = lfw_pairs(name, model.input_shape[1])
    outputs = models.inference_model(name, model).predict(inputs, verbose=0)
    assert outputs.shape == targets.shape
    assert outputs.dtype == np.float32
    assert np.isfinite(outputs).all()
    if name not in LINEAR_OUTPUTS:
        low, high = TARGET_RANGES[models.element_format(name)]
        assert low <= outputs.min() and outputs.max() <= high


# An untrained model's optimizer has no slots yet, so Keras skips restoring its state.
@pytest.mark.filterwarnings("ignore:Skipping variable loading for optimizer")
@pytest.mark.parametrize("name", MODEL_NAMES)
def test_keras_file_round_trip_gives_equal_outputs(name, small_model, lfw_pairs, tmp_path):
    model = small_model(name)
    inputs, _ = lfw_pairs(name, model.input_shape[1])
    model.save(tmp_path / f"{name}.keras")
    loaded = keras.saving.load_model(tmp_path / f"{name}.keras")
    assert type(loaded) is type(model)
    assert loaded.count_params() == model.count_params()
    np.testing.assert_allclose(
        loaded.predict(inputs, verbose=0), model.predict(inputs, verbose=0), rtol=0, atol=1e-6
    )


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_saved_model_export_serves_equal_outputs(name, small_model, lfw_pairs, tmp_path):
    model = small_model(name)
    inputs, _ = lfw_pairs(name, model.input_shape[1])
    model.export(tmp_path / name, verbose=False)
    restored = tf.saved_model.load(str(tmp_path / name))  # kept: `serve` needs its variables alive
    served = restored.serve(tf.constant(inputs))
    np.testing.assert_allclose(served.numpy(), model.predict(inputs, verbose=0), rtol=0, atol=1e-5)


def test_forward_flops_matches_a_hand_count():
    image = keras.Input((8, 8, 3), name="image")
    x = keras.layers.Conv2D(4, 3, padding="same")(image)  # 2*(3*3*3*4)*(8*8) = 13,824
    x = keras.layers.Conv2D(6, 3, strides=2, padding="same")(x)  # 2*(3*3*4*6)*(4*4) = 6,912
    # A transposed conv applies its kernel once per input pixel: 2*(2*2*2*6)*(4*4) = 1,536.
    x = keras.layers.Conv2DTranspose(2, 2, strides=2)(x)
    nested = keras.Sequential(
        [keras.Input((8, 8, 2)), keras.layers.DepthwiseConv2D(3, padding="same")]
    )  # 2*(3*3*2*1)*(8*8) = 2,304
    x = nested(x)
    x = keras.layers.BatchNormalization()(x)  # not counted
    x = keras.layers.GlobalAveragePooling2D()(x)
    scores = keras.layers.Dense(5)(x)  # 2*(2*5) = 20
    model = keras.Model(image, scores)
    assert forward_flops(model) == 13_824 + 6_912 + 1_536 + 2_304 + 20


def test_forward_flops_of_vgg16_is_its_published_15_5_g_multiply_adds():
    vgg = keras.applications.VGG16(weights=None)
    assert forward_flops(vgg) / 2 == pytest.approx(15.47e9, rel=0.005)


def test_forward_flops_needs_fixed_spatial_sizes():
    image = keras.Input((None, None, 3), name="image")
    model = keras.Model(image, keras.layers.Conv2D(4, 3)(image))
    with pytest.raises(ValueError, match="fixed spatial sizes"):
        forward_flops(model)


@pytest.mark.parametrize("precision", ["float32", "mixed_bfloat16"])
def test_fused_batch_norm_agrees_with_keras_batch_norm(precision):
    images = np.random.default_rng(0).normal(2.0, 3.0, (8, 5, 5, 6)).astype("float32")
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(precision)
    try:
        keras_bn, fused_bn = keras.layers.BatchNormalization(), FusedBatchNormalization()
        gradients = []
        for layer in (keras_bn, fused_bn):
            layer.build(images.shape)
            layer.gamma.assign(np.linspace(0.5, 2.0, 6))
            layer.beta.assign(np.linspace(-1.0, 1.0, 6))
            with tf.GradientTape() as tape:
                inputs = tf.constant(images)
                tape.watch(inputs)
                outputs = layer(inputs, training=True)
                loss = tf.reduce_sum(tf.cast(outputs, tf.float32) ** 2)
            gradients.append(tape.gradient(loss, [inputs, layer.gamma, layer.beta]))
        assert fused_bn(images).dtype == keras_bn(images).dtype
        traced = tf.function(lambda x: fused_bn(x, training=True))
        graph = traced.get_concrete_function(tf.constant(images)).graph
        assert "FusedBatchNormV3" in {op.type for op in graph.get_operations()}
    finally:
        keras.mixed_precision.set_global_policy(previous)
    tolerance = 1e-5 if precision == "float32" else 2e-2
    # One training call moves the statistics off their initial 0 and 1, alike in both.
    assert np.all(np.asarray(fused_bn.moving_mean) > 0.0)
    assert np.all(np.asarray(fused_bn.moving_variance) > 1.0)
    for name in ("moving_mean", "moving_variance"):
        np.testing.assert_allclose(getattr(fused_bn, name), getattr(keras_bn, name), rtol=1e-5)
    for keras_gradient, fused_gradient in zip(*gradients):
        np.testing.assert_allclose(fused_gradient, keras_gradient, rtol=tolerance, atol=tolerance)
    np.testing.assert_allclose(
        tf.cast(fused_bn(images, training=False), tf.float32),
        tf.cast(keras_bn(images, training=False), tf.float32),
        rtol=tolerance, atol=tolerance,
    )


def test_a_long_error_is_cut_to_one_line_at_a_word():
    error = ValueError("File format not supported: " + "word " * 60 + "\nsecond line")
    shown = models.first_line(error)
    assert len(shown) <= 204 and shown.endswith(" word ...") and "second" not in shown
    assert models.first_line(ValueError("short\nmore")) == "short"
    assert models.first_line(KeyError()) == "KeyError"
