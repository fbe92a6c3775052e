"""`python -m data_prep faces`: square crops around the largest face of every image in a folder
(the crops themselves: `keras_colorize.faces`)."""

from data_prep.common import map_folder
from keras_colorize.faces import crop_to_box, face_or_centre_box
from keras_colorize.images import read_rgb


def crop_faces_folder(source, out, size=100, margin=0.25, keep_faceless=False, verbose=True):
    """Face-crop every image under `source` into `out` (same relative names, .png).

    Images without a face are skipped (reason "no_face"), or kept as their centre square
    with `keep_faceless`. Returns the summary.
    """
    faceless = []

    def crop(path):
        rgb = read_rgb(path)
        box, has_face = face_or_centre_box(rgb, path, margin, keep_faceless)
        if not has_face:
            faceless.append(path)
        return {"": crop_to_box(rgb, box, size)}

    tally = map_folder(source, out, crop, label=f"face crops of {source}", verbose=verbose)
    return tally.finish("face crops", kept_without_face=len(faceless), output=str(out))
