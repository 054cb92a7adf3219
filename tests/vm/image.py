"""The shared, read-only Debian 12 base rootfs every test VM boots from (built by mmdebstrap).

It is what a Debian cloud image brings before cloud-init runs: systemd as PID 1, cloud-init
(NoCloud only), the network tools, python3, openssh-server and an en_US.UTF-8 locale.  Nothing
of a role is in it: each VM's own `packages:` and install-congress.sh install those at boot.
Built once and kept in CACHE by the hash of everything that goes into it.

baked_layer() is the other kind of image an operator boots for speed: a role's `packages:` and
Congress (install-congress.sh, the OCF agent) already installed, as `apt-get install` and the
role's own scripts leave them (services enabled as Debian enables them), then cloud-init's
package and pip steps find nothing to do.  It is an overlay layer on the base rootfs, kept by
the hash of what it bakes (bake_spec(): read from a VM's own user_data).
"""

from __future__ import annotations

import base64
import contextlib
import ctypes
import fcntl
import hashlib
import inspect
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import yaml

CACHE = Path(os.environ.get("CONGRESS_TF_VM_CACHE", "/var/cache/congress-tf-vm"))
SUITE = "bookworm"
MIRRORS = [
    "deb http://deb.debian.org/debian bookworm main",
    "deb http://deb.debian.org/debian bookworm-updates main",
    "deb http://deb.debian.org/debian-security bookworm-security main",
]
PACKAGES = sorted([
    "systemd", "systemd-sysv", "dbus", "cloud-init", "iproute2", "ifupdown", "python3", "openssh-server",
    "locales", "ca-certificates", "netbase", "procps", "curl", "sudo",
])
# Run inside the new rootfs (mmdebstrap's customize hook, "$1" = the rootfs).
CUSTOMIZE = [
    'echo "en_US.UTF-8 UTF-8" > "$1/etc/locale.gen" && chroot "$1" locale-gen >/dev/null',
    'echo "LANG=en_US.UTF-8" > "$1/etc/default/locale"',
    # NoCloud only: the seed lies in /var/lib/cloud/seed/nocloud of each VM.
    'printf "datasource_list: [ NoCloud, None ]\\n" > "$1/etc/cloud/cloud.cfg.d/90_congress_tf_vm.cfg"',
    # No machine id baked in: each VM gets its own on first boot, as a cloud image does.
    ': > "$1/etc/machine-id"; rm -f "$1/var/lib/dbus/machine-id"',
    'rm -f "$1"/etc/ssh/ssh_host_*',
]


def recipe() -> dict:
    return {"suite": SUITE, "mirrors": MIRRORS, "packages": PACKAGES, "customize": CUSTOMIZE}


def recipe_hash() -> str:
    return hashlib.sha256(json.dumps(recipe(), sort_keys=True).encode()).hexdigest()[:16]


def base_rootfs(log=print) -> Path:
    """The cached base rootfs, built first if missing (one builder at a time, under a lock)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    target = CACHE / f"base-{recipe_hash()}"
    with open(CACHE / "build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (target / ".complete").exists():
            return target
        partial = CACHE / f"{target.name}.partial"
        shutil.rmtree(partial, ignore_errors=True)
        started = time.monotonic()
        log(f"building base rootfs {target} (mmdebstrap {SUITE})")
        cmd = ["mmdebstrap", "--quiet", "--variant=minbase", "--mode=root", "--format=directory",
               f"--include={','.join(PACKAGES)}", "--aptopt=Acquire::Retries \"3\""]
        cmd += [f"--customize-hook={hook}" for hook in CUSTOMIZE]
        cmd += [SUITE, str(partial), *MIRRORS]
        proc = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL)
        if proc.returncode != 0:
            shutil.rmtree(partial, ignore_errors=True)
            raise RuntimeError(f"mmdebstrap failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
        (partial / ".complete").write_text(json.dumps(recipe(), indent=1))
        partial.rename(target)
        log(f"base rootfs built in {time.monotonic() - started:.0f} s")
        for old in CACHE.glob("base-*"):
            if old != target and not old.name.endswith(".partial"):
                shutil.rmtree(old, ignore_errors=True)
        return target


# --- baked images ---------------------------------------------------------------------------
INSTALL_STEP = "install-congress"  # runcmd steps whose script name starts so install software only
SOURCED = re.compile(r'^\. "\$\(dirname "\$0"\)/([\w.-]+)"', re.M)  # the role scripts' `. "$(dirname "$0")/lib.sh"`
BAKE_DIR = "/tmp/congress-tf-bake"  # inside the layer while baking, removed after
UNUSED_DAYS = 3
# cloud-init's own apt-get options for `packages:` (cc_package_update_upgrade_install, Debian 12).
APT_OPTIONS = ["--option=Dpkg::Options::=--force-confold", "--option=Dpkg::options::=--force-unsafe-io",
               "--assume-yes", "--quiet"]


@dataclass(frozen=True)
class Bake:
    """What a role installs at first boot, taken from its user_data."""
    packages: tuple[str, ...]
    steps: tuple[tuple[str, ...], ...]  # runcmd argv of the install-congress* scripts, as the role runs them
    files: tuple[tuple[str, str], ...]  # (path, content) of the write_files those steps read


def bake_spec(user_data: str) -> Bake:
    config = yaml.safe_load(user_data)
    steps = tuple(tuple(map(str, cmd)) for cmd in config.get("runcmd") or []
                  if isinstance(cmd, list) and Path(str(cmd[-1])).name.startswith(INSTALL_STEP))
    written = {entry["path"]: _content(entry) for entry in config.get("write_files") or []}
    read = {cmd[-1] for cmd in steps}
    read |= {arg.split("=", 1)[1] for cmd in steps for arg in cmd if arg.startswith(("CONGRESS_CONSTRAINTS=", "CONGRESS_SHIM="))}
    for script in [cmd[-1] for cmd in steps]:  # and the library each script sources from beside it
        read |= {str(Path(script).parent / lib) for lib in SOURCED.findall(written.get(script, ""))}
    return Bake(tuple(config.get("packages") or []), steps,
                tuple(sorted((path, content) for path, content in written.items() if path in read)))


def _content(entry: dict) -> str:
    content = entry.get("content", "")
    return base64.b64decode(content).decode() if entry.get("encoding") in ("b64", "base64") else content


def baked_layer(spec: Bake, wheelhouse: Path, log=print) -> Path:
    """The cached overlay layer (an upper directory over base_rootfs()) holding spec installed."""
    base = base_rootfs(log)
    recipe = {"base": base.name, "wheelhouse": wheelhouse.name, "bake": BAKE_CODE, **asdict(spec)}
    digest = hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:16]
    target = CACHE / f"baked-{digest}"
    with open(CACHE / f"{target.name}.lock", "w") as lock:  # not build.lock: the base rootfs stays free
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (target / ".complete").exists():
            os.utime(target / ".complete")  # last used: see _remove_stale_layers
            return target / "upper"
        partial = CACHE / f"{target.name}.partial"
        shutil.rmtree(partial, ignore_errors=True)
        started = time.monotonic()
        log(f"baking {target.name}: {' '.join(spec.packages)}; {len(spec.steps)} install steps")
        try:
            _bake(spec, base, wheelhouse, partial)
        except BaseException:
            shutil.rmtree(partial, ignore_errors=True)
            raise
        for sub in ("work", "stage"):
            shutil.rmtree(partial / sub, ignore_errors=True)
        (partial / "root").rmdir()
        (partial / ".complete").write_text(json.dumps(recipe, indent=1))
        partial.rename(target)
        log(f"{target.name} baked in {time.monotonic() - started:.0f} s")
        _remove_stale_layers(recipe)
        return target / "upper"


def _remove_stale_layers(recipe: dict):
    """Layers baked over another base rootfs or by another recipe (never used again), and those
    unused for UNUSED_DAYS (a role's packages or install scripts changed since: up to 1 GB each)."""
    for layer in CACHE.glob("baked-*"):
        try:
            made = json.loads((layer / ".complete").read_text())
            idle_s = time.time() - (layer / ".complete").stat().st_mtime
        except (OSError, ValueError):
            continue  # being baked (.partial) or not finished
        if (made.get("base"), made.get("bake")) != (recipe["base"], recipe["bake"]) or idle_s > UNUSED_DAYS * 86400:
            shutil.rmtree(layer, ignore_errors=True)
            (CACHE / f"{layer.name}.lock").unlink(missing_ok=True)


def _die_with_parent():
    ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG: no bake outlives this process


def _bake(spec: Bake, base: Path, wheelhouse: Path, partial: Path):
    """Install spec in an overlay over base, in a mount namespace of its own (chroot, host network).

    apt goes through an AptRelay on 127.0.0.1 (the same .deb cache the VMs use); no service starts
    (policy-rc.d), and the relay settings, the wheelhouse and the step files are gone afterwards.
    apt's package lists and cache stay, as in an image built from an updated system: cloud-init's
    apt-get update at boot then finds the indexes current unless the mirror changed since."""
    from relays import AptRelay  # relays imports this module

    for sub in ("upper", "work", "root", "stage"):
        (partial / sub).mkdir(parents=True)
    for path, content in spec.files:  # byte for byte as cloud-init will write them
        staged = partial / "stage" / path.lstrip("/")
        staged.parent.mkdir(parents=True, exist_ok=True)
        staged.write_text(content)
    relay = AptRelay(("127.0.0.1", 0))
    threading.Thread(target=relay.server.serve_forever, daemon=True).start()
    proxy = f"http://127.0.0.1:{relay.server.server_address[1]}/"
    bake_dir = f"{BAKE_DIR}/wheelhouse"
    steps = [[f"CONGRESS_INSTALL_URL={bake_dir}" if arg.startswith("CONGRESS_INSTALL_URL=") else arg
              for arg in cmd] for cmd in spec.steps]
    apt = ["env", "DEBIAN_FRONTEND=noninteractive", "apt-get", f"--option=Acquire::http::Proxy={proxy}", *APT_OPTIONS]
    chrooted = [[*apt, "update"]]
    if spec.packages:
        chrooted.append([*apt, "install", *spec.packages])
    chrooted += steps
    # The downloaded .debs go; apt's package cache stays (apt-get clean would drop it too).
    chrooted += [["find", "/var/cache/apt/archives", "-name", "*.deb", "-delete"], ["rm", "-rf", "/root/.cache", BAKE_DIR]]
    script = "\n".join([
        "set -eu",
        f'root={partial / "root"}',
        f'mount -t overlay overlay -o lowerdir={base},upperdir={partial / "upper"},workdir={partial / "work"} "$root"',
        'mount -t proc proc "$root/proc"; mount -t sysfs sysfs "$root/sys"; mount --rbind /dev "$root/dev"',
        f'mkdir -p "$root{BAKE_DIR}" && cp -a {wheelhouse} "$root{bake_dir}"',
        'printf "#!/bin/sh\\nexit 101\\n" > "$root/usr/sbin/policy-rc.d"; chmod 0755 "$root/usr/sbin/policy-rc.d"',
        *[f'install -D -m 0755 {partial / "stage" / path.lstrip("/")} "$root{path}"' for path, _ in spec.files],
        *[f'chroot "$root" {shlex.join(cmd)}' for cmd in chrooted],
        *[f'rm -f "$root{path}"' for path, _ in spec.files],
        *[f'rmdir --ignore-fail-on-non-empty "$root{d}"' for d in sorted({str(Path(p).parent) for p, _ in spec.files})],
        'rm -f "$root/usr/sbin/policy-rc.d"',
    ])
    try:
        proc = subprocess.run(["unshare", "--mount", "--propagation", "private", "bash", "-c", script],
                              capture_output=True, text=True, stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent)
    finally:
        with contextlib.suppress(Exception):
            relay.server.shutdown()
            relay.server.server_close()
    (partial / "bake.log").write_text(proc.stdout + proc.stderr)
    if proc.returncode != 0:
        raise RuntimeError(f"baking failed ({proc.returncode}):\n{(proc.stdout + proc.stderr)[-4000:]}")


# How layers are made, in the recipe of each: a layer baked by other code is stale.  Taken once, at
# import (inspect reads the file again at each call, so an edit while running would change it).
BAKE_CODE = hashlib.sha256(inspect.getsource(_bake).encode()).hexdigest()[:16]
