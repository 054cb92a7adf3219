"""Production's backing mode cluster on the VMs (harness.py): its three Galera and three
RabbitMQ VMs looked at and broken, shared by tests/vm/test_other_examples.py and bench/failover.py.
No load balancer runs in the VM world (production's is Octavia), so requests go to every policy
engine in turn; GET /v1/policies needs both the message bus (API -> engine RPC) and the database."""

from __future__ import annotations

import json
import re
import time

from checks import api_port, vms_of, wait_for
from harness import TEST_CIDR
from traffic import Traffic

# The examples' own network, on the bridge's subnet (the external network id is the examples' dummy).
EXAMPLE_NETWORK = {"cidr": TEST_CIDR, "external_network_id": "00000000-0000-4000-8000-0000000e7e01"}
# No Keystone here: production's API without authentication, so the tests can write through it.
PRODUCTION_OVERRIDES = {"network": EXAMPLE_NETWORK, "auth_strategy": "noauth"}
POLICIES_PATH = "/v1/policies"
SCRIPTS = "/usr/local/lib/congress-tf"
PASSWORD_DS = {"name": "nova_with_password", "driver": "nova",
               "config": {"auth_url": "http://keystone.invalid/v3", "username": "admin",
                          "password": "ds-secret-password", "tenant_name": "admin"}}


def rabbit_node_loss(cluster, mq):
    """Poweroff of RabbitMQ VM `mq` (busiest_rabbit: the worst one to lose), with GET /v1/policies
    on every engine counted until every engine answers through the other two: its Traffic."""
    others = [vm for vm in backing_vms(cluster, "mq") if vm is not mq]
    with Traffic(cluster, urls=engine_urls(cluster), path=POLICIES_PATH) as traffic:
        cluster.poweroff(mq)
        wait_for("the other RabbitMQ nodes see it gone", 60,
                 lambda: rabbit_running(cluster, others[0]) == rabbit_names(others))
        wait_for("every policy engine answering again", 120, lambda: all_engines_answer(cluster))
        time.sleep(5)
    return traffic


def backing_vms(cluster, kind: str):
    """The Galera ("db") or RabbitMQ ("mq") VMs, in the plan's order (the first bootstraps)."""
    return sorted((vm for vm in vms_of(cluster, "backing") if f"-{kind}-" in vm.name), key=lambda vm: vm.name)


def congress_vms(cluster):
    return vms_of(cluster, "policy_engine") + vms_of(cluster, "datasource")


def engine_urls(cluster) -> list[str]:
    return [f"http://{pe.ip}:{api_port(cluster)}" for pe in vms_of(cluster, "policy_engine")]


def all_engines_answer(cluster) -> bool:
    return all(cluster.http("GET", url + POLICIES_PATH, timeout=5)[0] == 200 for url in engine_urls(cluster))


def galera_status(cluster, vm) -> dict[str, str]:
    out = cluster.exec(vm, "mariadb --batch --skip-column-names -e \"SHOW GLOBAL STATUS LIKE 'wsrep_%'\"").stdout
    return dict(line.split("\t", 1) for line in out.splitlines() if "\t" in line)


def galera_synced(cluster, vm, size: int) -> bool:
    status = galera_status(cluster, vm)
    return (status.get("wsrep_cluster_status"), status.get("wsrep_local_state_comment"),
            status.get("wsrep_cluster_size")) == ("Primary", "Synced", str(size))


def galera_writers(cluster) -> set[str | None]:
    """The Galera writers the Congress nodes use: one writer is a set of one."""
    return {galera_writer(cluster, node) for node in congress_vms(cluster)}


def galera_writer(cluster, node) -> str | None:
    """The Galera member this Congress node's local HAProxy sends connections to (first one UP)."""
    script = ("import socket; s = socket.socket(socket.AF_UNIX); s.connect('/run/haproxy/admin.sock'); "
              "s.sendall(b'show servers state galera\\n'); print(s.makefile().read())")
    out = cluster.exec(node, f'python3 -c "{script}"', check=True).stdout
    # columns: be_id be_name srv_id srv_name srv_addr srv_op_state ...; op state 2 = running
    up = [f[3] for f in (line.split() for line in out.splitlines()) if len(f) > 5 and f[1] == "galera" and f[5] == "2"]
    return up[0] if up else None


def recover_galera(cluster, dbs) -> str:
    """README's procedure: galera-recover.sh on every member, --bootstrap on the highest seqno."""
    seqnos = {}
    for db in dbs:
        out = cluster.exec(db, f"{SCRIPTS}/galera-recover.sh 2>&1", timeout=180, check=True).stdout
        found = re.search(r"last committed seqno (-?\d+)", out)
        assert found, f"{db.name}: galera-recover.sh printed no position:\n{out}"
        seqnos[db.name] = int(found.group(1))
    best = max(dbs, key=lambda db: seqnos[db.name])
    cluster.exec(best, f"{SCRIPTS}/galera-recover.sh --bootstrap 2>&1", timeout=180, check=True)
    return f"by galera-recover.sh (seqnos {seqnos}, bootstrapped on {best.name})"


def rabbit_name(vm) -> str:
    return f"rabbit@{vm.ip}"


def rabbit_names(vms) -> set[str]:
    return {rabbit_name(vm) for vm in vms}


def rabbit_running(cluster, vm) -> set[str]:
    out = cluster.exec(vm, "rabbitmqctl --quiet cluster_status --formatter json", timeout=60).stdout
    return set(json.loads(out)["running_nodes"]) if out.strip().startswith("{") else set()


def rabbit_queues(cluster) -> list[dict]:
    mq = next(vm for vm in backing_vms(cluster, "mq") if cluster.init_pid(vm))
    out = cluster.exec(mq, "rabbitmqctl --quiet list_queues -p /congress name type leader members --formatter json",
                       timeout=60, check=True).stdout
    return json.loads(out)


def replicated_queues(cluster) -> list[dict]:
    """Congress's queues but the fanout ones, which are per consumer."""
    return [q for q in rabbit_queues(cluster) if "_fanout_" not in q["name"]]


def short_queues(cluster, members: set[str]) -> list[dict]:
    """The replicated queues that are not quorum queues on exactly `members`."""
    return [q for q in replicated_queues(cluster) if q["type"] != "quorum" or set(q["members"]) != members]


def busiest_rabbit(cluster):
    """The RabbitMQ VM leading most of Congress's quorum queues."""
    leaders = [q.get("leader") for q in rabbit_queues(cluster)]
    return max(backing_vms(cluster, "mq"), key=lambda vm: leaders.count(rabbit_name(vm)))


def wait_password_datasource_served(cluster):
    """The datasource runs (its status is served through every engine) and every engine lists it,
    which decrypts its config (congress.db.datasources): no InvalidToken in any Congress log."""
    name = PASSWORD_DS["name"]
    for url in engine_urls(cluster):
        wait_for(f"{name}'s status through {url}", 120,
                 lambda u=url: cluster.http("GET", f"{u}/v1/data-sources/{name}/status")[0] == 200)
        status, body = cluster.http("GET", url + "/v1/data-sources")
        assert status == 200, (url, status, body)
        listed = {ds["name"]: ds for ds in body["results"]}
        assert listed[name]["config"]["password"] == "<hidden>", listed[name]
    for vm in congress_vms(cluster):
        if cluster.init_pid(vm):
            found = cluster.exec(vm, "grep -l InvalidToken /var/log/congress/*.log").stdout
            assert not found, f"{vm.name}: InvalidToken in {found}"
