"""The standard datasets the models train on, built from the shared research data (`make data`).

| file           | from                | size | sketch | notes                                  |
|----------------|---------------------|------|--------|----------------------------------------|
| lfw128.h5      | lfw/images          | 128  | pencil | identities; identity-disjoint splits   |
| celeba100.h5   | celeba_small/images | 100  | pencil | the sketch-inversion paper's 100 x 100 |
| cufs.h5        | cufs_cuhk           | 128  | drawn  | artists' sketches; its own train/test  |
| edges2shoes.h5 | edges2shoes         | 256  | drawn  | side by side, line drawing on the left |
| general256_train.h5 | imagenet_more, flowers/train | 256 | none | general photos; train/val 9:1 |
| general256_test.h5  | imagenet_sample, flowers/val | 256 | none | general photos; test split only |

Crops. LFW deep-funneled images are already aligned, with the face in the middle of the
250 x 250 frame, so a fixed centre crop frames every face the same way, where the Haar
cascade would jitter and miss some: the central 160 x 160 (0.64 of the side) keeps the face
with its hair and chin. CUFS portraits are 200 x 250 with the head centred; their centre
200 x 200 square keeps the whole head, so the generic centre crop suits them too. CelebA's
small images (89 x 109) are aligned faces too: their centre 89 x 89 square is enlarged to the
paper's 100 x 100, rather than cropped by the paper's Haar cascade. General photos (ImageNet,
flowers) keep their centre square, the usual 256 x 256 centre crop of colorization benchmarks;
their class folders are not identities.
"""

from pathlib import Path

from keras_colorize.datasets import build_dataset

STANDARD_DATASETS = {
    "lfw128.h5": (["lfw/images"], dict(size=128, sketch="pencil", center_crop=0.64)),
    "celeba100.h5": (["celeba_small/images"], dict(size=100, sketch="pencil")),
    "cufs.h5": (["cufs_cuhk"], dict(size=128)),
    "edges2shoes.h5": (["edges2shoes"], dict(size=256, pairs="left")),
    "general256_train.h5": (
        ["imagenet_more", "flowers/train"], dict(size=256, identities="none", split=(0.9, 0.1, 0.0))
    ),
    "general256_test.h5": (
        ["imagenet_sample", "flowers/val"], dict(size=256, identities="none", split=(0.0, 0.0, 1.0))
    ),
}


def _reason_to_skip(target, sources):
    if target.exists():
        return f"{target} exists; left as it is"
    missing = [str(path) for path in sources if not path.exists()]
    if missing:
        return f"{target.name}: {', '.join(missing)} not found; skipped"
    return None


def build_standard(shared, out, limit=None, verbose=True):
    """Build each standard dataset whose sources exist under `shared` into `out`.

    Existing outputs are left alone. Returns {file name: summary dict, or why it was not built}.
    """
    shared, out = Path(shared), Path(out)
    results = {}
    for name, (sources, options) in STANDARD_DATASETS.items():
        target, paths = out / name, [shared / source for source in sources]
        reason = _reason_to_skip(target, paths)
        if reason is None:
            results[name] = build_dataset(paths, target, limit=limit, verbose=verbose, **options)
        else:
            results[name] = reason
            if verbose:
                print(reason)
    return results
