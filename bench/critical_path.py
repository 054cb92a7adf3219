"""Compute instances on the longest dependency chain of the minimal and production plans.

Goal 1: every VM boots in parallel and waits for its peers inside cloud-init.
Following the HA guide's manual order (database, then the datasource node,
then the policy engines) as Terraform dependencies would give 3.
"""

from planning import REPO, Workspace
from tfgraph import apply_graph, instance_chain_length

workspace = Workspace()
try:
    stages = 0
    for example in ("minimal", "production"):
        var_file = str(REPO / "examples" / example / "terraform.tfvars")
        chain = instance_chain_length(apply_graph(workspace.run, var_file, str(workspace.root / f"{example}.tfplan")))
        print(f"{example}_vm_stages={chain}")
        stages = max(stages, chain)
    print(f"critical_path_vm_stages={stages}")
finally:
    workspace.close()
