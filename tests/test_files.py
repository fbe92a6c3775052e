"""files: a file or folder appears whole or not at all; outputs stay out of their sources."""

import pytest

from keras_colorize.files import check_outside, written_atomically


def test_a_finished_block_replaces_the_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "out" / "result.png"
    with written_atomically(path) as temporary:
        assert temporary.parent == path.parent and temporary.suffix == ".png"
        assert not path.exists()
        temporary.write_bytes(b"new")
    assert path.read_bytes() == b"new"
    assert [p.name for p in path.parent.iterdir()] == ["result.png"]


def test_a_failed_block_leaves_the_old_file_untouched(tmp_path):
    path = tmp_path / "result.h5"
    path.write_bytes(b"old")
    with pytest.raises(RuntimeError), written_atomically(path) as temporary:
        temporary.write_bytes(b"half")
        raise RuntimeError("interrupted")
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["result.h5"]


def test_a_folder_is_replaced_whole_and_others_files_are_left_alone(tmp_path):
    path = tmp_path / "export"
    (path / "old").mkdir(parents=True)
    someone_elses = tmp_path / ".export.partial"  # a name the temporary could once take
    someone_elses.write_bytes(b"theirs")
    with written_atomically(path) as temporary:
        assert temporary.parent == tmp_path and not temporary.exists()
        (temporary / "new").mkdir(parents=True)
    assert [p.name for p in path.iterdir()] == ["new"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [".export.partial", "export"]
    assert someone_elses.read_bytes() == b"theirs"


def test_a_file_name_at_the_file_system_limit_can_be_written(tmp_path):
    path = tmp_path / ("x" * 251 + ".png")
    with written_atomically(path) as temporary:
        temporary.write_bytes(b"new")
    assert path.read_bytes() == b"new"


def test_a_failed_block_leaves_the_old_folder_untouched(tmp_path):
    """The old folder goes only once the new one is complete: an interrupted export keeps the
    previous one whole, and no half-written folder is left beside it."""
    path = tmp_path / "export"
    (path / "old").mkdir(parents=True)
    (path / "old" / "weights.h5").write_bytes(b"old")
    with pytest.raises(RuntimeError), written_atomically(path) as temporary:
        (temporary / "new").mkdir(parents=True)
        raise RuntimeError("interrupted")
    assert [p.name for p in path.iterdir()] == ["old"]
    assert (path / "old" / "weights.h5").read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["export"]


def test_an_output_in_or_equal_to_its_source_is_refused(tmp_path):
    source = tmp_path / "photos"
    (source / "sub").mkdir(parents=True)
    (source / "a.png").write_bytes(b"photo")
    for out in (source, source / "run", source / "sub" / "deeper", source / "a.png"):
        with pytest.raises(ValueError, match="must be outside the source"):
            check_outside(out, source)
    with pytest.raises(ValueError, match="must be outside the source"):
        check_outside(source / "a.png", source / "a.png")
    check_outside(tmp_path / "photos_out", source)  # a sibling that shares the name's start
    check_outside(tmp_path / "run", source / "a.png")  # beside a single source file
