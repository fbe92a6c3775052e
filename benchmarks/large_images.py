"""Large-image benchmark: peak memory and time of `keras-colorize colorize` by image size.

Makes gray PNGs of scikit-image's coffee photo enlarged to 1, 4, 16 and 144 megapixels (with a
little noise, so that they do not compress to nothing), colorizes each with the shipped photo
model in a child process, and prints its peak resident memory and wall time.

    python benchmarks/large_images.py [--megapixels 1 4 16 144] [--rgb]

Each child is one `keras-colorize colorize` run reporting its own peak (`ru_maxrss`); its time
includes the start-up (importing TensorFlow, loading the model; about 8 s here).
docs/reliability.md reports the figures.
"""

import argparse
import math
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import skimage.data

REPO = Path(__file__).resolve().parents[1]


def make_image(path, megapixels, rgb):
    """A square PNG of about `megapixels`, gray unless `rgb`."""
    side = round(math.sqrt(megapixels * 1e6))
    photo = skimage.data.coffee()[..., ::-1]  # OpenCV writes BGR
    if not rgb:
        photo = cv2.cvtColor(photo, cv2.COLOR_BGR2GRAY)
    large = cv2.resize(photo, (side, side), interpolation=cv2.INTER_CUBIC)
    noise = np.random.default_rng(0).integers(0, 8, large.shape, dtype=np.uint8)
    cv2.imwrite(str(path), cv2.add(large, noise))
    return side


# The child runs the command line and then prints its own peak, as its last line.
CHILD = """
import resource, sys
from keras_colorize import cli
status = cli.main(sys.argv[1:])
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
sys.exit(status)
"""


def measure(image, out):
    """(peak resident MB, wall seconds) of colorizing `image` into `out` in a child process."""
    started = time.perf_counter()
    command = [sys.executable, "-c", CHILD, "colorize", str(image), "-o", str(out)]
    child = subprocess.run(command, cwd=REPO, check=True, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    return int(child.stdout.split()[-1]) / 1024, seconds


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--megapixels", type=float, nargs="+", default=[1, 4, 16, 144])
    parser.add_argument("--rgb", action="store_true", help="colour inputs instead of gray")
    args = parser.parse_args(argv)
    print(f"{'input':>15}  {'megapixels':>10}  {'peak MB':>8}  {'seconds':>8}")
    with tempfile.TemporaryDirectory() as scratch:
        for megapixels in args.megapixels:
            image = Path(scratch) / f"{megapixels:g}mp.png"
            side = make_image(image, megapixels, args.rgb)
            peak, seconds = measure(image, Path(scratch) / f"out{megapixels:g}")
            print(f"{f'{side} x {side}':>15}  {megapixels:>10g}  {peak:>8.0f}  {seconds:>8.1f}", flush=True)
            image.unlink()


if __name__ == "__main__":
    main()
