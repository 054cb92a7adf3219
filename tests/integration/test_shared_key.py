"""The one encryption key: a datasource whose config holds a password, written by one Congress
node and read by another, with the real Congress code (the pinned venv: congress.db.datasources
encrypts secret fields on write and decrypts them on read with /etc/congress/keys/aes_key).

Each node gets its own key directory, as each VM has its own disk, holding what cloud-init
writes there from the plan: the same key on every node. Without it (each node's key made by
Congress itself, as before congress-tf wrote one) the second node fails with InvalidToken.
The database is one SQLite file both nodes share (the key is all this is about)."""

from __future__ import annotations

import configparser
import json
import re
import subprocess

import pytest
import yaml
from paths import example_tfvars

pytestmark = pytest.mark.integration

KEY_FILE = "/etc/congress/keys/aes_key"
NODE = r"""
import json, sys
from oslo_config import cfg
from congress.common import config  # registers Congress's options (encryption_key_path ...)
from congress.db import api as db_api, datasources as ds_db
conf, action = sys.argv[1:3]
cfg.CONF(["--config-file", conf], project="congress")
if action == "create":
    ds_db.Datasource.__table__.create(db_api.get_engine(), checkfirst=True)
    ds_db.add_datasource(id_="4b0e1c1e-0000-4000-8000-000000000001", name="nova_prod", driver="nova",
                         config={"auth_url": "http://keystone.invalid/v3", "username": "admin",
                                 "password": "ds-secret-password", "tenant_name": "admin"},
                         description="", enabled=True, secret_config_fields=["password"])
    stored = db_api.get_engine().execute("SELECT config FROM datasources").scalar()
    print(json.dumps({"stored": stored}))
else:
    config = ds_db.get_datasource_by_name("nova_prod").config
    print(json.dumps({"config": json.loads(config) if isinstance(config, str) else config}))
"""


@pytest.fixture(scope="module")
def rendered(plan):
    cloud_init = plan(var_file=example_tfvars("production")).outputs["cloud_init"]
    nodes = {}
    for name, user_data in cloud_init.items():
        files = {e["path"]: e for e in yaml.safe_load(user_data).get("write_files", [])}
        if "/etc/congress/congress.conf" in files:
            nodes[name] = files
    return nodes


def node_home(tmp_path, name, files, database, with_rendered_key=True):
    """A Congress node's congress.conf as rendered, its key directory and database pointed here."""
    home = tmp_path / name
    keys = home / "keys"
    keys.mkdir(parents=True)
    if with_rendered_key:
        entry = files[KEY_FILE]
        (keys / "aes_key").write_text(entry["content"])
        (keys / "aes_key").chmod(int(entry["permissions"], 8))
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(files["/etc/congress/congress.conf"]["content"])
    assert parser["DEFAULT"]["encryption_key_path"] == KEY_FILE.rsplit("/", 1)[0]
    parser["DEFAULT"]["encryption_key_path"] = str(keys)
    parser["DEFAULT"]["log_dir"] = str(home)
    parser["database"]["connection"] = f"sqlite:///{database}"
    conf = home / "congress.conf"
    with conf.open("w") as out:
        parser.write(out)
    return conf


def run_node(venv, conf, action):
    return subprocess.run([str(venv.path / "bin" / "python"), "-c", NODE, str(conf), action],
                          capture_output=True, text=True, timeout=120)


def test_a_datasource_password_written_by_one_node_is_read_by_every_other(rendered, congress_venv, tmp_path):
    writer, *readers = sorted(rendered)       # a policy engine writes; the others, ds VMs included, read
    database = tmp_path / "congress.sqlite"
    created = run_node(congress_venv, node_home(tmp_path, writer, rendered[writer], database), "create")
    assert created.returncode == 0, created.stderr
    assert "ds-secret-password" not in created.stdout          # stored encrypted
    for name in readers:
        read = run_node(congress_venv, node_home(tmp_path, name, rendered[name], database), "read")
        assert read.returncode == 0, f"{name}: {read.stderr[-2000:]}"
        assert json.loads(read.stdout)["config"]["password"] == "ds-secret-password", name


def test_without_the_shared_key_the_other_node_cannot_decrypt(rendered, congress_venv, tmp_path):
    """What every datasource failover met before: each node had a key Congress made for itself."""
    writer, reader = sorted(name for name in rendered if "-ds-" in name)
    database = tmp_path / "congress.sqlite"
    created = run_node(congress_venv, node_home(tmp_path, writer, rendered[writer], database, False), "create")
    assert created.returncode == 0, created.stderr
    read = run_node(congress_venv, node_home(tmp_path, reader, rendered[reader], database, False), "read")
    assert read.returncode != 0
    assert re.search(r"congress\.encryption\.InvalidToken", read.stderr), read.stderr[-2000:]
    print(read.stderr.strip().splitlines()[-1])
