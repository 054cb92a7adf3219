"""Stand-ins for the unit tests: an in-memory `Cloud`, a network probe, a scripted Terraform."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

from congress_tf.cloud import CatalogEndpoint, Flavor, Found, LoadBalancerStatus, Quota, ServerState

IMAGE_ID = "11111111-1111-4111-8111-111111111111"


@dataclass
class FakeCloud:
    """An in-memory cloud behind congress_tf.cloud.Cloud (no openstacksdk involved)."""
    load_balancer: bool = True
    images_: list[Found] = field(default_factory=lambda: [
        Found(IMAGE_ID, "debian-12"), Found("22222222-2222-4222-8222-222222222222", "ubuntu-24.04"),
        Found("00000000-0000-4000-8000-00000000d12a", "debian-12-dummy")])
    flavors_: list[Flavor] = field(default_factory=lambda: [
        Flavor("f-small", "m1.small", 1, 2048), Flavor("f-medium", "m1.medium", 2, 4096),
        Flavor("f-large", "m1.large", 4, 8192),
        Flavor("00000000-0000-4000-8000-0000000f1a01", "dummy-1", 2, 4096)])
    networks_: list[tuple[Found, bool]] = field(default_factory=lambda: [
        (Found("33333333-3333-4333-8333-333333333333", "public"), True),
        (Found("00000000-0000-4000-8000-0000000e7e01", "public-dummy"), True),
        (Found("44444444-4444-4444-8444-444444444444", "private"), False)])
    subnets_: list[Found] = field(default_factory=lambda: [Found("55555555-5555-4555-8555-555555555555", "private-v4")])
    quotas_: dict[str, Quota] = field(default_factory=lambda: {
        "instances": Quota(20, 2), "cores": Quota(40, 4), "ram": Quota(102400, 8192), "ports": Quota(100, 10),
        "security_groups": Quota(20, 1), "security_group_rules": Quota(200, 4), "floating_ips": Quota(5, 0),
        "server_groups": Quota(10, 0), "networks": Quota(10, 1), "subnets": Quota(10, 1), "routers": Quota(5, 0)})
    lb_status: LoadBalancerStatus | None = None
    servers: dict[str, str] = field(default_factory=dict)
    key_pairs_: list[str] = field(default_factory=lambda: ["ops"])
    compute_hosts: int | None = 64  # enough for any policy_engine_count; None: not visible (a non-admin user)
    opened_as: list[str | None] = field(default_factory=list)
    member_changes: list[tuple[str, str, bool]] = field(default_factory=list)
    catalog: list[CatalogEndpoint] | None = None  # the token's catalog entries of type policy; None: unreadable

    def images(self): return list(self.images_)
    def flavors(self): return list(self.flavors_)
    def networks(self, external=None): return [n for n, ext in self.networks_ if external is None or ext == external]
    def subnets(self): return list(self.subnets_)
    def quotas(self): return dict(self.quotas_)
    def has_load_balancer(self): return self.load_balancer
    def load_balancer_status(self, name): return self.lb_status
    def set_member_enabled(self, lb_name, address, enabled): self.member_changes.append((lb_name, address, enabled))
    def server_statuses(self, names): return {n: self.servers.get(n, "MISSING") for n in names}
    def server_states(self, names): return {n: ServerState(self.servers.get(n, "MISSING")) for n in names}
    def key_pairs(self): return list(self.key_pairs_)
    def compute_host_count(self): return self.compute_hosts
    def catalog_endpoints(self, service_type): return None if self.catalog is None else list(self.catalog)

    def factory(self, cloud_name):
        self.opened_as.append(cloud_name)
        return self


class FakeProbe:
    def __init__(self, down: set[str] = frozenset()):
        self.down = set(down)
        self.asked: list[str] = []

    def http(self, url, timeout):
        self.asked.append(url)
        return (False, "connection refused") if any(d in url for d in self.down) else (True, "HTTP 200 in 3 ms")

    def tcp(self, host, port, timeout):
        self.asked.append(f"{host}:{port}")
        return (False, "timed out") if host in self.down else (True, f"port {port} open in 1 ms")


OUTPUTS = {
    "api_vip": {"sensitive": False, "type": "string", "value": "10.20.0.10"},
    "api_url": {"sensitive": False, "type": "string", "value": "http://10.20.0.10:1789/"},
    "api_floating_ip": {"sensitive": False, "type": "string", "value": None},
    "nodes": {"sensitive": False, "type": ["object", {r: ["map", "string"] for r in (
        "policy_engine", "datasource", "backing", "haproxy")}], "value": {
        "policy_engine": {"congress-pe-0": "10.20.0.100", "congress-pe-1": "10.20.0.101"},
        "datasource": {"congress-ds-0": "10.20.0.20", "congress-ds-1": "10.20.0.21"},
        "backing": {"congress-db": "10.20.0.11", "congress-mq": "10.20.0.12"}, "haproxy": {}}},
    "cloud_init": {"sensitive": True, "type": ["map", "string"], "value": {"congress-pe-0": "SENSITIVE-CANARY-VALUE"}},
}

SCRIPT = r'''#!{python}
"""A scripted Terraform: logs its argv, emits canned -json events; FAKE_TF_FAIL=<command> fails it."""
import json, os, sys
args = [a for a in sys.argv[1:] if not a.startswith("-chdir=")]
with open({log!r}, "a") as f:
    f.write(json.dumps(sys.argv[1:]) + "\n")
cmd = args[0] if args else ""
def ev(kind, msg, **kw):
    print(json.dumps({{"@level": "info", "@message": msg, "type": kind, **kw}}), flush=True)
def res(addr):
    return {{"addr": addr, "resource_type": addr.split(".")[-2]}}
if cmd == "version":
    print(json.dumps({{"terraform_version": "1.99.0"}})); sys.exit(0)
if os.environ.get("FAKE_TF_FAIL") == cmd:
    print(json.dumps({{"@level": "error", "@message": "Error: boom", "type": "diagnostic",
                      "diagnostic": {{"severity": "error", "summary": "Error creating instance",
                                     "detail": "Quota exceeded for instances (from the fake)"}}}}))
    sys.exit(1)
addrs = ["module.network.openstack_networking_network_v2.cluster[0]",
         'module.policy_engine.openstack_compute_instance_v2.node["congress-pe-0"]',
         "module.lb_octavia[0].openstack_lb_loadbalancer_v2.api"]
if cmd == "init":
    print("Terraform has been successfully initialized!")
elif cmd == "plan":
    for a in addrs:
        ev("planned_change", a + ": Plan to create", change={{"resource": res(a), "action": "create"}})
    ev("change_summary", "Plan: 3 to add, 0 to change, 0 to destroy.",
       changes={{"add": 3, "change": 0, "remove": 0, "import": 0, "operation": "plan"}})
    for a in args:
        if a.startswith("-out="):
            open(a[5:], "w").write("fake plan")
elif cmd in ("apply", "destroy"):
    action, done = ("create", "Creation") if cmd == "apply" else ("delete", "Destruction")
    for i, a in enumerate(addrs):
        ev("apply_start", a + ": Creating...", hook={{"resource": res(a), "action": action}})
        ev("apply_complete", a + ": " + done + " complete", hook={{"resource": res(a), "action": action,
                                                                  "elapsed_seconds": 10 * i + 3}})
    n = len(addrs)
    ev("change_summary", f"Apply complete! Resources: {{n}} added, 0 changed, 0 destroyed." if cmd == "apply"
       else f"Destroy complete! Resources: {{n}} destroyed.",
       changes={{"add": n if cmd == "apply" else 0, "change": 0, "remove": 0 if cmd == "apply" else n,
                 "operation": cmd}})
elif cmd == "show":  # a saved plan as `show -json`: the file FAKE_TF_SHOW names
    print(open(os.environ["FAKE_TF_SHOW"]).read() if "FAKE_TF_SHOW" in os.environ else "{{}}")
elif cmd == "output":
    print(json.dumps({outputs!r}))
elif cmd == "state":
    print("")
sys.exit(0)
'''


def fake_terraform(directory: Path) -> tuple[Path, Path]:
    """A scripted Terraform executable and the file it logs each call's argv to (one JSON line each)."""
    directory.mkdir(parents=True, exist_ok=True)
    log = directory / "calls.jsonl"
    script = directory / "terraform"
    script.write_text(SCRIPT.format(python=sys.executable, log=str(log), outputs=json.loads(json.dumps(OUTPUTS))))
    script.chmod(0o755)
    return script, log


def calls(log: Path) -> list[list[str]]:
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text().splitlines()]
