"""A "deployed" root module for day-2 plans: the state Terraform would hold after applying a
plan, made from that plan, so the next plan (a changed count, a changed setting) is planned
against it exactly as it would be against a cloud.

The provider double cannot apply; this stands in for one apply.  Values come from the plan
itself: configured values as planned, computed ids made up per address, other computed
values left null.  Ids that other resources reference (a port's id in an instance's
network block) are only known once the ids exist, so `deploy` plans again against each state
until a plan of the same inputs is all no-op (and fails if it never is, so a state that is not
settled never reaches a test).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from paths import copy_tree, example_tfvars

PROVIDER = 'provider["registry.terraform.io/terraform-provider-openstack/openstack"]'


def run_plan(terraform: str, env: dict, tfdir: Path, var_files: list[Path], state: Path, out: Path) -> dict:
    """`terraform plan` of tfdir against a local state file, as `terraform show -json`."""
    args = [f"-var-file={f}" for f in var_files]
    planned = subprocess.run([terraform, f"-chdir={tfdir}", "plan", "-input=false", "-refresh=false", "-lock=false",
                              f"-state={state}", f"-out={out}", *args], env=env, capture_output=True, text=True)
    if planned.returncode != 0:
        raise RuntimeError(f"terraform plan failed:\n{planned.stdout}\n{planned.stderr}")
    shown = subprocess.run([terraform, f"-chdir={tfdir}", "show", "-json", str(out)], env=env, check=True,
                           capture_output=True, text=True)
    return json.loads(shown.stdout)


def _walk(module: dict):
    for res in module.get("resources", []):
        yield module.get("address"), res
    for child in module.get("child_modules", []):
        yield from _walk(child)


def _fill(value, unknown, address: str, key: str = ""):
    """Planned value with its unknown parts made known: ids made up, anything else null."""
    if unknown is True:
        return f"fake-{hashlib.sha1(address.encode()).hexdigest()[:12]}" if key == "id" else None
    if isinstance(value, dict):
        unknown = unknown if isinstance(unknown, dict) else {}
        names = set(value) | set(unknown)
        return {k: _fill(value.get(k), unknown.get(k), address, k) for k in names}
    if isinstance(value, list):
        unknown = unknown if isinstance(unknown, list) else []
        return [_fill(v, unknown[i] if i < len(unknown) else None, address) for i, v in enumerate(value)]
    return value


def _sensitive_paths(marks, path=()) -> list[list[dict]]:
    """after_sensitive of a plan as the state's sensitive_attributes paths."""
    if marks is True:
        return [list(path)]
    found = []
    if isinstance(marks, dict):
        for k, v in marks.items():
            found += _sensitive_paths(v, path + ({"type": "get_attr", "value": k},))
    elif isinstance(marks, list):
        for i, v in enumerate(marks):
            found += _sensitive_paths(v, path + ({"type": "index", "value": {"value": i, "type": "number"}},))
    return found


def state_from(plan: dict, serial: int = 1) -> dict:
    """State v4 in which every resource of `plan` exists as planned."""
    changes = {c["address"]: c["change"] for c in plan.get("resource_changes", [])}
    grouped: dict[tuple, dict] = {}
    for module, res in _walk(plan["planned_values"]["root_module"]):
        if res["mode"] != "managed":
            continue
        change = changes.get(res["address"], {})
        key = (module, res["type"], res["name"])
        entry = grouped.setdefault(key, {
            **({"module": module} if module else {}), "mode": "managed", "type": res["type"],
            "name": res["name"], "provider": PROVIDER, "instances": []})
        instance = {"schema_version": res.get("schema_version", 0),
                    "attributes": _fill(res["values"], change.get("after_unknown", {}), res["address"]),
                    "sensitive_attributes": _sensitive_paths(change.get("after_sensitive", False))}
        if "index" in res:
            instance["index_key"] = res["index"]
        entry["instances"].append(instance)
    outputs = {}
    cloud_init = plan["planned_values"].get("outputs", {}).get("cloud_init")
    if cloud_init is not None:
        outputs["cloud_init"] = {"value": cloud_init["value"], "type": ["map", "string"], "sensitive": True}
    return {"version": 4, "terraform_version": plan.get("terraform_version", "1.11.4"), "serial": serial,
            "lineage": "congress-tf-day2-test", "outputs": outputs, "resources": list(grouped.values())}


def actions(plan: dict) -> dict[str, list[str]]:
    return {c["address"]: c["change"]["actions"] for c in plan.get("resource_changes", [])}


def deploy(plan_with, var_files: list[Path], workdir: Path, rounds: int = 6) -> tuple[Path, dict]:
    """A state file as after `terraform apply` of var_files, and the plan that made it;
    plan_with(var_files, state, out) -> plan JSON.  Each round resolves one more level of
    references between made-up ids (network -> subnet -> port -> instance)."""
    workdir.mkdir(parents=True, exist_ok=True)
    state = workdir / "deployed.tfstate"
    first = plan_with(var_files, workdir / "none.tfstate", workdir / "p0")
    state.write_text(json.dumps(state_from(first)))
    for serial in range(2, rounds + 2):
        settled = plan_with(var_files, state, workdir / f"p{serial}")
        moving = {a: act for a, act in actions(settled).items() if act != ["no-op"]}
        if not moving:
            return state, first
        state.write_text(json.dumps(state_from(settled, serial)))
    raise AssertionError(f"the made-up deployed state does not settle: {moving}")


def release_with_pin(modules: Path, dest: Path, package: str, version: str) -> Path:
    """The terraform/ and cloudinit/ under `modules` (those a deployment was planned from: the
    session's workspace) copied to dest as a congress-tf release whose runtime pin
    (cloudinit/congress-constraints.txt) moves `package` to `version`; nothing else differs."""
    for name in ("terraform", "cloudinit"):
        copy_tree(modules / name, dest / name)
    path = dest / "cloudinit" / "congress-constraints.txt"
    text, found = re.subn(rf"^{re.escape(package)}==\S+$", f"{package}=={version}", path.read_text(), flags=re.M)
    if found != 1:
        raise ValueError(f"{path} pins {package} {found} times")
    path.write_text(text)
    return dest


# Test networks live in 198.18.0.0/15.
NETWORKS = {
    "no-octavia": {"cidr": "198.18.40.0/24", "existing_network_id": "00000000-0000-4000-8000-00000000e701",
                   "existing_subnet_id": "00000000-0000-4000-8000-00000000e702"},
    "minimal": {"cidr": "198.18.20.0/24"},
}


@pytest.fixture(scope="session")
def day2(terraform, terraform_binary, terraform_env, tmp_path_factory):
    """day2(example, before, after, release=None) -> (plan JSON of `after` against the state of
    `before`, prior plan JSON).  `before` and `after` are tfvars overrides on top of the example;
    `release`, a directory holding another terraform/ and cloudinit/ (release_with_pin), plans
    `after` with those modules instead of the shipped ones, as a new congress-tf release would."""
    tf = terraform("terraform")
    env = {**os.environ, **terraform_env}
    cache: dict[tuple, tuple[Path, dict]] = {}

    def var_files(example: str, overrides: dict, where: Path) -> list[Path]:
        path = where / "overrides.tfvars.json"
        path.write_text(json.dumps({"network": NETWORKS[example], **overrides}))
        return [example_tfvars(example), path]

    def plan_with(files, state, out, tfdir: Path = Path(tf.tfdir)):
        return run_plan(terraform_binary, env, tfdir, files, state, out)

    def run(example: str, before: dict, after: dict, release: Path | None = None) -> tuple[dict, dict]:
        key = (example, json.dumps(before, sort_keys=True))
        where = tmp_path_factory.mktemp("day2")
        if key not in cache:
            cache[key] = deploy(plan_with, var_files(example, before, _mk(where / "b")), where / "deployed")
        state, prior = cache[key]
        tfdir = Path(tf.tfdir)
        if release is not None:
            tfdir = release / "terraform"
            subprocess.run([terraform_binary, f"-chdir={tfdir}", "init", "-input=false"], env=env, check=True,
                           capture_output=True)
        return plan_with(var_files(example, after, _mk(where / "a")), state, where / "after.plan", tfdir), prior

    return run


def _mk(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path
