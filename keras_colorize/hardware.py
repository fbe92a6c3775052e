"""Where a training run computes: its precision and its distribution strategy; and a model's
copy that colorizes in bfloat16."""

from pathlib import Path

import keras
import tensorflow as tf

from keras_colorize import multiworker


def cpu_has_bf16():
    """Whether this CPU has native bfloat16 arithmetic (AVX512_BF16 or AMX-BF16)."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def choose_precision(requested="auto"):
    """auto: mixed_float16 on a GPU; mixed_bfloat16 on a CPU with bf16 instructions (1.3-1.9x
    faster training here); else float32 (mixed_float16 is 5-13x slower on CPUs)."""
    if requested != "auto":
        return requested
    if tf.config.list_physical_devices("GPU"):
        return "mixed_float16"
    return "mixed_bfloat16" if cpu_has_bf16() else "float32"


def choose_strategy(requested="auto"):
    if requested == "multiworker":  # first: listing devices starts TensorFlow's runtime
        return multiworker.strategy()
    gpus = tf.config.list_logical_devices("GPU")
    if requested == "auto":
        requested = "mirrored" if len(gpus) > 1 else "default"
    if requested == "default":
        return tf.distribute.get_strategy()
    if requested == "one":
        return tf.distribute.OneDeviceStrategy((gpus[0] if gpus else tf.config.list_logical_devices("CPU")[0]).name)
    if requested == "mirrored":
        # Among CPU devices the default collective all-reduce can launch a GAN's two
        # optimizer steps in different orders on different replicas (a shape-mismatch
        # abort); reducing on one device keeps them in step. GPUs keep NCCL.
        cross_device_ops = None if gpus else tf.distribute.ReductionToOneDevice()
        return tf.distribute.MirroredStrategy(cross_device_ops=cross_device_ops)
    raise ValueError(f"unknown strategy {requested!r}; choose auto, one, mirrored or multiworker")


# The layers whose arithmetic an inference pass spends its time in.
_BFLOAT16_LAYERS = (keras.layers.Conv2D, keras.layers.Conv2DTranspose, keras.layers.Dense,
                    keras.layers.BatchNormalization)
INFERENCE_PRECISIONS = ("float32", "mixed_bfloat16")


def in_bfloat16(model):
    """A copy of `model` (its weights copied) whose convolutions, dense and normalization layers
    compute in bfloat16 on float32 weights (`mixed_bfloat16`), except the last of them, which
    writes the output and stays float32, as do the layers after it. On a CPU with bf16
    instructions the classifier's paper preset colorizes twice as fast. The shipped classifier
    and unet colorize within 3 uint8 levels of float32 (mean 0.06); mobilenet_unet's depthwise
    layers move by up to 26, so it stays float32 unless asked (tests/test_colorizer.py)."""
    heavy = [layer for layer in _layers(model) if isinstance(layer, _BFLOAT16_LAYERS)]
    kept = {id(heavy[-1])} if heavy else set()

    def clone(layer):
        config = layer.get_config()
        if isinstance(layer, _BFLOAT16_LAYERS) and id(layer) not in kept:
            config["dtype"] = "mixed_bfloat16"
        return layer.__class__.from_config(config)

    copy = keras.models.clone_model(model, clone_function=clone, recursive=True)
    copy.set_weights(model.get_weights())
    return copy


def _layers(model):
    """Every layer of `model`, those of nested models in their place."""
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            yield from _layers(layer)
        else:
            yield layer
