"""Fixtures for the unit tests: the embedded Terraform, small Terraform directories."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from congress_tf.terraform import TerraformBinary, find_embedded

# Built-in provider only: init and plan need no download and no cloud.
GOOD_CONFIG = """
variable "greeting" {
  type    = string
  default = "hello"
}
resource "terraform_data" "greeting" {
  input = var.greeting
}
output "greeting" {
  value = terraform_data.greeting.output
}
"""
BROKEN_CONFIG = 'resource "terraform_data" "x" {\n'  # unclosed block


@pytest.fixture(scope="session")
def embedded() -> TerraformBinary:
    path = find_embedded()
    if path is None:
        pytest.fail("congress-tf-terraform is not installed: run `pip install -e '.[test]'`")
    return TerraformBinary(path, "embedded")


@pytest.fixture
def tf_env(tmp_path) -> dict[str, str]:
    """A Terraform environment with an empty CLI configuration (quiet, no checkpoint calls)."""
    config = tmp_path / "empty.tfrc"
    config.write_text("")
    return {**os.environ, "TF_CLI_CONFIG_FILE": str(config), "CHECKPOINT_DISABLE": "1"}


@pytest.fixture
def good_dir(tmp_path) -> Path:
    d = tmp_path / "good"
    d.mkdir()
    (d / "main.tf").write_text(GOOD_CONFIG)
    (d / "test.tfvars").write_text('greeting = "hi from tfvars"\n')
    return d


@pytest.fixture
def broken_dir(tmp_path) -> Path:
    d = tmp_path / "broken"
    d.mkdir()
    (d / "main.tf").write_text(BROKEN_CONFIG)
    return d
