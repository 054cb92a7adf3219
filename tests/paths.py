"""Where things are, for tests and benchmarks."""

import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = sorted(p.parent.name for p in (REPO / "examples").glob("*/terraform.tfvars"))
# Dummy entries for every cloud the examples name: the OpenStack provider reads clouds.yaml when it
# is configured, even for a plan (pass it as OS_CLIENT_CONFIG_FILE).
EXAMPLE_CLOUDS_YAML = REPO / "examples" / "clouds.yaml"


def example_tfvars(name: str) -> Path:
    return REPO / "examples" / name / "terraform.tfvars"


def copy_tree(source: Path, dest: Path) -> Path:
    """A copy of a Terraform directory without Terraform's working state (.terraform*, state files)."""
    shutil.copytree(source, dest, ignore=shutil.ignore_patterns(".terraform*", "*.tfstate*"))
    return dest


def copy_modules(dest: Path) -> Path:
    """terraform/ and cloudinit/ copied side by side into dest, so init never writes into the source tree."""
    for name in ("terraform", "cloudinit"):
        copy_tree(REPO / name, dest / name)
    return dest
