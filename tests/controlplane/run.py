#!/usr/bin/env python3
"""Start the local OpenStack control plane by hand; Ctrl-C or SIGTERM stops everything it started.

    .venv/bin/python tests/controlplane/run.py [--root DIR] [--compute-hosts N]
    OS_CLIENT_CONFIG_FILE=DIR/clouds.yaml openstack --os-cloud controlplane server list

Builds the services' venv first when needed (.controlplane/venv, or $CONGRESS_TF_CONTROLPLANE_VENV).
"""

import argparse
import fcntl
import signal
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, as pytest's pythonpath

from controlplane import harness  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", type=Path, help="where configs, data and logs go (default: a new temp dir)")
    parser.add_argument("--compute-hosts", type=int, default=harness.COMPUTE_HOSTS)
    parser.add_argument("--build-only", action="store_true", help="build the services' venv and exit")
    args = parser.parse_args()
    venv = harness.ensure_venv()
    if args.build_only:
        return
    lock = open(harness.LOCK, "w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        sys.exit(f"another control plane holds {harness.LOCK}")
    root = args.root or Path(tempfile.mkdtemp(prefix="congress-tf-controlplane-"))
    plane = harness.ControlPlane(root, venv, args.compute_hosts)

    def stop(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    try:
        plane.start()
        print(f"export OS_CLIENT_CONFIG_FILE={plane.clouds_yaml}  # clouds: controlplane (admin), "
              f"controlplane-member; logs in {root / 'logs'}; Ctrl-C stops", flush=True)
        signal.pause()
    except KeyboardInterrupt:
        pass
    finally:
        plane.stop()
        print("controlplane: stopped", flush=True)


if __name__ == "__main__":
    main()
