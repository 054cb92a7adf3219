"""Backing mode cluster's database, for real on this machine (galera.py): the Galera writer is
powered off while rules are written through a Congress node's local HAProxy, then all three
members go down at once and start again as at boot, and, last, the case that needs
galera-recover.sh (the writer lost before the full outage). Run under the drill's lock (flock)."""

from __future__ import annotations

import re
import time

import pytest
from drill import wait_for
from galera import acknowledged_writes, writes_during
from outage import write_outage_s

pytestmark = pytest.mark.integration

WRITES_AGAIN_WITHIN_S = 10
STAYS_NON_PRIMARY_S = 20        # several of Galera's reconnect rounds (pc.recovery gives up)


@pytest.fixture(scope="module")
def acknowledged() -> set[int]:
    return set()


def test_one_writer_and_every_member_synced_behind_the_local_haproxy(galera):
    assert all(m.synced() for m in galera.members)
    assert galera.members[0].status("wsrep_cluster_size") == "3"
    states = galera.server_states()
    assert galera.active_server() == galera.members[0].name and set(states) == {m.name for m in galera.members}


def test_writer_power_off_loses_no_acknowledged_write_and_writes_resume_within_10_s(galera, acknowledged):
    writer, survivor = galera.members[0], galera.members[1]
    writer.sql("CREATE TABLE IF NOT EXISTS congress.failover_probe (n INT PRIMARY KEY)")
    events, fault_time = writes_during(galera, 30, 5, lambda: galera.power_off(writer))
    ok = acknowledged_writes(events)
    db_failover_s = write_outage_s([e["t"] for e in ok], fault_time)
    assert any(e["t"] < fault_time for e in ok) and db_failover_s is not None, events[-5:]
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
    written_after = {e["ok"] for e in acknowledged_writes(events)}
    assert written_after, events[-3:]
    acknowledged.update(written_after)   # the next test's writes start after these keys, not on them


def test_writer_lost_before_a_full_outage_comes_back_with_galera_recover(galera, acknowledged):
    """What pc.recovery cannot mend: the writer went first, then the two others were shut down
    one after the other (a clean leave drops the saved primary view). Started again they stay out
    of any primary component until README's command: galera-recover.sh on each member, then
    --bootstrap on the highest seqno."""
    assert acknowledged, "runs after the full outage test"
    lost, *survivors = galera.members
    galera.power_off(lost)
    galera.kill(lost)
    wait_for("the two others synced without it", lambda: all(m.synced() and m.status("wsrep_cluster_size") == "2"
                                                            for m in survivors), 60)
    events, _ = writes_during(galera, 3, 0, lambda: None, first=max(acknowledged) + 1)
    written_without_lost = {e["ok"] for e in acknowledged_writes(events)}
    assert written_without_lost, events[-3:]
    acknowledged.update(written_without_lost)
    for member in survivors:
        galera.shut_down(member)
    for member in galera.members:               # every VM boots again; mariadb.service starts plainly
        galera.start_member(member)
    time.sleep(STAYS_NON_PRIMARY_S)
    assert not any(m.status("wsrep_cluster_status") == "Primary" for m in galera.members), \
        {m.name: m.status("wsrep_cluster_status") for m in galera.members}

    positions = {}
    for member in galera.members:               # each stopped to read its position
        out = galera.recover_script(member)
        positions[member.name] = int(re.search(r"last committed seqno (-?\d+)", out).group(1))
        assert not member.proc.alive(), f"galera-recover.sh left {member.name}'s mariadbd running"
    highest = max(galera.members, key=lambda m: positions[m.name])
    print(f"positions after the outage: {positions}; bootstrapping {highest.name}")
    assert highest is not lost and positions[highest.name] > positions[lost.name], positions
    galera.recover_script(highest, "--bootstrap")
    assert galera.start_requested(highest) == "bootstrap", "galera-recover.sh --bootstrap did not call galera_new_cluster"
    wait_for(f"{highest.name} primary", lambda: highest.synced() or galera.check_alive(highest), 60)
    for member in galera.members:               # started again by the script: they join
        if member is not highest:
            assert galera.start_requested(member) == "start", f"galera-recover.sh left {member.name} stopped"
    wait_for("all three synced in one cluster", lambda: all(
        m.synced() and m.status("wsrep_cluster_size") == "3" for m in galera.members), 180)
    for member in galera.members:
        present = {int(n) for n in member.sql("SELECT n FROM congress.failover_probe").split()}
        assert acknowledged <= present, (member.name, sorted(acknowledged - present)[:10])
