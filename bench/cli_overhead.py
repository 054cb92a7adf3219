"""What congress-tf costs on top of Terraform.

Prints the wall time of `congress-tf --help` (goal <= 0.3 s), then `congress-tf plan` of the
minimal example's env.yaml against bare `terraform plan` of the very tfvars congress-tf wrote
(tfvars.json + secrets.tfvars.json), both against the offline provider double, both already
initialised.  Last line: plan_overhead_ratio=R, median wall time of ours over median of bare
(goal <= 1.10).  Before it, what the overhead is made of: congress-tf's own work with a Terraform
that does nothing (interpreter, imports, env.yaml, files, one spawn), and of that the import of
the env.yaml schema (PyYAML and the models), each as CPU time, which load disturbs less.

Robust on a shared machine: the two commands run in pairs, alternating which goes first (ABBA),
so both see the same load; each run's CPU time (user + sys of the process and its children:
Terraform, the provider) is reported beside its wall time, with the load average before and
after.  Python runs as a user's installation does: modules load from compiled bytecode (pip
compiles at install time), written once by the warm-up runs to a private cache, whatever
PYTHONDONTWRITEBYTECODE says here (--as-is keeps the environment as it is).

    python bench/cli_overhead.py [--runs N] [--as-is] [--embedded]

--embedded: both sides run the Terraform bundled with congress-tf (congress-tf-terraform), as a
user without `terraform` on PATH does; by default both run the one find_terraform() picks.
"""

from __future__ import annotations

import argparse
import os
import resource
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


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the command and every child it waited for)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        sys.exit(f"failed: {' '.join(argv)}\n{done.stderr}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10, help="pairs of runs (default 10)")
    parser.add_argument("--as-is", action="store_true", help="keep PYTHON* settings of this environment")
    parser.add_argument("--embedded", action="store_true", help="both sides run congress-tf-terraform")
    args = parser.parse_args()
    runs = args.runs
    congress_tf = script("congress-tf")
    sys.path.insert(0, str(REPO))
    from congress_tf.terraform import ENV_VAR, find_embedded, find_terraform

    terraform = str(find_embedded() if args.embedded else find_terraform().path)
    with tempfile.TemporaryDirectory(prefix="cli-overhead-") as tmp:
        tmp = Path(tmp)
        env = {**os.environ, "TF_CLI_CONFIG_FILE": str(install(tmp / "provider-double")), "CHECKPOINT_DISABLE": "1",
               "TF_IN_AUTOMATION": "1", "OS_CLIENT_CONFIG_FILE": str(EXAMPLE_CLOUDS_YAML)}
        env.pop(ENV_VAR, None)
        if args.embedded:
            env[ENV_VAR] = terraform
        if not args.as_is:
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            env["PYTHONPYCACHEPREFIX"] = str(tmp / "pycache")
        print(f"terraform={terraform}  bytecode={'as this environment says' if args.as_is else 'cached'}")
        load_before = load()

        helps = [timed([congress_tf, "--help"], env)[0] for _ in range(runs)]
        print(f"help_wall_s={statistics.median(helps):.3f}  (median of {runs}; goal <= 0.3)")

        project = tmp / "project"
        project.mkdir()
        env_file = project / "env.yaml"
        shutil.copyfile(REPO / "examples" / "minimal" / "env.yaml", env_file)
        ours_plan = [congress_tf, "plan", str(env_file)]
        timed(ours_plan, env)  # first run: secrets, init
        state = project / ".congress-tf" / "minimal"
        init_stamp = (state / "init.stamp").stat().st_mtime_ns

        bare = copy_modules(tmp / "bare")
        timed([terraform, f"-chdir={bare / 'terraform'}", "init", "-input=false"], env)
        bare_plan = [terraform, f"-chdir={bare / 'terraform'}", "plan", "-input=false",
                     f"-var-file={state / 'tfvars.json'}", f"-var-file={state / 'secrets.tfvars.json'}"]
        for _ in range(2):  # warm-up: bytecode written, files in the page cache
            timed(bare_plan, env)
            timed(ours_plan, env)

        ours, bare_runs = [], []
        for i in range(runs):
            pair = [(bare_plan, bare_runs), (ours_plan, ours)]
            for argv, results in (pair if i % 2 == 0 else reversed(pair)):
                results.append(timed(argv, env))
        noop = shutil.which("true")
        own = [timed([congress_tf, "--terraform", noop, "plan", str(env_file)], env) for _ in range(runs)]
        cli_only, with_schema = ([sys.executable, "-c", f"import {modules}"]
                                 for modules in ("congress_tf.cli", "congress_tf.cli, congress_tf.envfile"))
        importing = [(timed(cli_only, env), timed(with_schema, env)) for _ in range(runs)]
        if (state / "init.stamp").stat().st_mtime_ns != init_stamp:
            sys.exit("congress-tf ran `terraform init` again between identical plans: not comparable")

        def median(results, index):
            return statistics.median(r[index] for r in results)

        ours_s, bare_s = median(ours, 0), median(bare_runs, 0)
        ours_cpu, bare_cpu = median(ours, 1), median(bare_runs, 1)
        paired = statistics.median(o[0] / b[0] for o, b in zip(ours, bare_runs))
        print(f"load_average={load_before} before, {load()} after  (1/5/15 min, {os.cpu_count()} CPUs)")
        print(f"terraform_plan_s={bare_s:.3f}  cpu_s={bare_cpu:.3f}  (bare, median of {runs}; "
              f"wall min {min(r[0] for r in bare_runs):.3f} max {max(r[0] for r in bare_runs):.3f})")
        print(f"congress_tf_plan_s={ours_s:.3f}  cpu_s={ours_cpu:.3f}  (median of {runs}; "
              f"wall min {min(r[0] for r in ours):.3f} max {max(r[0] for r in ours):.3f})")
        print(f"plan_overhead_s={ours_s - bare_s:+.3f}  cpu_s={ours_cpu - bare_cpu:+.3f}")
        print(f"congress_tf_own_cpu_s={median(own, 1):.3f}  (plan with {noop} as Terraform, median of {runs}; "
              f"wall {median(own, 0):.3f})")
        schema = statistics.median(b[1] for _, b in importing) - statistics.median(a[1] for a, _ in importing)
        print(f"schema_import_cpu_s={schema:.3f}  (congress_tf.envfile: PyYAML and the env.yaml models)")
        print(f"plan_cpu_ratio={ours_cpu / bare_cpu:.2f}")
        print(f"plan_overhead_ratio_paired={paired:.2f}  (median of per-pair ratios)")
        print(f"plan_overhead_ratio={ours_s / bare_s:.2f}")


if __name__ == "__main__":
    main()
