"""`congress-tf status`: is the deployed cluster serving?

Checks, each a row: GET / through the VIP (its floating IP when there is one) and on every policy
engine; the Octavia load balancer and each member's operating status (through congress_tf.cloud);
every VM's Nova status (and Nova's fault for one in ERROR); the datasource pair reachable (SSH
port).  The network side is a small `Probe`; with no probe (`status --cloud-only`, or from a
machine that cannot reach the cluster network) only the cloud's view is checked.
"""

from __future__ import annotations

import socket
import ssl
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any, Protocol

from congress_tf.cloud import Cloud, CloudError


@dataclass
class Check:
    check: str
    target: str
    ok: bool
    detail: str


class Probe(Protocol):
    def http(self, url: str, timeout: float) -> tuple[bool, str]: ...
    def tcp(self, host: str, port: int, timeout: float) -> tuple[bool, str]: ...


class NetworkProbe:
    def __init__(self, ca_file: str | None = None):
        # HTTPS on the VIP with the environment's generated CA: trust it (else the system's CAs).
        self.context = ssl.create_default_context(cafile=ca_file) if ca_file else None

    def http(self, url: str, timeout: float) -> tuple[bool, str]:
        started = time.monotonic()
        try:
            with urllib.request.urlopen(url, timeout=timeout, context=self.context) as response:  # noqa: S310
                code = response.status
        except urllib.error.HTTPError as exc:
            code = exc.code
        except (urllib.error.URLError, OSError) as exc:
            return False, f"{getattr(exc, 'reason', exc)}"
        ms = (time.monotonic() - started) * 1000
        # Congress answers GET / with its version list (200, or 300 Multiple Choices).
        return code < 400, f"HTTP {code} in {ms:.0f} ms"

    def tcp(self, host: str, port: int, timeout: float) -> tuple[bool, str]:
        started = time.monotonic()
        try:
            with socket.create_connection((host, port), timeout=timeout):
                pass
        except OSError as exc:
            return False, str(exc)
        return True, f"port {port} open in {(time.monotonic() - started) * 1000:.0f} ms"


def run_checks(env: Any, outputs: dict[str, Any], cloud: Cloud | None, probe: Probe | None, timeout: float,
               cloud_error: str | None = None) -> list[Check]:
    checks: list[Check] = []
    nodes: dict[str, dict[str, str]] = outputs.get("nodes") or {}
    if probe is not None:
        checks += network_checks(env, outputs, nodes, probe, timeout)
    if cloud is None:
        checks.append(Check("cloud", env.cloud or "(OS_* variables)", False, cloud_error or "not reachable"))
        return checks
    try:
        if env.lb_provider != "haproxy" and not nodes.get("haproxy"):
            lb = cloud.load_balancer_status(f"{env.name_prefix}-api")
            if lb is None:
                checks.append(Check("octavia load balancer", f"{env.name_prefix}-api", False, "not found"))
            else:
                checks.append(Check("octavia load balancer", f"{env.name_prefix}-api",
                                    lb.provisioning_status == "ACTIVE" and lb.operating_status == "ONLINE",
                                    f"{lb.provisioning_status}/{lb.operating_status}"))
                for address, state in sorted(lb.members.items()):
                    checks.append(Check("octavia member", address, state == "ONLINE", state))
        checks += catalog_checks(env, outputs, cloud)
        names = sorted(n for role in nodes.values() for n in role)
        for name, state in sorted(cloud.server_states(names).items()):
            detail = f"{state.status}: {state.fault}" if state.fault else state.status
            checks.append(Check("vm", name, state.status == "ACTIVE", detail))
    except CloudError as exc:
        checks.append(Check("cloud", env.cloud or "(OS_* variables)", False, str(exc)))
    return checks


def catalog_checks(env: Any, outputs: dict[str, Any], cloud: Cloud) -> list[Check]:
    """Does the Keystone catalog send `openstack congress` to this environment's VIP? With catalog
    registration (the `catalog` output), each registered interface must be there with its URL; without,
    any policy endpoint of the region must point at the VIP or its floating IP. Nothing when the
    user's token carries no catalog."""
    found = cloud.catalog_endpoints("policy")
    if found is None:
        return []
    registered = outputs.get("catalog")
    region = registered["region"] if registered else (env.catalog.region or env.keystone.region_name)
    here = [e for e in found if e.region == region]
    checks = []
    if registered:
        for interface, want in sorted(registered["endpoints"].items()):
            urls = [e.url for e in here if e.interface == interface]
            target = f"policy {interface} ({region})"
            if not urls:
                checks.append(Check("catalog endpoint", target, False, f"missing (congress-tf registered {want})"))
            else:
                ok = [_same_url(url, want) for url in urls] == [True]
                checks.append(Check("catalog endpoint", target, ok, f"{want} as registered" if ok else
                                    f"{', '.join(urls)}: expected {want} once"))
        return checks
    api_url = outputs.get("api_url") or ""
    ours = [api_url] + ([api_url.replace(str(outputs["api_vip"]), str(outputs["api_floating_ip"]), 1)]
                        if outputs.get("api_floating_ip") else [])
    for e in sorted(here, key=lambda e: (e.interface, e.url)):
        ok = any(_same_url(e.url, url) for url in ours)
        checks.append(Check("catalog endpoint", f"policy {e.interface} ({region})", ok,
                            "points at the VIP (not registered by congress-tf)" if ok else
                            f"{e.url} is not this environment's API ({' or '.join(ours)})"))
    return checks


def _same_url(a: str, b: str) -> bool:
    return a.rstrip("/") == b.rstrip("/")


def network_checks(env: Any, outputs: dict[str, Any], nodes: dict[str, dict[str, str]], probe: Probe,
                   timeout: float) -> list[Check]:
    checks = []
    port = env.api_port
    vip_host = outputs.get("api_floating_ip") or outputs.get("api_vip")
    scheme = "https" if str(outputs.get("api_url") or "").startswith("https:") else "http"
    vip_url = f"{scheme}://{vip_host}:{port}/"
    checks.append(Check("api via VIP", vip_url, *probe.http(vip_url, timeout)))
    for name, ip in sorted((nodes.get("policy_engine") or {}).items()):
        url = f"http://{ip}:{port}/"
        checks.append(Check("api on node", f"{name} {url}", *probe.http(url, timeout)))
    for name, ip in sorted((nodes.get("datasource") or {}).items()):
        checks.append(Check("datasource node reachable", f"{name} {ip}:22", *probe.tcp(ip, 22, timeout)))
    return checks


def table(checks: list[Check]) -> str:
    rows = [("CHECK", "TARGET", "OK", "DETAIL")] + [(c.check, c.target, "ok" if c.ok else "FAIL", c.detail)
                                                     for c in checks]
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    lines = [f"{r[0]:<{widths[0]}}  {r[1]:<{widths[1]}}  {r[2]:<{widths[2]}}  {r[3]}" for r in rows]
    bad = sum(not c.ok for c in checks)
    lines.append(f"{len(checks) - bad}/{len(checks)} checks ok")
    return "\n".join(lines)
