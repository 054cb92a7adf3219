"""Where things are, for tests and benchmarks."""

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = sorted(p.parent.name for p in (REPO / "examples").glob("*/terraform.tfvars"))


def example_tfvars(name: str) -> Path:
    return REPO / "examples" / name / "terraform.tfvars"
