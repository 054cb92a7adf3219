"""Rolling changes: which VMs a saved plan replaces or removes, in which order, one at a time.

`plan_rollout` reads a plan as `terraform show -json` prints it and returns the waves: one VM
each, in a safe order (database nodes, then bus nodes, one at a time; the standby datasource VM
before the active one; policy engines one at a time, each drained from the load balancer before
it goes and put back once healthy; the BACKUP HAProxy before the MASTER), and every other change,
which is applied first as usual.  It refuses (`Rollout.refusals`, each saying why) when waves
cannot keep the service up: a shared resource every VM of a role hangs on is replaced, a pair's
membership secret changes under both members, or the only database VM would be rebuilt.

`run_waves` applies the waves through a caller's `apply(wave)` (the CLI: `terraform apply
-target=... -replace=...`) with `Steps` around each: drain, wait healthy, put back, wait in
service, each wait with a timeout that stops the rollout and leaves the remaining waves untouched.
`LoadBalancerSteps` are those steps for both load balancers: HAProxy through its admin socket
(one `send` per HAProxy VM), Octavia through member admin_state_up.  With `Members` (commands on
the VMs, over SSH in the CLI) they also ask which VM of a pair serves now, hand its service over
to the other before its wave (keepalived stopped: the VIP moves at once; Pacemaker stopped: ds-node
moves in order) and wait for a rebuilt VM to be back in its cluster (Pacemaker partition, Galera
wsrep state, RabbitMQ running nodes), not only for its port to open.
"""

from __future__ import annotations

import csv
import io
import json
import re
import shlex
import subprocess
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import yaml

INSTANCE = "openstack_compute_instance_v2"
# Order of the roles' waves: what the others need first.
ROLE_ORDER = ("database", "rabbitmq", "datasource", "policy_engine", "haproxy")
BACKEND = "congress_policy_engines"      # the HAProxy back end of haproxy.cfg
# Resources many VMs hang on: replacing one takes a whole role (or the API) down at once.
SHARED = {
    "openstack_networking_network_v2": "every port on the network goes with it",
    "openstack_networking_subnet_v2": "every port on the subnet goes with it",
    "openstack_networking_port_v2": "the API VIP's port goes with it",
    "openstack_networking_secgroup_v2": "every port using the group loses its rules",
    "openstack_compute_servergroup_v2": "every VM of the group is rebuilt with it",
    "openstack_lb_loadbalancer_v2": "the API has no load balancer until it is rebuilt",
    "openstack_lb_listener_v2": "the API has no listener until it is rebuilt",
    "openstack_lb_pool_v2": "the API has no pool until it is rebuilt",
}
# Files a pair shares whose change keeps a new member from joining the old one.
PAIR_SECRETS = {
    "haproxy": ("/etc/keepalived/keepalived.conf", r"^\s*(?:auth_pass|virtual_router_id)\s.*$",
                "VRRP authentication: a rebuilt HAProxy VM could not join the one still running (both would hold the VIP)"),
    "datasource": ("/etc/corosync/authkey", None,
                   "Corosync key: a rebuilt datasource VM could not join the one still running"),
}


@dataclass(frozen=True)
class Wave:
    node: str
    role: str
    action: str                     # replace | remove
    instance: str                   # the instance's resource address
    addresses: tuple[str, ...]      # every change of this VM (instance, port, LB member)
    ip: str | None = None

    def terraform_args(self) -> list[str]:
        """Arguments of the one `terraform apply` of this wave."""
        replace = [f"-replace={self.instance}"] if self.action == "replace" else []
        return replace + [f"-target={a}" for a in self.addresses]


@dataclass
class Rollout:
    waves: list[Wave] = field(default_factory=list)
    rest: list[str] = field(default_factory=list)        # applied first, as usual
    refusals: list[str] = field(default_factory=list)
    members: dict[str, list[str]] = field(default_factory=dict)   # role -> every VM of it after the change

    def describe(self) -> list[str]:
        return [f"wave {i}/{len(self.waves)}: {w.action} {w.node} ({w.role})" for i, w in enumerate(self.waves, 1)]


def _natural(name: str) -> tuple:
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", name))


def _files(user_data: str | None) -> dict[str, str]:
    """write_files of a rendered #cloud-config by path."""
    if not user_data:
        return {}
    try:
        config = yaml.safe_load(user_data) or {}
    except yaml.YAMLError:
        return {}
    return {f.get("path"): str(f.get("content", "")) for f in config.get("write_files") or []}


def _role(change: dict, user_data: str | None) -> str:
    values = change["change"].get("before") or change["change"].get("after") or {}
    role = (values.get("metadata") or {}).get("congress_role", "")
    return _backing_service(user_data) if role == "backing" else role


def _backing_service(user_data: str | None) -> str:
    """A backing VM's wave role: database when it installs MariaDB, else rabbitmq."""
    packages = (yaml.safe_load(user_data or "") or {}).get("packages") or []
    return "database" if any(str(p).startswith(("mariadb", "galera")) for p in packages) else "rabbitmq"


def _cloud_init(plan: dict) -> tuple[dict[str, str], dict[str, str]]:
    """Rendered cloud-init by node name before (state) and after (plan); {} when unknown."""
    change = (plan.get("output_changes") or {}).get("cloud_init") or {}
    before = change.get("before") if isinstance(change.get("before"), dict) else {}
    after = change.get("after") if isinstance(change.get("after"), dict) else {}
    return before or {}, after or {}


def _node_ips(plan: dict) -> dict[str, str]:
    """Each VM's fixed address, from its port (planned, or in state for a port that goes)."""
    ips = {}
    for c in plan.get("resource_changes", []):
        if c["type"] == "openstack_networking_port_v2" and c.get("index") is not None:
            values = c["change"].get("after") or c["change"].get("before") or {}
            fixed = [f.get("ip_address") for f in values.get("fixed_ip") or [] if f.get("ip_address")]
            if fixed:
                ips[str(c["index"])] = fixed[0]
    return ips


def plan_rollout(plan: dict, active: Mapping[str, str] | None = None) -> Rollout:
    """The waves of a saved plan (`terraform show -json`); active: role -> the VM of a pair that
    serves now (HAProxy: the VIP holder; datasource: where Pacemaker runs ds-node).  Without it
    the lowest-named VM of a pair is taken for the active one (keepalived's highest priority)."""
    active = dict(active or {})
    changes = [c for c in plan.get("resource_changes", []) if c.get("mode", "managed") == "managed"
               and c["change"]["actions"] not in (["no-op"], ["read"])]
    before_ci, after_ci = _cloud_init(plan)
    ips = _node_ips(plan)

    going: dict[str, tuple[str, str, dict]] = {}    # node -> (role, action, instance change)
    for c in changes:
        if c["type"] == INSTANCE and "delete" in c["change"]["actions"]:
            node = str(c.get("index") or (c["change"].get("before") or {}).get("name"))
            action = "remove" if c["change"]["actions"] == ["delete"] else "replace"
            going[node] = (_role(c, after_ci.get(node) or before_ci.get(node)), action, c)

    rollout = Rollout()
    owned: dict[str, list[str]] = {node: [] for node in going}
    for c in changes:
        if str(c.get("index")) in owned:
            owned[str(c["index"])].append(c["address"])
        else:
            rollout.rest.append(c["address"])
            if "delete" in c["change"]["actions"] and c["type"] in SHARED:
                rollout.refusals.append(f"{c['address']} is replaced: {SHARED[c['type']]}; "
                                        "no order of waves avoids that (apply it in a maintenance window)")

    by_role: dict[str, list[str]] = {}
    for node, (role, _, _) in going.items():
        by_role.setdefault(role, []).append(node)
    all_of_role = {role: sorted({n for n in after_ci if _role_of_rendered(after_ci[n]) == role} |
                                set(by_role.get(role, [])), key=_natural) for role in ROLE_ORDER}
    rollout.members = {role: [n for n in nodes if n in after_ci] or nodes for role, nodes in all_of_role.items()}
    for role, (path, pattern, why) in PAIR_SECRETS.items():
        replaced = [n for n in by_role.get(role, []) if going[n][1] == "replace"]
        if len(replaced) >= 2 and any(_secret(before_ci.get(n), path, pattern) != _secret(after_ci.get(n), path, pattern)
                                      for n in replaced):
            rollout.refusals.append(f"both {role} VMs ({', '.join(sorted(replaced))}) are replaced with a new {why}; "
                                    "waves cannot keep the pair whole (apply it in a maintenance window)")
    databases = [n for n in by_role.get("database", []) if going[n][1] == "replace"]
    if databases and len(all_of_role["database"]) < 2:
        rollout.refusals.append(f"{databases[0]} is the only database VM: replacing it loses every policy and rule "
                                "(back up the database and apply it in a maintenance window)")

    for role in ROLE_ORDER:
        nodes = sorted(by_role.get(role, []), key=_natural)
        if role in PAIR_SECRETS:     # the standby first, the active one last
            serving = active.get(role) or (all_of_role[role][0] if all_of_role[role] else None)
            nodes.sort(key=lambda n: (n == serving, _natural(n)))
        else:                        # removals first: fewer VMs left to roll
            nodes.sort(key=lambda n: (going[n][1] != "remove", _natural(n)))
        for node in nodes:
            _, action, change = going[node]
            rollout.waves.append(Wave(node, role, action, change["address"], tuple(owned[node]), ips.get(node)))
    rollout.waves.extend(Wave(n, r, a, c["address"], tuple(owned[n]), ips.get(n))
                         for n, (r, a, c) in going.items() if r not in ROLE_ORDER)
    return rollout


def _role_of_rendered(user_data: str) -> str:
    """A node's role as its node.env says (NODE_ROLE=...), backing split by service."""
    env = _files(user_data).get("/etc/congress-tf/node.env", "")
    match = re.search(r"^NODE_ROLE='?([a-z_]+)", env, re.M)
    role = match[1] if match else ""
    return _backing_service(user_data) if role == "backing" else role


def _secret(user_data: str | None, path: str, pattern: str | None) -> Any:
    content = _files(user_data).get(path)
    if content is None or pattern is None:
        return content
    return re.findall(pattern, content, re.M)


# --- running the waves -----------------------------------------------------------------------

class RolloutStopped(Exception):
    """A wave did not become healthy in time: what, where, and what was left untouched."""


class Steps(Protocol):
    def drain(self, wave: Wave) -> None: ...
    def healthy(self, wave: Wave) -> tuple[bool, str]: ...
    def restore(self, wave: Wave) -> None: ...
    def serving(self, wave: Wave) -> tuple[bool, str]: ...


def run_waves(waves: list[Wave], apply: Callable[[Wave], None], steps: Steps, timeout_s: float,
              echo: Callable[[str], None], interval_s: float = 2.0) -> None:
    """Each wave: drain, apply, wait healthy, put back, wait in service; stop at the first timeout."""
    total = len(waves)
    for i, wave in enumerate(waves, 1):
        started = time.monotonic()
        echo(f"wave {i}/{total}: {wave.action} {wave.node} ({wave.role})")

        def stop(what: str, detail: str) -> RolloutStopped:
            left = ", ".join(w.node for w in waves[i:]) or "none"
            return RolloutStopped(f"wave {i}/{total} ({wave.action} {wave.node}): {what} not within {timeout_s:.0f}s "
                                  f"({detail}); stopped here, waves left untouched: {left}")

        def wait(what: str, check: Callable[[Wave], tuple[bool, str]]) -> None:
            deadline = time.monotonic() + timeout_s
            while True:
                ok, detail = check(wave)
                if ok:
                    return
                if time.monotonic() >= deadline:
                    raise stop(what, detail)
                time.sleep(interval_s)

        steps.drain(wave)
        apply(wave)
        if wave.action == "replace":
            wait(f"{wave.node} healthy", steps.healthy)
        steps.restore(wave)
        if wave.action == "replace":
            wait(f"{wave.node} back in service", steps.serving)
        echo(f"wave {i}/{total}: {wave.node} done in {time.monotonic() - started:.0f}s")


# --- drain and health steps ---------------------------------------------------------------------

def haproxy_stats(send: Callable[[str], str]) -> dict[str, dict[str, str]]:
    """The policy-engine slots as one HAProxy sees them (`show stat`), by server name."""
    rows = csv.DictReader(io.StringIO(send("show stat").lstrip("# ")))
    return {r["svname"]: r for r in rows if r.get("pxname") == BACKEND and r["svname"] not in ("FRONTEND", "BACKEND")}


Run = Callable[[str, str], tuple[int, str]]   # run(address, shell command as root) -> (exit code, stdout)


def ssh_runner(user: str, timeout_s: float = 30.0) -> Run:
    """run(host, command) on a VM as root (`sudo -n`) over SSH as `user` (the operator's key).
    Host keys are not pinned: a replaced VM comes back with a new key on the same address, and
    nothing secret crosses this channel (drain, ready, show stat, cluster state)."""
    def run(host: str, command: str) -> tuple[int, str]:
        argv = ["ssh", "-o", "BatchMode=yes", "-o", "ConnectTimeout=10", "-o", "StrictHostKeyChecking=no",
                "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", f"{user}@{host}",
                shlex.join(["sudo", "-n", "sh", "-c", command])]
        try:
            result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout_s, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise RolloutStopped(f"ssh {user}@{host}: no answer within {timeout_s:.0f}s") from None
        if result.returncode == 255:
            raise RolloutStopped(f"ssh {user}@{host} failed: {result.stderr.strip()}")
        return result.returncode, result.stdout
    return run


def admin_socket(run: Run, host: str, socket_path: str = "/run/haproxy/admin.sock") -> Callable[[str], str]:
    """send(command) to the HAProxy admin socket of the VM at `host` (socat on the VM)."""
    def send(command: str) -> str:
        code, out = run(host, f"echo {shlex.quote(command)} | socat stdio {socket_path}")
        if code != 0:
            raise RolloutStopped(f"HAProxy admin socket on {host}: socat exited {code}")
        return out
    return send


class HaproxyPool:
    """The policy-engine slots on every HAProxy VM of the pair, through each one's admin socket."""

    def __init__(self, sends: list[Callable[[str], str]], drain_timeout_s: float = 60.0):
        self.sends = sends
        self.drain_timeout_s = drain_timeout_s

    def _all(self, command: str) -> None:
        for send in self.sends:
            reply = send(command).strip()
            if reply:
                raise RolloutStopped(f"HAProxy refused {command!r}: {reply}")

    def drain(self, name: str) -> None:
        """No new requests to `name`; wait for its requests in flight; then out (MAINT)."""
        self._all(f"set server {BACKEND}/{name} state drain")
        deadline = time.monotonic() + self.drain_timeout_s
        while any(int(haproxy_stats(s).get(name, {}).get("scur") or 0) for s in self.sends):
            if time.monotonic() >= deadline:
                break            # long requests: MAINT keeps them, HAProxy only stops new ones
            time.sleep(0.2)
        self._all(f"set server {BACKEND}/{name} state maint")

    def restore(self, name: str) -> None:
        """Back to health checks, DOWN until `rise` checks pass (leaving MAINT alone would count
        the slot UP at once, present or not)."""
        self._all(f"set server {BACKEND}/{name} state ready; set server {BACKEND}/{name} health down")

    def up(self, name: str) -> tuple[bool, str]:
        states = [haproxy_stats(s).get(name, {}).get("status", "absent") for s in self.sends]
        return all(s == "UP" for s in states), "HAProxy: " + ", ".join(states)


class OctaviaPool:
    """Policy engines as members of the Octavia pool, drained with admin_state_up."""

    def __init__(self, cloud: Any, lb_name: str):
        self.cloud, self.lb_name = cloud, lb_name

    def drain(self, name: str, ip: str) -> None:
        self.cloud.set_member_enabled(self.lb_name, ip, False)

    def restore(self, name: str, ip: str) -> None:
        self.cloud.set_member_enabled(self.lb_name, ip, True)

    def up(self, name: str, ip: str) -> tuple[bool, str]:
        status = self.cloud.load_balancer_status(self.lb_name)
        state = (status.members if status else {}).get(ip, "absent")
        return state == "ONLINE", f"Octavia member {ip}: {state}"


class Members:
    """The pairs and clusters as their VMs see them, through `run` (commands as root on a VM by
    address): which VM of a pair serves now, the hand-over before its wave, and whether a rebuilt
    VM is back in its cluster.  nodes: the `nodes` output (role -> name -> address); members:
    Rollout.members (how many database and bus VMs make the cluster whole)."""

    # What hands a pair's service to the other VM at once: keepalived's stop sends a priority-0
    # advert (the backup takes the VIP within one advert interval, no timers to wait out);
    # Pacemaker's stop moves its resources off the node before it leaves (no failure detection).
    HAND_OVER = {"haproxy": "systemctl stop keepalived.service", "datasource": "systemctl stop pacemaker.service"}
    # A member's state as it says: keepalived's last state change (BACKUP: its track script passes
    # and it takes the VIP as soon as the MASTER leaves; FAULT or none: it would not), Pacemaker's
    # partition (who is in the cluster with it).
    STATE = {"haproxy": "systemctl is-active --quiet keepalived.service && journalctl --unit=keepalived.service "
                        "--output=cat --no-pager | grep -o 'Entering [A-Z]* STATE' | tail -n 1",
             "datasource": "crm_node --partition"}

    def __init__(self, run: Run, nodes: Mapping[str, Mapping[str, str]], vip: str | None = None,
                 members: Mapping[str, list[str]] | None = None):
        self.run, self.vip = run, vip
        self.ips = {name: ip for group in nodes.values() for name, ip in (group or {}).items()}
        self.pairs = {role: sorted((nodes.get(role) or {}), key=_natural) for role in PAIR_SECRETS}
        self.members = dict(members or {})

    def _ask(self, name: str, command: str) -> tuple[int, str] | None:
        """(exit code, output) of `command` on `name`; None when the VM cannot be asked (down, gone)."""
        try:
            return self.run(self.ips[name], command)
        except (RolloutStopped, OSError, subprocess.SubprocessError):
            return None

    def active(self, role: str) -> str | None:
        """The VM of the pair serving now: the HAProxy VM holding the VIP, the datasource VM
        Pacemaker runs ds-node on; None when no VM says so."""
        for name in self.pairs.get(role, []):
            if role == "haproxy":
                answer = self._ask(name, "ip -4 -o addr show")
                if answer and self.vip and f" {self.vip}/" in answer[1]:
                    return name
            elif role == "datasource":
                answer = self._ask(name, "crm_resource --resource ds-node --locate")
                found = re.search(r"running on:\s*(\S+)", answer[1]) if answer else None
                if found:
                    return found[1]
        return None

    def hand_over(self, wave: Wave, timeout_s: float, interval_s: float = 0.5) -> bool:
        """When `wave.node` serves its pair now: hand over to the other VM (once that one is ready)
        and wait until it serves.  False when there was nothing to hand over."""
        if wave.role not in self.HAND_OVER or self.active(wave.role) != wave.node:
            return False
        others = [n for n in self.pairs[wave.role] if n != wave.node]
        deadline = time.monotonic() + timeout_s
        while not any(self.ready(n, wave.role) for n in others):
            if time.monotonic() >= deadline:
                raise RolloutStopped(f"{wave.node} serves its pair and no other {wave.role} VM was ready to take over "
                                     f"within {timeout_s:.0f}s ({', '.join(others) or 'none'}): not handed over, "
                                     "nothing replaced")
            time.sleep(interval_s)
        code, _ = self.run(self.ips[wave.node], self.HAND_OVER[wave.role])
        if code != 0:
            raise RolloutStopped(f"{wave.node}: {self.HAND_OVER[wave.role]!r} exited {code}")
        deadline = time.monotonic() + timeout_s
        while (now := self.active(wave.role)) in (None, wave.node):
            if time.monotonic() >= deadline:
                raise RolloutStopped(f"{wave.node} handed its {wave.role} service over but no other VM took it "
                                     f"within {timeout_s:.0f}s (serving now: {now or 'none'})")
            time.sleep(interval_s)
        return True

    def ready(self, name: str, role: str) -> bool:
        """`name` would take its pair's service now: keepalived in BACKUP; in the Pacemaker partition."""
        answer = self._ask(name, self.STATE[role])
        if role == "haproxy":
            return bool(answer) and answer[1].strip() == "Entering BACKUP STATE"
        return bool(answer) and answer[0] == 0 and name in answer[1].split()

    def whole(self, wave: Wave) -> tuple[bool, str]:
        """The rebuilt VM is back in its cluster, as the VM itself says."""
        if wave.role == "haproxy":
            answer = self._ask(wave.node, self.STATE["haproxy"])
            state = answer[1].strip() if answer and answer[0] == 0 else ""
            return state in ("Entering BACKUP STATE", "Entering MASTER STATE"), f"keepalived: {state or 'not running'}"
        if wave.role == "datasource":
            answer = self._ask(wave.node, self.STATE["datasource"])
            seen = set(answer[1].split()) if answer and answer[0] == 0 else set()
            want = set(self.pairs["datasource"])
            return want <= seen, f"Pacemaker partition: {' '.join(sorted(seen)) or 'none'} (want {' '.join(sorted(want))})"
        size = len(self.members.get(wave.role, []))
        if wave.role == "database" and size >= 2:
            answer = self._ask(wave.node, "mysql -Nse \"SHOW GLOBAL STATUS LIKE 'wsrep_%'\"")
            status = dict(line.split("\t", 1) for line in (answer[1] if answer else "").splitlines() if "\t" in line)
            state, joined = status.get("wsrep_local_state_comment", "?"), status.get("wsrep_cluster_size", "0")
            return state == "Synced" and joined == str(size), f"Galera: {state}, cluster size {joined} of {size}"
        if wave.role == "rabbitmq" and size >= 2:
            answer = self._ask(wave.node, "rabbitmqctl -q cluster_status --formatter json")
            try:
                running = json.loads(answer[1]).get("running_nodes", []) if answer and answer[0] == 0 else []
            except ValueError:
                running = []
            return len(running) == size, f"RabbitMQ: {len(running)} of {size} nodes running"
        return True, ""


@dataclass
class LoadBalancerSteps:
    """Steps of every role: policy engines go through the load balancer (`pool`: HaproxyPool or
    OctaviaPool); every VM must answer on its service port (`probe`: status.Probe) once rebuilt."""
    probe: Any
    api_port: int
    pool: HaproxyPool | OctaviaPool | None = None
    check_timeout_s: float = 5.0
    members: Members | None = None       # pairs handed over first, clusters checked whole
    hand_over_timeout_s: float = 120.0

    PORTS = {"database": 3306, "rabbitmq": 5672, "datasource": 22}

    def _pool(self, op: str, wave: Wave):
        if wave.role != "policy_engine" or self.pool is None:
            return None
        method = getattr(self.pool, op)
        return method(wave.node, wave.ip) if isinstance(self.pool, OctaviaPool) else method(wave.node)

    def drain(self, wave: Wave) -> None:
        self._pool("drain", wave)
        if self.members is not None and wave.action == "replace":
            self.members.hand_over(wave, self.hand_over_timeout_s)

    def restore(self, wave: Wave) -> None:
        if wave.action == "remove" and isinstance(self.pool, OctaviaPool):
            return       # Terraform deleted the member with the VM; an HAProxy slot goes back to its checks
        self._pool("restore", wave)

    def healthy(self, wave: Wave) -> tuple[bool, str]:
        if wave.ip is None:
            return False, f"no address known for {wave.node}"
        if wave.role in ("policy_engine", "haproxy"):     # an HAProxy VM serves the API on its own address too
            ok, detail = self.probe.http(f"http://{wave.ip}:{self.api_port}/", self.check_timeout_s)
        else:
            ok, detail = self.probe.tcp(wave.ip, self.PORTS.get(wave.role, 22), self.check_timeout_s)
        if ok and self.members is not None:
            whole, said = self.members.whole(wave)
            return whole, "; ".join(d for d in (detail, said) if d)
        return ok, detail

    def serving(self, wave: Wave) -> tuple[bool, str]:
        found = self._pool("up", wave)
        return found if found is not None else self.healthy(wave)


def plan_rollout_asking(plan: dict, run: Run) -> tuple[Rollout, dict[str, str | None]]:
    """plan_rollout with each replaced pair's serving VM asked on the VMs (Members.active) and
    rolled last; also returns what each pair said (None: no VM said it serves)."""
    rollout = plan_rollout(plan)
    paired = sorted({w.role for w in rollout.waves if w.role in PAIR_SECRETS and w.action == "replace"})
    if not paired or rollout.refusals:
        return rollout, {}
    outputs = planned_outputs(plan)
    members = Members(run, outputs.get("nodes") or {}, outputs.get("api_vip"))
    active = {role: members.active(role) for role in paired}
    return plan_rollout(plan, {role: node for role, node in active.items() if node}), active


def planned_outputs(plan: dict) -> dict[str, Any]:
    """The root module's outputs as planned (`terraform show -json`), by name."""
    return {name: out.get("value") for name, out in ((plan.get("planned_values") or {}).get("outputs") or {}).items()}


def rollout_steps(outputs: Mapping[str, Any], rollout: Rollout, run: Run, probe: Any, api_port: int,
                  octavia: Callable[[], OctaviaPool] | None = None) -> LoadBalancerSteps:
    """The steps `congress-tf apply` runs around each wave: the HAProxy pair's admin sockets (or
    Octavia, when there are no HAProxy VMs), the pairs' hand-over and the clusters' checks."""
    nodes = outputs.get("nodes") or {}
    lbs = nodes.get("haproxy") or {}
    pool = HaproxyPool([admin_socket(run, ip) for _, ip in sorted(lbs.items())]) if lbs else \
        (octavia() if octavia else None)
    return LoadBalancerSteps(probe, api_port, pool, members=Members(run, nodes, outputs.get("api_vip"), rollout.members))
