"""Boot figures of examples/no-octavia as system containers (tests/vm/harness.py): every VM
booted from the plan's own cloud-init.  Needs root and the Debian packages of .ci/run
(systemd-container, mmdebstrap).

The VMs boot a baked image, as an operator does for fast boots: each role's Debian packages and
Congress already installed (tests/vm/image.py baked_layer, built once and cached), so cloud-init's
`packages:` and install-congress.sh find them in place.  --plain boots the stock base image
instead, each VM installing its role at boot (what the VM tests run).  Baking is not timed.

  apt_installs_at_boot  VMs whose apt installed anything at boot (0 on a baked image)
  pip_installs_at_boot  VMs whose install-congress.sh ran pip at boot (0 on a baked image)
  cloud_init_s_<role>   start of the VMs until cloud-init finished, slowest VM of each role
  boot_to_api_s         start of the VMs until GET / through the API VIP answers 200
Every VM must finish cloud-init without error and run with no failed unit, else no figure is
printed and the exit status is 1.

--keep leaves the cluster running until Ctrl-C (to look around: see the printed work dir).
"""

import calendar
import signal
import sys
import time

from planning import REPO, planned_outputs

sys.path.insert(0, str(REPO / "tests" / "vm"))
from checks import cloud_init_problems, not_running  # noqa: E402
from harness import PLAN_OVERRIDES, Cluster  # noqa: E402

EXAMPLE = "no-octavia"


def main():
    keep = "--keep" in sys.argv
    image = "plain" if "--plain" in sys.argv else "baked"
    print(f"# image: {image}", file=sys.stderr, flush=True)
    cluster = Cluster(planned_outputs(EXAMPLE, PLAN_OVERRIDES), image=image,
                      log=lambda m: print(m, file=sys.stderr, flush=True))
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        cluster.start()
        print(f"# work dir {cluster.workdir}, sandbox pid {cluster.sandbox.pid}", file=sys.stderr, flush=True)
        api_s = cluster.wait_api(timeout=1800)
        done = cluster.wait_cloud_init(timeout=600)
        problems = {**cloud_init_problems(cluster), **not_running(cluster)}
        if problems:
            for name, found in sorted(problems.items()):
                print(f"# {name}: {found}", file=sys.stderr, flush=True)
            sys.exit(1)
        apt, pip = installs_at_boot(cluster)
        print(f"apt_installs_at_boot={len(apt)}", flush=True)
        print(f"pip_installs_at_boot={len(pip)}", flush=True)
        for role in sorted({vm.role for vm in cluster.vms.values()}):
            print(f"cloud_init_s_{role}={max(done[vm.name] for vm in cluster.vms.values() if vm.role == role):.1f}",
                  flush=True)
        print(f"boot_to_api_s={api_s:.1f}", flush=True)
        if keep:
            print("# --keep: Ctrl-C to stop", file=sys.stderr, flush=True)
            while True:
                time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        cluster.close()


def installs_at_boot(cluster) -> tuple[list[str], list[str]]:
    """The VMs whose apt installed something after start() (apt's history), and those whose
    install-congress.sh ran pip (its "installed in" line in cloud-init's output log)."""
    apt, pip = [], []
    for vm in cluster.vms.values():
        history = cluster.exec(vm, "cat /var/log/apt/history.log").stdout
        starts = [calendar.timegm(time.strptime(" ".join(line.split()[1:]), "%Y-%m-%d %H:%M:%S"))
                  for line in history.splitlines() if line.startswith("Start-Date:")]
        if any(started >= int(cluster.started_at) for started in starts):
            apt.append(vm.name)
        if cluster.exec(vm, "grep -q '^install-congress: openstack-congress .* installed in' "
                            "/var/log/cloud-init-output.log").returncode == 0:
            pip.append(vm.name)
    return apt, pip


if __name__ == "__main__":
    main()
