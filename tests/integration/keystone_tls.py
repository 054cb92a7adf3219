"""Keystone and TLS for real: Congress with auth_strategy keystone behind the real HAProxy
terminating TLS on the VIP, from the files a plan renders, and a real Keystone.

The plan is the HA drill's example (examples/no-octavia) planned onto KT_CIDR (routed to lo for the
run, as the drill routes its own) with auth_strategy keystone, keystone.auth_url on a Keystone of
the control plane's venv started alone (controlplane.harness.KeystoneOnly), and haproxy_tls with a
CA and server certificate made by congress_tf.tls, as the CLI makes them. Keystone is set up the
way an operator does it (the congress service user in the service project with the admin role,
which validating tokens needs; the policy service and its endpoints on the API URL in the catalog;
a user holding the admin role for the API, one holding member only).

What runs, each from the rendered files: the database VM's MariaDB and the bus VM's RabbitMQ,
the schema sync, the first policy engine (its congress.conf, keystone_authtoken and
[oslo_middleware] as rendered), lb-0's HAProxy with the rendered PEM.
Deviations, on purpose: one policy engine (the second slot stays DOWN); no datasource node (no
test here needs one); HAProxy's keepalived monitor moved from 127.0.0.1:8404 to a free port (the
HA drill's HAProxy may hold 8404 on this machine); the PEM under this run's directory; the
policy engine's HOME holds a copy of its congress.conf in .congress/, where oslo.config looks before
/etc/congress/ (Congress's http_proxy_to_wsgi filter reads [oslo_middleware] from there, not
from --config-file: on the VMs the rendered /etc/congress/congress.conf is that file).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import ssl
import subprocess
import sys
import time
from http.client import HTTPConnection, HTTPSConnection
from pathlib import Path

from drill import Drill, Proc, Service, free_port, http, port_open, run, succeeds, wait_for, write_haproxy_cfg

REPO = Path(__file__).resolve().parents[2]
KT_CIDR = "198.19.30.0/24"
KEYSTONE_PASSWORD = "congress-service-password-kt"     # the congress service user's (secrets.keystone_password)
SECRETS = {
    "db_password": "kt-db-password-00001", "rabbit_password": "kt-rabbit-password-0001",
    "cluster_auth_key": "kt-corosync-authkey-001", "vrrp_password": "kt-vrrp-password-00001",
    "encryption_key": "a3QtZmVybmV0LWtleS1mb3ItdGhlLWtleXN0b25lLXQ=",
    "keystone_password": KEYSTONE_PASSWORD,
}
API_ADMIN = {"user": "policy-admin", "password": "policy-admin-secret", "project": "policy-ops"}
API_MEMBER = {"user": "policy-reader", "password": "policy-reader-secret", "project": "policy-ops"}

CLIENT_REQUIREMENTS = Path(__file__).resolve().parent / "congressclient-requirements.txt"


def overrides(auth_url: str, server_tls: dict[str, str]) -> dict:
    return {
        "network": {"cidr": KT_CIDR, "existing_network_id": "00000000-0000-4000-8000-00000000e701",
                    "existing_subnet_id": "00000000-0000-4000-8000-00000000e702"},
        "policy_engine_count": 2,
        "health_check": {"interval_s": 1, "timeout_s": 1, "fall": 2, "rise": 2},
        "auth_strategy": "keystone",
        "keystone": {"auth_url": auth_url, "www_authenticate_uri": auth_url},
        "haproxy_tls": server_tls,
        "secrets": SECRETS,
    }


def setup_identity(conn, api_url: str) -> None:
    """What an operator does in Keystone for Congress (openstack project/user/role/service/endpoint create)."""
    identity = conn.identity
    domain = identity.find_domain("default")
    admin_role, member_role = identity.find_role("admin"), identity.find_role("member")
    service_project = identity.create_project(name="service", domain_id=domain.id)
    congress = identity.create_user(name="congress", password=KEYSTONE_PASSWORD, domain_id=domain.id,
                                    default_project_id=service_project.id)
    identity.assign_project_role_to_user(service_project, congress, admin_role)
    ops = identity.create_project(name=API_ADMIN["project"], domain_id=domain.id)
    for who, role in ((API_ADMIN, admin_role), (API_MEMBER, member_role)):
        user = identity.create_user(name=who["user"], password=who["password"], domain_id=domain.id,
                                    default_project_id=ops.id)
        identity.assign_project_role_to_user(ops, user, role)
    service = identity.create_service(name="congress", type="policy", description="OpenStack Congress")
    for interface in ("public", "internal", "admin"):
        identity.create_endpoint(service_id=service.id, interface=interface, url=api_url.rstrip("/"),
                                 region_id="RegionOne")


def token(auth_url: str, who: dict[str, str]) -> str:
    """A project-scoped token (POST /v3/auth/tokens)."""
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": who["user"], "domain": {"id": "default"}, "password": who["password"]}}},
        "scope": {"project": {"name": who["project"], "domain": {"id": "default"}}}}}
    host, port = re.match(r"http://([\d.]+):(\d+)", auth_url).groups()
    conn = HTTPConnection(host, int(port), timeout=30)
    try:
        conn.request("POST", "/v3/auth/tokens", body=json.dumps(body), headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        resp.read()
        assert resp.status == 201, f"Keystone refused {who['user']}: HTTP {resp.status}"
        return resp.getheader("X-Subject-Token")
    finally:
        conn.close()


def https(method: str, url: str, ca_file: Path, headers: dict | None = None, timeout: float = 30):
    """(status, headers by lower-case name, parsed JSON or text) over TLS, verifying the server against `ca_file`."""
    host, port, path = re.match(r"https://([\d.]+):(\d+)(/.*)", url).groups()
    context = ssl.create_default_context(cafile=str(ca_file))
    conn = HTTPSConnection(host, int(port), timeout=timeout, context=context)
    try:
        conn.request(method, path, headers=headers or {})
        resp = conn.getresponse()
        raw = resp.read().decode(errors="replace")
        try:
            body = json.loads(raw)
        except ValueError:
            body = raw
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, body
    finally:
        conn.close()


class KeystoneTlsCluster(Drill):
    """MariaDB, RabbitMQ, one policy engine and lb-0's TLS HAProxy of a keystone + haproxy_tls plan."""

    def __init__(self, cloud_init: dict[str, str], venv: Path):
        super().__init__(cloud_init, venv)
        self.monitor_port = free_port()

    def start_congress(self):
        """One policy engine (no datasource node) behind lb-0's TLS HAProxy."""
        self.engine = self.rendered.role("policy_engine")[0]
        self.start_policy_engine(self.engine)
        self.start_haproxy()
        url = self.policy_engine_urls()[self.engine.name]
        wait_for(f"{self.engine.name} at {url}", lambda: http("GET", url + "/", timeout=3)[0] == 200, 300)
        wait_for("HAProxy marking the policy engine UP",
                 lambda: self.backend_stats()[self.engine.name]["status"] == "UP", 60)

    def start_policy_engine(self, node):
        """As the drill's, with HOME holding a copy of the localised congress.conf: the
        http_proxy_to_wsgi filter of Congress's api-paste.ini reads its options
        (enable_proxy_headers_parsing) from the project's default config files (~/.congress/,
        then /etc/congress/: the rendered file on the VMs), not from --config-file."""
        conf = self.localise_congress_conf(node)
        home = self.host_dir(node)
        (home / ".congress").mkdir(exist_ok=True)
        shutil.copyfile(conf, home / ".congress" / "congress.conf")
        _, unit = node.unit_with("congress-server")
        argv = self.localise_argv(node, unit["ExecStart"][-1], conf)
        service = Service(lambda: Proc(node.name, argv, home / "congress-server.out", env={"HOME": str(home)},
                                       cwd=home), "no", 0)
        service.start()
        self.services[node.name] = service
        return service

    def route_subnet_to_lo(self):
        route = ["route", "replace", "local", KT_CIDR, "dev", "lo", "table", "local"]
        run(["ip", *route])
        self.after.append(lambda: succeeds(["ip", "route", "del", *route[2:]]))

    def start_haproxy(self):
        node = self.rendered.role("haproxy")[0]
        home = self.host_dir(node)
        cfg_path = write_haproxy_cfg(node, home, self.haproxy_sock)
        pem_path, pem = node.file(lambda p, c: p.endswith(".pem"))
        (home / "api.pem").write_text(pem)
        os.chmod(home / "api.pem", 0o600)
        cfg = cfg_path.read_text()
        assert f"crt {pem_path}" in cfg and "bind 127.0.0.1:8404" in cfg
        cfg_path.write_text(cfg.replace(f"crt {pem_path}", f"crt {home / 'api.pem'}")
                            .replace("bind 127.0.0.1:8404", f"bind 127.0.0.1:{self.monitor_port}"))
        run(["haproxy", "-c", "-q", "-f", cfg_path])
        self.haproxy_log = home / "haproxy.out"
        self.haproxy = self._spawn("haproxy", ["haproxy", "-db", "-f", cfg_path], home)
        wait_for("HAProxy on the VIP", lambda: port_open(self.vip, self.api_port), 30)

    def vip_url(self) -> str:
        return f"https://{self.vip}:{self.api_port}"

    def monitor_answers(self) -> int:
        conn = HTTPConnection("127.0.0.1", self.monitor_port, timeout=5)
        try:
            conn.request("GET", "/haproxy-serving")
            return conn.getresponse().status
        finally:
            conn.close()


# --- python-congressclient in a venv of its own ---------------------------------------------------

def client_venv(log=print) -> Path:
    """python-congressclient + python-openstackclient, pinned, with the OpenStack 2025.1 upper
    constraints; built once per requirements and constraints (a stamp file says which)."""
    from controlplane.harness import constraints_file

    venv = Path(os.environ.get("CONGRESS_TF_CLIENT_VENV", REPO / ".congressclient" / "venv"))
    stamp = venv / "congress-tf-client.stamp"
    want = hashlib.sha256(CLIENT_REQUIREMENTS.read_bytes() + constraints_file().read_bytes()).hexdigest()
    if stamp.exists() and stamp.read_text() == want:
        return venv
    log(f"congressclient: building {venv}")
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
    subprocess.run([str(venv / "bin/pip"), "install", "-q", "--disable-pip-version-check", "-c", str(constraints_file()),
                    "-r", str(CLIENT_REQUIREMENTS)], check=True)
    stamp.write_text(want)
    log(f"congressclient: venv ready in {time.monotonic() - started:.0f} s")
    return venv


class OpenStackCli:
    """`openstack ...` of the client venv as a user of the cluster: Keystone auth, the CA for TLS."""

    def __init__(self, venv: Path, auth_url: str, who: dict[str, str], ca_file: Path):
        self.argv = [str(venv / "bin/openstack"), "--os-cacert", str(ca_file)]
        self.env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/root"),
                    "OS_AUTH_URL": auth_url, "OS_IDENTITY_API_VERSION": "3", "OS_AUTH_TYPE": "password",
                    "OS_USERNAME": who["user"], "OS_PASSWORD": who["password"], "OS_PROJECT_NAME": who["project"],
                    "OS_USER_DOMAIN_NAME": "Default", "OS_PROJECT_DOMAIN_NAME": "Default",
                    "OS_REGION_NAME": "RegionOne", "OS_INTERFACE": "public"}

    def run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run([*self.argv, *args], env=self.env, capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)

    def json(self, *args: str):
        result = self.run(*args, "-f", "json")
        assert result.returncode == 0, f"openstack {' '.join(args)} failed ({result.returncode}):\n{result.stderr}"
        return json.loads(result.stdout)
