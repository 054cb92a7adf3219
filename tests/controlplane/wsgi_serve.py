"""Serve one OpenStack WSGI application on a threaded wsgiref server (test use only).

    python wsgi_serve.py HOST PORT MODULE:FACTORY [service arguments...]

The service arguments become sys.argv[1:] before FACTORY() builds the application, so the
service's oslo.config sees only its own options (it rejects a WSGI server's argv). Runs in the
control plane's venv; the pbr test servers of the same services serve one request at a time.
"""

import importlib
import socketserver
import sys
from wsgiref import simple_server


class ThreadingServer(socketserver.ThreadingMixIn, simple_server.WSGIServer):
    daemon_threads = True


class QuietHandler(simple_server.WSGIRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - wsgiref's signature
        sys.stderr.write(f"{self.address_string()} {format % args}\n")


def main() -> None:
    host, port, target, *service_args = sys.argv[1:]
    module, factory = target.split(":")
    sys.argv = [f"{module}.{factory}", *service_args]
    application = getattr(importlib.import_module(module), factory)()
    server = simple_server.make_server(host, int(port), application, ThreadingServer, QuietHandler)
    print(f"serving {target} on http://{host}:{port}/", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
