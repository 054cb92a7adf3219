"""Apply retries VMs Nova could not schedule, judged from real Nova server records in ERROR.

The servers here are real Nova servers on the control plane's fake compute hosts: one more than
the hosts in a hard anti-affinity group ends in ERROR with Nova's scheduling fault. Terraform is a
scripted stand-in (the real provider is not available offline) that reports that server's
instance as failed, as the provider does, until the apply it is told succeeds.
"""

from __future__ import annotations

import json
import sys
import time

import pytest
import yaml
from click.testing import CliRunner

from congress_tf.cli import main
from congress_tf.cloud import OpenStackCloud
from congress_tf.reschedule import RETRIES, unscheduled
from controlplane.harness import COMPUTE_HOSTS, IMAGE

SCRIPT = r'''#!{python}
"""Scripted Terraform: each apply takes the next outcome from {plan!r} ("fail:<address>" or "ok")."""
import json, sys
args = [a for a in sys.argv[1:] if not a.startswith("-chdir=")]
cmd = args[0] if args else ""
def ev(kind, msg, **kw):
    print(json.dumps({{"@level": "info", "@message": msg, "type": kind, **kw}}), flush=True)
if cmd == "version":
    print(json.dumps({{"terraform_version": "1.99.0"}}))
elif cmd == "apply":
    with open({plan!r}) as f:
        plan = json.load(f)
    outcome = plan["outcomes"].pop(0) if plan["outcomes"] else "ok"
    plan["applies"] += 1
    with open({plan!r}, "w") as f:
        json.dump(plan, f)
    if outcome.startswith("fail:"):
        addr = outcome[5:]
        res = {{"addr": addr, "resource_type": "openstack_compute_instance_v2"}}
        ev("apply_start", addr + ": Creating...", hook={{"resource": res, "action": "create"}})
        ev("apply_errored", addr + ": Creation errored", hook={{"resource": res, "action": "create", "elapsed_seconds": 4}})
        print(json.dumps({{"@level": "error", "@message": "Error: waiting for instance", "type": "diagnostic",
                          "diagnostic": {{"severity": "error", "summary": "Error waiting for instance to become ready",
                                         "detail": "state ERROR"}}}}))
        sys.exit(1)
    ev("change_summary", "Apply complete! Resources: 1 added, 0 changed, 0 destroyed.",
       changes={{"add": 1, "change": 0, "remove": 0, "operation": "apply"}})
elif cmd == "output":
    print(json.dumps({{"api_vip": {{"sensitive": False, "type": "string", "value": "198.18.30.10"}}}}))
'''


def instance(name: str) -> str:
    return f'module.policy_engine.openstack_compute_instance_v2.node["{name}"]'


@pytest.fixture(scope="module")
def servers(control_plane):
    """COMPUTE_HOSTS + 1 servers of one hard anti-affinity group, booted one after another (the
    last cannot be placed), and one server an admin set to ERROR (no scheduling fault)."""
    conn = control_plane.connect()
    prefix = f"rs{int(time.time()) % 100000}"
    net = conn.network.create_network(name=f"{prefix}-net")
    conn.network.create_subnet(network_id=net.id, ip_version=4, cidr="198.18.30.0/24")
    group = conn.compute.create_server_group(name=f"{prefix}-policy-engine", policies=["anti-affinity"])
    image, flavor = conn.image.find_image(IMAGE), conn.compute.find_flavor("m1.small")
    out = {}
    for i in range(COMPUTE_HOSTS + 2):
        name = f"{prefix}-pe-{i}"
        port = conn.network.create_port(network_id=net.id)
        hints = {"group": group.id} if i <= COMPUTE_HOSTS else {}
        server = conn.compute.create_server(name=name, image_id=image.id, flavor_id=flavor.id,
                                            networks=[{"port": port.id}], scheduler_hints=hints)
        out[name] = conn.compute.wait_for_server(server, status="ACTIVE", failures=["ERROR"], wait=180) \
            if i != COMPUTE_HOSTS else _wait_error(conn, server)
    admin_broken = out[f"{prefix}-pe-{COMPUTE_HOSTS + 1}"]
    conn.compute.reset_server_state(admin_broken, "error")
    return {"prefix": prefix, "unscheduled": f"{prefix}-pe-{COMPUTE_HOSTS}",
            "active": f"{prefix}-pe-0", "error_no_fault": admin_broken.name}


def _wait_error(conn, server):
    return conn.compute.wait_for_server(server, status="ERROR", failures=["ACTIVE"], wait=180)


def test_nova_scheduling_faults_are_recognised(cloud_env, admin, servers):
    record = admin.compute.get_server(admin.compute.find_server(servers["unscheduled"]).id)
    assert record.status == "ERROR" and "No valid host was found" in record.fault["message"]
    cloud = OpenStackCloud("controlplane")
    found = unscheduled(cloud, [instance(servers["unscheduled"])])
    assert found == {instance(servers["unscheduled"]): record.fault["message"]}
    assert unscheduled(cloud, [instance(servers["active"])]) is None
    assert unscheduled(cloud, [instance(servers["error_no_fault"])]) is None
    # Something else failed beside the VM: Terraform's error is the one to report.
    assert unscheduled(cloud, [instance(servers["unscheduled"]),
                               "module.lb_octavia[0].openstack_lb_loadbalancer_v2.api"]) is None


def run_apply(tmp_path, outcomes: list[str], name_prefix: str):
    plan = tmp_path / "applies.json"
    plan.write_text(json.dumps({"outcomes": outcomes, "applies": 0}))
    terraform = tmp_path / "terraform"
    terraform.write_text(SCRIPT.format(python=sys.executable, plan=str(plan)))
    terraform.chmod(0o755)
    env_file = tmp_path / "env.yaml"
    env_file.write_text(yaml.safe_dump({
        "name": "rs", "cloud": "controlplane", "name_prefix": name_prefix, "image": IMAGE,
        "flavors": {"default": "m1.small"}, "network": {"cidr": "198.18.30.0/24"}, "lb_provider": "octavia",
        "auth_strategy": "noauth", "server_group_policy": "soft-anti-affinity"}))
    result = CliRunner().invoke(main, ["--terraform", str(terraform), "apply", "-y", str(env_file)])
    return result, json.loads(plan.read_text())["applies"]


def test_apply_replaces_a_vm_nova_could_not_schedule_and_says_so(tmp_path, cloud_env, servers):
    result, applies = run_apply(tmp_path, [f"fail:{instance(servers['unscheduled'])}", "ok"], servers["prefix"])
    assert result.exit_code == 0, result.output
    assert applies == 2
    assert f"not scheduled {instance(servers['unscheduled'])}: Nova said 'No valid host was found" in result.output
    assert f"retry 1/{RETRIES}: applying again; Terraform replaces the 1 VM(s) Nova could not schedule" in result.output


def test_the_retries_are_bounded(tmp_path, cloud_env, servers):
    fail = f"fail:{instance(servers['unscheduled'])}"
    result, applies = run_apply(tmp_path, [fail] * (RETRIES + 3), servers["prefix"])
    assert result.exit_code == 1
    assert applies == RETRIES + 1
    assert f"retry {RETRIES}/{RETRIES}" in result.output and "terraform apply failed" in result.output


@pytest.mark.parametrize("which", ["error_no_fault", "active"])
def test_other_failures_are_not_retried(tmp_path, cloud_env, servers, which):
    result, applies = run_apply(tmp_path, [f"fail:{instance(servers[which])}", "ok"], servers["prefix"])
    assert result.exit_code == 1
    assert applies == 1
    assert "retry" not in result.output and "terraform apply failed" in result.output
