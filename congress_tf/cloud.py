"""Everything the CLI asks of the cloud, behind one narrow interface.

`Cloud` is what the rest of congress-tf uses: list images, flavors, networks and subnets, read
quotas, ask whether the catalog has a load balancer, and read the status of a deployment.
`OpenStackCloud` implements it with openstacksdk (imported only when a cloud is opened), and
tests drive the same logic with an in-memory stand-in.

On top of it, plain functions: `resolve` (names -> IDs, each missing name reported with close
matches), `demand` (what a plan creates), `preflight` (resolve + quotas + Octavia + key pair + hard
anti-affinity against the compute hosts, every problem at once).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any, Protocol

from congress_tf.envfile import ROLES, Env, given_ids


@dataclass(frozen=True)
class Found:
    id: str
    name: str


@dataclass(frozen=True)
class Flavor(Found):
    vcpus: int = 0
    ram_mb: int = 0


@dataclass(frozen=True)
class Quota:
    limit: int  # -1: unlimited
    used: int

    def free(self) -> float:
        return float("inf") if self.limit < 0 else self.limit - self.used


@dataclass(frozen=True)
class LoadBalancerStatus:
    provisioning_status: str
    operating_status: str
    members: dict[str, str] = field(default_factory=dict)  # member address -> operating status


@dataclass(frozen=True)
class ServerState:
    status: str  # Nova's: ACTIVE, BUILD, ERROR, ...; MISSING when no server has the name
    fault: str = ""  # Nova's fault message, for a server in ERROR


@dataclass(frozen=True)
class CatalogEndpoint:
    interface: str  # public, internal or admin
    region: str
    url: str


class CloudError(Exception):
    """The cloud could not be reached or answered an error."""


class Cloud(Protocol):
    def images(self) -> list[Found]: ...
    def flavors(self) -> list[Flavor]: ...
    def networks(self, external: bool | None = None) -> list[Found]: ...
    def subnets(self) -> list[Found]: ...
    def quotas(self) -> dict[str, Quota]: ...
    def has_load_balancer(self) -> bool: ...
    def load_balancer_status(self, name: str) -> LoadBalancerStatus | None: ...
    def set_member_enabled(self, lb_name: str, address: str, enabled: bool) -> None: ...
    def server_statuses(self, names: list[str]) -> dict[str, str]: ...
    def server_states(self, names: list[str]) -> dict[str, ServerState]: ...
    def key_pairs(self) -> list[str]: ...
    def compute_host_count(self) -> int | None: ...  # None: not visible to this user
    def catalog_endpoints(self, service_type: str) -> list[CatalogEndpoint] | None: ...  # None: no catalog to read


# --- names to IDs --------------------------------------------------------------------------------

@dataclass
class Resolved:
    ids: dict[str, str | None]
    lb_provider: str  # octavia | haproxy
    flavors: dict[str, Flavor | None]  # role -> flavor, when looked up
    problems: list[str]
    warnings: list[str] = field(default_factory=list)


_FIELD = {"image": "image", "existing_network": "network.existing_network",
          "existing_subnet": "network.existing_subnet", "external_network": "network.external_network"}


def field_of(key: str) -> str:
    return f"flavors.{key.split(':', 1)[1]}" if key.startswith("flavor:") else _FIELD[key]


def resolve_offline(env: Env) -> Resolved:
    """IDs as given (env.yaml gives only IDs and an explicit lb_provider: no cloud needed)."""
    assert not env.needs_cloud()
    return Resolved(given_ids(env), env.lb_provider, {}, [])


def resolve(env: Env, cloud: Cloud) -> Resolved:
    """Every name looked up; a missing or ambiguous one is a problem naming its field."""
    given = given_ids(env)
    ids: dict[str, str | None] = {}
    problems: list[str] = []
    catalogs: dict[str, list[Any]] = {}

    def catalog(key: str) -> list[Any]:
        kind = "flavor" if key.startswith("flavor:") else key
        if kind not in catalogs:
            catalogs[kind] = {
                "image": cloud.images,
                "flavor": cloud.flavors,
                "existing_network": lambda: cloud.networks(),
                "existing_subnet": cloud.subnets,
                "external_network": lambda: cloud.networks(external=True),
            }[kind]()
        return catalogs[kind]

    flavors: dict[str, Flavor | None] = {}
    for key, value in given.items():
        assert value is not None
        items = catalog(key)
        by_id = [i for i in items if i.id == value]
        by_name = [i for i in items if i.name == value]
        match = by_id or by_name
        if len(match) == 1:
            ids[key] = match[0].id
            if key.startswith("flavor:"):
                flavors[key.split(":", 1)[1]] = match[0]
        elif len(match) > 1:
            problems.append(f"{field_of(key)}: {value!r} is ambiguous: {len(match)} match "
                            f"({', '.join(i.id for i in match)}); give the ID")
            ids[key] = None
        else:
            names = sorted({i.name for i in items if i.name})
            close = difflib.get_close_matches(value, names, n=3, cutoff=0.5)
            hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else \
                (f"; there are: {', '.join(names[:8])}{' ...' if len(names) > 8 else ''}" if names else "")
            what = {"image": "image", "existing_network": "network", "existing_subnet": "subnet",
                    "external_network": "external network"}.get(key, "flavor")
            problems.append(f"{field_of(key)}: no {what} named or with ID {value!r}{hint}")
            ids[key] = None

    lb_provider = env.lb_provider
    has_lb = None
    if lb_provider in ("auto", "octavia"):
        has_lb = cloud.has_load_balancer()
    if lb_provider == "auto":
        lb_provider = "octavia" if has_lb else "haproxy"
    elif lb_provider == "octavia" and not has_lb:
        problems.append("lb_provider: octavia asked for, but the cloud's catalog has no load-balancer endpoint; "
                        "allowed here: haproxy (or auto)")
    return Resolved(ids, lb_provider, flavors, problems)


# --- what a plan creates, and whether quotas allow it --------------------------------------------

def node_counts(env: Env, lb_provider: str) -> dict[str, int]:
    """VMs per role, as the root module decides them (terraform/main.tf locals)."""
    backing = {"single": 2, "cluster": 6, "external": 0}[env.backing.mode]
    return {"policy_engine": env.policy_engine_count, "datasource": 2, "backing": backing,
            "haproxy": 2 if lb_provider == "haproxy" else 0}


def demand(env: Env, lb_provider: str, flavors: dict[str, Flavor | None]) -> dict[str, int]:
    """Quota-counted resources a fresh apply creates (cores and RAM only when flavors are known)."""
    counts = node_counts(env, lb_provider)
    create_network = env.network.existing_network is None
    instances = sum(counts.values())
    out = {
        "instances": instances,
        "server_groups": 2 + (lb_provider == "haproxy") + 2 * (env.backing.mode == "cluster"),
        "ports": instances + 1 + (create_network and env.network.external_network is not None),
        "security_groups": 6,
        # 4 fixed rules and those of the backing VMs (terraform/modules/network); SSH and direct API
        # per admin CIDR; API on the LB per client or admin CIDR.
        "security_group_rules": 4 + {"single": 4, "cluster": 11, "external": 0}[env.backing.mode]
        + 2 * len(env.admin_cidrs) + len({*env.allowed_client_cidrs, *env.admin_cidrs}),
        "floating_ips": int(env.floating_ip_pool is not None),
        "networks": int(create_network),
        "subnets": int(create_network),
        "routers": int(create_network and env.network.external_network is not None),
    }
    if all(flavors.get(r) or flavors.get("default") for r in counts):
        def flavor(role: str) -> Flavor:
            return flavors.get(role) or flavors["default"]  # type: ignore[return-value]
        out["cores"] = sum(n * flavor(r).vcpus for r, n in counts.items())
        out["ram"] = sum(n * flavor(r).ram_mb for r, n in counts.items())
    return out


def quota_problems(need: dict[str, int], quotas: dict[str, Quota]) -> list[str]:
    problems = []
    for name, wanted in need.items():
        quota = quotas.get(name)
        if wanted and quota is not None and quota.free() < wanted:
            unit = " MiB" if name == "ram" else ""
            problems.append(f"quota {name}: this deployment needs {wanted}{unit}, {max(quota.free(), 0):g}{unit} "
                            f"free (limit {quota.limit}{unit}, used {quota.used}{unit})")
    return problems


def server_group_sizes(env: Env, lb_provider: str) -> dict[str, tuple[int, str]]:
    """Each server group the root module creates: its VMs, and the env.yaml field deciding that."""
    groups = {"policy-engine": (env.policy_engine_count, "policy_engine_count"),
              "datasource": (2, "the datasource pair")}
    if lb_provider == "haproxy":
        groups["lb"] = (2, "the HAProxy pair")
    if env.backing.mode == "cluster":
        groups["database"] = (3, "backing.mode cluster")
        groups["rabbitmq"] = (3, "backing.mode cluster")
    return groups


def anti_affinity_check(env: Env, lb_provider: str, cloud: Cloud) -> tuple[list[str], list[str]]:
    """(problems, warnings): a hard anti-affinity group with more VMs than compute hosts can never
    be placed (Nova says so only when it schedules the extra VM, after much was created)."""
    if env.server_group_policy != "anti-affinity":
        return [], []
    group, (size, why) = max(server_group_sizes(env, lb_provider).items(), key=lambda item: item[1][0])
    hosts = cloud.compute_host_count()
    if hosts is None:
        return [], [f"server_group_policy: anti-affinity puts the {size} VMs of the {group} group ({why}) on "
                    f"{size} different compute hosts; this user cannot see how many the cloud has: if it has "
                    f"fewer, Nova will refuse the extra VMs (then use soft-anti-affinity)"]
    if size > hosts:
        return [f"server_group_policy: anti-affinity needs {size} compute hosts for the {group} group ({why}); "
                f"the cloud has {hosts} up and enabled. Allowed: at most {hosts} VMs per group, or "
                f"server_group_policy: soft-anti-affinity"], []
    return [], []


def key_pair_problems(env: Env, cloud: Cloud) -> list[str]:
    """Nova refuses a missing key pair only when it boots the VMs, after networks, ports and the
    load balancer were created."""
    if env.key_pair is None:
        return []
    names = cloud.key_pairs()
    if env.key_pair in names:
        return []
    close = difflib.get_close_matches(env.key_pair, names, n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else \
        (f"; this user has: {', '.join(sorted(names)[:8])}" if names else "; this user has none")
    return [f"key_pair: no key pair named {env.key_pair!r} for the cloud's user (key pairs belong to a user)"
            f"{hint}"]


def preflight(env: Env, cloud: Cloud) -> tuple[Resolved, list[str]]:
    """Resolve names, check Octavia, quotas, the key pair and hard anti-affinity: the resolution
    (with its warnings) and every problem found."""
    resolved = resolve(env, cloud)
    problems = list(resolved.problems)
    if not resolved.flavors:  # given as IDs: still look them up for cores and RAM
        by_id = {f.id: f for f in cloud.flavors()}
        resolved.flavors = {r: by_id.get(resolved.ids.get(f"flavor:{r}") or "") for r in ("default", *ROLES)
                            if resolved.ids.get(f"flavor:{r}")}
    problems += quota_problems(demand(env, resolved.lb_provider, resolved.flavors), cloud.quotas())
    problems += key_pair_problems(env, cloud)
    affinity_problems, resolved.warnings = anti_affinity_check(env, resolved.lb_provider, cloud)
    return resolved, problems + affinity_problems


def open_cloud(name: str | None) -> "OpenStackCloud":
    return OpenStackCloud(name)


# --- openstacksdk ----------------------------------------------------------------------------------

class OpenStackCloud:
    """`Cloud` on a real cloud: a clouds.yaml entry (as OS_CLOUD), or OS_* variables when None."""

    def __init__(self, cloud_name: str | None):
        import openstack  # lazy: slow to import
        from openstack import exceptions

        self._errors = (exceptions.SDKException,)
        try:
            self.conn = openstack.connect(cloud=cloud_name) if cloud_name else openstack.connect()
        except exceptions.SDKException as exc:
            raise CloudError(f"cannot open cloud {cloud_name!r}: {exc}") from exc

    def _call(self, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except self._errors as exc:
            raise CloudError(str(exc)) from exc

    def images(self) -> list[Found]:
        return [Found(i.id, i.name or "") for i in self._call(lambda: list(self.conn.image.images()))]

    def flavors(self) -> list[Flavor]:
        return [Flavor(f.id, f.name or "", int(f.vcpus or 0), int(f.ram or 0))
                for f in self._call(lambda: list(self.conn.compute.flavors(details=True)))]

    def networks(self, external: bool | None = None) -> list[Found]:
        query = {} if external is None else {"is_router_external": external}
        return [Found(n.id, n.name or "") for n in self._call(lambda: list(self.conn.network.networks(**query)))]

    def subnets(self) -> list[Found]:
        return [Found(s.id, s.name or "") for s in self._call(lambda: list(self.conn.network.subnets()))]

    def quotas(self) -> dict[str, Quota]:
        limits = self._call(self.conn.get_compute_limits)
        out = {
            "instances": Quota(limits.instances, limits.instances_used),
            "cores": Quota(limits.total_cores, limits.total_cores_used),
            "ram": Quota(limits.total_ram, limits.total_ram_used),
            "server_groups": Quota(limits.server_groups, limits.server_groups_used),
        }
        net = self._call(self.conn.network.get_quota, self.conn.current_project_id, details=True)
        for name in ("ports", "security_groups", "security_group_rules", "floating_ips", "networks", "subnets",
                     "routers"):
            detail = getattr(net, name, None) or {}
            if isinstance(detail, dict) and "limit" in detail:
                out[name] = Quota(int(detail["limit"]), int(detail.get("used", 0)) + int(detail.get("reserved", 0)))
        return {k: v for k, v in out.items() if v.limit is not None and v.used is not None}

    def has_load_balancer(self) -> bool:
        try:
            return bool(self.conn.endpoint_for("load-balancer"))
        except Exception:  # noqa: BLE001 - keystoneauth raises several kinds for "not in the catalog"
            return False

    def load_balancer_status(self, name: str) -> LoadBalancerStatus | None:
        lb = self._call(self.conn.load_balancer.find_load_balancer, name, ignore_missing=True)
        if lb is None:
            return None
        members: dict[str, str] = {}
        for pool in self._call(lambda: list(self.conn.load_balancer.pools(loadbalancer_id=lb.id))):
            for member in self._call(lambda: list(self.conn.load_balancer.members(pool.id))):
                members[member.address] = member.operating_status
        return LoadBalancerStatus(lb.provisioning_status, lb.operating_status, members)

    def set_member_enabled(self, lb_name: str, address: str, enabled: bool) -> None:
        """admin_state_up of the pool member at `address`: False drains it (Octavia sends it no new
        connections), True puts it back."""
        lb = self._call(self.conn.load_balancer.find_load_balancer, lb_name, ignore_missing=False)
        for pool in self._call(lambda: list(self.conn.load_balancer.pools(loadbalancer_id=lb.id))):
            for member in self._call(lambda: list(self.conn.load_balancer.members(pool.id))):
                if member.address == address:
                    self._call(self.conn.load_balancer.update_member, member, pool.id, admin_state_up=enabled)
                    return
        raise CloudError(f"load balancer {lb_name!r} has no member at {address}")

    def server_statuses(self, names: list[str]) -> dict[str, str]:
        return {name: state.status for name, state in self.server_states(names).items()}

    def server_states(self, names: list[str]) -> dict[str, ServerState]:
        wanted = set(names)
        found = {s.name: s for s in self._call(lambda: list(self.conn.compute.servers())) if s.name in wanted}
        states = {}
        for name in names:
            server = found.get(name)
            if server is None:
                states[name] = ServerState("MISSING")
            elif server.status == "ERROR":  # Nova's list leaves the fault out; the server itself has it
                fault = self._call(self.conn.compute.get_server, server.id).fault or {}
                states[name] = ServerState("ERROR", fault.get("message", ""))
            else:
                states[name] = ServerState(server.status)
        return states

    def key_pairs(self) -> list[str]:
        return [k.name for k in self._call(lambda: list(self.conn.compute.keypairs()))]

    def compute_host_count(self) -> int | None:
        from openstack import exceptions

        try:
            services = list(self.conn.compute.services(binary="nova-compute"))
        except exceptions.ForbiddenException:
            return None  # os-services is for admins only by default
        except self._errors as exc:
            raise CloudError(str(exc)) from exc
        return sum(s.status == "enabled" and s.state == "up" for s in services)

    def catalog_endpoints(self, service_type: str) -> list[CatalogEndpoint] | None:
        """The endpoints of a service type in the catalog of this user's own token: any user may read
        it, where listing Keystone's endpoints needs an admin. None when the token carries no catalog."""
        try:
            catalog = self.conn.session.auth.get_access(self.conn.session).service_catalog.catalog
        except Exception:  # noqa: BLE001 - keystoneauth raises several kinds (no auth plugin, unreachable, ...)
            return None
        if catalog is None:
            return None
        return [CatalogEndpoint(e.get("interface", ""), e.get("region_id") or e.get("region") or "", e.get("url", ""))
                for service in catalog if service.get("type") == service_type for e in service.get("endpoints", [])]
