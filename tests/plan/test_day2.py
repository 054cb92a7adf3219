"""Day 2: plans of a changed deployment against the state of the deployed one.

Scaling policy engines creates or destroys only those VMs (and their ports and LB members) and
replaces nothing, in both load-balancer modes; the HAProxy VMs' rendered cloud-init (taken from
the root module's `cloud_init` output, since the provider plans user_data as a SHA-1) does not
change with the count.
"""

from __future__ import annotations

import pytest

from deployed import actions, day2  # noqa: F401 (day2 is a fixture)

PE_INSTANCE = 'module.policy_engine.openstack_compute_instance_v2.node["{}"]'
PE_PORT = 'module.policy_engine.openstack_networking_port_v2.node["{}"]'
MEMBER = 'module.lb_octavia[0].openstack_lb_member_v2.policy_engine["{}"]'


def moving(plan: dict) -> dict[str, list[str]]:
    return {a: act for a, act in actions(plan).items() if act not in (["no-op"], ["read"])}


def cloud_init(plan: dict) -> dict[str, str]:
    return plan["planned_values"]["outputs"]["cloud_init"]["value"]


def engines(prefix: str, indexes) -> list[str]:
    return [f"{prefix}-pe-{i}" for i in indexes]


@pytest.mark.parametrize("example,prefix", [("no-octavia", "congress"), ("minimal", "congress")])
def test_three_to_four_policy_engines_creates_only_the_new_one(day2, example, prefix):
    after, prior = day2(example, {"policy_engine_count": 3}, {"policy_engine_count": 4})
    (new,) = engines(prefix, [3])
    expected = {PE_INSTANCE.format(new): ["create"], PE_PORT.format(new): ["create"]}
    if example == "minimal":
        expected[MEMBER.format(new)] = ["create"]
    assert moving(after) == expected
    # No existing VM's rendered cloud-init changes (the real provider would replace it).
    before_ci, after_ci = cloud_init(prior), cloud_init(after)
    assert set(after_ci) - set(before_ci) == {new}
    assert {n: after_ci[n] for n in before_ci} == before_ci


@pytest.mark.parametrize("example,prefix", [("no-octavia", "congress"), ("minimal", "congress")])
def test_four_to_two_policy_engines_destroys_only_the_last_two(day2, example, prefix):
    after, prior = day2(example, {"policy_engine_count": 4}, {"policy_engine_count": 2})
    gone = engines(prefix, [2, 3])
    expected = {PE_INSTANCE.format(n): ["delete"] for n in gone} | {PE_PORT.format(n): ["delete"] for n in gone}
    if example == "minimal":
        expected |= {MEMBER.format(n): ["delete"] for n in gone}
    assert moving(after) == expected
    before_ci, after_ci = cloud_init(prior), cloud_init(after)
    assert set(before_ci) - set(after_ci) == set(gone)
    assert {n: before_ci[n] for n in after_ci} == after_ci


def test_haproxy_slots_cover_every_policy_engine_address_the_count_allows(day2):
    """The slots are the address plan's: pe-0 .. pe-63, whatever the count; scaling to all of them
    creates those engines and changes nothing else."""
    after, prior = day2("no-octavia", {"policy_engine_count": 3}, {"policy_engine_count": 64})
    (lb, *_) = sorted(n for n in cloud_init(after) if "-lb-" in n)
    text = cloud_init(after)[lb]
    for i in range(64):
        assert f"server congress-pe-{i} 198.18.40.{100 + i}:1789 check" in text
    assert "congress-pe-64 " not in text
    created = {a: ["create"] for i in range(3, 64)
               for a in (PE_INSTANCE.format(f"congress-pe-{i}"), PE_PORT.format(f"congress-pe-{i}"))}
    assert moving(after) == created
    # No VM already there changes, the database VM (its max_connections) included.
    before_ci, after_ci = cloud_init(prior), cloud_init(after)
    assert {n: after_ci[n] for n in before_ci} == before_ci


# Which VMs a change replaces (its rendered cloud-init changes): README's "Changes that replace VMs".
REPLACED_BY = [
    ({"datasource_sync_period": 45}, {"policy_engine", "datasource"}),
    ({"datasource_monitor": {"interval_s": 15, "timeout_s": 30}}, {"datasource"}),
    ({"health_check": {"interval_s": 3, "timeout_s": 2, "fall": 3, "rise": 2}}, {"haproxy"}),
    ({"secrets": {"vrrp_password": "another-vrrp-password-0004"}}, {"haproxy"}),
    ({"secrets": {"cluster_auth_key": "another-corosync-key-0004"}}, {"datasource"}),
    ({"secrets": {"db_password": "another-db-password-0004"}}, {"policy_engine", "datasource", "backing"}),
    ({"api_port": 1790}, {"policy_engine", "datasource", "haproxy", "backing"}),
]


def _role(name: str) -> str:
    return {"pe": "policy_engine", "ds": "datasource", "lb": "haproxy"}.get(name.split("-")[-2], "backing") \
        if name.split("-")[-1].isdigit() else "backing"


@pytest.fixture(scope="module")
def no_octavia_base(plan):
    from paths import example_tfvars

    return lambda **overrides: plan(var_file=example_tfvars("no-octavia"), **overrides)


@pytest.mark.parametrize("change,roles", REPLACED_BY, ids=[next(iter(c)) + (":" + next(iter(c["secrets"])) if "secrets" in c else "")
                                                         for c, _ in REPLACED_BY])
def test_which_roles_a_change_replaces(no_octavia_base, change, roles):
    base = no_octavia_base()
    if "secrets" in change:
        change = {"secrets": {**base.raw["variables"]["secrets"]["value"], **change["secrets"]}}
    before, after = base.outputs["cloud_init"], no_octavia_base(**change).outputs["cloud_init"]
    assert {_role(n) for n in after if after[n] != before[n]} == roles
