"""What the VMs receive, taken from real plans, never re-rendered in Python.

Sources are the examples (root module output `cloud_init`) and the fixture tfvars in
fixtures/ planned against terraform/modules/userdata alone (output `user_data`). A node's
files are read from its rendered #cloud-config (write_files path and content).
"""

from __future__ import annotations

import base64
import contextlib
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from paths import EXAMPLES, REPO

HERE = Path(__file__).resolve().parent
FIXTURES = sorted(p.stem for p in (HERE / "fixtures").glob("*.tfvars"))
# "fixture:<name>" plans the userdata module alone; "example:<name>" plans the root module.
SOURCES = [f"fixture:{name}" for name in FIXTURES] + [f"example:{name}" for name in EXAMPLES]

SCRIPTS_DIR = "/usr/local/lib/congress-tf"


@dataclass
class Node:
    name: str
    user_data: str
    config: dict = field(init=False)

    def __post_init__(self):
        self.config = yaml.safe_load(self.user_data)

    @property
    def files(self) -> dict[str, dict]:
        """write_files entries by path."""
        return {entry["path"]: entry for entry in self.config.get("write_files", [])}

    def file(self, path: str) -> bytes:
        entry = self.files[path]
        content = entry.get("content", "")
        if entry.get("encoding") in ("b64", "base64"):
            return base64.b64decode(content)
        return content.encode()

    def text(self, path: str) -> str:
        return self.file(path).decode()

    @property
    def settings(self) -> dict[str, str]:
        """/etc/congress-tf/node.env as a dict (values are single-quoted shell words)."""
        found = {}
        for line in self.text("/etc/congress-tf/node.env").splitlines():
            match = re.fullmatch(r"([A-Z_][A-Z0-9_]*)='([^']*)'", line.strip())
            if match:
                found[match[1]] = match[2]
        return found

    @property
    def role(self) -> str:
        return self.settings["NODE_ROLE"]


def _user_data_of(plan) -> dict[str, str]:
    outputs = plan.outputs
    return outputs.get("cloud_init") or outputs.get("user_data") or {}


@pytest.fixture(scope="session")
def rendered(request):
    """rendered(source) -> {node name: Node}, planned once per source and session."""
    cache: dict[str, dict[str, Node]] = {}

    def get(source: str) -> dict[str, Node]:
        if source not in cache:
            kind, name = source.split(":", 1)
            if kind == "fixture":
                plan = request.getfixturevalue("plan")
                result = plan("terraform/modules/userdata", var_file=HERE / "fixtures" / f"{name}.tfvars")
            else:
                result = request.getfixturevalue("example_plans")[name]
            user_data = _user_data_of(result)
            if not user_data:
                pytest.skip(f"{source}: the plan has no cloud_init/user_data output")
            cache[source] = {node: Node(node, text) for node, text in sorted(user_data.items())}
        return cache[source]

    return get


def of_role(nodes: dict[str, Node], role: str) -> list[Node]:
    return [node for node in nodes.values() if node.role == role]


def fixture_secrets(source: str) -> list[str]:
    """The secret values a fixture tfvars sets (empty for examples, whose secrets the CLI makes)."""
    kind, name = source.split(":", 1)
    if kind != "fixture":
        return []
    text = (HERE / "fixtures" / f"{name}.tfvars").read_text()
    return [value for value in re.findall(r'(?:_password|_key)\s*=\s*"([^"]+)"', text)]


def run(cmd, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, **kwargs)


def in_netns_with(ip: str, prefix: int, cmd: list[str], etc_dir: str | None = None,
                  files: dict[str, Path] | None = None) -> subprocess.CompletedProcess:
    """Run cmd in fresh network (and mount) namespaces, as on the VM: interface ens3 holds
    ip/prefix and, when etc_dir is given, a private tmpfs there holds `files` (name -> source)."""
    setup = (f"ip link add ens3 type veth peer name ens3-peer && ip addr add {ip}/{prefix} dev ens3"
             " && ip link set lo up && ip link set ens3 up")
    if etc_dir:
        setup += f" && mount -t tmpfs tmpfs {etc_dir}"
        for name, source in (files or {}).items():
            setup += f" && install -m 0400 {source} {etc_dir}/{name}"
    return run(["unshare", "--net", "--mount", "sh", "-c", setup + ' && exec "$@"', "netns", *cmd])


@pytest.fixture(scope="session")
def netns_available():
    probe = in_netns_with("192.0.2.1", 24, ["true"])
    if probe.returncode != 0:
        pytest.skip(f"cannot make a network namespace with a veth here: {probe.stderr.strip()}")


@pytest.fixture(scope="session")
def congress_ocf_agent(tmp_path_factory):
    """The congress-datasource agent installed (as on a datasource VM) by the role's own
    script, from the openstack-congress sdist of the pinned version. crmsh reads its metadata
    only from /usr/lib/ocf/resource.d, so this installs there (root needed)."""
    if os.geteuid() != 0:
        pytest.skip("installing the OCF agent into /usr/lib/ocf needs root")
    env = {**os.environ,
           "CONGRESS_PYTHON": sys.executable,
           "CONGRESS_INSTALL_SOURCE": "index",
           "CONGRESS_INSTALL_URL": os.environ.get("CONGRESS_TEST_INDEX_URL", "https://pypi.org/simple"),
           "CONGRESS_CONSTRAINTS": str(REPO / "cloudinit" / "congress-constraints.txt"),
           "OCF_AGENT_STAMP": str(tmp_path_factory.mktemp("ocf") / "congress-datasource.version")}
    agent = Path("/usr/lib/ocf/resource.d/openstack/congress-datasource")
    was_there = agent.exists()
    script = REPO / "cloudinit" / "scripts" / "install-congress-ocf-agent.sh"
    runs = [run([str(script)], env=env, timeout=600) for _ in range(2)]
    for result in runs:
        assert result.returncode == 0, result.stdout + result.stderr
    assert "already" in runs[1].stdout, "a second run must change nothing"
    yield agent
    if not was_there:  # leave the machine as the session found it
        agent.unlink()
        with contextlib.suppress(OSError):
            agent.parent.rmdir()
