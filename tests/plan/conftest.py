"""Fixtures of the plan tests (the session ones, `plan` included, are in tests/conftest.py)."""

from __future__ import annotations

import pytest
import tftest
from paths import example_tfvars


@pytest.fixture(scope="module")
def plan_error(plan):
    """plan_error(var_file=examples/minimal, **overrides) -> the text of the failed plan's errors,
    whitespace collapsed (Terraform wraps long messages). Fails the test when the plan succeeds."""
    def run(var_file=example_tfvars("minimal"), **overrides) -> str:
        with pytest.raises(tftest.TerraformTestError) as failure:
            plan(var_file=var_file, **overrides)
        return " ".join(" ".join(map(str, failure.value.args)).split())

    return run
