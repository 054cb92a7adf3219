"""What the test VMs download, served on the sandbox bridge by the test process itself.

AptRelay   an HTTP proxy for apt (Acquire::http::Proxy): GETs go to the Debian mirror; .deb
           files and by-hash indexes are kept on disk across sessions (they never change),
           other index files in memory for this relay's life.
FileServer wheelhouses over HTTP as one directory (pip --find-links reads its listing), as an
           index holds every version: the shipped pin's, and another release's once added.
wheelhouse() the wheels of the pinned Congress runtime + the openstack-congress sdist (the OCF
           agent comes from it), built once per constraints file and cached.
"""

from __future__ import annotations

import functools
import hashlib
import http.client
import http.server
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from urllib.parse import urlsplit

from image import CACHE

REPO = Path(__file__).resolve().parents[2]
CONSTRAINTS = REPO / "cloudinit" / "congress-constraints.txt"
ALLOWED_HOSTS = {"deb.debian.org"}


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True


class AptRelay:
    def __init__(self, address: tuple[str, int], cache: Path = CACHE / "apt"):
        self.cache = cache
        self.memory: dict[str, tuple[int, bytes]] = {}
        self.locks: dict[str, threading.Lock] = {}
        self.guard = threading.Lock()
        self.requests = 0
        self.server = _Server(address, functools.partial(_AptHandler, self))

    def lock(self, url: str) -> threading.Lock:
        with self.guard:
            return self.locks.setdefault(url, threading.Lock())

    def fetch(self, url: str) -> tuple[int, bytes | Path]:
        self.requests += 1
        parts = urlsplit(url)
        if parts.hostname not in ALLOWED_HOSTS or ".." in parts.path:
            return 403, b"not relayed\n"
        lasting = "/pool/" in parts.path or "/by-hash/" in parts.path
        path = self.cache / parts.hostname / parts.path.lstrip("/")
        with self.lock(url):
            if lasting and path.is_file():
                return 200, path
            if not lasting and url in self.memory:
                return self.memory[url]
            status, body = _download(parts)
            if status == 200 and lasting:
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_name(path.name + ".part")
                tmp.write_bytes(body)
                tmp.rename(path)
                return 200, path
            if status in (200, 404):
                self.memory[url] = (status, body)
            return status, body


def _download(parts, attempts: int = 3) -> tuple[int, bytes]:
    for attempt in range(attempts):
        conn = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=60)
        try:
            conn.request("GET", parts.path + (f"?{parts.query}" if parts.query else ""))
            resp = conn.getresponse()
            return resp.status, resp.read()
        except OSError:
            if attempt == attempts - 1:
                return 502, b"upstream failed\n"
        finally:
            conn.close()
    return 502, b""


class _AptHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def __init__(self, relay: AptRelay, *args, **kwargs):
        self.relay = relay
        super().__init__(*args, **kwargs)

    def do_GET(self):
        status, body = self.relay.fetch(self.path)
        data = body.read_bytes() if isinstance(body, Path) else body
        self.send_response(status)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_HEAD(self):
        self.send_response(405)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


class FileServer:
    def __init__(self, address: tuple[str, int], directory: Path):
        self.links = tempfile.TemporaryDirectory(prefix="congress-tf-wheels-")  # what is served
        self.add(directory)
        self.server = _Server(address, functools.partial(_QuietFiles, directory=self.links.name))

    def add(self, directory: Path):
        """Serve the files of another wheelhouse too (a file of the same name is the same wheel)."""
        for path in directory.iterdir():
            link = Path(self.links.name) / path.name
            if path.is_file() and not path.name.startswith(".") and not link.exists():
                link.symlink_to(path)


class _QuietFiles(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def serve(server: http.server.HTTPServer) -> threading.Thread:
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return thread


def wheelhouse(log=print, constraints: Path = CONSTRAINTS) -> Path:
    """Wheels of openstack-congress + PyMySQL under the pinned constraints, and the sdist.
    The wheels of other constraints files already here are reused (--find-links): another
    release's pin downloads only what it changes, and psycopg2 is not built again."""
    digest = hashlib.sha256(constraints.read_bytes()).hexdigest()[:16]
    target = CACHE / f"wheelhouse-{digest}"
    if (target / ".complete").exists():
        return target
    CACHE.mkdir(parents=True, exist_ok=True)
    version = re.search(r"^openstack-congress==(\S+)", constraints.read_text(), re.M | re.I).group(1)
    partial = Path(tempfile.mkdtemp(prefix="wheelhouse-", dir=CACHE))
    log(f"building the wheelhouse {target}")
    built = [str(d) for d in sorted(CACHE.glob("wheelhouse-*")) if (d / ".complete").exists()]
    try:
        _build_wheels(partial, constraints, version, built)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    (partial / ".complete").write_text(constraints.name + "\n")
    shutil.rmtree(target, ignore_errors=True)
    partial.rename(target)
    return target


def _build_wheels(partial: Path, constraints: Path, version: str, reuse: list[str]):
    with tempfile.TemporaryDirectory() as tmp:
        python = "/usr/bin/python3"  # Debian 12's, as on the VMs (same ABI for the built wheels)
        subprocess.run([python, "-m", "venv", f"{tmp}/venv"], check=True)
        pip = [f"{tmp}/venv/bin/python", "-m", "pip", "--isolated", "--disable-pip-version-check", "-q"]
        links = [f"--find-links={d}" for d in reuse]
        subprocess.run([*pip, "wheel", *links, "--use-pep517", "-c", str(constraints), "-w", str(partial), "openstack-congress", "PyMySQL"],
                       check=True, stdin=subprocess.DEVNULL)
        subprocess.run([*pip, "download", *links, "--no-binary", ":all:", "--no-deps", "-d", str(partial),
                        f"openstack-congress=={version}"], check=True, stdin=subprocess.DEVNULL)


if __name__ == "__main__":
    print(wheelhouse(log=lambda m: print(m, file=sys.stderr)))
