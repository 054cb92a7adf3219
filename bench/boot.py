"""Boot figures of examples/no-octavia as system containers (tests/vm/harness.py): every VM
booted from the plan's own cloud-init, Congress installed from the harness's wheelhouse.
Needs root and the Debian packages of .ci/run (systemd-container, mmdebstrap).

  cloud_init_s_<role>  start of the VMs until cloud-init finished, slowest VM of each role
  boot_to_api_s        start of the VMs until GET / through the API VIP answers 200

--keep leaves the cluster running until Ctrl-C (to look around: see the printed work dir).
"""

import signal
import sys
import time

from planning import REPO, planned_outputs

sys.path.insert(0, str(REPO / "tests" / "vm"))
from harness import PLAN_OVERRIDES, Cluster  # noqa: E402

EXAMPLE = "no-octavia"


def main():
    keep = "--keep" in sys.argv
    cluster = Cluster(planned_outputs(EXAMPLE, PLAN_OVERRIDES), log=lambda m: print(m, file=sys.stderr, flush=True))
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        cluster.start()
        print(f"# work dir {cluster.workdir}, sandbox pid {cluster.sandbox.pid}", file=sys.stderr, flush=True)
        api_s = cluster.wait_api(timeout=1800)
        done = cluster.wait_cloud_init(timeout=600)
        for role in sorted({vm.role for vm in cluster.vms.values()}):
            slowest = max(done.get(vm.name, float("nan")) for vm in cluster.vms.values() if vm.role == role)
            print(f"cloud_init_s_{role}={slowest:.1f}", flush=True)
        print(f"boot_to_api_s={api_s:.1f}", flush=True)
        if keep:
            print("# --keep: Ctrl-C to stop", file=sys.stderr, flush=True)
            while True:
                time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        cluster.close()


if __name__ == "__main__":
    main()
