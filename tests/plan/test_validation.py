"""Bad inputs fail `terraform plan` with the module's own validation message, one rule per test."""

import pytest
from paths import example_tfvars

MINIMAL = example_tfvars("minimal")
SECRETS = {
    "db_password": "a-good-db-password-1",
    "rabbit_password": "a-good-rabbit-password-1",
    "cluster_auth_key": "a-good-cluster-key-1",
    "vrrp_password": "a-good-vrrp-password-1",
    "encryption_key": "YS1nb29kLWZlcm5ldC1rZXktZm9yLXRoZS10ZXN0cyE=",
}


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
    ("admin_cidrs", ["192.0.2.1"], "admin_cidrs must hold only IPv4 CIDRs"),
    ("allowed_client_cidrs", ["everyone"], "allowed_client_cidrs must hold only IPv4 CIDRs"),
    ("name_prefix", "Congress_1", "name_prefix must start with a lowercase letter"),
    ("congress_install", {"source": "apt"}, "congress_install.source must be index, wheelhouse or preinstalled"),
    ("datasource_sync_period", 0, "datasource_sync_period must be from 1 to 3600 seconds"),
    ("health_check", {"interval_s": 1, "timeout_s": 5}, "health_check needs interval_s >= 1"),
])
def test_other_variables_are_validated(plan_error, name, value, message):
    assert message in plan_error(**{name: value})


# --- issue 12: the same rules as env.yaml, a few plans with many bad variables each -----------------------------
# Terraform reports every failed validation of a plan, so each round sets many variables wrong at once
# (at most one wrong value per variable) and expects every message.

PRIVATE_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmU\n-----END OPENSSH PRIVATE KEY-----"
FENCING = {"auth_url": "https://keystone.example.org:5000/v3", "username": "fence", "project_name": "ops"}
ROUNDS = {
    "copy-paste": ({
        "cloud": "my cloud",
        "image_id": "",
        "flavor_ids": {"default": "00000000-0000-4000-8000-0000000f1a01\n"},
        "key_pair": "",
        "ssh_authorized_keys": [PRIVATE_KEY],
        "network": {"cidr": "10.20.0.1/24"},
        "admin_cidrs": ["198.19.0.0/24", "198.19.0.0/24"],
        "allowed_client_cidrs": ["2001:db8::/32"],
        "api_port": 22,
        "floating_ip_pool": "",
        "health_check": {"rise": 1000},
        "keystone": {"auth_url": "https://admin:K3ystone-S3cret@keystone.example.org:5000/v3"},
        "congress_install": {"url": "ftp://mirror.example.org/simple"},
        "datasource_monitor": {"interval_s": 1.5},
        "fencing": {**FENCING, "username": "fence\" op monitor"},
        "backing": {"mode": "external", "database": {"host": "db.example.org:3306"},
                    "rabbitmq": {"hosts": ["mq.example.org"], "port": 70000}},
    }, [
        "cloud must be a clouds.yaml entry name",
        "image_id must be a Glance image ID",
        "flavor_ids must be Nova flavor IDs",
        "key_pair must be a Nova key pair name",
        "ssh_authorized_keys must hold OpenSSH public keys",
        "network.cidr must be an IPv4 CIDR such as 10.20.0.0/24, host bits zero",
        "admin_cidrs must name each CIDR once",
        "allowed_client_cidrs must hold only IPv4 CIDRs",
        "api_port must be 1024 or more",
        "floating_ip_pool must be a network name on one line",
        "fall and rise up to 10",
        "keystone.auth_url and www_authenticate_uri must not hold credentials",
        "congress_install.url must be one http:// or https:// URL",
        "datasource_monitor.interval_s and timeout_s must be whole seconds",
        "fencing.region_name, username, project_name",
        "backing.database.port and backing.rabbitmq.port must be whole numbers from 1 to 65535",
        "backing.database.host and backing.rabbitmq.hosts must be DNS names or IPv4 addresses",
    ]),
    "one-line-values": ({
        "network": {"cidr": "0.0.0.0/0"},
        "admin_cidrs": ["198.19.0.7/24"],
        "allowed_client_cidrs": ["198.19.0.0/24", "198.19.0.0/24"],
        "api_port": 3306,
        "health_check": {"fall": 11},
        "keystone": {"auth_url": "https://keystone.example.org:5000/v3\n[DEFAULT]\ndebug = true"},
        "congress_install": {"url": "https://a.example.org/simple https://b.example.org/simple"},
        "fencing": {**FENCING, "auth_url": "https://fence:Fence-Pass-123@keystone.example.org:5000/v3"},
        "key_pair": "ops\n",
        "ssh_authorized_keys": ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBhZ7 a@b\nssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFq9 c@d"],
    }, [
        "network.cidr must be a /24 or larger, and at most a /8",
        "network.cidr must be a unicast range",
        "admin_cidrs must hold only IPv4 CIDRs such as 192.0.2.0/24, host bits zero",
        "allowed_client_cidrs must name each CIDR once",
        "api_port must be 1024 or more",
        "fall and rise up to 10",
        "keystone.auth_url and www_authenticate_uri must each be one http:// or https:// URL",
        "congress_install.url must be one http:// or https:// URL",
        "fencing.auth_url must not hold credentials",
        "key_pair must be a Nova key pair name",
        "ssh_authorized_keys must hold OpenSSH public keys",
    ]),
    "networks": ({
        "network": {"cidr": "127.0.0.0/24", "existing_network_id": "net-1", "existing_subnet_id": "subnet-1",
                    "external_network_id": "ext-1", "dns_nameservers": ["0.0.0.0", "dns.example.org"]},
        "keystone": {"region_name": "RegionOne\n[oslo_policy]"},
        "congress_install": {"url": "https://deploy:Pa55-w0rd-xyz@pypi.example.org/simple"},
        "fencing": {**FENCING, "auth_url": "https://keystone.example.org:5000/v3\""},
        "backing": {"mode": "external", "database": {"host": "localhost", "port": 0},
                    "rabbitmq": {"hosts": ["mq-1.example.org", "mq-2.example.org\n"]}},
    }, [
        "network.cidr must be a unicast range",
        "with existing_network_id there is none",
        "network.dns_nameservers must hold IPv4 addresses of reachable name servers",
        "keystone.region_name, project_name",
        "congress_install.url must not hold credentials",
        "fencing.auth_url must be one http:// or https:// URL",
        "backing.database.port and backing.rabbitmq.port must be whole numbers from 1 to 65535",
        "backing.database.host and backing.rabbitmq.hosts must be DNS names or IPv4 addresses",
    ]),
    "more-networks": ({
        "network": {"cidr": "224.1.0.0/16", "dns_nameservers": ["198.19.0.53", "198.19.0.53"]},
        "allowed_client_cidrs": ["198.19.0.0/33"],
        "admin_cidrs": ["198.19.0.0"],
    }, [
        "network.cidr must be a unicast range",
        "network.dns_nameservers holds at most 5 servers, each once",
        "allowed_client_cidrs must hold only IPv4 CIDRs",
        "admin_cidrs must hold only IPv4 CIDRs",
    ]),
    "reserved-ranges": ({"network": {"cidr": "169.254.0.0/16", "dns_nameservers": ["127.0.0.53"]}},
                        ["network.cidr must be a unicast range",
                         "network.dns_nameservers must hold IPv4 addresses of reachable name servers"]),
    "class-e": ({"network": {"cidr": "240.0.0.0/24"}}, ["network.cidr must be a unicast range"]),
}


@pytest.mark.parametrize("round_name", ROUNDS)
def test_terraform_refuses_what_env_yaml_refuses(plan_error, round_name):
    overrides, expected = ROUNDS[round_name]
    message = plan_error(secrets=SECRETS, **overrides)
    missing = [m for m in expected if m not in message]
    assert not missing, f"not refused: {missing}\n{message[:3000]}"


def test_good_values_of_the_new_rules_plan(plan):
    """The rules refuse only what cannot work: these edge values are fine."""
    result = plan(var_file=MINIMAL, secrets=SECRETS, key_pair="ops key", api_port=1024,
                  network={"cidr": "10.0.0.0/8", "external_network_id": "00000000-0000-4000-8000-0000000e7e01",
                           "dns_nameservers": ["192.0.2.53", "192.0.2.54"]},
                  allowed_client_cidrs=["0.0.0.0/0"], admin_cidrs=["192.0.2.7/32"], floating_ip_pool="public net",
                  health_check={"fall": 10, "rise": 10},
                  ssh_authorized_keys=["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBhZ7Lm ops@example.org"],
                  fencing=FENCING)
    assert result.outputs["api_url"] == "http://10.0.0.10:1024/"


# Rules across variables (output preconditions in outputs.tf), the same env.yaml applies.
@pytest.mark.parametrize("overrides, message", [
    ({"network": {"cidr": "10.20.0.0/24"}, "floating_ip_pool": "public"},
     "floating_ip_pool needs a router from the cluster subnet to that pool"),
    ({"backing": {"mode": "external", "database": {"host": "10.20.0.11"}, "rabbitmq": {"hosts": ["198.19.5.5"]}}},
     "must be the external servers' addresses, not one of the cluster subnet's own"),
    ({"backing": {"mode": "external", "database": {"host": "db.example.org"}, "rabbitmq": {"hosts": ["10.20.0.255"]}}},
     "must be the external servers' addresses, not one of the cluster subnet's own"),
    ({"backing": {"mode": "external", "database": {"host": "10.20.0.1"}, "rabbitmq": {"hosts": ["mq.example.org"]}}},
     "must be the external servers' addresses, not one of the cluster subnet's own"),
], ids=["fip-pool-without-router", "db-on-a-node-address", "mq-on-broadcast", "db-on-gateway"])
def test_rules_across_variables_refuse_what_env_yaml_refuses(plan_error, overrides, message):
    assert message in plan_error(secrets=SECRETS, **overrides)


def test_external_servers_elsewhere_in_the_subnet_plan(plan):
    backing = {"mode": "external", "database": {"host": "10.20.0.5"}, "rabbitmq": {"hosts": ["10.20.0.6", "mq.example.org"]}}
    assert plan(var_file=MINIMAL, secrets=SECRETS, backing=backing, floating_ip_pool="public").outputs["api_vip"] == "10.20.0.10"
