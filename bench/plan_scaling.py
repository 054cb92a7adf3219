"""Wall time of `terraform plan` of the minimal example with 2, 8, 32 and 64 policy engines."""

import time

from planning import REPO, Workspace

MINIMAL = REPO / "examples" / "minimal" / "terraform.tfvars"
workspace = Workspace()
try:
    seconds = {}
    for count in (2, 8, 32, 64):
        start = time.monotonic()
        workspace.run("plan", "-refresh=false", "-input=false", f"-var-file={MINIMAL}", f"-var=policy_engine_count={count}")
        seconds[count] = time.monotonic() - start
        print(f"plan_s_{count}_policy_engines={seconds[count]:.2f}")
    print(f"plan_time_ratio_64_vs_2={seconds[64] / seconds[2]:.2f}")
finally:
    workspace.close()
