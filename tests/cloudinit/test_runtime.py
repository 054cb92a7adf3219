"""The pinned Congress runtime, installed for real by cloudinit/scripts/install-congress.sh.

The venv comes from the session fixture `congress_venv` (tests/conftest.py).

One session-scoped venv (in a temp dir) is built from cloudinit/congress-constraints.txt
exactly as a VM builds /opt/congress, then its console scripts are run.  The install
needs PyPI (or a wheelhouse) and, since PyPI has psycopg2 only as source, gcc,
libpq-dev and python3-dev.  Overrides for the install source:
CONGRESS_TF_TEST_INSTALL_SOURCE (index | wheelhouse) and CONGRESS_TF_TEST_INSTALL_URL.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from congress_runtime import CONSTRAINTS, SCRIPT, SHIM, norm, explain, pinned, run_install

def _snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """Every file under root except bytecode caches, with size and mtime."""
    found = {}
    for p in root.rglob("*"):
        if "__pycache__" in p.parts or not p.is_file() or p.is_symlink():
            continue
        st = p.stat()
        found[str(p.relative_to(root))] = (st.st_size, st.st_mtime_ns)
    return found


# --- the install itself -------------------------------------------------------------

def test_first_run_logs_each_step(congress_venv):
    out = congress_venv.first_run.stdout
    assert f"pinned openstack-congress=={pinned('openstack-congress')}" in out
    assert "created with 3.11" in out
    assert re.search(r"openstack-congress 11\.0\.0 installed in \d+ s", out)
    assert "shim installed in" in out
    assert out.rstrip().splitlines()[-1].startswith("install-congress: ok: openstack-congress 11.0.0 ready")
    assert all(line.startswith("install-congress: ") for line in out.splitlines()), out


def test_installed_set_is_exactly_the_constraints(congress_venv):
    """Every distribution in the venv (pip aside) is pinned, at the pinned version, and nothing is missing."""
    proc = congress_venv.run("python", "-m", "pip", "freeze", "--all", "--exclude", "pip", "--isolated")
    assert proc.returncode == 0, explain(proc)
    freeze = proc.stdout
    installed = {norm(n): v for n, v in re.findall(r"^([A-Za-z0-9._-]+)==(\S+)$", freeze, re.M)}
    wanted = {norm(n): v for n, v in re.findall(r"^([A-Za-z0-9._-]+)==(\S+)$",
                                                  CONSTRAINTS.read_text(), re.M)}
    assert installed == wanted
    for name, version in [("openstack-congress", "11.0.0"), ("SQLAlchemy", "1.4."), ("oslo.db", "12."),
                          ("PyMySQL", "")]:
        assert installed[norm(name)].startswith(version), name


def test_pip_check_is_clean(congress_venv):
    proc = congress_venv.run("python", "-m", "pip", "check", "--isolated")
    assert proc.returncode == 0, explain(proc)


def test_congress_server_help(congress_venv):
    proc = congress_venv.run("congress-server", "--help")
    assert proc.returncode == 0, explain(proc)
    assert "--node-id" in proc.stdout and "--policy-engine" in proc.stdout


def test_congress_db_manage_help(congress_venv):
    proc = congress_venv.run("congress-db-manage", "--help")
    assert proc.returncode == 0, explain(proc)
    assert "upgrade" in proc.stdout


def test_shim_is_loaded_by_pth(congress_venv):
    """congress.datalog.utility subclasses collections.MutableSet: it imports only through the shim."""
    code = ("import collections, collections.abc, inspect, congress.datalog.utility as u, congress_py311_compat as c\n"
            "assert collections.MutableSet is collections.abc.MutableSet\n"
            "assert issubclass(u.OrderedSet, collections.abc.MutableSet)\n"
            "assert 'MutableSet' in c.ALIASED and callable(inspect.getargspec)\n"
            "print('ok')\n")
    proc = congress_venv.run("python", "-c", code)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", explain(proc)
    pth = next(congress_venv.path.glob("lib/python3*/site-packages/congress_py311_compat.pth"))
    assert pth.read_text() == "import congress_py311_compat\n"


def test_keystone_request_context_builds_on_the_pinned_oslo_context(congress_venv):
    """auth_strategy keystone makes a congress.context.RequestContext per request: Congress passes
    user=/tenant= (gone since oslo.context 4.0); the shim maps them (else every request is a 500)."""
    code = ("from oslo_config import cfg\n"
            "from congress.common import config\n"
            "from congress import context\n"
            "cfg.CONF([], project='congress', default_config_files=[])\n"
            "admin = context.RequestContext('u-1', 'p-1', roles=['admin'], user_name='alice', tenant_name='ops')\n"
            "member = context.RequestContext('u-2', 'p-2', roles=['member'])\n"
            "assert (admin.user_id, admin.project_id, admin.tenant_id) == ('u-1', 'p-1', 'p-1')\n"
            "assert admin.to_dict()['project_id'] == 'p-1' and admin.is_admin and not member.is_admin\n"
            "print('ok')\n")
    proc = congress_venv.run("python", "-c", code)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", explain(proc)


def test_congress_needs_the_shim(congress_venv):
    """Control: without site-packages' .pth processing the same import fails on Python >= 3.10."""
    site = next(congress_venv.path.glob("lib/python3*/site-packages"))
    code = f"import sys; sys.path.insert(0, {str(site)!r}); import congress.datalog.utility"
    proc = congress_venv.run("python", "-S", "-c", code)
    assert proc.returncode != 0
    assert "MutableSet" in proc.stderr


# What congress-server does, in its order: import Congress (the synchronisers' @periodic spacing is
# evaluated here), then parse congress.conf, then start the synchronisers, whose start() builds
# futurist's PeriodicWorker.  Prints the spacing at import, then what each worker schedules with.
SPACING_PROBE = """
import json, sys
from oslo_config import cfg
from congress.common import config  # noqa: F401  registers the options
from congress.synchronizer import datasource_synchronizer, policy_rule_synchronizer
at_import = policy_rule_synchronizer.PolicyRuleSynchronizer.synchronize_rules._periodic_spacing
cfg.CONF(["--config-file", sys.argv[1]], project="congress")

class Node:
    node_id = "spacing-probe"

def scheduled(synchroniser):
    synchroniser.start()  # the worker's green thread never runs: this process does not yield
    return {w.work.callback.__name__: w.work.callback._periodic_spacing
            for w in synchroniser.periodic_tasks.iter_watchers()}

print(json.dumps([at_import, scheduled(policy_rule_synchronizer.PolicyRuleSynchronizer(None, Node())),
                  scheduled(datasource_synchronizer.DatasourceSynchronizer(Node()))]))
"""


def test_synchronisers_run_at_the_configured_period(congress_venv, tmp_path):
    """Congress fixes the synchronisers' period at import (the option's default, 60 s); with the
    shim, the workers congress-server builds after reading congress.conf use the file's values."""
    conf = tmp_path / "congress.conf"
    conf.write_text("[DEFAULT]\ndatasource_sync_period = 7\n[dse]\ntime_to_resub = 9\n")
    proc = congress_venv.run("python", "-W", "ignore", "-c", SPACING_PROBE, str(conf))
    assert proc.returncode == 0, explain(proc)
    at_import, rules, datasources = json.loads(proc.stdout.splitlines()[-1])
    assert at_import == 60
    assert rules == {"synchronize_all_policies": 7, "synchronize_rules": 7}
    assert datasources == {"synchronize_all_datasources": 7, "_check_resub_all": 9}


def test_shim_alone():
    """The shim restores the names, keeps existing ones, and getargspec answers like it used to."""
    code = (f"import runpy, collections, collections.abc, inspect\n"
            f"before = collections.OrderedDict\n"
            f"g = runpy.run_path({str(SHIM)!r})\n"
            f"assert collections.OrderedDict is before\n"
            f"for n in ('MutableSet', 'Hashable', 'Mapping', 'MutableMapping', 'Sequence', 'Iterable', 'Callable'):\n"
            f"    assert getattr(collections, n) is getattr(collections.abc, n), n\n"
            f"assert g['patch']() == []\n"
            f"class K:\n"
            f"    def m(self, a, b=2, *rest, **kw): pass\n"
            f"s = inspect.getargspec(K().m)\n"
            f"assert s == (['self', 'a', 'b'], 'rest', 'kw', (2,)) and s.keywords == 'kw', s\n"
            f"print('ok')\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", explain(proc)


# --- idempotence and the preinstalled mode ------------------------------------------

def test_second_run_is_a_noop(congress_venv):
    before = _snapshot(congress_venv.path)
    proc = run_install(congress_venv.path, timeout=300)
    assert proc.returncode == 0, explain(proc)
    assert "already installed from these constraints: pip install skipped" in proc.stdout
    assert "shim already in place" in proc.stdout
    assert "created" not in proc.stdout
    assert _snapshot(congress_venv.path) == before


def test_preinstalled_accepts_the_venv(congress_venv):
    before = _snapshot(congress_venv.path)
    proc = run_install(congress_venv.path, source="preinstalled", timeout=300)
    assert proc.returncode == 0, explain(proc)
    assert "preinstalled: openstack-congress 11.0.0 and bin/congress-server found" in proc.stdout
    assert _snapshot(congress_venv.path) == before


def test_preinstalled_refuses_an_empty_dir(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    proc = run_install(empty, source="preinstalled", timeout=60)
    assert proc.returncode == 1, explain(proc)
    assert f"{empty}/bin/congress-server not found" in proc.stderr
    assert "ERROR" in proc.stderr
    assert list(empty.iterdir()) == []


def test_preinstalled_refuses_another_version(congress_venv, tmp_path):
    other = tmp_path / "constraints.txt"
    other.write_text(CONSTRAINTS.read_text().replace("openstack-congress==11.0.0", "openstack-congress==10.0.0"))
    proc = run_install(congress_venv.path, constraints=other, source="preinstalled", timeout=60)
    assert proc.returncode == 1, explain(proc)
    assert "has openstack-congress '11.0.0', but" in proc.stderr and "pins 10.0.0" in proc.stderr


@pytest.mark.parametrize("source, message", [
    ("pip", "must be index, wheelhouse or preinstalled"),
    ("wheelhouse", "needs CONGRESS_INSTALL_URL"),
])
def test_bad_settings_fail_before_touching_anything(tmp_path, monkeypatch, source, message):
    monkeypatch.delenv("CONGRESS_TF_TEST_INSTALL_URL", raising=False)
    venv = tmp_path / "venv"
    proc = run_install(venv, source=source, timeout=60)
    assert proc.returncode == 1, explain(proc)
    assert message in proc.stderr
    assert not venv.exists()


def test_wheelhouse_without_the_wheels_fails_clearly(tmp_path, monkeypatch):
    monkeypatch.setenv("CONGRESS_TF_TEST_INSTALL_URL", str(tmp_path / "no-wheels-here"))
    proc = run_install(tmp_path / "venv", source="wheelhouse", timeout=300)
    assert proc.returncode == 1, explain(proc)
    assert f"wheelhouse {tmp_path / 'no-wheels-here'} has no openstack_congress-11.0.0-*.whl" in proc.stderr


def test_index_credentials_are_not_printed(tmp_path, monkeypatch):
    """A failing private index (nothing listens on 127.0.0.1:9): user:password never reaches the output."""
    monkeypatch.setenv("CONGRESS_TF_TEST_INSTALL_URL", "http://congress:s3cr3t-token@127.0.0.1:9/simple")
    proc = run_install(tmp_path / "venv", "--pip-args", "--retries 0 --timeout 5", source="index", timeout=300)
    assert proc.returncode == 1, explain(proc)
    assert "http://***@127.0.0.1:9/simple" in proc.stdout
    assert "s3cr3t-token" not in proc.stdout + proc.stderr


def test_constraints_pin_everything_once():
    names = [norm(n) for n in re.findall(r"^([A-Za-z0-9._-]+)==\S+$", CONSTRAINTS.read_text(), re.M)]
    body = [line for line in CONSTRAINTS.read_text().splitlines() if line.strip() and not line.startswith("#")]
    assert len(names) == len(body) == len(set(names))
    assert "pip" not in names and "wheel" not in names
    assert pinned("oslo.db").split(".")[0] == "12" and pinned("SQLAlchemy").startswith("1.4.")


def test_script_is_shellcheck_clean():
    shellcheck = shutil.which("shellcheck")
    if not shellcheck:
        pytest.skip("shellcheck not installed (apt-get install -y shellcheck)")
    proc = subprocess.run([shellcheck, "--severity=style", str(SCRIPT)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_script_help_documents_every_setting():
    proc = subprocess.run(["bash", str(SCRIPT), "--help"], capture_output=True, text=True)
    assert proc.returncode == 0
    for name in ("CONGRESS_VENV", "CONGRESS_INSTALL_SOURCE", "CONGRESS_INSTALL_URL", "CONGRESS_CONSTRAINTS",
                 "CONGRESS_SHIM", "/opt/congress", "/etc/congress-tf/congress-constraints.txt",
                 "/etc/congress-tf/congress_py311_compat.py"):
        assert name in proc.stdout, name
