"""The harness itself: a VM boots from a NoCloud seed, and close() leaves nothing behind."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from harness import CGROUP_ROOT, CGROUP_TREES, TEST_GATEWAY, Cluster, wait_for_deletions

pytestmark = pytest.mark.vm

USER_DATA = """#cloud-config
runcmd:
  - [sh, -c, "echo probe-ran > /root/probe"]
"""


@pytest.fixture
def one_vm():
    if os.geteuid() != 0:
        pytest.skip("the VM harness needs root")
    outputs = {"cloud_init": {"probe": USER_DATA}, "nodes": {"probe": {"probe": "198.18.10.50"}},
               "api_vip": "198.18.10.50", "api_url": "http://198.18.10.50:1789/"}
    return Cluster(outputs, log=lambda m: None)


def test_a_vm_boots_its_seed_and_close_leaves_nothing(one_vm):
    cluster = one_vm
    try:
        cluster.start()
        assert cluster.wait_cloud_init(180), "cloud-init did not finish"
        vm = cluster.vms["probe"]
        assert cluster.exec(vm, "cat /root/probe").stdout == "probe-ran\n"
        assert cluster.exec(vm, "systemctl is-system-running --wait").stdout.strip() == "running"
        assert "198.18.10.50/24" in cluster.exec(vm, "ip -4 -o addr show dev host0").stdout
        assert f"default via {TEST_GATEWAY}" in cluster.exec(vm, "ip route").stdout
        assert cluster.exec(vm, "hostname").stdout.strip() == "probe"
        seed = cluster.exec(vm, "cat /var/lib/cloud/instance/user-data.txt").stdout
        assert seed == USER_DATA
        sandbox_pid, workdir = cluster.sandbox.pid, cluster.workdir
    finally:
        cluster.close()
    wait_for_deletions()  # close() leaves the work directory to a background rm -rf
    assert not Path(f"/proc/{sandbox_pid}").exists()
    assert not workdir.exists()
    assert not [t for t in CGROUP_TREES if (CGROUP_ROOT / t / cluster.session).exists()]
    assert cluster.session not in Path("/proc/self/mountinfo").read_text()
    processes = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True, check=True).stdout
    assert cluster.session not in processes
