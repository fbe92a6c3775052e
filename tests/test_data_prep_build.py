"""data_prep build / standard / demo: the HDF5 files hold exactly the prepared images."""

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import h5py
import numpy as np
import pytest
from PIL import Image
from skimage import color as skcolor

from conftest import shared_path
from data_prep.__main__ import main
from data_prep.demo import run_demo
from data_prep.standard import build_standard
from keras_colorize import color
from keras_colorize.datasets import assign_splits, build_dataset
from keras_colorize.image_folders import Sample
from keras_colorize.images import read_rgb
from keras_colorize.sketches import pencil_sketch, to_gray

SIZE = 64
REPO = Path(__file__).resolve().parents[1]


def link_tree(files, root, folder):
    """Symlink `files` into `folder`, keeping their paths relative to `root` (no copies)."""
    for path in files:
        link = folder / path.relative_to(root)
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(path)
    return folder


def resized(image, size=SIZE):
    """The centre square of `image` resized with INTER_AREA: what build stores."""
    height, width = image.shape[:2]
    side = min(height, width)
    top, left = (height - side) // 2, (width - side) // 2
    square = image[top : top + side, left : left + side]
    return cv2.resize(square, (size, size), interpolation=cv2.INTER_AREA)


def read_split(path, split):
    with h5py.File(path, "r") as file:
        return {name: file[split][name][()] for name in file[split]}


@pytest.fixture(scope="module")
def lfw_subset(tmp_path_factory):
    """About 40 LFW images of 12 people (3-4 each), linked in LFW's <Person>/<file> layout."""
    root = shared_path("lfw", "images")
    people = [p for p in sorted(root.iterdir()) if len(list(p.glob("*.jpg"))) >= 3][:12]
    files = [
        path
        for person in people
        for path in sorted(person.glob("*.jpg"))[: 3 + len(person.name) % 2]
    ]
    return link_tree(files, root, tmp_path_factory.mktemp("lfw"))


@pytest.fixture(scope="module")
def lfw_file(lfw_subset, tmp_path_factory):
    path = tmp_path_factory.mktemp("h5") / "lfw.h5"
    build_dataset([lfw_subset], path, SIZE, sketch="pencil", verbose=False)
    return path


def test_lfw_round_trip_stores_the_processed_images(lfw_file, lfw_subset):
    with h5py.File(lfw_file, "r") as file:
        attrs = dict(file.attrs)
        identities = file["identities"].asstr()[()]
        rows = {split: file[split]["source"].asstr()[()] for split in ("train", "val", "test")}
        train = file["train"]
        assert train["rgb"].chunks == (1, SIZE, SIZE, 3) and train["rgb"].maxshape[0] is None
        assert train["rgb"].compression == "lzf" and train["sketch"].chunks == (1, SIZE, SIZE)
    assert attrs["format"] == "keras-colorize" and attrs["version"] == 1
    assert attrs["image_size"] == SIZE and attrs["encodings"] == "rgb,lab"
    assert attrs["sketch"] == "pencil" and attrs["seed"] == 0
    assert json.loads(attrs["sources"]) == [str(lfw_subset)]
    assert json.loads(attrs["split_fractions"]) == [0.8, 0.1, 0.1]
    counts = json.loads(attrs["counts"])
    assert counts == {**{split: len(rows[split]) for split in rows}, "skipped": {}}
    assert sum(len(names) for names in rows.values()) == len(list(lfw_subset.glob("*/*.jpg")))
    assert list(identities) == sorted(p.name for p in lfw_subset.iterdir())

    for split in rows:
        stored = read_split(lfw_file, split)
        for index, name in enumerate(rows[split]):
            expected = resized(read_rgb(lfw_subset / name))
            np.testing.assert_array_equal(stored["rgb"][index], expected)
            np.testing.assert_array_equal(stored["sketch"][index], pencil_sketch(expected))
            assert identities[stored["identity"][index]] == name.split("/")[0]
        assert stored["rgb"].dtype == stored["lab"].dtype == np.uint8
        assert stored["identity"].dtype == np.int32
        lab = color.lab_from_uint8(stored["lab"]).numpy()
        reference = skcolor.rgb2lab(stored["rgb"])
        assert np.abs(lab[..., 0] - reference[..., 0]).max() < 0.25
        assert np.abs(lab[..., 1:] - reference[..., 1:]).max() < 0.6


def test_lfw_splits_are_identity_disjoint_and_seeded(lfw_file, lfw_subset, tmp_path):
    def people(path):
        split_people = {}
        for split in ("train", "val", "test"):
            with h5py.File(path, "r") as file:
                names = file[split]["source"].asstr()[()]
            split_people[split] = {name.split("/")[0] for name in names}
        return split_people

    split_people = people(lfw_file)
    assert all(split_people.values())
    assert not split_people["train"] & split_people["val"]
    assert not split_people["train"] & split_people["test"]
    assert not split_people["val"] & split_people["test"]
    with h5py.File(lfw_file, "r") as file:
        assert file.attrs["identity_disjoint"]
        order = file["train"]["source"].asstr()[()]

    again = build_dataset([lfw_subset], tmp_path / "again.h5", SIZE, encoding="rgb", verbose=False)
    other = build_dataset(
        [lfw_subset], tmp_path / "other.h5", SIZE, encoding="rgb", seed=1, verbose=False
    )
    with h5py.File(tmp_path / "again.h5", "r") as file:
        np.testing.assert_array_equal(file["train"]["source"].asstr()[()], order)
        assert "lab" not in file["train"] and "sketch" not in file["train"]
    assert people(tmp_path / "other.h5") != split_people
    assert again["train"] == len(order) and other["skipped"] == {}


def test_assign_splits_keeps_given_folders_and_carves_val_from_train():
    def samples(count, split):
        return [Sample(Path("s"), Path(f"s/{split}/{i}.png"), split=split) for i in range(count)]

    rows = assign_splits(samples(90, "train") + samples(30, "test"), (0.8, 0.1, 0.1), seed=3)

    assert [len(rows[split]) for split in ("train", "val", "test")] == [80, 10, 30]
    assert {s.split for s in rows["test"]} == {"test"}
    assert {s.split for s in rows["val"]} == {"train"}
    with pytest.raises(ValueError, match="summing to 1"):
        assign_splits(samples(4, None), (0.8, 0.3, 0.1))


def test_cufs_photo_and_drawn_sketch_pairs_keep_the_given_split(tmp_path):
    root = shared_path("cufs_cuhk")
    files = []
    for split, count in (("train", 9), ("test", 3)):
        names = sorted(p.name for p in (root / split / "photos").glob("*.jpg"))[:count]
        files += [root / split / kind / name for kind in ("photos", "sketches") for name in names]
    cufs = link_tree(files, root, tmp_path / "cufs")
    (cufs / "train" / "sketches" / files[0].name).unlink()  # a photo without its sketch

    summary = build_dataset([cufs], tmp_path / "cufs.h5", SIZE, verbose=False)

    assert summary["skipped"] == {"no_sketch": 1}
    assert summary["train"] + summary["val"] == 8 and summary["val"] >= 1 and summary["test"] == 3
    test = read_split(tmp_path / "cufs.h5", "test")
    assert all(name.startswith(b"test/photos/") for name in test["source"])
    with h5py.File(tmp_path / "cufs.h5", "r") as file:
        assert file.attrs["sketch"] == "drawn" and "identities" not in file
        # No person labels: nothing shows the splits hold different people.
        assert not file.attrs["identity_disjoint"]
    assert summary["identity_disjoint"] is False
    for index, name in enumerate(test["source"].astype(str)):
        photo = read_rgb(cufs / name)
        drawn = read_rgb(cufs / name.replace("photos", "sketches"))
        assert photo.shape == (250, 200, 3)  # a portrait: rows 25-225 are the centre square
        np.testing.assert_array_equal(test["rgb"][index], resized(photo))
        np.testing.assert_array_equal(test["sketch"][index], to_gray(resized(drawn)))


def test_side_by_side_pairs_build_on_edges2shoes(tmp_path):
    root = shared_path("edges2shoes")
    pairs = link_tree(sorted(root.glob("*.jpg"))[:4], root, tmp_path / "pairs")

    summary = build_dataset(
        [pairs], tmp_path / "shoes.h5", SIZE, pairs="left", encoding="rgb", split=(0.5, 0.25, 0.25),
        verbose=False,
    )

    assert summary["kept"] == 4 and summary["sketch"] == "drawn"
    train = read_split(tmp_path / "shoes.h5", "train")
    for index, name in enumerate(train["source"].astype(str)):
        pair = read_rgb(pairs / name)
        np.testing.assert_array_equal(train["rgb"][index], resized(pair[:, 256:]))
        np.testing.assert_array_equal(train["sketch"][index], to_gray(resized(pair[:, :256])))
    with pytest.raises(ValueError, match="have drawn sketches"):
        build_dataset([pairs], tmp_path / "mixed.h5", SIZE, pairs="left", sketch="pencil")
    assert not (tmp_path / "mixed.h5").exists()


def _noise_photos(folder, count, size, seed):
    """`count` random-noise PNGs of `size` (height, width) named 0.png, 1.png, ... in `folder`."""
    folder.mkdir()
    rng = np.random.default_rng(seed)
    for index in range(count):
        Image.fromarray(rng.integers(0, 256, (*size, 3), dtype=np.uint8)).save(folder / f"{index}.png")
    return folder


def test_a_drawn_sketch_of_another_size_is_resized_to_its_photo_before_the_crop(tmp_path):
    # Landscape photos (48 high, 72 wide) whose sketches were scanned at another size and
    # aspect (30 x 100): each sketch is stretched onto its photo, then both are cut by the
    # photo's centre square, so they stay aligned.
    (tmp_path / "drawn").mkdir()
    photos = _noise_photos(tmp_path / "drawn" / "photos", 4, (48, 72), seed=2)
    (tmp_path / "drawn" / "sketches").mkdir()
    rng = np.random.default_rng(3)
    sketches = {f"{index}.png": rng.integers(0, 256, (30, 100), dtype=np.uint8) for index in range(4)}
    for name, sketch in sketches.items():
        Image.fromarray(sketch).save(tmp_path / "drawn" / "sketches" / name)

    summary = build_dataset(
        [tmp_path / "drawn"], tmp_path / "drawn.h5", SIZE, encoding="rgb",
        split=(0.5, 0.25, 0.25), verbose=False,
    )

    assert summary["kept"] == 4 and summary["sketch"] == "drawn"
    assert summary["identity_disjoint"] is False  # no person folders
    rows = 0
    for split in ("train", "val", "test"):
        stored = read_split(tmp_path / "drawn.h5", split)
        for index, name in enumerate(stored["source"].astype(str)):
            photo = read_rgb(photos / Path(name).name)
            # The sketch at the photo's size (cv2 sizes are width, height), then centre-cut.
            on_photo = cv2.resize(sketches[Path(name).name], (72, 48), interpolation=cv2.INTER_AREA)
            np.testing.assert_array_equal(stored["rgb"][index], resized(photo))
            np.testing.assert_array_equal(stored["sketch"][index], resized(on_photo))
            rows += 1
    assert rows == 4
    with h5py.File(tmp_path / "drawn.h5", "r") as file:
        assert not file.attrs["identity_disjoint"]


def test_build_skips_bad_files_and_reports_why(tmp_path):
    photos = _noise_photos(tmp_path / "photos", 3, (40, 50), seed=0)
    Image.fromarray(np.full((40, 40, 3), 128, np.uint8)).save(photos / "flat.png")
    (photos / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 broken")
    Image.open(photos / "0.png").save(photos / "copy.bmp")

    summary = build_dataset([photos], tmp_path / "out.h5", 32, sketch="line", verbose=False)

    assert summary["kept"] == 3
    assert summary["skipped"] == {"constant": 1, "duplicate": 1, "truncated_or_corrupt": 1}
    with h5py.File(tmp_path / "out.h5", "r") as file:
        assert json.loads(file.attrs["counts"])["skipped"] == summary["skipped"]
        assert not file.attrs["identity_disjoint"]  # loose files: no identities to keep apart
        assert file["train"]["sketch"].shape[1:] == (32, 32)
    assert summary["identities"] == 0 and summary["identity_disjoint"] is False


def test_build_names_each_skipped_file_on_stderr(tmp_path, capsys):
    photos = _noise_photos(tmp_path / "photos", 2, (40, 50), seed=0)
    (photos / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 broken")
    Image.fromarray(np.full((40, 40, 3), 128, np.uint8)).save(photos / "flat.png")

    build_dataset([photos], tmp_path / "out.h5", 32, verbose=True)

    errors = capsys.readouterr().err.splitlines()
    assert f"skipped {photos / 'broken.jpg'}: truncated_or_corrupt" in "\n".join(errors)
    assert sum(line.startswith("skipped ") for line in errors) == 2
    assert any(line.startswith(f"skipped {photos / 'flat.png'}: constant") for line in errors)


def test_build_refuses_to_write_over_a_folder_or_a_source_even_with_overwrite(tmp_path, capsys):
    photos = _noise_photos(tmp_path / "photos", 2, (40, 40), seed=0)
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.txt").write_text("years of work")
    with pytest.raises(IsADirectoryError, match="mine: is a folder; OUT is the HDF5 file"):
        build_dataset([photos], tmp_path / "mine", 32, overwrite=True, verbose=False)
    with pytest.raises(ValueError, match="must be outside the source"):
        build_dataset([photos / "0.png"], photos / "0.png", 32, overwrite=True, verbose=False)
    with pytest.raises(ValueError, match="must be outside the source"):
        build_dataset([photos], photos / "out.h5", 32, verbose=False)
    assert (tmp_path / "mine" / "thesis.txt").read_text() == "years of work"
    assert sorted(p.name for p in photos.iterdir()) == ["0.png", "1.png"]
    # The command line says so in one line.
    with pytest.raises(SystemExit) as exited:
        main(["build", str(photos), str(tmp_path / "mine"), "--size", "32", "--overwrite"])
    error = capsys.readouterr().err
    assert exited.value.code == 2
    assert error.startswith("data_prep build: error: ") and "is a folder" in error and error.count("\n") == 1


def test_a_build_that_keeps_no_image_writes_no_file(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("not an image")
    with pytest.raises(SystemExit) as exited:
        main(["build", str(tmp_path / "notes.txt"), str(tmp_path / "out.h5"), "--size", "32"])
    error = capsys.readouterr().err
    assert exited.value.code == 2
    assert f"skipped {tmp_path / 'notes.txt'}: not_an_image" in error
    assert error.endswith(f"data_prep build: error: {tmp_path / 'out.h5'}: not written; none of the 1 images could be used\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_an_unwritable_output_folder_is_named_before_any_work(tmp_path, monkeypatch, capsys):
    photos = _noise_photos(tmp_path / "photos", 2, (40, 40), seed=0)
    locked = tmp_path / "locked"
    locked.mkdir()
    monkeypatch.setattr("os.access", lambda path, mode: Path(path) != locked)  # as for a non-root user
    with pytest.raises(SystemExit) as exited:
        main(["build", str(photos), str(locked / "out.h5"), "--size", "32"])
    assert exited.value.code == 2
    assert capsys.readouterr().err == (
        f"data_prep build: error: {locked / 'out.h5'}: cannot be written; {locked} is not a writable folder\n"
    )
    assert list(locked.iterdir()) == []


def test_a_limit_takes_images_from_every_given_split(tmp_path):
    # Sorted, test/ comes before train/: the first 3 images would all be test images.
    for split, count, seed in (("test", 4, 0), ("train", 8, 1)):
        (tmp_path / "cufs" / split).mkdir(parents=True)
        photos = _noise_photos(tmp_path / "cufs" / split / "photos", count, (40, 40), seed)
        shutil.copytree(photos, tmp_path / "cufs" / split / "sketches")

    summary = build_dataset([tmp_path / "cufs"], tmp_path / "out.h5", 32, limit=3, verbose=False)

    assert summary["kept"] == 3
    assert summary["test"] >= 1 and summary["train"] >= 1


def test_cli_build_prints_a_summary_and_refuses_to_overwrite(tmp_path, capsys):
    photos = _noise_photos(tmp_path / "photos", 4, (48, 48), seed=1)
    out = tmp_path / "cli.h5"
    command = [sys.executable, "-m", "data_prep", "build", str(photos), str(out), "--size", "32",
               "--sketch", "line", "--split", "0.5", "0.25", "0.25", "--encoding", "lab"]

    first = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stderr
    assert f"built {out}" in first.stdout and "kept: 4" in first.stdout
    assert "skipped: none" in first.stdout and "train: 2" in first.stdout
    written = out.read_bytes()

    with pytest.raises(SystemExit) as exited:
        main(command[3:])
    assert exited.value.code == 2 and "exists; pass overwrite" in capsys.readouterr().err
    assert out.read_bytes() == written
    main([*command[3:], "--overwrite"])
    with h5py.File(out, "r") as file:
        assert file.attrs["encodings"] == "lab" and file["val"]["lab"].shape == (1, 32, 32, 3)


def test_standard_builds_what_is_there_and_skips_the_rest(tmp_path, capsys):
    main(["standard", "--shared", str(tmp_path / "nowhere"), "--out", str(tmp_path / "data")])
    assert "not found" in capsys.readouterr().out and not (tmp_path / "data").exists()

    root = shared_path("edges2shoes")
    shared = tmp_path / "shared"
    link_tree(sorted(root.glob("*.jpg"))[:3], root, shared / "edges2shoes")
    first = build_standard(shared, tmp_path / "data", verbose=False)
    second = build_standard(shared, tmp_path / "data", verbose=False)

    assert first["edges2shoes.h5"]["kept"] == 3
    assert "not found" in first["lfw128.h5"] and "not found" in first["cufs.h5"]
    assert "exists" in second["edges2shoes.h5"]
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == ["edges2shoes.h5"]


def test_demo_prepares_the_samples_and_plots_them(tmp_path):
    paths = run_demo(tmp_path / "demo", size=48, verbose=False)
    rerun = run_demo(tmp_path / "demo", size=48, overwrite=True, verbose=False)

    assert rerun == paths
    assert len(list(paths["photos"].glob("*.png"))) == 6
    with h5py.File(paths["dataset"], "r") as file:
        assert file.attrs["sketch"] == "pencil"
        assert sum(len(file[s]["rgb"]) for s in ("train", "val", "test")) == 6
    grid = np.asarray(Image.open(paths["grid"]))
    assert grid.shape[0] > grid.shape[1] > 300  # 6 rows of 4 panels
    assert grid[..., :3].std() > 20  # pictures, not a blank canvas


def test_demo_never_overwrites_a_folder_in_use_unless_asked(tmp_path, capsys):
    used = tmp_path / "used"
    used.mkdir()
    (used / "samples.h5").write_text("someone's dataset\n")

    with pytest.raises(SystemExit) as exited:
        main(["demo", "--out", str(used), "--size", "32"])
    assert exited.value.code == 2 and re.search("not empty.*--overwrite", capsys.readouterr().err)
    with pytest.raises(FileExistsError, match="not empty"):
        run_demo(used, size=32, verbose=False)

    assert [p.name for p in used.iterdir()] == ["samples.h5"]
    assert (used / "samples.h5").read_text() == "someone's dataset\n"
