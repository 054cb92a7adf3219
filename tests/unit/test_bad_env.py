"""A corpus of bad env.yaml files (tests/unit/bad_env/*.yaml), one mistake each.

Each file starts with `# expect: <substring>` lines, and `# absent: <substring>` lines for what
must never be echoed (a secret pasted in the wrong place); `# cloud: no-load-balancer` makes the
stand-in cloud lack Octavia.  Some files are saved as a Windows editor would (UTF-16, cp1252):
their header is read in their own encoding.  For every file, `congress-tf apply --yes` (the
command that does the most) must exit 2 with a message holding every expected substring and
none of the absent ones, run no Terraform, and write nothing: no .congress-tf/ directory, so
no state and no secret.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from congress_tf.cli import main
from fakes import FakeCloud, calls, fake_terraform

CORPUS = sorted((Path(__file__).parent / "bad_env").glob("*.yaml"))


def header_text(path: Path) -> str:
    """The file as text, whatever encoding the case was saved in (only its ASCII comments matter)."""
    data = path.read_bytes()
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return data.decode("utf-16")
    return data.decode("utf-16-le" if b"\x00" in data else "latin-1")


def test_corpus_has_at_least_40_distinct_mistakes():
    assert len(CORPUS) >= 40
    bodies = [re.sub(r"^#.*\n", "", header_text(p), flags=re.M) for p in CORPUS]
    assert len(set(bodies)) == len(bodies), "two corpus files hold the same env.yaml"


@pytest.mark.parametrize("command", [["apply", "--yes"], ["validate"]], ids=["apply", "validate"])
@pytest.mark.parametrize("bad", CORPUS, ids=[p.stem for p in CORPUS])
def test_bad_env_is_refused_with_exit_2_before_anything_runs_or_is_written(bad, command, tmp_path, monkeypatch):
    text = header_text(bad)
    expected = re.findall(r"^# expect: (.+?)\r?$", text, re.M)
    absent = re.findall(r"^# absent: (.+?)\r?$", text, re.M)
    assert expected, f"{bad.name} has no '# expect:' line"
    monkeypatch.delenv("CONGRESS_TF_TEST_UNSET_PASSWORD", raising=False)
    work = tmp_path / "project"
    work.mkdir()
    env_file = work / "env.yaml"
    shutil.copyfile(bad, env_file)
    terraform, log = fake_terraform(tmp_path / "fake-tf")
    cloud = FakeCloud(load_balancer="# cloud: no-load-balancer" not in text)

    result = CliRunner().invoke(main, ["--terraform", str(terraform), *command, str(env_file)],
                                obj={"cloud_factory": cloud.factory})

    assert result.exit_code == 2, result.output
    for substring in expected:
        assert substring in result.output, f"{substring!r} not in:\n{result.output}"
    for substring in absent:
        assert substring not in result.output, f"{substring!r} echoed in:\n{result.output}"
    assert "Traceback" not in result.output and len(result.output) < 8000, result.output[:2000]
    assert calls(log) == [], "Terraform ran"
    assert sorted(p.name for p in work.iterdir()) == ["env.yaml"], "something was written beside env.yaml"
