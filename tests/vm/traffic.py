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
    """GET / through the VIP every `interval` seconds from the bridge, until the block ends.

    `urls`: ask these base URLs in turn instead (e.g. every policy engine directly, where no load
    balancer runs in the VM world); `path`: what to ask ("/v1/policies" needs the database and the
    message bus, "/" neither)."""

    def __init__(self, cluster: Cluster, interval: float = 0.2, timeout: float = 2,
                 urls: list[str] | None = None, path: str = "/"):
        self.cluster, self.interval, self.timeout = cluster, interval, timeout
        self.urls, self.path = urls or [cluster.api_url], path
        self.ok = 0
        self.failed = 0
        self.failures: list[tuple[float, str]] = []  # (seconds since start, what)
        self.stop = threading.Event()

    def _loop(self):
        asked = 0
        while not self.stop.is_set():
            url = self.urls[asked % len(self.urls)] + self.path
            asked += 1
            try:
                status, _ = http("GET", url, timeout=self.timeout)
                what = None if status == 200 else f"HTTP {status} from {url}"
            except OSError as exc:
                what = f"{type(exc).__name__} from {url}"
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
        where = "through the VIP" if self.urls == [self.cluster.api_url] else f"to {len(self.urls)} API nodes"
        return (f"{fault}: {self.ok + self.failed} requests (GET {self.path}) {where} in {self.seconds:.0f} s, "
                f"{self.ok} ok, {self.failed} failed (failures over {self.outage_s:.1f} s)")
