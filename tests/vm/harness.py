"""Boot every VM of a plan as a Debian 12 system container, from the plan's own cloud-init.

Each planned VM is a systemd-nspawn container with systemd as PID 1, booted from one shared,
read-only base rootfs (image.py) through an overlay of its own.  cloud-init's NoCloud
datasource reads a seed holding the VM's user_data byte for byte as the plan rendered it (the
root module's sensitive `cloud_init` output), a meta-data (instance-id, local-hostname) and a
network-config with the VM's fixed address, the subnet's gateway and DNS.  The role's own
`packages:` and install-congress.sh install everything, as on a cloud VM: apt goes through a
caching relay and pip to a wheelhouse, both served by this process on the bridge.  With
image="baked" each VM boots its role's baked layer (image.baked_layer) between the base rootfs and
its own overlay: what an operator's pre-built image holds, so those steps find everything installed.

Isolation: one "sandbox" process made by unshare(1) owns a private network, mount and PID
namespace.  The bridge (the subnet's gateway address), every VM's network namespace (its
interface is `host0`), the overlays and the containers all live inside it, and the sandbox is
killed with this process (PR_SET_PDEATHSIG), which ends everything in it.  Each container runs
in a cgroup of its own (created here, removed on close).  close() also runs on SIGTERM; after a
SIGKILL of this process only empty cgroup directories and the work directory can stay, and the
next start() removes such cgroups (those whose work directory is gone).  One thing is changed
for good: the kernel's inotify limits are raised (INOTIFY_LIMITS), as many VMs need.

What a container cannot show, so these tests do not either:
  - the kernel: every VM shares this machine's kernel (no kernel boot, modules, sysctls
    outside the network namespace, no initramfs, no real reboot: a reboot restarts the
    container with the same disk);
  - disks: no block devices, partitions, growpart/resizefs, swap or fstab mounts; and a power
    cut (power_cut(): every process of the VM killed at once) loses no write the VM had not
    synced, since the page cache is this machine's;
  - DHCP and the metadata service: the address comes from the seed's network-config and the
    instance data from NoCloud, not from Neutron's DHCP or Nova's metadata API (so no
    OpenStack instance UUID, no vendor data, no config drive);
  - the cloud's network: no security groups, no port security / allowed_address_pairs (the
    bridge lets the VRRP VIP move freely), no floating IPs, no Octavia, no Nova API (fencing
    with fence_openstack cannot run), no server groups or anti-affinity;
  - time and clocks: containers share the host clock (no NTP/chrony step at boot).
"""

from __future__ import annotations

import atexit
import ctypes
import ipaddress
import json
import os
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from api_client import http

from image import bake_spec, base_rootfs, baked_layer
from relays import AptRelay, FileServer, wheelhouse

CLONE_NEWNET = 0x40000000
PR_SET_PDEATHSIG = 1
_libc = ctypes.CDLL(None, use_errno=True)
CGROUP_ROOT = Path("/sys/fs/cgroup")
CGROUP_TREES = ["systemd", "unified"]
APT_PORT = 3142
WHEEL_PORT = 8141
# How the tests and bench/boot.py plan an example for the VMs: the subnet is the sandbox bridge's
# and Congress installs from the wheelhouse served there (the example's network ids stay dummies).
TEST_CIDR = "198.18.10.0/24"
TEST_GATEWAY = "198.18.10.1"
PLAN_OVERRIDES = {
    "network": {
        "cidr": TEST_CIDR,
        "existing_network_id": "00000000-0000-4000-8000-00000000e701",
        "existing_subnet_id": "00000000-0000-4000-8000-00000000e702",
    },
    "admin_cidrs": [TEST_CIDR],
    "congress_install": {"source": "wheelhouse", "url": f"http://{TEST_GATEWAY}:{WHEEL_PORT}/"},
}
REBOOT = 133  # systemd-nspawn's exit code for a reboot inside the container (0 is a poweroff)
# Every container's systemd, journald and services take inotify instances, all counted
# against root of this one kernel: Linux's default of 128 runs out at about 20 booted VMs (systemd
# then stalls with "Failed to create inotify object: Too many open files").
INOTIFY_LIMITS = {"max_user_instances": 8192, "max_user_watches": 524288}


def _die_with_parent():
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def _enter_net(pid: int):
    """Move the calling thread into the network namespace of `pid` (sockets it makes stay there)."""
    with open(f"/proc/{pid}/ns/net") as ns:
        if _libc.setns(ns.fileno(), CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), "setns")


class Sandbox:
    """The private network + mount + PID namespace everything runs in."""

    def __init__(self, log: Path):
        with open(log, "ab") as out:
            self.proc = subprocess.Popen(
                ["unshare", "--net", "--mount", "--pid", "--fork", "--mount-proc", "--propagation", "private",
                 "--kill-child", "sleep", "infinity"],
                preexec_fn=_die_with_parent, stdin=subprocess.DEVNULL, stdout=out, stderr=out)
        self.pid = self._child_pid()

    def _child_pid(self) -> int:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text().split()
            if children:
                pid = int(children[0])
                if os.readlink(f"/proc/{pid}/ns/net") != os.readlink("/proc/self/ns/net"):
                    return pid
            time.sleep(0.05)
        raise RuntimeError("the sandbox namespace did not come up")

    def argv(self, *argv) -> list[str]:
        return ["nsenter", f"--target={self.pid}", "--net", "--mount", "--pid", "--", *map(str, argv)]

    def run(self, *argv, check=True, timeout=60, input=None) -> subprocess.CompletedProcess:
        proc = subprocess.run(self.argv(*argv), capture_output=True, text=True, timeout=timeout,
                              input=input if input is not None else "")
        if check and proc.returncode != 0:
            raise RuntimeError(f"{' '.join(map(str, argv))} failed ({proc.returncode}): {proc.stderr.strip()}")
        return proc

    def in_net(self, fn, *args):
        """fn(*args) run in a thread inside the sandbox's network namespace (sockets it makes stay there)."""
        result: dict = {}

        def target():
            try:
                _enter_net(self.pid)
                result["value"] = fn(*args)
            except BaseException as exc:  # handed to the caller
                result["error"] = exc

        thread = threading.Thread(target=target, daemon=True)
        thread.start()
        thread.join()
        if "error" in result:
            raise result["error"]
        return result["value"]

    def close(self):
        """SIGKILL of the namespace's init ends every process in it; then its namespaces go."""
        try:
            os.kill(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            self.proc.wait(timeout=30)  # unshare returns once its child is gone
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=30)


def thread_in_net(sandbox: Sandbox, fn, *args) -> threading.Thread:
    """A started daemon thread running fn(*args) inside the sandbox's network namespace."""
    def target():
        _enter_net(sandbox.pid)
        fn(*args)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread


@dataclass
class VM:
    name: str
    role: str
    ip: str
    user_data: str
    index: int
    dir: Path
    proc: subprocess.Popen | None = None
    boots: int = 0
    exits: list = field(default_factory=list)
    wanted: bool = True  # False after a poweroff: the supervisor leaves it down
    instance: int = 0    # how many times Terraform replaced it (day 2): a new instance-id each time
    image: str = ""      # the overlay lowerdir its disks are made from (its Glance image)

    @property
    def root(self) -> Path:
        return self.dir / "root"

    @property
    def netns(self) -> str:
        return f"vm{self.index}"

    @property
    def log(self) -> Path:
        return self.dir / "console.log"


class Cluster:
    """Every VM of one plan booted in one sandbox.  start() returns at once; wait_* wait."""

    def __init__(self, outputs: dict, workdir: Path | None = None, log=print, image: str = "plain"):
        """outputs: the planned root module outputs (cloud_init, nodes, api_vip, api_url).
        image: "plain" (the base rootfs: each VM installs its role at boot, as from a stock cloud
        image) or "baked" (each VM's role already installed: image.baked_layer of its user_data)."""
        if image not in ("plain", "baked"):
            raise ValueError(f"image must be plain or baked, not {image!r}")
        self.log = log
        self.image = image
        self.net = ipaddress.ip_network(TEST_CIDR)
        self.gateway = TEST_GATEWAY
        self.api_vip = outputs["api_vip"]
        self.api_url = outputs["api_url"].rstrip("/")
        cloud_init, nodes = outputs["cloud_init"], outputs["nodes"]
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="congress-tf-vm-"))
        self.session = self.workdir.name
        roles = {name: role for role, members in nodes.items() for name in members}
        ips = {name: ip for members in nodes.values() for name, ip in members.items()}
        self.vms = {name: VM(name, roles[name], ips[name], cloud_init[name], i, self.workdir / name)
                    for i, name in enumerate(sorted(cloud_init))}
        self.boot_times: dict[str, float] = {}
        self.removed: list[VM] = []  # day 2: VMs Terraform destroyed
        self.sandbox: Sandbox | None = None
        self.servers = []
        self.lock = threading.Lock()
        self.closing = False
        self.started_at = 0.0

    # --- bring-up ------------------------------------------------------------------------
    def start(self) -> "Cluster":
        _remove_stale_cgroups(self.workdir.parent)
        _raise_inotify_limits()
        base = base_rootfs(self.log)
        wheels = wheelhouse(self.log)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.sandbox = Sandbox(self.workdir / "sandbox.log")
        sb = self.sandbox
        prefix = self.net.prefixlen
        sb.run("ip", "link", "set", "lo", "up")
        # The VMs' netns files live on a tmpfs of the sandbox's own, never on this machine's /run.
        sb.run("mkdir", "-p", "/run/netns")
        sb.run("mount", "-t", "tmpfs", "-o", "mode=0755,size=1m", "congress-tf-vm", "/run/netns")
        sb.run("ip", "link", "add", "br0", "type", "bridge")
        sb.run("ip", "addr", "add", f"{self.gateway}/{prefix}", "dev", "br0")
        sb.run("ip", "link", "set", "br0", "up")
        # Nothing answers DNS on the bridge: a VM's lookup gets an ICMP port unreachable back and
        # fails at once, as a cloud's DNS answers at once.  Unlimited, or the kernel's default of
        # one such ICMP per second per VM leaves lookups to time out (5 s each; MariaDB looks up
        # every client's address).
        sb.run("sysctl", "-qw", "net.ipv4.icmp_ratelimit=0")
        self.apt = sb.in_net(AptRelay, (self.gateway, APT_PORT))
        self.files = sb.in_net(FileServer, (self.gateway, WHEEL_PORT), wheels)
        for server in (self.apt.server, self.files.server):
            self.servers.append(server)
            threading.Thread(target=server.serve_forever, daemon=True).start()
        for vm in self.vms.values():
            self._prepare(vm, base)
        self.started_at = time.time()  # the containers share this clock: cloud-init's timestamps compare
        for vm in self.vms.values():
            self._launch(vm)
        return self

    def _prepare(self, vm: VM, base: Path):
        self.base = base  # day-2 VMs (add_vm, replace_vm) boot from it too
        self._disk(vm, base)
        sb = self.sandbox
        sb.run("ip", "netns", "add", vm.netns)
        veth = f"ve{vm.index}"
        sb.run("ip", "link", "add", veth, "type", "veth", "peer", "name", "host0", "netns", vm.netns)
        sb.run("ip", "link", "set", veth, "master", "br0", "up")

    def _disk(self, vm: VM, base: Path):
        """A fresh disk: the base image under an empty overlay, with the NoCloud seed of vm.user_data."""
        for sub in ("upper", "work", "root"):
            (vm.dir / sub).mkdir(parents=True, exist_ok=True)
        upper = vm.dir / "upper"
        seed = upper / "var/lib/cloud/seed/nocloud"
        seed.mkdir(parents=True)
        (seed / "user-data").write_text(vm.user_data)  # byte for byte as planned
        instance_id = f"i-{self.session}-{vm.name}" + (f"-{vm.instance}" if vm.instance else "")
        (seed / "meta-data").write_text(yaml.safe_dump({"instance-id": instance_id,
                                                        "local-hostname": vm.name}))
        (seed / "network-config").write_text(yaml.safe_dump({"version": 1, "config": [{
            "type": "physical", "name": "host0",
            "subnets": [{"type": "static", "address": f"{vm.ip}/{self.net.prefixlen}",
                         "gateway": self.gateway, "dns_nameservers": [self.gateway]}]}]}))
        apt_conf = upper / "etc/apt/apt.conf.d/01congress-tf-vm-proxy"
        apt_conf.parent.mkdir(parents=True)
        apt_conf.write_text(f'Acquire::http::Proxy "http://{self.gateway}:{APT_PORT}/";\n')
        # Nothing answers DNS on the bridge: lookups fail at once instead of timing out.
        (upper / "etc/resolv.conf").write_text(f"nameserver {self.gateway}\n")
        # A replaced VM boots the image it had (its image_id did not change): in baked mode the layer
        # of its first user_data, whose install steps then upgrade what a new user_data pins.
        if not vm.image:
            vm.image = str(base)
            if self.image == "baked":
                vm.image = f"{baked_layer(bake_spec(vm.user_data), wheelhouse(self.log), self.log)}:{base}"
        self.sandbox.run("mount", "-t", "overlay", "overlay", "-o",
                         f"lowerdir={vm.image},upperdir={upper},workdir={vm.dir / 'work'}", vm.root)

    def cgroup(self, vm: VM, tree: str) -> Path:
        return CGROUP_ROOT / tree / self.session / vm.name

    def _launch(self, vm: VM):
        cgroups = " ".join(str(self.cgroup(vm, t)) for t in CGROUP_TREES)
        nspawn = ["systemd-nspawn", "--quiet", "--boot", "--register=no", "--keep-unit",
                  f"--machine={vm.name}", f"--directory={vm.root}",
                  f"--network-namespace-path=/run/netns/{vm.netns}", "--capability=CAP_NET_ADMIN",
                  "--resolv-conf=off", "--timezone=off", "--link-journal=no", "--console=read-only"]
        # One cgroup per container: this shell moves itself there, then becomes nspawn.
        script = ('for cg in ' + cgroups + '; do mkdir -p "$cg" && echo $$ > "$cg/cgroup.procs"; done; '
                  'exec "$@"')
        # /proc/sys/net writable, as on a VM (nspawn keeps it read-only with --network-namespace-path):
        # it is the VM's own network namespace.
        env = {**os.environ, "SYSTEMD_NSPAWN_API_VFS_WRITABLE": "network"}
        with open(vm.log, "ab") as out:
            vm.proc = subprocess.Popen(self.sandbox.argv("sh", "-c", script, "vm", *nspawn), env=env,
                                       stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
        vm.boots += 1
        vm.wanted = True
        threading.Thread(target=self._supervise, args=(vm, vm.proc), daemon=True).start()

    def _supervise(self, vm: VM, proc: subprocess.Popen):
        """What systemd-nspawn@.service does: a reboot inside starts the container again."""
        code = proc.wait()
        vm.exits.append(code)
        if self.closing:
            return
        if code == REBOOT:
            self._launch(vm)
        else:
            vm.wanted = False

    def poweroff(self, vm: VM, timeout: float = 120):
        """`systemctl poweroff` inside the VM; returns once its container has stopped."""
        self.exec(vm, "systemctl poweroff")
        proc = vm.proc
        proc.wait(timeout=timeout)
        deadline = time.monotonic() + 10
        while vm.wanted and time.monotonic() < deadline:  # the supervisor saw the exit
            time.sleep(0.1)

    def boot(self, vm: VM):
        """Start a powered-off VM again (same disk, same network namespace)."""
        if vm.proc is not None and vm.proc.poll() is None:
            raise RuntimeError(f"{vm.name} is running")
        self._launch(vm)

    # --- day 2: what Terraform's create, replace and destroy do to one VM -------------------------
    def add_vm(self, name: str, role: str, ip: str, user_data: str) -> VM:
        """A new VM on a new port, booted from its user_data (returns at once)."""
        index = 1 + max(v.index for v in [*self.vms.values(), *self.removed])
        vm = self.vms[name] = VM(name, role, ip, user_data, index, self.workdir / name)
        self._prepare(vm, self.base)
        self._launch(vm)
        return vm

    def replace_vm(self, name: str, user_data: str) -> VM:
        """Nova's delete + create on the same port: the VM powered off hard, its disk gone, a new
        instance (new instance-id, empty disk over its image) booted from user_data."""
        vm = self.vms[name]
        self.power_cut(vm)
        self.sandbox.run("umount", vm.root)
        for sub in ("upper", "work"):
            old = vm.dir / f"{sub}.{vm.instance}"
            (vm.dir / sub).rename(old)
            delete_in_background(old)
        vm.user_data, vm.instance = user_data, vm.instance + 1
        self._disk(vm, self.base)
        self._launch(vm)
        return vm

    def remove_vm(self, name: str):
        """Nova's delete: the VM powered off hard and gone from the cluster."""
        vm = self.vms.pop(name)
        self.power_cut(vm)
        self.removed.append(vm)

    def power_cut(self, vm: VM, timeout: float = 60):
        """Hard power off (cgroup.kill: every process of the container at once, as a hypervisor's
        destroy or a host's crash); boot() starts it again from the same disk."""
        if vm.proc is None or vm.proc.poll() is not None:
            return
        (self.cgroup(vm, "unified") / "cgroup.kill").write_text("1")
        vm.proc.wait(timeout=timeout)
        deadline = time.monotonic() + 10
        while vm.wanted and time.monotonic() < deadline:  # the supervisor saw the exit
            time.sleep(0.1)
        # Its addresses go with it (a VIP it held too): nothing answers there any more, not even
        # this namespace's kernel (ARP, TCP resets); its own network configuration sets them again at boot.
        self.sandbox.run("ip", "-n", vm.netns, "addr", "flush", "dev", "host0")

    # --- inside a VM -----------------------------------------------------------------------
    def init_pid(self, vm: VM) -> int | None:
        """Host pid of the VM's PID 1 (systemd), or None when it is not running."""
        if vm.proc is None or vm.proc.poll() is not None:
            return None
        todo = [vm.proc.pid]
        while todo:
            pid = todo.pop()
            try:
                nspid = _status(pid, "NSpid").split()
                children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
            except OSError:
                continue
            if len(nspid) == 3 and nspid[-1] == "1":
                return pid
            todo.extend(int(c) for c in children)
        return None

    def exec(self, vm: VM | str, command: str, timeout: float = 60, check: bool = False) -> subprocess.CompletedProcess:
        """Run a shell command in the VM (all of its namespaces, as root)."""
        vm = self.vms[vm] if isinstance(vm, str) else vm
        pid = self.init_pid(vm)
        if pid is None:
            raise RuntimeError(f"{vm.name} is not running")
        argv = ["nsenter", f"--target={pid}", "--all", "--", "/usr/bin/env", "-i",
                "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8",
                "/bin/bash", "-c", command]
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
        if check and proc.returncode != 0:
            raise RuntimeError(f"{vm.name}: {command!r} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
        return proc

    def cloud_init_result(self, vm: VM) -> dict | None:
        """/run/cloud-init/result.json once cloud-init has finished, else None."""
        try:
            proc = self.exec(vm, "cat /run/cloud-init/result.json", timeout=20)
        except (RuntimeError, subprocess.TimeoutExpired):
            return None
        return json.loads(proc.stdout) if proc.returncode == 0 and proc.stdout.strip() else None

    def cloud_init_finished_at(self, vm: VM) -> float:
        """When cloud-init's last stage finished (epoch seconds, from /run/cloud-init/status.json)."""
        status = json.loads(self.exec(vm, "cat /run/cloud-init/status.json", check=True).stdout)
        return float(status["v1"]["modules-final"]["finished"])

    def wait_cloud_init(self, timeout: float, vms: list[VM] | None = None) -> dict[str, float]:
        """Seconds from start() until each VM's cloud-init finished; VMs not done in time are left out."""
        done: dict[str, float] = {}
        todo = list(vms or self.vms.values())
        deadline = time.monotonic() + timeout
        while todo and time.monotonic() < deadline:
            for vm in list(todo):
                if self.cloud_init_result(vm) is not None:
                    done[vm.name] = self.cloud_init_finished_at(vm) - self.started_at
                    self.log(f"{vm.name}: cloud-init finished {done[vm.name]:.0f} s after start")
                    todo.remove(vm)
            time.sleep(2)
        self.boot_times.update(done)
        return done

    def http(self, method: str, url: str, body: dict | None = None, timeout: float = 10):
        """(status, parsed JSON or text) of a request made from the bridge (the sandbox's network)."""
        return self.in_net(lambda: http(method, url, body, timeout=timeout))

    def wait_api(self, timeout: float) -> float:
        """Seconds from start() until GET / through the API VIP answers 200."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if self.http("GET", self.api_url + "/", timeout=3)[0] == 200:
                    return time.time() - self.started_at
            except OSError:
                pass
            time.sleep(0.5)
        raise TimeoutError(f"GET {self.api_url}/ did not answer 200 within {timeout:.0f} s")

    def in_net(self, fn, *args):
        return self.sandbox.in_net(fn, *args)

    # --- teardown ----------------------------------------------------------------------------
    def close(self):
        self.closing = True
        for server in self.servers:
            server.shutdown()
            server.server_close()
        if self.sandbox:
            self.sandbox.close()  # ends every container, its netns, mounts and the bridge
        for vm in self.vms.values():
            if vm.proc and vm.proc.poll() is None:
                vm.proc.kill()
                vm.proc.wait(timeout=30)
        for tree in CGROUP_TREES:
            _remove_cgroup(CGROUP_ROOT / tree / self.session)
        if not os.environ.get("CONGRESS_TF_VM_KEEP"):
            delete_in_background(self.workdir)


_deletions: list[subprocess.Popen] = []


def delete_in_background(path: Path):
    """rm -rf of a closed cluster's work directory (its VMs' overlays: up to a gigabyte and tens of
    thousands of files each), left running while the caller goes on (the next cluster boots
    meanwhile); wait_for_deletions() waits for them, at the latest when this process exits.  A
    process of its own, not shutil.rmtree in a thread: it takes no share of this interpreter's
    lock from the threads counting requests."""
    _deletions.append(subprocess.Popen(["rm", "-rf", "--one-file-system", "--", str(path)],
                                       stdin=subprocess.DEVNULL))


@atexit.register
def wait_for_deletions():
    while _deletions:
        _deletions.pop().wait()


def _status(pid: int, key: str) -> str:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return line.split(":", 1)[1].strip()
    return ""


def _raise_inotify_limits():
    """At least INOTIFY_LIMITS (kernel-wide sysctls: they are raised, never lowered, and stay)."""
    for key, wanted in INOTIFY_LIMITS.items():
        path = Path("/proc/sys/fs/inotify") / key
        if int(path.read_text()) < wanted:
            path.write_text(f"{wanted}\n")


def _remove_stale_cgroups(workdirs: Path):
    """Cgroups of earlier clusters whose work directory is gone (their process was SIGKILLed)."""
    for tree in CGROUP_TREES:
        for stale in (CGROUP_ROOT / tree).glob("congress-tf-vm-*"):
            if not (workdirs / stale.name).exists():
                _remove_cgroup(stale, timeout=1)


def _remove_cgroup(path: Path, timeout: float = 30):
    """rmdir a cgroup tree bottom-up once its processes are gone."""
    if not path.exists():
        return
    deadline = time.monotonic() + timeout
    while True:
        leftovers = []
        for sub in sorted((p for p in path.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)) + [path]:
            try:
                sub.rmdir()
            except OSError:
                leftovers.append(sub)
        if not leftovers or time.monotonic() > deadline:
            break
        time.sleep(0.5)
