"""What congress-tf costs on top of Terraform.

Prints the wall time of `congress-tf --help` (goal <= 0.3 s), then `congress-tf plan` of the
minimal example's env.yaml against bare `terraform plan` of the very tfvars congress-tf wrote
(tfvars.json + secrets.tfvars.json), both against the offline provider double, both already
initialised, alternating runs, medians.  Last line: plan_overhead_ratio=R (goal <= 1.10).

    python bench/cli_overhead.py [--runs N]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from paths import EXAMPLE_CLOUDS_YAML, copy_modules  # noqa: E402
from provider_double import install  # noqa: E402


def script(name: str) -> str:
    for directory in (sysconfig.get_path("scripts"), os.path.dirname(sys.executable)):
        if (Path(directory) / name).is_file():
            return str(Path(directory) / name)
    found = shutil.which(name)
    if not found:
        sys.exit(f"{name} is not installed: pip install -e '.[test]'")
    return found


def timed(argv: list[str], env: dict[str, str], cwd: Path | None = None) -> float:
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"failed: {' '.join(argv)}\n{done.stderr}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    congress_tf = script("congress-tf")
    sys.path.insert(0, str(REPO))
    from congress_tf.terraform import find_terraform

    terraform = str(find_terraform().path)
    with tempfile.TemporaryDirectory(prefix="cli-overhead-") as tmp:
        tmp = Path(tmp)
        env = {**os.environ, "TF_CLI_CONFIG_FILE": str(install(tmp / "provider-double")), "CHECKPOINT_DISABLE": "1",
               "TF_IN_AUTOMATION": "1", "OS_CLIENT_CONFIG_FILE": str(EXAMPLE_CLOUDS_YAML)}
        env.pop("CONGRESS_TF_TERRAFORM", None)

        helps = [timed([congress_tf, "--help"], env) for _ in range(runs)]
        print(f"help_wall_s={statistics.median(helps):.3f}  (median of {runs}; goal <= 0.3)")

        project = tmp / "project"
        project.mkdir()
        env_file = project / "env.yaml"
        shutil.copyfile(REPO / "examples" / "minimal" / "env.yaml", env_file)
        timed([congress_tf, "plan", str(env_file)], env)  # first run: secrets, init
        state = project / ".congress-tf" / "minimal"

        bare = copy_modules(tmp / "bare")
        timed([terraform, f"-chdir={bare / 'terraform'}", "init", "-input=false"], env)
        bare_plan = [terraform, f"-chdir={bare / 'terraform'}", "plan", "-input=false",
                     f"-var-file={state / 'tfvars.json'}", f"-var-file={state / 'secrets.tfvars.json'}"]
        ours_plan = [congress_tf, "plan", str(env_file)]

        ours, theirs = [], []
        for _ in range(runs):
            theirs.append(timed(bare_plan, env))
            ours.append(timed(ours_plan, env))
        ours_s, theirs_s = statistics.median(ours), statistics.median(theirs)
        print(f"terraform_plan_s={theirs_s:.3f}  (bare, median of {runs})")
        print(f"congress_tf_plan_s={ours_s:.3f}  (median of {runs}; overhead {ours_s - theirs_s:+.3f} s)")
        print(f"plan_overhead_ratio={ours_s / theirs_s:.2f}")


if __name__ == "__main__":
    main()
