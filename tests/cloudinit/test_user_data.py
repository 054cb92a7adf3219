"""Every rendered user_data is valid cloud-config and keeps to the house rules."""

from __future__ import annotations

import re

import pytest

from conftest import SCRIPTS_DIR, SOURCES, fixture_secrets, of_role, run

# Files that hold a secret, and the owner/mode each must have on the VM.
SECRET_FILES = {
    "/etc/congress/congress.conf": ("root:congress", "0640"),
    "/etc/congress-tf/congress-db.cnf": ("root:root", "0600"),
    "/etc/congress-tf/congress-database.sql": ("root:root", "0600"),
    "/etc/congress-tf/rabbitmq-password": ("root:root", "0600"),
    "/etc/corosync/authkey": ("root:root", "0400"),
    "/etc/congress-tf/datasource.crm": ("root:root", "0600"),
    "/etc/keepalived/keepalived.conf": ("root:root", "0600"),
    "/etc/congress/keys/aes_key": ("congress:congress", "0600"),
    # Written before the rabbitmq user exists; the package's postinst makes it rabbitmq's.
    "/var/lib/rabbitmq/.erlang.cookie": ("root:root", "0400"),
}


@pytest.mark.parametrize("source", SOURCES)
def test_every_user_data_passes_cloud_init_schema(source, rendered, tmp_path):
    failures = []
    for name, node in rendered(source).items():
        assert node.user_data.startswith("#cloud-config\n"), name
        path = tmp_path / f"{name}.yaml"
        path.write_text(node.user_data)
        result = run(["cloud-init", "schema", "--config-file", str(path)])
        if result.returncode != 0 or "Valid cloud-config" not in result.stdout:
            failures.append(f"{name}: {result.stdout}{result.stderr}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("source", SOURCES)
def test_runcmd_only_runs_scripts_written_by_write_files(source, rendered):
    for name, node in rendered(source).items():
        runcmd = node.config["runcmd"]
        assert runcmd[0] == "set -e", f"{name}: the first failed step must stop the rest"
        for step in runcmd[1:]:
            assert isinstance(step, list), f"{name}: {step!r} is not an argv list"
            argv = step[1:] if step[0] == "env" else step
            argv = [arg for arg in argv if not re.fullmatch(r"[A-Z_]+=.*", arg)]
            assert len(argv) == 1, f"{name}: {step!r} runs more than a script"
            assert argv[0].startswith(SCRIPTS_DIR + "/") and argv[0] in node.files, f"{name}: {argv[0]}"
            assert node.files[argv[0]]["permissions"] == "0755"


@pytest.mark.parametrize("source", SOURCES)
def test_secret_files_are_root_owned_and_closed(source, rendered):
    secrets = fixture_secrets(source)
    for name, node in rendered(source).items():
        for path, entry in node.files.items():
            if path in SECRET_FILES:
                owner, mode = SECRET_FILES[path]
                assert (entry.get("owner"), entry.get("permissions")) == (owner, mode), f"{name}: {path}"
                if "congress" in owner:
                    assert entry.get("defer") is True, f"{name}: {path} needs the congress user: defer it"
            else:
                leaked = [s for s in secrets if s in node.text(path)]
                assert not leaked, f"{name}: {path} holds a secret but is not restricted"
        if "runcmd" in node.config:
            assert not [s for s in secrets if s in str(node.config["runcmd"])], f"{name}: secret in runcmd"


@pytest.mark.parametrize("source", SOURCES)
def test_congress_nodes_get_a_non_root_congress_user_and_the_runtime(source, rendered):
    for name, node in rendered(source).items():
        if node.role not in ("policy_engine", "datasource"):
            assert "congress" not in str(node.config.get("users", [])), name
            continue
        users = node.config["users"]
        assert users[0] == "default"
        congress = next(u for u in users if isinstance(u, dict) and u["name"] == "congress")
        assert congress["system"] is True and congress["shell"] == "/usr/sbin/nologin"
        for path in ("/etc/congress-tf/congress-constraints.txt", "/etc/congress-tf/congress_py311_compat.py",
                     f"{SCRIPTS_DIR}/install-congress.sh"):
            assert path in node.files, f"{name}: {path}"
        install = next(step for step in node.config["runcmd"] if f"{SCRIPTS_DIR}/install-congress.sh" in step)
        env = dict(arg.split("=", 1) for arg in install if "=" in arg)
        assert env["CONGRESS_VENV"] == "/opt/congress"
        assert env["CONGRESS_INSTALL_SOURCE"] in ("index", "wheelhouse", "preinstalled")
        assert env["CONGRESS_CONSTRAINTS"] == "/etc/congress-tf/congress-constraints.txt"
        assert env["CONGRESS_SHIM"] == "/etc/congress-tf/congress_py311_compat.py"


@pytest.mark.parametrize("source", SOURCES)
def test_policy_engines_start_after_schema_sync_as_congress(source, rendered):
    for name, node in rendered(source).items():
        if node.role != "policy_engine":
            continue
        steps = [step[-1].rsplit("/", 1)[-1] for step in node.config["runcmd"][1:]]
        assert steps.index("wait-for-backends.sh") < steps.index("sync-congress-schema.sh") \
            < steps.index("start-congress-policy-engine.sh"), steps
        unit = node.text("/etc/systemd/system/congress-policy-engine.service")
        assert "User=congress" in unit
        assert ("ExecStart=/opt/congress/bin/congress-server --config-file /etc/congress/congress.conf"
                " --api --policy-engine --node-id=${CONGRESS_NODE_ID}") in unit
        assert unit.index("wait-for-backends.sh") < unit.index("wait-for-congress-schema.sh") < unit.index("ExecStart=")
        assert node.settings["CONGRESS_NODE_ID"] != "datasource-node"


@pytest.mark.parametrize("source", SOURCES)
def test_node_ids_are_unique_and_the_datasource_pair_shares_one(source, rendered):
    nodes = rendered(source)
    engines = [node.settings["CONGRESS_NODE_ID"] for node in nodes.values() if node.role == "policy_engine"]
    pair = [node for node in nodes.values() if node.role == "datasource"]
    assert len(engines) >= 2 and len(set(engines)) == len(engines)
    assert len(pair) == 2
    assert len({node.settings["CONGRESS_NODE_ID"] for node in pair}) == 1
    assert pair[0].settings["CONGRESS_NODE_ID"] not in engines
    for path in ("/etc/congress/congress.conf", "/etc/corosync/corosync.conf", "/etc/corosync/authkey",
                 "/etc/congress-tf/datasource.crm"):
        assert pair[0].file(path) == pair[1].file(path), f"the pair must share {path}"
    assert {node.settings["CLUSTER_LEADER"] for node in pair} == {min(node.name for node in pair)}


@pytest.mark.parametrize("source", SOURCES)
def test_datasource_vms_install_what_fence_openstack_imports_when_fencing(source, rendered):
    """Debian's fence-agents only suggests the OpenStack clients fence_openstack needs."""
    for node in of_role(rendered(source), "datasource"):
        packages = node.config.get("packages", [])
        fencing = "fence_openstack" in node.text("/etc/congress-tf/datasource.crm")
        assert ("fence-agents" in packages and "python3-novaclient" in packages) == fencing, packages
