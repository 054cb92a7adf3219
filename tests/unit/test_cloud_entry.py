"""The CLI's check that env.yaml's `cloud` names a clouds.yaml entry: the usual case (the entry is
in the file openstacksdk reads) is decided without importing openstacksdk, which costs every
command ~0.2 s; anything else is left to openstacksdk itself (tests/unit/test_bad_env.py)."""

from __future__ import annotations

import os
import subprocess
import sys

from congress_tf import cli
from paths import EXAMPLE_CLOUDS_YAML


def test_search_path_is_openstacksdks():
    from openstack.config import loader

    ours = cli.clouds_search_path()
    # openstacksdk takes the working directory when it is imported; the rest must be the same.
    assert ours[0] == os.getcwd()
    assert ours[1:] == loader.CONFIG_SEARCH_PATH[1:]


def test_the_file_openstacksdk_reads_decides(tmp_path, monkeypatch):
    from openstack.config import loader

    clouds = tmp_path / "clouds.yaml"
    clouds.write_text("clouds:\n  mine: {auth: {auth_url: 'http://127.0.0.1:1/v3'}}\n")
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(clouds))
    assert cli._names_in_first_clouds_file() == {"mine"}
    assert "mine" in loader.OpenStackConfig().get_cloud_names()
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(tmp_path / "absent.yaml"))
    assert "mine" not in cli._names_in_first_clouds_file()


def test_a_known_cloud_is_accepted_without_importing_openstacksdk():
    code = ("import sys\nfrom congress_tf import cli\ncli._check_cloud_entry('lab')\n"
            "print('openstack' in sys.modules)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "OS_CLIENT_CONFIG_FILE": str(EXAMPLE_CLOUDS_YAML)})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"
