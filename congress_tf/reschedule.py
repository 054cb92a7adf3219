"""Apply again when Nova failed to schedule some VMs (and only then), a bounded number of times.

Nova checks hard anti-affinity late, on the compute host: VMs of one server group booted in
parallel can race, and the losers end in ERROR ("Anti-affinity instance group policy was
violated", "No valid host was found", "Exceeded maximum number of retries") although the cloud
has room for them one at a time. Terraform marks such an instance tainted, so the next apply
replaces just those VMs. Any other failure is Terraform's to report: no retry.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable

from congress_tf.cloud import Cloud, ServerState
from congress_tf.progress import Progress
from congress_tf.terraform import Terraform, TerraformError

RETRIES = 2
# Nova's fault messages for an instance that could not be placed (scheduler or compute-side checks).
SCHEDULING_FAULTS = ("No valid host was found", "instance group policy was violated",
                     "Exceeded maximum number of retries")
_INSTANCE = re.compile(r'(?:^|\.)openstack_compute_instance_v2\.[A-Za-z0-9_-]+\["([^"]+)"\]$')


def instance_names(addresses: list[str]) -> dict[str, str] | None:
    """Server name -> resource address for failed instances (the nodes' for_each key is the
    server's name); None when anything else failed too."""
    names = {}
    for address in addresses:
        match = _INSTANCE.search(address)
        if match is None:
            return None
        names[match.group(1)] = address
    return names


def is_scheduling_fault(state: ServerState) -> bool:
    return state.status == "ERROR" and any(f.lower() in state.fault.lower() for f in SCHEDULING_FAULTS)


def unscheduled(cloud: Cloud, errored: list[str]) -> dict[str, str] | None:
    """Address -> Nova's fault when every failed resource is a VM Nova could not schedule; else None."""
    names = instance_names(errored)
    if not names:
        return None
    states = cloud.server_states(sorted(names))
    if not all(is_scheduling_fault(states[name]) for name in names):
        return None
    return {names[name]: states[name].fault for name in sorted(names)}


def apply(runner: Terraform, progress: Progress, var_files: list, cloud_factory: Callable[[], Cloud],
          plan_file: str | os.PathLike | None = None, retries: int = RETRIES) -> Progress:
    """Apply (the saved plan when given, else from the var files); while an apply fails only because
    Nova could not schedule some VMs, say so and apply again from the var files (Terraform replaces
    the tainted VMs), at most `retries` times. Any other failure, or the last one, is raised as
    Terraform's. Returns the last apply's progress."""
    for attempt in range(retries + 1):
        try:
            if attempt == 0 and plan_file is not None:
                runner.apply(plan_file, json_stream=True, stream_handler=progress)
            else:
                runner.apply(var_file=var_files, json_stream=True, stream_handler=progress)
            return progress
        except TerraformError:
            if attempt == retries or not progress.errored:
                raise
            try:
                faults = unscheduled(cloud_factory(), progress.errored)
            except Exception:  # noqa: BLE001 - the cloud's own trouble: Terraform's error is the one to show
                faults = None
            if not faults:
                raise
            for address, fault in faults.items():
                progress.echo(f"  not scheduled {address}: Nova said {fault!r}", progress.quiet)
            progress.echo(f"retry {attempt + 1}/{retries}: applying again; Terraform replaces the "
                          f"{len(faults)} VM(s) Nova could not schedule", progress.quiet)
            progress = Progress(progress.echo, quiet=progress.quiet)
    raise AssertionError("unreachable")
