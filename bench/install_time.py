"""Wall time to install the pinned Congress runtime into a fresh venv.

Runs cloudinit/scripts/install-congress.sh (what a VM runs: venv creation, pip
install with cloudinit/congress-constraints.txt, shim, import check) twice into
fresh venvs under a temp dir:

1. from the package index with pip's cache off (a fresh VM has no cache, and
   psycopg2 is built from source there);
2. from a local wheelhouse (--no-index --find-links), built first with
   `pip wheel --use-pep517 -c congress-constraints.txt -w DIR openstack-congress PyMySQL`
   (timed separately as wheelhouse_build_s; also without pip's cache).

Prints one name=value per line; the last line is install_s_wheelhouse=S.
Usage: python bench/install_time.py [--index-url URL] [--python EXE] [--keep]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from congress_runtime import CONSTRAINTS, SCRIPT, SHIM, venv_python  # noqa: E402


def timed(cmd: list[str], env: dict[str, str] | None = None, log: Path | None = None) -> float:
    start = time.monotonic()
    with open(log or os.devnull, "w") as out:
        proc = subprocess.run(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    elapsed = time.monotonic() - start
    if proc.returncode != 0:
        tail = log.read_text()[-4000:] if log else ""
        sys.exit(f"failed ({proc.returncode}): {' '.join(cmd)}\n{tail}")
    return elapsed


def install(venv: Path, source: str, url: str, python: str, log: Path) -> float:
    env = dict(os.environ, CONGRESS_VENV=str(venv), CONGRESS_INSTALL_SOURCE=source, CONGRESS_INSTALL_URL=url,
               CONGRESS_CONSTRAINTS=str(CONSTRAINTS), CONGRESS_SHIM=str(SHIM), CONGRESS_PYTHON=python,
               CONGRESS_PIP_ARGS="--no-cache-dir")
    return timed(["bash", str(SCRIPT)], env=env, log=log)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--index-url", default="https://pypi.org/simple")
    ap.add_argument("--python", default=venv_python(), help="interpreter that makes the venvs")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir (venvs, wheelhouse, logs)")
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="congress-install-bench-"))
    try:
        version = subprocess.run([args.python, "-c", "import platform; print(platform.python_version())"],
                                 capture_output=True, text=True, check=True).stdout.strip()
        packages = sum(1 for line in CONSTRAINTS.read_text().splitlines() if "==" in line and not line.startswith("#"))
        print(f"python={args.python}")
        print(f"python_version={version}")
        print(f"cpus={os.cpu_count()}")
        print(f"pinned_packages={packages}")
        sys.stdout.flush()

        index_venv = work / "venv-index"
        t_index = install(index_venv, "index", args.index_url, args.python, work / "install-index.log")
        print(f"install_s_index_nocache={t_index:.1f}")
        sys.stdout.flush()

        wheelhouse = work / "wheelhouse"
        t_build = timed([str(index_venv / "bin" / "python"), "-m", "pip", "wheel", "--isolated", "--no-cache-dir",
                         "--use-pep517", "--disable-pip-version-check", "--progress-bar", "off",
                         "--index-url", args.index_url, "-c", str(CONSTRAINTS), "-w", str(wheelhouse),
                         "openstack-congress", "PyMySQL"], log=work / "wheel.log")
        wheels = list(wheelhouse.glob("*.whl"))
        print(f"wheelhouse_build_s={t_build:.1f}")
        print(f"wheelhouse_wheels={len(wheels)}")
        print(f"wheelhouse_mb={sum(w.stat().st_size for w in wheels) / 2**20:.1f}")
        sys.stdout.flush()

        t_wheel = install(work / "venv-wheelhouse", "wheelhouse", str(wheelhouse), args.python,
                          work / "install-wheelhouse.log")
        print(f"install_s_wheelhouse={t_wheel:.1f}")
    finally:
        if args.keep:
            print(f"# kept {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
