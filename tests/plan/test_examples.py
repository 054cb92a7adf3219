"""Plan assertions on the root module for every example under examples/."""

import ipaddress

import pytest
from paths import EXAMPLES, example_tfvars
from tfgraph import apply_graph, instance_chain_length

# Expected topology per example: policy engines, backing VMs, HAProxy VMs.
TOPOLOGY = {
    "minimal": {"policy_engine": 2, "backing": 2, "haproxy": 0, "datasource": 2},
    "production": {"policy_engine": 4, "backing": 6, "haproxy": 0, "datasource": 2},  # backing mode cluster
    "no-octavia": {"policy_engine": 3, "backing": 2, "haproxy": 2, "datasource": 2},
}
API_PORT = 1789


def test_every_example_is_covered():
    assert sorted(TOPOLOGY) == EXAMPLES


@pytest.fixture(params=EXAMPLES)
def example(request, example_plans):
    return request.param, example_plans[request.param]


def instances_by_role(plan):
    found = {}
    for inst in plan.values("openstack_compute_instance_v2"):
        found.setdefault(inst["metadata"]["congress_role"], []).append(inst)
    return found


def test_instance_count_per_role(example):
    name, plan = example
    counts = {role: len(insts) for role, insts in instances_by_role(plan).items()}
    assert counts == {role: n for role, n in TOPOLOGY[name].items() if n}


def test_every_instance_boots_from_its_own_fixed_ip_port(example):
    name, plan = example
    ports = plan.values("openstack_networking_port_v2")
    node_ports = [p for p in ports if not p["name"].endswith("-vip")]
    assert len(node_ports) == sum(TOPOLOGY[name].values())
    assert {p["name"] for p in node_ports} == {i["name"] for i in plan.values("openstack_compute_instance_v2")}


def test_fixed_ips_are_in_the_subnet_and_distinct(example):
    _, plan = example
    cidr = ipaddress.ip_network(plan.raw["variables"]["network"]["value"]["cidr"])
    addresses = [ip["ip_address"] for port in plan.values("openstack_networking_port_v2") for ip in port["fixed_ip"]]
    assert all(ipaddress.ip_address(a) in cidr for a in addresses)
    assert len(addresses) == len(set(addresses))
    assert plan.outputs["api_vip"] in {str(ipaddress.ip_address(a)) for a in addresses} | {
        lb["vip_address"] for lb in plan.values("openstack_lb_loadbalancer_v2")}


def test_node_ids_are_unique_per_congress_process(example):
    name, plan = example
    ids = plan.outputs["node_ids"]
    pe_ids = [i for n, i in ids.items() if "-pe-" in n]
    assert sorted(pe_ids) == [f"pe-{i}" for i in range(TOPOLOGY[name]["policy_engine"])]
    # The datasource pair runs one Pacemaker-managed datasource node: one id, distinct from every policy engine.
    assert {i for n, i in ids.items() if "-ds-" in n} == {"datasource-node"}


def test_spread_roles_share_one_server_group_each(example):
    _, plan = example
    groups = {r["module"]: r["values"] for r in plan.of_type("openstack_compute_servergroup_v2")}
    policy = plan.raw["variables"]["server_group_policy"]["value"]
    assert all(g["policies"] == [policy] for g in groups.values())
    for res in plan.of_type("openstack_compute_instance_v2"):
        hints = res["values"]["scheduler_hints"]
        if res["values"]["metadata"]["congress_role"] == "backing" and res["module"] == "module.backing":
            assert hints == []  # backing mode single: one VM per service
        else:
            assert len(hints) == 1  # its group's id is known only after apply
            assert any(m.startswith(res["module"]) for m in groups)


def test_outputs_are_known_at_plan_time(example):
    _, plan = example
    for name in ("api_vip", "api_url", "nodes", "node_ids", "cloud_init"):
        assert plan.raw["output_changes"][name]["after_unknown"] is False, name
    tls = any(plan.raw["variables"].get(name, {}).get("value") for name in ("octavia_tls", "haproxy_tls"))
    assert plan.outputs["api_url"] == f"{'https' if tls else 'http'}://{plan.outputs['api_vip']}:{API_PORT}/"


def test_no_instance_waits_for_another(example, terraform, tmp_path):
    name, _ = example
    tf = terraform("terraform")
    deps = apply_graph(lambda *args: tf.execute_command(*args).out,
                       str(example_tfvars(name)), str(tmp_path / "plan"))
    assert sum(1 for node in deps if "openstack_compute_instance_v2.node[" in node) == sum(TOPOLOGY[name].values())
    assert instance_chain_length(deps) == 1


@pytest.mark.parametrize("name", [n for n in EXAMPLES if TOPOLOGY[n]["haproxy"] == 0])
def test_octavia_pool_is_sticky_checked_and_has_every_policy_engine(name, example_plans):
    plan = example_plans[name]
    (pool,) = plan.values("openstack_lb_pool_v2")
    assert pool["persistence"] == [{"type": "SOURCE_IP", "cookie_name": None}]
    variables = {k: v["value"] for k, v in plan.raw["variables"].items()}
    # With octavia_tls a second listener only redirects plain HTTP (tests/plan/test_catalog.py).
    (listener,) = [v for v in plan.values("openstack_lb_listener_v2") if v["protocol_port"] == API_PORT]
    protocol = "TERMINATED_HTTPS" if variables.get("octavia_tls") else "HTTP"
    assert (listener["protocol"], listener["protocol_port"]) == (protocol, API_PORT)
    clients = variables["allowed_client_cidrs"] + variables["admin_cidrs"]
    # Never open to all by omission: without named clients only the cluster subnet may call.
    # In the order Octavia returns them (sorted), or every re-plan after apply updates the listener.
    assert listener["allowed_cidrs"] == sorted(set(clients or [variables["network"]["cidr"]]))
    (monitor,) = plan.values("openstack_lb_monitor_v2")
    assert (monitor["type"], monitor["url_path"], monitor["expected_codes"], monitor["http_method"]) == ("HTTP", "/", "200", "GET")
    members = {(m["address"], m["protocol_port"]) for m in plan.values("openstack_lb_member_v2")}
    assert members == {(ip, API_PORT) for ip in plan.outputs["nodes"]["policy_engine"].values()}
    (lb,) = plan.values("openstack_lb_loadbalancer_v2")
    assert lb["vip_address"] == plan.outputs["api_vip"]


def test_haproxy_example_has_no_octavia_and_carries_the_vip(example_plans):
    plan = example_plans["no-octavia"]
    assert not [r for r in plan.resources if r["type"].startswith("openstack_lb_")]
    vip = plan.outputs["api_vip"]
    haproxy_ports = [p for p in plan.values("openstack_networking_port_v2", "module.lb_haproxy[0].module.haproxy")]
    assert len(haproxy_ports) == 2
    # Only the address: the pair's MAC is Neutron's to fill in (unknown until apply).
    assert all([pair["ip_address"] for pair in p["allowed_address_pairs"]] == [vip] for p in haproxy_ports)
    (vip_port,) = plan.values("openstack_networking_port_v2", "module.lb_haproxy[0]")
    assert vip_port["fixed_ip"][0]["ip_address"] == vip


# Open to security groups only (ids known after apply): the Congress nodes' groups for the
# database and AMQP (and the Galera health check), a pair's or trio's own group for the rest
# (tests/plan/test_backing.py checks which group each rule names).
GROUP_ONLY = {("tcp", 3306), ("tcp", 5672), ("tcp", 9200), ("udp", 5405), ("tcp", 2224), ("vrrp", None),
              ("tcp", 4567), ("tcp", 4444), ("tcp", 25672), ("tcp", 4369)}


def test_security_groups_are_least_privilege(example):
    _, plan = example
    variables = {k: v["value"] for k, v in plan.raw["variables"].items()}
    cidr, admins, clients = variables["network"]["cidr"], variables["admin_cidrs"], variables["allowed_client_cidrs"]
    rules = plan.of_type("openstack_networking_secgroup_rule_v2")
    assert rules and all(r["values"]["direction"] == "ingress" for r in rules)
    seen = set()
    for res in rules:
        rule = res["values"]
        key = (rule["protocol"], rule.get("port_range_min"))
        seen.add(key)
        source = rule.get("remote_ip_prefix")
        if key in GROUP_ONLY:
            # Open only to the group itself, i.e. the pair's peer (its id is known after apply).
            assert source is None and plan.changes[res["address"]]["change"]["after_unknown"]["remote_group_id"], rule
        elif key == ("tcp", 22):
            assert source in admins, rule
        elif key == ("tcp", API_PORT):
            assert source in [cidr, *admins, *clients], rule
            if source == "0.0.0.0/0":
                assert rule["description"].startswith("haproxy/api-client-"), rule
        else:
            pytest.fail(f"unexpected rule {rule}")
    assert {("tcp", 3306), ("tcp", 5672), ("udp", 5405), ("tcp", 2224)} <= seen
