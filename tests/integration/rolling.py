"""Day 2 on the HA drill, shared by tests/integration/test_rolling.py and bench/rolling.py: a
client sending requests through the VIP the whole time, and the drill's stand-in for Terraform
replacing or removing a policy-engine VM."""

from __future__ import annotations

import threading
import time

from congress_tf.rollout import HaproxyPool, LoadBalancerSteps
from congress_tf.status import NetworkProbe
from drill import CLIENTS, Rendered, http


class Traffic:
    """GET / through the VIP from the drill's client addresses in turn, every 20 ms, on a thread;
    every answer that is not 200 (or no answer) is a failed request. No client retries."""

    def __init__(self, url: str):
        self.url, self.answered, self.failures = url, 0, []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        i = 0
        while not self._stop.is_set():
            client = CLIENTS[i % len(CLIENTS)]
            i += 1
            try:
                status, _ = http("GET", self.url + "/", source=client, timeout=10)
                self.answered += 1
                if status != 200:
                    self.failures.append((client, status))
            except OSError as exc:
                self.failures.append((client, repr(exc)))
            time.sleep(0.02)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(15)


def replace_with(drill, rendered: Rendered):
    """apply(wave) of the drill: the VM goes (SIGKILL) and, replaced, comes back from `rendered`'s files."""
    def apply(wave):
        service = drill.services.pop(wave.node, None)
        if service is not None:
            service.crash_host()
        if wave.action == "replace":
            drill.start_policy_engine(rendered.nodes[wave.node])
    return apply


def steps_for(drill) -> LoadBalancerSteps:
    """congress_tf.rollout's steps on the drill's HAProxy admin socket."""
    return LoadBalancerSteps(NetworkProbe(), drill.api_port, HaproxyPool([drill.haproxy_cmd]))
