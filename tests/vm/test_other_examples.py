"""examples/minimal and examples/production booted for real (harness.py), one after the other.

Their load balancer is Octavia, which is not a VM: the Congress nodes are checked directly
(GET / on every policy engine, a policy created on one served by all, ds-node running).
Not shown here, because no cloud is behind the bridge: the Octavia load balancer, the router
and floating IP, and in production the fencing itself (fence_openstack would ask Nova, which
does not exist here: the devices are configured but never fence) and Keystone (with
auth_strategy keystone only the unauthenticated GET / is asked).
"""

from __future__ import annotations

import pytest

from checks import api_ok, cloud_init_problems, create_policy, not_running, vms_of, wait_for, wait_served_everywhere
from harness import TEST_CIDR

pytestmark = pytest.mark.vm

# The examples' own network, on the bridge's subnet (the external network id is the examples' dummy).
OVERRIDES = {"network": {"cidr": TEST_CIDR, "external_network_id": "00000000-0000-4000-8000-0000000e7e01"}}


@pytest.fixture(scope="module", params=["minimal", "production"])
def example(request, booted):
    with booted(request.param, **OVERRIDES) as cluster:
        cluster.example = request.param
        yield cluster


def test_every_vm_boots_clean(example):
    assert sorted(example.boot_times) == sorted(example.vms), "cloud-init never finished on some VMs"
    assert not cloud_init_problems(example)
    assert not not_running(example)


def test_every_policy_engine_serves_the_api_and_the_same_policies(example):
    engines = vms_of(example, "policy_engine")
    assert all(api_ok(example, pe) for pe in engines)
    if example.example == "production":
        pytest.skip("auth_strategy keystone: creating a policy needs a Keystone token (no Keystone here)")
    first = f"http://{engines[0].ip}:{example.api_url.rsplit(':', 1)[1]}"
    created = [create_policy(example, "vm_example", "example(x) :- seen(x)", base_url=first)]
    wait_served_everywhere(example, created)


def test_ds_node_runs_on_one_datasource_vm(example):
    ds = vms_of(example, "datasource")
    wait_for("ds-node running on a datasource VM", 120,
             lambda: "is running on" in example.exec(ds[0], "crm_resource --resource ds-node --locate").stdout)
