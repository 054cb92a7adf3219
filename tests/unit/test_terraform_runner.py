"""The runner (congress_tf.terraform.Terraform) against the embedded Terraform, for real."""

from __future__ import annotations

import logging
import re

import pytest

from congress_tf.terraform import Terraform, TerraformError, version


def test_version_parses_terraform_version_json(embedded):
    assert re.fullmatch(r"1\.15\.\d+", version(embedded))


def test_init_plan_apply_output_destroy_round_trip(embedded, tf_env, good_dir, tmp_path):
    tf = Terraform(embedded, good_dir, env=tf_env)
    tf.init()
    plan = tf.plan("test.tfvars", out="tfplan")
    assert "Plan: 1 to add" in plan.stdout
    assert (good_dir / "tfplan").is_file()
    tf.apply("tfplan")
    assert tf.output()["greeting"] == {"sensitive": False, "type": "string", "value": "hi from tfvars"}
    tf.destroy("test.tfvars")
    assert tf.output() == {}


def test_json_stream_hands_each_event_to_the_handler_as_it_comes(embedded, tf_env, good_dir):
    tf = Terraform(embedded, good_dir, env=tf_env)
    tf.init()
    events = []
    tf.apply(var_file="test.tfvars", json_stream=True, stream_handler=events.append)
    kinds = [e["type"] for e in events]
    assert kinds[0] == "version"
    assert "apply_start" in kinds and "apply_complete" in kinds
    assert events[kinds.index("change_summary")]["changes"]["add"] == 1


def test_human_output_streams_lines_to_the_handler(embedded, tf_env, good_dir):
    tf = Terraform(embedded, good_dir, env=tf_env)
    tf.init()
    lines = []
    tf.plan("test.tfvars", stream_handler=lines.append)
    assert all(isinstance(line, str) and "\n" not in line for line in lines)
    assert any(line.startswith("Plan: 1 to add") for line in lines)


def test_failure_raises_terraform_error_with_exit_code_and_stderr(embedded, tf_env, broken_dir):
    with pytest.raises(TerraformError) as err:
        Terraform(embedded, broken_dir, env=tf_env).init()
    assert err.value.exit_code == 1
    assert "Error:" in err.value.stderr and "Unclosed configuration block" in err.value.stderr
    assert "terraform init failed (exit code 1)" in str(err.value)


def test_json_mode_failure_carries_the_error_diagnostics(embedded, tf_env, good_dir):
    tf = Terraform(embedded, good_dir, env=tf_env)
    tf.init()
    (good_dir / "bad.tfvars").write_text("greeting = [1, 2]\n")  # wrong type
    with pytest.raises(TerraformError) as err:
        tf.plan("bad.tfvars", json_stream=True, stream_handler=lambda event: None)
    assert err.value.exit_code == 1
    assert "Error: Invalid value for input variable" in err.value.stderr


def test_command_line_is_logged_at_debug_with_chdir_and_no_input(embedded, tf_env, good_dir, caplog):
    caplog.set_level(logging.DEBUG, logger="congress_tf.terraform")
    Terraform(embedded, good_dir, env=tf_env).init()
    command = next(r.getMessage() for r in caplog.records if r.getMessage().startswith("run: "))
    assert f"-chdir={good_dir}" in command
    assert " init -input=false -no-color" in command


def test_apply_needs_exactly_one_of_plan_and_var_file(embedded, good_dir):
    tf = Terraform(embedded, good_dir)
    with pytest.raises(ValueError):
        tf.apply()
    with pytest.raises(ValueError):
        tf.apply("tfplan", var_file="x.tfvars")


def test_a_failing_stream_handler_stops_terraform_and_propagates(embedded, tf_env, good_dir):
    tf = Terraform(embedded, good_dir, env=tf_env)
    tf.init()

    def handler(event):
        raise RuntimeError("handler broke")

    with pytest.raises(RuntimeError, match="handler broke"):
        tf.plan("test.tfvars", json_stream=True, stream_handler=handler)
