"""Session fixtures of the VM tests: each example's planned VMs booted once per session.

The examples are planned with harness.PLAN_OVERRIDES: the subnet on 198.18.10.0/24 (the sandbox's
bridge, see harness.py) and Congress installed from the wheelhouse the harness serves there.
CONGRESS_TF_VM_KEEP=1 keeps each cluster's work directory (consoles, overlays) after the run.
CONGRESS_TF_VM_IMAGE=baked boots every VM from its role's baked image (image.baked_layer: packages
and Congress already installed) for quicker runs by hand; the default, plain, is what CI runs: the
stock base image, each VM's own `packages:` and install-congress.sh installing for real.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal

import pytest

from harness import PLAN_OVERRIDES, Cluster
from traffic import REPORT, report
from paths import example_tfvars

NEEDED = ["systemd-nspawn", "mmdebstrap", "unshare", "nsenter", "ip"]
BOOT_TIMEOUT_S = 1500


def pytest_terminal_summary(terminalreporter):
    if REPORT:
        terminalreporter.section("VM harness")
        for line in REPORT:
            terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def sigterm_closes():
    """A SIGTERM (CI timeout) unwinds the fixtures, so every cluster is closed."""
    def interrupt(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, interrupt)
    yield
    signal.signal(signal.SIGTERM, previous)


@pytest.fixture(scope="session")
def booted(plan, sigterm_closes):
    """booted(example, **overrides): a context manager giving that example's VMs booted, cloud-init
    finished (or BOOT_TIMEOUT_S passed), and closing them all at its end."""
    if os.geteuid() != 0:
        pytest.skip("the VM harness needs root (namespaces, mounts, cgroups)")
    missing = [exe for exe in NEEDED if not shutil.which(exe)]
    if missing:
        pytest.fail(f"the VM harness needs {missing} (Debian packages systemd-container, mmdebstrap: see .ci/run)")

    @contextlib.contextmanager
    def boot(example: str, **overrides):
        planned = plan(var_file=example_tfvars(example), **{**PLAN_OVERRIDES, **overrides})
        cluster = Cluster(planned.outputs, image=os.environ.get("CONGRESS_TF_VM_IMAGE", "plain"))
        try:
            cluster.start()
            cluster.wait_cloud_init(BOOT_TIMEOUT_S)
            for vm, seconds in sorted(cluster.boot_times.items()):
                report(f"{example} {vm}: cloud-init done {seconds:.0f} s after start")
            yield cluster
        finally:
            cluster.close()

    return boot


@pytest.fixture(scope="module")
def no_octavia(booted):
    """examples/no-octavia booted: 3 policy engines, the HAProxy pair, the datasource pair, MariaDB, RabbitMQ.

    Booted once, for test_no_octavia.py (its only user), and powered off after it: the other
    examples then boot on a machine with 2 cores to themselves (21 VMs at once also ran out of
    the kernel's default inotify instances, see harness.INOTIFY_LIMITS)."""
    with booted("no-octavia") as cluster:
        yield cluster


@pytest.fixture(scope="session")
def created() -> list[dict]:
    """Every policy and rule the VM tests created, checked again after each fault."""
    return []
