"""The configured datasource_sync_period is the period Congress runs: the time a policy created on
one policy engine takes to reach another follows it, for two settings.

Congress 11.0.0 alone would re-synchronise every 60 s whatever congress.conf says; the runtime's
shim (cloudinit/congress_py311_compat.py) makes the file's value the one that runs.  Another
engine learns of a new policy only from its periodic read of the database, every period P (its
rules are read from the database on each request, once the engine knows the policy), so a policy
created just after the reader's last read reaches it P later.  The drill's engines run the
plan's period (DRILL_OVERRIDES); then one engine runs the congress.conf of a plan with a longer
period, and is given its own congress.conf back afterwards.
"""

from __future__ import annotations

import time

import pytest

from drill import DRILL_EXAMPLE, DRILL_OVERRIDES, Rendered, http, wait_for
from paths import example_tfvars

pytestmark = pytest.mark.integration

SLOW_S = 20          # the second setting (the drill's own is DRILL_OVERRIDES's, 5 s)
TOLERANCE_S = 1.5    # polling, HTTP and the write on either side of the measured period


def create_policy(url: str, name: str) -> None:
    status, body = http("POST", url + "/v1/policies", {"name": name})
    assert status == 201, (status, body)


def knows(url: str, policy: str) -> bool:
    """The engine has the policy in memory (Congress answers its rules only then)."""
    try:
        return http("GET", url + f"/v1/policies/{policy}/rules", timeout=5)[0] == 200
    except OSError:
        return False


def aligned_lag(writer: str, reader: str, tag: str, period: float) -> float:
    """Seconds for a policy created on `writer` to be known by `reader`, created right after the
    reader's previous synchronisation (seen as a first policy appearing there)."""
    timeout = 2 * period + 10
    create_policy(writer, f"sync_probe_{tag}_mark")
    wait_for(f"{tag}: the reader's next sync", lambda: knows(reader, f"sync_probe_{tag}_mark"), timeout,
             interval=0.05)
    started = time.monotonic()
    create_policy(writer, f"sync_probe_{tag}")
    wait_for(f"{tag}: the policy on the reader", lambda: knows(reader, f"sync_probe_{tag}"), timeout, interval=0.05)
    return time.monotonic() - started


def run_with(drill, node) -> None:
    """Restart one policy engine on the congress.conf rendered for `node`."""
    drill.services[node.name].stop()
    drill.localise_congress_conf(node)
    drill.restart_policy_engine(node.name)


def test_policy_lag_between_policy_engines_follows_the_configured_sync_period(drill, plan):
    fast = drill.sync_budget_s()
    assert fast == DRILL_OVERRIDES["datasource_sync_period"] < SLOW_S
    (writer_name, writer), (reader_name, reader) = sorted(drill.policy_engine_urls().items())[:2]

    fast_lag = aligned_lag(writer, reader, "fast", fast)

    slow_plan = plan(var_file=example_tfvars(DRILL_EXAMPLE), **{**DRILL_OVERRIDES, "datasource_sync_period": SLOW_S})
    (slow_node,) = [n for n in Rendered(slow_plan.outputs["cloud_init"]).role("policy_engine") if n.name == reader_name]
    (own_node,) = [n for n in drill.rendered.role("policy_engine") if n.name == reader_name]
    run_with(drill, slow_node)
    try:
        slow_lag = aligned_lag(writer, reader, "slow", SLOW_S)
    finally:
        run_with(drill, own_node)

    print(f"{writer_name} -> {reader_name}: a new policy after {fast_lag:.1f}s at datasource_sync_period={fast}, "
          f"after {slow_lag:.1f}s at {SLOW_S}")
    assert abs(fast_lag - fast) <= TOLERANCE_S
    assert abs(slow_lag - SLOW_S) <= TOLERANCE_S
