"""data_prep clean: each kind of bad file is rejected with its reason; the source is untouched."""

import csv
import random

import cv2
import numpy as np
import pytest
import skimage.data
from PIL import Image

from conftest import shared_path
from data_prep.clean import clean_folder
from keras_colorize.image_checks import ImageChecker, is_grayscale, is_near_constant
from keras_colorize.images import ImageError, read_rgb

# file name -> the reason `clean` must give (None: kept)
EXPECTED = {
    "a_original.png": None,
    "b_copy.bmp": "duplicate",
    "corrupt.png": "truncated_or_corrupt",
    "truncated.jpg": "truncated_or_corrupt",
    "empty.jpg": "empty",
    "notes.jpg": "not_an_image",
    "readme.txt": "not_an_image",
    "cmyk.jpg": "cmyk",
    "gray16.png": "16_bit",
    "rgb16.png": "16_bit",
    "rgba.png": "alpha",
    "palette_transparent.png": "alpha",
    "float.tif": "unsupported_mode",
    "gray_mode.png": "grayscale",
    "gray_rgb.jpg": "grayscale",
    "tiny.png": "too_small",
    "black.png": "constant",
    "white.jpg": "constant",
    "sub/other.jpg": None,
}


@pytest.fixture
def messy_folder(tmp_path):
    """One file of each kind `clean` must tell apart."""
    folder = tmp_path / "messy"
    (folder / "sub").mkdir(parents=True)
    photo = cv2.resize(skimage.data.astronaut(), (64, 64), interpolation=cv2.INTER_AREA)
    Image.fromarray(photo).save(folder / "a_original.png")
    Image.fromarray(photo).save(folder / "b_copy.bmp")
    Image.fromarray(skimage.data.coffee()[:80, :80]).save(folder / "sub" / "other.jpg")

    png = (folder / "a_original.png").read_bytes()
    middle = len(png) // 2
    (folder / "corrupt.png").write_bytes(png[:middle] + bytes(64) + png[middle + 64 :])
    Image.fromarray(skimage.data.chelsea()).save(folder / "full.jpg")
    jpeg = (folder / "full.jpg").read_bytes()
    (folder / "full.jpg").unlink()
    (folder / "truncated.jpg").write_bytes(jpeg[: len(jpeg) // 2])
    (folder / "empty.jpg").write_bytes(b"")
    (folder / "notes.jpg").write_text("these are not pixels\n")
    (folder / "readme.txt").write_text("a text file among the images\n")

    Image.fromarray(photo).convert("CMYK").save(folder / "cmyk.jpg")
    Image.fromarray(photo[..., 0].astype(np.uint16) * 257).save(folder / "gray16.png")
    cv2.imwrite(str(folder / "rgb16.png"), photo[..., ::-1].astype(np.uint16) * 257)
    Image.fromarray(photo).convert("RGBA").save(folder / "rgba.png")
    palette = Image.fromarray(photo).convert("P")
    palette.save(folder / "palette_transparent.png", transparency=0)
    Image.fromarray(photo[..., 0].astype(np.float32)).save(folder / "float.tif")

    Image.fromarray(photo).convert("L").save(folder / "gray_mode.png")
    gray = cv2.cvtColor(photo, cv2.COLOR_RGB2GRAY)
    Image.fromarray(np.repeat(gray[..., None], 3, -1)).save(folder / "gray_rgb.jpg", quality=90)
    Image.fromarray(photo[:16, :16]).save(folder / "tiny.png")
    Image.fromarray(np.zeros((64, 64, 3), np.uint8)).save(folder / "black.png")
    Image.fromarray(np.full((64, 64, 3), 255, np.uint8)).save(folder / "white.jpg")
    assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.*")) == sorted(EXPECTED)
    return folder


def snapshot(folder):
    """Every file's bytes and modification time."""
    return {
        path: (path.read_bytes(), path.stat().st_mtime_ns)
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def test_clean_rejects_each_bad_kind_with_its_reason(messy_folder, tmp_path):
    before = snapshot(messy_folder)

    summary = clean_folder(messy_folder, tmp_path / "report", verbose=False)

    kept = (tmp_path / "report" / "kept.txt").read_text().splitlines()
    with open(tmp_path / "report" / "rejects.tsv", newline="") as report:
        rejects = list(csv.DictReader(report, delimiter="\t"))
    reasons = {row["path"]: row["reason"] for row in rejects}
    for name, reason in EXPECTED.items():
        path = str(messy_folder / name)
        assert reasons.get(path) == reason, name
        assert (path in kept) == (reason is None), name
    assert all(row["detail"] for row in rejects)
    assert reasons[str(messy_folder / "b_copy.bmp")] == "duplicate"
    assert "a_original.png" in next(r["detail"] for r in rejects if r["reason"] == "duplicate")

    expected_counts = {}
    for reason in EXPECTED.values():
        if reason:
            expected_counts[reason] = expected_counts.get(reason, 0) + 1
    assert summary["kept"] == 2 and summary["skipped"] == expected_counts
    assert snapshot(messy_folder) == before


def test_clean_refuses_an_output_folder_that_is_in_use(messy_folder, tmp_path):
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "kept.txt").write_text("someone's list\n")
    with pytest.raises(FileExistsError, match="not empty"):
        clean_folder(messy_folder, tmp_path / "used", verbose=False)
    assert (tmp_path / "used" / "kept.txt").read_text() == "someone's list\n"


def test_allow_gray_keeps_gray_images_for_gray_sets(messy_folder):
    checker = ImageChecker(allow_gray=True)
    assert checker.check(messy_folder / "gray_mode.png").shape == (64, 64, 3)


def test_gray_detector_finds_the_listed_lfw_gray_images():
    lfw = shared_path("lfw")
    listed = (lfw / "grayscale_images.txt").read_text().split()
    gray_set = set(listed)
    people = sorted(p for p in (lfw / "images").iterdir() if p.is_dir())
    picker = random.Random(0)
    colour = []
    while len(colour) < 30:
        path = picker.choice(sorted(picker.choice(people).glob("*.jpg")))
        name = path.relative_to(lfw).as_posix()
        if name not in gray_set:
            colour.append(name)

    for name in picker.sample(listed, 12):
        assert is_grayscale(read_rgb(lfw / name)), name
    for name in colour:
        assert not is_grayscale(read_rgb(lfw / name)), name
    # A tinted (sepia-like) old photo is colour, not gray.
    assert not is_grayscale(read_rgb(lfw / "images/Elvis_Presley/Elvis_Presley_0002.jpg"))


def test_an_image_is_constant_only_when_every_channel_is_flat():
    rng = np.random.default_rng(0)
    varied = rng.integers(0, 256, (48, 48, 3), dtype=np.uint8)
    # Red clipped flat at 255 (a saturated photo), green and blue varied: a picture.
    one_flat_channel = varied.copy()
    one_flat_channel[..., 0] = 255
    # One colour up to noise of a level or so (std below 2 in every channel).
    noisy_flat = np.clip(120 + rng.integers(-2, 3, (48, 48, 3)), 0, 255).astype(np.uint8)
    assert noisy_flat.reshape(-1, 3).std(axis=0).max() <= 2.0  # numpy's std, the reference

    assert is_near_constant(noisy_flat) and not is_near_constant(one_flat_channel)
    checker = ImageChecker()
    checker.check_content(one_flat_channel, "saturated.png")  # kept: no ImageError
    with pytest.raises(ImageError, match="flat.png: constant"):
        checker.check_content(noisy_flat, "flat.png")
