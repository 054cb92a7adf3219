"""The OpenStack provider used for planning: its schema against the real provider's, and how
a small configuration plans.  Every assertion here is behaviour the real provider has too,
so the file passes unchanged with CONGRESS_TF_TEST_PROVIDER=real."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import pytest
import tftest

from paths import EXAMPLE_CLOUDS_YAML
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


def test_sdk_defaults_are_planned_when_unset(small):
    (instance,) = small.values("openstack_compute_instance_v2")
    assert (instance["power_state"], instance["stop_before_destroy"], instance["force_delete"]) == ("active", False, False)
    assert [n["access_network"] for n in instance["network"]] == [False]
    (pool,) = small.values("openstack_lb_pool_v2")
    assert pool["admin_state_up"] is True


def test_allowed_address_pair_mac_is_not_planned_null(small):
    (port,) = small.values("openstack_networking_port_v2")
    assert [pair["ip_address"] for pair in port["allowed_address_pairs"]] == ["198.18.10.10"]
    unknown = only(small, "openstack_networking_port_v2")["change"]["after_unknown"].get("allowed_address_pairs")
    # The double plans "" as SDKv2 does for a new set element; an unknown would be as true to "not null".
    for pair, pair_unknown in zip(port["allowed_address_pairs"], unknown or [{}] * len(port["allowed_address_pairs"])):
        assert pair.get("mac_address") is not None or pair_unknown.get("mac_address") is True, pair


def test_configured_values_are_planned_as_written(small):
    (port,) = small.values("openstack_networking_port_v2")
    assert [ip["ip_address"] for ip in port["fixed_ip"]] == ["198.18.10.11"]
    (group,) = small.values("openstack_compute_servergroup_v2")
    assert group["policies"] == ["anti-affinity"]
    (rule,) = small.values("openstack_networking_secgroup_rule_v2")
    assert (rule["direction"], rule["port_range_min"], rule["remote_ip_prefix"]) == ("ingress", 1789, "198.18.10.0/24")


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


# ---- configuring the provider ----------------------------------------------------------

CONFIGURED = """
terraform {
  required_providers {
    openstack = { source = "terraform-provider-openstack/openstack" }
  }
}
variable "cloud" {
  type    = string
  default = null
}
variable "auth_url" {
  type    = string
  default = null
}
provider "openstack" {
  cloud    = var.cloud
  auth_url = var.auth_url
}
resource "openstack_compute_servergroup_v2" "group" {
  name     = "congress"
  policies = ["anti-affinity"]
}
"""
CLOUD_SETTINGS = ("OS_CLIENT_CONFIG_FILE", "OS_CLOUD", "OS_AUTH_URL")


@pytest.fixture(scope="module")
def configured_dir(terraform, tmp_path_factory) -> Path:
    """An initialised copy of CONFIGURED, whose only resource needs a configured provider."""
    source = tmp_path_factory.mktemp("configured")
    (source / "main.tf").write_text(CONFIGURED)
    return Path(terraform(source).tfdir)


@pytest.fixture
def configure(configured_dir, terraform_binary, terraform_env):
    """configure(env_changes, **variables) -> Terraform's plan output, whitespace collapsed.
    env_changes maps an environment variable to a value, or to None to unset it."""

    def run(env_changes: dict[str, str | None], **variables: str) -> str:
        tf = tftest.TerraformTest(str(configured_dir), binary=terraform_binary, env=terraform_env)
        for name in CLOUD_SETTINGS:  # only what the test names, whatever the caller's shell has
            tf.env.pop(name, None)
        tf.env["OS_CLIENT_CONFIG_FILE"] = terraform_env["OS_CLIENT_CONFIG_FILE"]
        for name, value in env_changes.items():
            if value is None:
                tf.env.pop(name, None)
            else:
                tf.env[name] = value
        return " ".join(tf.plan(refresh=False, tf_vars=variables).split())

    return run


def configure_error(configure, env_changes: dict, **variables: str) -> str:
    with pytest.raises(tftest.TerraformTestError) as failure:
        configure(env_changes, **variables)
    return " ".join(failure.value.args[0].split())  # Terraform's output, line wrapping undone


@pytest.fixture
def no_standard_clouds_yaml():
    """Skip when this machine has a clouds.yaml where the provider would find it anyway."""
    import pwd

    home = Path(pwd.getpwuid(os.getuid()).pw_dir)
    for directory in (home / ".config" / "openstack", Path("/etc/openstack")):
        for name in ("clouds.yaml", "clouds.yml"):
            if (directory / name).exists():
                pytest.skip(f"{directory / name} exists: the provider would read it")


def test_named_cloud_is_read_from_os_client_config_file(configure):
    assert "1 to add" in configure({}, cloud="lab")


def test_named_cloud_without_any_clouds_yaml_fails(configure, tmp_path, no_standard_clouds_yaml):
    error = configure_error(configure, {"OS_CLIENT_CONFIG_FILE": str(tmp_path / "absent.yaml")}, cloud="lab")
    assert "unable to load clouds.yaml" in error and "file does not exist" in error


def test_clouds_yaml_in_the_working_directory_is_read(configure, configured_dir, no_standard_clouds_yaml):
    local = configured_dir / "clouds.yaml"
    shutil.copyfile(EXAMPLE_CLOUDS_YAML, local)
    try:
        assert "1 to add" in configure({"OS_CLIENT_CONFIG_FILE": None}, cloud="production")
    finally:
        local.unlink()


def test_cloud_missing_from_clouds_yaml_fails(configure):
    error = configure_error(configure, {}, cloud="elsewhere")
    assert "cloud elsewhere does not exist in clouds.yaml" in error


def test_cloud_entry_needs_an_auth_url(configure, tmp_path):
    clouds = tmp_path / "clouds.yaml"
    clouds.write_text("clouds:\n  lab:\n    auth:\n      username: demo\n")
    error = configure_error(configure, {"OS_CLIENT_CONFIG_FILE": str(clouds)}, cloud="lab")
    assert "auth_url" in error


def test_neither_cloud_nor_auth_url_fails(configure):
    assert "One of 'auth_url' or 'cloud' must be specified" in configure_error(configure, {})


def test_os_cloud_stands_for_an_unset_cloud(configure):
    assert "1 to add" in configure({"OS_CLOUD": "lab"})


def test_auth_url_alone_plans_without_clouds_yaml_or_a_reachable_cloud(configure, tmp_path):
    plan_output = configure({"OS_CLIENT_CONFIG_FILE": str(tmp_path / "absent.yaml")},
                            auth_url="http://127.0.0.1:1/v3")
    assert "1 to add" in plan_output


# ---- planning against existing state ----------------------------------------------------

IMAGE, FLAVOR = "00000000-0000-4000-8000-00000000d12a", "00000000-0000-4000-8000-0000000f1a01"
# What the real provider stores after creating DEPLOYED's two resources (and reading them back):
# the configured values, its SDK defaults (power_state, admin_state_up, ...), and everything
# it computes from the cloud.  Arguments left unset are stored as null and may be omitted here.
PRIOR_STATE = {
    "openstack_lb_pool_v2.api": {
        "id": "pool-1", "name": "api", "protocol": "TCP", "lb_method": "ROUND_ROBIN",
        "listener_id": "listener-1", "admin_state_up": True, "persistence": [],
        "region": "RegionOne", "tenant_id": "project-1", "alpn_protocols": [], "tls_ciphers": "",
        "tls_versions": [],
    },
    "openstack_compute_instance_v2.node": {
        "id": "vm-1", "name": "congress-1", "image_id": IMAGE, "flavor_id": FLAVOR,
        "user_data": hashlib.sha1(b"#cloud-config\n").hexdigest(),
        "network": [{"port": "port-1", "uuid": "net-1", "name": "congress-net", "fixed_ip_v4": "198.18.0.11",
                     "fixed_ip_v6": "", "mac": "fa:16:3e:00:00:01", "access_network": False}],
        "power_state": "active", "stop_before_destroy": False, "force_delete": False,
        "region": "RegionOne", "image_name": "debian-12", "flavor_name": "m1.small",
        "security_groups": ["default"], "availability_zone": "nova", "hypervisor_hostname": "",
        "access_ip_v4": "198.18.0.11", "access_ip_v6": "", "all_metadata": {}, "all_tags": [],
        "created": "2026-01-05 09:00:00 +0000 UTC", "updated": "2026-01-05 09:01:00 +0000 UTC",
    },
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
  name        = "api"
  protocol    = "TCP"
  lb_method   = "ROUND_ROBIN"
  listener_id = "listener-1"
}
resource "openstack_compute_instance_v2" "node" {
  name      = "congress-1"
  image_id  = "00000000-0000-4000-8000-00000000d12a"
  flavor_id = "00000000-0000-4000-8000-0000000f1a01"
  user_data = "#cloud-config\\n"
  network {
    port = "port-1"
  }
}
"""


def deployed(tmp_path: Path, old: str = "", new: str = "", state: dict = PRIOR_STATE) -> Path:
    """The DEPLOYED config (optionally edited) with `state` as its local backend's state."""
    tfdir = tmp_path / "deployed"
    tfdir.mkdir()
    (tfdir / "main.tf").write_text(DEPLOYED.replace(old, new, 1))
    provider = 'provider["registry.terraform.io/terraform-provider-openstack/openstack"]'
    resources = [{"mode": "managed", "type": address.split(".")[0], "name": address.split(".")[1],
                  "provider": provider, "instances": [{"schema_version": 0, "attributes": attributes,
                                                        "sensitive_attributes": SENSITIVE.get(address, [])}]}
                 for address, attributes in state.items()]
    (tfdir / "prior.state").write_text(json.dumps(
        {"version": 4, "terraform_version": "1.11.4", "serial": 1, "lineage": "provider-double-test",
         "outputs": {}, "resources": resources}))
    return tfdir


def actions(plan_) -> dict[str, list[str]]:
    return {address: change["change"]["actions"] for address, change in plan_.changes.items()}


def test_updatable_attribute_changes_in_place(plan, tmp_path):
    changed = plan(deployed(tmp_path, 'name        = "api"', 'name        = "congress-api"'))
    assert actions(changed)["openstack_lb_pool_v2.api"] == ["update"]
    assert actions(changed)["openstack_compute_instance_v2.node"] == ["no-op"]


def test_state_lacking_a_default_is_updated_to_it(plan, tmp_path):
    """A state without power_state (not what the provider stores) plans an update to the default."""
    instance = {k: v for k, v in PRIOR_STATE["openstack_compute_instance_v2.node"].items() if k != "power_state"}
    changed = plan(deployed(tmp_path, state={**PRIOR_STATE, "openstack_compute_instance_v2.node": instance}))
    change = changed.changes["openstack_compute_instance_v2.node"]["change"]
    assert change["actions"] == ["update"] and change["after"]["power_state"] == "active"
    assert actions(changed)["openstack_lb_pool_v2.api"] == ["no-op"]


def test_force_new_attribute_replaces(plan, tmp_path):
    changed = plan(deployed(tmp_path, 'protocol    = "TCP"', 'protocol    = "HTTP"'))
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
    """The double's rule tables only name attributes its schema has."""
    from provider_double.rules import DEFAULTS, ENUMS, FORCE_NEW, SET_ELEMENT_ZERO_VALUES
    from provider_double.server import RESOURCES

    tables = [*FORCE_NEW.items(), *((t, set(e)) for t, e in ENUMS.items()),
              *((t, set(d)) for t, d in [*DEFAULTS.items(), *SET_ELEMENT_ZERO_VALUES.items()])]
    for type_, names in tables:
        block = RESOURCES[type_]["block"]
        for name in names - {"*"}:
            top, _, nested = name.partition(".")
            assert top in block.get("attributes", {}) or top in block.get("block_types", {}), (type_, name)
            if nested:
                assert nested in block["block_types"][top]["block"]["attributes"], (type_, name)
