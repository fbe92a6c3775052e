"""Square crops: around the largest face OpenCV's Haar cascade finds, or the centre square.

A crop is described by a square box `(x, y, side)` in pixels, so the same box can cut a photo
and the sketch drawn from it; `crop_to_box` cuts and resizes with `cv2.INTER_AREA`.
"""

import functools

import cv2

from keras_colorize.images import ImageError

FACE_CASCADE = "haarcascade_frontalface_default.xml"


@functools.lru_cache(maxsize=1)
def face_detector():
    """OpenCV's shipped frontal-face Haar cascade (loaded once)."""
    detector = cv2.CascadeClassifier(cv2.data.haarcascades + FACE_CASCADE)
    if detector.empty():
        raise RuntimeError(f"OpenCV could not load {cv2.data.haarcascades + FACE_CASCADE}")
    return detector


def find_face(rgb, min_face_fraction=0.15):
    """The largest face as (x, y, width, height), or None; faces smaller than
    `min_face_fraction` of the shorter image side are ignored (mostly false detections)."""
    gray = cv2.equalizeHist(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY))
    min_side = max(int(min(gray.shape) * min_face_fraction), 20)
    faces = face_detector().detectMultiScale(
        gray, scaleFactor=1.1, minNeighbors=5, minSize=(min_side, min_side)
    )
    if len(faces) == 0:
        return None
    return tuple(int(v) for v in max(faces, key=lambda face: face[2] * face[3]))


def square_around(shape, centre_x, centre_y, side):
    """The square box of `side` centred near (centre_x, centre_y), shifted and shrunk to fit."""
    height, width = shape[:2]
    side = int(round(min(side, height, width)))
    x = int(round(min(max(centre_x - side / 2, 0), width - side)))
    y = int(round(min(max(centre_y - side / 2, 0), height - side)))
    return x, y, side


def centre_box(shape, fraction=1.0):
    """The centred square covering `fraction` of the shorter side."""
    height, width = shape[:2]
    return square_around(shape, width / 2, height / 2, fraction * min(height, width))


def face_box(rgb, margin=0.25):
    """A square around the largest face, widened by `margin` x the face size on each side
    (the cascade's box runs from the eyebrows to the mouth); None when no face is found."""
    face = find_face(rgb)
    if face is None:
        return None
    x, y, width, height = face
    side = max(width, height) * (1 + 2 * margin)
    return square_around(rgb.shape, x + width / 2, y + height / 2, side)


def face_or_centre_box(rgb, path, margin=0.25, keep_faceless=False, centre_fraction=1.0):
    """(box, whether it is around a face): the `face_box`, or without a face the `centre_box`
    covering `centre_fraction` when `keep_faceless`, else ImageError "no_face"."""
    box = face_box(rgb, margin)
    if box is not None:
        return box, True
    if not keep_faceless:
        raise ImageError(path, "no_face", "the Haar cascade found no face")
    return centre_box(rgb.shape, centre_fraction), False


def crop_to_box(image, box, size):
    """Cut the square `box` out of `image` and resize it to `size` x `size`."""
    x, y, side = box
    return cv2.resize(image[y : y + side, x : x + side], (size, size), interpolation=cv2.INTER_AREA)


def crop_face(rgb, size=100, margin=0.25):
    """The largest face of `rgb` as a `size` x `size` square crop, or None without a face."""
    box = face_box(rgb, margin)
    return None if box is None else crop_to_box(rgb, box, size)
