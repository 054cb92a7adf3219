"""The one small HTTP client of the test harnesses (the HA drill and the VM tests)."""

from __future__ import annotations

import json
from http.client import HTTPConnection
from urllib.parse import urlsplit


def http(method: str, url: str, body: dict | None = None, source: str | None = None, timeout: float = 10):
    """(status, parsed JSON or text); `source` is the client address the request comes from."""
    parts = urlsplit(url)
    conn = HTTPConnection(parts.hostname, parts.port, timeout=timeout,
                          source_address=(source, 0) if source else None)
    try:
        data = json.dumps(body).encode() if body is not None else None
        conn.request(method, (parts.path or "/") + (f"?{parts.query}" if parts.query else ""), body=data,
                     headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        raw = resp.read().decode(errors="replace")
        try:
            return resp.status, json.loads(raw)
        except ValueError:
            return resp.status, raw
    finally:
        conn.close()
