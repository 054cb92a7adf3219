"""`congress-tf status --cloud-only` reads real Nova servers and a real Octavia load balancer.

The deployment is built here with openstacksdk (the real provider is not available offline): the
servers and the load balancer carry the names the root module gives them, and the state holds the
outputs Terraform would have written. No HTTP or TCP check is made: the fake servers' addresses
belong to no host.
"""

from __future__ import annotations

import json
import time

import pytest
import yaml
from click.testing import CliRunner

from congress_tf.cli import main
from congress_tf.state import StateDir
from controlplane.harness import IMAGE

ROLES = {"policy_engine": ("pe-0", "pe-1"), "datasource": ("ds-0", "ds-1"), "backing": ("db", "mq")}


def wait(what, check, timeout=120):
    deadline = time.monotonic() + timeout
    while not (result := check()):
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(1)
    return result


class NoProbe:
    def __call__(self):
        raise AssertionError("status --cloud-only must not probe the nodes")


@pytest.fixture(scope="module")
def deployment(control_plane):
    """A small deployment's VMs and load balancer, named as the root module names them."""
    conn = control_plane.connect()
    prefix = f"st{int(time.time()) % 100000}"
    net = conn.network.create_network(name=f"{prefix}-net")
    subnet = conn.network.create_subnet(network_id=net.id, name=f"{prefix}-subnet", ip_version=4,
                                        cidr="198.18.20.0/24")
    image, flavor = conn.image.find_image(IMAGE), conn.compute.find_flavor("m1.small")
    servers, nodes = {}, {}
    for role, suffixes in ROLES.items():
        for suffix in suffixes:
            name = f"{prefix}-{suffix}"
            port = conn.network.create_port(network_id=net.id, name=name)
            servers[name] = conn.compute.create_server(name=name, image_id=image.id, flavor_id=flavor.id,
                                                       networks=[{"port": port.id}])
            nodes.setdefault(role, {})[name] = port.fixed_ips[0]["ip_address"]
    for server in servers.values():
        conn.compute.wait_for_server(server, wait=180)
    lb = conn.load_balancer.create_load_balancer(name=f"{prefix}-api", vip_subnet_id=subnet.id)
    active = lambda: conn.load_balancer.get_load_balancer(lb.id).provisioning_status == "ACTIVE"  # noqa: E731
    wait("load balancer", active)
    listener = conn.load_balancer.create_listener(name=f"{prefix}-api", protocol="HTTP", protocol_port=1789,
                                                  load_balancer_id=lb.id)
    wait("listener", active)
    pool = conn.load_balancer.create_pool(name=f"{prefix}-api", protocol="HTTP", lb_algorithm="ROUND_ROBIN",
                                          listener_id=listener.id)
    wait("pool", active)
    for name, ip in nodes["policy_engine"].items():
        conn.load_balancer.create_member(pool, address=ip, protocol_port=1789, subnet_id=subnet.id, name=name)
        wait("member", active)
    lb = conn.load_balancer.get_load_balancer(lb.id)
    yield {"prefix": prefix, "lb": lb, "pool": pool, "nodes": nodes, "servers": servers}
    # Best effort: the control plane is thrown away with the session anyway.
    try:
        conn.load_balancer.delete_load_balancer(lb, cascade=True)
        for server in servers.values():
            conn.compute.delete_server(server)
    except Exception:  # noqa: BLE001
        pass


def env_with_state(tmp_path, deployment):
    env_file = tmp_path / "env.yaml"
    env_file.write_text(yaml.safe_dump({
        "name": "st", "cloud": "controlplane", "name_prefix": deployment["prefix"], "image": IMAGE,
        "flavors": {"default": "m1.small"}, "network": {"cidr": "198.18.20.0/24"}, "lb_provider": "octavia",
        "auth_strategy": "noauth"}))
    vip = deployment["lb"].vip_address
    outputs = {"api_vip": vip, "api_url": f"http://{vip}:1789/", "api_floating_ip": None,
               "nodes": {**deployment["nodes"], "haproxy": {}}}
    sd = StateDir(env_file, "st")
    sd.create()
    sd.state_file.write_text(json.dumps({
        "version": 4, "terraform_version": "1.6.0", "serial": 1, "lineage": "00000000-0000-4000-8000-000000000001",
        "outputs": {k: {"value": v, "type": "string" if k != "nodes" else
                        ["object", {r: ["map", "string"] for r in outputs["nodes"]}]} for k, v in outputs.items()},
        "resources": [], "check_results": None}))
    return env_file


def status(env_file):
    result = CliRunner().invoke(main, ["status", "--cloud-only", "--json", str(env_file)], obj={"probe": NoProbe()})
    return result, {(c["check"], c["target"]): c for c in json.loads(result.stdout or "[]")}


def test_status_reads_vm_states_and_the_load_balancer_from_the_cloud(tmp_path, cloud_env, terraform_env, monkeypatch,
                                                                      deployment):
    for key, value in terraform_env.items():  # Terraform with the provider double (it only reads outputs)
        if key != "OS_CLIENT_CONFIG_FILE":
            monkeypatch.setenv(key, value)
    env_file = env_with_state(tmp_path, deployment)
    prefix, lb = deployment["prefix"], deployment["lb"]

    # As Octavia reports it with no health manager running: ACTIVE, but OFFLINE.
    result, checks = status(env_file)
    assert result.exit_code == 1, result.output
    row = checks[("octavia load balancer", f"{prefix}-api")]
    assert not row["ok"] and row["detail"] == "ACTIVE/OFFLINE"
    assert {target for check, target in checks if check == "vm"} == set(deployment["servers"])
    assert all(c["ok"] and c["detail"] == "ACTIVE" for (check, _), c in checks.items() if check == "vm")
    assert not any(check.startswith(("api", "datasource")) for check, _ in checks)

    # What Octavia's health manager would record once the members answer.
    cloud_env.sql("octavia", f"UPDATE load_balancer SET operating_status='ONLINE' WHERE id='{lb.id}';"
                             f"UPDATE member SET operating_status='ONLINE' WHERE pool_id='{deployment['pool'].id}';")
    result, checks = status(env_file)
    assert result.exit_code == 0, result.output
    members = {target for check, target in checks if check == "octavia member"}
    assert members == set(deployment["nodes"]["policy_engine"].values())

    # A VM in ERROR is a failed row with Nova's own status.
    broken = deployment["servers"][f"{prefix}-ds-1"]
    cloud_env.connect().compute.reset_server_state(broken, "error")
    result, checks = status(env_file)
    assert result.exit_code == 1
    failed = {key for key, c in checks.items() if not c["ok"]}
    assert failed == {("vm", f"{prefix}-ds-1")}
    assert checks[("vm", f"{prefix}-ds-1")]["detail"].startswith("ERROR")
