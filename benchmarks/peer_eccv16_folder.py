"""richzhang's demo_release.py pipeline over a folder of photos: the reference that
benchmarks/peers.py times `keras-colorize colorize` against. Runs in the peers' virtualenv
(torch, numpy, scikit-image, pillow), never imports keras_colorize.

    python peer_eccv16_folder.py RICHZHANG_DIR IN_DIR OUT_DIR

Each photo goes through `load_img`, `preprocess_img` (256x256, skimage's rgb2lab), the ECCV16
network (random weights: the released ones cannot be downloaded here) and `postprocess_tens`
(ab upsampled to the photo's size, lab2rgb), and is saved as a PNG, as demo_release.py saves
its output (there through matplotlib's imsave, here Pillow, which matplotlib calls). Two
threads; gradients off, which only makes the reference faster and smaller.
"""

import sys
import types
from pathlib import Path

import numpy as np
import torch
from PIL import Image

sys.modules["IPython"] = types.ModuleType("IPython")  # colorizers/util.py imports it, unused
sys.modules["IPython"].embed = None
sys.path.insert(0, sys.argv[1])
from colorizers import eccv16, load_img, postprocess_tens, preprocess_img  # noqa: E402

torch.set_num_threads(2)
model = eccv16(pretrained=False).eval()
out_dir = Path(sys.argv[3])
out_dir.mkdir(parents=True, exist_ok=True)
for path in sorted(Path(sys.argv[2]).iterdir()):
    tens_l_orig, tens_l_rs = preprocess_img(load_img(path), HW=(256, 256))
    with torch.no_grad():
        rgb = postprocess_tens(tens_l_orig, model(tens_l_rs))
    Image.fromarray(np.round(np.clip(rgb, 0, 1) * 255).astype(np.uint8)).save(out_dir / f"{path.stem}.png")
