"""The build backend: setuptools' own, building in a temporary directory.

pip builds `pip install .` in the source tree, where setuptools would leave build/ behind.
DIST_EXTRA_CONFIG names an extra configuration file that setuptools reads after setup.cfg: it
moves build_base into a temporary directory, removed once the wheel is built.
"""

import os
import tempfile
from contextlib import contextmanager

from setuptools import build_meta
from setuptools.build_meta import *  # noqa: F401,F403 - the hooks not wrapped below, unchanged


@contextmanager
def _build_outside_the_tree():
    with tempfile.TemporaryDirectory(prefix="congress-tf-build-") as tmp:
        config = os.path.join(tmp, "build.cfg")
        with open(config, "w") as out:
            out.write(f"[build]\nbuild_base = {os.path.join(tmp, 'build')}\n")
        previous = os.environ.get("DIST_EXTRA_CONFIG")
        os.environ["DIST_EXTRA_CONFIG"] = config
        try:
            yield
        finally:
            if previous is None:
                del os.environ["DIST_EXTRA_CONFIG"]
            else:
                os.environ["DIST_EXTRA_CONFIG"] = previous


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    with _build_outside_the_tree():
        return build_meta.build_wheel(wheel_directory, config_settings, metadata_directory)


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    with _build_outside_the_tree():
        return build_meta.build_editable(wheel_directory, config_settings, metadata_directory)
