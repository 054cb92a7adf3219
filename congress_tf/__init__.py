"""congress-tf: deploy OpenStack Congress in its HA layout with Terraform."""

from importlib.metadata import PackageNotFoundError, version as _version

try:
    __version__ = _version("congress-tf")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"
