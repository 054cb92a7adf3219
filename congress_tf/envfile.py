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

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

NAME_RE = re.compile(r"^[a-z][a-z0-9-]{0,30}$")
UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$")
ROLES = ("policy_engine", "datasource", "backing", "haproxy")


def is_id(value: str | None) -> bool:
    """A UUID is an ID; anything else is a name to look up."""
    return value is not None and bool(UUID_RE.match(value))


class EnvFileError(Exception):
    """env.yaml is not usable: every problem found, each a line naming its field."""

    def __init__(self, path: str | Path, problems: list[str]):
        self.path = str(path)
        self.problems = problems
        super().__init__(f"{path}: {len(problems)} problem(s):\n" + "\n".join(f"  {p}" for p in problems))


# --- field types -------------------------------------------------------------------------------

def _name(value: str) -> str:
    if not NAME_RE.match(value):
        raise ValueError("must start with a lowercase letter and hold only a-z, 0-9 and '-', "
                         "at most 31 characters (e.g. lab-1)")
    return value


def _cidr(value: str) -> str:
    try:
        net = ipaddress.ip_network(value, strict=True)
    except ValueError:
        raise ValueError(f"{value!r} is not a CIDR: give a network address and prefix such as 192.0.2.0/24 "
                         "(host bits zero)") from None
    if "/" not in value:
        raise ValueError(f"{value!r} is not a CIDR: add the prefix length, e.g. {value}/32")
    return str(net)


def _subnet_cidr(value: str) -> str:
    value = _cidr(value)
    net = ipaddress.ip_network(value)
    if net.version != 4:
        raise ValueError(f"{value} is IPv6: the cluster subnet must be an IPv4 CIDR such as 10.20.0.0/24")
    if net.prefixlen > 24:
        raise ValueError(f"{value} is too small: the cluster subnet must be a /24 or larger "
                         "(nodes use hosts .10-.199, Neutron allocates from .200)")
    return value


def _ipv4(value: str) -> str:
    try:
        return str(ipaddress.IPv4Address(value))
    except ValueError:
        raise ValueError(f"{value!r} is not an IPv4 address such as 192.0.2.53") from None


def _url(value: str) -> str:
    if not re.match(r"^https?://[^\s/]+", value):
        raise ValueError(f"{value!r} is not an http:// or https:// URL")
    return value


def _ssh_key(value: str) -> str:
    if not re.match(r"^(ssh-(rsa|ed25519|dss)|ecdsa-sha2-nistp\d+|sk-(ssh-ed25519|ecdsa-sha2-nistp256)@openssh\.com) \S+",
                    value):
        raise ValueError("is not an OpenSSH public key (ssh-ed25519 AAAA..., ssh-rsa AAAA..., ecdsa-sha2-...)")
    return value


def _host(value: str) -> str:
    if not re.match(r"^[A-Za-z0-9.:-]+$", value):
        raise ValueError(f"{value!r} is not a host name or IP address")
    return value


Name = Annotated[str, AfterValidator(_name)]
Cidr = Annotated[str, AfterValidator(_cidr)]
SubnetCidr = Annotated[str, AfterValidator(_subnet_cidr)]
IPv4 = Annotated[str, AfterValidator(_ipv4)]
Url = Annotated[str, AfterValidator(_url)]
SshKey = Annotated[str, AfterValidator(_ssh_key)]
Host = Annotated[str, AfterValidator(_host)]
NameOrId = Annotated[str, Field(min_length=1, max_length=255)]
Port = Annotated[int, Field(ge=1, le=65535, strict=True)]
Seconds = Annotated[int, Field(ge=1, le=3600, strict=True)]
Count = Annotated[int, Field(ge=1, le=100, strict=True)]


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
    dns_nameservers: list[IPv4] = []

    @model_validator(mode="after")
    def _pair(self) -> "Network":
        if (self.existing_network is None) != (self.existing_subnet is None):
            raise ValueError("existing_network and existing_subnet go together: give both or neither")
        return self


class Endpoint(Model):
    host: Host
    port: Port | None = None


class HealthCheck(Model):
    interval_s: Seconds = 2
    timeout_s: Seconds = 2
    fall: Count = 2
    rise: Count = 2

    @model_validator(mode="after")
    def _timeout(self) -> "HealthCheck":
        if self.timeout_s > self.interval_s:
            raise ValueError(f"timeout_s ({self.timeout_s}) must be at most interval_s ({self.interval_s})")
        return self


class Keystone(Model):
    auth_url: Url | None = None
    www_authenticate_uri: Url | None = None
    region_name: str = "RegionOne"
    project_name: str = "service"
    project_domain_name: str = "Default"
    user_domain_name: str = "Default"
    username: str = "congress"
    password_env: str = "CONGRESS_TF_KEYSTONE_PASSWORD"


class DatasourceMonitor(Model):
    interval_s: Seconds = 10
    timeout_s: Seconds = 30


class CongressInstall(Model):
    source: Literal["index", "wheelhouse", "preinstalled"] = "index"
    url: Url = "https://pypi.org/simple"


class Fencing(Model):
    auth_url: Url
    region_name: str = "RegionOne"
    username: str = Field(min_length=1)
    project_name: str = Field(min_length=1)
    user_domain_name: str = "Default"
    project_domain_name: str = "Default"
    password_env: str = "CONGRESS_TF_FENCING_PASSWORD"


class LocalState(Model):
    backend: Literal["local"] = "local"


class S3State(Model):
    """An S3-compatible bucket; credentials from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, never here."""
    backend: Literal["s3"]
    bucket: str = Field(min_length=3)
    key: str = Field(min_length=1)
    region: str = "us-east-1"
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
    cloud: str | None = None
    name_prefix: Name = "congress"
    image: NameOrId
    flavors: Flavors
    key_pair: str | None = None
    ssh_authorized_keys: list[SshKey] = []
    network: Network
    admin_cidrs: list[Cidr] = []
    allowed_client_cidrs: list[Cidr] = []
    policy_engine_count: Annotated[int, Field(ge=2, le=64, strict=True)] = 2
    server_group_policy: Literal["anti-affinity", "soft-anti-affinity"] = "anti-affinity"
    external_database: Endpoint | None = None
    external_rabbitmq: Endpoint | None = None
    lb_provider: Literal["octavia", "haproxy", "auto"] = "auto"
    api_port: Port = 1789
    lb_persistence: Literal["SOURCE_IP", "HTTP_COOKIE"] = "SOURCE_IP"
    floating_ip_pool: str | None = None
    health_check: HealthCheck = HealthCheck()
    auth_strategy: Literal["keystone", "noauth"] = "keystone"
    keystone: Keystone = Keystone()
    datasource_sync_period: Seconds = 30
    datasource_monitor: DatasourceMonitor = DatasourceMonitor()
    congress_install: CongressInstall = CongressInstall()
    fencing: Fencing | None = None
    state: State = LocalState()

    @model_validator(mode="after")
    def _keystone(self) -> "Env":
        if self.auth_strategy == "keystone" and self.keystone.auth_url is None:
            raise ValueError("auth_strategy keystone needs keystone.auth_url "
                             "(or set auth_strategy: noauth for a lab)")
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
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise EnvFileError(path, [f"cannot read: {exc.strerror or exc}"]) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise EnvFileError(path, [f"not valid YAML{where}: {getattr(exc, 'problem', None) or exc}"]) from None
    if not isinstance(data, dict):
        raise EnvFileError(path, ["must be a mapping of keys such as image, flavors, network (see `congress-tf init`)"])
    try:
        env = Env.model_validate(data)
    except ValidationError as exc:
        raise EnvFileError(path, problems(exc, data)) from None
    name = env.name or path.stem
    if not NAME_RE.match(name):
        raise EnvFileError(path, [f"name: the file name {path.stem!r} is not usable as the environment's name; "
                                  "set `name:` (a lowercase letter, then a-z, 0-9 and '-', at most 31 characters)"])
    return env, name


def problems(exc: ValidationError, data: Any) -> list[str]:
    """One line per error: `field: what is wrong (what is allowed)`."""
    lines = []
    for err in exc.errors(include_url=False):
        loc = [p for p in err["loc"] if not _is_union_tag(p)]
        field = _dotted(loc) or "(top level)"
        lines.append(f"{field}: {_message(err, loc)}")
    return list(dict.fromkeys(lines))


def _is_union_tag(part: Any) -> bool:
    # Discriminated unions add the tag ('s3') and pydantic adds validator names to the location.
    return isinstance(part, str) and (part in ("local", "s3", "http") or part.startswith("function-"))


def _dotted(loc: list[Any]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _message(err: dict[str, Any], loc: list[Any]) -> str:
    kind, msg = err["type"], err["msg"]
    if kind == "extra_forbidden":
        allowed = _fields_at(loc[:-1])
        key = str(loc[-1])
        close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
        hint = f"did you mean {close[0]!r}? " if close else ""
        return f"unknown key; {hint}allowed keys here: {', '.join(allowed)}"
    if kind == "missing":
        keys = _fields_at(loc)
        hint = _REQUIRED.get(str(loc[-1]) if loc else "") or (f"a mapping with keys: {', '.join(keys)}" if keys else "")
        return "required, missing" + (f": give {hint}" if hint else "")
    if kind == "literal_error":
        expected = err.get("ctx", {}).get("expected", "")
        return f"{err.get('input')!r} is not allowed; allowed: {expected}"
    if kind == "union_tag_invalid":
        return f"{err.get('input', {}).get('backend') if isinstance(err.get('input'), dict) else ''!r} is not " \
               "allowed; allowed: backend 'local', 's3' or 'http'"
    if kind == "union_tag_not_found":
        return "needs backend: 'local', 's3' or 'http'"
    if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        return f"{err.get('input')!r}: {_lower(msg)}{_range(loc)}"
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return f"{err.get('input')!r} is not a whole number{_range(loc)}"
    if kind in ("string_type",):
        return f"{err.get('input')!r} is not a string"
    if kind in ("list_type",):
        return f"must be a list, not {type(err.get('input')).__name__}"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return f"must be a mapping with keys: {', '.join(_fields_at(loc))}"
    if kind == "bool_type" or kind == "bool_parsing":
        return f"{err.get('input')!r} is not true or false"
    if kind == "value_error":
        return msg.removeprefix("Value error, ")
    return msg


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

_RANGES = {"policy_engine_count": "2 to 64", "api_port": "1 to 65535", "port": "1 to 65535"}


def _range(loc: list[Any]) -> str:
    name = str(loc[-1]) if loc else ""
    if name in _RANGES:
        return f" (allowed: {_RANGES[name]})"
    if name.endswith("_s") or name == "datasource_sync_period":
        return " (allowed: whole seconds from 1 to 3600)"
    if name in ("fall", "rise"):
        return " (allowed: 1 to 100)"
    return ""


def _fields_at(loc: list[Any]) -> list[str]:
    """The keys a mapping at `loc` may hold."""
    model: Any = Env
    for part in loc:
        if isinstance(part, int):
            continue
        field = getattr(model, "model_fields", {}).get(part)
        if field is None:
            return []
        model = _model_of(field.annotation)
    return list(getattr(model, "model_fields", {}))


def _model_of(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_of(arg)
        if found is not None:
            return found
    return None


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
        "external_database": _endpoint(env.external_database),
        "external_rabbitmq": _endpoint(env.external_rabbitmq),
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
    }
    return out


def _endpoint(endpoint: Endpoint | None) -> dict[str, Any] | None:
    return None if endpoint is None else endpoint.model_dump(exclude_none=True)


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
