"""Backing modes single, cluster and external, and the one encryption key: real plans of the root
module; the rendered files are read from its sensitive `cloud_init` output."""

from __future__ import annotations

import configparser
import ipaddress
import json
import re
import socket
import subprocess

import pytest
import yaml
from paths import example_tfvars

MINIMAL = example_tfvars("minimal")            # backing mode single
PRODUCTION = example_tfvars("production")      # backing mode cluster
EXTERNAL = {"mode": "external", "database": {"host": "db.example.test", "port": 3307},
            "rabbitmq": {"hosts": ["mq-a.example.test", "mq-b.example.test"]}}
GALERA_PORTS = {(3306, 3306), (4567, 4568), (4444, 4444), (9200, 9200)}
RABBITMQ_PORTS = {(5672, 5672), (4369, 4369), (25672, 25672)}


@pytest.fixture(scope="module")
def plans(plan, example_plans):
    return {"single": example_plans["minimal"], "cluster": example_plans["production"],
            "external": plan(var_file=MINIMAL, backing=EXTERNAL)}


def files(user_data: str) -> dict[str, dict]:
    return {entry["path"]: entry for entry in yaml.safe_load(user_data).get("write_files", [])}


def settings(entries: dict[str, dict]) -> dict[str, str]:
    text = entries["/etc/congress-tf/node.env"]["content"]
    return dict(re.findall(r"^([A-Z_]+)='([^']*)'$", text, re.M))


def congress_conf(entries: dict[str, dict]) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(entries["/etc/congress/congress.conf"]["content"])
    return parser


def congress_nodes(plan) -> dict[str, dict[str, dict]]:
    out = {}
    for name, user_data in plan.outputs["cloud_init"].items():
        entries = files(user_data)
        if settings(entries)["NODE_ROLE"] in ("policy_engine", "datasource"):
            out[name] = entries
    return out


def backing_instances(plan) -> dict[str, dict]:
    return {r["values"]["name"]: r for r in plan.of_type("openstack_compute_instance_v2")
            if r["values"]["metadata"]["congress_role"] == "backing"}


def test_backing_vms_and_addresses_per_mode(plans):
    cidr = ipaddress.ip_network(plans["cluster"].raw["variables"]["network"]["value"]["cidr"])
    cluster = plans["cluster"].outputs["nodes"]["backing"]
    assert cluster == {**{f"congress-db-{i}": str(cidr[40 + i]) for i in range(3)},
                       **{f"congress-mq-{i}": str(cidr[50 + i]) for i in range(3)}}
    cidr = ipaddress.ip_network(plans["single"].raw["variables"]["network"]["value"]["cidr"])
    assert plans["single"].outputs["nodes"]["backing"] == {"congress-db": str(cidr[11]), "congress-mq": str(cidr[12])}
    assert plans["external"].outputs["nodes"]["backing"] == {}
    assert backing_instances(plans["external"]) == {}


def test_cluster_trios_each_have_their_own_anti_affinity_server_group(plans):
    plan = plans["cluster"]
    groups = {r["module"]: r["values"] for r in plan.of_type("openstack_compute_servergroup_v2")}
    assert groups["module.database_cluster[0]"]["name"] == "congress-database"
    assert groups["module.rabbitmq_cluster[0]"]["name"] == "congress-rabbitmq"
    assert groups["module.database_cluster[0]"]["policies"] == ["anti-affinity"]
    modules = {name: r["module"] for name, r in backing_instances(plan).items()}
    assert modules == {**{f"congress-db-{i}": "module.database_cluster[0]" for i in range(3)},
                       **{f"congress-mq-{i}": "module.rabbitmq_cluster[0]" for i in range(3)}}
    assert all(len(r["values"]["scheduler_hints"]) == 1 for r in backing_instances(plan).values())
    # Single mode: no server group for the two lone VMs, kept where they always were.
    single = backing_instances(plans["single"])
    assert {r["module"] for r in single.values()} == {"module.backing"}
    assert all(r["values"]["scheduler_hints"] == [] for r in single.values())


def rules_by_group(plan) -> dict[str, set]:
    """Ingress rules of the database and rabbitmq groups: {group: {(name, ports, source)}}, where
    source is the remote group's role (rules are keyed "<group>/<name>") or the CIDR."""
    found: dict[str, set] = {"database": set(), "rabbitmq": set()}
    for res in plan.of_type("openstack_networking_secgroup_rule_v2"):
        group, name = res["index"].split("/", 1)
        if group not in found:
            continue
        rule = res["values"]
        unknown = plan.changes[res["address"]]["change"]["after_unknown"]
        assert rule["protocol"] == "tcp" and rule["direction"] == "ingress", rule
        assert rule.get("remote_ip_prefix") is None and unknown.get("remote_group_id"), \
            f"{res['index']} must be open to a security group only, not to {rule.get('remote_ip_prefix')}"
        found[group].add((name, (rule["port_range_min"], rule["port_range_max"])))
    return found


def test_galera_and_rabbitmq_ports_open_only_between_the_nodes_that_need_them(plans):
    cluster = rules_by_group(plans["cluster"])
    assert cluster["database"] == {
        ("mariadb-from-policy_engine", (3306, 3306)), ("mariadb-from-datasource", (3306, 3306)),
        ("galera-health-from-policy_engine", (9200, 9200)), ("galera-health-from-datasource", (9200, 9200)),
        ("galera-replication", (4567, 4568)), ("galera-sst", (4444, 4444)), ("galera-health-peers", (9200, 9200))}
    assert cluster["rabbitmq"] == {
        ("amqp-from-policy_engine", (5672, 5672)), ("amqp-from-datasource", (5672, 5672)),
        ("epmd", (4369, 4369)), ("rabbitmq-dist", (25672, 25672))}
    single = rules_by_group(plans["single"])
    assert single["database"] == {("mariadb-from-policy_engine", (3306, 3306)), ("mariadb-from-datasource", (3306, 3306))}
    assert single["rabbitmq"] == {("amqp-from-policy_engine", (5672, 5672)), ("amqp-from-datasource", (5672, 5672))}
    assert rules_by_group(plans["external"]) == {"database": set(), "rabbitmq": set()}
    # No other group opens a Galera or RabbitMQ port.
    for plan in plans.values():
        for res in plan.of_type("openstack_networking_secgroup_rule_v2"):
            ports = (res["values"]["port_range_min"], res["values"]["port_range_max"])
            if ports in GALERA_PORTS | RABBITMQ_PORTS:
                assert res["index"].split("/")[0] in ("database", "rabbitmq"), res["index"]


def test_single_mode_congress_connects_to_its_two_vms_directly(plans):
    plan = plans["single"]
    db, mq = plan.outputs["nodes"]["backing"]["congress-db"], plan.outputs["nodes"]["backing"]["congress-mq"]
    for name, entries in congress_nodes(plan).items():
        conf = congress_conf(entries)
        assert f"@{db}:3306/congress?" in conf["database"]["connection"], name
        assert re.fullmatch(rf"rabbit://congress:[^@]+@{re.escape(mq)}:5672/%2Fcongress", conf["DEFAULT"]["transport_url"])
        assert "/etc/haproxy/haproxy.cfg" not in entries and not conf.has_section("oslo_messaging_rabbit")
    for name, user_data in plan.outputs["cloud_init"].items():
        assert "[galera]" not in user_data and "rabbitmq-env.conf" not in user_data, name


@pytest.mark.parametrize("mode", ["single", "cluster"])
def test_each_backing_vm_carries_only_its_own_services_scripts(plans, mode):
    """A lone database VM is replaced when its user_data changes: a RabbitMQ script must not be in it."""
    plan = plans[mode]
    for name in plan.outputs["nodes"]["backing"]:
        scripts = {path.rsplit("/", 1)[1] for path in files(plan.outputs["cloud_init"][name]) if path.endswith(".sh")}
        database = {"configure-galera.sh", "galera-recover.sh"} if mode == "cluster" else {"configure-mariadb.sh"}
        expected = database if "-db" in name else {"configure-rabbitmq.sh"}
        assert expected <= scripts, (name, scripts)
        others = {"configure-mariadb.sh", "configure-galera.sh", "configure-rabbitmq.sh"} - expected
        assert not scripts & others, (name, scripts)


def test_external_mode_congress_connects_to_the_given_servers(plans):
    for name, entries in congress_nodes(plans["external"]).items():
        conf = congress_conf(entries)
        assert "@db.example.test:3307/congress?" in conf["database"]["connection"], name
        brokers = re.findall(r"@([^:,/]+):(\d+)", conf["DEFAULT"]["transport_url"])
        assert brokers == [("mq-a.example.test", "5672"), ("mq-b.example.test", "5672")], name


def test_cluster_congress_reaches_one_galera_writer_through_a_local_haproxy(plans):
    plan = plans["cluster"]
    members = [(f"congress-db-{i}", plan.outputs["nodes"]["backing"][f"congress-db-{i}"]) for i in range(3)]
    for name, entries in congress_nodes(plan).items():
        conf = congress_conf(entries)
        assert "@127.0.0.1:3306/congress?" in conf["database"]["connection"], name
        assert conf["database"]["max_retries"] == "-1"
        haproxy = entries["/etc/haproxy/haproxy.cfg"]["content"]
        assert re.search(r"^\s*bind 127\.0\.0\.1:3306$", haproxy, re.M), name
        servers = re.findall(r"^\s*server (\S+) ([\d.]+):3306 check( backup)?$", haproxy, re.M)
        # The same order on every node: the first synced member is the one writer, the others standby.
        assert servers == [(n, ip, "" if i == 0 else " backup") for i, (n, ip) in enumerate(members)], name
        assert "option httpchk" in haproxy and "port 9200" in haproxy and "shutdown-sessions" in haproxy
        runcmd = [step[-1] for step in yaml.safe_load(plan.outputs["cloud_init"][name])["runcmd"][1:]]
        assert runcmd.index("/usr/local/lib/congress-tf/start-database-proxy.sh") < \
            runcmd.index("/usr/local/lib/congress-tf/wait-for-backends.sh"), name
        assert "haproxy" in yaml.safe_load(plan.outputs["cloud_init"][name])["packages"]


def test_cluster_galera_members_bootstrap_once_and_transfer_state_by_rsync(plans):
    plan = plans["cluster"]
    ips = [plan.outputs["nodes"]["backing"][f"congress-db-{i}"] for i in range(3)]
    for i in range(3):
        user_data = plan.outputs["cloud_init"][f"congress-db-{i}"]
        config, entries = yaml.safe_load(user_data), files(user_data)
        assert {"mariadb-server", "galera-4", "rsync"} <= set(config["packages"])
        cnf = configparser.ConfigParser(interpolation=None, strict=False, allow_no_value=True)
        cnf.read_string(entries["/etc/mysql/mariadb.conf.d/60-congress.cnf"]["content"])
        galera = cnf["galera"]
        assert galera["wsrep_on"] == "ON" and galera["wsrep_sst_method"] == "rsync"
        assert galera["wsrep_cluster_address"] == "gcomm://" + ",".join(ips)
        assert galera["wsrep_node_address"] == ips[i] and cnf["mariadbd"]["bind-address"] == ips[i]
        assert "pc.recovery=TRUE" in galera["wsrep_provider_options"]
        assert galera["binlog_format"] == "ROW" and galera["innodb_autoinc_lock_mode"] == "2"
        # 4 policy engines + the datasource node, each pooling up to 10 + 20.
        assert int(cnf["mariadbd"]["max_connections"]) >= 5 * 30
        assert "skip-name-resolve" in cnf["mariadbd"]      # no DNS in the way of a connection
        # Every member names the same first member: that one alone bootstraps (configure-galera.sh).
        assert settings(entries)["BACKING_PEERS"] == " ".join(ips)
        assert config["runcmd"][1:] == [["/usr/local/lib/congress-tf/configure-galera.sh"]]
        assert "ListenStream=%s:9200" % ips[i] in entries["/etc/systemd/system/congress-galera-health.socket"]["content"]


def ask_health_check(script, tmp_path, leave_early: bool) -> tuple[int, bytes]:
    """One run of the health check as its systemd socket runs it: the connection on stdin and
    stdout, SIGPIPE ignored (systemd's IgnoreSIGPIPE=yes; Python's children inherit its SIG_IGN)."""
    path = tmp_path / "galera-health.sh"
    path.write_text(script)
    asker, answerer = socket.socketpair()
    asker.sendall(b"GET / HTTP/1.0\r\n\r\n")
    run = subprocess.Popen(["bash", path], stdin=answerer, stdout=answerer, stderr=subprocess.DEVNULL,
                           restore_signals=False)
    answerer.close()
    answer = b""
    if leave_early:     # as a health check that timed out, or read only the status line
        asker.close()
    else:
        while chunk := asker.recv(4096):
            answer += chunk
        asker.close()
    return run.wait(timeout=30), answer


def test_galera_health_check_answers_http_and_an_asker_that_leaves_fails_no_unit(plans, tmp_path):
    script = files(plans["cluster"].outputs["cloud_init"]["congress-db-0"])[
        "/usr/local/lib/congress-tf/galera-health.sh"]["content"]
    code, answer = ask_health_check(script, tmp_path, leave_early=False)
    head, _, body = answer.partition(b"\r\n\r\n")
    # No synced Galera member on this machine: 503, with a length that matches the body.
    assert code == 0 and head.startswith(b"HTTP/1.1 503 "), answer
    assert f"Content-Length: {len(body)}".encode() in head and body.startswith(b"not synced"), answer
    # A failed run would stay as a failed unit: the VM "degraded" (systemctl is-system-running).
    assert ask_health_check(script, tmp_path, leave_early=True)[0] == 0


def test_cluster_rabbitmq_trio_shares_a_cookie_and_congress_lists_every_broker(plans):
    plan = plans["cluster"]
    secrets = plan.raw["variables"]["secrets"]["value"]
    ips = [plan.outputs["nodes"]["backing"][f"congress-mq-{i}"] for i in range(3)]
    for i in range(3):
        entries = files(plan.outputs["cloud_init"][f"congress-mq-{i}"])
        env_conf = entries["/etc/rabbitmq/rabbitmq-env.conf"]
        assert f"NODENAME=rabbit@{ips[i]}" in env_conf["content"] and env_conf.get("defer") is not True
        cookie = entries["/var/lib/rabbitmq/.erlang.cookie"]
        assert cookie["content"] == secrets["erlang_cookie"] and cookie["permissions"] == "0400"
        assert settings(entries)["BACKING_PEERS"] == " ".join(ips)
    for name, entries in congress_nodes(plan).items():
        conf = congress_conf(entries)
        brokers = re.findall(r"@([\d.]+):(\d+)", conf["DEFAULT"]["transport_url"])
        assert brokers == [(ip, "5672") for ip in ips], name
        assert conf["DEFAULT"]["transport_url"].endswith("/%2Fcongress")
        assert conf["oslo_messaging_rabbit"]["rabbit_quorum_queue"] == "true"
        assert conf["oslo_messaging_rabbit"]["rabbit_transient_quorum_queue"] == "true"   # replies, fanout


@pytest.mark.parametrize("mode", ["single", "cluster", "external"])
def test_every_congress_node_gets_the_one_encryption_key(plans, mode):
    plan = plans[mode]
    key = plan.raw["variables"]["secrets"]["value"]["encryption_key"]
    nodes = congress_nodes(plan)
    assert len(nodes) >= 4
    for name, entries in nodes.items():
        entry = entries["/etc/congress/keys/aes_key"]
        assert entry["content"] == key, name          # no newline: Congress reads the file as it is
        assert (entry["owner"], entry["permissions"], entry.get("defer")) == ("congress:congress", "0600", True)
        assert congress_conf(entries)["DEFAULT"]["encryption_key_path"] == "/etc/congress/keys"
    for name, user_data in plan.outputs["cloud_init"].items():
        if name not in nodes:
            assert key not in user_data, f"{name} is no Congress node but gets the key"
    # Only in the sensitive cloud_init output, never in another one.
    outputs = plan.raw["planned_values"]["outputs"]
    assert outputs["cloud_init"]["sensitive"] is True
    for name, output in outputs.items():
        if not output["sensitive"]:
            assert key not in json.dumps(output.get("value")), name


SECRETS = {"db_password": "a-good-db-password-1", "rabbit_password": "a-good-rabbit-password-1",
           "cluster_auth_key": "a-good-cluster-key-1", "vrrp_password": "a-good-vrrp-password-1",
           "encryption_key": "YS1nb29kLWZlcm5ldC1rZXktZm9yLXRoZS10ZXN0cyE="}


@pytest.mark.parametrize("backing, message", [
    ({"mode": "clustered"}, "backing.mode must be single, cluster or external."),
    ({"mode": "external", "database": {"host": "db.example.test"}},
     "backing.database and backing.rabbitmq are both required with mode external, and allowed only there."),
    ({"mode": "single", "database": {"host": "db.example.test"}},
     "backing.database and backing.rabbitmq are both required with mode external, and allowed only there."),
    ({"mode": "external", "database": {"host": "db.example.test"}, "rabbitmq": {"hosts": []}},
     "backing.rabbitmq.hosts must name at least one host."),
])
def test_backing_is_validated(plan_error, backing, message):
    assert message in plan_error(backing=backing)


def test_cluster_needs_an_erlang_cookie(plan_error):
    message = plan_error(backing={"mode": "cluster"}, secrets=SECRETS)
    assert "backing mode cluster needs secrets.erlang_cookie" in message


@pytest.mark.parametrize("key", [
    "not-a-key",
    "YS1nb29kLWZlcm5ldC1rZXktZm9yLXRoZS10ZXN0cyE",     # no padding
    "YS1nb29kLWZlcm5ldC1rZXktZm9yLXRoZS10ZXN0cyF=",    # 33rd..: trailing bits set, not 32 bytes
    "YS1nb29kLWZlcm5ldC1rZXktZm9yLXRoZS10ZXN0cyE+",    # standard, not URL-safe, base64
])
def test_encryption_key_must_be_a_fernet_key(plan_error, key):
    message = plan_error(secrets={**SECRETS, "encryption_key": key})
    assert "secrets.encryption_key must be a Fernet key" in message
    # Terraform quotes the offending line of the var file, but never prints the value itself.
    assert f'is "{key}"' not in message and "var.secrets is object" in message
