"""`congress-tf status` reads the real Keystone catalog: does `openstack congress` reach this VIP?

The catalog entries are made here with openstacksdk as terraform/modules/catalog makes them (a
service of type policy named congress, public/internal/admin endpoints on the API URL; the real
provider cannot be installed offline), as the control plane's admin. status itself runs as the
non-admin member user: it reads its own token's catalog, which needs no admin. The state holds the
outputs Terraform would have written; the environment has no VMs and no Octavia load balancer, so
the catalog rows are the only checks and decide the exit code.
"""

from __future__ import annotations

import json

import pytest
import yaml
from click.testing import CliRunner

from congress_tf.cli import main
from congress_tf.state import StateDir
from controlplane.harness import IMAGE, REGION

VIP = "198.18.30.10"
API_URL = f"http://{VIP}:1789/"
INTERFACES = ("public", "internal", "admin")


@pytest.fixture
def policy_service(admin):
    """Creates the catalog entries as the catalog module does; removes every policy service after
    (and before: a run killed midway must not leave other tests a catalog pointing elsewhere)."""
    def remove():
        for service in list(admin.identity.services(type="policy")):
            for endpoint in list(admin.identity.endpoints(service_id=service.id)):
                admin.identity.delete_endpoint(endpoint)
            admin.identity.delete_service(service)

    def register(urls: dict[str, str]):
        service = admin.identity.create_service(type="policy", name="congress", is_enabled=True,
                                                description="OpenStack Congress: policy as a service")
        return {interface: admin.identity.create_endpoint(service_id=service.id, interface=interface, url=url,
                                                          region_id=REGION)
                for interface, url in urls.items()}

    remove()
    yield register
    remove()


def env_with_state(tmp_path, registered: bool):
    env_file = tmp_path / "env.yaml"
    env_file.write_text(yaml.safe_dump({
        "name": "cat", "cloud": "controlplane-member", "image": IMAGE, "flavors": {"default": "m1.small"},
        "network": {"cidr": "198.18.30.0/24"}, "lb_provider": "haproxy", "auth_strategy": "noauth",
        "catalog": {"enabled": registered, "region": REGION}}))
    catalog = {"region": REGION, "endpoints": dict.fromkeys(INTERFACES, API_URL)} if registered else None
    outputs = {
        "api_vip": (VIP, "string"), "api_url": (API_URL, "string"), "api_floating_ip": (None, "string"),
        "nodes": ({}, ["object", {}]),
        "catalog": (catalog, ["object", {"region": "string", "endpoints": ["map", "string"]}]),
    }
    sd = StateDir(env_file, "cat")
    sd.create()
    sd.state_file.write_text(json.dumps({
        "version": 4, "terraform_version": "1.6.0", "serial": 1, "lineage": "00000000-0000-4000-8000-0000000ca7a1",
        "outputs": {name: {"value": value, "type": type_} for name, (value, type_) in outputs.items()},
        "resources": [], "check_results": None}))
    return env_file


@pytest.fixture
def status(cloud_env, terraform_env, monkeypatch):
    for key, value in terraform_env.items():  # Terraform with the provider double (it only reads outputs)
        if key != "OS_CLIENT_CONFIG_FILE":
            monkeypatch.setenv(key, value)

    def run(env_file):
        result = CliRunner().invoke(main, ["status", "--cloud-only", "--json", str(env_file)])
        rows = json.loads(result.stdout or "[]")
        return result, {row["target"]: row for row in rows if row["check"] == "catalog endpoint"}, rows

    return run


def test_status_checks_the_registered_endpoints_point_at_the_vip(tmp_path, status, policy_service, admin):
    env_file = env_with_state(tmp_path, registered=True)
    targets = {f"policy {interface} ({REGION})" for interface in INTERFACES}

    result, rows, _ = status(env_file)
    assert result.exit_code == 1, result.output
    assert set(rows) == targets
    assert all(not row["ok"] and row["detail"].startswith("missing") for row in rows.values())

    endpoints = policy_service(dict.fromkeys(INTERFACES, API_URL))
    result, rows, every = status(env_file)
    assert result.exit_code == 0, result.output
    assert set(rows) == targets and all(row["ok"] for row in rows.values())
    assert len(every) == 3  # no VM, no Octavia: the catalog rows are all there is

    # Someone moved the internal endpoint: status says where it points now.
    admin.identity.update_endpoint(endpoints["internal"], url="http://198.18.30.99:1789/")
    result, rows, _ = status(env_file)
    assert result.exit_code == 1
    assert [target for target, row in rows.items() if not row["ok"]] == [f"policy internal ({REGION})"]
    assert "http://198.18.30.99:1789/" in rows[f"policy internal ({REGION})"]["detail"]
    assert API_URL in rows[f"policy internal ({REGION})"]["detail"]


def test_status_without_registration_checks_whatever_policy_endpoint_the_region_has(tmp_path, status,
                                                                                  policy_service):
    env_file = env_with_state(tmp_path, registered=False)
    result, rows, every = status(env_file)
    assert (result.exit_code, rows, every) == (0, {}, [])  # nothing registered, nothing to check

    # An operator registered the service by hand: public on the VIP, internal on another deployment.
    policy_service({"public": API_URL.rstrip("/"), "internal": "http://198.18.31.10:1789/"})
    result, rows, _ = status(env_file)
    assert result.exit_code == 1
    assert rows[f"policy public ({REGION})"]["ok"]
    internal = rows[f"policy internal ({REGION})"]
    assert not internal["ok"] and "198.18.31.10" in internal["detail"]
