"""Every registered model builds at both presets, at the sizes docs/models.md states, taking and
giving its element format (the rest of the shared contract: `test_model_contract.py`); FLOPs."""

from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

import model_harness
from keras_colorize import models
from keras_colorize.models.flops import forward_flops
from keras_colorize.models.layers import FusedBatchNormalization

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


@pytest.mark.parametrize("preset", ["paper", "small"])
@pytest.mark.parametrize("name", models.available())
def test_preset_builds_with_its_element_format_shapes(name, preset, record_property):
    model = model_harness.bare_build(name, preset)
    input_shape, target_shape = model_harness.format_shapes(name, model_harness.input_side(model))
    assert tuple(model.inputs[0].shape) == input_shape
    assert models.inference_model(name, model).output_shape == target_shape
    parameters, gflops = DOCUMENTED_SIZES[name, preset]
    assert f"{model.count_params():,}" == parameters, "docs/models.md's summary table is out of date"
    assert forward_flops(model) / 1e9 == pytest.approx(gflops, rel=0.01, abs=0.0005)
    record_property("parameters", model.count_params())
    record_property("forward_flops", forward_flops(model))


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
