"""Keystone and TLS for real (keystone_tls.py): Congress with the keystone_authtoken options
congress-tf renders, behind HAProxy terminating TLS on the VIP with the certificate congress-tf
generates, against a real Keystone; then Congress's own client (python-congressclient 2.0.1
through python-openstackclient) through the VIP. Run under the drill's lock:

    flock /tmp/congress-drill.lock python -m pytest tests/integration/test_keystone_tls.py
"""

from __future__ import annotations

import os
import re
from http.client import HTTPConnection

import pytest

from drill import free_port, missing_tools, started
from keystone_tls import (API_ADMIN, API_MEMBER, KT_CIDR, KeystoneTlsCluster, OpenStackCli, client_venv, https,
                          overrides, setup_identity, token)
from paths import example_tfvars

RULES = ['q("alpha")', 'q("beta")', 'p(x) :- q(x), not r(x)', 'r("beta")']
NEEDED = ["mariadbd", "mariadb-install-db", "mariadb", "haproxy", "epmd", "ip", "/usr/lib/rabbitmq/bin/rabbitmq-server"]


@pytest.fixture(scope="module")
def keystone(tmp_path_factory):
    if os.environ.get("CONGRESS_TF_SKIP_CONTROLPLANE"):
        pytest.skip("CONGRESS_TF_SKIP_CONTROLPLANE is set (Keystone comes from the control plane's venv)")
    from controlplane import harness

    server = harness.KeystoneOnly(tmp_path_factory.mktemp("keystone"), harness.ensure_venv(), free_port())
    with started(server.start, server.stop) as running:
        yield running


@pytest.fixture(scope="module")
def server_tls(tmp_path_factory):
    """The CA and certificate as `congress-tf` makes them for an environment on KT_CIDR."""
    from congress_tf import tls

    return tls.generated(tmp_path_factory.mktemp("state") / "tls", "keystone-tls", tls.api_hosts(KT_CIDR, []))


@pytest.fixture(scope="module")
def cluster(plan, congress_venv, keystone, server_tls):
    if os.geteuid() != 0:
        pytest.skip("runs MariaDB and RabbitMQ and routes a test subnet to lo: it needs root")
    missing = missing_tools(NEEDED)
    if missing:
        pytest.fail(f"needs {missing} (Debian packages: see .ci/run)")
    import openstack

    cloud_init = plan(var_file=example_tfvars("no-octavia"),
                      **overrides(keystone.auth_url, server_tls.tfvars())).outputs["cloud_init"]
    drill = KeystoneTlsCluster(cloud_init, congress_venv.path)
    setup_identity(openstack.connect(auth=keystone.admin_auth(), identity_api_version="3",
                                     region_name="RegionOne"), drill.vip_url())
    with started(drill.start, drill.close) as running:
        yield running


def test_the_api_through_the_tls_vip_wants_a_keystone_token(cluster, keystone, server_tls):
    url = cluster.vip_url() + "/v1/policies"
    status, headers, _ = https("GET", url, server_tls.ca_file)
    assert status == 401
    assert keystone.auth_url in headers.get("www-authenticate", "")   # www_authenticate_uri as rendered
    status, _, body = https("GET", url, server_tls.ca_file, {"X-Auth-Token": token(keystone.auth_url, API_ADMIN)})
    assert status == 200, body
    assert {p["name"] for p in body["results"]} >= {"classification", "action"}
    status, _, _ = https("GET", url, server_tls.ca_file, {"X-Auth-Token": "gAAAAABnot-a-token-at-all"})
    assert status == 401
    # A valid token without the admin role: Congress's default policy is admin only.
    status, _, _ = https("GET", url, server_tls.ca_file, {"X-Auth-Token": token(keystone.auth_url, API_MEMBER)})
    assert status == 403


def test_plain_http_is_redirected_and_congress_links_say_https(cluster, server_tls):
    conn = HTTPConnection(cluster.vip, cluster.api_port, timeout=10)
    try:
        conn.request("POST", "/v1/policies?x=1", body="{}")
        resp = conn.getresponse()
        # 308: the client repeats the same method and body on https.
        assert (resp.status, resp.getheader("Location")) == (308, f"{cluster.vip_url()}/v1/policies?x=1")
    finally:
        conn.close()
    status, _, versions = https("GET", cluster.vip_url() + "/", server_tls.ca_file)
    assert status in (200, 300), versions
    links = [link["href"] for v in versions["versions"] for link in v["links"]]
    assert links and all(href.startswith(cluster.vip_url() + "/") for href in links), links


def test_health_checks_keep_working_behind_tls(cluster):
    assert cluster.monitor_answers() == 200          # keepalived's track URL
    stats = cluster.backend_stats()
    assert stats[cluster.engine.name]["status"] == "UP"
    assert stats[cluster.engine.name]["check_status"] in ("L7OK", "L7OKC")


@pytest.fixture(scope="module")
def congress_cli(cluster, keystone, server_tls):
    return OpenStackCli(client_venv(), keystone.auth_url, API_ADMIN, server_tls.ca_file)


def _words(rule: str) -> str:
    return " ".join(rule.split())


def test_openstack_congress_through_the_tls_vip(congress_cli):
    cli = congress_cli
    versions = cli.json("congress", "version", "list")
    assert [v["id"] for v in versions] == ["v1"], versions
    created = cli.json("congress", "policy", "create", "tls_demo", "--description", "issue 14")
    assert created["name"] == "tls_demo"
    assert "tls_demo" in {p["name"] for p in cli.json("congress", "policy", "list")}
    for rule in RULES:       # Congress answers with the rule as it prints it (a long one on several lines)
        assert _words(cli.json("congress", "policy", "rule", "create", "tls_demo", rule)["rule"]) == _words(rule)
    listed = cli.run("congress", "policy", "rule", "list", "tls_demo")    # plain text: no -f here
    assert listed.returncode == 0, listed.stderr
    blocks = ["\n".join(line for line in block.splitlines() if not line.startswith("//"))
              for block in listed.stdout.split("\n\n") if block.strip()]
    assert sorted(map(_words, blocks)) == sorted(map(_words, RULES)), listed.stdout
    assert cli.json("congress", "policy", "row", "list", "tls_demo", "p") == [{"Col0": "alpha"}]
    assert cli.json("congress", "datasource", "list") == []


def test_openstack_congress_explains_and_simulates(congress_cli):
    cli = congress_cli
    explained = cli.run("congress", "policy", "row", "list", "tls_demo", "p", "--trace", "-f", "value")
    assert explained.returncode == 0, explained.stderr
    assert re.search(r"\bCall: p\(", explained.stdout), explained.stdout
    assert [line for line in explained.stdout.splitlines() if re.fullmatch(r"\w+", line)] == ["alpha"], explained.stdout
    simulated = cli.run("congress", "policy", "simulate", "tls_demo", "p(x)", 'q+("gamma")', "action")
    assert simulated.returncode == 0, simulated.stderr
    assert sorted(simulated.stdout.split()) == ['p("alpha")', 'p("gamma")'], simulated.stdout
    traced = cli.run("congress", "policy", "simulate", "tls_demo", "p(x)", 'q+("gamma")', "action", "--trace")
    assert traced.returncode == 0, traced.stderr
    assert re.search(r"\bCall: p\(", traced.stdout), traced.stdout
    # The simulation changed nothing; the policy goes as an operator removes it.
    assert cli.json("congress", "policy", "row", "list", "tls_demo", "p") == [{"Col0": "alpha"}]
    deleted = cli.run("congress", "policy", "delete", "tls_demo")
    assert deleted.returncode == 0, deleted.stderr
    assert "tls_demo" not in {p["name"] for p in cli.json("congress", "policy", "list")}
