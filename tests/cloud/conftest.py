"""The local OpenStack control plane (tests/controlplane), one per test session.

Set CONGRESS_TF_SKIP_CONTROLPLANE=1 to skip these tests (CI never does), or
CONGRESS_TF_CONTROLPLANE=DIR to use one already running (`tests/controlplane/run.py --root DIR`,
left running afterwards). The fake servers'
addresses belong to no host: tests here never probe them (status runs with --cloud-only).
"""

from __future__ import annotations

import atexit
import fcntl
import os
import signal
import uuid
from pathlib import Path

import pytest

from controlplane import harness


@pytest.fixture(scope="session")
def control_plane(tmp_path_factory):
    if os.environ.get("CONGRESS_TF_SKIP_CONTROLPLANE"):
        pytest.skip("CONGRESS_TF_SKIP_CONTROLPLANE is set")
    if os.environ.get("CONGRESS_TF_CONTROLPLANE"):
        yield harness.ControlPlane(Path(os.environ["CONGRESS_TF_CONTROLPLANE"]), harness.venv_dir())
        return
    venv = harness.ensure_venv()
    lock = open(harness.LOCK, "w")  # noqa: SIM115 - held for the whole session
    fcntl.flock(lock, fcntl.LOCK_EX)  # one control plane per machine: its ports are fixed
    plane = harness.ControlPlane(tmp_path_factory.mktemp("controlplane"), venv)
    # SIGTERM (a CI timeout, a killed run) becomes KeyboardInterrupt, so pytest tears this down;
    # atexit covers whatever else ends the interpreter normally.
    previous = signal.signal(signal.SIGTERM, _interrupt)
    atexit.register(plane.stop)
    try:
        plane.start()
        yield plane
    finally:
        plane.stop()
        atexit.unregister(plane.stop)
        signal.signal(signal.SIGTERM, previous)
        lock.close()


def _interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


@pytest.fixture(scope="session")
def admin(control_plane):
    return control_plane.connect("controlplane")


@pytest.fixture(scope="session")
def member(control_plane):
    return control_plane.connect("controlplane-member")


@pytest.fixture
def cloud_env(control_plane, monkeypatch):
    """congress-tf's openstacksdk finds the control plane's clouds.yaml."""
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(control_plane.clouds_yaml))
    monkeypatch.delenv("OS_CLOUD", raising=False)
    return control_plane


@pytest.fixture
def unique() -> str:
    return uuid.uuid4().hex[:8]
