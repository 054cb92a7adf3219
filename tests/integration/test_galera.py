"""Backing mode cluster's database, for real on this machine (galera.py): the Galera writer is
powered off while rules are written through a Congress node's local HAProxy, then all three
members go down at once and start again as at boot. Run under the drill's lock (flock)."""

from __future__ import annotations

import json
import time

import pytest
from galera import run_writer

pytestmark = pytest.mark.integration

WRITES_AGAIN_WITHIN_S = 10


@pytest.fixture(scope="module")
def acknowledged() -> set[int]:
    return set()


def writes_during(galera, seconds: float, fault_at: float, fault, first: int = 1) -> tuple[list[dict], float]:
    writer = run_writer(galera.venv, galera.connection(), seconds, first)
    time.sleep(fault_at)
    fault_time = time.monotonic()
    fault()
    out, err = writer.communicate(timeout=seconds + 60)
    assert writer.returncode == 0, err
    return [json.loads(line) for line in out.splitlines()], fault_time


def test_one_writer_and_every_member_synced_behind_the_local_haproxy(galera):
    assert all(m.synced() for m in galera.members)
    assert galera.members[0].status("wsrep_cluster_size") == "3"
    states = galera.server_states()
    assert galera.active_server() == galera.members[0].name and set(states) == {m.name for m in galera.members}


def test_writer_power_off_loses_no_acknowledged_write_and_writes_resume_within_10_s(galera, acknowledged):
    writer, survivor = galera.members[0], galera.members[1]
    writer.sql("CREATE TABLE IF NOT EXISTS congress.failover_probe (n INT PRIMARY KEY)")
    events, fault_time = writes_during(galera, 30, 5, lambda: galera.power_off(writer))
    ok = [e for e in events if "ok" in e]
    before = [e for e in ok if e["t"] < fault_time]
    after = [e for e in ok if e["t"] > fault_time]
    assert before and after, events[-5:]
    db_failover_s = after[0]["t"] - fault_time
    failed = [e for e in events if "err" in e]
    print(f"db_failover_s={db_failover_s:.1f} acknowledged={len(ok)} failed_attempts={len(failed)} "
          f"first_error={failed[0]['e'] if failed else None}")
    assert db_failover_s <= WRITES_AGAIN_WITHIN_S, failed[:3]

    present = {int(n) for n in survivor.sql("SELECT n FROM congress.failover_probe").split()}
    acknowledged.update(e["ok"] for e in ok)
    assert acknowledged <= present, sorted(acknowledged - present)[:10]
    assert galera.active_server() == survivor.name
    assert survivor.status("wsrep_cluster_size") == "2" and survivor.synced()
    galera.kill(writer)


def test_all_three_down_at_once_come_back_by_themselves(galera, acknowledged):
    assert acknowledged, "runs after the writer power-off test"
    galera.rejoin(galera.members[0])                   # the powered-off writer boots again
    assert galera.members[0].status("wsrep_cluster_size") == "3"
    recovery_s = galera.power_off_all_and_start_again()
    print(f"galera_full_outage_recovery_s={recovery_s:.1f}")
    for member in galera.members:
        present = {int(n) for n in member.sql("SELECT n FROM congress.failover_probe").split()}
        assert acknowledged <= present, member.name
    events, _ = writes_during(galera, 3, 0, lambda: None, first=max(acknowledged) + 1)
    assert any("ok" in e for e in events), events[-3:]
