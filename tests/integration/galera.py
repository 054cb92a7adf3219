"""Backing mode cluster's database on this machine: the three Galera members and a Congress
node's local HAProxy, from the files a plan renders (the production example, planned onto
GALERA_CIDR, whose addresses in use are added to lo for the run), run for real.

  Galera members   mariadbd with the rendered 60-congress.cnf ([mariadbd] and [galera]: cluster
                   address, node address, rsync state transfer, provider options); the first
                   member starts the new cluster, the others join it, as configure-galera.sh does
                   (it uses systemd, so this does its two steps itself); then the rendered SQL
  health check     the rendered galera-health.sh, one run per connection on <member>:9200
                   (socat here; a systemd socket with Accept=yes on the VMs)
  local HAProxy    the rendered /etc/haproxy/haproxy.cfg of a Congress node, in the foreground

Deviations, on purpose: each member's data directory, socket and pid
file live in this drill's directory; the local HAProxy listens on LOCAL_PROXY instead of
127.0.0.1:3306 (which this machine may use itself).  A member "powered off" is frozen (SIGSTOP): its
sockets stay open and nothing answers, as with a VM that is gone; SIGKILL ends it afterwards.
"""

from __future__ import annotations

import configparser
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from drill import Node, Proc, ProcessExited, localise_haproxy_cfg, port_open, run, run_cleanups, wait_for

# The production example (backing mode cluster) planned onto loopback addresses.
GALERA_EXAMPLE = "production"
GALERA_CIDR = "198.19.240.0/24"
# The example's floating IP pool goes with its router, which this subnet-only network has not.
GALERA_OVERRIDES = {"network": {"cidr": GALERA_CIDR}, "policy_engine_count": 2, "floating_ip_pool": None}
LOCAL_PROXY = ("198.19.240.9", 3306)
SCRIPTS = "/usr/local/lib/congress-tf"


class Member:
    def __init__(self, node: Node, home: Path):
        self.node, self.home, self.name = node, home, node.name
        self.ip = node.env["NODE_IP"]
        self.sock = home / "mysqld.sock"
        self.proc: Proc | None = None
        self.health: Proc | None = None

    def sql(self, statement: str, timeout: float = 30) -> str:
        return run(["mariadb", "--no-defaults", f"--socket={self.sock}", "-uroot", "--batch", "--skip-column-names",
                    "-e", statement], timeout=timeout)

    def status(self, name: str) -> str:
        try:
            return self.sql(f"SHOW GLOBAL STATUS LIKE '{name}'", timeout=5).split("\t")[-1].strip()
        except (RuntimeError, subprocess.TimeoutExpired):
            return ""

    def synced(self) -> bool:
        return self.status("wsrep_cluster_status") == "Primary" and self.status("wsrep_local_state_comment") == "Synced"


class GaleraDrill:
    def __init__(self, cloud_init: dict[str, str], venv: Path):
        self.nodes = {name: Node.parse(name, text) for name, text in sorted(cloud_init.items())}
        self.venv = venv
        self.root = Path(tempfile.mkdtemp(prefix="congress-galera-"))
        self.root.chmod(0o755)      # mariadbd runs as mysql, as on the VMs
        self.members = [Member(n, self.root / n.name) for n in self.nodes.values()
                        if "/etc/mysql/mariadb.conf.d/60-congress.cnf" in n.files
                        and "[galera]" in n.files["/etc/mysql/mariadb.conf.d/60-congress.cnf"]]
        self.congress_node = next(n for n in self.nodes.values() if n.role == "policy_engine")
        self.procs: list[Proc] = []
        self.cleanups: list = []

    # -- members -------------------------------------------------------------------------------
    def start(self) -> "GaleraDrill":
        try:
            assert len(self.members) == 3, [m.name for m in self.members]
            first, *others = self.members
            assert self.members[0].node.env["BACKING_PEERS"].split()[0] == first.ip   # the bootstrapper
            for address in [m.ip for m in self.members] + [LOCAL_PROXY[0]]:
                run(["ip", "addr", "add", f"{address}/32", "dev", "lo"])
                self.cleanups.append(lambda a=address: run(["ip", "addr", "del", f"{a}/32", "dev", "lo"]))
            for member in self.members:
                self.prepare(member)
            self.start_member(first, new_cluster=True)
            wait_for(f"{first.name} synced", lambda: first.synced() or self.check_alive(first), 120)
            self.load_sql(first)
            for member in others:      # one at a time, each with a state transfer from a synced member
                self.start_member(member)
                wait_for(f"{member.name} synced", lambda m=member: m.synced() or self.check_alive(m), 180)
            for member in self.members:
                self.start_health(member)
            self.start_proxy()
        except BaseException:
            self.close()
            raise
        return self

    def prepare(self, member: Member):
        member.home.mkdir(parents=True, exist_ok=True)
        cnf = member.node.files["/etc/mysql/mariadb.conf.d/60-congress.cnf"]
        (member.home / "my.cnf").write_text(cnf)
        run(["mariadb-install-db", "--no-defaults", f"--datadir={member.home / 'data'}", "--user=mysql",
             "--auth-root-authentication-method=normal", "--skip-test-db"], timeout=120)
        # As /var/lib/mysql on a VM: the member's files are mysql's, so are the state transfer's.
        run(["chown", "-R", "mysql:mysql", member.home])

    def mariadbd_argv(self, member: Member) -> list[str]:
        return ["mariadbd", f"--defaults-file={member.home / 'my.cnf'}", f"--datadir={member.home / 'data'}",
                f"--socket={member.sock}", "--port=3306", "--user=mysql", f"--pid-file={member.home / 'mysqld.pid'}",
                "--innodb-buffer-pool-size=64M", "--skip-name-resolve", f"--log-error={member.home / 'error.log'}"]

    def start_member(self, member: Member, new_cluster: bool = False):
        argv = self.mariadbd_argv(member)
        if new_cluster:
            argv.append("--wsrep-new-cluster")
        member.proc = Proc(member.name, argv, member.home / "mariadbd.out", cwd=member.home).start()
        self.procs.append(member.proc)
        (member.home / "service.pid").write_text(f"{member.proc.pid}\n")    # mariadb.service's main PID

    def check_alive(self, member: Member) -> bool:
        if member.proc is not None and not member.proc.alive():
            log = (member.home / "error.log").read_text(errors="replace")[-3000:]
            raise ProcessExited(f"{member.name} exited:\n{log}")
        return False

    def load_sql(self, member: Member):
        member.sql(member.node.files["/etc/congress-tf/congress-database.sql"])

    def start_health(self, member: Member):
        script = member.home / "galera-health.sh"
        script.write_text(member.node.files[f"{SCRIPTS}/galera-health.sh"])
        script.chmod(0o755)
        # The script asks `mariadb` for this member's state: through this member's socket here
        # (the client's config names the machine's own socket, which the environment cannot override).
        bin_dir = member.home / "bin"
        bin_dir.mkdir(exist_ok=True)
        (bin_dir / "mariadb").write_text(f'#!/bin/sh\nexec /usr/bin/mariadb --socket={member.sock} "$@"\n')
        (bin_dir / "mariadb").chmod(0o755)
        member.health = Proc(f"{member.name}-health", [
            "socat", f"TCP-LISTEN:9200,bind={member.ip},reuseaddr,fork", f"EXEC:{script}"],
            member.home / "health.out", env={"PATH": f"{bin_dir}:{os.environ['PATH']}"}).start()
        self.procs.append(member.health)
        wait_for(f"{member.name} health check", lambda: port_open(member.ip, 9200), 10)

    # -- the Congress node's local HAProxy -----------------------------------------------------
    def start_proxy(self):
        cfg = self.congress_node.files["/etc/haproxy/haproxy.cfg"]
        cfg = re.sub(r"^(\s*bind\s+)127\.0\.0\.1:\d+", rf"\g<1>{LOCAL_PROXY[0]}:{LOCAL_PROXY[1]}", cfg, flags=re.M)
        home = self.root / "proxy"
        home.mkdir(exist_ok=True)
        self.proxy_sock = home / "admin.sock"
        (home / "haproxy.cfg").write_text(localise_haproxy_cfg(cfg, self.proxy_sock))
        run(["haproxy", "-c", "-q", "-f", home / "haproxy.cfg"])
        self.proxy = Proc("haproxy", ["haproxy", "-db", "-f", home / "haproxy.cfg"], home / "haproxy.out").start()
        self.procs.append(self.proxy)
        try:
            wait_for("the local HAProxy with its writer UP", lambda: self.active_server() == self.members[0].name, 30)
        except TimeoutError as exc:
            raise TimeoutError(f"{exc}: HAProxy's server states {self.server_states()}\n"
                               f"{(home / 'haproxy.out').read_text(errors='replace')[-2000:]}") from None

    def server_states(self) -> dict[str, str]:
        import socket
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(5)
            s.connect(str(self.proxy_sock))
            s.sendall(b"show servers state galera\n")
            text = b"".join(iter(lambda: s.recv(65536), b"")).decode()
        # columns: be_id be_name srv_id srv_name srv_addr srv_op_state ...; op state 2 = running
        return {f[3]: f[5] for f in (line.split() for line in text.splitlines()[2:]) if len(f) > 5}

    def active_server(self) -> str | None:
        states = self.server_states()
        up = [m.name for m in self.members if states.get(m.name) == "2"]
        return up[0] if up else None

    def connection(self) -> dict:
        conf = self.congress_node.files["/etc/congress/congress.conf"]
        parser = configparser.ConfigParser(interpolation=None)
        parser.read_string(conf)
        match = re.match(r"mysql\+pymysql://([^:]+):([^@]+)@([^:/]+):(\d+)/([^?]+)", parser["database"]["connection"])
        user, password, host, port, name = match.groups()
        assert (host, int(port)) == ("127.0.0.1", 3306), "Congress must connect through the local HAProxy"
        return {"host": LOCAL_PROXY[0], "port": LOCAL_PROXY[1], "user": user, "password": password, "database": name}

    # -- faults --------------------------------------------------------------------------------
    def power_off(self, member: Member):
        """The VM is gone: nothing of it answers any more, its connections stay open unanswered."""
        for proc in (member.proc, member.health):
            proc.signal_group(signal.SIGSTOP)

    def kill(self, member: Member):
        for proc in (member.proc, member.health):
            if proc is not None:
                proc.signal_group(signal.SIGCONT)
                proc.stop(timeout=5, sig=signal.SIGKILL)

    def shut_down(self, member: Member):
        """A clean shutdown (systemctl poweroff): mariadbd leaves the cluster and ends on SIGTERM."""
        member.health.stop(timeout=5)
        member.proc.stop(timeout=120)

    def rejoin(self, member: Member, timeout: float = 180):
        """A member that was gone boots again and joins the running cluster."""
        self.kill(member)
        self.start_member(member)
        wait_for(f"{member.name} synced again", lambda: member.synced() or self.check_alive(member), timeout)
        self.start_health(member)

    def power_off_all_and_start_again(self, timeout: float = 240) -> float:
        """Every member dies at once (SIGKILL), then all three start again as systemd starts
        mariadb.service at boot: plainly, no new cluster. Seconds until all three are synced."""
        for member in self.members:
            self.kill(member)
        started = time.monotonic()
        for member in self.members:
            self.start_member(member)
        wait_for("all three members synced again in one cluster", lambda: all(
            m.synced() and m.status("wsrep_cluster_size") == "3" for m in self.members)
            or any(self.check_alive(m) for m in self.members), timeout, interval=1)
        elapsed = time.monotonic() - started
        for member in self.members:
            self.start_health(member)
        return elapsed

    def recover_script(self, member: Member, *args: str) -> str:
        """The rendered galera-recover.sh run for `member` as on its VM, its output. What it asks
        of the VM is this member's here: `systemctl is-active|stop mariadb.service` its mariadbd,
        `galera_recovery` mariadbd --wsrep-recover on its data directory (printing the position as
        MariaDB's own script does), `mariadb` its socket; `galera_new_cluster` and `systemctl start`
        leave a request that start_requested() carries out (this drill starts members, not systemd)."""
        home, bin_dir = member.home, member.home / "bin"
        scripts = home / "scripts"
        scripts.mkdir(exist_ok=True)
        bin_dir.mkdir(exist_ok=True)
        for name in ("galera-recover.sh", "congress-tf-lib.sh"):
            (scripts / name).write_text(member.node.files[f"{SCRIPTS}/{name}"])
            (scripts / name).chmod(0o755)
        (home / "node.env").write_text(member.node.files["/etc/congress-tf/node.env"])
        pidfile, recover_log = home / "service.pid", home / "recover.log"
        recover_argv = " ".join(self.mariadbd_argv(member)[:-1] + [f"--log-error={recover_log}", "--wsrep-recover"])
        shims = {
            "systemctl": f"""#!/bin/sh
alive() {{ pid=$(cat {pidfile} 2>/dev/null) && [ -d /proc/$pid ] && [ "$(cut -d' ' -f3 /proc/$pid/stat)" != Z ]; }}
[ "$2" = mariadb.service ] || [ "$3" = mariadb.service ] || {{ echo "systemctl shim: $*" >&2; exit 1; }}
case "$1" in
    is-active) alive ;;
    stop) if alive; then  # as systemd: SIGTERM, SIGKILL when it does not end (a member stuck joining)
              kill "$pid"; for _ in $(seq 150); do alive || break; sleep 0.2; done
              alive && kill -9 "$pid"; while alive; do sleep 0.2; done
          fi ;;
    start) touch {home / 'start-requested'} ;;
    *) echo "systemctl shim: $*" >&2; exit 1 ;;
esac
""",
            "galera_recovery": f"""#!/bin/sh
rm -f {recover_log}
{recover_argv} >/dev/null 2>&1 || exit 1
echo "--wsrep_start_position=$(sed -n 's/.*WSREP: Recovered position: *//p' {recover_log} | tail -n 1)"
""",
            "galera_new_cluster": f"#!/bin/sh\nrm -f {home / 'start-requested'}; touch {home / 'bootstrap-requested'}\n",
        }
        for name, text in shims.items():
            (bin_dir / name).write_text(text)
            (bin_dir / name).chmod(0o755)
        env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "CONGRESS_TF_SETTINGS": str(home / "node.env"),
               "GALERA_GRASTATE": str(home / "data" / "grastate.dat")}
        proc = subprocess.run([str(scripts / "galera-recover.sh"), *args], capture_output=True, text=True,
                              env=env, timeout=180)
        if proc.returncode != 0:
            raise RuntimeError(f"galera-recover.sh {' '.join(args)} on {member.name} failed:\n{proc.stdout}{proc.stderr}")
        return proc.stdout

    def start_requested(self, member: Member) -> str | None:
        """What the script asked for (recover_script), done: "bootstrap" starts a new cluster on
        this member, "start" starts it plainly (it joins a primary component when there is one)."""
        for request in ("bootstrap", "start"):
            marker = member.home / f"{request}-requested"
            if marker.exists():
                marker.unlink()
                self.start_member(member, new_cluster=request == "bootstrap")
                return request
        return None

    def close(self):
        for proc in reversed(self.procs):
            proc.signal_group(signal.SIGCONT)
            proc.stop(timeout=20)
        self.procs.clear()
        run_cleanups(self.cleanups)
        if not os.environ.get("CONGRESS_DRILL_KEEP"):
            shutil.rmtree(self.root, ignore_errors=True)


WRITER = r"""
import json, sys, time
import pymysql
conn_args, stop_after, i = json.loads(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
conn, end = None, time.monotonic() + stop_after
def out(**kw):
    print(json.dumps({"t": time.monotonic(), **kw}), flush=True)
while time.monotonic() < end:
    i += 1
    try:
        if conn is None:
            conn = pymysql.connect(connect_timeout=2, read_timeout=5, write_timeout=5, autocommit=True, **conn_args)
        with conn.cursor() as cur:
            # As Congress writes rules: under LOCK TABLES, on the one writer.
            cur.execute("LOCK TABLES failover_probe WRITE")
            cur.execute("INSERT INTO failover_probe (n) VALUES (%s)", (i,))
            cur.execute("UNLOCK TABLES")
        out(ok=i)
    except Exception as exc:
        out(err=i, e=repr(exc)[:200])
        try:
            conn.close()
        except Exception:
            pass
        conn = None
        time.sleep(0.1)
    time.sleep(0.02)
"""


def writes_during(galera: GaleraDrill, seconds: float, fault_at: float, fault, first: int = 1) -> tuple[list[dict], float]:
    """Rows first, first + 1, ... written through the local HAProxy for `seconds`, `fault()` called
    `fault_at` seconds in: (one event per attempt, {"t", "ok" or "err"}; the fault's time)."""
    writer = run_writer(galera.venv, galera.connection(), seconds, first)
    time.sleep(fault_at)
    fault_time = time.monotonic()
    fault()
    out, err = writer.communicate(timeout=seconds + 60)
    if writer.returncode != 0:
        raise RuntimeError(f"the writer failed: {err[-2000:]}")
    return [json.loads(line) for line in out.splitlines()], fault_time


def acknowledged_writes(events: list[dict]) -> list[dict]:
    """The attempts of writes_during that the database acknowledged: {"t", "ok": the row}."""
    return [e for e in events if "ok" in e]


def run_writer(venv: Path, conn_args: dict, seconds: float, first: int = 1) -> subprocess.Popen:
    """Rows first, first + 1, ... written for `seconds`; a JSON line per attempt on stdout."""
    return subprocess.Popen([str(venv / "bin" / "python"), "-c", WRITER, json.dumps(conn_args), str(seconds),
                             str(first - 1)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
