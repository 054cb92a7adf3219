"""The config files a node receives (read from its rendered user_data) pass the real tools."""

from __future__ import annotations

import configparser
import ipaddress
import re
import xml.etree.ElementTree as ET

import pytest

from conftest import SOURCES, in_netns_with, of_role, run

CRM_FILE = "/etc/congress-tf/datasource.crm"


def _roles_or_skip(nodes, role):
    found = of_role(nodes, role)
    if not found:
        pytest.skip(f"no {role} VMs in this source")
    return found


@pytest.mark.parametrize("source", SOURCES)
def test_haproxy_cfg_passes_haproxy_check_and_balances_every_policy_engine(source, rendered, tmp_path):
    nodes = rendered(source)
    engines = {node.name: node.settings["NODE_IP"] for node in of_role(nodes, "policy_engine")}
    for node in _roles_or_skip(nodes, "haproxy"):
        cfg = tmp_path / f"{node.name}-haproxy.cfg"
        cfg.write_text(node.text("/etc/haproxy/haproxy.cfg"))
        result = run(["haproxy", "-c", "-f", str(cfg)])
        assert result.returncode == 0, result.stdout + result.stderr
        text = cfg.read_text()
        servers = dict(re.findall(r"^\s+server (\S+) ([\d.]+):\d+ check$", text, re.M))
        assert engines.items() <= servers.items()  # one slot per address, an engine there or not
        # The state file haproxy.cfg loads at start names every slot, each DOWN (op state 0).
        state_file = re.search(r"^\s+server-state-file (\S+)$", text, re.M)[1]
        assert re.search(r"^\s+load-server-state-from-file global$", text, re.M)
        rows = [line.split() for line in node.text(state_file).splitlines()[1:] if not line.startswith("#")]
        assert {(row[1], row[3], row[4], row[5]) for row in rows} == \
            {("congress_policy_engines", name, ip, "0") for name, ip in servers.items()}
        assert re.search(r"^\s+balance source$", text, re.M)
        assert re.search(r"^\s+option httpchk GET /$", text, re.M)
        assert re.search(r"^\s+http-check expect status 200$", text, re.M)
        assert re.search(r"^\s+stats socket ", text, re.M)


@pytest.mark.parametrize("source", SOURCES)
def test_keepalived_conf_passes_keepalived_check(source, rendered, tmp_path, netns_available):
    nodes = rendered(source)
    pair = _roles_or_skip(nodes, "haproxy")
    for node in pair:
        conf = tmp_path / f"{node.name}-keepalived.conf"
        conf.write_text(node.text("/etc/keepalived/keepalived.conf"))
        ip = node.settings["NODE_IP"]
        match = re.search(r"^\s+([\d.]+)/(\d+) dev \$VRRP_INTERFACE$", conf.read_text(), re.M)
        assert match, "the VIP must be in virtual_ipaddress"
        result = in_netns_with(ip, int(match[2]), ["keepalived", "-t", "-f", str(conf)])
        assert result.returncode == 0, result.stdout + result.stderr
        text = conf.read_text()
        peers = {other.settings["NODE_IP"] for other in pair if other is not node}
        block = re.search(r"unicast_peer \{([^}]*)\}", text)[1]
        assert set(block.split()) == peers
        assert re.search(r"track_script \{\s+chk_haproxy\s+\}", text)
        assert "net.ipv4.ip_nonlocal_bind = 1" in node.text("/etc/sysctl.d/60-congress-vip.conf")


@pytest.mark.parametrize("source", SOURCES)
def test_corosync_conf_passes_corosync_check_on_each_node_of_the_pair(source, rendered, tmp_path, netns_available):
    pair = _roles_or_skip(rendered(source), "datasource")
    for node in pair:
        conf = tmp_path / f"{node.name}-corosync.conf"
        conf.write_text(node.text("/etc/corosync/corosync.conf"))
        authkey = tmp_path / f"{node.name}-authkey"
        authkey.write_bytes(node.file("/etc/corosync/authkey"))
        # corosync -t reads /etc/corosync/corosync.conf and the authkey it names, and accepts only
        # a nodelist that holds an address of this host: give it the VM's view of both.
        result = in_netns_with(node.settings["NODE_IP"], 24, ["corosync", "-t"], etc_dir="/etc/corosync",
                               files={"corosync.conf": conf, "authkey": authkey})
        assert result.returncode == 0, result.stdout + result.stderr
        text = conf.read_text()
        assert "transport: knet" in text and "two_node: 1" in text
        assert set(re.findall(r"ring0_addr: (\S+)", text)) == {n.settings["NODE_IP"] for n in pair}
        assert len(node.file("/etc/corosync/authkey")) >= 128, "knet needs a key of 128 bytes or more"


@pytest.mark.parametrize("source", SOURCES)
def test_crm_configuration_is_accepted_by_crmsh_and_crm_verify(source, rendered, tmp_path, congress_ocf_agent):
    pair = _roles_or_skip(rendered(source), "datasource")
    node = pair[0]
    crm = tmp_path / "datasource.crm"
    crm.write_text(node.text(CRM_FILE))

    def fresh_cib():
        cib = tmp_path / "cib.xml"
        result = run(["cibadmin", "--empty"])
        assert result.returncode == 0, result.stderr
        cib.write_text(result.stdout)
        return cib

    # Strict check: the one complaint is the agent's undeclared `user`, set on purpose.
    cib = fresh_cib()
    strict = run(["crm", "configure", "load", "update", str(crm)], env={"CIB_file": str(cib), "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"})
    errors = [line for line in strict.stdout.splitlines() + strict.stderr.splitlines()
              if "ERROR" in line and "lack of quorum" not in line]  # no cluster: no quorum, expected
    assert errors and all('parameter "user" is not known' in line for line in errors), errors

    # What the leader runs on the VM.
    cib = fresh_cib()
    loaded = run(["crm", "-o", "core.check_mode=relaxed", "configure", "load", "update", str(crm)],
                 env={"CIB_file": str(cib), "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"})
    assert loaded.returncode == 0, loaded.stdout + loaded.stderr
    verify = run(["crm_verify", "--xml-file", str(cib), "-V"])
    assert verify.returncode == 0, verify.stdout + verify.stderr

    root = ET.parse(cib).getroot()
    ds = root.find(".//primitive[@id='ds-node']")
    assert (ds.get("class"), ds.get("provider"), ds.get("type")) == ("ocf", "openstack", "congress-datasource")
    params = {nv.get("name"): nv.get("value") for nv in ds.findall("./instance_attributes/nvpair")}
    assert params["config"] == "/etc/congress/congress.conf"
    assert params["node_id"] == node.settings["CONGRESS_NODE_ID"] == "datasource-node"
    assert params["binary"] == "/opt/congress/bin/congress-server"
    assert params["user"] == "congress"
    assert "additional_parameters" in params
    monitor = ds.find("./operations/op[@name='monitor']")
    assert monitor.get("interval") and monitor.get("timeout")

    props = {nv.get("name"): nv.get("value") for nv in root.findall(".//cluster_property_set/nvpair")}
    fences = root.findall(".//primitive[@class='stonith']")
    if node.settings["FENCING"] == "enabled":
        assert props["stonith-enabled"] == "true"
        assert {f.get("type") for f in fences} == {"fence_openstack"} and len(fences) == 2
    else:
        assert props["stonith-enabled"] == "false" and not fences


def _congress_conf(node) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(node.text("/etc/congress/congress.conf"))
    return parser


@pytest.mark.parametrize("source", SOURCES)
def test_congress_conf_has_the_ha_keys(source, rendered):
    for node in rendered(source).values():
        if node.role not in ("policy_engine", "datasource"):
            continue
        conf = _congress_conf(node)
        s = node.settings
        assert conf["DEFAULT"]["replicated_policy_engine"] == "True"
        assert conf["DEFAULT"]["transport_url"].startswith(f"rabbit://{s['RABBIT_USER']}:")
        brokers = re.findall(r"@([^:@,/]+):(\d+)", conf["DEFAULT"]["transport_url"])
        assert brokers == [(host, s["RABBIT_PORT"]) for host in s["RABBIT_HOSTS"].split()]
        assert conf["DEFAULT"]["transport_url"].endswith("/%2Fcongress")
        assert conf["database"]["connection"].startswith(f"mysql+pymysql://{s['DB_USER']}:")
        assert f"@{s['DB_HOST']}:{s['DB_PORT']}/{s['DB_NAME']}?" in conf["database"]["connection"]
        assert conf["DEFAULT"]["bind_port"] == s["API_PORT"]
        int(conf["DEFAULT"]["datasource_sync_period"])
        if node.role == "policy_engine":
            assert ipaddress.ip_address(conf["DEFAULT"]["bind_host"]) == ipaddress.ip_address(s["NODE_IP"])
        auth = conf["DEFAULT"]["auth_strategy"]
        assert auth in ("keystone", "noauth")
        assert conf.has_section("keystone_authtoken") == (auth == "keystone")


@pytest.mark.parametrize("source", SOURCES)
def test_congress_conf_has_only_options_congress_knows(source, rendered, congress_venv, tmp_path):
    validator = congress_venv.path / "bin" / "oslo-config-validator"
    assert validator.exists(), f"{validator} missing from the Congress runtime"
    namespaces = re.findall(r"^namespace = (\S+)$", (congress_venv.path / "etc" / "congress" /
                            "congress-config-generator.conf").read_text(), re.M) if (
        congress_venv.path / "etc" / "congress" / "congress-config-generator.conf").exists() else []
    namespaces = namespaces or ["congress", "oslo.log", "oslo.policy", "oslo.db", "oslo.middleware.cors",
                                "oslo.messaging", "keystonemiddleware.auth_token",
                                # api-paste.ini's http_proxy_to_wsgi filter: [oslo_middleware] behind TLS
                                "oslo.middleware.http_proxy_to_wsgi"]
    seen = set()
    for node in rendered(source).values():
        if node.role not in ("policy_engine", "datasource"):
            continue
        text = node.text("/etc/congress/congress.conf")
        if text in seen:
            continue
        seen.add(text)
        conf = tmp_path / f"{node.name}-congress.conf"
        conf.write_text(text)
        cmd = [str(validator), "--input-file", str(conf), "--fatal-warnings"]
        for namespace in namespaces:
            cmd += ["--namespace", namespace]
        result = run(cmd, timeout=300)
        assert result.returncode == 0, f"{node.name}: {result.stdout}{result.stderr}"


@pytest.mark.parametrize("source", SOURCES)
def test_database_proxy_of_congress_nodes_passes_haproxy_check(source, rendered, tmp_path):
    """Backing mode cluster: each Congress node's local HAProxy in front of the Galera members."""
    nodes = [n for n in rendered(source).values()
             if n.role in ("policy_engine", "datasource") and "/etc/haproxy/haproxy.cfg" in n.files]
    if not nodes:
        pytest.skip("no Galera cluster in this source")
    for node in nodes:
        cfg = tmp_path / f"{node.name}-database-proxy.cfg"
        cfg.write_text(node.text("/etc/haproxy/haproxy.cfg"))
        result = run(["haproxy", "-c", "-f", str(cfg)])
        assert result.returncode == 0, result.stdout + result.stderr
        servers = re.findall(r"^\s+server \S+ [\d.]+:3306 check( backup)?$", cfg.read_text(), re.M)
        assert servers == ["", " backup", " backup"], node.name   # one writer, two standbys
