"""Shared by the plan benchmarks: an initialised copy of terraform/ planned against the provider double
(or the real provider with CONGRESS_TF_TEST_PROVIDER=real), the same way the test suite does."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))


class Workspace:
    def __init__(self):
        from congress_tf.terraform import find_terraform

        from paths import EXAMPLE_CLOUDS_YAML, copy_modules

        self.root = copy_modules(Path(tempfile.mkdtemp(prefix="congress-tf-bench-")))
        self.binary = str(find_terraform().path)
        self.env = {**os.environ, "TF_IN_AUTOMATION": "1", "CHECKPOINT_DISABLE": "1",
                    "OS_CLIENT_CONFIG_FILE": str(EXAMPLE_CLOUDS_YAML)}
        if os.environ.get("CONGRESS_TF_TEST_PROVIDER", "double") == "double":
            from provider_double import install

            self.env["TF_CLI_CONFIG_FILE"] = str(install(self.root / "provider"))
        self.run("init")

    def run(self, *args: str) -> str:
        cmd = [self.binary, f"-chdir={self.root / 'terraform'}", *args]
        return subprocess.run(cmd, env=self.env, check=True, capture_output=True, text=True).stdout

    def close(self):
        shutil.rmtree(self.root, ignore_errors=True)


def planned_outputs(example: str, overrides: dict) -> dict:
    """The root module's planned outputs (sensitive ones included) of an example with overrides."""
    workspace = Workspace()
    try:
        override_file = workspace.root / "overrides.tfvars.json"
        override_file.write_text(json.dumps(overrides))
        plan_file = workspace.root / "bench.tfplan"
        workspace.run("plan", "-refresh=false", "-input=false", f"-out={plan_file}",
                      f"-var-file={REPO / 'examples' / example / 'terraform.tfvars'}", f"-var-file={override_file}")
        shown = json.loads(workspace.run("show", "-json", str(plan_file)))
        # Outputs the provider computes (a floating IP) have no value at plan: left out.
        return {name: out["value"] for name, out in shown["planned_values"]["outputs"].items() if "value" in out}
    finally:
        workspace.close()
