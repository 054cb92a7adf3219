"""`congress-tf validate` against real Keystone, Nova, Glance, Neutron and Octavia APIs.

Names and IDs resolve through openstacksdk against the control plane's catalog; quotas are the
cloud's; Octavia is detected from the catalog; the key pair and hard anti-affinity checks catch
what Nova would refuse only after networks, ports and the load balancer were created.
"""

from __future__ import annotations

import json

import pytest
import yaml
from click.testing import CliRunner

from congress_tf.cli import main
from controlplane.harness import COMPUTE_HOSTS, IMAGE


def write_env(path, **overrides):
    env = {"name": "cp", "cloud": "controlplane", "image": IMAGE, "flavors": {"default": "m1.small"},
           "network": {"cidr": "198.18.10.0/24", "external_network": "public"}, "lb_provider": "auto",
           "auth_strategy": "noauth", "policy_engine_count": 2}
    env.update(overrides)
    path.write_text(yaml.safe_dump(env))
    return path


def validate(env_file, *extra):
    # No obj: the CLI's own cloud factory (openstacksdk, clouds.yaml from OS_CLIENT_CONFIG_FILE).
    return CliRunner().invoke(main, ["validate", *extra, str(env_file)])


def test_names_resolve_to_the_clouds_ids_and_auto_picks_octavia(tmp_path, cloud_env, admin):
    flavor = admin.compute.find_flavor("m1.medium")
    env_file = write_env(tmp_path / "env.yaml", flavors={"default": "m1.small", "policy_engine": flavor.id})
    result = validate(env_file, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["lb_provider"] == "octavia"
    assert data["ids"]["image"] == admin.image.find_image(IMAGE).id
    assert data["ids"]["flavor:default"] == admin.compute.find_flavor("m1.small").id
    assert data["ids"]["flavor:policy_engine"] == flavor.id
    assert data["ids"]["external_network"] == admin.network.find_network("public").id
    assert not (tmp_path / ".congress-tf").exists()


def test_without_a_load_balancer_endpoint_auto_is_haproxy_and_octavia_is_refused(tmp_path, cloud_env):
    env_file = write_env(tmp_path / "env.yaml", cloud="controlplane-no-octavia")
    result = validate(env_file, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["lb_provider"] == "haproxy"
    result = validate(write_env(tmp_path / "octavia.yaml", cloud="controlplane-no-octavia", lb_provider="octavia"))
    assert result.exit_code == 2
    assert "lb_provider: octavia asked for, but the cloud's catalog has no load-balancer endpoint" in result.output


def test_unknown_names_are_reported_with_the_clouds_close_matches(tmp_path, cloud_env):
    env_file = write_env(tmp_path / "env.yaml", image="debian-21", flavors={"default": "m1.smal"},
                         network={"cidr": "198.18.10.0/24", "external_network": "pubic"})
    result = validate(env_file)
    assert result.exit_code == 2
    for expected in ("image: no image named or with ID 'debian-21'; did you mean 'debian-12'?",
                     "flavors.default: no flavor named or with ID 'm1.smal'; did you mean 'm1.small'",
                     "network.external_network: no external network named or with ID 'pubic'; did you mean 'public'?"):
        assert expected in result.output, result.output


def test_quotas_are_the_projects_own(tmp_path, cloud_env, admin, member):
    project = member.current_project_id
    # Other tests' servers in this project count too: let any deletion finish, then read the usage
    # from the limits API the CLI reads (a server being deleted is listed but may no longer count).
    for server in member.compute.servers():
        if server.task_state == "deleting" or server.status == "DELETED":
            member.compute.wait_for_delete(server, wait=120)
    used = member.get_compute_limits().instances_used
    admin.set_compute_quotas(project, instances=used + 5, cores=100)
    try:
        env_file = write_env(tmp_path / "env.yaml", cloud="controlplane-member",
                             server_group_policy="soft-anti-affinity")
        result = validate(env_file)
        assert result.exit_code == 2, result.output
        # 2 policy engines + 2 datasource + MariaDB + RabbitMQ VMs.
        assert f"quota instances: this deployment needs 6, 5 free (limit {used + 5}, used {used})" in result.output
        admin.set_compute_quotas(project, instances=used + 6)
        assert validate(env_file).exit_code == 0
    finally:
        admin.set_compute_quotas(project, instances=10, cores=20)


def test_a_missing_key_pair_is_refused_before_anything_is_created(tmp_path, cloud_env, admin, unique):
    name = f"ops-{unique}"
    env_file = write_env(tmp_path / "env.yaml", key_pair=name)
    result = validate(env_file)
    assert result.exit_code == 2
    assert f"key_pair: no key pair named '{name}' for the cloud's user" in result.output
    keypair = admin.compute.create_keypair(name=name)
    try:
        result = validate(env_file)
        assert result.exit_code == 0, result.output
    finally:
        admin.compute.delete_keypair(keypair)


def test_hard_anti_affinity_larger_than_the_compute_hosts_is_refused(tmp_path, cloud_env):
    assert len(list(cloud_env.connect().compute.services(binary="nova-compute"))) == COMPUTE_HOSTS
    env_file = write_env(tmp_path / "env.yaml", policy_engine_count=COMPUTE_HOSTS + 1)
    result = validate(env_file)
    assert result.exit_code == 2
    assert (f"server_group_policy: anti-affinity needs {COMPUTE_HOSTS + 1} compute hosts for the policy-engine "
            f"group (policy_engine_count); the cloud has {COMPUTE_HOSTS} up and enabled") in result.output
    assert validate(write_env(tmp_path / "fits.yaml", policy_engine_count=COMPUTE_HOSTS)).exit_code == 0
    assert validate(write_env(tmp_path / "soft.yaml", policy_engine_count=COMPUTE_HOSTS + 1,
                              server_group_policy="soft-anti-affinity")).exit_code == 0


def test_a_disabled_compute_host_does_not_count(tmp_path, cloud_env, admin):
    service = next(s for s in admin.compute.services(binary="nova-compute") if s.host.endswith("-0"))
    admin.compute.disable_service(service, service.host, service.binary, disabled_reason="congress-tf test")
    try:
        result = validate(write_env(tmp_path / "env.yaml", policy_engine_count=COMPUTE_HOSTS))
        assert result.exit_code == 2
        assert f"the cloud has {COMPUTE_HOSTS - 1} up and enabled" in result.output
    finally:
        admin.compute.enable_service(service, service.host, service.binary)


def test_when_the_user_cannot_see_the_hosts_anti_affinity_is_a_warning(tmp_path, cloud_env):
    env_file = write_env(tmp_path / "env.yaml", cloud="controlplane-member", policy_engine_count=COMPUTE_HOSTS + 1)
    result = validate(env_file)
    assert result.exit_code == 0, result.output
    assert "warning: server_group_policy: anti-affinity puts the 4 VMs of the policy-engine group" in result.stderr
    assert "this user cannot see how many the cloud has" in result.stderr


@pytest.mark.parametrize("policy", ["soft-anti-affinity"])
def test_soft_anti_affinity_asks_nothing_about_hosts(tmp_path, cloud_env, policy):
    env_file = write_env(tmp_path / "env.yaml", cloud="controlplane-member", policy_engine_count=COMPUTE_HOSTS + 1,
                         server_group_policy=policy)
    result = validate(env_file)
    assert result.exit_code == 0 and "warning" not in result.stderr, result.output
