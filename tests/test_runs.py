"""The one reader of a run folder's config.json (`keras_colorize.runs`)."""

import json

import pytest

from keras_colorize import runs

NOT_A_RUN = {
    "no config.json": (None, "config.json: cannot be read"),
    "not JSON": ("{unet", "config.json: not valid JSON"),
    "a list": ("[1, 2]", "config.json: names no model"),
    "no model": ('{"data": "x.h5"}', "config.json: names no model"),
    "model not a name": ('{"model": 3}', "config.json: names no model"),
}


@pytest.mark.parametrize("text, message", NOT_A_RUN.values(), ids=NOT_A_RUN.keys())
def test_a_folder_without_a_run_record_is_named_and_told_apart(text, message, tmp_path):
    if text is not None:
        (tmp_path / "config.json").write_text(text)
    with pytest.raises(runs.RunRecordError, match=f"^{tmp_path}/{message}"):
        runs.read(tmp_path)
    assert runs.read_if_run(tmp_path) is None
    if text is None:
        assert runs.read_if_present(tmp_path) is None
    else:
        with pytest.raises(runs.RunRecordError, match=f"^{tmp_path}/{message}"):
            runs.read_if_present(tmp_path)


def test_a_run_record_reads_back_as_written(tmp_path):
    record = {"model": "unet", "data": "data/lfw128.h5", "model_config": {"image_size": 128}}
    (tmp_path / "config.json").write_text(json.dumps(record))
    assert runs.read(tmp_path) == record == runs.read_if_run(tmp_path) == runs.read_if_present(tmp_path)
