"""fence_openstack (Debian's fence-agents) with the credentials congress-tf renders, against Nova.

`congress-tf render` writes the datasource VMs' cloud-init; its Pacemaker configuration holds one
fence_openstack device per node. The agent is run here as Pacemaker runs it (its parameters on
stdin, plug = the server's ID, which the VM fills in at boot) to power a real Nova server off, see
it off, and on again.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
import time

import pytest
import yaml
from click.testing import CliRunner

from congress_tf.cli import main
from controlplane.harness import IMAGE, MEMBER, _url
from integration.drill import Node

PASSWORD = "fencing-password-of-the-operator"


def fence_params(cloud_init: str, node: str) -> dict[str, str]:
    crm = next(c for p, c in Node.parse(node, cloud_init).files.items() if "stonith:fence_openstack" in c)
    lines = crm.replace("\\\n", " ").splitlines()
    primitive = next(line for line in lines if line.startswith("primitive ") and f"pcmk_host_list=\"{node}\"" in line)
    words = shlex.split(primitive)
    params = words[words.index("params") + 1:]
    return dict(w.split("=", 1) for w in params if "=" in w and not w.startswith(("interval", "timeout")))


def fence(params: dict[str, str], action: str, plug: str) -> subprocess.CompletedProcess:
    # Pacemaker passes a device's parameters on stdin, one name=value a line.
    stdin = "".join(f"{k}={v}\n" for k, v in {**params, "action": action, "plug": plug}.items()
                    if not k.startswith("pcmk_"))
    return subprocess.run([shutil.which("fence_openstack") or "/usr/sbin/fence_openstack"], input=stdin,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.skipif(not (shutil.which("fence_openstack") or shutil.os.path.exists("/usr/sbin/fence_openstack")),
                    reason="fence-agents is not installed (.ci/run installs it)")
def test_fence_openstack_powers_a_server_off_and_on_with_the_rendered_credentials(
        tmp_path, cloud_env, admin, member, terraform_env, monkeypatch, unique):
    for key, value in terraform_env.items():  # render plans with the provider double
        if key != "OS_CLIENT_CONFIG_FILE":
            monkeypatch.setenv(key, value)
    monkeypatch.setenv("CONGRESS_TF_FENCING_PASSWORD", PASSWORD)
    project = admin.identity.find_project(MEMBER["project"])
    user = admin.identity.create_user(name=f"fencer-{unique}", password=PASSWORD, domain_id="default",
                                      default_project_id=project.id)
    admin.identity.assign_project_role_to_user(project, user, admin.identity.find_role("member"))

    env_file = tmp_path / "env.yaml"
    env_file.write_text(yaml.safe_dump({
        "name": "fence", "cloud": "controlplane", "name_prefix": "fence", "image": admin.image.find_image(IMAGE).id,
        "flavors": {"default": admin.compute.find_flavor("m1.small").id}, "network": {"cidr": "198.18.40.0/24"},
        "lb_provider": "haproxy", "auth_strategy": "noauth",
        "fencing": {"auth_url": _url("keystone", "/v3"), "username": user.name, "project_name": MEMBER["project"]}}))
    result = CliRunner().invoke(main, ["render", str(env_file), str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    params = fence_params((tmp_path / "out/cloud-init/fence-ds-0.yaml").read_text(), "fence-ds-0")
    assert params["username"] == user.name and params["password"] == PASSWORD

    net = member.network.create_network(name=f"fence-{unique}")
    member.network.create_subnet(network_id=net.id, ip_version=4, cidr="198.18.40.0/24")
    server = member.compute.create_server(name="fence-ds-1", image_id=admin.image.find_image(IMAGE).id,
                                          flavor_id=admin.compute.find_flavor("m1.small").id,
                                          networks=[{"uuid": net.id}])
    try:
        power_cycle(params, member, member.compute.wait_for_server(server, wait=180))
    finally:
        member.compute.delete_server(server)
        member.compute.wait_for_delete(server, wait=120)  # a server still deleting skews later quota tests


def power_cycle(params, member, server):
    status = fence(params, "status", server.id)
    assert status.returncode == 0 and "ON" in status.stdout.upper(), status.stdout + status.stderr
    off = fence(params, "off", server.id)
    assert off.returncode == 0, off.stdout + off.stderr
    assert member.compute.get_server(server.id).status == "SHUTOFF"
    status = fence(params, "status", server.id)
    assert status.returncode == 2, status.stdout + status.stderr  # fence agents: 2 = off
    on = fence(params, "on", server.id)
    assert on.returncode == 0, on.stdout + on.stderr
    deadline = time.monotonic() + 60
    while member.compute.get_server(server.id).status != "ACTIVE" and time.monotonic() < deadline:
        time.sleep(1)
    assert member.compute.get_server(server.id).status == "ACTIVE"

    wrong = fence({**params, "password": "not-the-password"}, "status", server.id)
    assert wrong.returncode != 0
