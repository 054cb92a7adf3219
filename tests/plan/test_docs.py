"""terraform/README.md documents exactly the root module's inputs and outputs."""

from paths import REPO
from tfdoc import between_markers, tables


def test_readme_tables_match_the_configuration(example_plans):
    readme = (REPO / "terraform" / "README.md").read_text()
    assert between_markers(readme) == tables(example_plans["minimal"].raw["configuration"]), (
        "terraform/README.md is stale: see tests/tfdoc.py for the command that refreshes it")
