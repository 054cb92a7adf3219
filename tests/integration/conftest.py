"""The HA drill's session fixture: one real cluster for every integration test.

Congress comes from the session's `congress_venv` (install-congress.sh, pinned constraints).
CONGRESS_DRILL_KEEP=1 keeps the drill's temporary directory (logs of every process) after the run.
"""

from __future__ import annotations

import os
import shutil
import signal
from pathlib import Path

import pytest

from drill import DRILL_EXAMPLE, DRILL_OVERRIDES, Drill
from paths import example_tfvars

NEEDED = ["mariadbd", "mariadb-install-db", "mariadb", "haproxy", "corosync", "pacemakerd", "crm", "crm_mon",
          "crmadmin", "epmd", "ip"]


@pytest.fixture(scope="session")
def drill(plan, congress_venv):
    if os.geteuid() != 0:
        pytest.skip("the HA drill runs MariaDB, RabbitMQ, Corosync and Pacemaker: it needs root")
    missing = [exe for exe in NEEDED if not shutil.which(exe)] + \
        [p for p in ["/usr/lib/rabbitmq/bin/rabbitmq-server"] if not Path(p).exists()]
    if missing:
        pytest.fail(f"the HA drill needs {missing} (Debian packages: see .ci/run)")

    rendered = plan(var_file=example_tfvars(DRILL_EXAMPLE), **DRILL_OVERRIDES).outputs["cloud_init"]

    # A SIGTERM (CI timeout) must still end every process the drill started.
    previous = signal.signal(signal.SIGTERM, _interrupt)
    cluster = Drill(rendered, congress_venv.path)
    try:
        yield cluster.start()
    finally:
        cluster.close()
        signal.signal(signal.SIGTERM, previous)


def _interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


@pytest.fixture(scope="session")
def created() -> list[dict]:
    """Every policy and rule the drill created, to check that none is lost after each fault."""
    return []
