resource "openstack_compute_servergroup_v2" "nodes" {
  count    = var.server_group == null ? 0 : 1
  name     = var.server_group.name
  policies = [var.server_group.policy]
}

resource "openstack_networking_port_v2" "node" {
  for_each           = var.nodes
  name               = each.key
  network_id         = var.vm.network_id
  security_group_ids = each.value.security_group_ids != null ? each.value.security_group_ids : var.security_group_ids
  admin_state_up     = true

  fixed_ip {
    subnet_id  = var.vm.subnet_id
    ip_address = each.value.ip
  }

  dynamic "allowed_address_pairs" {
    for_each = var.allowed_address_pairs
    content {
      ip_address = allowed_address_pairs.value
    }
  }
}

resource "openstack_compute_instance_v2" "node" {
  for_each  = var.nodes
  name      = each.key
  image_id  = var.vm.image_id
  flavor_id = var.vm.flavor_id
  key_pair  = var.vm.key_pair
  user_data = each.value.user_data
  metadata  = { congress_role = var.role }

  network {
    port = openstack_networking_port_v2.node[each.key].id
  }

  dynamic "scheduler_hints" {
    for_each = openstack_compute_servergroup_v2.nodes
    content {
      group = scheduler_hints.value.id
    }
  }
}
