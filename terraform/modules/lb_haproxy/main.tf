# The VIP gets a port of its own so Neutron never hands the address to anything
# else and a floating IP has a port to point at; keepalived moves the address
# between the two VMs, whose ports allow it through allowed_address_pairs.
resource "openstack_networking_port_v2" "vip" {
  name               = "${var.name}-vip"
  network_id         = var.vm.network_id
  security_group_ids = var.security_group_ids
  admin_state_up     = true

  fixed_ip {
    subnet_id  = var.vm.subnet_id
    ip_address = var.vip_address
  }
}

module "haproxy" {
  source                = "../nodes"
  role                  = "haproxy"
  nodes                 = var.nodes
  vm                    = var.vm
  security_group_ids    = var.security_group_ids
  allowed_address_pairs = [var.vip_address]
  server_group          = { name = "${var.name}-lb", policy = var.server_group_policy }
}

resource "openstack_networking_floatingip_v2" "api" {
  count   = var.floating_ip_pool == null ? 0 : 1
  pool    = var.floating_ip_pool
  port_id = openstack_networking_port_v2.vip.id
}
