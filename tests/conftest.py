"""Session fixtures shared by every test layer.

`plan` runs a real `terraform plan` (through tftest) on a copy of a Terraform
directory and returns a `Plan` with small helpers.  Which OpenStack provider
Terraform loads is chosen once per session by CONGRESS_TF_TEST_PROVIDER:
`double` (default) is the offline double in tests/provider_double; `real` is
whatever Terraform installs normally (e.g. a filesystem mirror named by
TF_CLI_CONFIG_FILE).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import tftest

from paths import EXAMPLE_CLOUDS_YAML, EXAMPLES, copy_modules, copy_tree, example_tfvars

PROVIDER = os.environ.get("CONGRESS_TF_TEST_PROVIDER", "double")
if PROVIDER not in ("double", "real"):
    raise pytest.UsageError(f"CONGRESS_TF_TEST_PROVIDER must be double or real, not {PROVIDER!r}")


def pytest_report_header(config):
    return f"congress-tf: OpenStack provider under test = {PROVIDER} (CONGRESS_TF_TEST_PROVIDER)"


class Plan:
    """A parsed `terraform show -json` of a saved plan."""

    def __init__(self, raw: tftest.TerraformPlanOutput):
        self.raw = raw
        self.outputs = {name: out.get("value") for name, out in raw["planned_values"].get("outputs", {}).items()}
        self.resources = list(_walk(raw["planned_values"]["root_module"]))
        self.changes = {c["address"]: c for c in raw.get("resource_changes", [])}

    def of_type(self, type_: str, module: str | None = None) -> list[dict]:
        """Planned resources of a type, optionally only those in one module (e.g. "module.network")."""
        return [r for r in self.resources
                if r["type"] == type_ and (module is None or r.get("module") == module)]

    def values(self, type_: str, module: str | None = None) -> list[dict]:
        return [r["values"] for r in self.of_type(type_, module)]

    def config_resources(self) -> list[dict]:
        """Resources as written in the configuration (with depends_on and references)."""
        found = []

        def walk(module, prefix):
            for res in module.get("resources", []):
                found.append({**res, "address": prefix + res["address"]})
            for name, call in module.get("module_calls", {}).items():
                walk(call["module"], f"{prefix}module.{name}.")

        walk(self.raw["configuration"]["root_module"], "")
        return found


def _walk(module):
    for res in module.get("resources", []):
        yield {**res, "module": module.get("address")}
    for child in module.get("child_modules", []):
        yield from _walk(child)


@pytest.fixture(scope="session")
def terraform_binary() -> str:
    from congress_tf.terraform import find_terraform

    return str(find_terraform().path)


@pytest.fixture(scope="session")
def terraform_env(tmp_path_factory) -> dict[str, str]:
    """What Terraform runs with: for both providers, the examples' dummy clouds.yaml (the provider
    loads it when a configuration names a `cloud`; a plan never contacts the cloud)."""
    env = {"TF_IN_AUTOMATION": "1", "CHECKPOINT_DISABLE": "1", "OS_CLIENT_CONFIG_FILE": str(EXAMPLE_CLOUDS_YAML)}
    if PROVIDER == "double":
        from provider_double import install

        env["TF_CLI_CONFIG_FILE"] = str(install(tmp_path_factory.mktemp("provider-double")))
    return env


@pytest.fixture(scope="session")
def workspace(tmp_path_factory) -> Path:
    """A copy of terraform/ and cloudinit/ so init never writes into the source tree."""
    return copy_modules(tmp_path_factory.mktemp("workspace"))


@pytest.fixture(scope="session")
def terraform(workspace, terraform_binary, terraform_env, tmp_path_factory):
    """terraform(tfdir) -> an initialised tftest.TerraformTest; init runs once per directory per session."""
    initialised: dict[Path, tftest.TerraformTest] = {}  # by the tfdir asked for

    def get(tfdir: Path | str = "terraform") -> tftest.TerraformTest:
        key = Path(tfdir)
        if key not in initialised:
            if not key.is_absolute():
                workdir = workspace / key
            else:
                workdir = copy_tree(key, tmp_path_factory.mktemp(key.name) / key.name)
            tf = tftest.TerraformTest(str(workdir), binary=terraform_binary, env=terraform_env)
            tf.setup(cleanup_on_exit=False)
            initialised[key] = tf
        return initialised[key]

    return get


@pytest.fixture(scope="session")
def plan(terraform, tmp_path_factory):
    """plan(tfdir="terraform", var_file=None, **overrides) -> Plan.

    Overrides are written to a .tfvars.json passed after var_file, so they win
    (tftest would put -var flags before -var-file, where they lose).  Raises
    tftest.TerraformTestError, carrying Terraform's own output, on failure.
    """

    def run(tfdir: Path | str = "terraform", var_file: Path | str | None = None, **overrides) -> Plan:
        var_files = [str(Path(var_file).resolve())] if var_file else []
        if overrides:
            path = tmp_path_factory.mktemp("overrides") / "overrides.tfvars.json"
            path.write_text(json.dumps(overrides))
            var_files.append(str(path))
        return Plan(terraform(tfdir).plan(output=True, refresh=False, tf_var_file=var_files or None))

    return run


@pytest.fixture(scope="session")
def example_plans(plan) -> dict[str, Plan]:
    """Plan of every example under examples/, keyed by the example's name (planned once per session)."""
    return {name: plan(var_file=example_tfvars(name)) for name in EXAMPLES}


@pytest.fixture(scope="session")
def congress_venv(tmp_path_factory):
    """A venv with the pinned Congress runtime + shim, made by cloudinit/scripts/install-congress.sh
    exactly as a VM makes /opt/congress (once per session)."""
    from congress_runtime import install_congress_venv

    return install_congress_venv(tmp_path_factory.mktemp("congress-runtime") / "venv")
