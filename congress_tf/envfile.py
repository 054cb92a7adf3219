"""env.yaml: the schema of one environment, its validation, and what it becomes for Terraform.

The schema is a handful of `Model` classes, one per mapping, each listing its keys with the kind
of value each holds.  Validation collects every problem in a file and reports them together as
`EnvFileError.problems`, each naming its field (`network.cidr`, `admin_cidrs[0]`) and what is
allowed.  Unknown keys are problems too, with a did-you-mean.  (It is written here, not with a
schema library: that library's import alone cost more than the rest of a `congress-tf plan`
around Terraform, and its errors needed translating into these messages anyway.)

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
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from congress_tf import strict_yaml

NAME_RE = re.compile(r"[a-z][a-z0-9-]{0,30}")
UUID_RE = re.compile(r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}")
ROLES = ("policy_engine", "datasource", "backing", "haproxy")
# Ports the nodes use themselves (SSH, Pacemaker, MariaDB/Galera, RabbitMQ, Corosync): never the API's.
NODE_PORTS = (22, 2224, 3306, 4369, 4444, 4567, 4568, 5405, 5672, 25672)
MAX_PROBLEMS = 20


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


# --- checks of one value: each returns it, or raises ValueError saying what is allowed ----------

def _show(value: Any) -> str:
    """A value for an error message: quoted, one line, at most 60 characters."""
    text = repr(str(value) if isinstance(value, str) else value)
    return text if len(text) <= 60 else text[:56] + "...'"


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


def _s3_bucket(value: str) -> str:
    if not re.fullmatch(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", value) or ".." in value or ".-" in value \
            or "-." in value or re.fullmatch(r"[0-9.]+", value) or value.startswith("xn--") \
            or value.endswith("-s3alias"):
        raise ValueError(f"{_show(value)} is not an S3 bucket name: 3 to 63 characters of a-z, 0-9, '.' and '-', "
                         "starting and ending with a letter or digit, not an IP address")
    return value


def _tls_host(value: str) -> str:
    """A name or address clients use for the API, for the generated certificate."""
    if not (_is_hostname(value) or _is_ip(value)) or value.endswith("."):
        raise ValueError(f"{_show(value)} is not a DNS name or IP address (such as congress.example.org "
                         "or 192.0.2.10)")
    return value


def _api_port(value: int) -> int:
    if value in NODE_PORTS:
        raise ValueError(f"{value} is not usable: the API needs a port from 1024 to 65535 that is not a port the "
                         f"nodes use ({', '.join(map(str, NODE_PORTS))})")
    return value


# --- the schema language -------------------------------------------------------------------------
# A kind checks the value found under a key: `parse(value, where, problems)` returns what to keep,
# or INVALID after adding what is wrong to `problems` as "where: message".

INVALID = object()
REQUIRED = object()


class Problems(list):
    def add(self, where: str, message: str) -> None:
        self.append(f"{where}: {message}" if where else message)


def _at(where: str, key: str) -> str:
    return f"{where}.{key[:40]}" if where else key[:40]


class Scalar:
    """One value, checked by `check`: it returns the value, or raises ValueError saying what is allowed."""

    def __init__(self, check: Callable[[Any], Any]):
        self.check = check

    def parse(self, value: Any, where: str, problems: Problems) -> Any:
        try:
            return self.check(value)
        except ValueError as exc:
            problems.add(where, str(exc))
            return INVALID


def _surprise(value: strict_yaml.Ambiguous, fix: str) -> str:
    """A YAML 1.1 reading nobody meant (010 -> 8, on -> true, 2024-01-01 -> a date), and its fix."""
    return f"YAML reads {_show(value.text)} as {value.reading}: {fix}"


def string(check: Callable[[str], str] | None = None, echo: bool = True) -> Scalar:
    """Text, then `check`.  With echo=False a refused value is never shown (it may be a secret
    pasted in the wrong place)."""
    def is_text(value: Any) -> str:
        if isinstance(value, strict_yaml.Ambiguous) and echo:
            raise ValueError(_surprise(value, f"quote it ({_show(value.text)}) to mean that text"))
        if not isinstance(value, str):
            quote = " (quote it if you mean that text)" if isinstance(value, (int, float, strict_yaml.Ambiguous)) else ""
            raise ValueError(f"{_show(value) if echo else 'the value (not shown)'} is not a string{quote}")
        return check(value) if check else value

    return Scalar(is_text)


def text(pattern: str, allowed: str, echo: bool = True) -> Scalar:
    """Text matching `pattern` whole (`allowed` says what that is in words).  Every string that
    reaches a config file, a command line or a path is checked so: one line of the characters
    its rule allows, nothing after it."""
    def check(value: str) -> str:
        if value == "":
            raise ValueError(f"is empty: give {allowed}, or leave the key out")
        if not re.fullmatch(pattern, value):  # compiled on first use, not for every rule at import
            shown = f"{_show(value)} is not" if echo and "\n" not in value else "must be"
            raise ValueError(f"{shown} {allowed}")
        return value

    return string(check, echo)


def integer(low: int, high: int, allowed: str = "", check: Callable[[int], int] | None = None) -> Scalar:
    """A whole number from `low` to `high` (a quoted number, a float or true is not one)."""
    allowed = f" (allowed: {allowed or f'{low} to {high}'})"

    def number(value: Any) -> int:
        if isinstance(value, strict_yaml.Ambiguous):
            raise ValueError(_surprise(value, f"write a plain decimal number without leading zeros{allowed}"))
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{_show(value)} is not a whole number{allowed}")
        if not low <= value <= high:
            raise ValueError(f"{value} is out of range{allowed}")
        return check(value) if check else value

    return Scalar(number)


def _boolean(value: Any) -> bool:
    if isinstance(value, strict_yaml.Ambiguous):
        raise ValueError(_surprise(value, "write true or false"))
    if not isinstance(value, bool):
        raise ValueError(f"{_show(value)} is not true or false")
    return value


def _either(choices: tuple[str, ...]) -> str:
    quoted = [repr(c) for c in choices]
    return quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} or {quoted[-1]}"


def one_of(*choices: str) -> Scalar:
    def choice(value: Any) -> str:
        if isinstance(value, strict_yaml.Ambiguous):
            raise ValueError(_surprise(value, f"quote it ({_show(value.text)}) to mean that text; "
                                              f"allowed: {_either(choices)}"))
        if not isinstance(value, str) or value not in choices:
            raise ValueError(f"{_show(value)} is not allowed; allowed: {_either(choices)}")
        return value

    return Scalar(choice)


def _what(value: Any) -> str:
    if isinstance(value, strict_yaml.Ambiguous):
        return value.reading
    return {dict: "a mapping", str: "text", bool: "true or false", int: "a number", float: "a number",
            type(None): "empty"}.get(type(value), type(value).__name__)


class ListOf:
    """A list of `at_least` to `at_most` values of one kind, each once when `unique`."""

    def __init__(self, item: Any, at_most: int, at_least: int = 0, unique: bool = False):
        self.item, self.at_most, self.at_least, self.unique = item, at_most, at_least, unique

    def parse(self, value: Any, where: str, problems: Problems) -> Any:
        if not isinstance(value, list):
            problems.add(where, f"must be a list, not {_what(value)}")
            return INVALID
        if len(value) > self.at_most:
            problems.add(where, f"holds {len(value)} items; at most {self.at_most}")
            return INVALID
        if len(value) < self.at_least:
            problems.add(where, f"holds {len(value)} items; give at least {self.at_least}")
            return INVALID
        before = len(problems)
        items = tuple(self.item.parse(v, f"{where}[{i}]", problems) for i, v in enumerate(value))
        twice = [v for i, v in enumerate(items) if v in items[:i]] if self.unique and len(problems) == before else []
        if twice:
            problems.add(where, f"{twice[0]} is given twice: give each once")
        return items if len(problems) == before else INVALID


class Key:
    """A key of a mapping: the kind of its value, and its default (REQUIRED: it has none; None: the
    key may be null or left out).  `hint` says what to give when a required key is missing."""

    def __init__(self, kind: Any, default: Any = REQUIRED, hint: str = ""):
        self.kind, self.default = kind, default
        self.hint = hint or (f"a mapping with keys: {', '.join(kind.keys)}" if isinstance(kind, type) else "")


class Model:
    """A mapping of known keys: the `Key`s of a subclass, in order; any other key is a problem.
    `conflicts()` says what is wrong between keys; it runs once every key is valid."""

    keys: dict[str, Key] = {}

    def __init_subclass__(cls, **kwargs: Any):
        super().__init_subclass__(**kwargs)
        cls.keys = {name: key for name, key in vars(cls).items() if isinstance(key, Key)}

    def __init__(self, **values: Any):
        missing = [name for name, key in self.keys.items() if key.default is REQUIRED and name not in values]
        if missing or not values.keys() <= self.keys.keys():
            raise TypeError(f"{type(self).__name__}: missing {missing}, unknown {set(values) - set(self.keys)}")
        self.__dict__.update({name: key.default for name, key in self.keys.items()}, **values)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is read-only")

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in vars(self).items())})"

    def conflicts(self) -> Iterator[str]:
        return iter(())

    def as_dict(self, drop: tuple[str, ...] = (), drop_none: bool = False) -> dict[str, Any]:
        """The values as plain data (nested models as dicts, lists as lists), for Terraform."""
        out: dict[str, Any] = {}
        for name, value in vars(self).items():
            if name in drop or (drop_none and value is None):
                continue
            out[name] = value.as_dict(drop_none=drop_none) if isinstance(value, Model) else \
                list(value) if isinstance(value, tuple) else value
        return out

    @classmethod
    def parse(cls, value: Any, where: str, problems: Problems) -> Any:
        if not isinstance(value, dict):
            problems.add(where, f"must be a mapping with keys: {', '.join(cls.keys)}")
            return INVALID
        before = len(problems)
        values = {}
        for name, key in cls.keys.items():
            if name not in value:
                if key.default is REQUIRED:
                    problems.add(_at(where, name), "required, missing" + (f": give {key.hint}" if key.hint else ""))
            elif value[name] is None and key.default is None:
                values[name] = None
            else:
                values[name] = key.kind.parse(value[name], _at(where, name), problems)
        unknown = [name for name in value if name not in cls.keys]
        for name in unknown:
            problems.add(_at(where, name), cls._unknown(name, first=name == unknown[0]))
        if len(problems) > before:
            return INVALID
        model = cls(**values)
        for message in model.conflicts():
            problems.add(where, message)
        return model if len(problems) == before else INVALID

    @classmethod
    def _unknown(cls, name: str, first: bool) -> str:
        close = difflib.get_close_matches(name, cls.keys, n=1, cutoff=0.6)
        hint = f"did you mean {close[0]!r}? " if close else ""
        if re.search(r"pass|secret|token|key$", name, re.I) and "password_env" in cls.keys:
            hint += "passwords never go in env.yaml: name the environment variable holding one in password_env; "
        if first:  # the allowed keys once per mapping, not once per unknown key
            return f"unknown key; {hint}allowed keys here: {', '.join(cls.keys)}"
        return f"unknown key; {hint}".rstrip("; ") + " (allowed keys: as above)"


# --- kinds of value --------------------------------------------------------------------------------

NAME = string(_name)
CIDR = string(_cidr)
SUBNET_CIDR = string(_subnet_cidr)
DNS_SERVER = string(_dns_server)
URL = string(_url)
SSH_KEY = string(_ssh_key)
HOST = string(_host)
S3_BUCKET = string(_s3_bucket)
TLS_HOST = string(_tls_host)
BOOLEAN = Scalar(_boolean)
# Glance, Nova and Neutron names may hold spaces; they are only looked up, never written to a file.
NAME_OR_ID = text(r"[^\x00-\x20\x7f]([^\x00-\x1f\x7f]{0,253}[^\x00-\x20\x7f])?",
                  "a name or UUID on one line, without leading or trailing spaces")
CLOUD_NAME = text(r"[A-Za-z0-9][A-Za-z0-9_.@+-]{0,63}", "a clouds.yaml entry name (A-Z, a-z, 0-9, _ . @ + -)")
KEY_PAIR_NAME = text(r"[A-Za-z0-9_.@-]([A-Za-z0-9 _.@-]{0,253}[A-Za-z0-9_.@-])?",
                     "a Nova key pair name (A-Z, a-z, 0-9, spaces inside, _ . @ -)")
# Values written into congress.conf and the Pacemaker configuration.
CONFIG_TEXT = text(r"[A-Za-z0-9_.@+-]([A-Za-z0-9 _.@+-]{0,253}[A-Za-z0-9_.@+-])?",
                   "one line of A-Z, a-z, 0-9, spaces inside, and _ . @ + -")
ENV_VAR_NAME = text(r"[A-Z_][A-Z0-9_]{0,127}",
                    "the NAME of an environment variable holding the password (A-Z, 0-9, _), e.g. "
                    "CONGRESS_TF_KEYSTONE_PASSWORD; the password itself never goes in env.yaml (value not shown)",
                    echo=False)
S3_KEY = text(r"[A-Za-z0-9!_.*()-][A-Za-z0-9!_.*()/-]{0,1022}[A-Za-z0-9!_.*()-]|[A-Za-z0-9!_.*()-]",
              "an object key such as congress/prod.tfstate (A-Z, a-z, 0-9, ! _ . * ( ) - and / inside)")
REGION = text(r"[a-z0-9][a-z0-9-]{0,31}", "a region such as us-east-1")
KEYSTONE_REGION = text(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}",
                       "a Keystone region ID such as RegionOne (A-Z, a-z, 0-9, _ . -)")
BARBICAN_REF = text(r"https?://[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?(:[0-9]{1,5})?/([A-Za-z0-9._~-]+/)*"
                    r"(containers|secrets)/[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}",
                    "a Barbican reference: https://<barbican>/v1/containers/<uuid> (a certificate container) or "
                    ".../v1/secrets/<uuid> (a PKCS12 secret)")
FILE_PATH = text(r"[^\x00-\x1f\x7f]{1,1024}", "a file path on one line (relative to env.yaml's directory, or absolute)",
                 echo=False)
PORT = integer(1, 65535)
API_PORT = integer(1024, 65535, "1024 to 65535, as Congress runs unprivileged", check=_api_port)
SECONDS = integer(1, 3600, "whole seconds from 1 to 3600")
RETRIES = integer(1, 10)  # Octavia's max_retries
CIDR_LIST = ListOf(CIDR, at_most=32, unique=True)


# --- the schema ----------------------------------------------------------------------------------

class Flavors(Model):
    """Nova flavor name or ID per role; `default` serves every role not named."""
    default = Key(NAME_OR_ID, hint="a Nova flavor name or ID")
    policy_engine = Key(NAME_OR_ID, None)
    datasource = Key(NAME_OR_ID, None)
    backing = Key(NAME_OR_ID, None)
    haproxy = Key(NAME_OR_ID, None)

    def for_role(self, role: str) -> str:
        return getattr(self, role) or self.default


class Network(Model):
    cidr = Key(SUBNET_CIDR, hint="an IPv4 CIDR, /24 or larger, such as 10.20.0.0/24")
    existing_network = Key(NAME_OR_ID, None)
    existing_subnet = Key(NAME_OR_ID, None)
    external_network = Key(NAME_OR_ID, None)
    # Neutron hands out at most 5 name servers by default and refuses a subnet listing one twice.
    dns_nameservers = Key(ListOf(DNS_SERVER, at_most=5, unique=True), ())

    def conflicts(self) -> Iterator[str]:
        if (self.existing_network is None) != (self.existing_subnet is None):
            yield "existing_network and existing_subnet go together: give both or neither"
        if self.existing_network is not None and self.external_network is not None:
            yield ("network.external_network uplinks the router of a network congress-tf creates; with "
                   "existing_network there is none: remove external_network (route the existing network yourself)")


class Endpoint(Model):
    host = Key(HOST, hint="a host name or IP address")
    port = Key(PORT, None)


class Brokers(Model):
    hosts = Key(ListOf(HOST, at_most=16, at_least=1), hint="a list of host names or IP addresses")
    port = Key(PORT, None)


class Backing(Model):
    """single: a MariaDB VM and a RabbitMQ VM; cluster: three Galera VMs and three RabbitMQ VMs;
    external: servers of the operator's (database {host, port}, rabbitmq {hosts, port})."""
    mode = Key(one_of("single", "cluster", "external"), "single")
    database = Key(Endpoint, None)
    rabbitmq = Key(Brokers, None)

    def conflicts(self) -> Iterator[str]:
        given = [name for name in ("database", "rabbitmq") if getattr(self, name) is not None]
        if self.mode == "external" and len(given) < 2:
            yield "mode external needs both database {host, port} and rabbitmq {hosts, port}"
        if self.mode != "external" and given:
            yield f"{' and '.join(given)}: only with mode external (mode {self.mode} runs its own)"


class HealthCheck(Model):
    interval_s = Key(SECONDS, 2)
    timeout_s = Key(SECONDS, 2)
    fall = Key(RETRIES, 2)
    rise = Key(RETRIES, 2)

    def conflicts(self) -> Iterator[str]:
        if self.timeout_s > self.interval_s:
            yield f"timeout_s ({self.timeout_s}) must be at most interval_s ({self.interval_s})"


class HaproxyTls(Model):
    """HTTPS on the API VIP with lb_provider haproxy. certificate_file and key_file (PEM, relative
    to env.yaml's directory) go together; without them congress-tf generates a CA and a certificate
    for the VIP, both HAProxy VMs and `names` (the CA's path is printed for clients)."""
    certificate_file = Key(FILE_PATH, None)
    key_file = Key(FILE_PATH, None)
    names = Key(ListOf(TLS_HOST, at_most=16, unique=True), ())

    def conflicts(self) -> Iterator[str]:
        if (self.certificate_file is None) != (self.key_file is None):
            yield ("certificate_file and key_file go together: give both (your certificate) or neither "
                   "(congress-tf generates one)")
        if self.certificate_file is not None and self.names:
            yield "names are for the certificate congress-tf generates: with certificate_file, put them in your certificate"


class Keystone(Model):
    auth_url = Key(URL, None)
    www_authenticate_uri = Key(URL, None)
    region_name = Key(CONFIG_TEXT, "RegionOne")
    project_name = Key(CONFIG_TEXT, "service")
    project_domain_name = Key(CONFIG_TEXT, "Default")
    user_domain_name = Key(CONFIG_TEXT, "Default")
    username = Key(CONFIG_TEXT, "congress")
    password_env = Key(ENV_VAR_NAME, "CONGRESS_TF_KEYSTONE_PASSWORD")


class DatasourceMonitor(Model):
    interval_s = Key(SECONDS, 10)
    timeout_s = Key(SECONDS, 30)


class CongressInstall(Model):
    source = Key(one_of("index", "wheelhouse", "preinstalled"), "index")
    url = Key(URL, "https://pypi.org/simple")


class Fencing(Model):
    auth_url = Key(URL, hint="an http:// or https:// URL")
    region_name = Key(CONFIG_TEXT, "RegionOne")
    username = Key(CONFIG_TEXT, hint="a user name")
    project_name = Key(CONFIG_TEXT, hint="a project name")
    user_domain_name = Key(CONFIG_TEXT, "Default")
    project_domain_name = Key(CONFIG_TEXT, "Default")
    password_env = Key(ENV_VAR_NAME, "CONGRESS_TF_FENCING_PASSWORD")


class Catalog(Model):
    """Keystone catalog registration (needs an admin token): service type policy, three endpoints."""
    enabled = Key(BOOLEAN, False)
    region = Key(KEYSTONE_REGION, None)  # None: keystone.region_name


class OctaviaTls(Model):
    """TLS terminated by Octavia with the operator's Barbican certificate; plain HTTP redirected."""
    container_ref = Key(BARBICAN_REF, hint="a Barbican certificate container or secret reference (https://...)")
    redirect_port = Key(PORT, 80)


class LocalState(Model):
    backend = Key(one_of("local"), "local")


class S3State(Model):
    """An S3-compatible bucket; credentials from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, never here."""
    backend = Key(one_of("s3"))
    bucket = Key(S3_BUCKET, hint="the S3 bucket name")
    key = Key(S3_KEY, hint="the object key of the state, e.g. congress/prod.tfstate")
    region = Key(REGION, "us-east-1")
    endpoint = Key(URL, None)
    use_path_style = Key(BOOLEAN, True)


class HttpState(Model):
    """Terraform's http backend; credentials from TF_HTTP_USERNAME/TF_HTTP_PASSWORD, never here."""
    backend = Key(one_of("http"))
    address = Key(URL, hint="an http:// or https:// URL")
    lock_address = Key(URL, None)
    unlock_address = Key(URL, None)


class StateBackend:
    """`state`: a mapping whose `backend` says which of the models above the rest of it is."""

    models = {"local": LocalState, "s3": S3State, "http": HttpState}

    def parse(self, value: Any, where: str, problems: Problems) -> Any:
        allowed = "backend 'local', 's3' or 'http'"
        backend = value.get("backend") if isinstance(value, dict) else None
        if not isinstance(value, dict) or backend is None:
            problems.add(where, f"needs {allowed} and that backend's keys")
        elif not isinstance(backend, str) or backend not in self.models:
            problems.add(where, f"{_show(backend)} is not allowed; allowed: {allowed}")
        else:
            return self.models[backend].parse(value, where, problems)
        return INVALID


class Env(Model):
    """One environment: one cluster, its state beside env.yaml in .congress-tf/<name>/."""
    name = Key(NAME, None)
    cloud = Key(CLOUD_NAME, None)
    name_prefix = Key(NAME, "congress")
    image = Key(NAME_OR_ID, hint="a Glance image name or ID (a Debian 12 cloud image)")
    flavors = Key(Flavors)
    key_pair = Key(KEY_PAIR_NAME, None)
    ssh_authorized_keys = Key(ListOf(SSH_KEY, at_most=32), ())
    network = Key(Network)
    admin_cidrs = Key(CIDR_LIST, ())
    allowed_client_cidrs = Key(CIDR_LIST, ())
    policy_engine_count = Key(integer(2, 64), 2)
    server_group_policy = Key(one_of("anti-affinity", "soft-anti-affinity"), "anti-affinity")
    backing = Key(Backing, Backing())
    lb_provider = Key(one_of("octavia", "haproxy", "auto"), "auto")
    api_port = Key(API_PORT, 1789)
    lb_persistence = Key(one_of("SOURCE_IP", "HTTP_COOKIE"), "SOURCE_IP")
    haproxy_tls = Key(HaproxyTls, None)
    floating_ip_pool = Key(NAME_OR_ID, None)
    health_check = Key(HealthCheck, HealthCheck())
    auth_strategy = Key(one_of("keystone", "noauth"), "keystone")
    keystone = Key(Keystone, Keystone())
    datasource_sync_period = Key(SECONDS, 5)
    datasource_monitor = Key(DatasourceMonitor, DatasourceMonitor())
    congress_install = Key(CongressInstall, CongressInstall())
    fencing = Key(Fencing, None)
    octavia_tls = Key(OctaviaTls, None)
    catalog = Key(Catalog, Catalog())
    state = Key(StateBackend(), LocalState())

    def conflicts(self) -> Iterator[str]:
        if self.auth_strategy == "keystone" and self.keystone.auth_url is None:
            yield "auth_strategy keystone needs keystone.auth_url (or set auth_strategy: noauth for a lab)"
        if self.octavia_tls is not None and self.lb_provider != "octavia":
            yield (f"octavia_tls needs lb_provider: octavia (it is {self.lb_provider}; auto may choose haproxy, "
                   "which has no Barbican listener)")
        elif self.octavia_tls is not None and self.octavia_tls.redirect_port == self.api_port:
            yield (f"octavia_tls.redirect_port must differ from api_port ({self.api_port}): the HTTPS listener is "
                   "there; plain HTTP is redirected from redirect_port")
        if self.haproxy_tls is not None and self.lb_provider != "haproxy":
            yield (f"haproxy_tls needs lb_provider: haproxy (it is {self.lb_provider}; with Octavia, octavia_tls "
                   "names a Barbican certificate container)")
        if self.floating_ip_pool is not None and self.network.existing_network is None \
                and self.network.external_network is None:
            yield ("floating_ip_pool needs a router from the cluster subnet to that pool: set "
                   "network.external_network (the pool's network), or remove floating_ip_pool")
        yield from self._external_hosts_outside_the_cluster()

    def _external_hosts_outside_the_cluster(self) -> Iterator[str]:
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
                    yield (f"{key}: {address} is one of the cluster subnet's own addresses (hosts .10 to .199 are "
                           "congress-tf's nodes and VIP): give the address of the external server")

    def needs_cloud(self) -> bool:
        """True when a name must be looked up or the LB provider chosen from the catalog."""
        names = [self.image, *(self.flavors.for_role(r) for r in ROLES),
                 self.network.existing_network, self.network.existing_subnet, self.network.external_network]
        return self.lb_provider == "auto" or any(v is not None and not is_id(v) for v in names)


# --- loading ---------------------------------------------------------------------------------------

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
    problems = Problems()
    env = Env.parse(data, "", problems)
    if problems:
        found = list(dict.fromkeys(problems))
        shown = found[:MAX_PROBLEMS] + ([f"... and {len(found) - MAX_PROBLEMS} more problem(s) not shown"]
                                       if len(found) > MAX_PROBLEMS else [])
        raise EnvFileError(path, shown, total=len(found))
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
    return {
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
        "backing": env.backing.as_dict(drop_none=True),
        "lb_provider": lb_provider,
        "api_port": env.api_port,
        "lb_persistence": env.lb_persistence,
        "floating_ip_pool": env.floating_ip_pool,
        "health_check": env.health_check.as_dict(),
        "auth_strategy": env.auth_strategy,
        "keystone": env.keystone.as_dict(drop=("password_env",), drop_none=True),
        "datasource_sync_period": env.datasource_sync_period,
        "datasource_monitor": env.datasource_monitor.as_dict(),
        "congress_install": env.congress_install.as_dict(),
        "fencing": env.fencing.as_dict(drop=("password_env",)) if env.fencing else None,
        "octavia_tls": env.octavia_tls.as_dict() if env.octavia_tls else None,
        "catalog": env.catalog.as_dict(),
    }


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
