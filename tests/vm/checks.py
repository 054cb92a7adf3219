"""Checks shared by the VM tests: cloud-init results, unit states, the Congress API."""

from __future__ import annotations

import contextlib
import re
import time

SYNC_BUDGET_S = 60 + 30  # Congress 11.0.0 syncs policies every 60 s whatever is set (see drill.py)


def vms_of(cluster, role):
    return [vm for vm in cluster.vms.values() if vm.role == role]


def cloud_init_problems(cluster) -> dict[str, list]:
    """Errors and warnings cloud-init recorded on each VM (result.json and its log)."""
    problems = {}
    for vm in cluster.vms.values():
        result = cluster.cloud_init_result(vm)
        if result is None:
            problems[vm.name] = ["cloud-init did not finish"]
            continue
        found = list(result["v1"].get("errors", [])) + list(result["v1"].get("recoverable_errors", {}).items())
        found += cluster.exec(vm, "grep -E ' - [a-z_.]+\\[(WARNING|ERROR|CRITICAL)\\]' /var/log/cloud-init.log").stdout.splitlines()
        if found:
            problems[vm.name] = found
    return problems


def not_running(cluster) -> dict[str, tuple[str, str]]:
    """VMs whose `systemctl is-system-running` is not `running`, with their failed units."""
    states = {}
    for vm in cluster.vms.values():
        state = cluster.exec(vm, "systemctl is-system-running --wait", timeout=300).stdout.strip()
        if state != "running":
            states[vm.name] = (state, cluster.exec(vm, "systemctl --failed --no-legend").stdout)
    return states


def wait_for(what: str, timeout: float, check, interval: float = 1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except Exception:  # a VM that is still booting may refuse an exec
            pass
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


@contextlib.contextmanager
def brought_back(cluster, vm, what: str, back, timeout: float = 300):
    """Around a fault on `vm`: at the end, pass or fail, `vm` is booted again if it is off and
    `back()` holds, so the next test on the same boot starts from every VM up (a failed test
    used to leave its VM off and fail the ones after it)."""
    try:
        yield
    finally:
        if not vm.wanted:
            cluster.boot(vm)
        wait_for(what, timeout, back)


def create_policy(cluster, name: str, rule: str, base_url: str | None = None, timeout: float = 10) -> dict:
    """A policy with one rule, created through the VIP (or base_url)."""
    base_url = base_url or cluster.api_url
    status, body = cluster.http("POST", base_url + "/v1/policies", {"name": name}, timeout=timeout)
    assert status == 201, (status, body)
    status, body = cluster.http("POST", base_url + f"/v1/policies/{name}/rules", {"rule": rule}, timeout=timeout)
    assert status == 201, (status, body)
    return {"policy": name, "rule": rule}


def rules_on(cluster, vm, policy: str) -> set[str]:
    status, body = cluster.http("GET", f"http://{vm.ip}:{api_port(cluster)}/v1/policies/{policy}/rules", timeout=5)
    return {re.sub(r"\s+", "", r["rule"]) for r in body["results"]} if status == 200 else set()


def wait_served_everywhere(cluster, created: list[dict]):
    """Every policy and rule created so far is served by every policy engine, directly."""
    for item in created:
        want = re.sub(r"\s+", "", item["rule"])
        for pe in vms_of(cluster, "policy_engine"):
            wait_for(f"{pe.name} serving {item['policy']}: {item['rule']}", SYNC_BUDGET_S,
                     lambda: want in rules_on(cluster, pe, item["policy"]))


def api_port(cluster) -> int:
    return int(cluster.api_url.rsplit(":", 1)[1])


def api_ok(cluster, vm) -> bool:
    try:
        return cluster.http("GET", f"http://{vm.ip}:{api_port(cluster)}/", timeout=3)[0] == 200
    except OSError:
        return False


def api_answers(cluster) -> bool:
    try:
        return cluster.http("GET", cluster.api_url + "/", timeout=3)[0] == 200
    except OSError:
        return False


def vip_holder(cluster):
    """The HAProxy VM holding the API VIP, or None."""
    for vm in vms_of(cluster, "haproxy"):
        if cluster.init_pid(vm) and f" {cluster.api_vip}/" in cluster.exec(vm, "ip -4 -o addr show dev host0").stdout:
            return vm
    return None


def ds_node_host(cluster):
    """The datasource VM Pacemaker says ds-node runs on, or None."""
    for vm in vms_of(cluster, "datasource"):
        if cluster.init_pid(vm) is None:
            continue
        out = cluster.exec(vm, "crm_resource --resource ds-node --locate 2>/dev/null").stdout
        m = re.search(r"running on:\s*(\S+)", out)
        if m:
            return cluster.vms[m.group(1)]
    return None


def crm_online(cluster, vm) -> set[str]:
    """The nodes that VM's Pacemaker cluster has as members."""
    out = cluster.exec(vm, "crm_node --list").stdout
    return {fields[1] for fields in (line.split() for line in out.splitlines()) if len(fields) >= 3 and fields[2] == "member"}


def ds_node_running(cluster, vm) -> bool:
    """The datasource node itself (congress-server --datasources) runs on that VM."""
    return cluster.exec(vm, "pgrep -f -- '-[-]datasources'").returncode == 0
