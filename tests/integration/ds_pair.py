"""The HA drill's datasource pair: ds-0 and ds-1 as two hosts, each in a network namespace, a mount
namespace and a PID namespace of its own, running the rendered two-node corosync.conf, Pacemaker
and the real congress-datasource OCF agent with the rendered crm configuration.

Planned, like vip.py, on VIP_CIDR (loopback addresses do not route between namespaces).  Each host:
  network    a NIC named ens3 (veth to a bridge in the root namespace) holding its address
  mounts     private tmpfs on /var/lib/pacemaker, /var/lib/corosync, /run, /dev/shm (libqb IPC):
             the two Pacemakers share nothing, and nothing of them is left on this machine
  processes  a PID namespace: stopping the host ends every process of it, as a VM dying does
Deviations, on purpose:
  - MariaDB and RabbitMQ are the main drill's: their addresses of this plan, on the bridge, are
    TCP relays (vip.Relay) to them;
  - the main drill's one-node datasource host is stopped first (two datasource nodes with the
    same node id must not run at once); it stays stopped for the rest of the session;
  - congress.conf and the crm configuration get the drill's paths and user=root, as in drill.py.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

from drill import Drill, Node, Proc, ProcessExited, Rendered, ini_value, run, run_cleanups, succeeds, wait_for
from vip import VIP_CIDR, Relay, make_bridge

PRIVATE_DIRS = ["/var/lib/pacemaker", "/var/lib/corosync", "/run", "/dev/shm"]
HOST_SCRIPT = """set -e
{mounts}
chmod 1777 /dev/shm
mkdir -p /run/resource-agents /var/lib/pacemaker/cib /var/lib/pacemaker/pengine /var/lib/pacemaker/blackbox /var/lib/pacemaker/cores
chown -R hacluster:haclient /var/lib/pacemaker
corosync -f -c {home}/corosync.conf &
for i in $(seq 300); do corosync-quorumtool -s >/dev/null 2>&1 && break; sleep 0.2; done
pacemakerd &
wait
"""


class DsHost:
    def __init__(self, node: Node, netns: str, home: Path):
        self.node, self.netns, self.home, self.name = node, netns, home, node.name
        self.proc: Proc | None = None

    def init_pid(self) -> int:
        """Host PID of this host's PID 1 (the child `unshare --fork` made)."""
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text().split()
        return int(children[0])

    def cmd(self, argv: list) -> list[str]:
        return ["nsenter", f"--target={self.init_pid()}", "--net", "--mount", *[str(a) for a in argv]]

    def alive(self) -> bool:
        return self.proc is not None and self.proc.alive()


class DsPair:
    def __init__(self, cloud_init: dict[str, str], drill: Drill):
        self.rendered = Rendered(cloud_init)
        self.drill = drill
        self.root = drill.root / "ds-pair"
        self.local = Drill(cloud_init, drill.venv, root=self.root)    # its congress.conf localiser only
        tag = f"{os.getpid() % 0x10000:04x}"
        self.bridge = f"cdpbr{tag}"
        self.hosts = [DsHost(n, f"congress-drill-{tag}-{n.name}", self.local.host_dir(n))
                      for n in self.rendered.role("datasource")]
        self.relays: list[Relay] = []
        self.cleanups: list = []
        self.pcmk_env = {"PCMK_logfacility": "none"}

    def start(self) -> "DsPair":
        try:
            self.drill._stop_pacemaker()
            self.make_network()
            for host in self.hosts:
                self.start_host(host)
            self.configure()
        except BaseException:
            self.close()
            raise
        return self

    def make_network(self):
        prefix = VIP_CIDR.split("/")[1]
        make_bridge(self.bridge, self.cleanups)
        # MariaDB and RabbitMQ of this plan: relays to the main drill's.
        conf = self.rendered.congress_conf
        main_conf = self.drill.rendered.congress_conf
        for key in ("transport_url", "connection"):
            mine = re.search(r"@([\d.]+):(\d+)", ini_value(conf, key)).groups()
            theirs = re.search(r"@([\d.]+):(\d+)", ini_value(main_conf, key)).groups()
            run(["ip", "addr", "add", f"{mine[0]}/{prefix}", "dev", self.bridge])
            self.relays.append((mine, theirs))
        run(["ip", "link", "set", self.bridge, "up"])
        self.relays = [Relay(m[0], int(m[1]), (t[0], int(t[1]))) for m, t in self.relays]
        for i, host in enumerate(self.hosts):
            run(["ip", "netns", "add", host.netns])
            self.cleanups.append(lambda host=host: succeeds(["ip", "netns", "del", host.netns]))
            host_side = f"cdp{i}{self.bridge[5:]}"
            run(["ip", "link", "add", host_side, "type", "veth", "peer", "name", "ens3", "netns", host.netns])
            self.cleanups.append(lambda host_side=host_side: succeeds(["ip", "link", "del", host_side]))
            run(["ip", "link", "set", host_side, "master", self.bridge, "up"])
            run(["ip", "-n", host.netns, "link", "set", "lo", "up"])
            run(["ip", "-n", host.netns, "addr", "add", f"{host.node.ip}/{prefix}", "dev", "ens3"])
            run(["ip", "-n", host.netns, "link", "set", "ens3", "up"])

    def start_host(self, host: DsHost):
        node, home = host.node, host.home
        self.local.localise_congress_conf(node)
        _, text = node.file_named("corosync.conf")
        keyfile = re.search(r"^\s*keyfile:\s*(\S+)", text, re.M).group(1)
        (home / "authkey").write_bytes(node.files[keyfile].encode())
        os.chmod(home / "authkey", 0o400)
        text = text.replace(keyfile, str(home / "authkey"))
        text = re.sub(r"^(\s*logfile:\s*)\S+", lambda m: m.group(1) + str(home / "corosync.log"), text, flags=re.M)
        text = re.sub(r"^(\s*to_syslog:\s*)\S+", r"\1no", text, flags=re.M)
        (home / "corosync.conf").write_text(text)
        mounts = "\n".join(f"mount -t tmpfs -o mode=0755 congress-drill {d}" for d in PRIVATE_DIRS)
        (home / "host.sh").write_text(HOST_SCRIPT.format(mounts=mounts, home=home))
        host.proc = Proc(host.name, [
            "ip", "netns", "exec", host.netns, "unshare", "--mount", "--propagation", "private",
            "--pid", "--fork", "--kill-child", "--mount-proc", "bash", home / "host.sh"],
            home / "host.out", cwd=home,
            env={**self.pcmk_env, "PCMK_logfile": str(home / "pacemaker.log"), "HOME": str(home)}).start()
        self.cleanups.append(lambda host=host: host.proc.stop(timeout=10, sig=signal.SIGKILL))

    def configure(self):
        """configure-datasource-cluster.sh: once both are members with a DC, the leader loads the
        rendered crm configuration (with the drill's paths)."""
        names = {h.name for h in self.hosts}
        leader = next(h for h in self.hosts if h.name == (self.hosts[0].node.env.get("CLUSTER_LEADER") or self.hosts[0].name))

        def pair_online():
            out = subprocess.run(leader.cmd(["crm_node", "--list"]), capture_output=True, text=True, timeout=10).stdout
            members = {line.split()[1] for line in out.splitlines() if line.split()[2:3] == ["member"]}
            return members == names and succeeds(leader.cmd(["crmadmin", "--dc_lookup", "--timeout", "2000"]))
        wait_for("both datasource hosts in the cluster with a DC", lambda: pair_online() or (
            not all(h.alive() for h in self.hosts) and _dead(self.hosts)), 120, interval=1)

        node = leader.node
        _, crm = node.file(lambda p, c: "ocf:openstack:congress-datasource" in c and "primitive" in c)
        vm_venv = node.env.get("CONGRESS_VENV", "/opt/congress")
        vm_conf = node.env.get("CONGRESS_CONFIG", "/etc/congress/congress.conf")
        # One path for both hosts, as on the VMs: the leader's (the drill shares one filesystem).
        conf = leader.home / "congress.conf"
        crm = crm.replace(f'config="{vm_conf}"', f'config="{conf}"').replace(f'"{vm_venv}/', f'"{self.drill.venv}/')
        crm = re.sub(r'\buser="[^"]*"', 'user="root"', crm)
        (self.root / "datasource.crm").write_text(crm)
        run(leader.cmd(["crm", "-o", "core.check_mode=relaxed", "configure", "load", "update", self.root / "datasource.crm"]),
            env=self.pcmk_env, timeout=120)

    def running_on(self) -> str | None:
        """The host Pacemaker reports ds-node started on (asked of any live host)."""
        for host in self.hosts:
            if not host.alive():
                continue
            out = subprocess.run(host.cmd(["crm_resource", "--resource", "ds-node", "--locate"]),
                                 capture_output=True, text=True, timeout=10).stdout
            match = re.search(r"running on:\s*(\S+)", out)
            return match.group(1) if match else None
        return None

    def ds_node_pids(self, host: DsHost) -> list[int]:
        """congress-server --datasources processes of that host (of its PID namespace), host PIDs."""
        ns = os.readlink(f"/proc/{host.init_pid()}/ns/pid")
        pids = []
        for entry in Path("/proc").iterdir():
            try:
                if entry.name.isdigit() and os.readlink(entry / "ns/pid") == ns \
                        and b"--datasources" in (entry / "cmdline").read_bytes().split(b"\0"):
                    pids.append(int(entry.name))
            except OSError:
                pass
        return pids

    def wait_started(self, timeout: float = 180) -> str:
        name = wait_for("ds-node started on a datasource host", self.running_on, timeout, interval=1)
        host = next(h for h in self.hosts if h.name == name)
        wait_for(f"congress-server --datasources running on {name}", lambda: self.ds_node_pids(host), 60)
        return name

    def takeover_budget_s(self) -> float:
        """Corosync's token timeout + consensus (defaults for two nodes: 3 s + 1.2 x 3 s), then the
        start of ds-node on the standby (start timeout of the rendered crm configuration)."""
        crm = self.hosts[0].node.file(lambda p, c: "ocf:openstack:congress-datasource" in c)[1]
        start = re.search(r"op\s+start\s+[^\n]*?timeout=(\d+)s?\b", crm)
        return 3 + 3.6 + (float(start.group(1)) if start else 20.0) + 5

    def stop_active_host(self, timeout: float = 180) -> dict:
        """The VM running ds-node dies: every process of that host ends at once (SIGKILL of its
        PID namespace); time until Pacemaker runs ds-node on the other host."""
        active = self.running_on()
        victim = next(h for h in self.hosts if h.name == active)
        other = next(h for h in self.hosts if h is not victim)
        started = time.monotonic()
        victim.proc.stop(timeout=5, sig=signal.SIGKILL)
        wait_for(f"ds-node started on {other.name}", lambda: self.running_on() == other.name, timeout, interval=0.2)
        located_s = time.monotonic() - started
        wait_for(f"congress-server --datasources on {other.name}", lambda: self.ds_node_pids(other), timeout, interval=0.2)
        return {"victim": victim.name, "other": other.name, "located_s": located_s,
                "running_s": time.monotonic() - started, "pids": self.ds_node_pids(other)}

    def crm_status(self) -> str:
        host = next(h for h in self.hosts if h.alive())
        return run(host.cmd(["crm_mon", "-1", "-r"]), timeout=30)

    def close(self):
        run_cleanups(self.cleanups)
        for relay in self.relays:
            if isinstance(relay, Relay):
                relay.close()
        self.relays.clear()


def _dead(hosts: list[DsHost]):
    dead = [h for h in hosts if not h.alive()]
    raise ProcessExited(f"{[h.name for h in dead]} exited:\n" + "\n".join(h.proc.tail() for h in dead))
