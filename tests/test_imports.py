"""The library stands alone: importing it loads no part of the dataset tool, changes no global
state, and the package installs without the tool."""

import configparser
import subprocess
import sys
from pathlib import Path

import setuptools

REPO = Path(__file__).resolve().parents[1]

# Every module of the package, not only what `import keras_colorize` pulls in; a module whose
# optional dependency (tkinter, the web extra) is missing here is passed over.
IMPORT_EVERY_MODULE = """
import importlib, pkgutil
import keras_colorize
for module in pkgutil.walk_packages(keras_colorize.__path__, "keras_colorize."):
    try:
        importlib.import_module(module.name)
    except ModuleNotFoundError as error:
        if error.name.startswith("keras_colorize"):
            raise
"""


def _printed_by(script):
    """What `script` prints, run in a fresh Python process."""
    result = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_importing_the_library_loads_no_data_prep_module():
    printed = _printed_by(
        IMPORT_EVERY_MODULE
        + "import sys\n"
        + "print(sorted(name for name in sys.modules if name == 'data_prep' or name.startswith('data_prep.')))\n"
    )

    assert printed == "[]"


def test_importing_the_library_leaves_the_environment_and_matplotlibs_backend_as_they_were():
    # TensorFlow and Keras are imported first: what they change is theirs. The backend is
    # chosen first too, so that a library module choosing another would show.
    before = (
        "import os, matplotlib\n"
        "matplotlib.use('svg')\n"
        "import keras, tensorflow\n"
        "environ = dict(os.environ)\n"
    )
    after = (
        "changed = {name for name in {*environ, *os.environ} if environ.get(name) != os.environ.get(name)}\n"
        "print(sorted(changed), matplotlib.get_backend())\n"
    )

    assert _printed_by(before + IMPORT_EVERY_MODULE + after) == "[] svg"


def test_importing_the_package_leaves_tensorflow_to_the_entry_points():
    assert _printed_by("import sys, keras_colorize; print('tensorflow' in sys.modules)") == "False"


def test_the_package_installs_the_library_without_data_prep():
    setup = configparser.ConfigParser()
    setup.read(REPO / "setup.cfg")
    include = setup["options.packages.find"]["include"].split()

    packages = setuptools.find_packages(REPO, include=include)

    assert "keras_colorize" in packages and "keras_colorize.models" in packages
    assert not [name for name in packages if name.split(".")[0] == "data_prep"]
