"""The errors the package raises for what a user gave it: each message names the thing and the
problem, so a command prints it in one line."""

from keras_colorize.images import ImageError


class DataSourceError(ImageError):
    """A data source (HDF5 file, image folder) that cannot be used; names it and the problem."""
