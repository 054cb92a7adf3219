"""The datasource pair: stop the cluster stack of the host running ds-node (the VM dies), the
standby takes ds-node over (ds_pair.py: ds-0 and ds-1 in namespaces of their own).

It stops the session drill's one-node datasource host for the rest of the session, so it runs
after test_drill.py (file order)."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.integration


def test_the_standby_datasource_host_takes_over_when_the_active_one_dies(ds_pair):
    first = ds_pair.wait_started()
    result = ds_pair.stop_active_host()
    print(f"datasource takeover: {result}")
    assert result["victim"] == first and result["other"] != first
    assert result["running_s"] <= ds_pair.takeover_budget_s(), result
    assert result["pids"], result                  # the real congress-server --datasources
    status = re.sub(r"\s+", " ", ds_pair.crm_status())
    assert f"ds-node (ocf:openstack:congress-datasource): Started {result['other']}" in status, status
