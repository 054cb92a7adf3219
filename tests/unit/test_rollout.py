"""The rollout planner on real plans (Terraform against the provider double, planned against the
state of a deployed example) and the wave runner's stop-on-timeout."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from congress_tf.cloud import LoadBalancerStatus
from congress_tf.rollout import RolloutStopped, Wave, plan_rollout, run_waves
from deployed import day2  # noqa: F401 (a fixture)
from test_commands import fake_tf  # noqa: F401 (a fixture)

SYNC = {"policy_engine_count": 3}


def order(rollout) -> list[tuple[str, str, str]]:
    return [(w.action, w.node, w.role) for w in rollout.waves]


def test_a_shared_setting_rolls_the_standby_datasource_first_then_each_policy_engine(day2):
    after, _ = day2("no-octavia", SYNC, {**SYNC, "datasource_sync_period": 45})
    rollout = plan_rollout(after)
    assert rollout.refusals == []
    assert order(rollout) == [("replace", "congress-ds-1", "datasource"), ("replace", "congress-ds-0", "datasource"),
                              ("replace", "congress-pe-0", "policy_engine"), ("replace", "congress-pe-1", "policy_engine"),
                              ("replace", "congress-pe-2", "policy_engine")]
    assert rollout.rest == []        # nothing but those VMs changes
    pe0 = rollout.waves[2]
    assert pe0.ip == "198.18.40.100"
    assert pe0.terraform_args() == ['-replace=module.policy_engine.openstack_compute_instance_v2.node["congress-pe-0"]',
                                    '-target=module.policy_engine.openstack_compute_instance_v2.node["congress-pe-0"]']


def test_the_active_datasource_vm_goes_last_when_known(day2):
    after, _ = day2("no-octavia", SYNC, {**SYNC, "datasource_sync_period": 45})
    rollout = plan_rollout(after, active={"datasource": "congress-ds-1"})
    assert [w.node for w in rollout.waves[:2]] == ["congress-ds-0", "congress-ds-1"]


def test_a_new_image_rolls_every_role_in_order_but_refuses_the_lone_database(day2):
    after, _ = day2("no-octavia", SYNC, {**SYNC, "image_id": "00000000-0000-4000-8000-00000000d12b"})
    rollout = plan_rollout(after)
    assert [w.node for w in rollout.waves] == [
        "congress-db", "congress-mq", "congress-ds-1", "congress-ds-0",
        "congress-pe-0", "congress-pe-1", "congress-pe-2", "congress-lb-1", "congress-lb-0"]
    assert [w.role for w in rollout.waves][:2] == ["database", "rabbitmq"]
    (refusal,) = rollout.refusals
    assert refusal.startswith("congress-db is the only database VM: replacing it loses every policy")


def test_a_new_vrrp_password_is_refused_for_the_haproxy_pair(day2):
    base = day2("no-octavia", SYNC, SYNC)[1]
    secrets = {**base["variables"]["secrets"]["value"], "vrrp_password": "another-vrrp-password-0004"}
    after, _ = day2("no-octavia", SYNC, {**SYNC, "secrets": secrets})
    rollout = plan_rollout(after)
    assert [w.node for w in rollout.waves] == ["congress-lb-1", "congress-lb-0"]
    (refusal,) = rollout.refusals
    assert "both haproxy VMs (congress-lb-0, congress-lb-1) are replaced with a new VRRP authentication" in refusal


def test_scaling_down_drains_and_removes_the_last_engines_and_rolls_nothing_else(day2):
    after, _ = day2("minimal", {"policy_engine_count": 4}, {"policy_engine_count": 2})
    rollout = plan_rollout(after)
    assert rollout.refusals == []
    assert order(rollout) == [("remove", "congress-pe-2", "policy_engine"), ("remove", "congress-pe-3", "policy_engine")]
    assert set(rollout.waves[0].addresses) == {
        'module.policy_engine.openstack_compute_instance_v2.node["congress-pe-2"]',
        'module.policy_engine.openstack_networking_port_v2.node["congress-pe-2"]',
        'module.lb_octavia[0].openstack_lb_member_v2.policy_engine["congress-pe-2"]'}
    assert not any(a.startswith("-replace") for a in rollout.waves[0].terraform_args())


def test_a_replaced_subnet_is_refused(day2):
    after, _ = day2("minimal", {"policy_engine_count": 2}, {"policy_engine_count": 2, "network": {"cidr": "198.18.21.0/24"}})
    rollout = plan_rollout(after)
    assert any(r.startswith("module.network.openstack_networking_subnet_v2.") and "every port on the subnet" in r
               for r in rollout.refusals), rollout.refusals


# ---- the runner ------------------------------------------------------------------------------

class Scripted:
    """Steps whose health answers come from a script: (ok, detail) per wave name."""

    def __init__(self, healthy: dict[str, bool]):
        self.healthy_ = healthy
        self.log: list[str] = []

    def drain(self, wave): self.log.append(f"drain {wave.node}")
    def restore(self, wave): self.log.append(f"restore {wave.node}")
    def healthy(self, wave): return self.healthy_[wave.node], "scripted"
    def serving(self, wave): return True, "scripted"


def waves(*names) -> list[Wave]:
    return [Wave(n, "policy_engine", "replace", f'i["{n}"]', (f'i["{n}"]',), "198.18.0.1") for n in names]


def test_waves_run_one_at_a_time_drain_apply_restore():
    steps, applied, said = Scripted({"a": True, "b": True}), [], []
    run_waves(waves("a", "b"), lambda w: (applied.append(w.node), steps.log.append(f"apply {w.node}")), steps, 5, said.append,
              interval_s=0)
    assert steps.log == ["drain a", "apply a", "restore a", "drain b", "apply b", "restore b"]
    assert said[0] == "wave 1/2: replace a (policy_engine)" and said[2] == "wave 2/2: replace b (policy_engine)"


def test_a_wave_that_never_gets_healthy_stops_the_rollout_and_leaves_the_rest():
    steps, applied = Scripted({"a": True, "b": False, "c": True}), []
    with pytest.raises(RolloutStopped) as stopped:
        run_waves(waves("a", "b", "c"), lambda w: applied.append(w.node), steps, 0.3, lambda _: None, interval_s=0.05)
    assert applied == ["a", "b"]
    assert "wave 2/3 (replace b): b healthy not within 0s" in str(stopped.value)
    assert str(stopped.value).endswith("waves left untouched: c")
    assert "restore b" not in steps.log      # a VM that is not healthy is not put back


# ---- congress-tf apply of a deployed cluster ---------------------------------------------------

@pytest.fixture
def deployed_env(tmp_path, fake_tf, monkeypatch):
    """A deployed `minimal` environment (state on disk) whose saved plan is `plan` (FAKE_TF_SHOW)."""
    from congress_tf.state import StateDir
    from test_commands import example

    def make(plan: dict) -> Path:
        show = tmp_path / "plan.json"
        show.write_text(json.dumps(plan))
        monkeypatch.setenv("FAKE_TF_SHOW", str(show))
        env_file = example(tmp_path, "minimal")
        sd = StateDir(env_file, "minimal")
        sd.create()
        sd.state_file.write_text('{"version": 4, "serial": 7}')
        return env_file
    return make


def test_apply_rolls_each_replaced_vm_in_its_own_terraform_apply_draining_engines_in_octavia(day2, deployed_env, fake_tf):
    from fakes import FakeCloud, FakeProbe, calls
    from test_commands import invoke

    after, _ = day2("minimal", {"policy_engine_count": 2}, {"policy_engine_count": 2, "datasource_sync_period": 45})
    env_file = deployed_env(after)
    terraform, log = fake_tf
    cloud = FakeCloud(lb_status=LoadBalancerStatus("ACTIVE", "ONLINE", {"198.18.20.100": "ONLINE", "198.18.20.101": "ONLINE"}))
    result = invoke(["--terraform", terraform, "apply", "--yes", env_file],
                    obj={"cloud_factory": cloud.factory, "probe": FakeProbe})
    assert result.exit_code == 0, result.output
    applies = [argv for argv in calls(log) if "apply" in argv]
    assert "-refresh-only" in applies.pop()          # outputs settled once every wave is in
    replaced = [[a for a in argv if a.startswith("-replace=")] for argv in applies]
    assert replaced == [[f'-replace=module.datasource.openstack_compute_instance_v2.node["congress-ds-{i}"]'] for i in (1, 0)] + \
        [[f'-replace=module.policy_engine.openstack_compute_instance_v2.node["congress-pe-{i}"]'] for i in (0, 1)]
    assert all(any(a.startswith("-target=") for a in argv) for argv in applies)
    # Each engine out of the Octavia pool before its apply, back after it answered.
    lb = "congress-api"
    assert cloud.member_changes == [(lb, "198.18.20.100", False), (lb, "198.18.20.100", True),
                                    (lb, "198.18.20.101", False), (lb, "198.18.20.101", True)]
    for i, node in enumerate(["congress-ds-1", "congress-ds-0", "congress-pe-0", "congress-pe-1"], 1):
        assert f"wave {i}/4: replace {node}" in result.output


def test_apply_drains_each_removed_engine_from_octavia_then_removes_it(day2, deployed_env, fake_tf):
    from fakes import FakeCloud, FakeProbe, calls
    from test_commands import invoke

    after, _ = day2("minimal", {"policy_engine_count": 4}, {"policy_engine_count": 2})
    terraform, log = fake_tf
    cloud = FakeCloud()
    result = invoke(["--terraform", terraform, "apply", "--yes", deployed_env(after)],
                    obj={"cloud_factory": cloud.factory, "probe": FakeProbe})
    assert result.exit_code == 0, result.output
    assert cloud.member_changes == [("congress-api", "198.18.20.102", False), ("congress-api", "198.18.20.103", False)]
    targets = [sorted(a for a in argv if a.startswith("-target=")) for argv in calls(log) if "apply" in argv][:-1]
    assert [len(t) for t in targets] == [3, 3]        # instance, port and member of one engine each
    assert all("congress-pe-2" in a for a in targets[0]) and all("congress-pe-3" in a for a in targets[1])


def test_apply_refuses_to_rebuild_the_lone_database_and_applies_nothing(day2, deployed_env, fake_tf):
    from fakes import FakeCloud, FakeProbe, calls
    from test_commands import invoke

    after, _ = day2("minimal", {"policy_engine_count": 2},
                    {"policy_engine_count": 2, "image_id": "00000000-0000-4000-8000-00000000d12b"})
    terraform, log = fake_tf
    result = invoke(["--terraform", terraform, "apply", "--yes", deployed_env(after)],
                    obj={"cloud_factory": FakeCloud().factory, "probe": FakeProbe})
    assert result.exit_code == 2, result.output
    assert "cannot roll one VM at a time" in result.output and "congress-db is the only database VM" in result.output
    assert "apply" not in [a for argv in calls(log) for a in argv]
