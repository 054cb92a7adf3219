"""examples/no-octavia booted for real (harness.py): every VM's cloud-init under systemd, then
the API through the keepalived VIP, and faults on the real units and VMs with requests counted.

The tests run in file order on one session cluster; each fault test leaves the cluster whole
again (every VM back, every policy engine serving) for the next one.
"""

from __future__ import annotations

import hashlib
import re
import time

import pytest

import day2 as day2vm
from checks import (api_answers, api_ok, brought_back, cloud_init_problems, create_policy, crm_online, ds_node_host,
                    ds_node_running, not_running, vip_holder, vms_of, wait_for, wait_served_everywhere)
from congress_tf.rollout import admin_socket, haproxy_stats, plan_rollout_asking, planned_outputs, run_waves
from deployed import day2, release_with_pin  # noqa: F401 (day2 is a fixture)
from harness import PLAN_OVERRIDES
from relays import wheelhouse
from traffic import Traffic, report

pytestmark = pytest.mark.vm

PE_UNIT = "congress-policy-engine.service"


def test_every_vm_finishes_cloud_init_without_errors(no_octavia):
    assert sorted(no_octavia.boot_times) == sorted(no_octavia.vms), "cloud-init never finished on some VMs"
    assert not cloud_init_problems(no_octavia)


def test_every_vm_is_running_with_no_failed_unit(no_octavia):
    assert not not_running(no_octavia)


def test_api_answers_through_the_vip(no_octavia):
    status, body = no_octavia.http("GET", no_octavia.api_url + "/")
    assert status == 200, body
    assert any(v.get("id") == "v1" for v in body["versions"])


def test_policy_created_through_the_vip_is_served_by_every_policy_engine(no_octavia, created):
    created.append(create_policy(no_octavia, "vm_first", "first(x) :- seen(x)"))
    wait_served_everywhere(no_octavia, created)


# --- faults ----------------------------------------------------------------------------------

def test_sigkill_of_a_policy_engine_unit(no_octavia, created):
    pe = vms_of(no_octavia, "policy_engine")[0]
    before = main_pid(no_octavia, pe)
    with Traffic(no_octavia) as traffic:
        no_octavia.exec(pe, f"systemctl kill --signal=SIGKILL {PE_UNIT}", check=True)
        wait_for(f"{pe.name}: systemd restarts {PE_UNIT}", 120,
                 lambda: main_pid(no_octavia, pe) not in (0, before) and api_ok(no_octavia, pe))
        time.sleep(3)
    report(traffic.summary(f"SIGKILL of {PE_UNIT} on {pe.name}"))
    assert traffic.ok > 0
    assert traffic.failed == 0, traffic.failures  # HAProxy's checks take the dead engine out
    created.append(create_policy(no_octavia, "vm_after_pe_kill", "afterkill(x) :- seen(x)"))
    wait_served_everywhere(no_octavia, created)


def test_poweroff_of_the_vip_holder(no_octavia, created):
    holder = vip_holder(no_octavia)
    with brought_back(no_octavia, holder, f"{holder.name} back with the VIP (it has the higher priority)",
                      lambda: vip_holder(no_octavia) is holder):
        with Traffic(no_octavia) as traffic:
            no_octavia.poweroff(holder)
            wait_for("the VIP on the other load balancer", 60,
                     lambda: vip_holder(no_octavia) not in (None, holder))
            wait_for("GET / through the VIP", 60, lambda: api_answers(no_octavia))
            time.sleep(3)
        report(traffic.summary(f"poweroff of {holder.name} (VIP holder)"))
        assert traffic.ok > 0
        assert traffic.outage_s < 15, traffic.failures
    assert api_answers(no_octavia)
    wait_served_everywhere(no_octavia, created)


def test_stopping_haproxy_on_the_vip_holder_moves_the_vip(no_octavia, created):
    """keepalived's own track script (HAProxy serving) gives the VIP away, and takes it back."""
    holder = vip_holder(no_octavia)
    with Traffic(no_octavia) as traffic:
        no_octavia.exec(holder, "systemctl stop haproxy.service", check=True)
        wait_for("the VIP on the other load balancer", 60, lambda: vip_holder(no_octavia) not in (None, holder))
        wait_for("GET / through the VIP", 60, lambda: api_answers(no_octavia))
        time.sleep(3)
    report(traffic.summary(f"haproxy stopped on {holder.name} (VIP holder)"))
    assert traffic.ok > 0
    assert traffic.outage_s < 15, traffic.failures
    no_octavia.exec(holder, "systemctl start haproxy.service", check=True)
    wait_for(f"the VIP back on {holder.name}", 60, lambda: vip_holder(no_octavia) is holder)
    wait_served_everywhere(no_octavia, created)


@pytest.mark.parametrize("fault", ["poweroff", "power_cut"])
def test_poweroff_of_the_vm_running_ds_node(no_octavia, created, fault):
    """poweroff: Pacemaker on the VM going down stops ds-node and the other VM starts it; power_cut
    (the VM dies, nothing stopped): the other VM's Corosync loses its token, then it starts ds-node."""
    active = ds_node_host(no_octavia)
    assert active is not None, "ds-node runs nowhere"
    other = [vm for vm in vms_of(no_octavia, "datasource") if vm is not active][0]
    with brought_back(no_octavia, active, f"{active.name} back in the cluster",
                      lambda: crm_online(no_octavia, other) >= {vm.name for vm in vms_of(no_octavia, "datasource")}):
        with Traffic(no_octavia) as traffic:
            getattr(no_octavia, fault)(active)
            wait_for(f"Pacemaker on {other.name} starts ds-node", 180, lambda: ds_node_host(no_octavia) is other)
            wait_for(f"congress-server --datasources running on {other.name}", 60,
                     lambda: ds_node_running(no_octavia, other))
        report(traffic.summary(f"{fault} of {active.name} (running ds-node)"))
        assert traffic.failed == 0, traffic.failures  # the API does not depend on the datasource node
    assert ds_node_host(no_octavia) is not None
    wait_served_everywhere(no_octavia, created)


@pytest.mark.parametrize("role", ["backing_mariadb", "policy_engine"])
def test_reboot_comes_back_by_itself_with_nothing_lost(no_octavia, created, role):
    if role == "backing_mariadb":
        vm = no_octavia.vms[db_vm_name(no_octavia)]
    else:
        vm = vms_of(no_octavia, "policy_engine")[-1]
    init_before = no_octavia.init_pid(vm)  # the kernel's boot_id is the host's: a new PID 1 tells the reboot
    with Traffic(no_octavia) as traffic:
        no_octavia.exec(vm, "systemctl reboot")
        wait_for(f"{vm.name} rebooted", 120, lambda: vm.boots >= 2 and no_octavia.init_pid(vm) is not None)
        wait_for(f"{vm.name} running again", 300,
                 lambda: no_octavia.exec(vm, "systemctl is-system-running").stdout.strip() == "running")
        if role == "policy_engine":
            wait_for(f"{vm.name}'s API", 300, lambda: api_ok(no_octavia, vm))
        time.sleep(3)
    report(traffic.summary(f"reboot of {vm.name}"))
    assert traffic.ok > 0
    assert no_octavia.init_pid(vm) != init_before
    # A reboot is no new instance: cloud-init runs its final stage again, but not runcmd (once per instance).
    log = no_octavia.exec(vm, "cat /var/log/cloud-init.log", check=True).stdout
    assert log.count("running 'modules:final'") == 2
    assert log.count("Running command ['/var/lib/cloud/instance/scripts/runcmd']") == 1, f"runcmd ran again on {vm.name}"
    if role == "policy_engine":
        assert traffic.failed == 0, traffic.failures
    created.append(create_policy(no_octavia, f"vm_after_{role}_reboot", f"reboot{len(created)}(x) :- seen(x)"))
    wait_served_everywhere(no_octavia, created)


# --- day 2 (issue 11): `congress-tf apply`'s waves on these VMs, the harness as the cloud --------
# Each test plans its change against the state of the inputs the cluster runs now (tests/deployed.py),
# so they run in this order and each leaves the cluster as its new inputs say.

DAY2_WAVE_TIMEOUT_S = 900
SCALED_DOWN = {**PLAN_OVERRIDES, "policy_engine_count": 2}
ROLLED = {**SCALED_DOWN, "datasource_sync_period": 10}
LB_ROLLED = {**ROLLED, "health_check": {"interval_s": 1, "timeout_s": 1, "fall": 2, "rise": 3}}
# The pin a congress-tf release moves in cloudinit/congress-constraints.txt: every shipped pin is
# PyPI's newest, so the release moves one back (the roll is the same either way); urllib3 is
# pure Python, and 2.7.0 satisfies every requirement of the other pins (requests: urllib3<3).
RUNTIME_PIN = ("urllib3", "2.7.0")


def test_day2_the_cluster_runs_what_the_day2_plans_start_from(no_octavia, day2):
    _, prior = day2("no-octavia", PLAN_OVERRIDES, PLAN_OVERRIDES)
    assert planned_outputs(prior)["cloud_init"] == {vm.name: vm.user_data for vm in no_octavia.vms.values()}


def test_day2_scaling_3_to_4_to_2_policy_engines_fails_no_request(no_octavia, created, day2):
    bigger, _ = day2("no-octavia", PLAN_OVERRIDES, {**PLAN_OVERRIDES, "policy_engine_count": 4})
    smaller, _ = day2("no-octavia", {**PLAN_OVERRIDES, "policy_engine_count": 4}, SCALED_DOWN)
    up = plan_rollout_asking(bigger, day2vm.runner(no_octavia))[0]
    assert (up.waves, up.refusals) == ([], [])                   # adding engines replaces nothing
    run = day2vm.runner(no_octavia)
    with Traffic(no_octavia) as traffic:
        (new,) = day2vm.create_the_rest(no_octavia, bigger)
        pool = day2vm.steps(no_octavia, bigger, up).pool
        wait_for(f"{new} serving and UP on both HAProxy VMs", DAY2_WAVE_TIMEOUT_S,
                 lambda: api_ok(no_octavia, no_octavia.vms[new]) and pool.up(new)[0], interval=3)
        wait_served_everywhere(no_octavia, created)              # the new engine has every policy
        down, active = plan_rollout_asking(smaller, run)
        assert [(w.action, w.node) for w in down.waves] == [("remove", "congress-pe-2"), ("remove", "congress-pe-3")]
        run_waves(down.waves, day2vm.apply_wave(no_octavia, smaller), day2vm.steps(no_octavia, smaller, down),
                  DAY2_WAVE_TIMEOUT_S, report)
        time.sleep(3)
    report(traffic.summary("day 2: policy engines 3 -> 4 -> 2"))
    assert traffic.ok > 50
    assert traffic.failed == 0, traffic.failures
    assert sorted(vm.name for vm in vms_of(no_octavia, "policy_engine")) == ["congress-pe-0", "congress-pe-1"]
    stats = [haproxy_stats(admin_socket(run, lb.ip)) for lb in vms_of(no_octavia, "haproxy")]
    assert all(s["congress-pe-2"]["status"].startswith("DOWN") and s["congress-pe-3"]["status"].startswith("DOWN")
               for s in stats)                                   # checked, empty slots again (not MAINT)
    wait_served_everywhere(no_octavia, created)


def test_day2_rolling_a_sync_period_change_over_every_congress_vm_fails_no_request(no_octavia, created, day2):
    plan, _ = day2("no-octavia", SCALED_DOWN, ROLLED)
    for node in roll_every_congress_vm(no_octavia, created, plan, "datasource_sync_period"):
        conf = no_octavia.exec(node, "cat /etc/congress/congress.conf", check=True).stdout
        assert re.search(r"^datasource_sync_period\s*=\s*10$", conf, re.M), node
    created.append(create_policy(no_octavia, "vm_after_roll", "afterroll(x) :- seen(x)"))
    wait_served_everywhere(no_octavia, created)


def test_day2_rolling_the_haproxy_pair_hands_the_vip_over_first_and_fails_no_request(no_octavia, created, day2):
    plan, _ = day2("no-octavia", ROLLED, LB_ROLLED)
    run = day2vm.runner(no_octavia)
    holder = vip_holder(no_octavia).name
    rollout, active = plan_rollout_asking(plan, run)
    assert rollout.refusals == [] and active == {"haproxy": holder}
    other = ({"congress-lb-0", "congress-lb-1"} - {holder}).pop()
    assert [w.node for w in rollout.waves] == [other, holder]
    moves = []
    with Traffic(no_octavia) as traffic:
        steps = day2vm.steps(no_octavia, plan, rollout)
        apply = day2vm.apply_wave(no_octavia, plan)

        def apply_noting_the_holder(wave):
            moves.append((wave.node, getattr(vip_holder(no_octavia), "name", None)))
            apply(wave)
        run_waves(rollout.waves, apply_noting_the_holder, steps, DAY2_WAVE_TIMEOUT_S, report)
        wait_for("the VIP held again", 60, lambda: vip_holder(no_octavia) is not None)
        time.sleep(5)
    report(traffic.summary(f"day 2: HAProxy pair rolled ({other}, then {holder} holding the VIP)"))
    assert moves == [(other, holder), (holder, other)]          # the VIP had left the VM before it went
    assert traffic.ok > 50
    assert traffic.failed == 0, traffic.failures
    wait_served_everywhere(no_octavia, created)


def test_day2_a_release_moving_a_runtime_pin_rolls_it_over_every_congress_vm_and_fails_no_request(
        no_octavia, created, day2, workspace, tmp_path):
    """A new congress-tf whose pinned runtime differs (a copy of the terraform/ and cloudinit/ this
    cluster was planned from, one pin moved) planned against this deployment: each rebuilt VM
    installs the new pin at boot from the wheelhouse, which now serves both pins as an index would."""
    package, version = RUNTIME_PIN
    shipped = re.search(rf"^{package}==(\S+)$", (workspace / "cloudinit/congress-constraints.txt").read_text(), re.M)[1]
    release = release_with_pin(workspace, tmp_path, package, version)
    constraints = release / "cloudinit" / "congress-constraints.txt"
    no_octavia.files.add(wheelhouse(report, constraints))
    plan, _ = day2("no-octavia", LB_ROLLED, LB_ROLLED, release=release)
    congress_vms = [vm.name for vm in vms_of(no_octavia, "datasource") + vms_of(no_octavia, "policy_engine")]
    assert {node: installed(no_octavia, node, package) for node in congress_vms} == dict.fromkeys(congress_vms, shipped)
    rolled = roll_every_congress_vm(no_octavia, created, plan, f"runtime pin {package} {shipped} -> {version}")
    assert sorted(rolled) == sorted(congress_vms)
    stamp = hashlib.sha256(constraints.read_bytes()).hexdigest()   # install-congress.sh's: installed from it
    for node in rolled:
        assert installed(no_octavia, node, package) == version, node
        assert no_octavia.exec(node, "cat /opt/congress/.congress-tf-constraints.sha256", check=True).stdout.strip() == stamp
    # Every VM now runs the release's cloud-init: the others' did not change with the pin.
    assert {vm.name: vm.user_data for vm in no_octavia.vms.values()} == planned_outputs(plan)["cloud_init"]
    created.append(create_policy(no_octavia, "vm_after_upgrade", "afterupgrade(x) :- seen(x)"))
    wait_served_everywhere(no_octavia, created)


# --- helpers -------------------------------------------------------------------------------------

def roll_every_congress_vm(cluster, created, plan, change: str) -> list[str]:
    """Run the waves of a plan replacing both datasource VMs and every policy engine under traffic
    through the VIP: the standby datasource VM, the one running ds-node, then each engine, each a
    new instance of the planned user_data; no request fails, the pair is whole again and nothing
    created before is lost.  Returns the VMs rolled, in order."""
    serving_ds = ds_node_host(cluster).name
    rollout, active = plan_rollout_asking(plan, day2vm.runner(cluster))
    assert rollout.refusals == [] and rollout.rest == []
    assert active == {"datasource": serving_ds}
    standby_ds = ({"congress-ds-0", "congress-ds-1"} - {serving_ds}).pop()
    assert [w.node for w in rollout.waves] == [standby_ds, serving_ds, "congress-pe-0", "congress-pe-1"]
    instances = {w.node: cluster.vms[w.node].instance for w in rollout.waves}
    started = time.monotonic()
    with Traffic(cluster) as traffic:
        run_waves(rollout.waves, day2vm.apply_wave(cluster, plan), day2vm.steps(cluster, plan, rollout),
                  DAY2_WAVE_TIMEOUT_S, report)
        time.sleep(3)
    report(traffic.summary(f"day 2: {change} rolled over {len(rollout.waves)} VMs in {time.monotonic() - started:.0f} s"))
    assert traffic.ok > 100
    assert traffic.failed == 0, traffic.failures
    cloud_init = planned_outputs(plan)["cloud_init"]
    for node, before in instances.items():
        assert (cluster.vms[node].instance, cluster.vms[node].user_data) == (before + 1, cloud_init[node]), node
    assert ds_node_host(cluster) is not None
    assert crm_online(cluster, cluster.vms[serving_ds]) == {"congress-ds-0", "congress-ds-1"}
    wait_served_everywhere(cluster, created)
    return list(instances)


def installed(cluster, node: str, package: str) -> str:
    """The version of a package in the VM's Congress venv, as pip sees it."""
    out = cluster.exec(node, f"/opt/congress/bin/python -m pip show {package}", check=True).stdout
    return re.search(r"^Version: (\S+)$", out, re.M).group(1)


def main_pid(cluster, vm) -> int:
    out = cluster.exec(vm, f"systemctl show --property=MainPID --value {PE_UNIT}", check=True).stdout
    return int(out.strip() or 0)


def db_vm_name(cluster) -> str:
    for vm in vms_of(cluster, "backing"):
        if "mariadb-server" in cluster.exec(vm, "dpkg-query -W -f='${Package}\\n' mariadb-server 2>/dev/null").stdout:
            return vm.name
    raise LookupError("no backing VM runs MariaDB")
