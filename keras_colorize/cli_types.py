"""What every command line of the package shares: argparse value types that refuse out-of-range
numbers in one line, and the options several commands take (`keras-colorize`, train.py,
evaluate.py, `python -m data_prep`)."""

import argparse
import math

from keras_colorize import images


def int_at_least(minimum):
    """An argparse type: an int of at least `minimum`."""
    def parse(text):
        value = int(text)
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, not {value}")
        return value

    parse.__name__ = "int"  # argparse names the type in "invalid int value: 'x'"
    return parse


positive_int = int_at_least(1)
non_negative_int = int_at_least(0)


def float_in(low, high=math.inf, *, low_included=True):
    """An argparse type: a float from `low` (or above it) to at most `high`; NaN is refused."""
    bounds = f"at least {low}" if low_included else f"above {low}"
    if high < math.inf:
        bounds += f" and at most {high}"

    def parse(text):
        value = float(text)
        if not ((value >= low if low_included else value > low) and value <= high):  # NaN fails both
            raise argparse.ArgumentTypeError(f"must be {bounds}, not {value}")
        return value

    parse.__name__ = "float"
    return parse


positive_float = float_in(0, low_included=False)
non_negative_float = float_in(0)


def add_max_pixels_argument(parser):
    parser.add_argument("--max-pixels", type=positive_int, default=images.DEFAULT_MAX_PIXELS, metavar="N",
                        help="refuse images declaring more pixels, before decoding them "
                             f"(default {images.DEFAULT_MAX_PIXELS:,}: a 12000 x 12000 scan fits)")


def add_trust_argument(parser):
    parser.add_argument("--trust-savedmodel", action="store_true",
                        help="load a SavedModel --model even if its graph holds operations this "
                             "package's exports never use (file, process): it runs them")
