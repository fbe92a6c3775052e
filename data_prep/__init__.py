"""Dataset preparation for keras-colorize, built on the library: each step is a subcommand of
`python -m data_prep`, run from the checkout (see docs/data.md):

- `sketch`: pencil (colour dodge), line (XDoG), contour and random-style sketches of photos
  (`sketch_folder`; the styles live in `keras_colorize.sketches`);
- `faces`: square crops around the largest face (`crop_faces_folder`; OpenCV Haar cascade,
  `keras_colorize.faces`);
- `clean`: find unreadable, odd-mode, tiny, flat, gray and duplicate images (`clean_folder`;
  the checks live in `keras_colorize.image_checks`);
- `pairs`: split side-by-side images (`split_pairs_folder`);
- `build`: write an HDF5 dataset file (images, sketches, identities, splits;
  `keras_colorize.datasets.build_dataset`);
- `standard`: build the standard datasets from ../shared/data (`build_standard`, `make data`);
- `demo`: prepare the built-in sample photos as a dataset and plot them (`run_demo`; `make demo`
  runs the colorizing demo, `keras_colorize.demo`, instead).

Every step shows a progress bar on a terminal, skips and counts bad files, and prints a summary.
"""
