"""Rolling-change figures of the HA drill (tests/integration/drill.py: examples/no-octavia's rendered
files run as processes on this machine).  Needs root and the Debian packages of .ci/run; set
CONGRESS_DRILL_VENV to reuse a Congress venv.

A datasource_sync_period change is planned against the state of the deployed drill
(tests/deployed.py, provider double); congress_tf.rollout.plan_rollout turns the plan into waves
and run_waves rolls the policy-engine waves with the same drain and health steps as
`congress-tf apply` (HAProxy admin socket), each engine stopped with SIGKILL and started from the
new plan's files (the drill's stand-in for Nova replacing the VM: no VM boot is in these figures;
the datasource waves are not run, the drill's datasource host is not a pair), while a client
sends GET / through the VIP every 20 ms with no retries.

  rolling_change_s         wall time of the roll, first drain to last engine back in service
  rolling_failed_requests  requests through the VIP that failed meanwhile (goal 0)
"""

import json
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

from planning import REPO, Workspace

sys.path.insert(0, str(REPO / "tests" / "integration"))
from congress_runtime import install_congress_venv  # noqa: E402
from deployed import deploy, run_plan  # noqa: E402
from drill import DRILL_EXAMPLE, DRILL_OVERRIDES, Drill, Rendered  # noqa: E402
from rolling import Traffic, replace_with, steps_for  # noqa: E402

from congress_tf.rollout import plan_rollout, run_waves  # noqa: E402

CHANGE = {"datasource_sync_period": 45}


def day2_plan() -> tuple[dict, dict]:
    """(plan of the drill as deployed, plan of CHANGE against its state)."""
    workspace = Workspace()
    try:
        tfvars = REPO / "examples" / DRILL_EXAMPLE / "terraform.tfvars"
        before, after = workspace.root / "before.tfvars.json", workspace.root / "after.tfvars.json"
        before.write_text(json.dumps(DRILL_OVERRIDES))
        after.write_text(json.dumps({**DRILL_OVERRIDES, **CHANGE}))

        def plan_with(files, state, out):
            return run_plan(workspace.binary, workspace.env, workspace.root / "terraform", files, state, out)

        state, deployed = deploy(plan_with, [tfvars, before], workspace.root / "deployed")
        return deployed, plan_with([tfvars, after], state, workspace.root / "after.tfplan")
    finally:
        workspace.close()


def main():
    deployed, changed = day2_plan()
    rollout = plan_rollout(changed)
    if rollout.refusals:
        raise SystemExit(f"refused: {rollout.refusals}")
    waves = [w for w in rollout.waves if w.role == "policy_engine"]
    scratch = tempfile.TemporaryDirectory(prefix="congress-rolling-")
    venv = install_congress_venv(Path(os.environ.get("CONGRESS_DRILL_VENV") or Path(scratch.name) / "venv")).path
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    drill = Drill(deployed["planned_values"]["outputs"]["cloud_init"]["value"], venv)
    try:
        drill.start()
        new = Rendered(changed["planned_values"]["outputs"]["cloud_init"]["value"])
        with Traffic(drill.vip_url()) as traffic:
            started = time.monotonic()
            run_waves(waves, replace_with(drill, new), steps_for(drill), 240, lambda line: print(f"# {line}", flush=True))
            took = time.monotonic() - started
        print(f"rolling_waves={len(waves)}", flush=True)
        print(f"rolling_requests={traffic.answered + len(traffic.failures)}", flush=True)
        print(f"rolling_change_s={took:.1f}", flush=True)
        print(f"rolling_failed_requests={len(traffic.failures)}", flush=True)
    finally:
        drill.close()
        scratch.cleanup()


if __name__ == "__main__":
    main()
