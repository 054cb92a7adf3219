"""haproxy_tls: HTTPS on the VIP in HAProxy mode, as planned. Rendered files come from the root
module's sensitive `cloud_init` output only (the real provider plans user_data as a hash)."""

from __future__ import annotations

import pytest
import tftest
import yaml

from congress_tf import tls
from paths import example_tfvars

NO_OCTAVIA = example_tfvars("no-octavia")
MINIMAL = example_tfvars("minimal")
PEM_FILE = "/etc/haproxy/congress-api.pem"


@pytest.fixture(scope="module")
def server_tls() -> dict[str, str]:
    ca, ca_key = tls.make_ca("plan-test CA")
    cert, key = tls.issue(ca, ca_key, tls.api_hosts("10.40.0.0/24", []))
    return {"certificate": cert, "private_key": key}


@pytest.fixture(scope="module")
def tls_plan(plan, server_tls):
    return plan(var_file=NO_OCTAVIA, haproxy_tls=server_tls)


def _error(plan, var_file, **overrides) -> str:
    with pytest.raises(tftest.TerraformTestError) as failure:
        plan(var_file=var_file, **overrides)
    return " ".join(" ".join(map(str, failure.value.args)).split())


def test_api_url_says_https_and_only_the_haproxy_vms_get_the_certificate(tls_plan, example_plans, server_tls):
    assert tls_plan.outputs["api_url"] == "https://10.40.0.10:1789/"
    assert example_plans["no-octavia"].outputs["api_url"] == "http://10.40.0.10:1789/"
    cloud_init = tls_plan.outputs["cloud_init"]
    haproxy = set(tls_plan.outputs["nodes"]["haproxy"])
    for name, text in cloud_init.items():
        files = {f["path"]: f for f in yaml.safe_load(text).get("write_files", [])}
        assert (PEM_FILE in files) == (name in haproxy), name
        assert (server_tls["private_key"].splitlines()[1] in text) == (name in haproxy), name


def test_the_generated_certificate_names_the_planned_vip_and_haproxy_vms(tls_plan, server_tls):
    """congress_tf.tls.api_hosts follows main.tf's address plan."""
    planned = [tls_plan.outputs["api_vip"], *sorted(tls_plan.outputs["nodes"]["haproxy"].values())]
    assert tls.hosts_of(server_tls["certificate"]) == planned


def test_the_certificate_and_key_are_sensitive_in_the_plan(tls_plan, server_tls):
    assert tls_plan.raw["configuration"]["root_module"]["variables"]["haproxy_tls"]["sensitive"] is True
    outputs = tls_plan.raw["planned_values"]["outputs"]
    assert outputs["cloud_init"]["sensitive"] is True
    public = repr({k: v["value"] for k, v in outputs.items() if not v["sensitive"]})
    assert "10.40.0.10" in public
    for pem in server_tls.values():
        assert pem.splitlines()[1] not in public


def test_haproxy_tls_with_octavia_is_refused(plan, server_tls):
    assert "haproxy_tls is for lb_provider haproxy" in _error(plan, MINIMAL, haproxy_tls=server_tls)


@pytest.mark.parametrize("bad", [{"certificate": "not a pem", "private_key": "x"},
                                 {"certificate": "-----BEGIN CERTIFICATE-----\nx", "private_key": "secret-stuff"}])
def test_haproxy_tls_must_be_pem(plan, bad):
    assert "haproxy_tls.certificate must be PEM certificates" in _error(plan, NO_OCTAVIA, haproxy_tls=bad)
