"""Every `congress-tf` command through click's CliRunner.

Plans and renders run the real Terraform against the offline provider double (no cloud); apply,
destroy and the happy paths that need a cloud run a scripted Terraform (fakes.fake_terraform) and
the in-memory cloud (fakes.FakeCloud), injected through click's `obj`, never by patching
openstacksdk.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography.fernet import Fernet

from congress_tf.cli import main
from congress_tf.cloud import LoadBalancerStatus
from congress_tf.state import StateDir
from congress_tf.terraform import ENV_VAR
from fakes import OUTPUTS, FakeCloud, FakeProbe, calls, fake_terraform
from paths import EXAMPLES, REPO

PASSWORDS = {"CONGRESS_TF_KEYSTONE_PASSWORD": "keystone-password-given-by-operator",
             "CONGRESS_TF_FENCING_PASSWORD": "fencing-password-given-by-operator"}


class NoCloud:
    """A cloud factory that fails the test if anything asks for the cloud."""

    def __call__(self, name):
        raise AssertionError(f"the cloud ({name!r}) was opened; this command must work with no cloud")


@pytest.fixture
def offline(monkeypatch, terraform_env):
    """Real Terraform with the offline provider double; operator passwords set."""
    monkeypatch.delenv(ENV_VAR, raising=False)
    for key, value in {**terraform_env, **PASSWORDS}.items():
        monkeypatch.setenv(key, value)
    return terraform_env


@pytest.fixture
def fake_tf(tmp_path, monkeypatch):
    for key, value in PASSWORDS.items():
        monkeypatch.setenv(key, value)
    return fake_terraform(tmp_path / "fake-tf")


def example(tmp_path: Path, name: str) -> Path:
    target = tmp_path / name / "env.yaml"
    target.parent.mkdir(parents=True)
    shutil.copyfile(REPO / "examples" / name / "env.yaml", target)
    return target


def invoke(args, obj=None, input=None):
    return CliRunner().invoke(main, [str(a) for a in args], obj=obj or {"cloud_factory": NoCloud()}, input=input)


def cmd_names(log: Path) -> list[str]:
    return [next(a for a in argv if not a.startswith("-chdir=")) for argv in calls(log)]


# --- init and validate ------------------------------------------------------------------------------

def test_init_writes_a_commented_env_yaml_that_validates_against_the_cloud(tmp_path):
    env_file = tmp_path / "lab.yaml"
    result = invoke(["init", env_file])
    assert result.exit_code == 0, result.output
    text = env_file.read_text()
    assert text.count("\n#") > 10 and "lb_provider: auto" in text
    cloud = FakeCloud()
    result = invoke(["validate", env_file], obj={"cloud_factory": cloud.factory})
    assert result.exit_code == 0, result.output
    assert "environment 'lab' is valid" in result.output and "lb_provider octavia" in result.output
    assert cloud.opened_as == ["mycloud"]


def test_init_refuses_to_overwrite(tmp_path):
    env_file = tmp_path / "lab.yaml"
    env_file.write_text("mine\n")
    result = invoke(["init", env_file])
    assert result.exit_code == 2 and "exists" in result.output
    assert env_file.read_text() == "mine\n"


def test_validate_json_gives_resolved_ids_and_auto_lb_without_octavia_is_haproxy(tmp_path):
    env_file = tmp_path / "lab.yaml"
    invoke(["init", env_file])
    result = invoke(["validate", "--json", env_file], obj={"cloud_factory": FakeCloud(load_balancer=False).factory})
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["lb_provider"] == "haproxy"
    assert data["ids"]["image"] == "11111111-1111-4111-8111-111111111111"
    assert data["ids"]["flavor:default"] == "f-medium"
    assert data["ids"]["external_network"] == "33333333-3333-4333-8333-333333333333"


def test_validate_reports_every_problem_together(tmp_path):
    env_file = tmp_path / "env.yaml"
    env_file.write_text("image: debian-13\nflavors: {default: m1.meduim}\n"
                        "network: {cidr: 10.20.0.0/24, external_network: pubic}\nauth_strategy: noauth\n"
                        "policy_engine_count: 64\n")
    result = invoke(["validate", env_file], obj={"cloud_factory": FakeCloud().factory})
    assert result.exit_code == 2
    for expected in ("preflight found 4 problem(s)", "image: no image", "did you mean 'debian-12'",
                     "flavors.default: no flavor", "network.external_network", "quota instances: this deployment "
                     "needs 68, 18 free (limit 20, used 2)"):
        assert expected in result.output, result.output
    assert not (tmp_path / ".congress-tf").exists()


def test_validate_offline_of_each_example(tmp_path, monkeypatch):
    for key, value in PASSWORDS.items():
        monkeypatch.setenv(key, value)
    for name in EXAMPLES:
        result = invoke(["validate", "--offline", example(tmp_path, name)])
        assert result.exit_code == 0, result.output


# --- render and plan of every example, no cloud ------------------------------------------------------

@pytest.mark.parametrize("name", EXAMPLES)
def test_render_each_example_with_no_cloud(name, tmp_path, offline, example_plans):
    env_file = example(tmp_path, name)
    out = tmp_path / "out"
    result = invoke(["render", env_file, out])
    assert result.exit_code == 0, result.output
    tfvars = json.loads((out / "tfvars.json").read_text())
    assert "secrets" not in tfvars
    files = sorted((out / "cloud-init").glob("*.yaml"))
    expected_nodes = {n for role in example_plans[name].outputs["nodes"].values() for n in role}
    assert {f.stem for f in files} == expected_nodes
    for f in files:
        assert f.read_text().startswith("#cloud-config"), f
        assert stat.S_IMODE(f.stat().st_mode) == 0o600
    assert {stat.S_IMODE(d.stat().st_mode) for d in (out, out / "cloud-init")} == {0o700}
    assert f"keep the directory {out} out of version control" in result.output
    # The same deployment as the example's terraform.tfvars: same resources, same public outputs.
    sd = StateDir(env_file, name)
    from congress_tf.terraform import Terraform, find_terraform
    shown = Terraform(find_terraform(), sd.module, env=sd.terraform_env()).show_json(sd.plan_file)
    ours = {k: v.get("value") for k, v in shown["planned_values"]["outputs"].items() if not v["sensitive"]}
    theirs = {k: v for k, v in example_plans[name].outputs.items() if k != "cloud_init"}
    assert ours == theirs
    assert sorted(c["address"] for c in shown["resource_changes"]) == sorted(example_plans[name].changes)


@pytest.mark.parametrize("name", EXAMPLES)
def test_plan_each_example_with_no_cloud(name, tmp_path, offline):
    result = invoke(["plan", example(tmp_path, name)])
    assert result.exit_code == 0, result.output
    assert "+ create   module.policy_engine.openstack_compute_instance_v2.node[\"congress-pe-1\"]" in result.output
    assert "to add, 0 to change, 0 to destroy." in result.output


def test_plan_json_is_data_on_stdout(tmp_path, offline):
    result = CliRunner().invoke(main, ["plan", "--json", str(example(tmp_path, "minimal"))],
                                obj={"cloud_factory": NoCloud()})
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["summary"]["add"] == len(data["changes"]) > 30
    assert "Plan:" in result.stderr


def test_plan_with_names_resolves_them_on_the_cloud_first(tmp_path, offline):
    env_file = tmp_path / "env.yaml"
    env_file.write_text("cloud: lab\nimage: debian-12\nflavors: {default: m1.medium, backing: m1.large}\n"
                        "network: {cidr: 10.20.0.0/24, external_network: public}\nauth_strategy: noauth\n")
    cloud = FakeCloud(load_balancer=False)
    result = invoke(["plan", env_file], obj={"cloud_factory": cloud.factory})
    assert result.exit_code == 0, result.output
    assert cloud.opened_as == ["lab"]
    tfvars = json.loads((tmp_path / ".congress-tf" / "env" / "tfvars.json").read_text())
    assert tfvars["image_id"] == "11111111-1111-4111-8111-111111111111"
    assert tfvars["flavor_ids"] == {"default": "f-medium", "backing": "f-large"}
    assert tfvars["lb_provider"] == "haproxy"
    assert "module.lb_haproxy[0]" in result.output


def test_secrets_are_generated_once_with_mode_0600_and_never_rewritten(tmp_path, offline):
    env_file = example(tmp_path, "minimal")
    assert invoke(["render", env_file, tmp_path / "a"]).exit_code == 0
    secrets_file = tmp_path / "minimal" / ".congress-tf" / "minimal" / "secrets.json"
    first = secrets_file.read_text()
    assert stat.S_IMODE(secrets_file.stat().st_mode) == 0o600
    values = json.loads(first)["secrets"]
    fernet_key = values.pop("encryption_key")
    assert all(len(v) >= 16 and all(c.isalnum() or c in "._~-" for c in v) for v in values.values())
    assert len(set(values.values())) == len(values)
    Fernet(fernet_key.encode())  # Congress's key format (congress/encryption.py), or this raises
    mtime = secrets_file.stat().st_mtime_ns
    assert invoke(["plan", env_file]).exit_code == 0
    assert secrets_file.read_text() == first and secrets_file.stat().st_mtime_ns == mtime


def test_secrets_of_an_older_version_get_the_new_ones_once_and_keep_theirs(tmp_path, offline):
    env_file = example(tmp_path, "minimal")
    sd = StateDir(env_file, "minimal")
    sd.create()
    old = {"db_password": "old-db-password-0001", "rabbit_password": "old-rabbit-password-01",
           "cluster_auth_key": "old-cluster-key-000001", "vrrp_password": "old-vrrp-password-0001"}
    sd.secrets_file.write_text(json.dumps({"secrets": old}))
    assert invoke(["render", env_file, tmp_path / "a"]).exit_code == 0
    first = json.loads(sd.secrets_file.read_text())["secrets"]
    assert {k: first[k] for k in old} == old and set(first) == set(old) | {"encryption_key", "erlang_cookie"}
    Fernet(first["encryption_key"].encode())
    assert stat.S_IMODE(sd.secrets_file.stat().st_mode) == 0o600
    assert invoke(["render", env_file, tmp_path / "b"]).exit_code == 0
    assert json.loads(sd.secrets_file.read_text())["secrets"] == first     # made once


def test_a_stored_encryption_key_that_is_no_fernet_key_is_refused(tmp_path, offline):
    env_file = example(tmp_path, "minimal")
    assert invoke(["render", env_file, tmp_path / "a"]).exit_code == 0
    sd = StateDir(env_file, "minimal")
    stored = json.loads(sd.secrets_file.read_text())
    stored["secrets"]["encryption_key"] = "not-a-fernet-key-but-long-enough-0123456789"
    sd.secrets_file.write_text(json.dumps(stored))
    result = invoke(["render", env_file, tmp_path / "b"])
    assert result.exit_code == 2 and "secrets.encryption_key" in result.output and "Fernet key" in result.output
    assert "not-a-fernet-key" not in result.output


def test_no_generated_secret_appears_in_any_output_of_a_full_run(tmp_path, offline):
    """Every output of render, plan, plan --json, validate --json (with -v debug logs), every file
    written except the ones that exist to hold secrets, and every non-sensitive planned output."""
    env_file = example(tmp_path, "production")
    out = tmp_path / "out"
    seen = []
    for args in (["-v", "render", env_file, out], ["-v", "plan", env_file], ["-v", "plan", "--json", env_file],
                 ["-v", "validate", "--offline", "--json", env_file]):
        result = invoke(args)
        assert result.exit_code == 0, result.output
        seen.append(result.output)
    assert "DEBUG congress_tf.terraform: run:" in "".join(seen)  # the debug log is part of what was checked
    sd = StateDir(env_file, "production")
    secrets = list(json.loads(sd.secrets_file.read_text())["secrets"].values()) + list(PASSWORDS.values())
    holders = {sd.secrets_file, sd.root / "secrets.tfvars.json", sd.plan_file} | set((out / "cloud-init").iterdir())
    for path in [*out.rglob("*"), *sd.root.rglob("*")]:
        if path.is_file() and path not in holders and "tf-data" not in path.parts:
            seen.append(path.read_text(errors="replace"))
    from congress_tf.terraform import Terraform, find_terraform
    shown = Terraform(find_terraform(), sd.module, env=sd.terraform_env()).show_json(sd.plan_file)
    seen += [json.dumps(o.get("value")) for o in shown["planned_values"]["outputs"].values() if not o["sensitive"]]
    everything = "\n".join(seen)
    for secret in secrets:
        assert secret not in everything
    # ...while the cloud-init files do carry them (proof the grep would have found them).
    assert any(s in (out / "cloud-init" / "congress-pe-0.yaml").read_text() for s in secrets)


# --- apply ------------------------------------------------------------------------------------------------

def test_apply_shows_progress_per_resource_then_the_api_vip_and_url(tmp_path, fake_tf):
    terraform, log = fake_tf
    cloud = FakeCloud()
    result = invoke(["--terraform", terraform, "apply", "--yes", example(tmp_path, "minimal")],
                    obj={"cloud_factory": cloud.factory})
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "  created    module.network.openstack_networking_network_v2.cluster[0]  (3s)" in lines
    assert '  created    module.policy_engine.openstack_compute_instance_v2.node["congress-pe-0"]  (13s)' in lines
    assert "Apply complete! Resources: 3 added, 0 changed, 0 destroyed." in lines
    assert lines[-2:] == ["API VIP: 10.20.0.10", "API URL: http://10.20.0.10:1789/"]
    assert "SENSITIVE-CANARY" not in result.output
    assert cmd_names(log) == ["init", "apply", "output"]
    apply_argv = calls(log)[1]
    assert any(a.endswith("/tfvars.json") for a in apply_argv) and any(a.endswith("/secrets.tfvars.json")
                                                                       for a in apply_argv)
    assert cloud.opened_as == ["lab"]  # preflight (quotas) always runs before an apply


def test_apply_json_puts_only_public_outputs_on_stdout(tmp_path, fake_tf):
    terraform, _ = fake_tf
    result = CliRunner().invoke(main, ["--terraform", str(terraform), "apply", "--yes", "--json",
                                       str(example(tmp_path, "minimal"))], obj={"cloud_factory": FakeCloud().factory})
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["api_url"] == "http://10.20.0.10:1789/" and "cloud_init" not in data
    assert "created" in result.stderr


def test_apply_asks_first_and_declining_applies_nothing(tmp_path, fake_tf):
    terraform, log = fake_tf
    result = invoke(["--terraform", terraform, "apply", example(tmp_path, "minimal")],
                    obj={"cloud_factory": FakeCloud().factory}, input="n\n")
    assert result.exit_code == 2, result.output
    assert "Apply these changes to environment 'minimal'?" in result.output
    assert cmd_names(log) == ["init", "plan"]


def test_apply_after_yes_applies_the_saved_plan(tmp_path, fake_tf):
    terraform, log = fake_tf
    result = invoke(["--terraform", terraform, "apply", example(tmp_path, "minimal")],
                    obj={"cloud_factory": FakeCloud().factory}, input="y\n")
    assert result.exit_code == 0, result.output
    assert cmd_names(log) == ["init", "plan", "apply", "output"]
    assert calls(log)[2][-1].endswith("last.tfplan")


def test_apply_backs_up_the_state_first(tmp_path, fake_tf):
    terraform, _ = fake_tf
    env_file = example(tmp_path, "minimal")
    sd = StateDir(env_file, "minimal")
    sd.create()
    sd.state_file.write_text('{"version": 4, "serial": 7}')
    result = invoke(["--terraform", terraform, "apply", "--yes", env_file], obj={"cloud_factory": FakeCloud().factory})
    assert result.exit_code == 0, result.output
    backups = list(sd.backups.iterdir())
    assert len(backups) == 1 and backups[0].read_text() == '{"version": 4, "serial": 7}'
    assert f"state backed up to {backups[0]}" in result.output


def test_apply_failure_is_exit_1_with_terraforms_own_error_after_one_summary_line(tmp_path, offline):
    """The provider double cannot create anything: a real Terraform failure."""
    result = invoke(["apply", "--yes", example(tmp_path, "minimal")], obj={"cloud_factory": FakeCloud().factory})
    assert result.exit_code == 1, result.output
    error = result.output[result.output.index("Error: "):]
    assert error.startswith("Error: terraform apply failed (exit code 1); Terraform said:\nError: offline double")
    assert "FAILED     module." in result.output


def test_second_concurrent_apply_is_refused_naming_the_holder(tmp_path, fake_tf):
    terraform, log = fake_tf
    env_file = example(tmp_path, "minimal")
    with StateDir(env_file, "minimal").locked():
        result = invoke(["--terraform", terraform, "apply", "--yes", env_file],
                        obj={"cloud_factory": FakeCloud().factory})
    assert result.exit_code == 2, result.output
    assert f"environment 'minimal' is in use by another congress-tf run (pid {os.getpid()}" in result.output
    assert calls(log) == []


def test_apply_is_refused_while_another_process_holds_the_environment(tmp_path, fake_tf):
    terraform, log = fake_tf
    env_file = example(tmp_path, "minimal")
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import sys, time
            from congress_tf.state import StateDir
            with StateDir({str(env_file)!r}, "minimal").locked():
                print("held", flush=True)
                sys.stdin.read()
        """)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        result = invoke(["--terraform", terraform, "apply", "--yes", env_file],
                        obj={"cloud_factory": FakeCloud().factory})
        assert result.exit_code == 2, result.output
        assert f"(pid {holder.pid};" in result.output
        assert calls(log) == []
    finally:
        holder.communicate("", timeout=30)
    # Once the holder is gone, the environment is free again.
    result = invoke(["--terraform", terraform, "apply", "--yes", env_file], obj={"cloud_factory": FakeCloud().factory})
    assert result.exit_code == 0, result.output


# --- output, status, destroy ------------------------------------------------------------------------------

def seed_state(env_file: Path, name: str) -> None:
    sd = StateDir(env_file, name)
    sd.create()
    sd.state_file.write_text(json.dumps({
        "version": 4, "terraform_version": "1.6.0", "serial": 1, "lineage": "00000000-0000-4000-8000-000000000000",
        "outputs": {k: {"value": v["value"], "type": v["type"], **({"sensitive": True} if v["sensitive"] else {})}
                    for k, v in OUTPUTS.items()},
        "resources": [], "check_results": None}))


def test_output_reads_the_state_and_never_shows_sensitive_outputs(tmp_path, offline):
    env_file = example(tmp_path, "minimal")
    seed_state(env_file, "minimal")
    result = invoke(["output", env_file])
    assert result.exit_code == 0, result.output
    assert "api_url: http://10.20.0.10:1789/" in result.output
    assert "policy_engine  congress-pe-1" in result.output
    result = invoke(["output", "--json", env_file])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["nodes"]["datasource"]["congress-ds-0"] == "10.20.0.20" and "cloud_init" not in data
    assert "SENSITIVE-CANARY" not in result.output


def test_output_of_an_environment_never_applied_is_exit_1(tmp_path, offline):
    result = invoke(["output", example(tmp_path, "minimal")])
    assert result.exit_code == 1 and "has not been applied" in result.output


def status_cloud() -> FakeCloud:
    members = {"10.20.0.100": "ONLINE", "10.20.0.101": "ONLINE"}
    names = ["congress-pe-0", "congress-pe-1", "congress-ds-0", "congress-ds-1", "congress-db", "congress-mq"]
    return FakeCloud(lb_status=LoadBalancerStatus("ACTIVE", "ONLINE", members), servers={n: "ACTIVE" for n in names})


def test_status_checks_vip_nodes_lb_and_vms(tmp_path, offline):
    env_file = example(tmp_path, "minimal")
    seed_state(env_file, "minimal")
    probe = FakeProbe()
    result = invoke(["status", env_file], obj={"cloud_factory": status_cloud().factory, "probe": lambda: probe})
    assert result.exit_code == 0, result.output
    assert "http://10.20.0.10:1789/" in probe.asked and "http://10.20.0.101:1789/" in probe.asked
    assert "10.20.0.21:22" in probe.asked
    assert "octavia member" in result.output and result.output.rstrip().endswith("14/14 checks ok")


def test_status_with_a_node_down_is_exit_1_and_says_which(tmp_path, offline):
    env_file = example(tmp_path, "minimal")
    seed_state(env_file, "minimal")
    cloud = status_cloud()
    cloud.lb_status = LoadBalancerStatus("ACTIVE", "DEGRADED", {"10.20.0.100": "ONLINE", "10.20.0.101": "ERROR"})
    result = invoke(["status", "--json", env_file],
                    obj={"cloud_factory": cloud.factory, "probe": lambda: FakeProbe(down={"10.20.0.101"})})
    assert result.exit_code == 1, result.output
    failed = {(c["check"], c["target"]) for c in json.loads(result.output) if not c["ok"]}
    assert failed == {("api on node", "congress-pe-1 http://10.20.0.101:1789/"),
                      ("octavia load balancer", "congress-api"), ("octavia member", "10.20.0.101")}


def test_destroy_asks_for_the_environment_name_and_refuses_another(tmp_path, fake_tf):
    terraform, log = fake_tf
    result = invoke(["--terraform", terraform, "destroy", example(tmp_path, "minimal")], input="prod\n")
    assert result.exit_code == 2 and "not destroying" in result.output
    assert calls(log) == []


def test_destroy_with_the_right_name_destroys_with_progress(tmp_path, fake_tf):
    terraform, log = fake_tf
    env_file = example(tmp_path, "minimal")
    seed_state(env_file, "minimal")
    result = invoke(["--terraform", terraform, "destroy", env_file], input="minimal\n")
    assert result.exit_code == 0, result.output
    assert "destroyed  module.network.openstack_networking_network_v2.cluster[0]  (3s)" in result.output
    assert "environment 'minimal' destroyed" in result.output
    assert cmd_names(log) == ["init", "destroy"]
    assert len(list(StateDir(env_file, "minimal").backups.iterdir())) == 1


# --- backends ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("state, backend", [
    ("{backend: s3, bucket: tfstate, key: congress/lab.tfstate, endpoint: 'https://s3.example.invalid'}", "s3"),
    ("{backend: http, address: 'https://state.example.invalid/congress'}", "http"),
])
def test_remote_backend_is_written_into_the_working_copy_and_state_pulled_for_backup(tmp_path, fake_tf, state, backend):
    terraform, log = fake_tf
    env_file = example(tmp_path, "minimal")
    env_file.write_text(env_file.read_text() + f"state: {state}\n")
    result = invoke(["--terraform", terraform, "apply", "--yes", env_file], obj={"cloud_factory": FakeCloud().factory})
    assert result.exit_code == 0, result.output
    written = json.loads((StateDir(env_file, "minimal").module / "congress_tf_backend.tf.json").read_text())
    assert list(written["terraform"]["backend"]) == [backend]
    assert cmd_names(log) == ["init", "state", "apply", "output"]


# --- bad input is found before anything is written ----------------------------------------------------------

@pytest.mark.parametrize("args", [["plan"], ["render", "OUT"], ["apply", "--yes"], ["destroy", "--yes"], ["output"],
                                  ["status"]], ids=lambda a: a[0])
@pytest.mark.parametrize("how", ["option", "env"])
def test_a_wrong_terraform_is_refused_before_anything_is_written(tmp_path, monkeypatch, args, how):
    for key, value in PASSWORDS.items():
        monkeypatch.setenv(key, value)
    env_file = example(tmp_path, "minimal")
    missing = tmp_path / "no-such-terraform"
    if how == "env":
        monkeypatch.setenv(ENV_VAR, str(missing))
        head = []
    else:
        monkeypatch.delenv(ENV_VAR, raising=False)
        head = ["--terraform", missing]
    command = [a if a != "OUT" else tmp_path / "out" for a in args]
    result = invoke([*head, command[0], env_file, *command[1:]])
    assert result.exit_code == 2, result.output
    assert "does not exist" in result.output and str(missing) in result.output
    assert sorted(p.name for p in env_file.parent.iterdir()) == ["env.yaml"]
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("command", ["output", "status"])
def test_output_and_status_of_an_environment_never_applied_create_nothing_and_run_nothing(tmp_path, fake_tf, command):
    terraform, log = fake_tf
    env_file = example(tmp_path, "minimal")
    result = invoke(["--terraform", terraform, command, env_file])
    assert result.exit_code == 1, result.output
    assert "environment 'minimal' has not been applied yet" in result.output
    assert calls(log) == [] and sorted(p.name for p in env_file.parent.iterdir()) == ["env.yaml"]


def test_init_into_a_missing_directory_is_bad_input(tmp_path):
    result = invoke(["init", tmp_path / "envs" / "lab.yaml"])
    assert result.exit_code == 2, result.output
    assert f"directory {tmp_path / 'envs'} does not exist" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_init_names_the_environment_only_from_a_usable_file_name(tmp_path):
    for stem, name in (("lab-2", "lab-2"), ("lab_2", "congress"), ("Lab", "congress")):
        assert invoke(["init", tmp_path / f"{stem}.yaml"]).exit_code == 0
        assert f"\nname: {name} " in (tmp_path / f"{stem}.yaml").read_text()


def test_validate_offline_accepts_the_template_init_writes(tmp_path):
    env_file = tmp_path / "lab.yaml"
    assert invoke(["init", env_file]).exit_code == 0
    result = invoke(["validate", "--offline", env_file])
    assert result.exit_code == 0, result.output
    assert "not looked up: image, flavors.default, network.external_network" in result.output
    assert "lb_provider auto is decided on the cloud" in result.output


@pytest.fixture
def clouds_yaml(tmp_path, monkeypatch):
    path = tmp_path / "clouds.yaml"
    path.write_text("clouds:\n  lab:\n    auth: {auth_url: 'https://keystone.example.invalid:5000/v3'}\n"
                    "  staging:\n    auth: {auth_url: 'https://keystone.example.invalid:5000/v3'}\n")
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(path))
    monkeypatch.delenv("OS_CLOUD", raising=False)
    return path


@pytest.mark.parametrize("command", ["validate", "render"])
@pytest.mark.parametrize("where", ["env.yaml", "OS_CLOUD"])
def test_an_unknown_cloud_is_bad_input_saying_where_it_looked(tmp_path, clouds_yaml, monkeypatch, where, command):
    """The real openstacksdk configuration loader, no cloud contacted; render needs no cloud, but
    the OpenStack provider reads the entry all the same."""
    env_file = tmp_path / "env.yaml"
    env_file.write_text(("cloud: labb\n" if where == "env.yaml" else "")
                        + "image: debian-12\nflavors: {default: m1.medium}\nnetwork: {cidr: 198.18.0.0/24}\n"
                          "auth_strategy: noauth\n")
    if where == "OS_CLOUD":
        monkeypatch.setenv("OS_CLOUD", "labb")
    out = [str(tmp_path / "out")] if command == "render" else []
    result = CliRunner().invoke(main, [command, str(env_file), *out])
    assert result.exit_code == 2, result.output
    assert "'labb', which no clouds.yaml defines" in result.output
    assert f"{clouds_yaml} has: lab, staging" in result.output
    assert "/etc/openstack/clouds.yaml" in result.output and "Traceback" not in result.output
    assert ("env.yaml's `cloud`" if where == "env.yaml" else "$OS_CLOUD names") in result.output
    assert not (tmp_path / ".congress-tf").exists()


# --- secrets on disk ------------------------------------------------------------------------------------------

@pytest.fixture
def loose_umask():
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_plan_file_and_state_are_0600_whatever_the_umask(tmp_path, fake_tf, loose_umask):
    terraform, _ = fake_tf
    env_file = example(tmp_path, "minimal")
    sd = StateDir(env_file, "minimal")
    seed_state(env_file, "minimal")  # as an older run left it: 0644
    (sd.root / "terraform.tfstate.backup").write_text("{}")
    for path in (sd.state_file, sd.root / "terraform.tfstate.backup"):
        path.chmod(0o644)
    result = invoke(["--terraform", terraform, "plan", env_file], obj={"cloud_factory": FakeCloud().factory})
    assert result.exit_code == 0, result.output
    assert sd.plan_file.read_text() == "fake plan"  # written by "Terraform" itself, under our umask
    for path in (sd.plan_file, sd.state_file, sd.root / "terraform.tfstate.backup", sd.secrets_file,
                 sd.root / "secrets.tfvars.json"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert stat.S_IMODE(sd.root.stat().st_mode) == 0o700
    assert os.umask(0o022) == 0o022  # put back after the run
