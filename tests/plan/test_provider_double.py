"""The OpenStack provider used for planning: its schema against the real provider's, and how
a small configuration plans.  Every assertion here is behaviour the real provider has too,
so the file passes unchanged with CONGRESS_TF_TEST_PROVIDER=real."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
import tftest

from provider_double.vendor_schema import ADDRESS, RESOURCE_TYPES

SMALL = Path(__file__).parent / "fixtures" / "small"
REFERENCE = Path(__file__).resolve().parents[3] / "shared" / "reference" / "openstack-provider-schema-v3.4.0.json"
USER_DATA = "#cloud-config\nhostname: congress-1\n"
FLAGS = ("required", "optional", "computed", "sensitive")


# ---- schema fidelity ------------------------------------------------------------------

def shape(block: dict) -> dict:
    """What Terraform enforces of a block: attribute types and flags, nested block structure."""
    return {
        "attributes": {name: {"type": a["type"], **{f: a.get(f, False) for f in FLAGS}}
                       for name, a in block.get("attributes", {}).items()},
        "blocks": {name: {"nesting_mode": b["nesting_mode"], "min_items": b.get("min_items", 0),
                          "max_items": b.get("max_items", 0), "block": shape(b["block"])}
                   for name, b in block.get("block_types", {}).items()},
    }


@pytest.fixture(scope="module")
def served_schema(terraform) -> dict:
    """The provider schema as Terraform sees it from the provider under test."""
    out = terraform(SMALL).execute_command("providers", "schema", "-json").out
    return json.loads(out)["provider_schemas"][ADDRESS]


@pytest.fixture(scope="module")
def reference_schema() -> dict:
    if not REFERENCE.exists():
        pytest.skip(f"reference schema dump {REFERENCE} is absent (it lives in shared/reference)")
    return json.loads(REFERENCE.read_text())["provider_schemas"][ADDRESS]


def test_every_resource_type_is_served(served_schema):
    assert set(RESOURCE_TYPES) <= set(served_schema["resource_schemas"])


@pytest.mark.parametrize("name", ["provider", *RESOURCE_TYPES])
def test_schema_matches_real_provider(name, served_schema, reference_schema):
    def pick(schema):
        return schema["provider"] if name == "provider" else schema["resource_schemas"][name]

    served, reference = pick(served_schema), pick(reference_schema)
    assert served.get("version", 0) == reference.get("version", 0)
    assert shape(served["block"]) == shape(reference["block"])


# ---- planning the small configuration -------------------------------------------------

@pytest.fixture(scope="module")
def small(plan):
    return plan(SMALL)


def only(plan_, type_: str) -> dict:
    (change,) = [c for c in plan_.changes.values() if c["type"] == type_]
    return change


def test_small_config_plans_every_resource_as_create(small):
    actions = {address: change["change"]["actions"] for address, change in small.changes.items()}
    assert len(actions) == 12
    assert set(map(tuple, actions.values())) == {("create",)}


def test_user_data_is_planned_as_its_sha1(small):
    (instance,) = small.values("openstack_compute_instance_v2")
    assert instance["user_data"] == hashlib.sha1(USER_DATA.encode()).hexdigest()
    assert small.outputs["user_data"] == USER_DATA


def test_computed_ids_are_unknown_until_apply(small):
    for change in small.changes.values():
        assert change["change"]["after_unknown"].get("id") is True, change["address"]
        assert "id" not in change["change"]["after"] or change["change"]["after"]["id"] is None


def test_pool_keeps_source_ip_persistence(small):
    (pool,) = small.values("openstack_lb_pool_v2")
    assert [p["type"] for p in pool["persistence"]] == ["SOURCE_IP"]
    assert pool["lb_method"] == "ROUND_ROBIN"


def test_configured_values_are_planned_as_written(small):
    (port,) = small.values("openstack_networking_port_v2")
    assert [ip["ip_address"] for ip in port["fixed_ip"]] == ["10.10.0.11"]
    (group,) = small.values("openstack_compute_servergroup_v2")
    assert group["policies"] == ["anti-affinity"]
    (rule,) = small.values("openstack_networking_secgroup_rule_v2")
    assert (rule["direction"], rule["port_range_min"], rule["remote_ip_prefix"]) == ("ingress", 1789, "10.10.0.0/24")


# ---- what planning rejects ------------------------------------------------------------

def plan_error(plan, tmp_path: Path, old: str, new: str) -> str:
    """Plan a copy of the small fixture with one text replacement; return Terraform's error."""
    tfdir = tmp_path / "small"
    shutil.copytree(SMALL, tfdir)
    text = (tfdir / "main.tf").read_text()
    assert old in text
    (tfdir / "main.tf").write_text(text.replace(old, new, 1))
    with pytest.raises(tftest.TerraformTestError) as failure:
        plan(tfdir)
    return " ".join(str(failure.value).split())  # undo Terraform's line wrapping


def test_misspelled_argument_is_rejected(plan, tmp_path):
    error = plan_error(plan, tmp_path, 'lb_method   = "ROUND_ROBIN"', 'lb_methd    = "ROUND_ROBIN"')
    assert "Unsupported argument" in error and "lb_methd" in error


def test_missing_required_argument_is_rejected(plan, tmp_path):
    error = plan_error(plan, tmp_path, '  ethertype         = "IPv4"\n', "")
    assert "Missing required argument" in error and '"ethertype" is required' in error


def test_unknown_lb_method_is_rejected(plan, tmp_path):
    error = plan_error(plan, tmp_path, 'lb_method   = "ROUND_ROBIN"', 'lb_method   = "RANDOM"')
    assert "lb_method" in error and "ROUND_ROBIN" in error and "RANDOM" in error


def test_unknown_persistence_type_is_rejected(plan, tmp_path):
    error = plan_error(plan, tmp_path, 'type = "SOURCE_IP"', 'type = "STICKY"')
    assert "persistence" in error and "SOURCE_IP" in error and "STICKY" in error


def test_unknown_secgroup_rule_direction_is_rejected(plan, tmp_path):
    error = plan_error(plan, tmp_path, 'direction         = "ingress"', 'direction         = "inbound"')
    assert "direction" in error and "inbound" in error


def test_data_source_fails_clearly(plan, tmp_path):
    data = '\ndata "openstack_networking_network_v2" "public" {\n  name = "public"\n}\n'
    error = plan_error(plan, tmp_path, "\noutput ", data + "\noutput ")
    assert "openstack_networking_network_v2" in error and "public" in error


# ---- planning against existing state ----------------------------------------------------

PRIOR_STATE = {
    "openstack_lb_pool_v2.api": {"id": "pool-1", "name": "api", "protocol": "TCP", "lb_method": "ROUND_ROBIN",
                                 "listener_id": "listener-1", "region": "RegionOne", "admin_state_up": True},
    "openstack_compute_instance_v2.node": {"id": "vm-1", "name": "congress-1", "region": "RegionOne",
                                           "user_data": hashlib.sha1(b"#cloud-config\n").hexdigest()},
}
# Terraform records schema-sensitive paths in state; without them it plans an update.
SENSITIVE = {"openstack_compute_instance_v2.node": [[{"type": "get_attr", "value": "admin_pass"}]]}
DEPLOYED = """
terraform {
  required_providers {
    openstack = { source = "terraform-provider-openstack/openstack" }
  }
  backend "local" { path = "prior.state" }
}
provider "openstack" {
  auth_url = "https://keystone.invalid:5000/v3"
}
resource "openstack_lb_pool_v2" "api" {
  name           = "api"
  protocol       = "TCP"
  lb_method      = "ROUND_ROBIN"
  listener_id    = "listener-1"
  admin_state_up = true
}
resource "openstack_compute_instance_v2" "node" {
  name      = "congress-1"
  user_data = "#cloud-config\\n"
}
"""


def deployed(tmp_path: Path, old: str = "", new: str = "") -> Path:
    """The DEPLOYED config (optionally edited) with PRIOR_STATE as its local backend's state."""
    tfdir = tmp_path / "deployed"
    tfdir.mkdir()
    (tfdir / "main.tf").write_text(DEPLOYED.replace(old, new, 1))
    provider = 'provider["registry.terraform.io/terraform-provider-openstack/openstack"]'
    resources = [{"mode": "managed", "type": address.split(".")[0], "name": address.split(".")[1],
                  "provider": provider, "instances": [{"schema_version": 0, "attributes": attributes,
                                                        "sensitive_attributes": SENSITIVE.get(address, [])}]}
                 for address, attributes in PRIOR_STATE.items()]
    (tfdir / "prior.state").write_text(json.dumps(
        {"version": 4, "terraform_version": "1.11.4", "serial": 1, "lineage": "provider-double-test",
         "outputs": {}, "resources": resources}))
    return tfdir


def actions(plan_) -> dict[str, list[str]]:
    return {address: change["change"]["actions"] for address, change in plan_.changes.items()}


def test_updatable_attribute_changes_in_place(plan, tmp_path):
    changed = plan(deployed(tmp_path, 'name           = "api"', 'name           = "congress-api"'))
    assert actions(changed)["openstack_lb_pool_v2.api"] == ["update"]
    assert actions(changed)["openstack_compute_instance_v2.node"] == ["no-op"]


def test_force_new_attribute_replaces(plan, tmp_path):
    changed = plan(deployed(tmp_path, 'protocol       = "TCP"', 'protocol       = "HTTP"'))
    assert actions(changed)["openstack_lb_pool_v2.api"] == ["delete", "create"]
    assert changed.changes["openstack_lb_pool_v2.api"]["change"]["replace_paths"] == [["protocol"]]


def test_changed_user_data_replaces_the_instance(plan, tmp_path):
    changed = plan(deployed(tmp_path, '"#cloud-config\\n"', '"#cloud-config\\nhostname: other\\n"'))
    assert actions(changed)["openstack_compute_instance_v2.node"] == ["delete", "create"]
    assert changed.changes["openstack_compute_instance_v2.node"]["change"]["after_unknown"]["id"] is True


def test_removed_resource_is_destroyed(plan, tmp_path):
    tfdir = deployed(tmp_path)
    text = (tfdir / "main.tf").read_text()
    (tfdir / "main.tf").write_text(text[:text.index('resource "openstack_compute_instance_v2"')])
    assert actions(plan(tfdir))["openstack_compute_instance_v2.node"] == ["delete"]


def test_double_rules_name_real_attributes():
    """The double's ForceNew/enumeration tables only name attributes its schema has."""
    from provider_double.rules import ENUMS, FORCE_NEW
    from provider_double.server import RESOURCES

    for type_, names in [*FORCE_NEW.items(), *((t, set(e)) for t, e in ENUMS.items())]:
        block = RESOURCES[type_]["block"]
        for name in names - {"*"}:
            top, _, nested = name.partition(".")
            assert top in block.get("attributes", {}) or top in block.get("block_types", {}), (type_, name)
            if nested:
                assert nested in block["block_types"][top]["block"]["attributes"], (type_, name)
