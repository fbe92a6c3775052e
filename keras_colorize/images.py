"""Reading and writing image files, with errors that name the file and the problem.

Every part of the package that touches image files goes through here, so a bad file gives
the same clear `ImageError` everywhere instead of a traceback from deep inside a decoder.
"""

import glob
import os
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from keras_colorize.errors import ImageError, printable
from keras_colorize.files import written_atomically

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".gif", ".ppm", ".pgm")
# Pillow modes of 16-bit gray images. "I" (32-bit integer) is among them because Pillow decodes
# 16-bit PGM files to it; the rare true 32-bit image is read as 16-bit, clipped at white.
SIXTEEN_BIT_MODES = ("I;16", "I;16B", "I;16L", "I;16N", "I")
# Declared sizes above this are refused before decoding: a 164 KB PNG can declare 13000 x 13000
# pixels (8.6 GB decoded). A 12000 x 12000 scan (144 megapixels) passes; --max-pixels changes it.
DEFAULT_MAX_PIXELS = 150_000_000
OUTPUT_SUFFIX = ".png"  # lossless, so a written image is exactly what was computed
# zlib level of written PNGs: on a 1-megapixel colorized photo level 1 takes a tenth of the
# time of Pillow's default 6 for a file about 10% larger (striped.write_png: 16 megapixels).
PNG_COMPRESS_LEVEL = 1
max_pixels = DEFAULT_MAX_PIXELS
# Pillow's own guard only warns up to twice its limit, and would refuse a --max-pixels above it.
Image.MAX_IMAGE_PIXELS = None


def check_file(path, kind="an image file", error=ImageError):
    """Raise `error` (ImageError or a subclass) naming `path` when its name is not UTF-8 (it
    could be neither printed nor recorded), it is a folder, names no file (missing, a broken
    link, a loop of links) or is empty; `kind` names what it should be."""
    path = Path(path)
    if printable(path) != str(path):
        raise error(path, "undecodable_name", "its name is not UTF-8; rename it")
    if path.is_dir():
        raise error(path, "not_a_file", f"a folder, not {kind}")
    if not path.is_file():
        raise _missing(path, error)
    if path.stat().st_size == 0:
        raise error(path, "empty", "zero bytes")


def open_image(path):
    """Open and fully decode an image file with Pillow; raise ImageError when it can't be."""
    path = Path(path)
    check_file(path)
    try:
        image = Image.open(path)  # reads the header only
        check_declared_size(path, *image.size)
        _say_when_animated(image, path)
        image.load()
        # Phones store photos as the sensor saw them and say in EXIF how to turn them upright.
        ImageOps.exif_transpose(image, in_place=True)
    except ImageError:  # our own check above, not a decoder's complaint
        raise
    except PermissionError as error:
        raise ImageError(path, "unreadable", error.strerror) from None
    except UnidentifiedImageError:
        raise ImageError(path, "not_an_image", "not a format Pillow can read") from None
    except Image.DecompressionBombError as error:
        raise ImageError(path, "too_large", str(error)) from None
    except (OSError, SyntaxError, ValueError) as error:
        raise ImageError(path, "truncated_or_corrupt", str(error)) from None
    return image


def check_declared_size(path, width, height, limit=None):
    """ImageError "too_large" naming `path`, its size and the limit when width x height exceeds
    `limit` (default: `max_pixels`, which --max-pixels sets)."""
    limit = limit or max_pixels
    if width * height > limit:
        raise ImageError(
            path, "too_large",
            f"{width} x {height} = {width * height / 1e6:.3g} megapixels, above the limit of "
            f"{limit / 1e6:g} (--max-pixels)",
        )


def set_max_pixels(limit):
    """Set the largest image, in pixels, that any reader here accepts (--max-pixels)."""
    global max_pixels
    max_pixels = limit


def _say_when_animated(image, path):
    """An animated GIF or a multi-page TIFF is read as its first frame: say so. (Counting the
    frames would read them all.)"""
    if getattr(image, "is_animated", False):
        print(f"{path}: animated or multi-page; using its first frame", file=sys.stderr)


def gray_to_rgb(gray):
    """Gray images (..., H, W) -> the same images as RGB (..., H, W, 3), channels equal."""
    return np.repeat(np.asarray(gray)[..., None], 3, axis=-1)


def to_rgb_array(image, path="<array>"):
    """A Pillow image of any mode -> uint8 (H, W, 3) RGB; 16-bit images are rescaled.

    Float images (mode F) raise ImageError "unsupported_mode".
    """
    if image.mode in SIXTEEN_BIT_MODES:
        # The full 16-bit range, whatever the pixels: a dark image must stay dark.
        wide = np.asarray(image, dtype=np.float64)
        gray = np.round(np.clip(wide / 65535.0, 0, 1) * 255).astype(np.uint8)
        return gray_to_rgb(gray)
    if image.mode == "F":
        # Pillow would clip the floats to 0-255, turning a 0-1 image black without a word.
        raise ImageError(path, "unsupported_mode", "mode F: float pixels have no fixed range")
    if image.mode in ("RGBA", "LA", "P", "PA"):
        image = image.convert("RGBA")
        background = Image.new("RGBA", image.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, image)
    try:
        return np.asarray(image.convert("RGB"), dtype=np.uint8)
    except (OSError, ValueError) as error:
        raise ImageError(path, "unsupported_mode", f"{image.mode}: {error}") from None


def read_rgb(path):
    """Read any image file as uint8 (H, W, 3) RGB; transparent areas become white."""
    return to_rgb_array(open_image(path), path)


def list_images(*sources, recursive=True, with_broken_links=False):
    """Image files under the given files, folders or glob patterns, sorted, without duplicates
    (`find_images` also says what was missing or unreadable). `with_broken_links` lists broken
    links and loops of links too, for batch jobs that count what they skip: reading one fails
    with its own ImageError."""
    found, problems = find_images(*sources, recursive=recursive)
    if with_broken_links:
        found = sorted(found + [Path(error.path) for error in problems if error.reason in ("broken_link", "link_loop")])
    return found


def find_images(*sources, recursive=True):
    """(image files, problems): the files as `list_images` gives them, and an ImageError for
    each source that names nothing (`missing`) and each broken link (`broken_link`), loop of
    links (`link_loop`) or unreadable folder (`unreadable`) met on the way, so that a batch job
    can count them."""
    found, problems = [], []
    for source in map(Path, sources):
        if source.is_dir():
            found += _folder_images(source, recursive, problems)
        elif source.exists():
            found.append(source)
        else:
            matches = _glob_files(source)
            found += matches
            if not matches:
                problems.append(_missing(source))
    unique_problems = {str(error): error for error in problems}  # a link can be named twice
    return sorted(dict.fromkeys(found)), list(unique_problems.values())


def _glob_files(pattern):
    """Files matching glob `pattern`, hidden ones left out as `glob.glob` does; its `**` does not
    enter linked folders, which `glob.glob` follows round a link to a parent folder without end."""
    parts = pattern.parts
    fixed = next((i for i, part in enumerate(parts) if _is_pattern(part)), len(parts))
    if fixed == len(parts):
        return []  # not a pattern, and no such file
    root = Path(*parts[:fixed]) if fixed else Path()
    return [
        path for path in root.glob(str(Path(*parts[fixed:])))
        if path.is_file() and not any(part.startswith(".") for part in path.relative_to(root).parts)
    ]


def _is_pattern(text):
    return glob.escape(text) != text  # escaping changes only a pattern's characters


def _missing(source, error=ImageError):
    """The `error` for a source that names no file: a broken link, a loop of links, a pattern
    or a plain path."""
    if source.is_symlink():
        try:
            source.resolve(strict=True)
        except FileNotFoundError:
            return error(source, "broken_link", f"points to {os.readlink(source)}, which does not exist")
        except (OSError, RuntimeError):  # Python before 3.13 calls a loop a RuntimeError
            return error(source, "link_loop", "its links lead round in a loop")
    if _is_pattern(str(source)):
        return error(source, "missing", "no file matches this pattern")
    return error(source, "missing", "no such file or folder")


def _folder_images(folder, recursive, problems):
    """Image files under `folder`; its broken links and unreadable subfolders go to `problems`."""
    found = []

    def unreadable(error):
        problems.append(ImageError(error.filename, "unreadable", f"folder: {error.strerror}"))

    for root, _, names in os.walk(folder, onerror=unreadable):
        for path in (Path(root) / name for name in names):
            if path.suffix.lower() not in IMAGE_SUFFIXES:
                continue
            if path.is_file():
                found.append(path)
            elif path.is_symlink():
                problems.append(_missing(path))
        if not recursive:
            break
    return found


def free_output_name(folders, stem, suffix):
    """`<stem><suffix>`, or the first of `<stem>-2<suffix>`, `<stem>-3<suffix>`, ... that none of
    `folders` holds, so an output never replaces a file, inputs included."""
    name, number = f"{stem}{suffix}", 1
    while any((Path(folder) / name).exists() for folder in folders):
        number += 1
        name = f"{stem}-{number}{suffix}"
    return name


def write_image(path, rgb, overwrite=False):
    """Write uint8 RGB (or gray) to `path` atomically; never replace an existing file unless asked."""
    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path}: exists; refusing to overwrite it")
    with written_atomically(path) as temporary:
        options = {"compress_level": PNG_COMPRESS_LEVEL} if path.suffix.lower() == ".png" else {}
        Image.fromarray(np.asarray(rgb, dtype=np.uint8)).save(temporary, **options)
    return path
