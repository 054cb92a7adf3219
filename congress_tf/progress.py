"""Terraform's `-json` event stream, shown as one line per resource.

Plan: `  + create   module.network.openstack_networking_network_v2.cluster[0]`
Apply: `  created   module.policy_engine.openstack_compute_instance_v2.node["congress-pe-0"]  (41s)`
then Terraform's own summary line.  Values never come from here (only addresses and actions),
so nothing secret can be shown; error diagnostics are collected by the runner and shown by the
CLI after its one-line summary.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

SYMBOL = {"create": "+", "update": "~", "delete": "-", "replace": "-/+", "read": "<=", "noop": " ",
          "move": "->", "import": "<-", "forget": "x"}
DONE = {"create": "created", "update": "updated", "delete": "destroyed", "replace": "replaced", "read": "read",
        "noop": "unchanged"}


class Progress:
    """A StreamHandler for congress_tf.terraform: echo(line, err) writes a line."""

    def __init__(self, echo: Callable[[str, bool], None], quiet: bool = False):
        self.echo = echo
        self.quiet = quiet  # --json: progress to stderr only, so stdout stays data
        self.summary: dict[str, Any] | None = None
        self.changes: list[dict[str, str]] = []
        self.outputs: dict[str, Any] = {}
        self.errored: list[str] = []
        self.started = time.monotonic()

    def _line(self, text: str) -> None:
        self.echo(text, self.quiet)

    def __call__(self, event: dict[str, Any] | str) -> None:
        if isinstance(event, str):
            if event.strip():
                log.debug("terraform: %s", event)
            return
        kind = event.get("type")
        if kind == "planned_change":
            change = event.get("change", {})
            addr, action = change.get("resource", {}).get("addr", "?"), change.get("action", "?")
            self.changes.append({"address": addr, "action": action})
            self._line(f"  {SYMBOL.get(action, '?'):>3} {action:<8} {addr}")
        elif kind == "apply_complete":
            hook = event.get("hook", {})
            addr, action = hook.get("resource", {}).get("addr", "?"), hook.get("action", "?")
            self._line(f"  {DONE.get(action, action):<10} {addr}  ({_elapsed(hook.get('elapsed_seconds'))})")
        elif kind == "apply_errored":
            hook = event.get("hook", {})
            addr = hook.get("resource", {}).get("addr", "?")
            self.errored.append(addr)
            self._line(f"  FAILED     {addr}  (after {_elapsed(hook.get('elapsed_seconds'))})")
        elif kind == "apply_progress":
            hook = event.get("hook", {})
            elapsed = hook.get("elapsed_seconds") or 0
            if elapsed and elapsed % 60 == 0:  # a sign of life for slow resources, once a minute
                self._line(f"  ...        {hook.get('resource', {}).get('addr', '?')}  ({_elapsed(elapsed)})")
        elif kind == "change_summary":
            self.summary = event.get("changes", {})
            self._line(event.get("@message", ""))
        elif kind == "outputs":
            self.outputs = event.get("outputs", {})
        elif kind == "diagnostic" and event.get("@level") == "warn":
            summary = (event.get("diagnostic") or {}).get("summary", "")
            if "development overrides" in summary:
                log.debug("terraform warning: %s", summary)  # the test provider double: noise
            else:
                self.echo(f"Warning: {summary}", True)
        else:
            log.debug("terraform event: %s", event.get("@message", kind))


def _elapsed(seconds: Any) -> str:
    try:
        seconds = int(seconds)
    except (TypeError, ValueError):
        return "?"
    return f"{seconds}s" if seconds < 60 else f"{seconds // 60}m{seconds % 60:02d}s"
