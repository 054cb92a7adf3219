"""env.yaml schema, its errors, the tfvars it becomes, preflight and progress: plain functions."""

from __future__ import annotations

import json

import pytest

from congress_tf import cloud as cl
from congress_tf import envfile
from congress_tf.progress import Progress
from congress_tf.state import StateDir
from congress_tf.template import TEMPLATE
from fakes import FakeCloud
from paths import EXAMPLES, REPO


@pytest.mark.parametrize("name", EXAMPLES)
def test_each_example_env_yaml_is_valid_and_needs_no_cloud(name):
    env, env_name = envfile.load(REPO / "examples" / name / "env.yaml")
    assert env_name == name
    assert not env.needs_cloud()


def test_template_is_valid_and_speaks_names(tmp_path):
    path = tmp_path / "lab.yaml"
    path.write_text(TEMPLATE.format(file="lab.yaml", name="lab"))
    env, name = envfile.load(path)
    assert name == "lab" and env.needs_cloud() and env.lb_provider == "auto"


def test_problems_are_collected_and_reported_together(tmp_path):
    path = tmp_path / "env.yaml"
    path.write_text("image: x\nflavors: {default: y, backng: z}\nnetwork: {cidr: 10.0.0.0/28}\n"
                    "lb_provider: nginx\npolicy_engine_count: 1\nauth_strategy: noauth\n")
    with pytest.raises(envfile.EnvFileError) as caught:
        envfile.load(path)
    problems = caught.value.problems
    assert len(problems) == 4, problems
    assert any(p.startswith("flavors.backng: unknown key; did you mean 'backing'?") for p in problems)
    assert any(p.startswith("network.cidr:") and "/24 or larger" in p for p in problems)
    assert any(p.startswith("lb_provider: 'nginx' is not allowed") for p in problems)
    assert any(p.startswith("policy_engine_count: 1 is out of range") and "2 to 64" in p for p in problems)


def test_environment_name_defaults_to_the_file_stem(tmp_path):
    path = tmp_path / "staging-2.yaml"
    path.write_text("image: x\nflavors: {default: y}\nnetwork: {cidr: 10.0.0.0/24}\nauth_strategy: noauth\n")
    assert envfile.load(path)[1] == "staging-2"


def test_tfvars_keys_are_the_root_modules_variables_minus_auth_and_secrets():
    env, _ = envfile.load(REPO / "examples" / "production" / "env.yaml")
    tfvars = envfile.tfvars(env, envfile.given_ids(env), "octavia")
    variables = set(__import__("re").findall(r'^variable "(\w+)"', (REPO / "terraform" / "variables.tf").read_text(),
                                             __import__("re").M))
    assert set(tfvars) == variables - {"auth", "secrets", "haproxy_tls"}   # sensitive: the secrets var file
    assert tfvars["flavor_ids"] == {"default": "00000000-0000-4000-8000-0000000f1a02",
                                    "policy_engine": "00000000-0000-4000-8000-0000000f1a04",
                                    "backing": "00000000-0000-4000-8000-0000000f1a08"}
    assert "password_env" not in json.dumps(tfvars)


@pytest.mark.parametrize("example, lb_provider", [("no-octavia", "haproxy"), ("production", "octavia")])
def test_demand_counts_what_the_root_module_creates(example_plans, example, lb_provider):
    """The quota preflight's counts equal what the example's plan really creates (backing mode
    single and cluster)."""
    env, _ = envfile.load(REPO / "examples" / example / "env.yaml")
    flavor = cl.Flavor("f", "m1", 2, 4096)
    need = cl.demand(env, lb_provider, {"default": flavor})
    plan = example_plans[example]
    created = {
        "instances": "openstack_compute_instance_v2",
        "server_groups": "openstack_compute_servergroup_v2",
        "ports": "openstack_networking_port_v2",
        "security_groups": "openstack_networking_secgroup_v2",
        "security_group_rules": "openstack_networking_secgroup_rule_v2",
        "networks": "openstack_networking_network_v2",
    }
    if example == "production":
        # Octavia makes the VIP's port and the router's interface is no port resource here:
        # ports are compared on no-octavia only.
        del created["ports"]
    assert {quota: need[quota] for quota in created} == {quota: len(plan.of_type(t)) for quota, t in created.items()}
    assert need["cores"] == 2 * need["instances"] and need["ram"] == 4096 * need["instances"]


def test_quota_problem_says_the_numbers():
    problems = cl.quota_problems({"ram": 16384, "ports": 3}, {"ram": cl.Quota(20480, 8192), "ports": cl.Quota(-1, 50)})
    assert problems == ["quota ram: this deployment needs 16384 MiB, 12288 MiB free (limit 20480 MiB, used 8192 MiB)"]


def test_ambiguous_name_asks_for_the_id(tmp_path):
    cloud = FakeCloud()
    cloud.images_.append(cl.Found("99999999-9999-4999-8999-999999999999", "debian-12"))
    path = tmp_path / "env.yaml"
    path.write_text("image: debian-12\nflavors: {default: m1.small}\nnetwork: {cidr: 10.0.0.0/24}\n"
                    "auth_strategy: noauth\nlb_provider: haproxy\n")
    resolved = cl.resolve(envfile.load(path)[0], cloud)
    assert resolved.problems == ["image: 'debian-12' is ambiguous: 2 match (11111111-1111-4111-8111-111111111111, "
                                 "99999999-9999-4999-8999-999999999999); give the ID"]


def test_progress_is_a_line_per_resource_with_elapsed_time_and_no_values():
    lines = []
    progress = Progress(lambda line, err: lines.append(line))
    res = {"addr": "module.x.openstack_compute_instance_v2.node[\"a\"]"}
    progress({"type": "apply_start", "hook": {"resource": res, "action": "create"}})
    progress({"type": "apply_progress", "hook": {"resource": res, "action": "create", "elapsed_seconds": 60}})
    progress({"type": "apply_complete", "hook": {"resource": res, "action": "create", "elapsed_seconds": 75,
                                                 "id_key": "id", "id_value": "abc"}})
    progress({"type": "apply_errored", "hook": {"resource": res, "action": "delete", "elapsed_seconds": 2}})
    progress({"type": "change_summary", "@message": "Apply complete! Resources: 1 added, 0 changed, 0 destroyed.",
              "changes": {"add": 1}})
    progress({"type": "outputs", "outputs": {"api_vip": {"value": "10.0.0.10"}}})
    assert lines == ['  ...        module.x.openstack_compute_instance_v2.node["a"]  (1m00s)',
                     '  created    module.x.openstack_compute_instance_v2.node["a"]  (1m15s)',
                     '  FAILED     module.x.openstack_compute_instance_v2.node["a"]  (after 2s)',
                     "Apply complete! Resources: 1 added, 0 changed, 0 destroyed."]
    assert progress.outputs["api_vip"]["value"] == "10.0.0.10"


def test_state_backend_is_local_by_default_with_the_state_beside_env_yaml(tmp_path):
    path = tmp_path / "env.yaml"
    path.write_text("image: x\nflavors: {default: y}\nnetwork: {cidr: 10.0.0.0/24}\nauth_strategy: noauth\n")
    env, name = envfile.load(path)
    sd = StateDir(path, name)
    assert sd.backend(env) == {"terraform": {"backend": {"local": {"path": str(tmp_path / ".congress-tf" / "env"
                                                                              / "terraform.tfstate")}}}}


# --- what editors and copy-paste produce -----------------------------------------------------------

GOOD_ENV = ("name: lab\nimage: debian-12\nflavors: {default: m1.medium}\nnetwork: {cidr: 198.18.0.0/24}\n"
            "auth_strategy: noauth\nlb_provider: haproxy\nkey_pair: ops key\napi_port: 8779\n")


@pytest.mark.parametrize("encoding, newline", [("utf-8-sig", "\r\n"), ("utf-8", "\r")])
def test_windows_editors_utf8_files_read_as_the_same_env(tmp_path, encoding, newline):
    """Notepad's UTF-8 with a byte-order mark, CRLF or old-Mac CR."""
    path = tmp_path / "env.yaml"
    path.write_bytes(GOOD_ENV.replace("\n", newline).encode(encoding))
    env, name = envfile.load(path)
    assert (name, env.key_pair, env.api_port, env.network.cidr) == ("lab", "ops key", 8779, "198.18.0.0/24")


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be-with-mark"])
def test_a_valid_env_saved_as_utf16_is_refused_with_how_to_fix_it(tmp_path, encoding):
    """Notepad's "Unicode": the content is fine, the encoding is not what Terraform and we read."""
    path = tmp_path / "env.yaml"
    text = GOOD_ENV.replace("\n", "\r\n")
    path.write_bytes(text.encode("utf-16") if encoding == "utf-16" else b"\xfe\xff" + text.encode("utf-16-be"))
    with pytest.raises(envfile.EnvFileError, match="UTF-16.*save it again choosing UTF-8"):
        envfile.load(path)


def test_a_file_far_bigger_than_any_env_yaml_is_refused_unread(tmp_path):
    path = tmp_path / "env.yaml"
    path.write_text(GOOD_ENV + "# padding\n" * 40000)
    with pytest.raises(envfile.EnvFileError, match="at most 256 KiB"):
        envfile.load(path)


def test_plain_yaml_values_still_read_as_usual(tmp_path):
    """Only YAML 1.1's surprises are refused: decimals, true/false, null and quoted text are fine."""
    path = tmp_path / "env.yaml"
    path.write_text(GOOD_ENV + "policy_engine_count: +3\nfloating_ip_pool: null\nname_prefix: 'no'\n"
                    "state: {backend: s3, bucket: tf-state, key: '010', use_path_style: False}\n")
    env, _ = envfile.load(path)
    assert (env.policy_engine_count, env.state.key, env.state.use_path_style, env.name_prefix) == (3, "010", False, "no")


def test_problems_beyond_twenty_are_counted_not_listed(tmp_path):
    path = tmp_path / "env.yaml"
    path.write_text(GOOD_ENV + "".join(f"extra_{i}: 1\n" for i in range(100)))
    with pytest.raises(envfile.EnvFileError) as caught:
        envfile.load(path)
    assert caught.value.total == 100 and len(caught.value.problems) == envfile.MAX_PROBLEMS + 1
    assert caught.value.problems[-1] == "... and 80 more problem(s) not shown"
    assert sum("allowed keys here" in p for p in caught.value.problems) == 1
