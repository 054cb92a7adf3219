"""Bad inputs fail `terraform plan` with the module's own validation message, one rule per test."""

import pytest
import tftest
from paths import example_tfvars

MINIMAL = example_tfvars("minimal")
SECRETS = {
    "db_password": "a-good-db-password-1",
    "rabbit_password": "a-good-rabbit-password-1",
    "cluster_auth_key": "a-good-cluster-key-1",
    "vrrp_password": "a-good-vrrp-password-1",
}


@pytest.fixture(scope="module")
def plan_error(plan):
    def run(**overrides) -> str:
        with pytest.raises(tftest.TerraformTestError) as failure:
            plan(var_file=MINIMAL, **overrides)
        # Terraform wraps long messages: compare with whitespace collapsed.
        return " ".join(" ".join(map(str, failure.value.args)).split())

    return run


def test_the_baseline_plans(plan):
    assert plan(var_file=MINIMAL, secrets=SECRETS).outputs["api_vip"] == "10.20.0.10"


@pytest.mark.parametrize("count", [1, 0, 65, 2.5])
def test_policy_engine_count_must_be_2_to_64(plan_error, count):
    assert "policy_engine_count must be a whole number from 2 to 64" in plan_error(policy_engine_count=count)


@pytest.mark.parametrize("cidr", ["10.20.0.0", "10.20.0.0/33", "not-a-cidr", "fd00::/64"])
def test_network_cidr_must_be_ipv4(plan_error, cidr):
    assert "network.cidr must be an IPv4 CIDR" in plan_error(network={"cidr": cidr})


def test_network_cidr_must_hold_the_address_plan(plan_error):
    assert "network.cidr must be a /24 or larger" in plan_error(network={"cidr": "10.20.0.0/25"})


def test_existing_network_needs_its_subnet(plan_error):
    message = plan_error(network={"cidr": "10.20.0.0/24", "existing_network_id": "net"})
    assert "existing_network_id and network.existing_subnet_id go together" in message


@pytest.mark.parametrize("provider", ["f5", "OCTAVIA", ""])
def test_lb_provider_must_be_known(plan_error, provider):
    assert "lb_provider must be octavia or haproxy" in plan_error(lb_provider=provider)


@pytest.mark.parametrize("port", [0, 65536, -1])
def test_api_port_must_be_in_range(plan_error, port):
    assert "api_port must be a whole number from 1 to 65535" in plan_error(api_port=port)


@pytest.mark.parametrize("secret", ["db_password", "rabbit_password", "cluster_auth_key", "vrrp_password"])
@pytest.mark.parametrize("value", ["", "fifteen-chars-x"])
def test_required_secrets_must_be_16_characters(plan_error, secret, value):
    message = plan_error(secrets={**SECRETS, secret: value})
    assert "must each be at least 16 characters" in message
    assert SECRETS[secret] not in message


def test_secrets_must_be_url_safe(plan_error):
    assert "secrets may hold only" in plan_error(secrets={**SECRETS, "db_password": "has@and/slash-chars"})


def test_keystone_auth_needs_its_password(plan_error):
    message = plan_error(auth_strategy="keystone", keystone={"auth_url": "https://keystone.invalid:5000/v3"})
    assert "auth_strategy keystone needs keystone.auth_url and secrets.keystone_password" in message


@pytest.mark.parametrize("name,value,message", [
    ("server_group_policy", "affinity", "server_group_policy must be anti-affinity or soft-anti-affinity"),
    ("lb_persistence", "APP_COOKIE", "lb_persistence must be SOURCE_IP or HTTP_COOKIE"),
    ("auth_strategy", "basic", "auth_strategy must be keystone or noauth"),
    ("admin_cidrs", ["192.0.2.1"], "admin_cidrs must hold only CIDRs"),
    ("allowed_client_cidrs", ["everyone"], "allowed_client_cidrs must hold only CIDRs"),
    ("name_prefix", "Congress_1", "name_prefix must start with a lowercase letter"),
    ("congress_install", {"source": "apt"}, "congress_install.source must be index, wheelhouse or preinstalled"),
    ("datasource_sync_period", 0, "datasource_sync_period must be from 1 to 3600 seconds"),
    ("health_check", {"interval_s": 1, "timeout_s": 5}, "health_check needs interval_s >= 1"),
])
def test_other_variables_are_validated(plan_error, name, value, message):
    assert message in plan_error(**{name: value})
