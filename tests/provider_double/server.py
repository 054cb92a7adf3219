"""The double's plugin process: go-plugin handshake plus a schema-driven tfplugin6 Provider.

Values cross the wire as msgpack objects shaped by the schema; an unknown value is a
msgpack extension (type 0, or 12 for a refined unknown) and is kept as msgpack.ExtType.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import signal
import sys
import tempfile
import threading
from concurrent import futures
from pathlib import Path

import grpc
import msgpack
from tf.gen import grpc_controller_pb2 as ctl_pb
from tf.gen import grpc_controller_pb2_grpc as ctl_grpc
from tf.gen import grpc_stdio_pb2_grpc as stdio_grpc
from tf.gen import tfplugin_pb2 as pb
from tf.gen import tfplugin_pb2_grpc as pb_grpc

from provider_double.provider_config import configure_error
from provider_double.rules import DEFAULTS, ENUMS, FORCE_NEW, HASHED, IGNORE_CASE, NUMERIC_OK, SET_ELEMENT_ZERO_VALUES

SCHEMA = json.loads(Path(__file__).with_name("schema.json").read_text())
RESOURCES = SCHEMA["resource_schemas"]
UNKNOWN = msgpack.ExtType(0, b"\x00")
NESTING = {"single": 1, "list": 2, "set": 3, "map": 4, "group": 5}
ERROR = pb.Diagnostic.ERROR


# ---- values ---------------------------------------------------------------------------

def unpack(dv: pb.DynamicValue):
    if dv.msgpack:
        return msgpack.unpackb(dv.msgpack, raw=False, strict_map_key=False)
    if dv.json:
        return json.loads(dv.json)
    return None


def pack(value) -> pb.DynamicValue:
    return pb.DynamicValue(msgpack=msgpack.packb(value, use_bin_type=True))


def known(value) -> bool:
    return not isinstance(value, msgpack.ExtType)


def each_block(bt: dict, value, fn):
    """Apply fn to every object of a nested block value, keeping its nesting shape."""
    if value is None or not known(value):
        return value
    if bt["nesting_mode"] in ("single", "group"):
        return fn(value)
    if bt["nesting_mode"] == "map":
        return {k: fn(v) for k, v in value.items()}
    return [fn(v) for v in value]


def conform(block: dict, obj: dict | None) -> dict | None:
    """A JSON state object completed to the schema's object type (missing -> null/empty)."""
    if obj is None:
        return None
    out = {name: obj.get(name) for name in block.get("attributes", {})}
    for name, bt in block.get("block_types", {}).items():
        empty = None if bt["nesting_mode"] in ("single", "group") else {} if bt["nesting_mode"] == "map" else []
        value = obj.get(name)
        out[name] = empty if value is None else each_block(bt, value, lambda o: conform(bt["block"], o))
    return out


def unknown_computed(block: dict, obj: dict) -> dict:
    """SDKv2 on create: every computed attribute left null becomes unknown, nested ones too."""
    out = dict(obj)
    for name, attr in block.get("attributes", {}).items():
        if attr.get("computed") and out.get(name) is None:
            out[name] = UNKNOWN
    for name, bt in block.get("block_types", {}).items():
        out[name] = each_block(bt, out.get(name), lambda o: unknown_computed(bt["block"], o))
    return out


def fill_unset(obj: dict, dotted: str, value) -> bool:
    """Set every null value at a dotted path (through nested block lists) to value; True if any was."""
    head, _, rest = dotted.partition(".")
    if not rest:
        if obj.get(head) is None:
            obj[head] = value
            return True
        return False
    children = obj.get(head)
    if children is None or not known(children):
        return False
    children = children if isinstance(children, list) else [children]
    return any([fill_unset(child, rest, value) for child in children if isinstance(child, dict)])


def sha1_hex(value):
    return hashlib.sha1(value.encode()).hexdigest() if isinstance(value, str) else value


# ---- schema ---------------------------------------------------------------------------

def kind(node: dict) -> int:
    return pb.MARKDOWN if node.get("description_kind") == "markdown" else pb.PLAIN


def block_pb(block: dict) -> pb.Schema.Block:
    return pb.Schema.Block(
        attributes=[pb.Schema.Attribute(
            name=name, type=json.dumps(a["type"], separators=(",", ":")).encode(),
            description=a.get("description", ""), description_kind=kind(a),
            required=a.get("required", False), optional=a.get("optional", False),
            computed=a.get("computed", False), sensitive=a.get("sensitive", False),
            deprecated=a.get("deprecated", False),
        ) for name, a in sorted(block.get("attributes", {}).items())],
        block_types=[pb.Schema.NestedBlock(
            type_name=name, block=block_pb(bt["block"]), nesting=NESTING[bt["nesting_mode"]],
            min_items=bt.get("min_items", 0), max_items=bt.get("max_items", 0),
        ) for name, bt in sorted(block.get("block_types", {}).items())],
        description=block.get("description", ""), description_kind=kind(block),
        deprecated=block.get("deprecated", False),
    )


def schema_pb(schema: dict) -> pb.Schema:
    return pb.Schema(version=schema.get("version", 0), block=block_pb(schema["block"]))


# ---- rules ----------------------------------------------------------------------------

def error(summary: str, detail: str = "", path=()) -> pb.Diagnostic:
    steps = [pb.AttributePath.Step(element_key_int=s) if isinstance(s, int)
             else pb.AttributePath.Step(attribute_name=s) for s in path]
    return pb.Diagnostic(severity=ERROR, summary=summary, detail=detail,
                         attribute=pb.AttributePath(steps=steps) if steps else None)


def find(value, parts, path=()):
    """(path, value) for every known, non-null value at a dotted path, through block lists."""
    if value is None or not known(value):
        return
    if not parts:
        yield path, value
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from find(item, parts, path + (i,))
    elif isinstance(value, dict):
        yield from find(value.get(parts[0]), parts[1:], path + (parts[0],))


def enum_errors(type_name: str, config: dict) -> list[pb.Diagnostic]:
    diags = []
    for dotted, allowed in ENUMS.get(type_name, {}).items():
        numeric = NUMERIC_OK.get((type_name, dotted), ())
        fold = str.upper if (type_name, dotted) in IGNORE_CASE else str
        for path, value in find(config, dotted.split(".")):
            if fold(value) in allowed or (value.isdigit() and int(value) in numeric):
                continue
            key = ".".join(map(str, path))  # SDKv2 names nested keys like persistence.0.type
            listed = " ".join(json.dumps(a) for a in allowed)
            diags.append(error(f"expected {key} to be one of [{listed}], got {value}", path=path))
    return diags


def replace_paths(type_name: str, prior: dict, planned: dict) -> list[str]:
    names = FORCE_NEW.get(type_name, set())
    if "*" in names:
        names = planned.keys()
    return sorted(n for n in names if n in planned and planned[n] != prior.get(n))


# ---- the Provider service ---------------------------------------------------------------

NO_DATA_SOURCES = ("the offline provider double serves no data sources: congress-tf modules "
                   "must plan without a cloud (data source {})")
CANNOT = "offline double: cannot apply/import"


class Provider(pb_grpc.ProviderServicer):
    def GetMetadata(self, request, context):
        return pb.GetMetadata.Response(
            server_capabilities=pb.ServerCapabilities(plan_destroy=False),
            resources=[pb.GetMetadata.ResourceMetadata(type_name=n) for n in RESOURCES])

    def GetProviderSchema(self, request, context):
        return pb.GetProviderSchema.Response(
            provider=schema_pb(SCHEMA["provider"]),
            resource_schemas={n: schema_pb(s) for n, s in RESOURCES.items()},
            server_capabilities=pb.ServerCapabilities(plan_destroy=False))

    def GetFunctions(self, request, context):
        return pb.GetFunctions.Response()

    def ValidateProviderConfig(self, request, context):
        return pb.ValidateProviderConfig.Response()

    def ConfigureProvider(self, request, context):
        config = {name: value for name, value in (unpack(request.config) or {}).items() if known(value)}
        problem = configure_error(config)
        return pb.ConfigureProvider.Response(diagnostics=[error(problem)] if problem else [])

    def StopProvider(self, request, context):
        return pb.StopProvider.Response()

    def ValidateResourceConfig(self, request, context):
        config = unpack(request.config)
        return pb.ValidateResourceConfig.Response(diagnostics=enum_errors(request.type_name, config))

    def ValidateDataResourceConfig(self, request, context):
        return pb.ValidateDataResourceConfig.Response(
            diagnostics=[error(NO_DATA_SOURCES.format(request.type_name))])

    def ReadDataSource(self, request, context):
        return pb.ReadDataSource.Response(diagnostics=[error(NO_DATA_SOURCES.format(request.type_name))])

    def UpgradeResourceState(self, request, context):
        block = RESOURCES[request.type_name]["block"]
        state = json.loads(request.raw_state.json) if request.raw_state.json else None
        return pb.UpgradeResourceState.Response(upgraded_state=pack(conform(block, state)))

    def ReadResource(self, request, context):
        return pb.ReadResource.Response(new_state=request.current_state, private=request.private)

    def PlanResourceChange(self, request, context):
        proposed = unpack(request.proposed_new_state)
        if proposed is None:  # destroy
            return pb.PlanResourceChange.Response(planned_state=pack(None))
        type_name, block = request.type_name, RESOURCES[request.type_name]["block"]
        prior, config = unpack(request.prior_state), unpack(request.config)

        adjusted = False  # the plan departs from what Terraform would accept from a strict provider

        def finish(obj, creating):
            nonlocal adjusted
            for dotted, value in DEFAULTS.get(type_name, {}).items():
                adjusted |= fill_unset(obj, dotted, value)
            if creating:
                for dotted, value in SET_ELEMENT_ZERO_VALUES.get(type_name, {}).items():
                    adjusted |= fill_unset(obj, dotted, value)
            for t, name in HASHED:
                if t == type_name and known(obj.get(name)) and obj[name] is not None:
                    obj[name] = sha1_hex(obj[name])
                    adjusted |= obj[name] != config.get(name)
            return obj

        replace = []
        if prior is None:
            planned = finish(unknown_computed(block, proposed), creating=True)
        else:
            planned = finish(dict(proposed), creating=False)
            replace = replace_paths(type_name, prior, planned)
            if replace:  # a replacement is a create: computed values are not known yet
                planned = finish(unknown_computed(block, config), creating=True)
        # Like SDKv2, ask Terraform for the legacy type system's leniency when defaults, hashing or
        # zero values make the plan differ from config; otherwise Terraform checks the plan strictly.
        return pb.PlanResourceChange.Response(
            planned_state=pack(planned), planned_private=request.prior_private,
            requires_replace=[pb.AttributePath(steps=[pb.AttributePath.Step(attribute_name=n)])
                              for n in replace],
            legacy_type_system=adjusted)

    def ApplyResourceChange(self, request, context):
        return pb.ApplyResourceChange.Response(diagnostics=[error(CANNOT, request.type_name)])

    def ImportResourceState(self, request, context):
        return pb.ImportResourceState.Response(diagnostics=[error(CANNOT, request.type_name)])

    def MoveResourceState(self, request, context):
        return pb.MoveResourceState.Response(diagnostics=[error(CANNOT, request.target_type_name)])

    def CallFunction(self, request, context):
        return pb.CallFunction.Response(error=pb.FunctionError(text="the double has no functions"))


class EmptyReplies(grpc.GenericRpcHandler):
    """RPCs newer than tf's stubs (resource identity, list resources, actions ...): an empty
    reply, which decodes as "nothing here" in every Terraform that calls them."""

    def service(self, details):
        if details.method.startswith("/tfplugin6.Provider/"):
            return grpc.unary_unary_rpc_method_handler(lambda req, ctx: b"",
                                                       request_deserializer=None,
                                                       response_serializer=None)
        return None


# ---- go-plugin --------------------------------------------------------------------------

def self_signed():
    """(DER cert, PEM cert, PEM key) for localhost, as go-plugin's AutoMTLS expects."""
    from datetime import datetime, timedelta, timezone

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "localhost")])
    now = datetime.now(timezone.utc)
    eku = x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH,
                                 x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=1)).not_valid_after(now + timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
            .add_extension(eku, critical=False)
            .sign(key, hashes.SHA256()))
    pem_key = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return cert.public_bytes(serialization.Encoding.DER), cert.public_bytes(serialization.Encoding.PEM), pem_key


def main() -> None:
    if os.environ.get("TF_PLUGIN_MAGIC_COOKIE") != "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2":
        sys.exit("This binary is a Terraform plugin (the congress-tf test double); Terraform starts it.")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())

    class Controller(ctl_grpc.GRPCControllerServicer):
        def Shutdown(self, request, context):
            stop.set()
            return ctl_pb.Empty()

    class Stdio(stdio_grpc.GRPCStdioServicer):
        def StreamStdio(self, request, context):
            return iter(())

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    pb_grpc.add_ProviderServicer_to_server(Provider(), server)
    ctl_grpc.add_GRPCControllerServicer_to_server(Controller(), server)
    stdio_grpc.add_GRPCStdioServicer_to_server(Stdio(), server)
    server.add_generic_rpc_handlers((EmptyReplies(),))  # consulted after the services above

    der, pem, key = self_signed()
    # Terraform's AutoMTLS also sends PLUGIN_CLIENT_CERT, but its ECDSA P-521 signature is not
    # among BoringSSL's defaults, so we cannot demand it; Terraform still pins our certificate.
    creds = grpc.ssl_server_credentials([(key, pem)])
    tmp = tempfile.mkdtemp(prefix="tf-openstack-double-")
    try:
        sock = os.path.join(tmp, "plugin.sock")
        server.add_secure_port(f"unix://{sock}", creds)
        server.start()
        cert = base64.b64encode(der).decode().rstrip("=")
        print(f"1|6|unix|{sock}|grpc|{cert}", flush=True)
        stop.wait()
        server.stop(grace=0.5).wait()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
