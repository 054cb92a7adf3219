"""The per-environment working copy (StateDir.prepare_work): brought up to date file by file, and
`terraform init` asked for only when what it depends on changed."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from congress_tf.envfile import load
from congress_tf.state import StateDir
from congress_tf.terraform import Terraform

from test_commands import example, invoke, offline  # noqa: F401 (a fixture)


@pytest.fixture
def sources(tmp_path) -> tuple[Path, Path]:
    terraform = tmp_path / "src" / "terraform"
    (terraform / "modules" / "nodes").mkdir(parents=True)
    (terraform / "main.tf").write_text('module "nodes" {\n  source = "./modules/nodes"\n}\n')
    (terraform / "modules" / "nodes" / "main.tf").write_text('variable "x" {\n  default = 1\n}\n')
    (terraform / ".terraform").mkdir()  # someone ran `terraform init` in the package: never copied
    (terraform / "old.tfstate").write_text("{}")
    cloudinit = tmp_path / "src" / "cloudinit"
    cloudinit.mkdir()
    (cloudinit / "node.yaml.tftpl").write_text("#cloud-config\n")
    return terraform, cloudinit


@pytest.fixture
def workdir(tmp_path, sources):
    env_file = tmp_path / "env.yaml"
    shutil.copyfile(Path(__file__).parents[2] / "examples" / "minimal" / "env.yaml", env_file)
    env, name = load(env_file)
    sd = StateDir(env_file, name)

    def prepare(tfvars=None, environment=env):
        return sd.prepare_work(environment, *sources, tfvars, None)

    return sd, prepare


def files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_working_copy_holds_the_package_files_and_the_backend(workdir, sources):
    sd, prepare = workdir
    prepare()
    terraform, cloudinit = sources
    copied = files(sd.work)
    assert set(copied) == {"terraform/main.tf", "terraform/modules/nodes/main.tf", "terraform/congress_tf_backend.tf.json",
                           "cloudinit/node.yaml.tftpl"}
    assert copied["terraform/main.tf"] == (terraform / "main.tf").read_bytes()
    backend = json.loads(copied["terraform/congress_tf_backend.tf.json"])
    assert backend == {"terraform": {"backend": {"local": {"path": str(sd.state_file)}}}}


def test_a_second_run_rewrites_nothing_unchanged_and_follows_every_change(workdir, sources):
    sd, prepare = workdir
    terraform, cloudinit = sources
    prepare({"a": 1})
    before = {p: os.stat(p).st_ino for p in [*sd.work.rglob("*"), sd.tfvars] if p.is_file()}
    prepare({"a": 1})
    assert {p: os.stat(p).st_ino for p in before} == before  # same files, not new copies

    (terraform / "modules" / "nodes" / "main.tf").write_text('variable "x" {\n  default = 2\n}\n')
    (terraform / "extra.tf").write_text("# new\n")
    shutil.rmtree(terraform / "modules")
    (terraform / "modules").mkdir()
    (terraform / "modules" / "nodes").write_text("now a file")  # a directory became a file
    (cloudinit / "node.yaml.tftpl").unlink()
    (sd.work / "cloudinit" / "stray").mkdir()  # left by something else: goes
    prepare({"a": 2})
    assert files(sd.work) == {
        "terraform/main.tf": (terraform / "main.tf").read_bytes(),
        "terraform/extra.tf": b"# new\n",
        "terraform/modules/nodes": b"now a file",
        "terraform/congress_tf_backend.tf.json": (sd.module / "congress_tf_backend.tf.json").read_bytes(),
    }
    assert json.loads(sd.tfvars.read_text()) == {"a": 2}


def test_init_only_when_the_module_backend_or_provider_lock_changed(workdir, sources):
    sd, prepare = workdir
    terraform, _ = sources
    assert prepare()[2] is True  # never initialised
    sd.data_dir.mkdir()
    (sd.module / ".terraform.lock.hcl").write_text("# providers v1\n")  # what init writes
    sd.init_done()
    assert prepare()[2] is False
    assert (sd.module / ".terraform.lock.hcl").read_text() == "# providers v1\n"  # kept across runs

    (terraform / "modules" / "nodes" / "main.tf").write_text('variable "x" {\n  default = 3\n}\n')
    assert prepare()[2] is True  # a module changed
    sd.init_done()
    assert prepare()[2] is False

    (sd.module / ".terraform.lock.hcl").unlink()
    assert prepare()[2] is True  # the lock file went (or changed)
    (sd.module / ".terraform.lock.hcl").write_text("# providers v1\n")
    sd.init_done()
    assert prepare()[2] is False

    shutil.rmtree(sd.data_dir)
    assert prepare()[2] is True  # providers and modules gone


def test_backend_change_asks_for_init(workdir):
    sd, prepare = workdir
    prepare()
    sd.data_dir.mkdir()
    sd.init_done()
    assert prepare()[2] is False
    sd.env_file.write_text(sd.env_file.read_text()
                           + "state:\n  backend: http\n  address: https://state.example.org/congress\n")
    assert prepare(environment=load(sd.env_file)[0])[2] is True


def test_plan_twice_runs_init_once_with_real_terraform(tmp_path, offline, monkeypatch):
    inits = []
    real_init = Terraform.init
    monkeypatch.setattr(Terraform, "init", lambda self: inits.append(self.workdir) or real_init(self))
    env_file = example(tmp_path, "minimal")
    for _ in range(2):
        result = invoke(["plan", env_file])
        assert result.exit_code == 0, result.output
        assert "Plan: " in result.output
    assert len(inits) == 1
