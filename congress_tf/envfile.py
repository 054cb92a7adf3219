"""env.yaml: the schema of one environment, its validation, and what it becomes for Terraform.

The schema is pydantic v2 models with `extra="forbid"`: every problem in a file is collected
and reported together as `EnvFileError.problems`, each naming its field (`network.cidr`,
`flavors.default`) and what is allowed.  Unknown keys get a did-you-mean (difflib).

env.yaml speaks names *or* IDs for the image, the flavors and the networks.  A UUID is taken as
an ID and used as it is (no cloud needed); anything else is a name that congress_tf.cloud
resolves to an ID before Terraform runs.  `tfvars()` turns a validated environment and those
IDs into the root module's variables (terraform/variables.tf), secrets excepted: they live in
their own file (congress_tf.state).

No click here and no I/O beyond reading the file: the CLI and the tests call it directly.
"""

from __future__ import annotations

import difflib
import ipaddress
import re
from pathlib import Path
from typing import Annotated, Any, Literal, Union
from urllib.parse import urlsplit

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

from congress_tf import strict_yaml

NAME_RE = re.compile(r"[a-z][a-z0-9-]{0,30}")
UUID_RE = re.compile(r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}")
ROLES = ("policy_engine", "datasource", "backing", "haproxy")
# Ports the nodes use themselves (SSH, Pacemaker, MariaDB/Galera, RabbitMQ, Corosync): never the API's.
NODE_PORTS = (22, 2224, 3306, 4369, 4444, 4567, 4568, 5405, 5672, 25672)


def is_id(value: str | None) -> bool:
    """A UUID is an ID; anything else is a name to look up."""
    return value is not None and bool(UUID_RE.fullmatch(value))


class EnvFileError(Exception):
    """env.yaml is not usable: every problem found, each a line naming its field."""

    def __init__(self, path: str | Path, problems: list[str], total: int | None = None):
        self.path = str(path)
        self.problems = problems
        self.total = len(problems) if total is None else total  # problems may be capped for display
        super().__init__(f"{path}: {self.total} problem(s):\n" + "\n".join(f"  {p}" for p in problems))


# --- field types -------------------------------------------------------------------------------
# Every string that reaches a config file, a command line or a path is checked whole
# (re.fullmatch): one line of the characters its rule allows, nothing after it.

def _show(value: Any) -> str:
    """A value for an error message: quoted, one line, at most 60 characters."""
    text = repr(str(value) if isinstance(value, str) else value)
    return text if len(text) <= 60 else text[:56] + "...'"


def _text_rule(pattern: str, allowed: str, echo: bool = True):
    """A validator: the whole string matches `pattern` (`allowed` says what that is in words).
    With echo=False a refused value is never shown (it may be a secret pasted in the wrong place)."""
    compiled = re.compile(pattern)

    def check(value: str) -> str:
        if value == "":
            raise ValueError(f"is empty: give {allowed}, or leave the key out")
        if not compiled.fullmatch(value):
            shown = f"{_show(value)} is not" if echo and "\n" not in value else "must be"
            raise ValueError(f"{shown} {allowed}")
        return value

    return check


def _name(value: str) -> str:
    if not NAME_RE.fullmatch(value):
        raise ValueError("must start with a lowercase letter and hold only a-z, 0-9 and '-', "
                         "at most 31 characters (e.g. lab-1)")
    return value


def _network(value: str) -> ipaddress.IPv4Network:
    """An IPv4 CIDR written out in full, host bits zero."""
    if not re.fullmatch(r"[0-9./]{1,18}", value):
        if ":" in value:
            raise ValueError(f"{_show(value)} is IPv6: the security group rules and the subnet are IPv4 only; "
                             "give an IPv4 CIDR such as 192.0.2.0/24")
        raise ValueError(f"{_show(value)} is not a CIDR: give a network address and prefix such as 192.0.2.0/24 "
                         "(host bits zero)")
    if "/" not in value:
        raise ValueError(f"{_show(value)} is not a CIDR: add the prefix length, e.g. {value}/32")
    try:
        return ipaddress.IPv4Network(value, strict=True)
    except ValueError as exc:
        if "host bits" in str(exc):
            raise ValueError(f"{value} has host bits set: give the network address, "
                             f"{ipaddress.IPv4Network(value, strict=False)}") from None
        raise ValueError(f"{_show(value)} is not a CIDR: give a network address and prefix such as 192.0.2.0/24 "
                         "(host bits zero)") from None


def _unusable(net: ipaddress.IPv4Network) -> str | None:
    """Why no real host is ever in `net` (loopback, multicast, ...), or None."""
    first = net.network_address
    for kind, block in (("loopback", "127.0.0.0/8"), ("link-local", "169.254.0.0/16"),
                        ("multicast", "224.0.0.0/4"), ("reserved (class E)", "240.0.0.0/4"),
                        ('"this network"', "0.0.0.0/8")):
        if first in ipaddress.IPv4Network(block):
            return f"a {kind} network ({block})"
    return None


def _cidr(value: str) -> str:
    """A source CIDR for a security group rule; 0.0.0.0/0 means everyone."""
    net = _network(value)
    reason = _unusable(net) if net.prefixlen else None
    if reason:
        raise ValueError(f"{net} is {reason}: no client ever comes from there")
    return str(net)


def _subnet_cidr(value: str) -> str:
    net = _network(value)
    if net.prefixlen > 24:
        raise ValueError(f"{net} is too small: the cluster subnet must be a /24 or larger "
                         "(nodes use hosts .10-.199, Neutron allocates from .200)")
    if net.prefixlen < 8:
        raise ValueError(f"{net} is too large: the cluster subnet must be a /8 to /24 (e.g. 192.0.2.0/24)")
    reason = _unusable(net)
    if reason:
        raise ValueError(f"{net} is {reason}: give a unicast range such as 192.0.2.0/24")
    return str(net)


def _dns_server(value: str) -> str:
    try:
        address = ipaddress.IPv4Address(value)
    except ValueError:
        raise ValueError(f"{_show(value)} is not an IPv4 address such as 192.0.2.53 (a name server's address, "
                         "not its name)") from None
    if address.is_unspecified or address.is_loopback or address.is_multicast or address.is_link_local \
            or address.is_reserved:
        raise ValueError(f"{value} is not a name server the VMs can reach: give the address of a DNS server "
                         "such as 192.0.2.53")
    return str(address)


_URL_CHARS = r"[A-Za-z0-9._~:/?#\[\]@!&()*+,;=%-]"  # RFC 3986 minus $, quotes, backslash, space, ^, `, {, }, |


def _url(value: str) -> str:
    """An http(s) URL with a host, no credentials, no space or control character, no $."""
    if value == "":
        raise ValueError("is empty: give an http:// or https:// URL, or leave the key out")
    if not re.fullmatch(_URL_CHARS + "+", value):
        raise ValueError("must be one http:// or https:// URL: no spaces, line breaks, quotes, $ or \\ "
                         "(percent-encode them)")
    parts = urlsplit(value)
    if "@" in parts.netloc:
        raise ValueError("holds credentials (user:password@ before the host): remove them; congress-tf takes "
                         "passwords only from environment variables (value not shown)")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{_show(value)} is not an http:// or https:// URL")
    try:
        parts.port
    except ValueError:
        raise ValueError(f"{_show(value)}: the port must be a number from 1 to 65535") from None
    if not (_is_hostname(parts.hostname) or _is_ip(parts.hostname)):
        raise ValueError(f"{_show(value)}: {_show(parts.hostname)} is not a host name or IP address")
    return value


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def _is_hostname(value: str) -> bool:
    label = r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    return len(value) <= 253 and bool(re.fullmatch(rf"{label}(\.{label})*\.?", value)) \
        and not re.fullmatch(r"[0-9.]+", value)


def _host(value: str) -> str:
    """A server's DNS name or IPv4 address (the port has its own key)."""
    if re.fullmatch(r"[^:\s]+:[0-9]+", value):
        raise ValueError(f"{_show(value)} holds a port: give the host alone and the port as `port:`")
    try:
        address = ipaddress.IPv4Address(value)
    except ValueError:
        if not _is_hostname(value) or value.lower() in ("localhost", "localhost."):
            raise ValueError(f"{_show(value)} is not a DNS name or IPv4 address of a server the nodes reach "
                             "(such as db.example.org or 192.0.2.20)") from None
        return value
    if address.is_unspecified or address.is_loopback or address.is_multicast or address.is_reserved:
        raise ValueError(f"{value} is not an address of another server (loopback, unspecified, multicast or "
                         "reserved): give the server's own address")
    return str(address)


def _ssh_key(value: str) -> str:
    if "PRIVATE KEY" in value:
        raise ValueError("is a PRIVATE key (never share it): give the public key, the one line of its .pub file "
                         "(value not shown)")
    if not re.fullmatch(r"(ssh-(rsa|ed25519|dss)|ecdsa-sha2-nistp(256|384|521)|"
                        r"sk-(ssh-ed25519|ecdsa-sha2-nistp256)@openssh\.com) AAAA[A-Za-z0-9+/]+={0,3}"
                        r"( [\x20-\x7e]{1,200})?", value):
        raise ValueError("is not an OpenSSH public key: one line 'ssh-ed25519 AAAA... comment' "
                         "(ssh-rsa, ecdsa-sha2-... and sk-... too)")
    return value


def _unique(values: list[str]) -> list[str]:
    seen = [v for i, v in enumerate(values) if v in values[:i]]
    if seen:
        raise ValueError(f"{seen[0]} is given twice: give each once")
    return values


def _s3_bucket(value: str) -> str:
    if not re.fullmatch(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", value) or ".." in value or ".-" in value \
            or "-." in value or re.fullmatch(r"[0-9.]+", value) or value.startswith("xn--") \
            or value.endswith("-s3alias"):
        raise ValueError(f"{_show(value)} is not an S3 bucket name: 3 to 63 characters of a-z, 0-9, '.' and '-', "
                         "starting and ending with a letter or digit, not an IP address")
    return value


def _api_port(value: int) -> int:
    if value < 1024 or value in NODE_PORTS:
        raise ValueError(f"{value} is not usable: Congress runs unprivileged, so 1024 to 65535, and not a port "
                         f"the nodes use ({', '.join(map(str, NODE_PORTS))})")
    return value


def _tls_host(value: str) -> str:
    """A name or address clients use for the API, for the generated certificate."""
    if not (_is_hostname(value) or _is_ip(value)) or value.endswith("."):
        raise ValueError(f"{_show(value)} is not a DNS name or IP address (such as congress.example.org "
                         "or 192.0.2.10)")
    return value


Name = Annotated[str, AfterValidator(_name)]
Cidr = Annotated[str, AfterValidator(_cidr)]
SubnetCidr = Annotated[str, AfterValidator(_subnet_cidr)]
DnsServer = Annotated[str, AfterValidator(_dns_server)]
Url = Annotated[str, AfterValidator(_url)]
SshKey = Annotated[str, AfterValidator(_ssh_key)]
Host = Annotated[str, AfterValidator(_host)]
# Glance, Nova and Neutron names may hold spaces; they are only looked up, never written to a file.
NameOrId = Annotated[str, AfterValidator(_text_rule(
    r"[^\x00-\x20\x7f]([^\x00-\x1f\x7f]{0,253}[^\x00-\x20\x7f])?",
    "a name or UUID on one line, without leading or trailing spaces"))]
CloudName = Annotated[str, AfterValidator(_text_rule(
    r"[A-Za-z0-9][A-Za-z0-9_.@+-]{0,63}", "a clouds.yaml entry name (A-Z, a-z, 0-9, _ . @ + -)"))]
KeyPairName = Annotated[str, AfterValidator(_text_rule(
    r"[A-Za-z0-9_.@-]([A-Za-z0-9 _.@-]{0,253}[A-Za-z0-9_.@-])?",
    "a Nova key pair name (A-Z, a-z, 0-9, spaces inside, _ . @ -)"))]
# Values written into congress.conf and the Pacemaker configuration.
ConfigText = Annotated[str, AfterValidator(_text_rule(
    r"[A-Za-z0-9_.@+-]([A-Za-z0-9 _.@+-]{0,253}[A-Za-z0-9_.@+-])?",
    "one line of A-Z, a-z, 0-9, spaces inside, and _ . @ + -"))]
EnvVarName = Annotated[str, AfterValidator(_text_rule(
    r"[A-Z_][A-Z0-9_]{0,127}",
    "the NAME of an environment variable holding the password (A-Z, 0-9, _), e.g. CONGRESS_TF_KEYSTONE_PASSWORD; "
    "the password itself never goes in env.yaml (value not shown)", echo=False))]
S3Key = Annotated[str, AfterValidator(_text_rule(
    r"[A-Za-z0-9!_.*()-][A-Za-z0-9!_.*()/-]{0,1022}[A-Za-z0-9!_.*()-]|[A-Za-z0-9!_.*()-]",
    "an object key such as congress/prod.tfstate (A-Z, a-z, 0-9, ! _ . * ( ) - and / inside)"))]
Region = Annotated[str, AfterValidator(_text_rule(r"[a-z0-9][a-z0-9-]{0,31}", "a region such as us-east-1"))]
S3Bucket = Annotated[str, AfterValidator(_s3_bucket)]
KeystoneRegion = Annotated[str, AfterValidator(_text_rule(
    r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}", "a Keystone region ID such as RegionOne (A-Z, a-z, 0-9, _ . -)"))]
BarbicanRef = Annotated[str, AfterValidator(_text_rule(
    r"https?://[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?(:[0-9]{1,5})?/([A-Za-z0-9._~-]+/)*"
    r"(containers|secrets)/[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}",
    "a Barbican reference: https://<barbican>/v1/containers/<uuid> (a certificate container) or "
    ".../v1/secrets/<uuid> (a PKCS12 secret)"))]
Port = Annotated[int, Field(ge=1, le=65535, strict=True)]
ApiPort = Annotated[int, Field(ge=1, le=65535, strict=True), AfterValidator(_api_port)]
Seconds = Annotated[int, Field(ge=1, le=3600, strict=True)]
Retries = Annotated[int, Field(ge=1, le=10, strict=True)]
CidrList = Annotated[list[Cidr], Field(max_length=32), AfterValidator(_unique)]
TlsHost = Annotated[str, AfterValidator(_tls_host)]
FilePath = Annotated[str, AfterValidator(_text_rule(
    r"[^\x00-\x1f\x7f]{1,1024}", "a file path on one line (relative to env.yaml's directory, or absolute)",
    echo=False))]


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- the schema ----------------------------------------------------------------------------------

class Flavors(Model):
    """Nova flavor name or ID per role; `default` serves every role not named."""
    default: NameOrId
    policy_engine: NameOrId | None = None
    datasource: NameOrId | None = None
    backing: NameOrId | None = None
    haproxy: NameOrId | None = None

    def for_role(self, role: str) -> str:
        return getattr(self, role) or self.default


class Network(Model):
    cidr: SubnetCidr
    existing_network: NameOrId | None = None
    existing_subnet: NameOrId | None = None
    external_network: NameOrId | None = None
    # Neutron hands out at most 5 name servers by default and refuses a subnet listing one twice.
    dns_nameservers: Annotated[list[DnsServer], Field(max_length=5), AfterValidator(_unique)] = []

    @model_validator(mode="after")
    def _pair(self) -> "Network":
        if (self.existing_network is None) != (self.existing_subnet is None):
            raise ValueError("existing_network and existing_subnet go together: give both or neither")
        if self.existing_network is not None and self.external_network is not None:
            raise ValueError("network.external_network uplinks the router of a network congress-tf creates; with "
                             "existing_network there is none: remove external_network (route the existing "
                             "network yourself)")
        return self


class Endpoint(Model):
    host: Host
    port: Port | None = None


class Brokers(Model):
    hosts: Annotated[list[Host], Field(min_length=1)]
    port: Port | None = None


class Backing(Model):
    """single: a MariaDB VM and a RabbitMQ VM; cluster: three Galera VMs and three RabbitMQ VMs;
    external: servers of the operator's (database {host, port}, rabbitmq {hosts, port})."""
    mode: Literal["single", "cluster", "external"] = "single"
    database: Endpoint | None = None
    rabbitmq: Brokers | None = None

    @model_validator(mode="after")
    def _external(self) -> "Backing":
        given = [name for name in ("database", "rabbitmq") if getattr(self, name) is not None]
        if self.mode == "external" and len(given) < 2:
            raise ValueError("mode external needs both database {host, port} and rabbitmq {hosts, port}")
        if self.mode != "external" and given:
            raise ValueError(f"{' and '.join(given)}: only with mode external (mode {self.mode} runs its own)")
        return self


class HealthCheck(Model):
    interval_s: Seconds = 2
    timeout_s: Seconds = 2
    fall: Retries = 2  # Octavia's max_retries: 1 to 10
    rise: Retries = 2

    @model_validator(mode="after")
    def _timeout(self) -> "HealthCheck":
        if self.timeout_s > self.interval_s:
            raise ValueError(f"timeout_s ({self.timeout_s}) must be at most interval_s ({self.interval_s})")
        return self


class HaproxyTls(Model):
    """HTTPS on the API VIP with lb_provider haproxy. certificate_file and key_file (PEM, relative
    to env.yaml's directory) go together; without them congress-tf generates a CA and a certificate
    for the VIP, both HAProxy VMs and `names` (the CA's path is printed for clients)."""
    certificate_file: FilePath | None = None
    key_file: FilePath | None = None
    names: Annotated[list[TlsHost], Field(max_length=16), AfterValidator(_unique)] = []

    @model_validator(mode="after")
    def _pair(self) -> "HaproxyTls":
        if (self.certificate_file is None) != (self.key_file is None):
            raise ValueError("certificate_file and key_file go together: give both (your certificate) or neither "
                             "(congress-tf generates one)")
        if self.certificate_file is not None and self.names:
            raise ValueError("names are for the certificate congress-tf generates: with certificate_file, "
                             "put them in your certificate")
        return self


class Keystone(Model):
    auth_url: Url | None = None
    www_authenticate_uri: Url | None = None
    region_name: ConfigText = "RegionOne"
    project_name: ConfigText = "service"
    project_domain_name: ConfigText = "Default"
    user_domain_name: ConfigText = "Default"
    username: ConfigText = "congress"
    password_env: EnvVarName = "CONGRESS_TF_KEYSTONE_PASSWORD"


class DatasourceMonitor(Model):
    interval_s: Seconds = 10
    timeout_s: Seconds = 30


class CongressInstall(Model):
    source: Literal["index", "wheelhouse", "preinstalled"] = "index"
    url: Url = "https://pypi.org/simple"


class Fencing(Model):
    auth_url: Url
    region_name: ConfigText = "RegionOne"
    username: ConfigText
    project_name: ConfigText
    user_domain_name: ConfigText = "Default"
    project_domain_name: ConfigText = "Default"
    password_env: EnvVarName = "CONGRESS_TF_FENCING_PASSWORD"


class Catalog(Model):
    """Keystone catalog registration (needs an admin token): service type policy, three endpoints."""
    enabled: bool = False
    region: KeystoneRegion | None = None  # None: keystone.region_name


class OctaviaTls(Model):
    """TLS terminated by Octavia with the operator's Barbican certificate; plain HTTP redirected."""
    container_ref: BarbicanRef
    redirect_port: Port = 80


class LocalState(Model):
    backend: Literal["local"] = "local"


class S3State(Model):
    """An S3-compatible bucket; credentials from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, never here."""
    backend: Literal["s3"]
    bucket: S3Bucket
    key: S3Key
    region: Region = "us-east-1"
    endpoint: Url | None = None
    use_path_style: bool = True


class HttpState(Model):
    """Terraform's http backend; credentials from TF_HTTP_USERNAME/TF_HTTP_PASSWORD, never here."""
    backend: Literal["http"]
    address: Url
    lock_address: Url | None = None
    unlock_address: Url | None = None


State = Annotated[Union[LocalState, S3State, HttpState], Field(discriminator="backend")]


class Env(Model):
    """One environment: one cluster, its state beside env.yaml in .congress-tf/<name>/."""
    name: Name | None = None
    cloud: CloudName | None = None
    name_prefix: Name = "congress"
    image: NameOrId
    flavors: Flavors
    key_pair: KeyPairName | None = None
    ssh_authorized_keys: Annotated[list[SshKey], Field(max_length=32)] = []
    network: Network
    admin_cidrs: CidrList = []
    allowed_client_cidrs: CidrList = []
    policy_engine_count: Annotated[int, Field(ge=2, le=64, strict=True)] = 2
    server_group_policy: Literal["anti-affinity", "soft-anti-affinity"] = "anti-affinity"
    backing: Backing = Backing()
    lb_provider: Literal["octavia", "haproxy", "auto"] = "auto"
    api_port: ApiPort = 1789
    lb_persistence: Literal["SOURCE_IP", "HTTP_COOKIE"] = "SOURCE_IP"
    haproxy_tls: HaproxyTls | None = None
    floating_ip_pool: NameOrId | None = None
    health_check: HealthCheck = HealthCheck()
    auth_strategy: Literal["keystone", "noauth"] = "keystone"
    keystone: Keystone = Keystone()
    datasource_sync_period: Seconds = 5
    datasource_monitor: DatasourceMonitor = DatasourceMonitor()
    congress_install: CongressInstall = CongressInstall()
    fencing: Fencing | None = None
    octavia_tls: OctaviaTls | None = None
    catalog: Catalog = Catalog()
    state: State = LocalState()

    @model_validator(mode="after")
    def _keystone(self) -> "Env":
        if self.auth_strategy == "keystone" and self.keystone.auth_url is None:
            raise ValueError("auth_strategy keystone needs keystone.auth_url "
                             "(or set auth_strategy: noauth for a lab)")
        return self

    @model_validator(mode="after")
    def _octavia_tls(self) -> "Env":
        if self.octavia_tls is None:
            return self
        if self.lb_provider != "octavia":
            raise ValueError(f"octavia_tls needs lb_provider: octavia (it is {self.lb_provider}; auto may choose "
                             "haproxy, which has no Barbican listener)")
        if self.octavia_tls.redirect_port == self.api_port:
            raise ValueError(f"octavia_tls.redirect_port must differ from api_port ({self.api_port}): the HTTPS "
                             "listener is there; plain HTTP is redirected from redirect_port")
        return self

    @model_validator(mode="after")
    def _haproxy_tls(self) -> "Env":
        if self.haproxy_tls is not None and self.lb_provider != "haproxy":
            raise ValueError(f"haproxy_tls needs lb_provider: haproxy (it is {self.lb_provider}; with Octavia, "
                             "octavia_tls names a Barbican certificate container)")
        return self

    @model_validator(mode="after")
    def _reachable(self) -> "Env":
        if self.floating_ip_pool is not None and self.network.existing_network is None \
                and self.network.external_network is None:
            raise ValueError("floating_ip_pool needs a router from the cluster subnet to that pool: set "
                             "network.external_network (the pool's network), or remove floating_ip_pool")
        subnet = ipaddress.IPv4Network(self.network.cidr)
        hosts = {"backing.database.host": [self.backing.database.host] if self.backing.database else [],
                 "backing.rabbitmq.hosts": self.backing.rabbitmq.hosts if self.backing.rabbitmq else []}
        for key, values in hosts.items():
            for host in values:
                if not re.fullmatch(r"[0-9.]+", host):
                    continue
                address = ipaddress.IPv4Address(host)
                offset = int(address) - int(subnet.network_address)
                if address in subnet and (offset < 1 or 10 <= offset <= 199 or address == subnet.broadcast_address):
                    raise ValueError(f"{key}: {address} is one of the cluster subnet's own addresses (hosts .10 to "
                                     ".199 are congress-tf's nodes and VIP): give the address of the external server")
        return self

    def needs_cloud(self) -> bool:
        """True when a name must be looked up or the LB provider chosen from the catalog."""
        names = [self.image, *(self.flavors.for_role(r) for r in ROLES),
                 self.network.existing_network, self.network.existing_subnet, self.network.external_network]
        return self.lb_provider == "auto" or any(v is not None and not is_id(v) for v in names)


# --- loading and error reporting ---------------------------------------------------------------

def load(path: str | Path) -> tuple[Env, str]:
    """The validated environment and its name (env.yaml's `name`, else the file's stem)."""
    path = Path(path)
    try:
        data = strict_yaml.load(strict_yaml.read_text(path))
    except OSError as exc:
        raise EnvFileError(path, [f"cannot read: {exc.strerror or exc}"]) from None
    except strict_yaml.YamlProblem as exc:
        raise EnvFileError(path, [str(exc)]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise EnvFileError(path, [f"not valid YAML{where}: {getattr(exc, 'problem', None) or exc}"
                                  + _odd_spaces(path, mark)]) from None
    if not isinstance(data, dict):
        raise EnvFileError(path, ["must be a mapping of keys such as image, flavors, network (see `congress-tf init`)"])
    try:
        env = Env.model_validate(data)
    except ValidationError as exc:
        found = problems(exc, data)
        shown = found[:MAX_PROBLEMS] + ([f"... and {len(found) - MAX_PROBLEMS} more problem(s) not shown"]
                                       if len(found) > MAX_PROBLEMS else [])
        raise EnvFileError(path, shown, total=len(found)) from None
    name = env.name or path.stem
    if not NAME_RE.fullmatch(name):
        raise EnvFileError(path, [f"name: the file name {_show(path.stem)} is not usable as the environment's name; "
                                  "set `name:` (a lowercase letter, then a-z, 0-9 and '-', at most 31 characters)"])
    return env, name


def _odd_spaces(path: Path, mark: Any) -> str:
    """A hint when the line YAML stumbled on holds look-alike spaces pasted from a web page or a chat."""
    if mark is None:
        return ""
    lines = strict_yaml.read_text(path).splitlines()
    # YAML often notices the problem on the line after the one holding it.
    for number in (mark.line, mark.line - 1):
        line = lines[number] if 0 <= number < len(lines) else ""
        odd = sorted({c for c in line if c in "\u00a0\u2002\u2003\u2007\u2009\u200b\u202f\u3000\ufeff"})
        if odd:
            return (f" (line {number + 1} holds {', '.join(f'U+{ord(c):04X}' for c in odd)}, a look-alike space as "
                    "pasted from a web page: type plain spaces instead)")
    return ""


MAX_PROBLEMS = 20
# Keys whose values may be secrets pasted in the wrong place: never shown in a message.
_NOT_SHOWN = ("password_env",)


def problems(exc: ValidationError, data: Any) -> list[str]:
    """One line per error: `field: what is wrong (what is allowed)`."""
    lines, listed = [], set()
    for err in exc.errors(include_url=False):
        loc = [p for p in err["loc"] if not _is_union_tag(p)]
        field = _dotted(loc)
        message = _message(err, loc, data)
        if err["type"] == "extra_forbidden":  # the allowed keys once per mapping, not once per unknown key
            parent = _dotted(loc[:-1])
            if parent in listed:
                message = message.split("allowed keys here:")[0].rstrip("; ") + " (allowed keys: as above)"
            listed.add(parent)
        lines.append(f"{field}: {message}" if field else message)
    return list(dict.fromkeys(lines))


def _is_union_tag(part: Any) -> bool:
    # Discriminated unions add the tag ('s3') and pydantic adds validator names to the location.
    return isinstance(part, str) and (part in ("local", "s3", "http") or part.startswith("function-"))


def _dotted(loc: list[Any]) -> str:
    out = ""
    for part in loc:
        part = part if isinstance(part, int) else str(part)[:40]
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def _message(err: dict[str, Any], loc: list[Any], data: Any = None) -> str:
    kind, msg, given = err["type"], err["msg"], err.get("input")
    shown = "the value (not shown)" if any(str(p) in _NOT_SHOWN for p in loc) else _show(given)
    if kind == "extra_forbidden":
        allowed = _fields_at(loc[:-1], data)
        key = str(loc[-1])
        close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
        hint = f"did you mean {close[0]!r}? " if close else ""
        if re.search(r"pass|secret|token|key$", key, re.I) and "password_env" in allowed:
            hint += "passwords never go in env.yaml: name the environment variable holding one in password_env; "
        return f"unknown key; {hint}allowed keys here: {', '.join(allowed)}"
    if kind == "missing":
        keys = _fields_at(loc, data)
        hint = _REQUIRED.get(str(loc[-1]) if loc else "") or (f"a mapping with keys: {', '.join(keys)}" if keys else "")
        return "required, missing" + (f": give {hint}" if hint else "")
    if isinstance(given, strict_yaml.Ambiguous):
        return _ambiguous(given, kind, loc)
    if kind == "literal_error":
        expected = err.get("ctx", {}).get("expected", "")
        return f"{shown} is not allowed; allowed: {expected}"
    if kind == "union_tag_invalid":
        return f"{_show(given.get('backend')) if isinstance(given, dict) else ''} is not " \
               "allowed; allowed: backend 'local', 's3' or 'http'"
    if kind == "union_tag_not_found":
        return "needs backend: 'local', 's3' or 'http'"
    if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        return f"{shown}: {_lower(msg)}{_range(loc)}"
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return f"{shown} is not a whole number{_range(loc)}"
    if kind in ("string_type",):
        quote = " (quote it if you mean that text)" if isinstance(given, (int, float, bool)) else ""
        return f"{shown} is not a string{quote}"
    if kind in ("list_type",):
        return f"must be a list, not {type(given).__name__}"
    if kind == "too_long":
        return f"holds {err.get('ctx', {}).get('actual_length')} items; at most {err.get('ctx', {}).get('max_length')}"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return f"must be a mapping with keys: {', '.join(_fields_at(loc, data))}"
    if kind == "bool_type" or kind == "bool_parsing":
        return f"{shown} is not true or false"
    if kind == "value_error":
        return msg.removeprefix("Value error, ")
    return msg


def _ambiguous(given: strict_yaml.Ambiguous, kind: str, loc: list[Any]) -> str:
    """A YAML 1.1 surprise (010 -> 8, on -> true, 2024-01-01 -> a date) where a string or number belongs."""
    said = f"YAML reads {_show(given.text)} as {given.reading}"
    if kind.startswith("int") or kind.startswith("greater") or kind.startswith("less"):
        return f"{said}: write a plain decimal number without leading zeros{_range(loc)}"
    if kind.startswith("bool"):
        return f"{said}: write true or false"
    return f"{said}: quote it ({_show(given.text)}) to mean that text"


def _lower(msg: str) -> str:
    return msg[:1].lower() + msg[1:]


_REQUIRED = {
    "image": "a Glance image name or ID (a Debian 12 cloud image)",
    "default": "a Nova flavor name or ID",
    "cidr": "an IPv4 CIDR, /24 or larger, such as 10.20.0.0/24",
    "host": "a host name or IP address",
    "auth_url": "an http:// or https:// URL",
    "username": "a user name", "project_name": "a project name",
    "bucket": "the S3 bucket name", "key": "the object key of the state, e.g. congress/prod.tfstate",
    "address": "an http:// or https:// URL",
}

_RANGES = {"policy_engine_count": "2 to 64", "api_port": "1024 to 65535", "port": "1 to 65535",
           "redirect_port": "1 to 65535",
           "fall": "1 to 10", "rise": "1 to 10"}


def _range(loc: list[Any]) -> str:
    name = str(loc[-1]) if loc else ""
    if name in _RANGES:
        return f" (allowed: {_RANGES[name]})"
    if name.endswith("_s") or name == "datasource_sync_period":
        return " (allowed: whole seconds from 1 to 3600)"
    return ""


def _fields_at(loc: list[Any], data: Any = None) -> list[str]:
    """The keys a mapping at `loc` may hold (for `state:`, those of the backend `data` names there)."""
    model: Any = Env
    for part in loc:
        data = data[part] if isinstance(data, (dict, list)) and _has(data, part) else None
        if isinstance(part, int):
            continue
        field = getattr(model, "model_fields", {}).get(part)
        if field is None:
            return []
        model = _model_of(field.annotation, data)
    return list(getattr(model, "model_fields", {}))


def _has(data: dict | list, part: Any) -> bool:
    return part in data if isinstance(data, dict) else isinstance(part, int) and 0 <= part < len(data)


def _model_of(annotation: Any, data: Any = None) -> Any:
    """The model an annotation holds; in a union of models, the one whose `backend` `data` names."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    found = [m for m in map(_model_of, getattr(annotation, "__args__", ())) if m is not None]
    for model in found:
        tag = model.model_fields.get("backend")
        if isinstance(data, dict) and tag is not None and data.get("backend") in getattr(tag.annotation, "__args__", ()):
            return model
    return found[0] if found else None


# --- to Terraform --------------------------------------------------------------------------------

def tfvars(env: Env, ids: dict[str, str | None], lb_provider: str) -> dict[str, Any]:
    """The root module's variables, secrets excepted.

    `ids` maps image, flavor:<role>, existing_network, existing_subnet, external_network to IDs
    (names already resolved); `lb_provider` is octavia or haproxy (auto already decided).
    """
    flavor_ids = {"default": ids["flavor:default"]}
    for role in ROLES:
        if getattr(env.flavors, role) is not None:
            flavor_ids[role] = ids[f"flavor:{role}"]
    network: dict[str, Any] = {"cidr": env.network.cidr, "dns_nameservers": list(env.network.dns_nameservers)}
    for key in ("existing_network", "existing_subnet", "external_network"):
        if getattr(env.network, key) is not None:
            network[f"{key}_id"] = ids[key]
    out: dict[str, Any] = {
        "cloud": env.cloud,
        "name_prefix": env.name_prefix,
        "image_id": ids["image"],
        "flavor_ids": flavor_ids,
        "key_pair": env.key_pair,
        "ssh_authorized_keys": list(env.ssh_authorized_keys),
        "network": network,
        "admin_cidrs": list(env.admin_cidrs),
        "allowed_client_cidrs": list(env.allowed_client_cidrs),
        "policy_engine_count": env.policy_engine_count,
        "server_group_policy": env.server_group_policy,
        "backing": env.backing.model_dump(exclude_none=True),
        "lb_provider": lb_provider,
        "api_port": env.api_port,
        "lb_persistence": env.lb_persistence,
        "floating_ip_pool": env.floating_ip_pool,
        "health_check": env.health_check.model_dump(),
        "auth_strategy": env.auth_strategy,
        "keystone": env.keystone.model_dump(exclude={"password_env"}, exclude_none=True),
        "datasource_sync_period": env.datasource_sync_period,
        "datasource_monitor": env.datasource_monitor.model_dump(),
        "congress_install": env.congress_install.model_dump(),
        "fencing": env.fencing.model_dump(exclude={"password_env"}) if env.fencing else None,
        "octavia_tls": env.octavia_tls.model_dump() if env.octavia_tls else None,
        "catalog": env.catalog.model_dump(),
    }
    return out


def given_ids(env: Env) -> dict[str, str | None]:
    """The look-up keys of an environment and the value env.yaml gives for each (name or ID)."""
    ids: dict[str, str | None] = {"image": env.image}
    for role in ("default", *ROLES):
        value = env.flavors.default if role == "default" else getattr(env.flavors, role)
        if value is not None:
            ids[f"flavor:{role}"] = value
    for key in ("existing_network", "existing_subnet", "external_network"):
        if getattr(env.network, key) is not None:
            ids[key] = getattr(env.network, key)
    return ids
