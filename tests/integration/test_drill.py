"""The HA drill: the plan's rendered files run for real on this machine, then broken on purpose.

One cluster serves every test (session fixture `drill`); the tests run in this order and each
fault leaves the cluster whole again for the next one.
"""

from __future__ import annotations

import os
import subprocess
import time

import pytest

from drill import CLIENTS, http
from paths import REPO

pytestmark = pytest.mark.integration


def test_api_answers_through_the_vip_and_every_policy_engine_serves_new_rules(drill, created):
    status, body = http("GET", drill.vip_url() + "/", source=CLIENTS[0])
    assert status == 200, body

    created.append(drill.create_policy("drill_before_faults", "allowed(x) :- member(x)"))
    budget = drill.sync_budget_s() + 20
    lag = drill.replication_lag("drill_before_faults", "allowed(x) :- member(x)", timeout=budget)

    assert set(lag) == set(drill.policy_engine_urls())
    assert max(lag.values()) <= budget


def test_one_client_sticks_to_one_policy_engine(drill):
    seen = {}
    for client in CLIENTS:
        before = {name: int(row["stot"]) for name, row in drill.backend_stats().items()}
        servers = {drill.served_by(client) for _ in range(15)}
        after = {name: int(row["stot"]) for name, row in drill.backend_stats().items()}
        grew = {name for name in after if after[name] > before[name]}

        assert len(servers) == 1, f"{client} was sent to {servers} (HAProxy's log)"
        assert grew == servers, f"{client}: HAProxy's stats show sessions on {grew}"
        seen[client] = servers.pop()
    print(f"client -> policy engine: {seen}")


def test_killing_a_policy_engine_moves_its_clients_within_the_health_check_budget(drill, created):
    created.append(drill.create_policy("drill_before_pe_kill", "blocked(x) :- banned(x)"))
    result = drill.kill_policy_engine_behind(CLIENTS[0])
    budget = drill.health_check_budget_s() + 2

    try:
        assert result["failures"] == [], f"requests through the VIP failed: {result}"
        assert result["moved_s"] is not None and result["moved_s"] <= budget, result
        assert result["down_s"] is not None and result["down_s"] <= budget, result
        assert result["now_served_by"] != result["victim"]
    finally:
        drill.restart_policy_engine(result["victim"])


def test_pacemaker_restarts_the_killed_datasource_node(drill, created):
    created.append(drill.create_policy("drill_before_ds_kill", "alarm(x) :- fault(x)"))
    result = drill.kill_datasource_node()

    # Found dead by the next monitor (interval from the rendered crm configuration), restarted
    # through the agent's start; then it must stay up.
    assert result["recovered_s"] <= drill.ds_recovery_budget_s(), result
    time.sleep(3)
    assert drill.ds_pid() == result["new_pid"]
    status = drill.crm_status()
    assert "ds-node" in status and "Started" in status, status


def test_nothing_created_before_the_faults_is_lost(drill, created):
    assert [c["policy"] for c in created] == ["drill_before_faults", "drill_before_pe_kill", "drill_before_ds_kill"]
    status, body = http("GET", drill.vip_url() + "/v1/policies", source=CLIENTS[1])
    assert status == 200
    assert {c["policy"] for c in created} <= {p["name"] for p in body["results"]}

    for item in created:
        drill.replication_lag(item["policy"], item["rule"], timeout=drill.sync_budget_s() + 20)


def test_the_boot_scripts_db_lock_lets_one_node_at_a_time(drill, tmp_path):
    """with_db_lock (congress-tf-lib.sh) serialises the schema sync and the first starts."""
    node = drill.rendered.role("policy_engine")[0]
    cnf = tmp_path / "congress-db.cnf"
    cnf.write_text(node.files["/etc/congress-tf/congress-db.cnf"])
    lib = REPO / "cloudinit" / "scripts" / "congress-tf-lib.sh"
    log = tmp_path / "held"
    holder = (f'. {lib}; hold() {{ echo "start $1 $(date +%s.%N)" >> {log}; sleep 2; '
              f'echo "end $1 $(date +%s.%N)" >> {log}; }}; with_db_lock drill_lock 60 hold "$1"')
    procs = [subprocess.Popen(["bash", "-c", holder, "bash", str(i)], env={**os.environ, "CONGRESS_TF_DB_CNF": str(cnf)},
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for i in range(3)]
    outputs = [p.communicate(timeout=60)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], outputs

    events = sorted((float(t), kind) for kind, _, t in (line.split() for line in log.read_text().splitlines()))
    assert [kind for _, kind in events] == ["start", "end"] * 3  # never two holders at once
