"""haproxy_tls through the CLI: the generated CA and certificate (made once, private, for the VIP
and both HAProxy VMs), the operator's own files (checked), and the PEM reaching only the files
meant to hold secrets. Real Terraform against the offline provider double."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import yaml

from congress_tf import tls
from congress_tf.state import StateDir
from test_commands import example, invoke, offline  # noqa: F401  (offline is a fixture)


def tls_example(tmp_path: Path, **haproxy_tls) -> Path:
    env_file = example(tmp_path, "no-octavia")
    data = yaml.safe_load(env_file.read_text())
    env_file.write_text(yaml.safe_dump({**data, "haproxy_tls": haproxy_tls}))
    return env_file


def test_render_generates_a_ca_once_and_a_certificate_for_the_vip_and_both_haproxy_vms(tmp_path, offline):
    env_file = tls_example(tmp_path, names=["congress.example.org"])
    out = tmp_path / "out"
    first = invoke(["render", env_file, out])
    assert first.exit_code == 0, first.output
    sd = StateDir(env_file, "no-octavia")
    ca_file = sd.tls_dir / "ca.pem"
    assert f"clients trust the generated CA {ca_file}" in first.output
    assert stat.S_IMODE(sd.tls_dir.stat().st_mode) == 0o700
    assert {p.name: stat.S_IMODE(p.stat().st_mode) for p in sd.tls_dir.iterdir()} == \
        {"ca.pem": 0o644, "ca-key.pem": 0o600, "api.pem": 0o644, "api-key.pem": 0o600}
    cert, key = (sd.tls_dir / "api.pem").read_text(), (sd.tls_dir / "api-key.pem").read_text()
    assert sorted(tls.hosts_of(cert)) == sorted(["10.40.0.10", "10.40.0.30", "10.40.0.31", "congress.example.org"])
    # Only the files that exist to hold secrets carry the key: the LB VMs' cloud-init, the var file.
    lb = yaml.safe_load((out / "cloud-init" / "congress-lb-0.yaml").read_text())
    pem = next(f["content"] for f in lb["write_files"] if f["path"] == "/etc/haproxy/congress-api.pem")
    assert pem == cert + key
    assert json.loads((sd.root / "secrets.tfvars.json").read_text())["haproxy_tls"] == \
        {"certificate": cert, "private_key": key}
    for path in [out / "tfvars.json", *(out / "cloud-init").glob("congress-pe-*.yaml"), sd.tfvars]:
        assert key.splitlines()[1] not in path.read_text(), path
    assert key.splitlines()[1] not in first.output

    # Again: the same CA and certificate. Another name: a new certificate from the same CA.
    again = invoke(["render", env_file, out])
    assert again.exit_code == 0, again.output
    assert (sd.tls_dir / "api.pem").read_text() == cert
    ca = ca_file.read_text()
    env_file.write_text(env_file.read_text().replace("congress.example.org", "api.example.org"))
    renamed = invoke(["render", env_file, out])
    assert renamed.exit_code == 0, renamed.output
    assert ca_file.read_text() == ca
    assert "api.example.org" in tls.hosts_of((sd.tls_dir / "api.pem").read_text())


def test_the_operators_certificate_is_used_as_given_and_a_wrong_key_refused(tmp_path, offline):
    ca, ca_key = tls.make_ca("operator CA")
    cert, key = tls.issue(ca, ca_key, ["congress.example.org"])
    _, other_key = tls.issue(ca, ca_key, ["congress.example.org"])
    env_file = tls_example(tmp_path, certificate_file="certs/api.pem", key_file="certs/api.key")
    certs = env_file.parent / "certs"
    certs.mkdir()
    (certs / "api.pem").write_text(cert + ca)
    (certs / "api.key").write_text(other_key)
    refused = invoke(["render", env_file, tmp_path / "out"])
    assert refused.exit_code == 2, refused.output
    assert "the private key does not belong to the first certificate" in refused.output
    assert not (env_file.parent / ".congress-tf").exists()

    (certs / "api.key").write_text(key)
    result = invoke(["render", env_file, tmp_path / "out"])
    assert result.exit_code == 0, result.output
    assert "generated CA" not in result.output
    assert not StateDir(env_file, "no-octavia").tls_dir.exists()
    lb = yaml.safe_load((tmp_path / "out" / "cloud-init" / "congress-lb-1.yaml").read_text())
    pem = next(f["content"] for f in lb["write_files"] if f["path"] == "/etc/haproxy/congress-api.pem")
    assert pem == cert + ca + key


def test_check_pair_refuses_an_encrypted_key_and_an_expired_certificate():
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    ca, ca_key = tls.make_ca("t")
    cert, key = tls.issue(ca, ca_key, ["192.0.2.10"])
    private = serialization.load_pem_private_key(key.encode(), None)
    encrypted = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.BestAvailableEncryption(b"pass")).decode()
    for bad_key, message in ((encrypted, "the private key is encrypted"), ("junk", "holds no PEM private key")):
        try:
            tls.check_pair(cert, bad_key, "haproxy_tls")
        except tls.TlsError as exc:
            assert message in str(exc)
        else:
            raise AssertionError(f"accepted: {message}")
    old_key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, "old")])
    past = datetime.datetime(2020, 1, 1, tzinfo=datetime.timezone.utc)
    old = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(old_key.public_key())
           .serial_number(1).not_valid_before(past).not_valid_after(past + datetime.timedelta(days=30))
           .sign(old_key, hashes.SHA256())).public_bytes(serialization.Encoding.PEM).decode()
    old_pem = old_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()).decode()
    try:
        tls.check_pair(old, old_pem, "haproxy_tls")
    except tls.TlsError as exc:
        assert "valid from 2020-01-01 to 2020-01-31, not now" in str(exc)
    else:
        raise AssertionError("an expired certificate was accepted")


def test_status_probe_trusts_the_generated_ca_through_the_https_vip(tmp_path):
    """NetworkProbe against a real TLS server whose certificate the generated CA signed."""
    import http.server
    import ssl
    import threading

    from congress_tf.status import NetworkProbe

    server_tls = tls.generated(tmp_path / "tls", "probe", ["127.0.0.1"])
    (tmp_path / "server.pem").write_text(server_tls.certificate + server_tls.private_key)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(tmp_path / "server.pem")
    server = http.server.HTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"https://127.0.0.1:{server.server_port}/"
    try:
        ok, detail = NetworkProbe(ca_file=str(server_tls.ca_file)).http(url, 5)
        assert ok, detail
        ok, detail = NetworkProbe().http(url, 5)
        assert not ok and "CERTIFICATE_VERIFY_FAILED" in detail
    finally:
        server.shutdown()
