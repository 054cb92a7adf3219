"""Requests through the API VIP, counted while a fault happens."""

from __future__ import annotations

import threading
import time

from api_client import http
from harness import Cluster, thread_in_net

REPORT: list[str] = []  # lines shown at the end of the pytest session (request counts, boot times)


def report(line: str):
    REPORT.append(line)
    print(line)


class Traffic:
    """GET / through the VIP every `interval` seconds from the bridge, until the block ends."""

    def __init__(self, cluster: Cluster, interval: float = 0.2, timeout: float = 2):
        self.cluster, self.interval, self.timeout = cluster, interval, timeout
        self.ok = 0
        self.failed = 0
        self.failures: list[tuple[float, str]] = []  # (seconds since start, what)
        self.stop = threading.Event()

    def _loop(self):
        while not self.stop.is_set():
            try:
                status, _ = http("GET", self.cluster.api_url + "/", timeout=self.timeout)
                what = None if status == 200 else f"HTTP {status}"
            except OSError as exc:
                what = type(exc).__name__
            if what is None:
                self.ok += 1
            else:
                self.failed += 1
                self.failures.append((time.monotonic() - self.started, what))
            self.stop.wait(self.interval)

    def __enter__(self) -> "Traffic":
        self.started = time.monotonic()
        self.thread = thread_in_net(self.cluster.sandbox, self._loop)
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(timeout=self.timeout + 5)
        self.seconds = time.monotonic() - self.started

    @property
    def outage_s(self) -> float:
        """From the first failed request to the last one (0 when none failed)."""
        return self.failures[-1][0] - self.failures[0][0] if self.failures else 0.0

    def summary(self, fault: str) -> str:
        return (f"{fault}: {self.ok + self.failed} requests through the VIP in {self.seconds:.0f} s, "
                f"{self.ok} ok, {self.failed} failed (failures over {self.outage_s:.1f} s)")
