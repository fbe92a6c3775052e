"""Every registered model keeps the shared contract (`model_harness`): its spec is whole, its
small preset builds uncompiled, takes and gives its element format, round-trips through `.keras`, exports as a serving SavedModel and
overfits eight real faces, trained as a run trains it."""

import keras
import pytest

import model_harness
from keras_colorize import inference, models


@pytest.fixture(scope="module")
def small_model():
    """`small_model(name)`: the small preset of `name`, built once per module (seeded)."""
    built = {}

    def get(name):
        if name not in built:
            keras.utils.set_random_seed(0)
            built[name] = model_harness.bare_build(name)
        return built[name]

    return get


@pytest.mark.parametrize("name", models.available())
def test_spec_is_whole_and_the_builder_uncompiled(name, small_model):
    model_harness.check_spec(name, small_model(name))


@pytest.mark.parametrize("name", models.available())
def test_takes_and_gives_its_element_format(name, small_model, lfw_pairs):
    model = small_model(name)
    model_harness.check_element_format(name, model, *lfw_pairs(name, model_harness.input_side(model)))


@pytest.mark.parametrize("name", models.available())
def test_keras_file_round_trip_gives_equal_outputs(name, small_model, lfw_pairs, tmp_path):
    model = small_model(name)
    model_harness.check_keras_round_trip(
        model, *lfw_pairs(name, model_harness.input_side(model)), tmp_path / f"{name}.keras"
    )


@pytest.mark.parametrize("name", models.available())
def test_serving_export_loads_untrusted_and_colorizes_alike(name, small_model, lfw_faces, tmp_path):
    gray_faces = inference.gray_version(lfw_faces[:2, :100, :120])  # not the model's own size
    model_harness.check_serving_export(name, small_model(name), gray_faces, tmp_path / name)


@pytest.mark.slow
@pytest.mark.parametrize("name", models.available())
def test_overfits_eight_real_faces(name, lfw_pairs):
    keras.utils.set_random_seed(0)
    model = model_harness.bare_build(name)  # its own: training changes the weights
    model_harness.check_overfits(name, model, *lfw_pairs(name, model_harness.input_side(model)))
