"""The pinned Congress runtime as install-congress.sh builds it: shared by the cloudinit tests
and the HA drill (the session fixture `congress_venv` in tests/conftest.py).

The install needs PyPI (or a wheelhouse) and, since PyPI has psycopg2 only as source, gcc,
libpq-dev and python3-dev.  Overrides for the install source:
CONGRESS_TF_TEST_INSTALL_SOURCE (index | wheelhouse) and CONGRESS_TF_TEST_INSTALL_URL.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from paths import REPO

CLOUDINIT = REPO / "cloudinit"
SCRIPT = CLOUDINIT / "scripts" / "install-congress.sh"
CONSTRAINTS = CLOUDINIT / "congress-constraints.txt"
SHIM = CLOUDINIT / "congress_py311_compat.py"
INSTALL_TIMEOUT = 1500  # seconds; a cold install from PyPI builds psycopg2


def venv_python() -> str:
    """Debian's python3 (what the VMs use) when it can make venvs, else this interpreter."""
    debian = "/usr/bin/python3"
    if os.path.exists(debian) and subprocess.run([debian, "-c", "import ensurepip, venv"],
                                                 capture_output=True).returncode == 0:
        return debian
    return sys.executable


def pinned(name: str) -> str:
    for line in CONSTRAINTS.read_text().splitlines():
        m = re.match(r"\s*([A-Za-z0-9._-]+)==(\S+)", line)
        if m and norm(m.group(1)) == norm(name):
            return m.group(2)
    raise LookupError(f"{name} is not pinned in {CONSTRAINTS}")


def norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def run_install(venv: Path, *args: str, constraints: Path = CONSTRAINTS, source: str | None = None,
                timeout: float = INSTALL_TIMEOUT) -> subprocess.CompletedProcess:
    env = dict(os.environ,
               CONGRESS_VENV=str(venv),
               CONGRESS_CONSTRAINTS=str(constraints),
               CONGRESS_SHIM=str(SHIM),
               CONGRESS_PYTHON=venv_python(),
               CONGRESS_INSTALL_SOURCE=source or os.environ.get("CONGRESS_TF_TEST_INSTALL_SOURCE", "index"))
    env.pop("CONGRESS_INSTALL_URL", None)
    if os.environ.get("CONGRESS_TF_TEST_INSTALL_URL"):
        env["CONGRESS_INSTALL_URL"] = os.environ["CONGRESS_TF_TEST_INSTALL_URL"]
    return subprocess.run(["bash", str(SCRIPT), *args], env=env, capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)


def explain(proc: subprocess.CompletedProcess) -> str:
    return f"exit {proc.returncode}\n--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"


@dataclass(frozen=True)
class CongressVenv:
    path: Path
    first_run: subprocess.CompletedProcess

    @property
    def bin(self) -> Path:
        return self.path / "bin"

    def run(self, exe: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run([str(self.bin / exe), *args], capture_output=True, text=True,
                              timeout=timeout, stdin=subprocess.DEVNULL)


def install_congress_venv(venv: Path) -> CongressVenv:
    proc = run_install(venv)
    assert proc.returncode == 0, explain(proc)
    return CongressVenv(venv, proc)
