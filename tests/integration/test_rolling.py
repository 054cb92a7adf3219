"""Day 2 on the HA drill: the HAProxy slots and the rollout's waves with real HAProxy and real
policy engines, a client sending requests through the VIP the whole time.

The waves come from congress_tf.rollout.plan_rollout on a real day-2 plan of the drill's own
configuration (tests/deployed.py: the plan against the state of the deployed drill); the drain
and health steps are congress_tf.rollout's, on the drill's HAProxy admin socket.  A policy engine
stopped with SIGKILL and started from the new plan's rendered files stands in for Terraform
replacing its VM (drill.py's deviations apply: processes on loopback addresses, no VMs).
"""

from __future__ import annotations

import re
import time

from congress_tf.rollout import HaproxyPool, plan_rollout, run_waves
from deployed import day2  # noqa: F401 (a fixture)
from drill import CLIENTS, DRILL_EXAMPLE, DRILL_OVERRIDES, Rendered, http, wait_for
from rolling import Traffic, replace_with, steps_for

WAVE_TIMEOUT_S = 240


def cloud_init(plan: dict) -> dict[str, str]:
    return plan["planned_values"]["outputs"]["cloud_init"]["value"]


def _answers(url: str) -> bool:
    try:
        http("GET", url, timeout=2)
        return True
    except OSError:
        return False


def test_a_fresh_haproxy_sends_nothing_to_slots_without_an_engine(drill):
    engines = set(drill.policy_engine_urls())
    drill.haproxy.stop()
    drill.start_haproxy()
    seen, first_up, serving = [], None, []
    started = time.monotonic()
    wait_for("the new HAProxy listening", lambda: _answers("http://127.0.0.1:8404/haproxy-serving"), 10, interval=0.02)
    while time.monotonic() - started < 20:
        try:
            status, _ = http("GET", drill.vip_url() + "/", source=CLIENTS[0], timeout=5)
        except OSError as exc:
            status = repr(exc)
        monitor = http("GET", "http://127.0.0.1:8404/haproxy-serving", timeout=2)[0]
        stats = drill.backend_stats()
        up = {name for name, row in stats.items() if row["status"] == "UP"}
        seen.append((status, bool(up)))
        serving.append((monitor, bool(up)))
        if up and first_up is None:
            first_up = time.monotonic() - started
        if up == engines:
            break
        time.sleep(0.05)

    assert up == engines, f"engines UP after 20 s: {up}"
    absent = {name: row for name, row in stats.items() if name not in engines}
    assert len(absent) == 62                          # 64 slots, 2 engines in the drill
    assert all(row["stot"] == "0" and row["status"].startswith("DOWN") for row in absent.values())
    # Before the first engine is UP: 503 from HAProxy and keepalived's track URL fails; after: 200.
    assert {s for s, any_up in seen if any_up} == {200}
    assert {s for s, any_up in seen if not any_up} <= {503}
    assert {m for m, any_up in serving if not any_up} <= {503} and {m for m, any_up in serving if any_up} == {200}
    print(f"first engine UP {first_up:.1f}s after HAProxy started; {len(seen)} requests, "
          f"{sum(1 for s, u in seen if not u)} answered 503 before any engine was UP")


def test_rolling_a_sync_period_change_over_the_policy_engines_fails_no_request(drill, day2, created):
    after, _ = day2(DRILL_EXAMPLE, DRILL_OVERRIDES, {**DRILL_OVERRIDES, "datasource_sync_period": 45})
    rollout = plan_rollout(after)
    assert rollout.refusals == []
    assert [w.node for w in rollout.waves] == ["congress-ds-1", "congress-ds-0", "congress-pe-0", "congress-pe-1"]
    engine_waves = [w for w in rollout.waves if w.role == "policy_engine"]   # the drill's ds host is not a pair
    rendered = Rendered(cloud_init(after))
    said = []
    started = time.monotonic()
    with Traffic(drill.vip_url()) as traffic:
        run_waves(engine_waves, replace_with(drill, rendered), steps_for(drill), WAVE_TIMEOUT_S, said.append)
    took = time.monotonic() - started

    print(f"rolled {len(engine_waves)} policy engines in {took:.0f}s: {traffic.answered} requests, "
          f"{len(traffic.failures)} failed; {said}")
    assert traffic.failures == []
    assert traffic.answered > 100
    for name in drill.policy_engine_urls():
        conf = (drill.host_dir(rendered.nodes[name]) / "congress.conf").read_text()
        assert re.search(r"^datasource_sync_period\s*=\s*45$", conf, re.M), name
        assert drill.services[name].proc.alive()
    for item in created:                              # nothing created before is lost
        for url in drill.policy_engine_urls().values():
            assert re.sub(r"\s+", "", item["rule"]) in drill.rules_on(url, item["policy"]), (item, url)


def test_scaling_up_and_down_fails_no_request(drill, day2):
    """2 -> 3: the new engine's slot comes UP by itself; 3 -> 2: it is drained, then removed."""
    bigger, _ = day2(DRILL_EXAMPLE, DRILL_OVERRIDES, {**DRILL_OVERRIDES, "policy_engine_count": 3})
    assert plan_rollout(bigger).waves == []           # adding engines replaces nothing
    rendered = Rendered(cloud_init(bigger))
    new = "congress-pe-2"
    pool = HaproxyPool([drill.haproxy_cmd])
    with Traffic(drill.vip_url()) as traffic:
        drill.start_policy_engine(rendered.nodes[new])
        url = f"http://{rendered.nodes[new].ip}:{drill.api_port}/"
        wait_for(f"{new} answering", lambda: http("GET", url, timeout=3)[0] == 200, WAVE_TIMEOUT_S)
        wait_for(f"HAProxy marking {new} UP", lambda: pool.up(new)[0], 60)
        time.sleep(2)
        served_new = int(drill.backend_stats()[new]["stot"])

        smaller, _ = day2(DRILL_EXAMPLE, {**DRILL_OVERRIDES, "policy_engine_count": 3}, DRILL_OVERRIDES)
        rollout = plan_rollout(smaller)
        assert [(w.action, w.node) for w in rollout.waves] == [("remove", new)]
        run_waves(rollout.waves, replace_with(drill, rendered), steps_for(drill), WAVE_TIMEOUT_S, print)
        time.sleep(2)

    print(f"scale 2 -> 3 -> 2: {traffic.answered} requests, {len(traffic.failures)} failed, {new} served {served_new}")
    assert traffic.failures == []
    assert traffic.answered > 100
    row = drill.backend_stats()[new]
    assert row["status"].startswith("DOWN")           # back to a checked, empty slot (not MAINT)
