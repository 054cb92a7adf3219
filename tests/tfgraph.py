"""Dependency analysis of `terraform graph` output, shared by tests and bench/."""

from __future__ import annotations

import re
from functools import cache

EDGE = re.compile(r'"((?:[^"\\]|\\.)+)"\s*->\s*"((?:[^"\\]|\\.)+)"')
INSTANCE = re.compile(r"(^|\.)openstack_compute_instance_v2\.")


def dependencies(dot: str) -> dict[str, set[str]]:
    """Map each graph node to the nodes it depends on (DOT edges point from dependent to dependency)."""
    deps: dict[str, set[str]] = {}
    for src, dst in EDGE.findall(dot):
        deps.setdefault(_name(src), set()).add(_name(dst))
        deps.setdefault(_name(dst), set())
    return deps


def _name(node: str) -> str:
    return node.removeprefix("[root] ")


def instance_chain_length(deps: dict[str, set[str]]) -> int:
    """Most compute instances on one dependency chain: VMs that must boot one after another."""

    @cache
    def longest(node: str) -> int:
        here = 1 if INSTANCE.search(node) and "(expand)" not in node else 0
        return here + max((longest(dep) for dep in deps.get(node, ())), default=0)

    return max((longest(node) for node in deps), default=0)


def apply_graph(run, var_file: str, plan_file: str) -> dict[str, set[str]]:
    """The apply graph of a saved plan: the order `terraform apply` creates resources in.

    `run(*args) -> stdout` runs terraform in the root module."""
    run("plan", "-refresh=false", f"-var-file={var_file}", f"-out={plan_file}")
    return dependencies(run("graph", f"-plan={plan_file}"))
