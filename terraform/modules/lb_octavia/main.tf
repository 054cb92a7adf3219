resource "openstack_lb_loadbalancer_v2" "api" {
  name          = var.name
  vip_subnet_id = var.subnet_id
  vip_address   = var.vip_address
}

locals {
  # Where the redirect sends plain-HTTP clients: the address clients outside the subnet use.
  https_prefix = var.tls == null ? null : "https://${coalesce(one(openstack_networking_floatingip_v2.api[*].address), var.vip_address)}:${var.api_port}"
}

# With tls, Octavia terminates TLS here with the operator's Barbican certificate container and
# still speaks plain HTTP to the members (pool, monitor and members stay as they are); Congress
# learns the client's scheme from X-Forwarded-Proto.
resource "openstack_lb_listener_v2" "api" {
  name                      = var.name
  loadbalancer_id           = openstack_lb_loadbalancer_v2.api.id
  protocol                  = var.tls == null ? "HTTP" : "TERMINATED_HTTPS"
  protocol_port             = var.api_port
  default_tls_container_ref = var.tls == null ? null : var.tls.container_ref
  insert_headers            = var.tls == null ? null : { "X-Forwarded-Proto" = "true", "X-Forwarded-For" = "true" }
  # Octavia answers with the list sorted; sending it sorted keeps a re-plan after apply empty.
  allowed_cidrs = sort(var.allowed_client_cidrs)
}

# Plain HTTP on redirect_port answers every request with a redirect to the same path over HTTPS
# (Octavia's L7 cookbook: a REDIRECT_PREFIX policy matched by a rule on every path; a policy
# without rules never matches). 308 keeps the method and body of a POST, where 301 may not.
resource "openstack_lb_listener_v2" "redirect" {
  count = var.tls == null ? 0 : 1

  name            = "${var.name}-redirect"
  loadbalancer_id = openstack_lb_loadbalancer_v2.api.id
  protocol        = "HTTP"
  protocol_port   = var.tls.redirect_port
  allowed_cidrs   = sort(var.allowed_client_cidrs)
}

resource "openstack_lb_l7policy_v2" "https" {
  count = var.tls == null ? 0 : 1

  name               = "${var.name}-https"
  listener_id        = openstack_lb_listener_v2.redirect[0].id
  action             = "REDIRECT_PREFIX"
  redirect_prefix    = local.https_prefix
  redirect_http_code = 308
}

resource "openstack_lb_l7rule_v2" "every_path" {
  count = var.tls == null ? 0 : 1

  l7policy_id  = openstack_lb_l7policy_v2.https[0].id
  type         = "PATH"
  compare_type = "STARTS_WITH"
  value        = "/"
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
