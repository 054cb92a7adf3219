"""Day 2 on booted VMs: the harness stands in for the cloud under `congress-tf apply`'s waves.

The waves come from congress_tf.rollout on a real re-plan of the example (tests/deployed.py: the
new inputs planned against the state of the inputs the cluster was booted from), and they run
through the same code as the CLI's rolling apply: plan_rollout_asking (which VM of a pair serves
now), rollout_steps (drain on both HAProxy VMs' admin sockets, hand-over of a pair's serving VM,
health and cluster checks) and run_waves.  Two things differ from the CLI, on purpose:
  - commands reach a VM through the harness (nsenter, as root) instead of SSH: same commands,
    another transport (the VMs have no key of ours);
  - Terraform's apply of a wave is the harness's: a replaced VM is powered off hard and boots a
    new instance on the same address from the new plan's user_data (Cluster.replace_vm); a
    removed one is destroyed (Cluster.remove_vm); a created one boots (Cluster.add_vm).
"""

from __future__ import annotations

from congress_tf.rollout import (LoadBalancerSteps, Rollout, RolloutStopped, Wave, planned_outputs,
                                 rollout_steps)
from congress_tf.status import NetworkProbe
from harness import Cluster


class BridgeProbe:
    """status.NetworkProbe from the bridge (where congress-tf, like the operator, reaches the nodes)."""

    def __init__(self, cluster: Cluster):
        self.cluster, self.probe = cluster, NetworkProbe()

    def http(self, url: str, timeout: float) -> tuple[bool, str]:
        return self.cluster.in_net(self.probe.http, url, timeout)

    def tcp(self, host: str, port: int, timeout: float) -> tuple[bool, str]:
        return self.cluster.in_net(self.probe.tcp, host, port, timeout)


def runner(cluster: Cluster):
    """run(address, command) as root on the VM with that address: ssh_runner's contract."""
    def run(ip: str, command: str) -> tuple[int, str]:
        vm = next((v for v in cluster.vms.values() if v.ip == ip), None)
        if vm is None or cluster.init_pid(vm) is None:
            raise RolloutStopped(f"{ip}: no VM running there")
        try:
            proc = cluster.exec(vm, command, timeout=60)
        except RuntimeError as exc:          # stopped between the two looks
            raise RolloutStopped(f"{ip}: {exc}") from None
        return proc.returncode, proc.stdout
    return run


def steps(cluster: Cluster, plan: dict, rollout: Rollout) -> LoadBalancerSteps:
    """The CLI's steps (rollout_steps) for this plan, on the harness's VMs."""
    return rollout_steps(planned_outputs(plan), rollout, runner(cluster), BridgeProbe(cluster), api_port(plan))


def api_port(plan: dict) -> int:
    return int(planned_outputs(plan)["api_url"].rstrip("/").rsplit(":", 1)[1])


def create_the_rest(cluster: Cluster, plan: dict) -> list[str]:
    """Terraform's apply of everything but the waves, as far as VMs go: each planned VM the cluster
    does not have boots (a port, security group rules or members change nothing in the harness)."""
    outputs = planned_outputs(plan)
    roles = {name: role for role, members in outputs["nodes"].items() for name in members}
    new = sorted(set(outputs["cloud_init"]) - set(cluster.vms))
    for name in new:
        cluster.add_vm(name, roles[name], outputs["nodes"][roles[name]][name], outputs["cloud_init"][name])
    return new


def apply_wave(cluster: Cluster, plan: dict):
    """apply(wave) of the harness: Nova's delete, or delete + create from the new plan's user_data."""
    cloud_init = planned_outputs(plan)["cloud_init"]

    def apply(wave: Wave):
        if wave.action == "remove":
            cluster.remove_vm(wave.node)
        else:
            cluster.replace_vm(wave.node, cloud_init[wave.node])
    return apply
