"""Where the Terraform root module and the cloud-init templates are.

The repository keeps them at its top (terraform/, cloudinit/) so they work without Python;
pyproject.toml maps them into the package as congress_tf._terraform and _cloudinit.  In an
editable install both names resolve to the repository's own directories; in a wheel they are
package data.  Either way: files on disk, which Terraform needs.
"""

from __future__ import annotations

from importlib.util import find_spec
from pathlib import Path

_REPO = Path(__file__).resolve().parent.parent


def _locate(package: str, top_level: str) -> Path:
    spec = find_spec(package)
    if spec is not None and spec.submodule_search_locations:
        for location in spec.submodule_search_locations:
            if Path(location).is_dir():
                return Path(location)
    return _REPO / top_level  # a source tree on sys.path, not installed


def terraform_dir() -> Path:
    """The Terraform root module (terraform/ in the repository)."""
    return _locate("congress_tf._terraform", "terraform")


def cloudinit_dir() -> Path:
    """The cloud-init templates (cloudinit/ in the repository)."""
    return _locate("congress_tf._cloudinit", "cloudinit")
