"""HTTPS on the API VIP in HAProxy mode: the certificate and key HAProxy serves.

Either the operator's (env.yaml `tls.certificate_file` / `tls.key_file`, PEM, checked here: a
certificate, the unencrypted key that matches it, not expired), or generated once per environment
in `.congress-tf/<name>/tls/`: a CA of the environment's own (`ca.pem`, the file clients trust;
its key `ca-key.pem` stays there, mode 0600) and a server certificate it signs for the VIP, both
HAProxy VMs' own addresses and `tls.names`. The server certificate is issued again (same CA) when
those addresses change or it comes within 30 days of its end; the CA is made only once.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from congress_tf.state import write_file

CA_DAYS = 3650
SERVER_DAYS = 397        # what browsers and most clients accept for a server certificate
RENEW_BEFORE_DAYS = 30


class TlsError(Exception):
    """The operator's certificate or key is not usable (bad input: exit 2)."""


@dataclass(frozen=True)
class ServerTls:
    certificate: str     # PEM, server certificate first
    private_key: str     # PEM, unencrypted
    ca_file: Path | None  # the generated CA clients trust, or None for the operator's own

    def tfvars(self) -> dict[str, str]:
        return {"certificate": self.certificate, "private_key": self.private_key}


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


def _pem_key(key) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def _pem_cert(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def make_ca(common_name: str) -> tuple[str, str]:
    """(certificate PEM, key PEM) of a new CA that signs server certificates only."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = _now()
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=CA_DAYS))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                         crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    return _pem_cert(cert), _pem_key(key)


def issue(ca_cert_pem: str, ca_key_pem: str, hosts: list[str]) -> tuple[str, str]:
    """(certificate PEM, key PEM) for a TLS server known by `hosts` (IP addresses and DNS names)."""
    ca_cert = x509.load_pem_x509_certificate(ca_cert_pem.encode())
    ca_key = serialization.load_pem_private_key(ca_key_pem.encode(), password=None)
    key = ec.generate_private_key(ec.SECP256R1())
    now = _now()
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])]))
            .issuer_name(ca_cert.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(min(now + datetime.timedelta(days=SERVER_DAYS), ca_cert.not_valid_after_utc))
            .add_extension(x509.SubjectAlternativeName([_general_name(h) for h in hosts]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    return _pem_cert(cert), _pem_key(key)


def _general_name(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


def hosts_of(cert_pem: str) -> list[str]:
    """The names and addresses a certificate is valid for (its subjectAltName)."""
    cert = x509.load_pem_x509_certificate(cert_pem.encode())
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    return [str(v) for v in san.get_values_for_type(x509.IPAddress)] + san.get_values_for_type(x509.DNSName)


def check_pair(cert_pem: str, key_pem: str, where: str) -> None:
    """Raise TlsError unless `cert_pem` starts with a certificate valid now and `key_pem` is its
    unencrypted private key. `where` names the inputs in the message; no key material is shown."""
    try:
        certs = x509.load_pem_x509_certificates(cert_pem.encode())
    except ValueError:
        raise TlsError(f"{where}: the certificate file holds no PEM certificate (-----BEGIN CERTIFICATE-----)") from None
    try:
        key = serialization.load_pem_private_key(key_pem.encode(), password=None)
    except TypeError:
        raise TlsError(f"{where}: the private key is encrypted; HAProxy starts unattended, give it unencrypted "
                       "(openssl pkey -in KEY -out KEY.plain)") from None
    except (ValueError, TypeError):
        raise TlsError(f"{where}: the key file holds no PEM private key (-----BEGIN PRIVATE KEY-----)") from None
    server = certs[0]
    public = serialization.PublicFormat.SubjectPublicKeyInfo
    if server.public_key().public_bytes(serialization.Encoding.DER, public) != \
            key.public_key().public_bytes(serialization.Encoding.DER, public):
        raise TlsError(f"{where}: the private key does not belong to the first certificate of the certificate file "
                       "(the server's certificate must come first, its chain after it)")
    now = _now()
    if not server.not_valid_before_utc <= now <= server.not_valid_after_utc:
        raise TlsError(f"{where}: the certificate is valid from {server.not_valid_before_utc:%Y-%m-%d} to "
                       f"{server.not_valid_after_utc:%Y-%m-%d}, not now")


def given(certificate_file: Path, key_file: Path, where: str) -> ServerTls:
    """The operator's certificate and key, read and checked."""
    texts = []
    for label, path in (("certificate_file", certificate_file), ("key_file", key_file)):
        try:
            texts.append(path.read_text(encoding="ascii"))
        except OSError as exc:
            raise TlsError(f"{where}.{label}: cannot read {path}: {exc.strerror or exc}") from None
        except UnicodeDecodeError:
            raise TlsError(f"{where}.{label}: {path} is not a PEM file (PEM is ASCII text)") from None
    check_pair(texts[0], texts[1], where)
    return ServerTls(texts[0], texts[1], None)


def generated(directory: Path, environment: str, hosts: list[str]) -> ServerTls:
    """The environment's own CA (made once) and a server certificate for `hosts` (issued again
    when `hosts` change or it nears its end), kept in `directory` (0700; keys 0600)."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(directory, 0o700)
    ca_file, ca_key_file = directory / "ca.pem", directory / "ca-key.pem"
    cert_file, key_file = directory / "api.pem", directory / "api-key.pem"
    if not (ca_file.exists() and ca_key_file.exists()):
        ca_cert, ca_key = make_ca(f"congress-tf {environment} CA")
        write_file(ca_key_file, ca_key, 0o600)
        write_file(ca_file, ca_cert, 0o644)
        cert_file.unlink(missing_ok=True)
    ca_cert, ca_key = ca_file.read_text(), ca_key_file.read_text()
    current = cert_file.read_text() if cert_file.exists() and key_file.exists() else None
    if current is None or sorted(hosts_of(current)) != sorted(hosts) or _renew(current):
        cert, key = issue(ca_cert, ca_key, hosts)
        write_file(key_file, key, 0o600)
        write_file(cert_file, cert, 0o644)
    return ServerTls(cert_file.read_text(), key_file.read_text(), ca_file)


def _renew(cert_pem: str) -> bool:
    cert = x509.load_pem_x509_certificate(cert_pem.encode())
    return cert.not_valid_after_utc - _now() < datetime.timedelta(days=RENEW_BEFORE_DAYS)


def api_hosts(cidr: str, names: list[str]) -> list[str]:
    """What the generated certificate is for: the VIP and both HAProxy VMs' own addresses (hosts
    .10, .30 and .31 of the cluster subnet, terraform/main.tf's address plan), then `names`."""
    network = ipaddress.IPv4Network(cidr)
    return [str(network[10]), str(network[30]), str(network[31]), *names]
