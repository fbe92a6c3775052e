"""What every data_prep folder step shares: safe output folders and one image in, named images
out, counted by a `keras_colorize.progress.Tally`."""

from pathlib import Path

from keras_colorize.files import EVERY_FILE, prepare_output
from keras_colorize.images import OUTPUT_SUFFIX, ImageError, free_output_name, list_images, write_image
from keras_colorize.progress import Tally


def new_output_folder(out, overwrite=False, remedy="choose a new output folder", source=None):
    """Create `out`; refuse one that already holds files unless `overwrite`, or that lies in
    `source` (`files.prepare_output`).

    `remedy` ends the refusal's message: what the user can do instead.
    """
    out = prepare_output(out, overwrite, hint="pass a folder", outputs=EVERY_FILE, remedy=remedy, source=source)
    out.mkdir(parents=True, exist_ok=True)
    return out


def prepare_output_folder(out, source):
    """Create `out` for a step's files; refuse one that could mix with or overwrite anything."""
    if Path(source).is_file():
        raise NotADirectoryError(f"{source}: is a file; this step takes a folder of images")
    if not Path(source).is_dir():
        raise FileNotFoundError(f"{source}: no such folder")
    return new_output_folder(out, source=source)


def map_folder(source, out, transform, label, verbose=True):
    """Apply `transform(path) -> {subfolder: image}` to every image under `source`.

    Each image is written losslessly as `out/subfolder/<path relative to source>.png`, so the
    outputs of one input share a name; inputs that differ only in suffix (`a.jpg`, `a.png`)
    get the next free name (`a-2.png`). Files that raise `ImageError` are skipped and counted.
    Returns the `Tally`.
    """
    out = prepare_output_folder(out, source)
    paths = list_images(source)
    tally = Tally(len(paths), label, verbose)
    for path in paths:
        try:
            outputs = transform(path)
        except ImageError as error:
            tally.reject(error)
            continue
        relative = path.relative_to(source)
        folders = [out / subfolder / relative.parent for subfolder in outputs]
        name = free_output_name(folders, relative.stem, OUTPUT_SUFFIX)
        for folder, image in zip(folders, outputs.values()):
            write_image(folder / name, image)
        tally.keep()
    return tally
