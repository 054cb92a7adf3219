"""Failover figures, measured on the real units: examples booted as VMs (tests/vm/harness.py, every
VM from the plan's own cloud-init), then broken on purpose.  Needs root and the Debian packages of
.ci/run (systemd-container, mmdebstrap for the VMs; MariaDB, galera-4 for db_failover_s).  The VMs
boot their roles' baked images, as bench/boot.py does (--plain: the stock image, each VM installing
its role at boot); set CONGRESS_DRILL_VENV to reuse a Congress venv for the Galera part.

Backing mode cluster (production's), measured first:
  db_failover_s      the three Galera members and a Congress node's local HAProxy from the
                     rendered files (tests/integration/galera.py, processes on this machine): the
                     writer frozen (powered off) under LOCK TABLES writes: the longest time
                     without an acknowledged write from then on (goal <= 10)
  mq_failover_s      production's VMs (policy_engine_count 2, noauth): the RabbitMQ VM leading most
                     queues powered off under GET /v1/policies on every engine, from the first
                     failed request to the last (0 when none failed)

examples/no-octavia's VMs (3 policy engines, the HAProxy + keepalived pair, the datasource pair):
  replication_lag_s  a rule created through the VIP, until every policy engine serves it directly
  ds_recovery_s      poweroff of the VM running ds-node, until Pacemaker on the other VM runs it
                     (congress-server --datasources there)
  vip_moved_s        haproxy.service stopped on the VM holding the VIP, until the VIP is on the
                     other VM (keepalived's track script: fall x interval, then VRRP)
  vip_failover_s     the same, until GET / through the VIP answers 200 again
  pe_failover_s      SIGKILL of the policy-engine unit that requests from the bridge are stuck to,
                     until HAProxy on the VIP holder has it DOWN and GET / through the VIP answers
                     200 (health checks: interval x fall); pe_failover_requests_failed counts the
                     requests through the VIP that failed meanwhile
"""

import os
import re
import signal
import sys
import tempfile
import time
from pathlib import Path

from planning import REPO, planned_outputs

sys.path.insert(0, str(REPO / "tests" / "integration"))
sys.path.insert(1, str(REPO / "tests" / "vm"))
from backing import PRODUCTION_OVERRIDES, busiest_rabbit, rabbit_node_loss  # noqa: E402
from checks import (api_answers, api_ok, create_policy, ds_node_host, ds_node_running, rules_on,  # noqa: E402
                    vip_holder, vms_of, wait_for)
from congress_runtime import install_congress_venv  # noqa: E402
from congress_tf.rollout import admin_socket, haproxy_stats  # noqa: E402
from day2 import runner  # noqa: E402
from galera import GALERA_EXAMPLE, GALERA_OVERRIDES, GaleraDrill, acknowledged_writes, writes_during  # noqa: E402
from harness import PLAN_OVERRIDES, Cluster, wait_for_deletions  # noqa: E402
from outage import write_outage_s  # noqa: E402
from traffic import Traffic  # noqa: E402

PE_UNIT = "congress-policy-engine.service"
BOOT_TIMEOUT_S = 1800


def note(line: str):
    print(f"# {line}", file=sys.stderr, flush=True)


def figure(name: str, value: float):
    print(f"{name}={value:.1f}", flush=True)


def db_failover_s(venv: Path) -> float:
    galera = GaleraDrill(planned_outputs(GALERA_EXAMPLE, GALERA_OVERRIDES)["cloud_init"], venv)
    try:
        galera.start()
        writer = galera.members[0]
        writer.sql("CREATE TABLE IF NOT EXISTS congress.failover_probe (n INT PRIMARY KEY)")
        events, fault_time = writes_during(galera, 20, 5, lambda: galera.power_off(writer))
        resumed = write_outage_s([e["t"] for e in acknowledged_writes(events)], fault_time)
        if resumed is None:
            raise SystemExit(f"no write acknowledged after the Galera writer went: {events[-3:]}")
        return resumed
    finally:
        galera.close()


def booted(example: str, overrides: dict, image: str) -> Cluster:
    """The example's VMs started, every VM's cloud-init finished."""
    cluster = Cluster(planned_outputs(example, {**PLAN_OVERRIDES, **overrides}), image=image, log=note)
    try:
        cluster.start()
        done = cluster.wait_cloud_init(timeout=BOOT_TIMEOUT_S)
        if len(done) < len(cluster.vms):
            raise SystemExit(f"cloud-init did not finish on {sorted(set(cluster.vms) - set(done))}")
    except BaseException:
        cluster.close()
        raise
    return cluster


def mq_failover_s(image: str) -> float:
    cluster = booted("production", {**PRODUCTION_OVERRIDES, "policy_engine_count": 2}, image)
    try:
        mq = busiest_rabbit(cluster)
        traffic = rabbit_node_loss(cluster, mq)
        note(traffic.summary(f"poweroff of {mq.name}"))
        return traffic.outage_s
    finally:
        cluster.close()


def replication_lag_s(cluster: Cluster, timeout: float = 180) -> float:
    rule = "lagging(x) :- behind(x)"
    create_policy(cluster, "bench_replication", rule)
    started, want = time.monotonic(), re.sub(r"\s+", "", rule)
    pending = vms_of(cluster, "policy_engine")
    while pending and time.monotonic() - started < timeout:
        pending = [pe for pe in pending if want not in rules_on(cluster, pe, "bench_replication")]
        time.sleep(0.2)
    if pending:
        raise SystemExit(f"{[pe.name for pe in pending]} did not serve the rule within {timeout} s")
    return time.monotonic() - started


def ds_recovery_s(cluster: Cluster) -> float:
    active = ds_node_host(cluster)
    other = next(vm for vm in vms_of(cluster, "datasource") if vm is not active)
    started = time.monotonic()
    cluster.poweroff(active)
    wait_for(f"ds-node running on {other.name}", 180,
             lambda: ds_node_host(cluster) is other and ds_node_running(cluster, other), interval=0.2)
    return time.monotonic() - started


def vip_failover(cluster: Cluster, timeout: float = 60) -> tuple[float, float]:
    """(moved_s, answered_s) of haproxy.service stopped on the VIP holder; then it starts again
    and the VIP goes back to it (the higher priority)."""
    holder = vip_holder(cluster)
    started = time.monotonic()
    cluster.exec(holder, "systemctl stop haproxy.service", check=True)
    moved_s = answered_s = None
    while (moved_s is None or answered_s is None) and time.monotonic() - started < timeout:
        if moved_s is None and vip_holder(cluster) not in (None, holder):
            moved_s = time.monotonic() - started
        if answered_s is None and api_answers(cluster):
            answered_s = time.monotonic() - started
        time.sleep(0.1)
    if moved_s is None or answered_s is None:
        raise SystemExit(f"VIP failover did not complete in {timeout} s: moved {moved_s}, answered {answered_s}")
    cluster.exec(holder, "systemctl start haproxy.service", check=True)
    wait_for(f"the VIP back on {holder.name}", 60, lambda: vip_holder(cluster) is holder)
    return moved_s, answered_s


def pe_failover(cluster: Cluster, timeout: float = 60) -> tuple[float, Traffic]:
    """SIGKILL of the policy engine the bridge's requests go to: seconds until the VIP holder's
    HAProxy has it DOWN and GET / through the VIP answers 200, with the requests meanwhile."""
    stats = admin_socket(runner(cluster), vip_holder(cluster).ip)
    engines = {pe.name: pe for pe in vms_of(cluster, "policy_engine")}
    wait_for("every policy engine UP", 120,
             lambda: all(haproxy_stats(stats)[name]["status"] == "UP" for name in engines))
    before = {name: int(row["stot"]) for name, row in haproxy_stats(stats).items() if name in engines}
    for _ in range(5):
        api_answers(cluster)
    after = {name: int(row["stot"]) for name, row in haproxy_stats(stats).items() if name in engines}
    victim = engines[max(engines, key=lambda name: after[name] - before[name])]
    note(f"requests from the bridge go to {victim.name}: {PE_UNIT} SIGKILLed there")
    with Traffic(cluster, interval=0.1) as traffic:
        started = time.monotonic()
        cluster.exec(victim, f"systemctl kill --signal=SIGKILL {PE_UNIT}", check=True)
        down_s = served_s = None
        while (down_s is None or served_s is None) and time.monotonic() - started < timeout:
            if down_s is None and haproxy_stats(stats)[victim.name]["status"].startswith("DOWN"):
                down_s = time.monotonic() - started
            if down_s is not None and api_answers(cluster):
                served_s = time.monotonic() - started
            time.sleep(0.1)
    note(traffic.summary(f"SIGKILL of {PE_UNIT} on {victim.name}"))
    if served_s is None:
        raise SystemExit(f"policy engine failover did not complete in {timeout} s: DOWN after {down_s}")
    return served_s, traffic


def no_octavia_failovers(image: str):
    cluster = booted("no-octavia", {}, image)
    try:
        wait_for("GET / on every policy engine and through the VIP", 300,
                 lambda: all(api_ok(cluster, pe) for pe in vms_of(cluster, "policy_engine")) and api_answers(cluster))
        figure("replication_lag_s", replication_lag_s(cluster))
        figure("ds_recovery_s", ds_recovery_s(cluster))
        moved_s, answered_s = vip_failover(cluster)
        figure("vip_moved_s", moved_s)
        figure("vip_failover_s", answered_s)
        pe_s, traffic = pe_failover(cluster)
        print(f"pe_failover_requests_failed={traffic.failed}", flush=True)
        figure("pe_failover_s", pe_s)
    finally:
        started = time.monotonic()
        cluster.close()
        note(f"close() of the no-octavia cluster returned after {time.monotonic() - started:.1f} s")


def main():
    image = "plain" if "--plain" in sys.argv else "baked"
    note(f"image: {image}")
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    with tempfile.TemporaryDirectory(prefix="congress-failover-") as scratch:
        venv = install_congress_venv(Path(os.environ.get("CONGRESS_DRILL_VENV") or Path(scratch) / "venv")).path
        figure("db_failover_s", db_failover_s(venv))
    figure("mq_failover_s", mq_failover_s(image))
    no_octavia_failovers(image)
    started = time.monotonic()
    wait_for_deletions()
    note(f"the clusters' work directories were gone {time.monotonic() - started:.1f} s later")


if __name__ == "__main__":
    started = time.monotonic()
    main()
    note(f"failover figures took {time.monotonic() - started:.0f} s")
