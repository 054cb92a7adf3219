"""The HA drill's session fixture: one real cluster for every integration test.

Congress comes from the session's `congress_venv` (install-congress.sh, pinned constraints).
CONGRESS_DRILL_KEEP=1 keeps the drill's temporary directory (logs of every process) after the run.
"""

from __future__ import annotations

import os

import pytest

from drill import DRILL_EXAMPLE, DRILL_OVERRIDES, Drill, missing_tools, started
from paths import example_tfvars
from galera import GALERA_EXAMPLE, GALERA_OVERRIDES, GaleraDrill

NEEDED = ["mariadbd", "mariadb-install-db", "mariadb", "haproxy", "corosync", "pacemakerd", "crm", "crm_mon",
          "crmadmin", "epmd", "ip"]
GALERA_NEEDED = ["mariadbd", "mariadb-install-db", "mariadb", "haproxy", "socat", "rsync"]


@pytest.fixture(scope="session")
def drill(plan, congress_venv):
    if os.geteuid() != 0:
        pytest.skip("the HA drill runs MariaDB, RabbitMQ, Corosync and Pacemaker: it needs root")
    missing = missing_tools(NEEDED, ["/usr/lib/rabbitmq/bin/rabbitmq-server"])
    if missing:
        pytest.fail(f"the HA drill needs {missing} (Debian packages: see .ci/run)")

    rendered = plan(var_file=example_tfvars(DRILL_EXAMPLE), **DRILL_OVERRIDES).outputs["cloud_init"]
    cluster = Drill(rendered, congress_venv.path)
    with started(cluster.start, cluster.close) as running:
        yield running


@pytest.fixture(scope="module")
def galera(plan, congress_venv):
    """Backing mode cluster's three Galera members and a Congress node's local HAProxy (galera.py)."""
    if os.geteuid() != 0:
        pytest.skip("the Galera drill runs MariaDB as root")
    missing = missing_tools(GALERA_NEEDED, ["/usr/lib/galera/libgalera_smm.so"])
    if missing:
        pytest.fail(f"the Galera drill needs {missing} (Debian packages galera-4, rsync, socat: see .ci/run)")
    cloud_init = plan(var_file=example_tfvars(GALERA_EXAMPLE), **GALERA_OVERRIDES).outputs["cloud_init"]
    cluster = GaleraDrill(cloud_init, congress_venv.path)
    with started(cluster.start, cluster.close) as running:
        yield running


@pytest.fixture(scope="session")
def created() -> list[dict]:
    """Every policy and rule the drill created, to check that none is lost after each fault."""
    return []

