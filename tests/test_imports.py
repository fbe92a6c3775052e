"""The library stands alone: importing it loads no part of the dataset tool, and the package
installs without it."""

import configparser
import subprocess
import sys
from pathlib import Path

import setuptools

REPO = Path(__file__).resolve().parents[1]

# Every module of the package, not only what `import keras_colorize` pulls in; a module whose
# optional dependency (tkinter, the web extra) is missing here is passed over.
IMPORT_EVERY_MODULE = """
import importlib, pkgutil, sys
import keras_colorize
for module in pkgutil.walk_packages(keras_colorize.__path__, "keras_colorize."):
    try:
        importlib.import_module(module.name)
    except ModuleNotFoundError as error:
        if error.name.startswith("keras_colorize"):
            raise
print(sorted(name for name in sys.modules if name == "data_prep" or name.startswith("data_prep.")))
"""


def test_importing_the_library_loads_no_data_prep_module():
    result = subprocess.run(
        [sys.executable, "-c", IMPORT_EVERY_MODULE], cwd=REPO, capture_output=True, text=True, timeout=300
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_the_package_installs_the_library_without_data_prep():
    setup = configparser.ConfigParser()
    setup.read(REPO / "setup.cfg")
    include = setup["options.packages.find"]["include"].split()

    packages = setuptools.find_packages(REPO, include=include)

    assert "keras_colorize" in packages and "keras_colorize.models" in packages
    assert not [name for name in packages if name.split(".")[0] == "data_prep"]


# TensorFlow and Keras are imported first: what they change is theirs. The backend is chosen
# first too, so that a library module choosing another would show.
SIDE_EFFECTS = """
import importlib, os, pkgutil, sys
import matplotlib
matplotlib.use("svg")
import keras, tensorflow
environ = dict(os.environ)
import keras_colorize
for module in pkgutil.walk_packages(keras_colorize.__path__, "keras_colorize."):
    try:
        importlib.import_module(module.name)
    except ModuleNotFoundError as error:
        if error.name.startswith("keras_colorize"):
            raise
changed = {name for name in {*environ, *os.environ} if environ.get(name) != os.environ.get(name)}
print(sorted(changed), matplotlib.get_backend())
"""


def test_importing_the_library_leaves_the_environment_and_matplotlibs_backend_as_they_were():
    result = subprocess.run(
        [sys.executable, "-c", SIDE_EFFECTS], cwd=REPO, capture_output=True, text=True, timeout=300
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[] svg"


def test_importing_the_package_leaves_tensorflow_to_the_entry_points():
    script = "import sys, keras_colorize; print('tensorflow' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=60)

    assert result.returncode == 0, result.stderr
    assert result.stdout == "False\n"
