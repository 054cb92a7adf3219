"""Plan-time behaviour of the real provider (terraform-provider-openstack 3.4.0, SDKv2)
that the double reproduces.  Schema shape comes from schema.json; these are the facts
a schema dump does not carry."""

# Enumerations the real provider validates at plan time (ValidateFunc StringInSlice and
# friends).  Keys are attribute paths; "persistence.type" is inside the persistence block.
ENUMS = {
    "openstack_lb_pool_v2": {
        "lb_method": ("ROUND_ROBIN", "LEAST_CONNECTIONS", "SOURCE_IP", "SOURCE_IP_PORT"),
        "protocol": ("TCP", "UDP", "HTTP", "HTTPS", "PROXY", "PROXYV2", "SCTP"),
        "persistence.type": ("SOURCE_IP", "HTTP_COOKIE", "APP_COOKIE"),
    },
    "openstack_lb_listener_v2": {
        "protocol": ("TCP", "UDP", "HTTP", "HTTPS", "TERMINATED_HTTPS", "SCTP", "PROMETHEUS"),
    },
    "openstack_lb_monitor_v2": {
        "type": ("TCP", "UDP-CONNECT", "HTTP", "HTTPS", "TLS-HELLO", "PING", "SCTP"),
    },
    # StringInSlice with ignoreCase: lower case is accepted too (see IGNORE_CASE).
    "openstack_lb_l7policy_v2": {
        "action": ("REDIRECT_TO_POOL", "REDIRECT_TO_URL", "REJECT", "REDIRECT_PREFIX"),
    },
    "openstack_identity_endpoint_v3": {
        "interface": ("admin", "internal", "public"),
    },
    "openstack_networking_secgroup_rule_v2": {
        "direction": ("ingress", "egress"),
        "ethertype": ("IPv4", "IPv6"),
        # The real provider also accepts any integer string; see NUMERIC_OK.
        "protocol": ("tcp", "udp", "icmp", "ah", "dccp", "egp", "esp", "gre", "icmpv6", "igmp",
                     "ipv6-encap", "ipv6-frag", "ipv6-icmp", "ipv6-nonxt", "ipv6-opts",
                     "ipv6-route", "ospf", "pgm", "rsvp", "sctp", "udplite", "vrrp"),
    },
}
NUMERIC_OK = {("openstack_networking_secgroup_rule_v2", "protocol"): range(0, 256)}
IGNORE_CASE = {("openstack_lb_l7policy_v2", "action")}

# Attributes (or whole nested blocks) marked ForceNew: a planned change to any of them
# makes Terraform replace the resource.  "*" = every attribute of the type.
FORCE_NEW = {
    "openstack_compute_instance_v2": {
        "region", "image_id", "image_name", "user_data", "availability_zone",
        "availability_zone_hints", "key_pair", "config_drive", "network", "network_mode",
        "scheduler_hints", "block_device", "personality",
    },
    "openstack_compute_servergroup_v2": {"region", "name", "policies", "rules", "value_specs"},
    "openstack_compute_keypair_v2": {"region", "name", "public_key", "user_id", "value_specs"},
    "openstack_networking_network_v2": {"region", "tenant_id", "value_specs", "availability_zone_hints"},
    "openstack_networking_subnet_v2": {
        "region", "tenant_id", "network_id", "cidr", "ip_version", "prefix_length",
        "ipv6_address_mode", "ipv6_ra_mode", "subnetpool_id", "value_specs",
    },
    "openstack_networking_port_v2": {"region", "tenant_id", "network_id", "value_specs"},
    "openstack_networking_router_v2": {"region", "tenant_id", "value_specs", "availability_zone_hints"},
    "openstack_networking_router_interface_v2": {"region", "router_id", "subnet_id", "port_id"},
    "openstack_networking_secgroup_v2": {"region", "tenant_id"},
    "openstack_networking_secgroup_rule_v2": {"*"},
    "openstack_networking_floatingip_v2": {
        "region", "tenant_id", "pool", "address", "subnet_id", "subnet_ids", "value_specs",
        "dns_name", "dns_domain",
    },
    "openstack_networking_floatingip_associate_v2": {"region", "floating_ip"},
    "openstack_lb_loadbalancer_v2": {
        "region", "tenant_id", "vip_subnet_id", "vip_network_id", "vip_port_id", "vip_address",
        "loadbalancer_provider", "availability_zone", "flavor_id",
    },
    "openstack_lb_listener_v2": {"region", "tenant_id", "protocol", "protocol_port", "loadbalancer_id"},
    "openstack_lb_pool_v2": {"region", "tenant_id", "protocol", "listener_id", "loadbalancer_id"},
    "openstack_lb_monitor_v2": {"region", "tenant_id", "pool_id", "type"},
    "openstack_lb_member_v2": {"region", "tenant_id", "pool_id", "address", "protocol_port", "subnet_id"},
    "openstack_lb_l7policy_v2": {"region", "tenant_id", "listener_id"},
    "openstack_lb_l7rule_v2": {"region", "tenant_id", "l7policy_id"},
    "openstack_identity_service_v3": {"region"},
    "openstack_identity_endpoint_v3": {"region"},
}

# SDKv2 StateFunc: the real provider stores the SHA-1 hex digest instead of the text.
HASHED = {("openstack_compute_instance_v2", "user_data")}

# SDKv2 `Default`s: when the configuration leaves one of these unset, the real provider plans
# this value (and stores it after apply).  Read from the provider's resource schemas; dotted
# keys are inside a nested block, for each of its elements.  Types not listed have none that
# congress-tf's configurations leave unset.
DEFAULTS = {
    "openstack_compute_instance_v2": {
        "power_state": "active", "stop_before_destroy": False, "force_delete": False,
        "network.access_network": False,
        "block_device.delete_on_termination": False, "block_device.multiattach": False,
    },
    "openstack_lb_pool_v2": {"admin_state_up": True},
    "openstack_lb_l7policy_v2": {"admin_state_up": True},
    "openstack_lb_l7rule_v2": {"admin_state_up": True, "invert": False},
    "openstack_identity_service_v3": {"enabled": True},
    "openstack_identity_endpoint_v3": {"interface": "public"},
}

# Attributes inside set-nested blocks that a new resource's configuration leaves unset and the
# real provider plans as a value, not null, though the schema gives them no default: SDKv2's diff
# of a new set element carries every attribute of the element, so an unset string is planned "".
SET_ELEMENT_ZERO_VALUES = {"openstack_networking_port_v2": {"allowed_address_pairs.mac_address": ""}}
