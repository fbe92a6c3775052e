"""tf.data pipelines: sources, element formats, paired augmentation, determinism."""

import tracemalloc

import cv2
import h5py
import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image
from skimage import color as skcolor

from keras_colorize import augment, color, data, hdf5
from keras_colorize.datasets import build_dataset
from keras_colorize.errors import DataSourceError

SIZE = 48

# What each format documents: (input channels, input range), (target channels, target range).
FORMATS = {
    "l_ab_unit": ((1, (0, 1)), (2, (0, 1))),
    "l_lab_unit": ((1, (0, 1)), (3, (0, 1))),
    "l_ab_signed": ((1, (0, 1)), (2, (-1, 1))),
    "l_ab": ((1, (0, 1)), (2, (-128, 127))),
    "gray_rgb": ((3, (0, 1)), (3, (0, 1))),
    "sketch_rgb": ((3, (0, 1)), (3, (0, 1))),
    "sketch_rgb_tanh": ((3, (-1, 1)), (3, (-1, 1))),
}


def smooth_photos(count, size=SIZE, seed=0):
    """Colourful images with structure at several scales, so misalignment shows."""
    rng = np.random.default_rng(seed)
    coarse = rng.uniform(0, 1, (count, 6, 6, 3)).astype(np.float32)
    fine = rng.uniform(-0.15, 0.15, (count, size // 4, size // 4, 3)).astype(np.float32)
    photos = tf.image.resize(coarse, (size, size), "bicubic") + tf.image.resize(fine, (size, size))
    return np.round(np.clip(photos.numpy(), 0, 1) * 255).astype(np.uint8)


def sketch_of(photos):
    """A stand-in sketch drawn from the photo: its lightness, one uint8 channel."""
    gray = color.rgb_to_gray(photos.astype(np.float32) / 255.0).numpy()[..., 0]
    return np.round(gray * 255).astype(np.uint8)


@pytest.fixture(scope="module")
def photos():
    return smooth_photos(6)


@pytest.fixture(scope="module")
def source(photos):
    return data.from_arrays(photos, sketch_of(photos))


def first_batch(source, element_format, batch_size=4, **options):
    """The first (input, target) batch of a pipeline, unshuffled unless asked, as numpy."""
    options.setdefault("shuffle", False)
    dataset = data.make_dataset(source, element_format, batch_size, **options)
    inputs, target = next(iter(dataset))
    return inputs.numpy(), target.numpy()


@pytest.fixture(scope="module")
def photo_folder(tmp_path_factory, photos):
    folder = tmp_path_factory.mktemp("photos")
    for index, photo in enumerate(photos):
        Image.fromarray(photo).save(folder / f"photo_{index}.png")
    return folder


def build(photo_folder, path, **options):
    """An HDF5 file made by `data_prep build`, at the photos' own size."""
    build_dataset([photo_folder], path, SIZE, verbose=False, split=(0.5, 0.25, 0.25), **options)
    return path


def stored_photos(path, split, folder):
    """The photos a file's split should hold, in its row order, found by their `source` names."""
    with h5py.File(path) as file:
        names = file[split]["source"].asstr()[:]
    return np.stack([np.asarray(Image.open(folder / name)) for name in names])


# --- element formats -------------------------------------------------------------------------


def test_every_documented_format_is_registered():
    assert data.element_formats() == sorted(FORMATS)


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_format_shapes_dtypes_and_ranges(source, name):
    inputs, target = first_batch(source, name)
    (input_channels, (input_low, input_high)), (target_channels, (target_low, target_high)) = (
        FORMATS[name]
    )
    assert inputs.shape == (4, SIZE, SIZE, input_channels) and inputs.dtype == np.float32
    assert target.shape == (4, SIZE, SIZE, target_channels) and target.dtype == np.float32
    assert input_low <= inputs.min() and inputs.max() <= input_high
    assert target_low <= target.min() and target.max() <= target_high
    # The synthetic photos are colourful: each range is actually used, not collapsed.
    assert target.max() - target.min() > 0.3 * (target_high - target_low)


def test_lab_formats_agree_with_skimage(source, photos):
    reference = skcolor.rgb2lab(photos[:4])
    pairs = {
        name: first_batch(source, name)
        for name in ("l_ab_unit", "l_lab_unit", "l_ab_signed", "l_ab")
    }
    decoded_ab = {
        "l_ab_unit": pairs["l_ab_unit"][1] * 255 - 128,
        "l_lab_unit": pairs["l_lab_unit"][1][..., 1:] * 255 - 128,
        "l_ab_signed": pairs["l_ab_signed"][1] * 128,
        "l_ab": pairs["l_ab"][1],
    }
    for name, (lightness, _) in pairs.items():
        np.testing.assert_allclose(lightness[..., 0] * 100, reference[..., 0], atol=0.01)
        np.testing.assert_allclose(decoded_ab[name], reference[..., 1:], atol=0.01)
    np.testing.assert_array_equal(pairs["l_lab_unit"][1][..., :1], pairs["l_lab_unit"][0])


def test_gray_input_has_the_photo_lightness_and_no_colour(source, photos):
    gray, rgb = first_batch(source, "gray_rgb", 4)
    np.testing.assert_allclose(rgb, photos[:4] / 255.0, atol=1e-6)
    gray_lab = skcolor.rgb2lab(gray)
    np.testing.assert_allclose(gray_lab[..., 0], skcolor.rgb2lab(photos[:4])[..., 0], atol=0.05)
    assert np.abs(gray_lab[..., 1:]).max() < 0.05


def test_sketch_formats_replicate_the_sketch(source, photos):
    sketch, rgb = first_batch(source, "sketch_rgb", 4)
    expected = sketch_of(photos[:4]) / 255.0
    for channel in range(3):
        np.testing.assert_allclose(sketch[..., channel], expected, atol=1e-6)
    sketch_tanh, rgb_tanh = first_batch(source, "sketch_rgb_tanh", 4)
    np.testing.assert_allclose(sketch_tanh, sketch * 2 - 1, atol=1e-6)
    np.testing.assert_allclose(rgb_tanh, rgb * 2 - 1, atol=1e-6)


def test_bad_format_requests_are_clear(photos):
    no_sketch = data.from_arrays(photos)
    with pytest.raises(ValueError, match="needs \\['sketch'\\]"):
        data.make_dataset(no_sketch, "sketch_rgb", 2)
    with pytest.raises(ValueError, match="unknown element format"):
        data.make_dataset(no_sketch, "lab", 2)
    with pytest.raises(ValueError, match="unknown augmentation"):
        data.make_dataset(no_sketch, "l_ab", 2, augment="flip")


# --- augmentation ----------------------------------------------------------------------------


def test_gan_augmentation_transforms_before_formatting(source, photos):
    """Formats are computed from the augmented photo, so gray input and target share pixels."""
    geometric = augment.RandomAffine(noise_stddev=0.0)
    gray, rgb = first_batch(source, "gray_rgb", 6, augment=geometric)
    assert np.abs(rgb - photos / 255.0).mean() > 0.03  # the transform really moved the pixels
    np.testing.assert_allclose(gray, color.rgb_to_gray(rgb), atol=1e-5)


def test_gan_noise_goes_on_the_input_only(source):
    def pair(augmentation):
        return first_batch(source, "l_lab_unit", 6, augment=augmentation)

    noisy_input, noisy_target = pair(augment.RandomAffine(noise_stddev=0.05))
    clean_input, clean_target = pair(augment.RandomAffine(noise_stddev=0.0))
    np.testing.assert_array_equal(noisy_target, clean_target)
    noise = (noisy_input - clean_input)[(clean_input > 0.2) & (clean_input < 0.8)]
    assert abs(noise.std() - 0.05) < 0.005 and abs(noise.mean()) < 0.005
    # Without noise the L channel of the target is exactly the input: one transform for both.
    np.testing.assert_array_equal(clean_target[..., :1], clean_input)


@pytest.mark.parametrize("name", ["pix2pix", "gan", "elastic"])
def test_augmented_sketch_stays_aligned_with_its_photo(source, photos, name):
    augmentation = augment.get(name)
    augmentation.sketch_gamma = 1.0  # the stand-in sketch is the photo's gray only at its tone
    sketch, rgb = first_batch(source, "sketch_rgb", 6, augment=augmentation)
    redrawn = color.rgb_to_gray(rgb).numpy()
    assert np.abs(sketch - redrawn).mean() < 0.01 + augmentation.noise_stddev
    assert np.abs(sketch - np.flip(redrawn, axis=2)).mean() > 0.03


def test_sketch_tone_varies_the_sketch_only_and_keeps_its_order(source, photos):
    still = augment.RandomAffine(rotation=0, shear=0, zoom=0, shift=0, noise_stddev=0.0)
    retone = augment.RandomElastic(amplitude=0.0, then=still, sketch_gamma=2.0)
    sketch, rgb = first_batch(source, "sketch_rgb", 6, augment=retone)
    np.testing.assert_allclose(rgb, photos / 255.0, atol=1e-4)
    original = sketch_of(photos) / 255.0
    gammas = []
    for toned, drawn in zip(sketch[..., 0], original):
        mid = (drawn > 0.05) & (drawn < 0.95)
        gamma = np.median(np.log(toned[mid]) / np.log(drawn[mid]))
        # One power per sketch, within [1/2, 2]: it maps every gray alike.
        np.testing.assert_allclose(toned, drawn**gamma, atol=2e-3)
        assert 0.5 - 1e-3 <= gamma <= 2.0 + 1e-3
        gammas.append(gamma)
    assert min(gammas) < 0.9 and max(gammas) > 1.1  # some darker, some lighter


def test_pix2pix_jitter_crops_and_mirrors(photos):
    jitter = augment.RandomJitter(mirror=True)
    image = tf.constant(photos[0] / 255.0, tf.float32)
    outputs = [jitter(image, tf.constant([seed, 0], tf.int64)).numpy() for seed in range(12)]
    assert all(output.shape == image.shape for output in outputs)
    assert len({output.tobytes() for output in outputs}) == len(outputs)
    # Mirrored draws look like the flipped photo: compare against both orientations.
    flipped = np.flip(image.numpy(), axis=1)
    mirrored = [np.abs(o - flipped).mean() < np.abs(o - image.numpy()).mean() for o in outputs]
    assert 0 < sum(mirrored) < len(outputs)


def test_affine_map_is_centred(photos):
    image = tf.constant(photos[0] / 255.0, tf.float32)
    still = augment.RandomAffine(rotation=0, shear=0, zoom=0, shift=0)
    np.testing.assert_allclose(still(image, tf.constant([0, 0], tf.int64)), image, atol=1e-5)
    # A centred round blob is unchanged by rotation about the centre, whatever the angle
    # (a blob 2 pixels off centre changes by 0.014 to 0.045 here).
    y, x = np.mgrid[:SIZE, :SIZE] - (SIZE - 1) / 2
    blob = np.exp(-(x**2 + y**2) / (2 * (SIZE / 6) ** 2))[..., None].astype(np.float32)
    turn = augment.RandomAffine(rotation=90, shear=0, zoom=0, shift=0)
    for seed in range(3):
        turned = turn(tf.constant(blob), tf.constant([seed, 2], tf.int64)).numpy()
        assert np.abs(turned - blob).mean() < 0.005


def test_elastic_warp_moves_pixels_smoothly_by_about_its_amplitude():
    """On a ramp whose value is the column index, the output is where each pixel came from."""
    size, amplitude = 128, 4.0  # the shipped sketch inverter's
    ramps = np.stack(np.meshgrid(np.arange(size), np.arange(size), indexing="ij"), axis=-1)
    still = augment.RandomAffine(rotation=0, shear=0, zoom=0, shift=0, noise_stddev=0.0)
    warp = augment.RandomElastic(amplitude=amplitude, then=still)
    unmoved = augment.RandomElastic(amplitude=0.0, then=still)
    image = tf.constant(ramps, tf.float32)
    np.testing.assert_allclose(unmoved(image, tf.constant([0, 0], tf.int64)), image, atol=1e-4)
    inner = slice(8, -8)  # away from the reflected border
    for seed in range(3):
        moved = (warp(image, tf.constant([seed, 3], tf.int64)).numpy() - ramps)[inner, inner]
        # Bicubic weights sum to at most 1.25 in absolute value per axis, so it can overshoot.
        assert 1.0 < np.abs(moved).max() <= amplitude * 1.25**2
        # Smooth: neighbours move less than a pixel apart, so the warp never folds the image.
        assert np.abs(np.diff(moved, axis=0)).max() < 1.0
        assert np.abs(np.diff(moved, axis=1)).max() < 1.0


def test_elastic_warp_moves_rows_and_columns_by_independent_fields():
    """Rows and columns each get their own random displacement field: a warp that moved both
    by one field would only ever shift pixels along the diagonal."""
    size = 128
    ramps = np.stack(np.meshgrid(np.arange(size), np.arange(size), indexing="ij"), axis=-1)
    still = augment.RandomAffine(rotation=0, shear=0, zoom=0, shift=0, noise_stddev=0.0)
    warp = augment.RandomElastic(amplitude=4.0, then=still)
    inner = slice(8, -8)
    for seed in range(3):
        moved = (warp(tf.constant(ramps, tf.float32), tf.constant([seed, 3], tf.int64)).numpy()
                 - ramps)[inner, inner]
        row_shift, column_shift = moved[..., 0].ravel(), moved[..., 1].ravel()
        assert np.abs(row_shift).mean() > 1.0 and np.abs(column_shift).mean() > 1.0
        # Measured 2.1 to 2.5 pixels apart on average, correlation -0.33 to 0.12.
        assert np.abs(row_shift - column_shift).mean() > 1.0
        assert abs(np.corrcoef(row_shift, column_shift)[0, 1]) < 0.7


def test_affine_fill_reflects_instead_of_painting_black():
    white = tf.ones((32, 32, 3))
    strong = augment.RandomAffine(rotation=45, shear=20, zoom=0.3, shift=0.3)
    for seed in range(5):
        np.testing.assert_allclose(strong(white, tf.constant([seed, 1], tf.int64)), 1.0, atol=1e-5)


@pytest.mark.parametrize("name", ["gray_rgb", "sketch_rgb_tanh", "l_lab_unit"])
def test_input_noise_is_clipped_into_the_format_input_range(name):
    """On black and white photos half of the noise points out of range: it must be clipped
    there (inputs pile up exactly on the bounds), not leave values a model never saw."""
    photos = np.zeros((4, 16, 16, 3), np.uint8)
    photos[:, :, 8:] = 255  # left half black, right half white
    source = data.from_arrays(photos, sketch_of(photos))
    low, high = data.get_format(name).input_range

    def inputs(noise_stddev):
        still = augment.RandomAffine(rotation=0, shear=0, zoom=0, shift=0, noise_stddev=noise_stddev)
        return first_batch(source, name, 4, augment=still)[0]

    noisy, clean = inputs(0.1), inputs(0.0)
    np.testing.assert_allclose(np.unique(clean), [low, high], atol=1e-5)  # the premise
    assert low <= noisy.min() and noisy.max() <= high
    at_bound = np.isclose(noisy, np.where(clean < (low + high) / 2, low, high), atol=1e-6)
    # Noise really was added (about half moved inwards) and clipped (the other half).
    assert 0.4 < at_bound.mean() < 0.6
    assert np.abs(noisy - clean)[~at_bound].mean() > 0.05


# --- determinism -----------------------------------------------------------------------------


def all_batches(dataset):
    return [(inputs.numpy(), target.numpy()) for inputs, target in dataset]


def test_same_seed_gives_identical_batches_and_epochs_differ(source):
    def pipeline(seed):
        return data.make_dataset(source, "l_ab_unit", 2, augment="gan", shuffle=True, seed=seed,
                                 shuffle_buffer=6)

    first_run, second_run = pipeline(3), pipeline(3)
    epoch_one = all_batches(first_run)
    for (a_input, a_target), (b_input, b_target) in zip(epoch_one, all_batches(second_run)):
        np.testing.assert_array_equal(a_input, b_input)
        np.testing.assert_array_equal(a_target, b_target)
    assert not np.array_equal(epoch_one[0][1], all_batches(pipeline(4))[0][1])
    assert not np.array_equal(epoch_one[0][1], all_batches(first_run)[0][1])
    assert first_run.options().autotune.enabled is False


# --- sources: HDF5 ---------------------------------------------------------------------------


def test_from_hdf5_reads_rgb_and_sketch(tmp_path, photo_folder):
    path = build(photo_folder, tmp_path / "pencil.h5", sketch="pencil")
    with h5py.File(path) as file:
        stored_sketches = file["train/sketch"][:]
        rows = {split: len(file[split]["source"]) for split in ("train", "val", "test")}
    # Blocks of 2 rows, so the 3-row split ends with a partial block.
    train = list(data.from_hdf5(path, "train", block_size=2).as_numpy_iterator())
    assert len(train) == rows["train"] == 3
    assert data.from_hdf5(path, "test").cardinality() == rows["test"] > 0
    photos = stored_photos(path, "train", photo_folder)
    np.testing.assert_allclose(np.stack([s["rgb"] for s in train]), photos / 255.0, atol=1e-6)
    sketches = np.stack([s["sketch"] for s in train])
    np.testing.assert_allclose(sketches, stored_sketches[..., None] / 255.0, atol=1e-6)
    # Known cardinality survives the pipeline, so `fit` knows its steps per epoch.
    pairs = data.make_dataset(data.from_hdf5(path, "train"), "sketch_rgb", 2, augment="gan")
    assert pairs.cardinality() == 2


def _hand_written_hdf5(path, rows, size=4):
    """A keras-colorize file written with h5py alone: every row's pixels encode its index."""
    index = np.arange(rows)
    rgb = np.stack([index % 256, index // 256, 255 - index % 256], axis=-1).astype(np.uint8)
    rgb = np.broadcast_to(rgb[:, None, None, :], (rows, size, size, 3)).copy()
    rgb[:, 0, 0, :] = 7  # and one pixel that is the same everywhere
    sketch = np.broadcast_to((index * 3 % 256).astype(np.uint8)[:, None, None], (rows, size, size))
    with h5py.File(path, "w") as file:
        file.attrs.update(format=hdf5.FORMAT, version=hdf5.VERSION, image_size=size)
        file.create_dataset("train/rgb", data=rgb, chunks=(1, size, size, 3))
        file.create_dataset("train/sketch", data=sketch)
    return rgb, sketch


@pytest.mark.parametrize("block_size", [64, 7, 1, 149])
def test_from_hdf5_reads_every_row_of_a_split_longer_than_a_block(tmp_path, block_size):
    """150 rows in whole blocks and a last partial one (of 22 rows for the default 64, of one
    row for 149): every row comes back once, in order, the last of each block included."""
    rgb, sketch = _hand_written_hdf5(tmp_path / "long.h5", 150)
    samples = list(data.from_hdf5(tmp_path / "long.h5", block_size=block_size).as_numpy_iterator())
    assert len(samples) == 150
    np.testing.assert_array_equal(np.round(np.stack([s["rgb"] for s in samples]) * 255), rgb)
    sketches = np.stack([s["sketch"] for s in samples])[..., 0]
    np.testing.assert_array_equal(np.round(sketches * 255), sketch)


def test_from_hdf5_decodes_lab_only_files_like_skimage(tmp_path, photo_folder):
    path = build(photo_folder, tmp_path / "lab.h5", encoding="lab")
    samples = list(data.from_hdf5(path).as_numpy_iterator())
    assert set(samples[0]) == {"rgb"}
    with h5py.File(path) as file:
        stored = file["train/lab"][:].astype(np.float64)
    stored_lab = np.concatenate([stored[..., :1] * 100 / 255, stored[..., 1:] - 128], axis=-1)
    reference = skcolor.lab2rgb(stored_lab)
    np.testing.assert_allclose(np.stack([s["rgb"] for s in samples]), reference, atol=2e-3)
    photos = stored_photos(path, "train", photo_folder)
    assert np.abs(reference - photos / 255.0).mean() < 0.01


def test_from_hdf5_streams_instead_of_loading_the_split(tmp_path, photo_folder):
    """A 100,000-row split (690 MB of pixels, mostly unwritten chunks) yields rows at once."""
    path = build(photo_folder, tmp_path / "huge.h5", encoding="rgb")
    photos = stored_photos(path, "train", photo_folder)
    with h5py.File(path, "a") as file:
        for column in file["train"].values():  # every column, or the file is refused
            column.resize(100_000, axis=0)
        # A file must store 1/10,000 of the bytes it declares (`hdf5.LEAST_STORED_FRACTION`):
        # a few rows of noise, which does not compress.
        noise = np.random.default_rng(0).integers(0, 256, (8, *file["train/rgb"].shape[1:]), dtype=np.uint8)
        file["train/rgb"][1000:1008] = noise
    assert path.stat().st_size < 1_000_000
    tracemalloc.start()  # before from_hdf5: reading the split there would count too
    dataset = data.from_hdf5(path, "train")
    assert dataset.cardinality() == 100_000
    first = [sample["rgb"] for sample in dataset.take(3).as_numpy_iterator()]
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    np.testing.assert_allclose(first, photos[:3] / 255, atol=1e-6)
    assert peak < 50_000_000


def test_from_hdf5_names_the_file_and_the_problem(tmp_path, photo_folder):
    cases = {"missing": tmp_path / "absent.h5"}
    cases["not_hdf5"] = tmp_path / "notes.h5"
    cases["not_hdf5"].write_text("not an HDF5 file")
    cases["not_keras_colorize"] = tmp_path / "other.h5"
    with h5py.File(cases["not_keras_colorize"], "w") as file:
        file.create_dataset("x", data=np.zeros(3))
    for reason, path in cases.items():
        with pytest.raises(DataSourceError, match=reason) as raised:
            data.from_hdf5(path)
        assert raised.value.reason == reason and str(path) in str(raised.value)
    path = build(photo_folder, tmp_path / "ok.h5")
    with pytest.raises(DataSourceError, match="no split 'validation'.*'train'"):
        data.from_hdf5(path, "validation")


@pytest.mark.parametrize(
    "edit", ["fewer sketch rows", "sketch of another size", "float photos", "fewer names"]
)
def test_from_hdf5_refuses_columns_that_do_not_fit_together(tmp_path, edit):
    """A hand-edited file is named at once, not by an IndexError from a generator mid-epoch."""
    path = tmp_path / "edited.h5"
    rgb, sketch = _hand_written_hdf5(path, 10)
    column, replacement, detail = {
        "fewer sketch rows": ("sketch", sketch[:6], "is uint8 (6, 4, 4)"),
        "sketch of another size": ("sketch", np.zeros((10, 3, 3), np.uint8), "is uint8 (10, 3, 3)"),
        "float photos": ("rgb", rgb / 255.0, "is float64 (10, 4, 4, 3)"),
        "fewer names": ("source", np.array(["a.png"] * 9, dtype=object), "names 9 files for 10"),
    }[edit]
    with h5py.File(path, "a") as file:
        if column in file["train"]:
            del file[f"train/{column}"]
        file.create_dataset(f"train/{column}", data=replacement)
    with pytest.raises(DataSourceError, match="edited.h5: inconsistent_columns") as raised:
        data.from_hdf5(path)
    assert f"(train/{column} {detail}" in str(raised.value)


def test_resize_samples_brings_every_image_to_the_model_size(source):
    assert data.resize_samples(source, SIZE) is source
    colour = np.array([10, 120, 250], np.uint8)
    flat = data.from_arrays(np.broadcast_to(colour, (2, 40, 60, 3)), np.zeros((2, 40, 60)))
    resized = list(data.resize_samples(flat, 24).as_numpy_iterator())
    assert resized[0]["rgb"].shape == (24, 24, 3) and resized[0]["sketch"].shape == (24, 24, 1)
    np.testing.assert_allclose(resized[0]["rgb"], np.tile(colour / 255, (24, 24, 1)), atol=1e-5)


# --- sources: image folders ------------------------------------------------------------------


def test_from_folder_crops_the_centre_square_and_skips_broken_files(tmp_path):
    stripes = np.zeros((30, 90, 3), np.uint8)
    stripes[:, :30], stripes[:, 30:60], stripes[:, 60:] = (255, 0, 0), (0, 200, 0), (0, 0, 255)
    Image.fromarray(stripes).save(tmp_path / "wide.png")
    Image.fromarray(np.transpose(stripes, (1, 0, 2))).save(tmp_path / "tall.png")
    (tmp_path / "nested").mkdir()
    Image.fromarray(np.full((20, 20, 3), 90, np.uint8)).save(tmp_path / "nested" / "gray.jpg")
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    skipped = {}
    source = data.from_folder(tmp_path, 16, skipped=skipped)
    assert list(skipped) == [str(tmp_path / "broken.jpg")]  # found before the first epoch
    assert source.cardinality() == 3
    samples = list(source.as_numpy_iterator())
    assert len(samples) == 3
    assert skipped[str(tmp_path / "broken.jpg")].reason == "truncated_or_corrupt"
    for sample in samples:
        assert sample["rgb"].shape == (16, 16, 3) and sample["rgb"].dtype == np.float32
    green = np.array([0, 200 / 255, 0])
    np.testing.assert_allclose(samples[1]["rgb"], np.broadcast_to(green, (16, 16, 3)), atol=1e-5)
    np.testing.assert_allclose(samples[2]["rgb"], np.broadcast_to(green, (16, 16, 3)), atol=1e-5)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataSourceError, match="no_images"):
        data.from_folder(tmp_path / "empty", 16)
    (tmp_path / "only_broken").mkdir()
    (tmp_path / "only_broken" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    with pytest.raises(DataSourceError, match="none of its 1 image files can be read"):
        data.from_folder(tmp_path / "only_broken", 16)
    with pytest.raises(DataSourceError, match="missing"):
        data.from_folder(tmp_path / "absent", 16)


def _caches(dataset):
    return b"CacheDataset" in dataset._as_serialized_graph().numpy()


def test_cached_pipeline_gives_the_same_batches_and_its_size_is_counted(monkeypatch):
    rgb = np.random.default_rng(0).integers(0, 256, (10, 8, 8, 3), dtype=np.uint8)
    source = data.from_arrays(rgb)
    plain = data.make_dataset(source, "l_ab_unit", 4, seed=3)
    cached = data.make_dataset(source, "l_ab_unit", 4, seed=3, cache="auto")
    assert _caches(cached) and not _caches(plain)
    for _ in range(2):  # the second pass reads the cache
        plain_batches, cached_batches = list(plain.as_numpy_iterator()), list(cached.as_numpy_iterator())
        assert len(plain_batches) == len(cached_batches) == 3
        for (x1, y1), (x2, y2) in zip(plain_batches, cached_batches):
            np.testing.assert_array_equal(x1, x2)
            np.testing.assert_array_equal(y1, y2)
    pairs = source.map(data.get_format("l_ab_unit").to_pair)
    assert data.cached_bytes(pairs) == 10 * 8 * 8 * (1 + 2) * 4
    monkeypatch.setattr(data, "CACHE_BUDGET_BYTES", data.cached_bytes(pairs) - 1)
    assert not _caches(data.make_dataset(source, "l_ab_unit", 4, seed=3, cache="auto"))


def test_resize_samples_antialiases_only_when_shrinking():
    rng = np.random.default_rng(0)
    small = data.from_arrays(rng.integers(0, 256, (1, 20, 30, 3), np.uint8), np.zeros((1, 20, 30)))
    enlarged = next(data.resize_samples(small, 48).as_numpy_iterator())["rgb"]
    square = tf.image.convert_image_dtype(small.take(1).get_single_element()["rgb"], tf.float32)
    bilinear = keras.ops.image.resize(square, (48, 48), crop_to_aspect_ratio=True)
    np.testing.assert_allclose(enlarged, np.clip(bilinear, 0, 1), atol=1e-5)
    # Shrinking noise 4x: plain bilinear samples single pixels and keeps their full spread
    # (about 0.10 from an area average); antialiased, it stays close to OpenCV's area average.
    noise = rng.integers(0, 256, (1, 96, 96, 3), np.uint8)
    shrunk = next(data.resize_samples(data.from_arrays(noise), 24).as_numpy_iterator())["rgb"]
    area = cv2.resize(noise[0], (24, 24), interpolation=cv2.INTER_AREA) / 255
    assert np.abs(shrunk - area).mean() < 0.05
