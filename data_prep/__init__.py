"""Dataset preparation for keras-colorize: each step is a function here and a subcommand of
`python -m data_prep` (see docs/data.md):

- `sketch`: pencil (colour dodge), line (XDoG), contour and random-style sketches of photos
  (the styles live in `keras_colorize.sketches`);
- `faces`: square crops around the largest face (OpenCV Haar cascade);
- `clean`: find unreadable, odd-mode, tiny, flat, gray and duplicate images;
- `pairs`: split side-by-side (sketch | photo) images;
- `build`: write an HDF5 dataset file (images, sketches, identities, splits);
- `standard`: build the standard datasets from ../shared/data (`make data`);
- `demo`: prepare the built-in sample photos as a dataset and plot them (`make demo` runs
  the colorizing demo, `keras_colorize.demo`, instead).

Every step shows a progress bar on a terminal, skips and counts bad files, and prints a summary.
"""

import keras_colorize  # noqa: F401  first: it imports TensorFlow without its start-up lines
from data_prep.build import build_dataset
from data_prep.clean import ImageChecker, clean_folder, is_grayscale, min_max_scale
from data_prep.demo import run_demo
from data_prep.faces import (
    centre_box,
    crop_face,
    crop_faces_folder,
    face_box,
    face_or_centre_box,
)
from data_prep.pairs import split_pair, split_pairs_folder
from data_prep.sketch import line_sketch, make_sketch, pencil_sketch, random_sketch, sketch_folder
from data_prep.standard import build_standard

__all__ = [
    "ImageChecker",
    "build_dataset",
    "build_standard",
    "centre_box",
    "clean_folder",
    "crop_face",
    "crop_faces_folder",
    "face_box",
    "face_or_centre_box",
    "is_grayscale",
    "line_sketch",
    "make_sketch",
    "min_max_scale",
    "pencil_sketch",
    "random_sketch",
    "run_demo",
    "sketch_folder",
    "split_pair",
    "split_pairs_folder",
]
