"""The HA drill: a real Congress HA cluster on this machine, from the files Terraform renders.

Every VM of a plan becomes a "host" here: its fixed address is local to this machine (the drill
plans the subnet DRILL_CIDR, in the test range 198.18.0.0/15, and routes all of it to lo as a
`local` route for the run, as 127/8 is), with the ports it has on the VM.  What runs comes from the plan's `cloud_init` output, parsed, never re-rendered:

  backing VMs      MariaDB with the rendered [mariadbd] options and the rendered SQL;
                   RabbitMQ set up with the user, password and vhost that the Congress nodes'
                   transport_url names (as configure-rabbitmq.sh does with rabbitmqctl)
  policy engines   the rendered congress.conf and the ExecStart= of the rendered systemd unit
                   (with its EnvironmentFile and Restart=), supervised here like systemd would
  datasource VM    the rendered corosync.conf and authkey, corosync + pacemakerd, the real
                   congress-datasource OCF agent, and the rendered crm configuration loaded
                   the way configure-datasource-cluster.sh loads it
  HAProxy VM       the rendered haproxy.cfg in the foreground

Files are only rewritten where they name places of a VM (/etc, /var, /opt, /run): they point
into this drill's temporary directory instead.  Deviations from the VMs, on purpose:
  - one datasource host: a one-node Corosync/Pacemaker cluster (the other node is left out
    of the nodelist); failover between the two datasource VMs runs on booted VMs (tests/vm);
  - everything runs as root (no congress/haproxy users are created on the test machine);
  - no keepalived: the VIP is an address of the local route, always local; HAProxy of lb-0 holds it
    (the keepalived pair moving the VIP runs on booted VMs, tests/vm);
  - policy engines start one after another, each once the previous one's API answers, as
    start-congress-policy-engine.sh does on the VMs under a MariaDB lock (started together on
    an empty database they race on Congress's default policies);
  - the datasource host's address is added to lo for the run (corosync looks for it there).
Every process is started in its own process group and ended by that group's id.
"""

from __future__ import annotations

import base64
import csv
import io
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

import yaml

from api_client import http  # noqa: F401  (the drill's modules and tests import it from here)

REPO = Path(__file__).resolve().parents[2]
OCF_AGENT = Path("/usr/lib/ocf/resource.d/openstack/congress-datasource")
PACEMAKER_STATE = [Path("/var/lib/pacemaker") / d for d in ("cib", "pengine", "blackbox", "cores")]
COROSYNC_STATE = [Path("/var/lib/corosync")]
# The drill's plan: examples/no-octavia (HAProxy front end) with these overrides.  The subnet is
# routed to lo for the run, so every VM keeps its own address and ports here; the existing
# network ids are the example's dummies.
DRILL_EXAMPLE = "no-octavia"
DRILL_CIDR = "198.19.10.0/24"
DRILL_OVERRIDES = {
    "network": {
        "cidr": DRILL_CIDR,
        "existing_network_id": "00000000-0000-4000-8000-00000000e701",
        "existing_subnet_id": "00000000-0000-4000-8000-00000000e702",
    },
    "policy_engine_count": 2,                       # within CI's 2 cores
    "health_check": {"interval_s": 1, "timeout_s": 1, "fall": 2, "rise": 2},
    "datasource_sync_period": 5,
    "datasource_monitor": {"interval_s": 2, "timeout_s": 20},
}
# Client addresses of the drill's API clients (in DRILL_CIDR, outside the nodes' .10-.199).
CLIENTS = ["198.19.10.201", "198.19.10.202", "198.19.10.203"]

# Congress 11.0.0 alone binds the period of its synchronisers when their modules are imported,
# before congress.conf is read (@periodics.periodic(spacing=cfg.CONF.datasource_sync_period)),
# so it would always use the option's default, 60 s; the runtime's shim
# (cloudinit/congress_py311_compat.py) makes the rendered datasource_sync_period the one that runs.
CONGRESS_DEFAULT_SYNC_S = 60


# --- what the plan renders -------------------------------------------------------------------

@dataclass
class Node:
    """One VM's #cloud-config, parsed."""

    name: str
    config: dict
    files: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, name: str, user_data: str) -> "Node":
        config = yaml.safe_load(user_data)
        files = {}
        for entry in config.get("write_files", []):
            content = entry.get("content", "")
            if entry.get("encoding") in ("b64", "base64"):
                content = base64.b64decode(content).decode()
            files[entry["path"]] = content
        return cls(name, config, files)

    @property
    def env(self) -> dict[str, str]:
        """The node's settings file (an EnvironmentFile / sourced shell file)."""
        for path, content in self.files.items():
            if path.endswith("node.env"):
                return parse_env(content)
        return {}

    @property
    def role(self) -> str:
        return self.env.get("NODE_ROLE", "")

    @property
    def ip(self) -> str:
        return self.env["NODE_IP"]

    def file(self, predicate) -> tuple[str, str]:
        found = [(p, c) for p, c in self.files.items() if predicate(p, c)]
        if len(found) != 1:
            raise LookupError(f"{self.name}: expected one matching file in write_files, found {[p for p, _ in found]}")
        return found[0]

    def file_named(self, basename: str) -> tuple[str, str]:
        return self.file(lambda p, c: Path(p).name == basename)

    def unit_with(self, executable: str) -> tuple[str, dict[str, list[str]]]:
        """The systemd unit whose ExecStart runs `executable`: (path, {key: [values]})."""
        path, text = self.file(lambda p, c: p.endswith(".service") and re.search(
            rf"^ExecStart=.*{re.escape(executable)}", c, re.M))
        return path, parse_unit(text)


def parse_env(text: str) -> dict[str, str]:
    env = {}
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            env[key.strip()] = " ".join(shlex.split(value)) if value.strip() else ""
    return env


def parse_unit(text: str) -> dict[str, list[str]]:
    unit: dict[str, list[str]] = {}
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith(("#", ";", "[")) and "=" in line:
            key, value = line.split("=", 1)
            unit.setdefault(key.strip(), []).append(value.strip())
    return unit


def systemd_seconds(value: str) -> float:
    match = re.fullmatch(r"([\d.]+)\s*(ms|s|min)?", value.strip())
    if not match:
        raise ValueError(f"unsupported systemd time span {value!r}")
    number, unit = float(match.group(1)), match.group(2) or "s"
    return number * {"ms": 0.001, "s": 1, "min": 60}[unit]


def expand(text: str, env: dict[str, str]) -> str:
    return re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: env.get(m.group(1) or m.group(2), m.group(0)), text)


def ini_value(text: str, key: str) -> str | None:
    match = re.search(rf"^\s*{re.escape(key)}\s*=\s*(.*?)\s*$", text, re.M)
    return match.group(1) if match else None


class Rendered:
    """Every node of one plan's `cloud_init` output, by role."""

    def __init__(self, cloud_init: dict[str, str]):
        self.nodes = {name: Node.parse(name, data) for name, data in sorted(cloud_init.items())}

    def role(self, role: str) -> list[Node]:
        return [n for n in self.nodes.values() if n.role == role]

    def backing_with(self, marker) -> Node:
        found = [n for n in self.role("backing") if any(marker(p, c) for p, c in n.files.items())]
        if len(found) != 1:
            raise LookupError(f"expected one backing node, found {[n.name for n in found]}")
        return found[0]

    @property
    def congress_conf(self) -> str:
        """congress.conf of any Congress node (they share transport_url and [database])."""
        node = self.role("policy_engine")[0]
        return node.file_named("congress.conf")[1]

    @property
    def api_vip(self) -> tuple[str, int]:
        lb = self.role("haproxy")[0]
        cfg = lb.file_named("haproxy.cfg")[1]
        host, port = re.search(r"^\s*bind\s+([\d.]+):(\d+)", cfg, re.M).groups()
        return host, int(port)


# --- processes -------------------------------------------------------------------------------

class Proc:
    """A child process in its own process group, output to a log file; ended by its group id."""

    def __init__(self, name: str, argv: list[str], log: Path, env: dict | None = None, cwd: Path | None = None):
        self.name, self.argv, self.log_path = name, [str(a) for a in argv], log
        self.env = {**os.environ, **(env or {})}
        self.cwd = cwd
        self.popen: subprocess.Popen | None = None

    def start(self) -> "Proc":
        log = open(self.log_path, "ab")
        self.popen = subprocess.Popen(self.argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                      env=self.env, cwd=self.cwd, start_new_session=True)
        log.close()
        return self

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def signal_group(self, sig: int):
        try:
            os.killpg(self.popen.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    def stop(self, timeout: float = 20, sig: int = signal.SIGTERM):
        if self.popen is None:
            return
        if self.alive():
            self.signal_group(sig)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
        # Whatever is left of the group (children that outlived the leader) goes too.
        self.signal_group(signal.SIGKILL)
        try:
            self.popen.wait(5)
        except subprocess.TimeoutExpired:
            pass

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


class Service:
    """A process supervised the way systemd runs a Type=simple unit with Restart=on-failure."""

    def __init__(self, proc_factory, restart: str, restart_s: float):
        self.factory, self.restart, self.restart_s = proc_factory, restart, restart_s
        self.proc: Proc | None = None
        self.starts = 0
        self.enabled = False
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def start(self):
        with self._lock:
            self.enabled = True
            self.proc = self.factory().start()
            self.starts += 1
        if self._thread is None:
            self._thread = threading.Thread(target=self._watch, daemon=True)
            self._thread.start()

    def _watch(self):
        while True:
            time.sleep(0.2)
            with self._lock:
                if not self.enabled:
                    continue
                proc = self.proc
            code = proc.popen.poll()
            if code is None:
                continue
            # on-failure: an unclean exit code or a signal; always: any exit.
            if self.restart == "always" or (self.restart == "on-failure" and code != 0):
                time.sleep(self.restart_s)
                with self._lock:
                    if self.enabled and self.proc is proc:
                        proc.stop(timeout=1)
                        self.proc = self.factory().start()
                        self.starts += 1
            else:
                with self._lock:
                    self.enabled = False

    def crash_host(self):
        """The VM goes away: the process dies with SIGKILL and nothing restarts it."""
        with self._lock:
            self.enabled = False
            self.proc.stop(timeout=5, sig=signal.SIGKILL)

    def stop(self):
        with self._lock:
            self.enabled = False
            if self.proc:
                self.proc.stop()


# --- helpers ---------------------------------------------------------------------------------

def run_cleanups(cleanups: list) -> None:
    """Run every cleanup, newest first, going on past any that fails; then forget them."""
    for cleanup in reversed(cleanups):
        try:
            cleanup()
        except Exception:  # noqa: BLE001 - keep cleaning
            pass
    cleanups.clear()


def wait_for(what: str, check, timeout: float, interval: float = 0.25):
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = check()
        except ProcessExited:
            raise
        except Exception:  # noqa: BLE001 - anything counts as "not yet"
            result = None
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up waiting for {what} after {timeout:.0f} s")
        time.sleep(interval)


def port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def succeeds(argv: list, timeout: float = 10) -> bool:
    try:
        return subprocess.run(argv, capture_output=True, stdin=subprocess.DEVNULL, timeout=timeout).returncode == 0
    except subprocess.TimeoutExpired:
        return False


def missing_tools(executables: list[str], files: list[str] = ()) -> list[str]:
    """The executables not on PATH and the files not there, of what a harness needs."""
    return [exe for exe in executables if not shutil.which(exe)] + [p for p in files if not Path(p).exists()]


@contextmanager
def started(start, stop):
    """start()'s result, with stop() at the end, also when a SIGTERM (a CI timeout) ends the run:
    it becomes KeyboardInterrupt, so pytest unwinds the fixture and nothing outlives the test."""
    def interrupt(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield start()
    finally:
        stop()
        signal.signal(signal.SIGTERM, previous)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(argv: list, env: dict | None = None, timeout: float = 120, input: str | None = None, cwd=None) -> str:
    result = subprocess.run([str(a) for a in argv], env={**os.environ, **(env or {})}, cwd=cwd,
                            input=input if input is not None else "", capture_output=True, text=True,
                            timeout=timeout)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, argv))} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result.stdout


def localise_haproxy_cfg(cfg: str, sock: Path) -> str:
    """The rendered haproxy.cfg for the foreground, as root, no chroot; admin socket `sock`,
    log lines on stdout."""
    out = []
    for line in cfg.splitlines():
        word = line.split()[0] if line.split() else ""
        if word in ("chroot", "user", "group", "daemon"):
            continue
        if word == "stats" and line.split()[1] == "socket":
            line = re.sub(r"socket\s+\S+", f"socket {sock}", line)
        if word == "log" and "/dev/log" in line:
            line = line.replace("/dev/log", "stdout format raw")
        out.append(line)
    return "\n".join(out) + "\n"


def write_haproxy_cfg(node: "Node", home: Path, sock: Path) -> Path:
    """The node's haproxy.cfg, localised, into `home`, beside the rendered server-state file it
    loads at start (every policy-engine slot DOWN until checked)."""
    state_path, state = node.file_named("policy-engine-slots.state")
    (home / Path(state_path).name).write_text(state)
    _, cfg = node.file_named("haproxy.cfg")
    cfg = localise_haproxy_cfg(cfg, sock).replace(f"server-state-file {state_path}\n",
                                                  f"server-state-file {home / Path(state_path).name}\n")
    assert str(home) in cfg, "haproxy.cfg does not load the rendered server-state file"
    (home / "haproxy.cfg").write_text(cfg)
    return home / "haproxy.cfg"


def haproxy_cmd(sock: Path, command: str) -> str:
    """One command on HAProxy's admin socket."""
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(5)
        s.connect(str(sock))
        s.sendall(command.encode() + b"\n")
        chunks = []
        while chunk := s.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks).decode()


class StateDirs:
    """Remembers which files existed in system state directories, to remove only what appeared."""

    def __init__(self, dirs: list[Path]):
        self.before = {d: set(os.listdir(d)) if d.is_dir() else None for d in dirs}
        self.owners = {p: os.stat(p) for p in {d.parent for d in dirs} | set(dirs) if p.exists()}

    def clean(self):
        for d, before in self.before.items():
            if before is None:
                shutil.rmtree(d, ignore_errors=True)
                continue
            for name in set(os.listdir(d)) - before if d.is_dir() else ():
                path = d / name
                shutil.rmtree(path) if path.is_dir() and not path.is_symlink() else path.unlink(missing_ok=True)
        for path, st in self.owners.items():      # pacemakerd chowns /var/lib/pacemaker
            if path.exists():
                os.chown(path, st.st_uid, st.st_gid)
                os.chmod(path, st.st_mode & 0o7777)


# --- the cluster -----------------------------------------------------------------------------

class Drill:
    """Starts every host of a plan here; `close()` ends all of it, also after a failed start."""

    def __init__(self, cloud_init: dict[str, str], venv: Path):
        self.rendered = Rendered(cloud_init)
        self.venv = venv
        self.root = Path(tempfile.mkdtemp(prefix="congress-drill-"))
        self.procs: list[Proc] = []
        self.services: dict[str, Service] = {}      # policy engine node name -> Service
        self.cleanups: list = []        # run before the processes are ended
        self.after: list = []           # run after (system state directories, agent)
        self.vip, self.api_port = self.rendered.api_vip
        self.haproxy_sock = self.root / "haproxy-admin.sock"
        self.haproxy_log: Path | None = None
        self.ds_pidfile: Path | None = None

    # paths of a VM, mapped into this drill
    def host_dir(self, node: Node) -> Path:
        path = self.root / node.name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def localise_congress_conf(self, node: Node) -> Path:
        """The rendered congress.conf, with VM paths pointing into the drill (values only)."""
        src_path, text = node.file_named("congress.conf")
        home = self.host_dir(node)
        vm_venv = node.env.get("CONGRESS_VENV", "/opt/congress")

        def local(value: str) -> str:
            if value.startswith(vm_venv + "/"):
                return str(self.venv) + value[len(vm_venv):]
            if value in node.files:
                copy = home / "files" / value.lstrip("/")
                copy.parent.mkdir(parents=True, exist_ok=True)
                copy.write_text(node.files[value])
                return str(copy)
            if Path(value).name == "api-paste.ini":     # installed with Congress, not rendered
                return str(self.venv / "etc/congress/api-paste.ini")
            target = home / value.lstrip("/")
            target.mkdir(parents=True, exist_ok=True)    # log_dir, lock_path, state_path ...
            for path, content in node.files.items():    # what cloud-init writes there (keys/aes_key)
                if Path(path).parent == Path(value):
                    (target / Path(path).name).write_text(content)
                    (target / Path(path).name).chmod(0o600)
            return str(target)

        lines = []
        for line in text.splitlines():
            match = re.match(r"^(\s*[\w.]+\s*=\s*)(/(?:etc|var|opt|run|usr)/\S*)\s*$", line)
            lines.append(match.group(1) + local(match.group(2)) if match else line)
        conf = home / "congress.conf"
        conf.write_text("\n".join(lines) + "\n")
        return conf

    def localise_argv(self, node: Node, command: str, conf: Path) -> list[str]:
        env = node.env
        vm_conf = env.get("CONGRESS_CONFIG", "/etc/congress/congress.conf")
        vm_venv = env.get("CONGRESS_VENV", "/opt/congress")
        argv = shlex.split(expand(command.lstrip("@-:+!"), env))
        out = []
        for arg in argv:
            arg = arg.replace(vm_conf, str(conf))
            if arg.startswith(vm_venv + "/"):
                arg = str(self.venv) + arg[len(vm_venv):]
            out.append(arg)
        return out

    def start(self):
        try:
            self.route_subnet_to_lo()
            self.start_mariadb()
            self.start_rabbitmq()
            self.sync_schema()
            self.start_congress()
        except BaseException:
            self.close()
            raise
        return self

    def start_congress(self):
        """The Congress nodes and the load balancer, on the started backing services."""
        self.start_datasource()
        self.start_policy_engines()
        self.start_haproxy()
        self.wait_ready()

    # -- backing -----------------------------------------------------------------------------
    def start_mariadb(self):
        node = self.rendered.backing_with(lambda p, c: "[mariadbd]" in c or "[mysqld]" in c)
        home = self.host_dir(node)
        cnf_path, cnf = node.file(lambda p, c: "[mariadbd]" in c or "[mysqld]" in c)
        (home / "my.cnf").write_text(cnf)
        data, sock = home / "data", home / "mysqld.sock"
        run(["mariadb-install-db", "--no-defaults", f"--datadir={data}", "--user=root",
             "--auth-root-authentication-method=normal", "--skip-test-db"])
        port = int(node.env.get("DB_PORT", 3306))
        proc = self._spawn("mariadb", ["mariadbd", f"--defaults-file={home / 'my.cnf'}", f"--datadir={data}",
                                       f"--socket={sock}", f"--port={port}", "--user=root",
                                       f"--pid-file={home / 'mysqld.pid'}", "--skip-log-bin",
                                       "--innodb-buffer-pool-size=64M", "--skip-name-resolve"], home)
        wait_for("MariaDB", lambda: port_open(node.ip, port) or (not proc.alive() and _raise(proc)), 60)
        sql_path, sql = node.file(lambda p, c: p.endswith(".sql"))
        run(["mariadb", "--no-defaults", f"--socket={sock}", "-uroot"], input=sql)

    def start_rabbitmq(self):
        url = urlsplit(ini_value(self.rendered.congress_conf, "transport_url"))
        node = next(n for n in self.rendered.role("backing") if n.ip == url.hostname)
        home = self.host_dir(node)
        for d in ("home", "mnesia", "log"):
            (home / d).mkdir(exist_ok=True)
        (home / "rabbitmq.conf").write_text(f"listeners.tcp.1 = {url.hostname}:{url.port or 5672}\n")
        (home / "enabled_plugins").write_text("[].\n")
        epmd_port = free_port()
        self.rabbit_env = {
            "HOME": str(home / "home"), "RABBITMQ_NODENAME": f"congress-drill-{os.getpid()}@localhost",
            "RABBITMQ_MNESIA_BASE": str(home / "mnesia"), "RABBITMQ_LOG_BASE": str(home / "log"),
            "RABBITMQ_CONFIG_FILE": str(home / "rabbitmq.conf"), "RABBITMQ_NODE_IP_ADDRESS": url.hostname,
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(home / "enabled_plugins"), "ERL_EPMD_PORT": str(epmd_port),
            "RABBITMQ_DIST_PORT": str(free_port()), "RABBITMQ_PID_FILE": str(home / "rabbitmq.pid"),
        }
        # Our own epmd on its own port, in the foreground, so that it ends with the drill.
        self._spawn("epmd", ["epmd", "-port", str(epmd_port), "-address", "127.0.0.1"], home)
        proc = self._spawn("rabbitmq", ["/usr/lib/rabbitmq/bin/rabbitmq-server"], home, env=self.rabbit_env)
        wait_for("RabbitMQ", lambda: port_open(url.hostname, url.port or 5672) or (not proc.alive() and _raise(proc)), 120)
        # As configure-rabbitmq.sh does, for the user, password and vhost the Congress nodes use.
        user, password = unquote(url.username), unquote(url.password)
        vhost = unquote(url.path[1:]) if len(url.path) > 1 else "/"
        ctl = ["/usr/lib/rabbitmq/bin/rabbitmqctl", "--quiet"]
        run(ctl + ["add_vhost", vhost], env=self.rabbit_env)
        run(ctl + ["add_user", user], env=self.rabbit_env, input=password + "\n")
        run(ctl + ["set_permissions", "-p", vhost, user, ".*", ".*", ".*"], env=self.rabbit_env)

    def sync_schema(self):
        node = self.rendered.role("policy_engine")[0]
        conf = self.localise_congress_conf(node)
        run([self.venv / "bin/congress-db-manage", "--config-file", conf, "upgrade", "head"])

    # -- policy engines ----------------------------------------------------------------------
    def start_policy_engine(self, node: Node) -> Service:
        """One policy engine from its rendered congress.conf and unit (a VM booting)."""
        conf = self.localise_congress_conf(node)
        _, unit = node.unit_with("congress-server")
        argv = self.localise_argv(node, unit["ExecStart"][-1], conf)
        restart = unit.get("Restart", ["no"])[-1]
        restart_s = systemd_seconds(unit.get("RestartSec", ["0.1"])[-1])
        home = self.host_dir(node)
        service = Service(lambda argv=argv, home=home, name=node.name: Proc(
            name, argv, home / "congress-server.out", cwd=home), restart, restart_s)
        service.start()
        self.services[node.name] = service
        return service

    def start_policy_engines(self):
        for node in self.rendered.role("policy_engine"):
            self.start_policy_engine(node)
            if len(self.services) == 1:
                # Deviation: the first policy engine seeds the default policies (action,
                # classification) before the others start.  Started together on an empty
                # database, they race to insert them; the loser logs "Fatal Exception: KeyError:
                # 'Policy with name action already exists'" and either exits (systemd restarts
                # it) or stays up without its API, which Restart=on-failure does not catch.
                url = self.policy_engine_urls()[node.name]
                wait_for(f"{node.name} (first policy engine)",
                         lambda url=url: http("GET", url + "/", timeout=3)[0] == 200, 240)

    def policy_engine_urls(self) -> dict[str, str]:
        out = {}
        for node in self.rendered.role("policy_engine"):
            conf = node.file_named("congress.conf")[1]
            out[node.name] = f"http://{ini_value(conf, 'bind_host')}:{ini_value(conf, 'bind_port')}"
        return out

    # -- datasource node under Pacemaker -----------------------------------------------------
    def start_datasource(self):
        nodes = self.rendered.role("datasource")
        leader_name = nodes[0].env.get("CLUSTER_LEADER") or nodes[0].name
        node = self.rendered.nodes[leader_name]
        home = self.host_dir(node)
        conf = self.localise_congress_conf(node)
        self.ensure_ocf_agent(node)

        # corosync.conf: this host alone in the nodelist, log and key in the drill.
        _, corosync_conf = node.file_named("corosync.conf")
        keyfile = re.search(r"^\s*keyfile:\s*(\S+)", corosync_conf, re.M)
        text = corosync_conf
        if keyfile:
            (home / "authkey").write_bytes(node.files[keyfile.group(1)].encode())
            os.chmod(home / "authkey", 0o400)
            text = text.replace(keyfile.group(1), str(home / "authkey"))
        text = re.sub(r"\n\s*node\s*\{[^{}]*?ring0_addr:\s*(?!%s\b)[\d.]+[^{}]*?\}" % re.escape(node.ip), "", text)
        text = re.sub(r"^\s*two_node:.*\n", "", text, flags=re.M)
        # Corosync looks for its own ring address among the interfaces' addresses, and 127.0.0.1
        # is the only one lo has: give lo this host's address for the drill (removed after), or,
        # where that is not allowed, let corosync use 127.0.0.1.
        if not self.add_loopback_address(node.ip):
            text = re.sub(r"(ring0_addr:\s*)%s\b" % re.escape(node.ip), r"\g<1>127.0.0.1", text)
        text = re.sub(r"^(\s*logfile:\s*)\S+", lambda m: m.group(1) + str(home / "corosync.log"), text, flags=re.M)
        text = re.sub(r"^(\s*to_syslog:\s*)\S+", r"\1no", text, flags=re.M)
        (home / "state").mkdir(exist_ok=True)
        text += f"\nsystem {{\n    state_dir: {home / 'state'}\n}}\n"
        (home / "corosync.conf").write_text(text)

        self.state_dirs = StateDirs(PACEMAKER_STATE + COROSYNC_STATE)
        self.after.append(self.state_dirs.clean)
        corosync = self._spawn("corosync", ["corosync", "-f", "-c", home / "corosync.conf"], home)
        wait_for("corosync", lambda: succeeds(["corosync-quorumtool", "-s"])
                 or (not corosync.alive() and _raise(corosync)), 60)
        self.pcmk_env = {"PCMK_logfile": str(home / "pacemaker.log"), "PCMK_logfacility": "none",
                         "HOME": str(home)}
        pacemaker = self._spawn("pacemaker", ["pacemakerd"], home, env=self.pcmk_env)
        self.pacemaker = pacemaker
        wait_for("a Pacemaker DC", lambda: succeeds(["crmadmin", "--dc_lookup", "--timeout", "2000"])
                 or (not pacemaker.alive() and _raise(pacemaker)), 120, interval=1)

        # The rendered crm configuration, with this drill's paths, loaded as the leader does.
        _, crm = node.file(lambda p, c: "ocf:openstack:congress-datasource" in c and "primitive" in c)
        vm_venv = node.env.get("CONGRESS_VENV", "/opt/congress")
        vm_conf = node.env.get("CONGRESS_CONFIG", "/etc/congress/congress.conf")
        crm = crm.replace(f'config="{vm_conf}"', f'config="{conf}"').replace(f'"{vm_venv}/', f'"{self.venv}/')
        crm = re.sub(r'\buser="[^"]*"', 'user="root"', crm)   # no congress user on the test machine
        (home / "datasource.crm").write_text(crm)
        self.cleanups.append(self._stop_pacemaker)
        run(["crm", "-o", "core.check_mode=relaxed", "configure", "load", "update", home / "datasource.crm"],
            env=self.pcmk_env, timeout=120)
        self.ds_pidfile = Path(os.environ.get("HA_RSCTMP", "/run/resource-agents")) / "ds-node.pid"

    def route_subnet_to_lo(self):
        # Every address of the subnet is then this machine's (a client connecting to a node's
        # address gets that address as its source, inside the subnet the grants name).
        route = ["route", "replace", "local", DRILL_CIDR, "dev", "lo", "table", "local"]
        run(["ip", *route])
        self.after.append(lambda: succeeds(["ip", "route", "del", *route[2:]]))

    def add_loopback_address(self, ip: str) -> bool:
        if f" {ip}/" in run(["ip", "-4", "addr", "show", "dev", "lo"]):
            return True
        if not succeeds(["ip", "addr", "add", f"{ip}/32", "dev", "lo"]):
            return False
        self.after.append(lambda: succeeds(["ip", "addr", "del", f"{ip}/32", "dev", "lo"]))
        return True

    def ensure_ocf_agent(self, node: Node):
        """The real agent from the openstack-congress sdist, installed by the rendered script."""
        if OCF_AGENT.exists():
            return
        script_path, script = node.file_named("install-congress-ocf-agent.sh")
        scripts = self.host_dir(node) / "scripts"
        scripts.mkdir(exist_ok=True)
        for path, content in node.files.items():
            if Path(path).parent == Path(script_path).parent:
                (scripts / Path(path).name).write_text(content)
                os.chmod(scripts / Path(path).name, 0o755)
        constraints = REPO / "cloudinit/congress-constraints.txt"
        created_dir = not OCF_AGENT.parent.exists()
        run([scripts / "install-congress-ocf-agent.sh"], timeout=300, env={
            "CONGRESS_VENV": str(self.venv), "CONGRESS_CONSTRAINTS": str(constraints),
            "OCF_AGENT_STAMP": str(self.host_dir(node) / "agent.version")})
        self.after.append(lambda: (OCF_AGENT.unlink(missing_ok=True),
                                      created_dir and shutil.rmtree(OCF_AGENT.parent, ignore_errors=True)))

    def ds_pid(self) -> int | None:
        try:
            pid = int(self.ds_pidfile.read_text().strip())
            os.kill(pid, 0)
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            return pid if b"--datasources" in cmdline else None
        except (OSError, ValueError):
            return None

    def _stop_pacemaker(self):
        pid = self.ds_pid()
        if self.pacemaker.alive():
            self.pacemaker.stop(timeout=90)      # pacemakerd stops ds-node through the agent first
        if pid and self.ds_pid() == pid:
            os.kill(pid, signal.SIGKILL)
        if self.ds_pidfile:
            self.ds_pidfile.unlink(missing_ok=True)

    # -- HAProxy -----------------------------------------------------------------------------
    def start_haproxy(self):
        node = self.rendered.role("haproxy")[0]
        home = self.host_dir(node)
        run(["haproxy", "-c", "-q", "-f", write_haproxy_cfg(node, home, self.haproxy_sock)])
        self.haproxy_log = home / "haproxy.out"
        self.haproxy = self._spawn("haproxy", ["haproxy", "-db", "-f", home / "haproxy.cfg"], home)

    def haproxy_cmd(self, command: str) -> str:
        return haproxy_cmd(self.haproxy_sock, command)

    def backend_stats(self) -> dict[str, dict]:
        """HAProxy's own view of each policy engine: status, total sessions, ..."""
        text = self.haproxy_cmd("show stat").lstrip("# ")
        rows = csv.DictReader(io.StringIO(text))
        return {r["svname"]: r for r in rows if r["svname"] not in ("FRONTEND", "BACKEND") and r["pxname"] != "congress_api"}

    # -- readiness ---------------------------------------------------------------------------
    def wait_ready(self, timeout: float = 240):
        for name, url in self.policy_engine_urls().items():
            wait_for(f"{name} at {url}", lambda url=url: http("GET", url + "/", timeout=3)[0] == 200, timeout)
        wait_for("HAProxy marking every policy engine UP",
                 lambda: all(self.backend_stats()[name]["status"] == "UP" for name in self.policy_engine_urls()), 60)
        wait_for("ds-node started by Pacemaker", self.ds_pid, 120)

    # -- the drill's figures ------------------------------------------------------------------
    def health_check_budget_s(self) -> float:
        """Longest time HAProxy may take to mark a dead server DOWN: fall checks, each up to
        inter + the check timeout (from the rendered haproxy.cfg)."""
        cfg = self.rendered.role("haproxy")[0].file_named("haproxy.cfg")[1]
        inter = systemd_seconds(re.search(r"\binter\s+(\S+)", cfg).group(1))
        fall = int(re.search(r"\bfall\s+(\d+)", cfg).group(1))
        check = re.search(r"timeout\s+check\s+(\S+)", cfg)
        timeout = systemd_seconds(check.group(1)) if check else inter
        return fall * (inter + timeout)

    def ds_recovery_budget_s(self) -> float:
        """The next monitor finds ds-node dead, then the agent's start runs: monitor interval +
        start timeout, from the rendered crm configuration."""
        crm = self.rendered.role("datasource")[0].file(lambda p, c: "ocf:openstack:congress-datasource" in c)[1]
        interval = re.search(r"op\s+monitor\s+[^\n]*?interval=(\S+?)s?\b", crm).group(1)
        start = re.search(r"op\s+start\s+[^\n]*?timeout=(\S+?)s?\b", crm)
        return float(interval) + (float(start.group(1)) if start else 20.0)

    def sync_budget_s(self) -> float:
        """A new policy (and with it its rules) reaches every policy engine within one sync period."""
        return int(ini_value(self.rendered.congress_conf, "datasource_sync_period") or CONGRESS_DEFAULT_SYNC_S)

    def create_policy(self, name: str, rule: str, client: str = CLIENTS[0]) -> dict:
        status, body = http("POST", self.vip_url() + "/v1/policies", {"name": name}, source=client)
        assert status == 201, (status, body)
        status, body = http("POST", self.vip_url() + f"/v1/policies/{name}/rules", {"rule": rule}, source=client)
        assert status == 201, (status, body)
        return {"policy": name, "rule": rule}

    def rules_on(self, base_url: str, policy: str, client: str | None = None) -> set[str]:
        status, body = http("GET", base_url + f"/v1/policies/{policy}/rules", source=client, timeout=5)
        if status != 200:
            return set()
        return {re.sub(r"\s+", "", r["rule"]) for r in body["results"]}

    def replication_lag(self, policy: str, rule: str, timeout: float) -> dict[str, float]:
        """Seconds until every running policy engine serves `rule` of `policy` directly."""
        started, lag = time.monotonic(), {}
        want = re.sub(r"\s+", "", rule)
        pending = {n: u for n, u in self.policy_engine_urls().items() if self.services[n].enabled}
        while pending and time.monotonic() - started < timeout:
            for name, url in list(pending.items()):
                try:
                    if want in self.rules_on(url, policy):
                        lag[name] = time.monotonic() - started
                        del pending[name]
                except OSError:
                    pass
            time.sleep(0.2)
        assert not pending, f"{sorted(pending)} did not serve {policy}: {rule} within {timeout:.0f} s"
        return lag

    def served_by(self, client: str) -> str:
        """The policy engine HAProxy sends `client` to, from HAProxy's own log of that request."""
        marker = f"/drill-probe-{time.monotonic_ns()}"
        http("GET", self.vip_url() + marker, source=client)
        def logged():
            for line in reversed(self.haproxy_log.read_text(errors="replace").splitlines()):
                if marker in line:
                    return re.search(r"congress_policy_engines/(\S+)", line).group(1)
        return wait_for("HAProxy's log line of the probe", logged, 10, interval=0.05)

    def kill_policy_engine_behind(self, client: str, timeout: float = 60) -> dict:
        """Crash the policy engine `client` is stuck to; time until HAProxy has it DOWN and the
        client is served by a live node, counting failed requests through the VIP meanwhile."""
        victim = self.served_by(client)
        started = time.monotonic()
        self.services[victim].crash_host()
        failures, answered, moved_at, down_at = [], 0, None, None
        while time.monotonic() - started < timeout and (moved_at is None or down_at is None):
            try:
                status, _ = http("GET", self.vip_url() + "/", source=client, timeout=5)
                answered += 1
                if status != 200:
                    failures.append(status)
            except OSError as exc:
                failures.append(repr(exc))
            if moved_at is None and self.served_by(client) != victim:
                moved_at = time.monotonic() - started
            if down_at is None and self.backend_stats()[victim]["status"].startswith("DOWN"):
                down_at = time.monotonic() - started
            time.sleep(0.1)
        return {"victim": victim, "moved_s": moved_at, "down_s": down_at, "failures": failures,
                "answered": answered, "now_served_by": self.served_by(client)}

    def restart_policy_engine(self, name: str, timeout: float = 180):
        """The VM comes back: systemd starts the unit again."""
        self.services[name].start()
        url = self.policy_engine_urls()[name]
        wait_for(f"{name} answering again", lambda: http("GET", url + "/", timeout=3)[0] == 200, timeout)
        wait_for(f"HAProxy marking {name} UP", lambda: self.backend_stats()[name]["status"] == "UP", 60)

    def kill_datasource_node(self, timeout: float = 120) -> dict:
        """SIGKILL the datasource node Pacemaker runs; time until Pacemaker has a new one running."""
        old = self.ds_pid()
        assert old, "ds-node is not running"
        started = time.monotonic()
        os.kill(old, signal.SIGKILL)
        new = wait_for("Pacemaker restarting ds-node", lambda: (pid := self.ds_pid()) and pid != old and pid, timeout,
                       interval=0.1)
        return {"old_pid": old, "new_pid": new, "recovered_s": time.monotonic() - started}

    def crm_status(self) -> str:
        return run(["crm_mon", "-1", "-r", "-f"], env=self.pcmk_env, timeout=30)

    def vip_url(self) -> str:
        return f"http://{self.vip}:{self.api_port}"

    # -- lifecycle ---------------------------------------------------------------------------
    def _spawn(self, name, argv, home, env=None) -> Proc:
        proc = Proc(name, argv, home / f"{name}.out", env=env, cwd=home).start()
        self.procs.append(proc)
        return proc

    def close(self):
        for service in self.services.values():
            service.stop()
        run_cleanups(self.cleanups)
        for proc in reversed(self.procs):
            proc.stop(timeout=30)
        self.procs.clear()
        run_cleanups(self.after)
        if not os.environ.get("CONGRESS_DRILL_KEEP"):
            shutil.rmtree(self.root, ignore_errors=True)


class ProcessExited(RuntimeError):
    pass


def _raise(proc: Proc):
    raise ProcessExited(f"{proc.name} exited ({proc.popen.returncode}):\n{proc.tail()}")
