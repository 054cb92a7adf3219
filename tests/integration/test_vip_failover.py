"""The keepalived pair: stop the HAProxy holding the VIP, keepalived moves the VIP to the other
HAProxy host and the API keeps answering through it (vip.py: both hosts in network namespaces,
in front of the session drill's policy engines)."""

from __future__ import annotations

import re

import pytest

from drill import http
from vip import VIP_CLIENTS

pytestmark = pytest.mark.integration

RULE = "moved(x) :- vip(x)"


def test_stopping_the_haproxy_holding_the_vip_moves_the_vip_and_the_api_keeps_answering(vip_drill, created):
    first, client = vip_drill.lbs[0], VIP_CLIENTS[0]
    assert vip_drill.holder() is first          # the higher VRRP priority holds the VIP
    # Created through this VIP; read back by the same client, whom both HAProxy hosts send to the
    # same policy engine (balance source, consistent hash, same server list).
    for path, body in [("/v1/policies", {"name": "drill_before_vip_move"}),
                       ("/v1/policies/drill_before_vip_move/rules", {"rule": RULE})]:
        status, answer = http("POST", vip_drill.vip_url() + path, body, source=client)
        assert status == 201, answer
    before = {p["name"] for p in http("GET", vip_drill.vip_url() + "/v1/policies", source=client)[1]["results"]}
    assert {c["policy"] for c in created} | {"drill_before_vip_move"} <= before

    result = vip_drill.stop_haproxy_of_holder(client)
    print(f"VIP failover: {result}")
    try:
        assert result["victim"] == first.name
        # Within keepalived's timers of the rendered keepalived.conf (track script, VRRP).
        budget = vip_drill.failover_budget_s()
        assert result["moved_s"] is not None and result["moved_s"] <= budget, (budget, result)
        assert result["answered_s"] is not None and result["answered_s"] <= budget, (budget, result)
        assert not result["victim_holds_vip"] and result["holder"] == result["other"], result

        # Nothing lost: served through the VIP by the other HAProxy host.
        status, body = http("GET", vip_drill.vip_url() + "/v1/policies", source=client)
        assert status == 200, body
        assert before <= {p["name"] for p in body["results"]}
        status, body = http("GET", vip_drill.vip_url() + "/v1/policies/drill_before_vip_move/rules", source=client)
        assert status == 200, body
        assert re.sub(r"\s+", "", RULE) in {re.sub(r"\s+", "", r["rule"]) for r in body["results"]}
    finally:
        back_s = vip_drill.restart_haproxy(first.name)
        print(f"VIP back on {first.name} after {back_s:.1f} s")
