"""The rollout planner on real plans (Terraform against the provider double, planned against the
state of a deployed example) and the wave runner's stop-on-timeout."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from congress_tf.cloud import LoadBalancerStatus
from congress_tf.rollout import (LoadBalancerSteps, Members, RolloutStopped, Wave, plan_rollout, plan_rollout_asking,
                                 run_waves)
from deployed import day2, release_with_pin  # noqa: F401 (day2 is a fixture)
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


def test_a_release_moving_a_runtime_pin_rolls_like_a_shared_setting(day2, workspace, tmp_path):
    """A new congress-tf whose cloudinit/congress-constraints.txt moves one pin (a Congress runtime
    upgrade), planned against a deployment of the shipped one: the same waves as a shared setting."""
    release = release_with_pin(workspace, tmp_path, "urllib3", "2.7.0")
    upgraded, _ = day2("no-octavia", SYNC, SYNC, release=release)
    shared, _ = day2("no-octavia", SYNC, {**SYNC, "datasource_sync_period": 45})
    rollout = plan_rollout(upgraded)
    assert rollout.refusals == [] and rollout.rest == []
    assert order(rollout) == order(plan_rollout(shared))
    assert "urllib3==2.7.0" in upgraded["planned_values"]["outputs"]["cloud_init"]["value"]["congress-pe-0"]


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


# ---- the pairs and clusters, as their VMs answer ----------------------------------------------

NODES = {"haproxy": {"congress-lb-0": "198.18.40.30", "congress-lb-1": "198.18.40.31"},
         "datasource": {"congress-ds-0": "198.18.40.20", "congress-ds-1": "198.18.40.21"},
         "backing": {"congress-db-0": "198.18.40.40", "congress-db-1": "198.18.40.41", "congress-db-2": "198.18.40.42",
                     "congress-mq-0": "198.18.40.50", "congress-mq-1": "198.18.40.51", "congress-mq-2": "198.18.40.52"}}
VIP = "198.18.40.10"


class PairVMs:
    """run(address, command) of VMs answering as the real commands print (ip, crm_resource, crm_node,
    systemctl stop, mysql, rabbitmqctl): the VIP holder, where ds-node runs, who is in the partition."""

    def __init__(self, nodes=NODES, vip_on="congress-lb-0", ds_on="congress-ds-0", down=(), galera=None, rabbit=None,
                 also=None):
        """also: the same VMs under other addresses (the scripted Terraform's outputs)."""
        self.names = {ip: name for group in [*nodes.values(), *(also or {}).values()] for name, ip in group.items()}
        self.nodes, self.vip_on, self.ds_on, self.down = nodes, vip_on, ds_on, set(down)
        self.galera, self.rabbit = galera or {}, rabbit or {}
        self.keepalived: dict[str, str] = {}       # a state other than BACKUP (FAULT: its track script fails)
        self.partition = set(nodes["datasource"]) - self.down
        self.said: list[tuple[str, str]] = []

    def _other(self, role, name):
        return next(n for n in self.nodes[role] if n != name and n not in self.down)

    def __call__(self, ip, command):
        name = self.names[ip]
        if name in self.down:
            raise RolloutStopped(f"ssh debian@{ip} failed: No route to host")
        self.said.append((name, command))
        if command == "ip -4 -o addr show":
            vip = f"2: ens3    inet {VIP}/24 scope global secondary ens3\n" if name == self.vip_on else ""
            return 0, f"1: lo    inet 127.0.0.1/8 scope host lo\n2: ens3    inet {ip}/24 brd 198.18.40.255 scope global ens3\n{vip}"
        if command == "crm_resource --resource ds-node --locate":
            return (0, f"resource ds-node is running on: {self.ds_on}\n") if self.ds_on else (6, "")
        if command == "crm_node --partition":
            return 0, " ".join(sorted(self.partition)) + "\n"
        if command == Members.STATE["haproxy"]:
            return 0, f"Entering {'MASTER' if name == self.vip_on else self.keepalived.get(name, 'BACKUP')} STATE\n"
        if command == "systemctl stop keepalived.service":
            self.vip_on = self._other("haproxy", name)
            return 0, ""
        if command == "systemctl stop pacemaker.service":
            self.ds_on = self._other("datasource", name)
            return 0, ""
        if command.startswith("mysql "):
            return 0, "".join(f"{k}\t{v}\n" for k, v in self.galera.get(name, {}).items())
        if command.startswith("rabbitmqctl "):
            return 0, json.dumps({"running_nodes": self.rabbit.get(name, []), "disk_nodes": []})
        raise AssertionError(f"unexpected command on {name}: {command}")


def wave(node, role, action="replace"):
    ip = {n: i for group in NODES.values() for n, i in group.items()}[node]
    return Wave(node, role, action, f'i["{node}"]', (f'i["{node}"]',), ip)


def test_the_vip_holder_and_the_ds_node_host_are_asked_not_assumed():
    vms = PairVMs(vip_on="congress-lb-1", ds_on="congress-ds-1")
    members = Members(vms, NODES, VIP)
    assert (members.active("haproxy"), members.active("datasource")) == ("congress-lb-1", "congress-ds-1")
    vms.down = {"congress-lb-0", "congress-lb-1"}
    assert members.active("haproxy") is None          # nobody can be asked: nobody is taken for it


def test_the_pair_serving_now_is_rolled_last(day2):
    after, _ = day2("no-octavia", SYNC, {**SYNC, "datasource_sync_period": 45, "health_check":
                                         {"interval_s": 1, "timeout_s": 1, "fall": 2, "rise": 3}})
    rollout, active = plan_rollout_asking(after, PairVMs(vip_on="congress-lb-1", ds_on="congress-ds-1"))
    assert active == {"datasource": "congress-ds-1", "haproxy": "congress-lb-1"}
    order = [w.node for w in rollout.waves]
    assert order[:2] == ["congress-ds-0", "congress-ds-1"] and order[-2:] == ["congress-lb-0", "congress-lb-1"]


def test_the_serving_vm_hands_over_before_its_wave_and_the_standby_does_not():
    vms = PairVMs()
    members = Members(vms, NODES, VIP)
    assert members.hand_over(wave("congress-lb-1", "haproxy"), 5, interval_s=0) is False
    assert ("congress-lb-1", "systemctl stop keepalived.service") not in vms.said
    assert members.hand_over(wave("congress-lb-0", "haproxy"), 5, interval_s=0) is True
    assert vms.vip_on == "congress-lb-1"
    # the other LB was asked whether it would take the VIP (keepalived in BACKUP) before the VIP left
    said = vms.said
    assert said.index(("congress-lb-0", "systemctl stop keepalived.service")) > said.index(
        ("congress-lb-1", Members.STATE["haproxy"]))
    assert members.hand_over(wave("congress-ds-0", "datasource"), 5, interval_s=0) is True
    assert vms.ds_on == "congress-ds-1"


def test_no_hand_over_when_the_other_member_cannot_take_it():
    vms = PairVMs(down={"congress-ds-1"})
    with pytest.raises(RolloutStopped, match="no other datasource VM was ready to take over"):
        Members(vms, NODES, VIP).hand_over(wave("congress-ds-0", "datasource"), 0.05, interval_s=0.01)
    assert ("congress-ds-0", "systemctl stop pacemaker.service") not in vms.said
    # keepalived still in FAULT on the other HAProxy VM (its track script has not passed `rise` times
    # yet): the VIP would be nowhere for a while; the hand-over waits for BACKUP
    vms = PairVMs()
    vms.keepalived["congress-lb-1"] = "FAULT"
    members = Members(vms, NODES, VIP)
    with pytest.raises(RolloutStopped, match="no other haproxy VM was ready"):
        members.hand_over(wave("congress-lb-0", "haproxy"), 0.05, interval_s=0.01)
    assert vms.vip_on == "congress-lb-0"
    assert members.whole(wave("congress-lb-1", "haproxy")) == (False, "keepalived: Entering FAULT STATE")
    vms.keepalived.clear()
    assert members.whole(wave("congress-lb-1", "haproxy")) == (True, "keepalived: Entering BACKUP STATE")
    assert members.hand_over(wave("congress-lb-0", "haproxy"), 0.05, interval_s=0.01) is True


def test_a_hand_over_nobody_takes_stops_the_rollout():
    vms = PairVMs()
    vms._other = lambda role, name: name             # keepalived stops but the VIP stays (nobody takes it)
    with pytest.raises(RolloutStopped, match="no other VM took it within 0s"):
        Members(vms, NODES, VIP).hand_over(wave("congress-lb-0", "haproxy"), 0.05, interval_s=0.01)


def test_a_rebuilt_vm_is_healthy_only_once_back_in_its_cluster():
    from fakes import FakeProbe

    members = {"database": ["congress-db-0", "congress-db-1", "congress-db-2"],
               "rabbitmq": ["congress-mq-0", "congress-mq-1", "congress-mq-2"]}
    vms = PairVMs(galera={"congress-db-1": {"wsrep_local_state_comment": "Joining: receiving State Transfer",
                                            "wsrep_cluster_size": "3"}},
                  rabbit={"congress-mq-1": ["rabbit@congress-mq-0", "rabbit@congress-mq-1"]})
    vms.partition = {"congress-ds-1"}
    steps = LoadBalancerSteps(FakeProbe(), 1789, members=Members(vms, NODES, VIP, members))
    assert steps.healthy(wave("congress-db-1", "database")) == (
        False, "port 3306 open in 1 ms; Galera: Joining: receiving State Transfer, cluster size 3 of 3")
    assert steps.healthy(wave("congress-mq-1", "rabbitmq"))[0] is False
    assert steps.healthy(wave("congress-ds-1", "datasource")) == (
        False, "port 22 open in 1 ms; Pacemaker partition: congress-ds-1 (want congress-ds-0 congress-ds-1)")
    vms.galera["congress-db-1"]["wsrep_local_state_comment"] = "Synced"
    vms.rabbit["congress-mq-1"].append("rabbit@congress-mq-2")
    vms.partition = {"congress-ds-0", "congress-ds-1"}
    assert [steps.healthy(wave(n, r))[0] for n, r in
            [("congress-db-1", "database"), ("congress-mq-1", "rabbitmq"), ("congress-ds-1", "datasource")]] == [True] * 3
    assert steps.healthy(wave("congress-ds-1", "datasource")) == (
        True, "port 22 open in 1 ms; Pacemaker partition: congress-ds-0 congress-ds-1 (want congress-ds-0 congress-ds-1)")


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
    from fakes import OUTPUTS, FakeCloud, FakeProbe, calls
    from test_commands import invoke

    after, _ = day2("minimal", {"policy_engine_count": 2}, {"policy_engine_count": 2, "datasource_sync_period": 45})
    env_file = deployed_env(after)
    terraform, log = fake_tf
    cloud = FakeCloud(lb_status=LoadBalancerStatus("ACTIVE", "ONLINE", {"198.18.20.100": "ONLINE", "198.18.20.101": "ONLINE"}))
    vms = PairVMs(after["planned_values"]["outputs"]["nodes"]["value"], vip_on=None, ds_on="congress-ds-0",
                  also=OUTPUTS["nodes"]["value"])
    result = invoke(["--terraform", terraform, "apply", "--yes", env_file],
                    obj={"cloud_factory": cloud.factory, "probe": FakeProbe, "remote": lambda user: vms})
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
    assert "datasource pair: congress-ds-0 serves now, rolled last" in result.output
    # ds-node handed to the rebuilt standby before its own VM went, and only then
    assert [n for n, c in vms.said if c == "systemctl stop pacemaker.service"] == ["congress-ds-0"]
    assert vms.ds_on == "congress-ds-1"


def test_apply_refuses_to_roll_a_pair_whose_vms_do_not_answer_and_applies_nothing(day2, deployed_env, fake_tf):
    from fakes import OUTPUTS, FakeCloud, FakeProbe, calls
    from test_commands import invoke

    after, _ = day2("minimal", {"policy_engine_count": 2}, {"policy_engine_count": 2, "datasource_sync_period": 45})
    env_file = deployed_env(after)
    terraform, log = fake_tf
    nodes = after["planned_values"]["outputs"]["nodes"]["value"]
    vms = PairVMs(nodes, vip_on=None, down=set(nodes["datasource"]), also=OUTPUTS["nodes"]["value"])
    result = invoke(["--terraform", terraform, "apply", "--yes", "--ssh-user", "ops", env_file],
                    obj={"cloud_factory": FakeCloud().factory, "probe": FakeProbe, "remote": lambda user: vms})
    assert result.exit_code == 2, result.output
    assert "no VM of the datasource pair said whether it serves (asked over SSH as ops)" in result.output
    assert not [argv for argv in calls(log) if "apply" in argv]


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
