resource "openstack_lb_loadbalancer_v2" "api" {
  name          = var.name
  vip_subnet_id = var.subnet_id
  vip_address   = var.vip_address
}

resource "openstack_lb_listener_v2" "api" {
  name            = var.name
  loadbalancer_id = openstack_lb_loadbalancer_v2.api.id
  protocol        = "HTTP"
  protocol_port   = var.api_port
  # Octavia answers with the list sorted; sending it sorted keeps a re-plan after apply empty.
  allowed_cidrs = sort(var.allowed_client_cidrs)
}

resource "openstack_lb_pool_v2" "api" {
  name        = var.name
  listener_id = openstack_lb_listener_v2.api.id
  protocol    = "HTTP"
  lb_method   = "ROUND_ROBIN"

  # Sticky sessions, as the HA guide recommends: a client keeps talking to one
  # policy engine and never sees another's not-yet-synchronised state.
  persistence {
    type = var.persistence
  }
}

resource "openstack_lb_monitor_v2" "api" {
  name           = var.name
  pool_id        = openstack_lb_pool_v2.api.id
  type           = "HTTP"
  http_method    = "GET"
  url_path       = "/"
  expected_codes = "200"
  delay          = var.health_check.delay
  timeout        = var.health_check.timeout
  max_retries    = var.health_check.max_retries
}

resource "openstack_lb_member_v2" "policy_engine" {
  for_each      = var.member_addresses
  name          = each.key
  pool_id       = openstack_lb_pool_v2.api.id
  subnet_id     = var.subnet_id
  address       = each.value
  protocol_port = var.api_port
}

resource "openstack_networking_floatingip_v2" "api" {
  count   = var.floating_ip_pool == null ? 0 : 1
  pool    = var.floating_ip_pool
  port_id = openstack_lb_loadbalancer_v2.api.vip_port_id
}
