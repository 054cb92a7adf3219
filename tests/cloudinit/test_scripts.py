"""The boot scripts, as the VMs receive them, pass shellcheck and follow the house rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import REPO, SCRIPTS_DIR, SOURCES, run

SOURCE_SCRIPTS = sorted((REPO / "cloudinit" / "scripts").glob("*.sh"))


@pytest.mark.parametrize("script", SOURCE_SCRIPTS, ids=lambda p: p.name)
def test_script_passes_shellcheck_and_is_strict(script):
    result = run(["shellcheck", "--external-sources", "--severity=style", script.name], cwd=script.parent)
    assert result.returncode == 0, result.stdout + result.stderr
    text = script.read_text()
    assert text.startswith("#!/usr/bin/env bash\n")
    if script.name != "congress-tf-lib.sh":  # sourced helpers, not a step
        assert "\nset -euo pipefail\n" in text


@pytest.mark.parametrize("source", SOURCES)
def test_scripts_in_user_data_pass_shellcheck(source, rendered, tmp_path):
    for name, node in rendered(source).items():
        scripts = {path: entry for path, entry in node.files.items() if path.startswith(SCRIPTS_DIR + "/")}
        assert scripts, name
        folder = tmp_path / name
        folder.mkdir()
        for path in scripts:
            (folder / Path(path).name).write_bytes(node.file(path))
        for path in scripts:
            result = run(["shellcheck", "--external-sources", Path(path).name], cwd=folder)
            assert result.returncode == 0, f"{name}: {path}\n{result.stdout}{result.stderr}"
            text = node.text(path)
            assert text == (REPO / "cloudinit" / "scripts" / Path(path).name).read_text(), \
                f"{name}: {path} must be the static file, not a rendered one"
