"""status's catalog rows on the cases a real Keystone does not easily produce (tests/cloud/test_catalog_status.py
has the real catalog): no catalog in the token, an interface listed twice, another region, a floating IP."""

from __future__ import annotations

from types import SimpleNamespace

from congress_tf.cloud import CatalogEndpoint
from congress_tf.status import catalog_checks
from fakes import FakeCloud

URL = "https://10.20.0.10:1789/"
REGISTERED = {"region": "RegionOne", "endpoints": {"public": URL, "internal": URL, "admin": URL}}
ENV = SimpleNamespace(catalog=SimpleNamespace(region=None), keystone=SimpleNamespace(region_name="RegionOne"))


def rows(catalog, outputs):
    return {c.target: (c.ok, c.detail) for c in catalog_checks(ENV, outputs, FakeCloud(catalog=catalog))}


def test_no_catalog_in_the_token_gives_no_row():
    assert rows(None, {"api_url": URL, "catalog": REGISTERED}) == {}


def test_an_interface_listed_twice_fails_even_when_one_is_right():
    found = [CatalogEndpoint(i, "RegionOne", URL) for i in ("public", "internal", "admin")]
    found.append(CatalogEndpoint("public", "RegionOne", "https://10.99.0.10:1789/"))
    result = rows(found, {"api_url": URL, "catalog": REGISTERED})
    assert result["policy internal (RegionOne)"] == (True, f"{URL} as registered")
    ok, detail = result["policy public (RegionOne)"]
    assert not ok and "10.99.0.10" in detail


def test_endpoints_of_other_regions_are_not_ours_to_judge():
    found = [CatalogEndpoint("public", "RegionTwo", "https://10.99.0.10:1789/")]
    assert rows(found, {"api_url": URL, "api_vip": "10.20.0.10", "catalog": None}) == {}


def test_unregistered_endpoint_on_the_floating_ip_points_at_this_api():
    outputs = {"api_url": URL, "api_vip": "10.20.0.10", "api_floating_ip": "203.0.113.7", "catalog": None}
    found = [CatalogEndpoint("public", "RegionOne", "https://203.0.113.7:1789"),
             CatalogEndpoint("internal", "RegionOne", "http://10.20.0.10:1789/")]  # wrong scheme
    result = rows(found, outputs)
    assert result["policy public (RegionOne)"][0]
    assert not result["policy internal (RegionOne)"][0]
