"""examples/minimal and examples/production booted for real (harness.py), one after the other.

Their load balancer is Octavia, which is not a VM: the Congress nodes are checked directly
(GET / on every policy engine, a policy created on one served by all, ds-node running).
Not shown here, because no cloud is behind the bridge: the Octavia load balancer, the router
and floating IP, and in production the fencing itself (fence_openstack would ask Nova, which
does not exist here: the devices are configured but never fence) and Keystone (production is
booted with auth_strategy noauth, so the tests can create policies and datasources).

Production's backing mode is cluster: after the boot checks, its three Galera and three RabbitMQ
VMs are broken one way after another (see the backing tests below), on the same boot.
"""

from __future__ import annotations

import time

import pytest
from api_client import http

from backing import (EXAMPLE_NETWORK, PASSWORD_DS, PRODUCTION_OVERRIDES, all_engines_answer, backing_vms,
                     busiest_rabbit, engine_urls, galera_status, galera_synced, galera_writers,
                     rabbit_names, rabbit_node_loss, rabbit_running, recover_galera, replicated_queues, short_queues,
                     wait_password_datasource_served)
from checks import (api_ok, brought_back, cloud_init_problems, create_policy, crm_online, ds_node_host, not_running,
                    vms_of, wait_for, wait_served_everywhere)
from conftest import BOOT_TIMEOUT_S
from harness import thread_in_net
from outage import write_outage_s
from traffic import report

pytestmark = pytest.mark.vm

EXAMPLE_OVERRIDES = {"minimal": {"network": EXAMPLE_NETWORK}, "production": PRODUCTION_OVERRIDES}


@pytest.fixture(scope="module", params=["minimal", "production"])
def example(request, booted):
    with booted(request.param, **EXAMPLE_OVERRIDES[request.param]) as cluster:
        cluster.example = request.param
        yield cluster


def test_every_vm_boots_clean(example):
    assert sorted(example.boot_times) == sorted(example.vms), "cloud-init never finished on some VMs"
    assert not cloud_init_problems(example)
    assert not not_running(example)


def test_every_policy_engine_serves_the_api_and_the_same_policies(example):
    engines = vms_of(example, "policy_engine")
    assert all(api_ok(example, pe) for pe in engines)
    first = f"http://{engines[0].ip}:{example.api_url.rsplit(':', 1)[1]}"
    created = [create_policy(example, "vm_example", "example(x) :- seen(x)", base_url=first)]
    wait_served_everywhere(example, created)


def test_ds_node_runs_on_one_datasource_vm(example):
    ds = vms_of(example, "datasource")
    wait_for("ds-node running on a datasource VM", 120,
             lambda: "is running on" in example.exec(ds[0], "crm_resource --resource ds-node --locate").stdout)


# --- backing mode cluster: production's Galera and RabbitMQ VMs, broken one way after another ---
# The tests below run in file order on production's cluster (skipped for minimal); each leaves
# every VM running again for the next (helpers and why requests go to every engine: backing.py).

WRITES_AGAIN_WITHIN_S = 10      # the goal for a lost Galera writer
# A write goes API -> engine (or datasource manager) over the bus: right after a fault an RPC can
# wait for its consumer to reconnect, under CI's load longer than a plain GET's 10 s.
WRITE_TIMEOUT_S = 60
# Not the goal (no failed request, not met): a bound. Measured 34-46 s over four runs; an RPC whose
# reply was lost with the node is given up after oslo.messaging's rpc_response_timeout (60 s).
MQ_OUTAGE_BUDGET_S = 60
# Each rule reads a table of its own: Congress answered 409 ("<policy>:seen") to rules of other
# policies reading the same undefined table `seen` once several did.


@pytest.fixture
def production(example):
    if example.example != "production":
        pytest.skip("backing mode cluster: the production example's")
    return example


@pytest.fixture(scope="module")
def written() -> list[dict]:
    """Policies and rules created on production, checked again after each fault."""
    return []


def test_galera_and_rabbitmq_form_their_three_node_clusters(production):
    for db in backing_vms(production, "db"):
        status = galera_status(production, db)
        assert (status["wsrep_cluster_status"], status["wsrep_local_state_comment"],
                status["wsrep_cluster_size"]) == ("Primary", "Synced", "3"), (db.name, status)
    first_db = backing_vms(production, "db")[0].name
    assert galera_writers(production) == {first_db}   # one writer, the same everywhere
    mq_names = rabbit_names(backing_vms(production, "mq"))
    for mq in backing_vms(production, "mq"):
        assert rabbit_running(production, mq) == mq_names, mq.name
    assert replicated_queues(production)
    assert short_queues(production, mq_names) == []


def test_a_datasource_with_a_password_runs_and_every_engine_decrypts_it(production):
    status, body = production.http("POST", engine_urls(production)[0] + "/v1/data-sources", PASSWORD_DS,
                                   timeout=WRITE_TIMEOUT_S)
    assert status == 201, (status, body)
    wait_password_datasource_served(production)


def test_poweroff_of_a_rabbitmq_node(production, written):
    """The node holding the Congress nodes' connections and most queue leaders goes away."""
    mq = busiest_rabbit(production)
    everyone = rabbit_names(backing_vms(production, "mq"))
    with brought_back(production, mq, f"{mq.name} back in the RabbitMQ cluster",
                      lambda: rabbit_running(production, mq) == everyone):
        traffic = rabbit_node_loss(production, mq)
        report(traffic.summary(f"poweroff of {mq.name} (RabbitMQ)"))
        report(f"mq_failover_s={traffic.outage_s:.1f}")
        assert traffic.ok > 0
        # Not yet "no request fails": with replies and fanout on quorum queues too, runs measured 0 of 64
        # failed, then 13/91 over 34 s, 17/106 over 46 s and 15/94 over 40 s
        # (classic reply queues: 21 of 96 over 49 s).
        assert traffic.outage_s < MQ_OUTAGE_BUDGET_S, traffic.failures[:5]
        for i, url in enumerate(engine_urls(production)):   # writes that go through the bus, on every engine
            written.append(create_policy(production, f"vm_after_mq_loss_{i}", f"mqloss{i}(x) :- mqloss{i}_seen(x)",
                                         base_url=url, timeout=WRITE_TIMEOUT_S))
        created_ds = dict(PASSWORD_DS, name="nova_after_mq_loss")
        status, body = production.http("POST", engine_urls(production)[-1] + "/v1/data-sources", created_ds,
                                       timeout=WRITE_TIMEOUT_S)
        assert status == 201, (status, body)
        wait_served_everywhere(production, written)


def test_poweroff_of_the_galera_writer_loses_no_acknowledged_write(production, written):
    writer = backing_vms(production, "db")[0]
    assert galera_writers(production) == {writer.name}
    acked, attempts, fault_at = [], [], {}

    def write_rules(seconds):
        urls, end, i = engine_urls(production), time.monotonic() + seconds, 0
        while time.monotonic() < end:
            rule = f"dbloss{i}(x) :- dbloss{i}_seen(x)"
            started = time.monotonic()
            try:
                status, _ = http("POST", urls[i % len(urls)] + "/v1/policies/vm_db_loss/rules", {"rule": rule},
                                 timeout=WRITE_TIMEOUT_S)
            except Exception as exc:  # noqa: BLE001 - every failed attempt is counted, the loop goes on
                status = type(exc).__name__
            attempts.append((started, status))
            if status == 201:
                acked.append((time.monotonic(), rule))
            else:
                time.sleep(0.2)
            i += 1

    written.append(create_policy(production, "vm_db_loss", "dbloss(x) :- dbloss_seen(x)",
                                 base_url=engine_urls(production)[0], timeout=WRITE_TIMEOUT_S))
    def writer_back():
        return galera_synced(production, writer, size=3) and galera_writers(production) == {writer.name}

    with brought_back(production, writer, f"{writer.name} synced and every HAProxy back on it", writer_back):
        thread = thread_in_net(production.sandbox, write_rules, 40)
        time.sleep(5)
        fault_at["t"] = time.monotonic()
        production.poweroff(writer)
        thread.join(timeout=120)
        failed = [(round(t - fault_at["t"], 1), s) for t, s in attempts if s != 201]
        db_failover_s = write_outage_s([t for t, _ in acked], fault_at["t"])
        assert db_failover_s is not None, f"no write acknowledged after the writer went: {failed[:5]}"
        report(f"poweroff of {writer.name} (Galera writer): {len(acked)} rules acknowledged, {len(failed)} "
               f"attempts failed {failed[:3]}; db_failover_s={db_failover_s:.1f}")
        assert db_failover_s <= WRITES_AGAIN_WITHIN_S, failed
        survivors = [vm for vm in backing_vms(production, "db") if vm is not writer]
        assert galera_writers(production) == {survivors[0].name}
        written.extend({"policy": "vm_db_loss", "rule": rule} for _, rule in acked)
        wait_served_everywhere(production, written)     # every acknowledged rule, on every engine


def test_reboot_of_every_database_vm_at_once(production, written):
    dbs = backing_vms(production, "db")
    boots = {db.name: db.boots for db in dbs}
    for db in dbs:
        production.exec(db, "systemctl reboot")
    for db in dbs:
        wait_for(f"{db.name} rebooted", 120,
                 lambda d=db: d.boots > boots[d.name] and production.init_pid(d) is not None)
    try:
        wait_for("the Galera cluster back by itself", 30,
                 lambda: all(galera_synced(production, db, size=3) for db in dbs))
        how = "by itself"
    except AssertionError:
        how = recover_galera(production, dbs)
        wait_for("the Galera cluster back after galera-recover.sh", 300,
                 lambda: all(galera_synced(production, db, size=3) for db in dbs))
    report(f"reboot of {', '.join(db.name for db in dbs)}: the cluster came back {how}")
    # Back means one writer again: the first member, in every Congress node's HAProxy. Until it is
    # marked up there, sessions run on a backup member and are closed when it is (a write then in
    # flight fails once, README's Galera section).
    wait_for(f"every Congress node's HAProxy back on {dbs[0].name}", 150,
             lambda: galera_writers(production) == {dbs[0].name})
    wait_for("every policy engine answering", 120, lambda: all_engines_answer(production))
    written.append(create_policy(production, "vm_after_db_reboot", "dbreboot(x) :- dbreboot_seen(x)",
                                 base_url=engine_urls(production)[-1], timeout=WRITE_TIMEOUT_S))
    wait_served_everywhere(production, written)


@pytest.mark.parametrize("member", [0, 1], ids=["first", "second"])
def test_a_rebuilt_galera_and_rabbitmq_vm_joins_the_running_cluster(production, written, member):
    """A member of each trio rebuilt (new disk, same address and user_data, as a Nova rebuild or a
    rollout's replace): it joins the cluster the other two run on. The first member must not
    bootstrap: that would start a new, empty database, and every Congress node's HAProxy would
    send it every connection (the first member is the writer); a RabbitMQ node of its own would
    split the bus. The second one comes back under the name its cluster still lists: that old
    node is forgotten, with its queue replicas, and the new one gets a replica of every queue."""
    dbs = backing_vms(production, "db")
    db, mq = dbs[member], backing_vms(production, "mq")[member]
    everyone = rabbit_names(backing_vms(production, "mq"))
    for vm in (db, mq):
        production.replace_vm(vm.name, vm.user_data)
    assert set(production.wait_cloud_init(BOOT_TIMEOUT_S, vms=[db, mq])) == {db.name, mq.name}
    assert not cloud_init_problems(production)
    wait_for(f"{db.name} synced in the cluster of three", 120, lambda: galera_synced(production, db, size=3))
    assert rabbit_running(production, mq) == everyone
    assert short_queues(production, everyone) == []
    wait_for(f"every Congress node's HAProxy on {dbs[0].name}", 300,
             lambda: galera_writers(production) == {dbs[0].name})
    wait_served_everywhere(production, written)     # what was written before, served after the rebuild
    written.append(create_policy(production, f"vm_after_rebuild_{member}", f"rebuilt{member}(x) :- seen{member}(x)",
                                 base_url=engine_urls(production)[0], timeout=WRITE_TIMEOUT_S))
    wait_served_everywhere(production, written)


def test_datasource_failover_keeps_its_password_readable(production, written):
    active = ds_node_host(production)
    assert active is not None, "ds-node runs nowhere"
    other = next(vm for vm in vms_of(production, "datasource") if vm is not active)
    with brought_back(production, active, f"{active.name} back in the cluster",
                      lambda: crm_online(production, other) >= {vm.name for vm in vms_of(production, "datasource")}):
        production.poweroff(active)
        wait_for(f"Pacemaker on {other.name} starts ds-node", 180, lambda: ds_node_host(production) is other)
        wait_password_datasource_served(production)
        log = production.exec(other, "cat /var/log/congress/*.log", check=True).stdout
        assert f"creating service {PASSWORD_DS['name']}" in log          # it runs on the new VM now
    wait_served_everywhere(production, written)
