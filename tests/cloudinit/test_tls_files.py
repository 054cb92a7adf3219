"""HTTPS on the VIP in HAProxy mode (haproxy_tls): what the HAProxy VMs and Congress nodes receive,
from a real plan of examples/no-octavia with a certificate congress_tf.tls makes, checked by the
real haproxy -c with that certificate in place."""

from __future__ import annotations

import configparser
import re

import pytest

from conftest import Node, of_role, run
from paths import example_tfvars

PEM_FILE = "/etc/haproxy/congress-api.pem"


@pytest.fixture(scope="module")
def tls_nodes(plan, tmp_path_factory) -> tuple[dict[str, Node], str]:
    from congress_tf import tls

    ca, ca_key = tls.make_ca("congress-tf test CA")
    cert, key = tls.issue(ca, ca_key, ["10.40.0.10", "10.40.0.30", "10.40.0.31"])
    result = plan(var_file=example_tfvars("no-octavia"), haproxy_tls={"certificate": cert, "private_key": key})
    nodes = {name: Node(name, text) for name, text in sorted(result.outputs["cloud_init"].items())}
    return nodes, cert + key


def test_haproxy_vms_get_the_pem_root_only_and_a_config_haproxy_accepts(tls_nodes, tmp_path):
    nodes, pem = tls_nodes
    lbs = of_role(nodes, "haproxy")
    assert len(lbs) == 2
    for node in lbs:
        entry = node.files[PEM_FILE]
        assert (entry["owner"], entry["permissions"]) == ("root:root", "0600")
        assert node.text(PEM_FILE).strip() == pem.strip()
        (tmp_path / "api.pem").write_text(node.text(PEM_FILE))
        cfg = node.text("/etc/haproxy/haproxy.cfg")
        assert f"crt {PEM_FILE}" in cfg
        (tmp_path / "haproxy.cfg").write_text(cfg.replace(PEM_FILE, str(tmp_path / "api.pem")))
        result = run(["haproxy", "-c", "-f", str(tmp_path / "haproxy.cfg")])
        assert result.returncode == 0, result.stdout + result.stderr
        # Clients reach TLS on the VIP and on the VM's own address; plain HTTP there is redirected.
        vip, ip = "10.40.0.10", node.settings["NODE_IP"]
        api = re.search(r"^frontend congress_api\n(.*?)\n\n", cfg, re.M | re.S)[1]
        assert {f"bind {vip}:1789", f"bind {ip}:1789"} <= {line.strip() for line in api.splitlines()}
        assert re.search(r"^\s+http-request redirect scheme https code 308$", cfg, re.M)
        assert re.search(r"^\s+http-request set-header X-Forwarded-Proto https$", cfg, re.M)
        assert re.search(r"^\s+bind abns@congress-api-tls accept-proxy ssl crt ", cfg, re.M)
        # keepalived's track URL and the back-end checks are plain HTTP as before.
        assert re.search(r"^\s+monitor-uri /haproxy-serving$", cfg, re.M)
        assert re.search(r"^\s+option httpchk GET /$", cfg, re.M)


def test_congress_nodes_trust_x_forwarded_proto_only_with_tls(tls_nodes, example_plans):
    nodes, _ = tls_nodes
    plain = {name: Node(name, text) for name, text in example_plans["no-octavia"].outputs["cloud_init"].items()}
    for group, want in ((nodes, "True"), (plain, None)):
        congress = of_role(group, "policy_engine") + of_role(group, "datasource")
        assert congress
        for node in congress:
            conf = configparser.ConfigParser(interpolation=None)
            conf.read_string(node.text("/etc/congress/congress.conf"))
            assert conf.get("oslo_middleware", "enable_proxy_headers_parsing", fallback=None) == want, node.name
    for node in of_role(plain, "haproxy"):
        assert PEM_FILE not in node.files
        assert " ssl " not in node.text("/etc/haproxy/haproxy.cfg")
