"""Failover figures of the HA drill: the plan's rendered files run for real on this machine
(tests/integration/drill.py), then broken on purpose.  Needs root and the Debian packages of
.ci/run; set CONGRESS_DRILL_VENV to reuse a Congress venv.

  replication_lag_s  a rule created through the VIP, until every policy engine serves it
                     directly (within one datasource_sync_period: 5 s in the drill)
  ds_recovery_s      SIGKILL of the datasource node, until Pacemaker runs a new one
                     (monitor interval of the rendered crm configuration + the agent's start)
  pe_failover_s      SIGKILL of the policy engine a client is stuck to, until HAProxy has it
                     DOWN and the client is served by a live node (health-check budget)

  vip_failover_s     stop of the HAProxy holding the VIP (lb-0 and lb-1 with keepalived in
                     network namespaces, tests/integration/vip.py), until GET / through the VIP
                     answers 200 from the other HAProxy host (track script fall x interval,
                     then VRRP moves the VIP)

Backing mode cluster (production's), measured first:
  db_failover_s      the three Galera members and a Congress node's local HAProxy from the
                     rendered files (tests/integration/galera.py): the writer frozen (powered off)
                     under LOCK TABLES writes, until a write is acknowledged again (goal <= 10)
  mq_failover_s      production booted as VMs (tests/vm, policy_engine_count 2, noauth): the
                     RabbitMQ VM leading most queues powered off under GET /v1/policies on every
                     engine, from the first failed request to the last (0 when none failed);
                     needs the VM harness's packages and cache (systemd-container, mmdebstrap)
"""

import os
import signal
import sys
import tempfile
import time
from pathlib import Path

from planning import REPO, planned_outputs

sys.path.insert(0, str(REPO / "tests" / "integration"))
sys.path.insert(1, str(REPO / "tests" / "vm"))
from congress_runtime import install_congress_venv  # noqa: E402
from drill import CLIENTS, DRILL_EXAMPLE, DRILL_OVERRIDES, Drill  # noqa: E402
from galera import GALERA_EXAMPLE, GALERA_OVERRIDES, GaleraDrill, writes_during, writes_resumed_s  # noqa: E402
from vip import VipDrill, vip_overrides  # noqa: E402


def rendered_cloud_init(drill_overrides: dict, example: str = DRILL_EXAMPLE) -> dict[str, str]:
    return planned_outputs(example, drill_overrides)["cloud_init"]


def db_failover_s(venv: Path) -> float:
    galera = GaleraDrill(rendered_cloud_init(GALERA_OVERRIDES, GALERA_EXAMPLE), venv)
    try:
        galera.start()
        writer = galera.members[0]
        writer.sql("CREATE TABLE IF NOT EXISTS congress.failover_probe (n INT PRIMARY KEY)")
        events, fault_time = writes_during(galera, 20, 5, lambda: galera.power_off(writer))
        resumed = writes_resumed_s(events, fault_time)
        if resumed is None:
            raise SystemExit(f"no write acknowledged after the Galera writer went: {events[-3:]}")
        return resumed
    finally:
        galera.close()


def mq_failover_s() -> float:
    from backing import PRODUCTION_OVERRIDES, rabbit_node_loss
    from harness import PLAN_OVERRIDES, Cluster

    overrides = {**PLAN_OVERRIDES, **PRODUCTION_OVERRIDES, "policy_engine_count": 2}
    cluster = Cluster(planned_outputs("production", overrides), log=lambda m: print(m, file=sys.stderr, flush=True))
    try:
        cluster.start()
        done = cluster.wait_cloud_init(timeout=1800)
        if len(done) < len(cluster.vms):
            raise SystemExit(f"cloud-init did not finish on {sorted(set(cluster.vms) - set(done))}")
        mq, traffic = rabbit_node_loss(cluster)
        print(f"# {traffic.summary(f'poweroff of {mq.name}')}", file=sys.stderr, flush=True)
        return traffic.outage_s
    finally:
        cluster.close()


def main():
    cloud_init = rendered_cloud_init(DRILL_OVERRIDES)
    vip_cloud_init = rendered_cloud_init(vip_overrides(DRILL_OVERRIDES))
    scratch = tempfile.TemporaryDirectory(prefix="congress-failover-")
    venv = install_congress_venv(Path(os.environ.get("CONGRESS_DRILL_VENV") or Path(scratch.name) / "venv")).path
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    print(f"db_failover_s={db_failover_s(venv):.1f}", flush=True)
    print(f"mq_failover_s={mq_failover_s():.1f}", flush=True)
    drill = Drill(cloud_init, venv)
    pair = None
    try:
        drill.start()
        drill.create_policy("bench_replication", "lagging(x) :- behind(x)")
        lag = drill.replication_lag("bench_replication", "lagging(x) :- behind(x)", timeout=drill.sync_budget_s() + 30)
        print(f"replication_lag_s={max(lag.values()):.1f}", flush=True)

        ds = drill.kill_datasource_node()
        print(f"ds_recovery_s={ds['recovered_s']:.1f}", flush=True)

        pair = VipDrill(vip_cloud_init, drill).start()
        vip = pair.stop_haproxy_of_holder()
        if vip["answered_s"] is None or vip["moved_s"] is None:
            raise SystemExit(f"VIP failover did not complete: {vip}")
        print(f"vip_moved_s={vip['moved_s']:.1f}", flush=True)
        print(f"vip_failover_s={vip['answered_s']:.1f}", flush=True)
        pair.close()
        pair = None

        pe = drill.kill_policy_engine_behind(CLIENTS[0])
        if pe["moved_s"] is None or pe["down_s"] is None or pe["failures"]:
            raise SystemExit(f"policy engine failover did not complete cleanly: {pe}")
        print(f"pe_failover_requests_failed={len(pe['failures'])}", flush=True)
        print(f"pe_failover_s={max(pe['moved_s'], pe['down_s']):.1f}", flush=True)
    finally:
        if pair is not None:
            pair.close()
        drill.close()
        scratch.cleanup()


if __name__ == "__main__":
    started = time.monotonic()
    main()
    print(f"# failover drill took {time.monotonic() - started:.0f} s", file=sys.stderr)
