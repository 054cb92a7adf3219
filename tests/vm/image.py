"""The shared, read-only Debian 12 base rootfs every test VM boots from (built by mmdebstrap).

It is what a Debian cloud image brings before cloud-init runs: systemd as PID 1, cloud-init
(NoCloud only), the network tools, python3, openssh-server and an en_US.UTF-8 locale.  Nothing
of a role is in it: each VM's own `packages:` and install-congress.sh install those at boot.
Built once and kept in CACHE by the hash of everything that goes into it.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

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
