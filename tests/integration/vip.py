"""The HA drill's keepalived pair: the two HAProxy hosts in network namespaces of their own.

The main drill (drill.py) plans its subnet onto loopback addresses, where the VIP is always local
and keepalived has nothing to move.  Loopback addresses do not route between namespaces, so this
part plans the same example a second time onto VIP_CIDR (in 198.18.0.0/15, the range the tests
keep to; on this machine it is only ever routed onto the bridge made here) and runs, from that plan:

  lb-0, lb-1   each in a network namespace of its own, with a NIC named as the VM's (ens3) on
               a veth joined to a bridge; the rendered sysctl file (ip_nonlocal_bind) loaded in
               that namespace, the rendered detect-vrrp-interface.sh run there, the rendered
               keepalived.conf (VRRP unicast between the two, the VIP as virtual_ipaddress) and
               haproxy.cfg (binds the VIP) in the foreground
  the bridge   in the root namespace, carrying the client addresses (.201-.203) and the policy
               engines' addresses of this plan

Deviations from the VMs, on purpose:
  - the policy engines are the main drill's (no second Congress cluster): each one's address of
    this plan, on the bridge, is a TCP relay to its loopback address in the main drill;
Every namespace, veth, the bridge and its addresses are removed at the end, also on failure.
"""

from __future__ import annotations

import os
import re
import socket
import threading
import time
from pathlib import Path

from drill import Drill, Node, Proc, Rendered, http, run, run_cleanups, succeeds, wait_for, write_haproxy_cfg

VIP_CIDR = "198.19.100.0/24"
VIP_CLIENTS = ["198.19.100.201", "198.19.100.202", "198.19.100.203"]


NETNS_DIR = Path("/run/netns")


def remove_netns_dir():
    if NETNS_DIR.is_dir() and not any(NETNS_DIR.iterdir()):
        while succeeds(["mountpoint", "-q", NETNS_DIR]) and succeeds(["umount", NETNS_DIR]):
            pass
        NETNS_DIR.rmdir()


def make_bridge(name: str, cleanups: list) -> None:
    """A bridge in the root namespace joining our namespaced hosts, removed by `cleanups`;
    it forwards at once (no STP listening/learning delay), as a cloud network does."""
    # `ip netns add` makes /run/netns (a shared bind mount of itself) when it is not there:
    # if so, it goes again at the end.
    if not NETNS_DIR.exists():
        cleanups.append(remove_netns_dir)
    run(["ip", "link", "add", name, "type", "bridge"])
    cleanups.append(lambda: succeeds(["ip", "link", "del", name]))
    run(["ip", "link", "set", name, "type", "bridge", "forward_delay", "0"])


def vip_overrides(base: dict) -> dict:
    return {**base, "network": {**base["network"], "cidr": VIP_CIDR}}


class Relay:
    """TCP relay: listen on (host, port), forward each connection to `target`; a refused target
    closes the client's connection, as a dead VM's port would."""

    def __init__(self, host: str, port: int, target: tuple[str, int]):
        self.target = target
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.sock.listen(64)
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.closed:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket):
        try:
            upstream = socket.create_connection(self.target, timeout=5)
        except OSError:
            client.close()
            return
        upstream.settimeout(None)
        threading.Thread(target=self._pump, args=(upstream, client), daemon=True).start()
        self._pump(client, upstream)

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket):
        try:
            while chunk := src.recv(65536):
                dst.sendall(chunk)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()

    def close(self):
        self.closed = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


class LbHost:
    """One HAProxy VM: its namespace, NIC, keepalived and HAProxy."""

    def __init__(self, node: Node, netns: str, home: Path):
        self.node, self.netns, self.home = node, netns, home
        self.name = node.name
        self.haproxy: Proc | None = None
        self.keepalived: Proc | None = None
        self.sock = home / "haproxy-admin.sock"
        self.log = home / "haproxy.out"

    def exec(self, argv: list) -> list[str]:
        return ["ip", "netns", "exec", self.netns, *[str(a) for a in argv]]

    def holds(self, vip: str) -> bool:
        return f" {vip}/" in run(["ip", "-n", self.netns, "-4", "-o", "addr", "show"])


class VipDrill:
    """lb-0 and lb-1 of a plan on VIP_CIDR, in front of the main drill's policy engines."""

    def __init__(self, cloud_init: dict[str, str], drill: Drill):
        self.rendered = Rendered(cloud_init)
        self.drill = drill
        self.root = drill.root / "vip"
        self.root.mkdir(parents=True, exist_ok=True)
        self.vip, self.api_port = self.rendered.api_vip
        tag = f"{os.getpid() % 0x10000:04x}"
        self.bridge = f"cdvbr{tag}"
        self.lbs = [LbHost(node, f"congress-drill-{tag}-{node.name}", self.home(node))
                    for node in self.rendered.role("haproxy")]
        self.procs: list[Proc] = []
        self.relays: list[Relay] = []
        self.cleanups: list = []

    def home(self, node: Node) -> Path:
        path = self.root / node.name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def start(self) -> "VipDrill":
        try:
            self.make_network()
            self.start_relays()
            for lb in self.lbs:
                self.start_lb(lb)
            self.wait_ready()
        except BaseException:
            self.close()
            raise
        return self

    # -- network -----------------------------------------------------------------------------
    def make_network(self):
        prefix = VIP_CIDR.split("/")[1]
        make_bridge(self.bridge, self.cleanups)
        for ip in [pe.ip for pe in self.rendered.role("policy_engine")] + VIP_CLIENTS:
            run(["ip", "addr", "add", f"{ip}/{prefix}", "dev", self.bridge])
        run(["ip", "link", "set", self.bridge, "up"])
        for i, lb in enumerate(self.lbs):
            run(["ip", "netns", "add", lb.netns])
            self.cleanups.append(lambda lb=lb: succeeds(["ip", "netns", "del", lb.netns]))
            host_side = f"cdv{i}{self.bridge[5:]}"
            run(["ip", "link", "add", host_side, "type", "veth", "peer", "name", "ens3", "netns", lb.netns])
            self.cleanups.append(lambda host_side=host_side: succeeds(["ip", "link", "del", host_side]))
            run(["ip", "link", "set", host_side, "master", self.bridge, "up"])
            run(["ip", "-n", lb.netns, "link", "set", "lo", "up"])
            run(["ip", "-n", lb.netns, "addr", "add", f"{lb.node.ip}/{prefix}", "dev", "ens3"])
            run(["ip", "-n", lb.netns, "link", "set", "ens3", "up"])
        # Traffic to this plan's subnet must go onto the bridge and nowhere else.
        route = run(["ip", "-4", "route", "get", self.vip])
        assert f" dev {self.bridge} " in route, f"{self.vip} is not routed onto {self.bridge}: {route}"

    def start_relays(self):
        main = self.drill.policy_engine_urls()
        for pe in self.rendered.role("policy_engine"):
            target = re.match(r"http://([\d.]+):(\d+)", main[pe.name]).groups()
            self.relays.append(Relay(pe.ip, self.api_port, (target[0], int(target[1]))))

    # -- one HAProxy host --------------------------------------------------------------------
    def start_lb(self, lb: LbHost):
        node, home = lb.node, lb.home
        # start-load-balancer.sh: the rendered sysctl file, in this host's namespace.
        sysctl_path, sysctl = node.file(lambda p, c: p.startswith("/etc/sysctl.d/"))
        (home / Path(sysctl_path).name).write_text(sysctl)
        run(lb.exec(["sysctl", "--quiet", f"--load={home / Path(sysctl_path).name}"]))
        assert run(lb.exec(["sysctl", "-n", "net.ipv4.ip_nonlocal_bind"])).strip() == "1"

        # detect-vrrp-interface.sh, run in the namespace with this drill's paths.
        scripts = home / "scripts"
        scripts.mkdir(exist_ok=True)
        detect_path, _ = node.file_named("detect-vrrp-interface.sh")
        for path, content in node.files.items():
            if Path(path).parent == Path(detect_path).parent:
                (scripts / Path(path).name).write_text(content)
                os.chmod(scripts / Path(path).name, 0o755)
        env_path, env_text = node.file_named("node.env")
        (home / "node.env").write_text(env_text)
        run(lb.exec([scripts / "detect-vrrp-interface.sh"]),
            env={"CONGRESS_TF_SETTINGS": str(home / "node.env"), "VRRP_INTERFACE_FILE": str(home / "vrrp-interface.conf")})
        assert (home / "vrrp-interface.conf").read_text().strip() == "$VRRP_INTERFACE=ens3"

        # keepalived.conf: the include and the track script point into the drill.
        _, conf = node.file_named("keepalived.conf")
        conf, n = re.subn(r"^(\s*include\s+)\S*vrrp-interface\.conf", lambda m: m.group(1) + str(home / "vrrp-interface.conf"),
                          conf, flags=re.M)
        assert n == 1, "keepalived.conf: no include of vrrp-interface.conf"
        # The track script runs as rendered: curl of this host's own HAProxy monitor on 127.0.0.1.
        assert re.search(r'^\s*script\s+"[^"]*127\.0\.0\.1:\d+/haproxy-serving"', conf, re.M), "no track script"
        (home / "keepalived.conf").write_text(conf)
        run(lb.exec(["keepalived", "-t", "-f", home / "keepalived.conf"]))

        run(lb.exec(["haproxy", "-c", "-q", "-f", write_haproxy_cfg(node, home, lb.sock)]))
        self.start_haproxy(lb)
        lb.keepalived = self._spawn(lb, "keepalived", [
            "keepalived", "-n", "-l", "-D", "-f", home / "keepalived.conf", "-p", home / "keepalived.pid",
            "-r", home / "vrrp.pid", "-c", home / "checkers.pid"])

    def start_haproxy(self, lb: LbHost):
        lb.haproxy = self._spawn(lb, "haproxy", ["haproxy", "-db", "-f", lb.home / "haproxy.cfg"])

    def stop_haproxy(self, lb: LbHost):
        """systemctl stop haproxy.service on that VM."""
        lb.haproxy.stop(timeout=10)

    def _spawn(self, lb: LbHost, name: str, argv: list) -> Proc:
        proc = Proc(f"{lb.name}-{name}", lb.exec(argv), lb.home / f"{name}.out", cwd=lb.home).start()
        self.procs.append(proc)
        return proc

    # -- state -------------------------------------------------------------------------------
    def holder(self) -> LbHost | None:
        holders = [lb for lb in self.lbs if lb.holds(self.vip)]
        assert len(holders) <= 1, f"the VIP is on {[lb.name for lb in holders]}"
        return holders[0] if holders else None

    def vip_url(self) -> str:
        return f"http://{self.vip}:{self.api_port}"

    def answered_by(self, client: str, timeout: float = 2) -> str | None:
        """GET / through the VIP; the HAProxy host that answered 200 (from its own log), else None."""
        marker = f"drill-vip-{time.monotonic_ns()}"
        try:
            status, _ = http("GET", self.vip_url() + f"/?{marker}", source=client, timeout=timeout)
        except OSError:
            return None
        if status != 200:
            return None

        def logged():
            for lb in self.lbs:
                if lb.log.exists() and marker in lb.log.read_text(errors="replace"):
                    return lb.name
        return wait_for("HAProxy's log line of the probe", logged, 5, interval=0.05)

    def backends_up(self, lb: LbHost) -> bool:
        stats = Drill.read_stats(lb.sock)      # every slot; only those with a policy engine come UP
        return all(stats.get(pe.name, {}).get("status") == "UP" for pe in self.rendered.role("policy_engine"))

    def wait_ready(self, timeout: float = 60):
        first = self.lbs[0]          # the highest VRRP priority (the lowest-named VM)
        for lb in self.lbs:
            wait_for(f"{lb.name}'s HAProxy marking every policy engine UP", lambda lb=lb: self.backends_up(lb), timeout)
        wait_for(f"the VIP on {first.name}", lambda: self.holder() is first, timeout)
        wait_for(f"GET / through the VIP answered by {first.name}",
                 lambda: self.answered_by(VIP_CLIENTS[0]) == first.name, timeout)

    # -- the fault ---------------------------------------------------------------------------
    def failover_budget_s(self) -> float:
        """Longest time keepalived may take, from the rendered keepalived.conf: the track script
        fails `fall` times `interval` s apart (the holder goes to FAULT and gives the VIP up),
        then at worst the peer waits out the master-down interval (3 adverts + skew < 1 s); 1 s
        more for the peer's gratuitous ARP and the request."""
        conf = self.lbs[0].node.file_named("keepalived.conf")[1]
        script = re.search(r"vrrp_script\s+\S+\s*\{([^}]*)\}", conf).group(1)
        interval = float(re.search(r"\binterval\s+([\d.]+)", script).group(1))
        fall = int(re.search(r"\bfall\s+(\d+)", script).group(1))
        advert = float(re.search(r"\badvert_int\s+([\d.]+)", conf).group(1))
        return fall * interval + 3 * advert + 1 + 1

    def stop_haproxy_of_holder(self, client: str = VIP_CLIENTS[0], timeout: float = 60) -> dict:
        """Stop the HAProxy of the host holding the VIP; time until GET / through the VIP answers
        200 from the other host, and when the VIP moved there."""
        victim = self.holder()
        assert victim is not None, "nobody holds the VIP"
        other = next(lb for lb in self.lbs if lb is not victim)
        started = time.monotonic()
        self.stop_haproxy(victim)
        failed, answered_s, moved_s = 0, None, None
        while time.monotonic() - started < timeout and (answered_s is None or moved_s is None):
            if moved_s is None and other.holds(self.vip):
                moved_s = time.monotonic() - started
            if answered_s is None:
                by = self.answered_by(client, timeout=1)
                if by == other.name:
                    answered_s = time.monotonic() - started
                else:
                    failed += 1
            time.sleep(0.05)
        return {"victim": victim.name, "other": other.name, "answered_s": answered_s, "moved_s": moved_s,
                "failed_requests": failed, "victim_holds_vip": victim.holds(self.vip),
                "holder": getattr(self.holder(), "name", None)}

    def restart_haproxy(self, name: str, timeout: float = 60) -> float:
        """The HAProxy comes back; the VIP returns to the host with the higher priority (preempt).
        Seconds until GET / through the VIP is answered by it again."""
        lb = next(lb for lb in self.lbs if lb.name == name)
        started = time.monotonic()
        self.start_haproxy(lb)
        wait_for(f"the VIP back on {name}", lambda: self.holder() is lb, timeout)
        wait_for(f"GET / through the VIP answered by {name}", lambda: self.answered_by(VIP_CLIENTS[0]) == name, timeout)
        return time.monotonic() - started

    # -- lifecycle ---------------------------------------------------------------------------
    def close(self):
        for proc in reversed(self.procs):
            proc.stop(timeout=10)
        self.procs.clear()
        for relay in self.relays:
            relay.close()
        self.relays.clear()
        run_cleanups(self.cleanups)
