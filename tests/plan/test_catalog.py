"""Keystone catalog registration (module catalog, opt-in) and TLS on the Octavia VIP: real plans of
the root module. Nothing asserted here is a value the real provider computes at plan time."""

from __future__ import annotations

import pytest
from paths import example_tfvars

MINIMAL = example_tfvars("minimal")          # Octavia, no floating IP, noauth
NO_OCTAVIA = example_tfvars("no-octavia")    # HAProxy pair
CONTAINER = "https://barbican.example.org:9311/v1/containers/3b0c8b1e-8f8e-4d3c-9a51-6c1f2f6d7e10"
SERVICE = "openstack_identity_service_v3"
ENDPOINT = "openstack_identity_endpoint_v3"


def endpoints(plan) -> dict[str, dict]:
    return {r["values"]["interface"]: r["values"] for r in plan.of_type(ENDPOINT)}


def listeners(plan) -> dict[int, dict]:
    return {r["values"]["protocol_port"]: r["values"] for r in plan.of_type("openstack_lb_listener_v2")}


@pytest.fixture(scope="module")
def registered(plan):
    return plan(var_file=MINIMAL, catalog={"enabled": True, "region": "RegionTwo"})


@pytest.fixture(scope="module")
def tls(plan):
    return plan(var_file=MINIMAL, octavia_tls={"container_ref": CONTAINER},
                catalog={"enabled": True})


def test_catalog_is_off_by_default(example_plans):
    for name, plan in example_plans.items():
        if not plan.raw["variables"]["catalog"]["value"]["enabled"]:
            assert plan.of_type(SERVICE) == [] and plan.of_type(ENDPOINT) == [], name
            assert plan.outputs["catalog"] is None, name


def test_catalog_registers_one_policy_service_and_three_endpoints_on_the_vip(registered):
    [service] = registered.values(SERVICE)
    assert (service["type"], service["name"], service["enabled"]) == ("policy", "congress", True)
    assert service["description"]
    found = endpoints(registered)
    assert sorted(found) == ["admin", "internal", "public"]
    url = "http://10.20.0.10:1789/"
    assert registered.outputs["api_url"] == url
    for interface, values in found.items():
        assert (values["url"], values["endpoint_region"]) == (url, "RegionTwo"), interface
    assert registered.outputs["catalog"] == {"region": "RegionTwo", "endpoints": dict.fromkeys(found, url)}
    # Each endpoint belongs to the service created beside it, not to one looked up elsewhere.
    refs = {r["address"]: r for r in registered.config_resources() if r["address"].startswith("module.catalog")}
    ref = refs[f"module.catalog.{ENDPOINT}.congress"]["expressions"]["service_id"]["references"]
    assert f"{SERVICE}.congress.id" in ref


def test_catalog_region_defaults_to_the_keystone_region(plan):
    found = endpoints(plan(var_file=MINIMAL, catalog={"enabled": True}, keystone={"region_name": "north-1"}))
    assert {values["endpoint_region"] for values in found.values()} == {"north-1"}


def test_catalog_follows_the_haproxy_vip(plan):
    registered = plan(var_file=NO_OCTAVIA, catalog={"enabled": True})
    vip = registered.outputs["api_vip"]
    assert {v["url"] for v in endpoints(registered).values()} == {f"http://{vip}:1789/"}


def test_public_endpoint_is_on_the_floating_ip(example_plans, plan):
    """With a floating IP the public endpoint is on it (known after apply), internal and admin stay on the VIP."""
    production = example_plans["production"]
    assert production.raw["variables"]["floating_ip_pool"]["value"]
    found = endpoints(production)
    vip_url = f"{production.outputs['api_url']}"
    assert found["internal"]["url"] == found["admin"]["url"] == vip_url
    assert "url" not in found["public"]  # unknown until Neutron hands out the floating IP
    public = next(c for a, c in production.changes.items() if a.startswith("module.catalog") and
                  c["change"]["after"]["interface"] == "public")
    assert public["change"]["after_unknown"]["url"] is True


def test_tls_listener_terminates_https_on_the_api_port(tls):
    found = listeners(tls)
    api = found[1789]
    assert api["protocol"] == "TERMINATED_HTTPS"
    assert api["default_tls_container_ref"] == CONTAINER
    assert api["insert_headers"]["X-Forwarded-Proto"] == "true"
    # The pool and the monitor keep speaking plain HTTP to the members: Octavia does TLS.
    [pool] = tls.values("openstack_lb_pool_v2")
    [monitor] = tls.values("openstack_lb_monitor_v2")
    assert pool["protocol"] == "HTTP" and pool["persistence"][0]["type"] == "SOURCE_IP"
    assert (monitor["type"], monitor["url_path"], monitor["expected_codes"]) == ("HTTP", "/", "200")
    assert {m["protocol_port"] for m in tls.values("openstack_lb_member_v2")} == {1789}
    assert tls.outputs["api_url"] == "https://10.20.0.10:1789/"
    assert {v["url"] for v in endpoints(tls).values()} == {"https://10.20.0.10:1789/"}


def test_plain_http_is_redirected_to_https(tls):
    redirect = listeners(tls)[80]
    assert redirect["protocol"] == "HTTP"
    assert redirect["allowed_cidrs"] == listeners(tls)[1789]["allowed_cidrs"]
    [policy] = tls.values("openstack_lb_l7policy_v2")
    assert (policy["action"], policy["redirect_prefix"], policy["redirect_http_code"]) == \
        ("REDIRECT_PREFIX", "https://10.20.0.10:1789", 308)
    [rule] = tls.values("openstack_lb_l7rule_v2")
    assert (rule["type"], rule["compare_type"], rule["value"]) == ("PATH", "STARTS_WITH", "/")
    refs = {r["address"]: r["expressions"] for r in tls.config_resources()}
    assert "openstack_lb_listener_v2.redirect[0].id" in \
        refs["module.lb_octavia.openstack_lb_l7policy_v2.https"]["listener_id"]["references"]


def test_redirect_port_is_configurable(plan):
    found = listeners(plan(var_file=MINIMAL, octavia_tls={"container_ref": CONTAINER, "redirect_port": 8080}))
    assert sorted(found) == [1789, 8080]


def test_without_tls_the_listener_stays_plain_http(example_plans):
    minimal = example_plans["minimal"]
    assert {port: v["protocol"] for port, v in listeners(minimal).items()} == {1789: "HTTP"}
    assert listeners(minimal)[1789]["default_tls_container_ref"] is None
    assert minimal.of_type("openstack_lb_l7policy_v2") == []
    assert minimal.outputs["api_url"].startswith("http://")


@pytest.mark.parametrize("region", ["", "Region One", "north/1", "x" * 65])
def test_catalog_region_is_validated(plan_error, region):
    assert "catalog.region must be a Keystone region ID" in plan_error(catalog={"enabled": True, "region": region})


@pytest.mark.parametrize("ref", [
    "", "3b0c8b1e-8f8e-4d3c-9a51-6c1f2f6d7e10", "ftp://barbican.example.org/v1/containers/3b0c8b1e-8f8e-4d3c-9a51-6c1f2f6d7e10",
    "https://barbican.example.org:9311/v1/orders/3b0c8b1e-8f8e-4d3c-9a51-6c1f2f6d7e10",
    CONTAINER + "\n",
])
def test_octavia_tls_container_ref_is_validated(plan_error, ref):
    assert "octavia_tls.container_ref must be a Barbican reference" in plan_error(octavia_tls={"container_ref": ref})


@pytest.mark.parametrize("port", [0, 65536, 80.5])
def test_octavia_tls_redirect_port_is_validated(plan_error, port):
    message = plan_error(octavia_tls={"container_ref": CONTAINER, "redirect_port": port})
    assert "octavia_tls.redirect_port must be a whole number from 1 to 65535" in message


def test_redirect_port_is_not_the_api_port(plan_error):
    message = plan_error(octavia_tls={"container_ref": CONTAINER, "redirect_port": 1789})
    assert "octavia_tls.redirect_port must differ from api_port" in message


def test_octavia_tls_is_refused_with_haproxy(plan_error):
    message = plan_error(var_file=NO_OCTAVIA, octavia_tls={"container_ref": CONTAINER})
    assert "octavia_tls is for lb_provider octavia" in message
