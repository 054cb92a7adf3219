"""Which Terraform runs: --terraform / $CONGRESS_TF_TERRAFORM, then PATH, then the embedded one."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from congress_tf.terraform import ENV_VAR, TerraformNotFoundError, find_embedded, find_terraform


def _executable(directory: Path, name: str = "terraform") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text("#!/bin/sh\necho fake terraform\n")
    path.chmod(0o755)
    return path


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    """No $CONGRESS_TF_TERRAFORM; PATH holds only an empty directory (no terraform at all)."""
    monkeypatch.delenv(ENV_VAR, raising=False)
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    return monkeypatch


def test_explicit_path_wins_over_env_and_path(clean_env, tmp_path):
    explicit = _executable(tmp_path / "explicit")
    clean_env.setenv(ENV_VAR, str(_executable(tmp_path / "env")))
    clean_env.setenv("PATH", str(_executable(tmp_path / "path").parent))
    found = find_terraform(str(explicit))
    assert (found.path, found.source) == (explicit, "option/env")


def test_env_var_wins_over_path(clean_env, tmp_path):
    from_env = _executable(tmp_path / "env")
    clean_env.setenv(ENV_VAR, str(from_env))
    clean_env.setenv("PATH", str(_executable(tmp_path / "path").parent))
    found = find_terraform()
    assert (found.path, found.source) == (from_env, "option/env")


def test_terraform_on_path_wins_over_embedded(clean_env, tmp_path):
    on_path = _executable(tmp_path / "path")
    clean_env.setenv("PATH", os.pathsep.join([str(tmp_path / "nothing-here"), str(on_path.parent)]))
    found = find_terraform()
    assert (found.path, found.source) == (on_path, "PATH")


def test_embedded_terraform_when_nothing_else(clean_env):
    found = find_terraform()
    assert found.source == "embedded"
    assert found.path.name == "congress-tf-terraform"
    assert found.path == find_embedded()
    assert os.access(found.path, os.X_OK)


def test_empty_env_var_is_ignored(clean_env):
    clean_env.setenv(ENV_VAR, "")
    assert find_terraform().source == "embedded"


def test_explicit_bare_name_is_looked_up_on_path(clean_env, tmp_path):
    tf111 = _executable(tmp_path / "path", "terraform1.11")
    clean_env.setenv("PATH", str(tf111.parent))
    found = find_terraform("terraform1.11")
    assert (found.path, found.source) == (tf111, "option/env")


def test_explicit_path_that_does_not_exist_is_bad_input(clean_env, tmp_path):
    with pytest.raises(TerraformNotFoundError, match="does not exist") as err:
        find_terraform(str(tmp_path / "no" / "terraform"))
    assert err.value.bad_input


def test_explicit_path_that_is_not_executable_is_bad_input(clean_env, tmp_path):
    plain = tmp_path / "terraform"
    plain.write_text("not a program")
    plain.chmod(0o644)
    with pytest.raises(TerraformNotFoundError, match="not an executable") as err:
        find_terraform(str(plain))
    assert err.value.bad_input


def test_explicit_directory_is_bad_input(clean_env, tmp_path):
    with pytest.raises(TerraformNotFoundError, match="not an executable"):
        find_terraform(str(tmp_path))


def test_env_var_pointing_nowhere_is_bad_input_not_a_silent_fallback(clean_env, tmp_path):
    clean_env.setenv(ENV_VAR, str(tmp_path / "missing"))
    clean_env.setenv("PATH", str(_executable(tmp_path / "path").parent))
    with pytest.raises(TerraformNotFoundError) as err:
        find_terraform()
    assert err.value.bad_input
