"""A real OpenStack 2025.1 control plane on 127.0.0.1, for the CLI's cloud-path tests.

Keystone, Placement, Glance, Neutron (ML2, no agents), Nova (API, conductor, scheduler and
COMPUTE_HOSTS nova-compute processes with the fake virt driver) and Octavia (API + worker with the
no-op amphora and compute drivers), on their own MariaDB and RabbitMQ instances. The services come
from PyPI, pinned (requirements.txt, with the OpenStack 2025.1 upper constraints), in a venv of
their own; two test-only plugins (plugins/) make it work without agents or amphorae: an ML2
mechanism driver that binds every port, and an Octavia network driver whose VIP port is a real
Neutron port.

Facts behind the shape (measured here): sqlite fails under concurrent API workers ("database is
locked"), so MariaDB; oslo.messaging's fake transport cannot span Nova's processes, so RabbitMQ;
nova-api runs as its own eventlet server (not under a WSGI server); Keystone, Placement, Neutron
and Octavia's API run under wsgi_serve.py; Octavia wants a CA even with no-op drivers. Each
nova-compute keeps its own state_path, so its node identity is stable for the session.

The fake servers' addresses belong to no host: nothing may send traffic to them.
Everything listens on 127.0.0.1 on the ports below, apart from the HA drill's (198.19.10.0/24,
3306/5672); one control plane per machine at a time (LOCK).
"""

from __future__ import annotations

import datetime
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml

from integration.drill import Proc, _raise, port_open, run, run_cleanups, succeeds, wait_for
from paths import REPO

HERE = Path(__file__).resolve().parent
LOCK = "/tmp/congress-controlplane.lock"
HOST = "127.0.0.1"
PORTS = {"mariadb": 13306, "rabbitmq": 15672, "epmd": 14369, "rabbitmq_dist": 15679, "keystone": 15000,
         "placement": 18778, "nova": 18774, "glance": 19292, "neutron": 19696, "octavia": 19876}
COMPUTE_HOSTS = 3
REGION = "RegionOne"
# The same services without a load-balancer endpoint: a cloud without Octavia, for lb_provider auto.
REGION_WITHOUT_OCTAVIA = "RegionNoOctavia"
DB_USER, DB_PASSWORD = "openstack", "cp-db-secret"
MQ_USER, MQ_PASSWORD = "openstack", "cp-mq-secret"
ADMIN_PASSWORD = "cp-admin-secret"
MEMBER = {"user": "cp-member", "password": "cp-member-secret", "project": "cp-project"}
DATABASES = ("keystone", "placement", "glance", "neutron", "nova_api", "nova", "nova_cell0", "octavia")
# Addresses the seeded cloud uses: TEST-NET-ish benchmarking space only (198.18.0.0/15).
PUBLIC_CIDR = "198.19.250.0/24"
PRIVATE_CIDR = "198.19.251.0/24"
FLAVORS = (("m1.small", 1, 2048, 10), ("m1.medium", 2, 4096, 20), ("m1.large", 4, 8192, 40))
IMAGE = "debian-12"


def constraints_file() -> Path:
    path = Path(os.environ.get("CONGRESS_TF_OPENSTACK_CONSTRAINTS",
                               REPO.parent / "shared/reference/openstack-2025.1-upper-constraints.txt"))
    if not path.is_file():
        raise FileNotFoundError(f"OpenStack 2025.1 upper constraints not found at {path} "
                                "(set CONGRESS_TF_OPENSTACK_CONSTRAINTS)")
    return path


def venv_dir() -> Path:
    return Path(os.environ.get("CONGRESS_TF_CONTROLPLANE_VENV", REPO / ".controlplane" / "venv"))


def _venv_stamp() -> str:
    digest = hashlib.sha256()
    for path in (HERE / "requirements.txt", constraints_file(), *sorted((HERE / "plugins").rglob("*.py")),
                 HERE / "plugins" / "pyproject.toml"):
        digest.update(path.read_bytes())
    return digest.hexdigest()


def ensure_venv(log=print) -> Path:
    """The services' venv, built once per requirements/constraints/plugins (a stamp file says which)."""
    venv = venv_dir()
    stamp = venv / "congress-tf-controlplane.stamp"
    want = _venv_stamp()
    if stamp.exists() and stamp.read_text() == want:
        return venv
    log(f"controlplane: building the services' venv in {venv}")
    started = time.monotonic()
    if venv.exists():
        shutil.rmtree(venv)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin/pip"), "install", "-q", "--disable-pip-version-check"]
    subprocess.run(pip + ["-c", str(constraints_file()), "-r", str(HERE / "requirements.txt")], check=True)
    with tempfile.TemporaryDirectory() as tmp:  # build outside the tree: no build/ or egg-info left behind
        shutil.copytree(HERE / "plugins", Path(tmp) / "plugins")
        subprocess.run(pip + ["--no-deps", str(Path(tmp) / "plugins")], check=True)
    stamp.write_text(want)
    log(f"controlplane: venv ready in {time.monotonic() - started:.0f} s")
    return venv


def ini(sections: dict[str, dict[str, object]]) -> str:
    return "".join(f"[{name}]\n" + "".join(f"{k} = {v}\n" for k, v in body.items()) + "\n"
                   for name, body in sections.items())


def _url(service: str, path: str = "") -> str:
    return f"http://{HOST}:{PORTS[service]}{path}"


class ControlPlane:
    def __init__(self, root: Path, venv: Path, compute_hosts: int = COMPUTE_HOSTS, log=print):
        self.root, self.venv, self.compute_hosts, self.log = Path(root), Path(venv), compute_hosts, log
        self.procs: dict[str, Proc] = {}
        self.cleanups: list = []
        self.started_s: float | None = None

    # -- public ---------------------------------------------------------------------------------
    @property
    def clouds_yaml(self) -> Path:
        return self.root / "clouds.yaml"

    def db_url(self, database: str) -> str:
        return f"mysql+pymysql://{DB_USER}:{DB_PASSWORD}@{HOST}:{PORTS['mariadb']}/{database}?charset=utf8"

    def start(self) -> "ControlPlane":
        started = time.monotonic()
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "logs").mkdir(exist_ok=True)
        try:
            self._write_configs()
            with ThreadPoolExecutor(2) as pool:
                list(pool.map(lambda f: f(), (self._start_mariadb, self._start_rabbitmq)))
            self._sync_databases()
            self._start_keystone()
            self._register_catalog()
            self._start_services()
            self._start_computes()
            self._seed()
        except BaseException:
            self.stop()
            raise
        self.started_s = time.monotonic() - started
        self.log(f"controlplane: up in {self.started_s:.0f} s, {self.rss_mb():.0f} MiB RSS; "
                 f"OS_CLIENT_CONFIG_FILE={self.clouds_yaml}")
        return self

    def stop(self) -> None:
        """SIGTERM to every process group at once, then each gets what is left of 15 s before SIGKILL."""
        procs = list(self.procs.values())
        for proc in procs:
            if proc.alive():
                proc.signal_group(signal.SIGTERM)
        deadline = time.monotonic() + 15
        for proc in procs:
            proc.stop(timeout=max(deadline - time.monotonic(), 0.1))
        self.procs.clear()
        run_cleanups(self.cleanups)

    def rss_mb(self) -> float:
        total = 0
        for proc in self.procs.values():
            for pid in _group_pids(proc.pid):
                try:
                    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                        if line.startswith("VmRSS:"):
                            total += int(line.split()[1])
                except OSError:
                    pass
        return total / 1024

    def connect(self, cloud: str = "controlplane"):
        import openstack

        return openstack.connection.Connection(config=_cloud_config(self.clouds_yaml, cloud))

    def nova_manage(self, *args: str) -> str:
        return run([self.venv / "bin/nova-manage", "--config-file", self.conf("nova"), *args], timeout=300)

    def sql(self, database: str, statement: str) -> str:
        """Run SQL in a service's database (tests use it for what no API does, e.g. Octavia's health
        manager reporting a member ONLINE)."""
        return run(["mariadb", "--no-defaults", f"--socket={self.root / 'mariadb' / 'mysqld.sock'}", "-uroot",
                    "--batch", "--skip-column-names", database], input=statement)

    def conf(self, name: str) -> Path:
        """etc/NAME/NAME.conf: a directory each (Placement reads its file from one)."""
        return self.root / "etc" / name / f"{name}.conf"

    # -- configuration --------------------------------------------------------------------------
    def _auth(self) -> dict[str, object]:
        return {"auth_url": _url("keystone", "/v3"), "auth_type": "password", "username": "admin",
                "password": ADMIN_PASSWORD, "project_name": "admin", "user_domain_name": "Default",
                "project_domain_name": "Default", "region_name": REGION}

    def _authtoken(self) -> dict[str, object]:
        return {"www_authenticate_uri": _url("keystone", "/v3"), **self._auth()}

    def _write(self, name: str, text: str) -> None:
        self.conf(name).parent.mkdir(parents=True, exist_ok=True)
        self.conf(name).write_text(text)

    def _write_configs(self) -> None:
        etc = self.root / "etc"
        etc.mkdir(exist_ok=True)
        mq = f"rabbit://{MQ_USER}:{MQ_PASSWORD}@{HOST}:{PORTS['rabbitmq']}/"
        locks = self.root / "locks"
        locks.mkdir(exist_ok=True)
        keystone_dir = self.root / "keystone"
        self._write("keystone", ini({
            "DEFAULT": {"debug": False},
            "database": {"connection": self.db_url("keystone")},
            "token": {"provider": "fernet"},
            "fernet_tokens": {"key_repository": keystone_dir / "fernet-keys"},
            "fernet_receipts": {"key_repository": keystone_dir / "fernet-keys"},
            "credential": {"key_repository": keystone_dir / "credential-keys"},
        }))
        self._write("placement", ini({
            "DEFAULT": {"debug": False},
            "placement_database": {"connection": self.db_url("placement")},
            "api": {"auth_strategy": "keystone"},
            "keystone_authtoken": self._authtoken(),
        }))
        glance = self.root / "glance"
        self._write("glance-api", ini({
            "DEFAULT": {"bind_host": HOST, "bind_port": PORTS["glance"], "workers": 1,
                        "enabled_backends": "file:file"},
            "database": {"connection": self.db_url("glance")},
            "glance_store": {"default_backend": "file"},
            "file": {"filesystem_store_datadir": glance / "images"},
            "os_glance_staging_store": {"filesystem_store_datadir": glance / "staging"},
            "os_glance_tasks_store": {"filesystem_store_datadir": glance / "tasks"},
            "keystone_authtoken": self._authtoken(),
            "paste_deploy": {"flavor": "keystone", "config_file": self.venv / "etc/glance/glance-api-paste.ini"},
            "oslo_concurrency": {"lock_path": locks},
        }))
        self._write("neutron", ini({
            "DEFAULT": {"core_plugin": "ml2", "service_plugins": "router", "auth_strategy": "keystone",
                        "transport_url": mq, "api_paste_config": self.venv / "etc/neutron/api-paste.ini",
                        "notify_nova_on_port_status_changes": False, "notify_nova_on_port_data_changes": False,
                        "dhcp_agent_notification": False, "state_path": self.root / "neutron"},
            "database": {"connection": self.db_url("neutron")},
            "keystone_authtoken": self._authtoken(),
            "nova": self._auth(),
            "ml2": {"type_drivers": "flat,vxlan", "tenant_network_types": "vxlan",
                    "mechanism_drivers": "bind_every_port", "extension_drivers": "port_security"},
            "ml2_type_vxlan": {"vni_ranges": "1:1000"},
            "ml2_type_flat": {"flat_networks": "public"},
            "oslo_concurrency": {"lock_path": locks},
        }))
        nova_auth = {"placement": self._auth(), "neutron": self._auth(), "glance": {"region_name": REGION}}
        self._write("nova", ini({
            "DEFAULT": {"transport_url": mq, "host": "cp-controller", "my_ip": HOST, "state_path": self.root / "nova",
                        "osapi_compute_listen": HOST, "osapi_compute_listen_port": PORTS["nova"],
                        "osapi_compute_workers": 1, "enabled_apis": "osapi_compute",
                        "compute_driver": "fake.FakeDriver", "vif_plugging_timeout": 0,
                        "vif_plugging_is_fatal": False},
            "api": {"auth_strategy": "keystone"},
            "wsgi": {"api_paste_config": self.venv / "etc/nova/api-paste.ini"},
            "api_database": {"connection": self.db_url("nova_api")},
            "database": {"connection": self.db_url("nova")},
            "keystone_authtoken": self._authtoken(),
            **nova_auth,
            "conductor": {"workers": 1},
            "scheduler": {"workers": 1, "discover_hosts_in_cells_interval": -1},
            "oslo_concurrency": {"lock_path": locks},
            "oslo_messaging_notifications": {"driver": "noop"},
        }))
        for i in range(self.compute_hosts):
            self._write(f"nova-compute-{i}", ini({"DEFAULT": {
                "host": f"cp-compute-{i}", "state_path": self.root / f"nova-compute-{i}"}}))
        self._write_octavia_conf(etc, mq, locks)
        self._write_clouds_yaml()

    def _write_octavia_conf(self, etc: Path, mq: str, locks: Path) -> None:
        certs = self.root / "octavia-certs"
        ca_cert, ca_key, client_pem = _make_octavia_certs(certs)
        self._write("octavia", ini({
            "DEFAULT": {"transport_url": mq},
            "api_settings": {"bind_host": HOST, "bind_port": PORTS["octavia"], "auth_strategy": "keystone",
                             "enabled_provider_drivers": "amphora:the amphora driver",
                             "default_provider_driver": "amphora"},
            "database": {"connection": self.db_url("octavia")},
            "keystone_authtoken": self._authtoken(),
            "service_auth": self._auth(),
            "controller_worker": {"amphora_driver": "amphora_noop_driver", "compute_driver": "compute_noop_driver",
                                  "network_driver": "neutron_vip_port", "loadbalancer_topology": "SINGLE",
                                  "workers": 1, "amp_image_tag": "amphora", "amp_boot_network_list": "none",
                                  "client_ca": ca_cert},
            "certificates": {"cert_generator": "local_cert_generator", "ca_certificate": ca_cert,
                             "ca_private_key": ca_key, "server_certs_key_passphrase": "congress-tf-controlplane-octavia"},
            "haproxy_amphora": {"client_cert": client_pem, "server_ca": ca_cert},
            "task_flow": {"jobboard_enabled": False},
            "oslo_concurrency": {"lock_path": locks},
            "oslo_messaging": {"topic": "octavia_prov"},
        }))

    def _write_clouds_yaml(self) -> None:
        admin = {k: v for k, v in self._auth().items() if k not in ("auth_type", "region_name")}
        member = {**admin, "username": MEMBER["user"], "password": MEMBER["password"], "project_name": MEMBER["project"]}
        clouds = {"clouds": {
            "controlplane": {"auth": admin, "region_name": REGION, "identity_api_version": 3},
            "controlplane-member": {"auth": member, "region_name": REGION, "identity_api_version": 3},
            "controlplane-no-octavia": {"auth": admin, "region_name": REGION_WITHOUT_OCTAVIA,
                                        "identity_api_version": 3},
        }}
        self.clouds_yaml.write_text(yaml.safe_dump(clouds, sort_keys=False))
        self.clouds_yaml.chmod(0o600)

    # -- processes ------------------------------------------------------------------------------
    def _spawn(self, name: str, argv: list, env: dict | None = None) -> Proc:
        proc = Proc(name, argv, self.root / "logs" / f"{name}.log", env=env, cwd=self.root).start()
        self.procs[name] = proc
        return proc

    def _bin(self, name: str) -> Path:
        return self.venv / "bin" / name

    def _wait_port(self, name: str, service: str, timeout: float = 120) -> None:
        proc = self.procs[name]
        wait_for(name, lambda: port_open(HOST, PORTS[service]) or (not proc.alive() and _raise(proc)), timeout)

    def _start_mariadb(self) -> None:
        home = self.root / "mariadb"
        data, sock = home / "data", home / "mysqld.sock"
        home.mkdir(exist_ok=True)
        run(["mariadb-install-db", "--no-defaults", f"--datadir={data}", "--user=root",
             "--auth-root-authentication-method=normal", "--skip-test-db"])
        self._spawn("mariadb", ["mariadbd", "--no-defaults", f"--datadir={data}", f"--socket={sock}",
                                f"--bind-address={HOST}", f"--port={PORTS['mariadb']}", "--user=root",
                                f"--pid-file={home / 'mysqld.pid'}", "--skip-log-bin", "--skip-name-resolve",
                                "--innodb-buffer-pool-size=128M", "--innodb-flush-log-at-trx-commit=0",
                                "--max-connections=1000", "--character-set-server=utf8mb4"])
        self._wait_port("mariadb", "mariadb", 60)
        sql = "".join(f"CREATE DATABASE IF NOT EXISTS {d};" for d in DATABASES)
        sql += (f"CREATE USER IF NOT EXISTS '{DB_USER}'@'{HOST}' IDENTIFIED BY '{DB_PASSWORD}';"
                f"GRANT ALL PRIVILEGES ON *.* TO '{DB_USER}'@'{HOST}';")
        run(["mariadb", "--no-defaults", f"--socket={sock}", "-uroot"], input=sql)

    def _start_rabbitmq(self) -> None:
        home = self.root / "rabbitmq"
        for d in ("home", "mnesia", "log"):
            (home / d).mkdir(parents=True, exist_ok=True)
        (home / "rabbitmq.conf").write_text(f"listeners.tcp.1 = {HOST}:{PORTS['rabbitmq']}\n"
                                            "log.console = true\nlog.file = false\n")
        (home / "enabled_plugins").write_text("[].\n")
        env = {"HOME": str(home / "home"), "RABBITMQ_NODENAME": "congress-tf-controlplane@localhost",
               "RABBITMQ_MNESIA_BASE": str(home / "mnesia"), "RABBITMQ_LOG_BASE": str(home / "log"),
               "RABBITMQ_CONFIG_FILE": str(home / "rabbitmq.conf"), "RABBITMQ_NODE_IP_ADDRESS": HOST,
               "RABBITMQ_ENABLED_PLUGINS_FILE": str(home / "enabled_plugins"), "ERL_EPMD_PORT": str(PORTS["epmd"]),
               "RABBITMQ_DIST_PORT": str(PORTS["rabbitmq_dist"]), "RABBITMQ_PID_FILE": str(home / "rabbitmq.pid")}
        self._spawn("epmd", ["epmd", "-port", str(PORTS["epmd"]), "-address", HOST])
        self._spawn("rabbitmq", ["/usr/lib/rabbitmq/bin/rabbitmq-server"], env=env)
        self._wait_port("rabbitmq", "rabbitmq", 120)
        ctl = ["/usr/lib/rabbitmq/bin/rabbitmqctl", "--quiet"]
        run(ctl + ["add_user", MQ_USER], env=env, input=MQ_PASSWORD + "\n")
        run(ctl + ["set_permissions", "-p", "/", MQ_USER, ".*", ".*", ".*"], env=env)

    def _sync_databases(self) -> None:
        b = self._bin
        nova = ["--config-file", self.conf("nova")]
        keystone = [b("keystone-manage"), "--config-file", self.conf("keystone")]
        for d in ("fernet-keys", "credential-keys"):
            (self.root / "keystone" / d).mkdir(parents=True, exist_ok=True, mode=0o700)
        steps = [
            [keystone + ["db_sync"],
             keystone + ["fernet_setup", "--keystone-user", "root", "--keystone-group", "root"],
             keystone + ["credential_setup", "--keystone-user", "root", "--keystone-group", "root"],
             keystone + ["bootstrap", "--bootstrap-password", ADMIN_PASSWORD, "--bootstrap-region-id", REGION,
                         "--bootstrap-admin-url", _url("keystone", "/v3"),
                         "--bootstrap-public-url", _url("keystone", "/v3"),
                         "--bootstrap-internal-url", _url("keystone", "/v3")]],
            [[b("placement-manage"), "--config-file", self.conf("placement"), "db", "sync"]],
            [[b("glance-manage"), "--config-file", self.conf("glance-api"), "db_sync"]],
            [[b("neutron-db-manage"), "--config-file", self.conf("neutron"), "upgrade", "heads"]],
            [[b("octavia-db-manage"), "--config-file", self.conf("octavia"), "upgrade", "head"]],
            [[b("nova-manage"), *nova, "api_db", "sync"],
             [b("nova-manage"), *nova, "cell_v2", "map_cell0", "--database_connection", self.db_url("nova_cell0")],
             [b("nova-manage"), *nova, "cell_v2", "create_cell", "--name", "cell1"],
             [b("nova-manage"), *nova, "db", "sync"]],
        ]

        stopping = threading.Event()

        def run_all(commands):
            for argv in commands:
                if not stopping.is_set():
                    run(argv, timeout=600)

        # Not `with`: on SIGTERM (KeyboardInterrupt) start() must go on to stop() at once, not wait
        # for every queued sync; a sync already running ends by itself when MariaDB goes.
        pool = ThreadPoolExecutor(3)
        try:
            for future in [pool.submit(run_all, commands) for commands in steps]:
                future.result()
        except BaseException:
            stopping.set()
            raise
        finally:
            pool.shutdown(wait=False, cancel_futures=True)

    def _wsgi(self, name: str, service: str, factory: str, args: list, env: dict | None = None) -> None:
        self._spawn(name, [self._bin("python"), HERE / "wsgi_serve.py", HOST, PORTS[service], factory, *args], env=env)

    def _start_keystone(self) -> None:
        self._wsgi("keystone", "keystone", "keystone.server.wsgi:initialize_public_application", [],
                   env={"OS_KEYSTONE_CONFIG_FILES": str(self.conf("keystone"))})
        self._wait_port("keystone", "keystone", 60)
        wait_for("keystone token", lambda: self.connect().auth_token, 60, interval=1)

    def _register_catalog(self) -> None:
        conn = self.connect()
        identity = conn.identity
        identity.create_region(id=REGION_WITHOUT_OCTAVIA)
        for service, kind in (("placement", "placement"), ("nova", "compute"), ("glance", "image"),
                              ("neutron", "network"), ("octavia", "load-balancer")):
            svc = identity.create_service(name=service, type=kind)
            path = "/v2.1" if service == "nova" else ""
            for region in (REGION, REGION_WITHOUT_OCTAVIA)[:1 if service == "octavia" else 2]:
                for interface in ("public", "internal", "admin"):
                    identity.create_endpoint(service_id=svc.id, interface=interface, url=_url(service, path),
                                             region_id=region)
        project = identity.create_project(name=MEMBER["project"], domain_id="default")
        user = identity.create_user(name=MEMBER["user"], password=MEMBER["password"], domain_id="default",
                                    default_project_id=project.id)
        member = identity.find_role("member")
        identity.assign_project_role_to_user(project, user, member)
        # Octavia's default policy wants a load-balancer role of its own for non-admin users.
        lb_member = identity.create_role(name="load-balancer_member")
        identity.assign_project_role_to_user(project, user, lb_member)

    def _start_services(self) -> None:
        self._wsgi("placement", "placement", "placement.wsgi:init_application", [],
                   env={"OS_PLACEMENT_CONFIG_DIR": str(self.conf("placement").parent)})
        self._spawn("glance-api", [self._bin("glance-api"), "--config-file", self.conf("glance-api")])
        self._wsgi("neutron-api", "neutron", "neutron.cmd.server:main_api_uwsgi",
                   ["--config-file", self.conf("neutron")])
        nova = ["--config-file", self.conf("nova")]
        self._spawn("nova-api", [self._bin("nova-api"), *nova])
        self._spawn("nova-conductor", [self._bin("nova-conductor"), *nova])
        self._spawn("nova-scheduler", [self._bin("nova-scheduler"), *nova])
        self._wsgi("octavia-api", "octavia", "octavia.api.app:setup_app", ["--config-file", self.conf("octavia")])
        self._spawn("octavia-worker", [self._bin("octavia-worker"), "--config-file", self.conf("octavia")])
        for name, service in (("placement", "placement"), ("glance-api", "glance"), ("neutron-api", "neutron"),
                              ("nova-api", "nova"), ("octavia-api", "octavia")):
            self._wait_port(name, service, 180)

    def _start_computes(self) -> None:
        for i in range(self.compute_hosts):
            self._spawn(f"nova-compute-{i}", [self._bin("nova-compute"), "--config-file", self.conf("nova"),
                                              "--config-file", self.conf(f"nova-compute-{i}")])
        conn = self.connect()

        def all_hosts_up():
            for name, proc in self.procs.items():
                if not proc.alive():
                    _raise(proc)
            self.nova_manage("cell_v2", "discover_hosts")
            return len(list(conn.compute.hypervisors())) >= self.compute_hosts

        wait_for(f"{self.compute_hosts} compute hosts", all_hosts_up, 240, interval=3)

    def _seed(self) -> None:
        """What a small cloud has: flavors, an image, an external network."""
        conn = self.connect()
        # The admin project runs many tests' servers side by side; the member project keeps the
        # defaults (10 instances, 20 cores), which quota tests set as they need.
        conn.set_compute_quotas(conn.current_project_id, instances=500, cores=2000, ram=4096000, server_groups=200,
                                server_group_members=200, key_pairs=200)
        conn.set_network_quotas(conn.current_project_id, network=-1, subnet=-1, port=-1, router=-1,
                                floatingip=-1, security_group=-1, security_group_rule=-1)
        for name, vcpus, ram, disk in FLAVORS:
            conn.compute.create_flavor(name=name, vcpus=vcpus, ram=ram, disk=disk)
        image = conn.image.create_image(name=IMAGE, disk_format="raw", container_format="bare",
                                        visibility="public", data=b"\0" * 1024)
        wait_for("image active", lambda: conn.image.get_image(image.id).status == "active", 60)
        public = conn.network.create_network(name="public", is_router_external=True, is_shared=False,
                                             provider_network_type="flat", provider_physical_network="public")
        conn.network.create_subnet(network_id=public.id, name="public-v4", ip_version=4, cidr=PUBLIC_CIDR,
                                   enable_dhcp=False)


class KeystoneOnly:
    """Keystone alone, for tests that need only tokens (tests/integration/test_keystone_tls.py): the
    control plane's Keystone from the same venv, on a MariaDB of its own reached by its socket only
    (sqlite says "database is locked" even to one client) and on a port of the caller's (not PORTS:
    it may run beside a full control plane), bootstrapped as keystone-manage does it for an
    operator (admin user, project and role, RegionOne, the identity endpoint). No RabbitMQ, no lock."""

    def __init__(self, root: Path, venv: Path, port: int, admin_password: str = ADMIN_PASSWORD, log=print):
        self.root, self.venv, self.port, self.admin_password, self.log = Path(root), Path(venv), port, admin_password, log
        self.proc: Proc | None = None
        self.db: Proc | None = None

    @property
    def auth_url(self) -> str:
        return f"http://{HOST}:{self.port}/v3"

    def admin_auth(self) -> dict[str, str]:
        return {"auth_url": self.auth_url, "username": "admin", "password": self.admin_password,
                "project_name": "admin", "user_domain_name": "Default", "project_domain_name": "Default"}

    def start(self) -> "KeystoneOnly":
        started = time.monotonic()
        conf = self.root / "keystone.conf"
        keys = self.root / "fernet-keys"
        keys.mkdir(parents=True, exist_ok=True, mode=0o700)
        (self.root / "logs").mkdir(exist_ok=True)
        data, sock = self.root / "mariadb", self.root / "mysqld.sock"
        conf.write_text(ini({
            "DEFAULT": {"debug": False},
            "database": {"connection": f"mysql+pymysql://root@localhost/keystone?unix_socket={sock}&charset=utf8"},
            "token": {"provider": "fernet"},
            "fernet_tokens": {"key_repository": keys},
            "fernet_receipts": {"key_repository": keys},
        }))
        manage = [self.venv / "bin/keystone-manage", "--config-file", conf]
        try:
            run(["mariadb-install-db", "--no-defaults", f"--datadir={data}", "--user=root",
                 "--auth-root-authentication-method=normal", "--skip-test-db"])
            self.db = Proc("mariadb", ["mariadbd", "--no-defaults", f"--datadir={data}", f"--socket={sock}",
                                       "--skip-networking", "--user=root", f"--pid-file={self.root / 'mysqld.pid'}",
                                       "--skip-log-bin", "--innodb-buffer-pool-size=32M",
                                       "--innodb-flush-log-at-trx-commit=0", "--character-set-server=utf8mb4"],
                           self.root / "logs" / "mariadb.log", cwd=self.root).start()
            sql = ["mariadb", "--no-defaults", f"--socket={sock}", "-uroot"]
            wait_for("keystone's MariaDB", lambda: succeeds(sql + ["-e", "SELECT 1"])
                     or (not self.db.alive() and _raise(self.db)), 60)
            run(sql, input="CREATE DATABASE keystone;")
            run(manage + ["db_sync"], timeout=600)
            run(manage + ["fernet_setup", "--keystone-user", "root", "--keystone-group", "root"])
            run(manage + ["bootstrap", "--bootstrap-password", self.admin_password, "--bootstrap-region-id", REGION,
                          "--bootstrap-public-url", self.auth_url, "--bootstrap-internal-url", self.auth_url,
                          "--bootstrap-admin-url", self.auth_url], timeout=300)
            self.proc = Proc("keystone", [self.venv / "bin/python", HERE / "wsgi_serve.py", HOST, self.port,
                                          "keystone.server.wsgi:initialize_public_application"],
                             self.root / "logs" / "keystone.log", env={"OS_KEYSTONE_CONFIG_FILES": str(conf)},
                             cwd=self.root).start()
            wait_for("keystone", lambda: port_open(HOST, self.port) or (not self.proc.alive() and _raise(self.proc)), 120)
        except BaseException:
            self.stop()
            raise
        self.log(f"keystone-only: up on {self.auth_url} in {time.monotonic() - started:.0f} s")
        return self

    def stop(self) -> None:
        for proc in (self.proc, self.db):
            if proc is not None:
                proc.stop(timeout=15)
        self.proc = self.db = None


def _cloud_config(clouds_yaml: Path, cloud: str):
    from openstack import config

    return config.OpenStackConfig(config_files=[str(clouds_yaml)]).get_one(cloud=cloud)


def _group_pids(pgid: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if os.getpgid(int(entry.name)) == pgid:
                    pids.append(int(entry.name))
            except OSError:
                pass
    return pids


def _make_octavia_certs(certs: Path) -> tuple[Path, Path, Path]:
    """A CA and a client certificate + key (one PEM) for Octavia's configuration checks."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    certs.mkdir(parents=True, exist_ok=True, mode=0o700)
    now = datetime.datetime.now(datetime.timezone.utc)

    def cert(subject: str, key, issuer_name, issuer_key, ca: bool):
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
        return (x509.CertificateBuilder().subject_name(name).issuer_name(issuer_name or name)
                .public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=30))
                .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
                .sign(issuer_key or key, hashes.SHA256()))

    def pem_key(key) -> bytes:
        return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                 serialization.NoEncryption())

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = cert("congress-tf controlplane CA", ca_key, None, None, True)
    client_key = ec.generate_private_key(ec.SECP256R1())
    client = cert("octavia-controller", client_key, ca.subject, ca_key, False)
    paths = certs / "ca.pem", certs / "ca.key", certs / "client.pem"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(pem_key(ca_key))
    paths[2].write_bytes(client.public_bytes(serialization.Encoding.PEM) + pem_key(client_key))
    for path in paths:
        path.chmod(0o600)
    return paths
