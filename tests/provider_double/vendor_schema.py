"""Regenerate schema.json (the double's only schema source) from the reference dump.

    python tests/provider_double/vendor_schema.py [path/to/openstack-provider-schema-v3.4.0.json]

The reference is `terraform providers schema -json` of the real provider 3.4.0; we keep
the provider block and the resource types congress-tf uses, and no data sources.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REFERENCE = HERE.parents[2] / "shared" / "reference" / "openstack-provider-schema-v3.4.0.json"
ADDRESS = "registry.terraform.io/terraform-provider-openstack/openstack"
RESOURCE_TYPES = (
    "openstack_networking_network_v2",
    "openstack_networking_subnet_v2",
    "openstack_networking_router_v2",
    "openstack_networking_router_interface_v2",
    "openstack_networking_port_v2",
    "openstack_networking_secgroup_v2",
    "openstack_networking_secgroup_rule_v2",
    "openstack_networking_floatingip_v2",
    "openstack_networking_floatingip_associate_v2",
    "openstack_compute_instance_v2",
    "openstack_compute_servergroup_v2",
    "openstack_compute_keypair_v2",
    "openstack_lb_loadbalancer_v2",
    "openstack_lb_listener_v2",
    "openstack_lb_pool_v2",
    "openstack_lb_monitor_v2",
    "openstack_lb_member_v2",
    "openstack_lb_l7policy_v2",
    "openstack_lb_l7rule_v2",
    "openstack_identity_service_v3",
    "openstack_identity_endpoint_v3",
)


def vendor(reference: Path = REFERENCE, out: Path = HERE / "schema.json") -> None:
    full = json.loads(reference.read_text())["provider_schemas"][ADDRESS]
    vendored = {
        "provider": full["provider"],
        "resource_schemas": {name: full["resource_schemas"][name] for name in RESOURCE_TYPES},
    }
    out.write_text(json.dumps(vendored, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    vendor(Path(sys.argv[1]) if len(sys.argv) > 1 else REFERENCE)
