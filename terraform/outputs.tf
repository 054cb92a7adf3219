output "api_vip" {
  description = "The API VIP on the cluster subnet (Octavia VIP or keepalived VIP)."
  value       = local.api_vip

  precondition {
    condition     = var.auth_strategy != "keystone" || (var.keystone.auth_url != null && length(nonsensitive(var.secrets.keystone_password)) >= 16)
    error_message = "auth_strategy keystone needs keystone.auth_url and secrets.keystone_password (at least 16 characters); use auth_strategy noauth for labs."
  }
  # Rules across variables live here (a variable's validation may only name the variable itself
  # before Terraform 1.9); env.yaml refuses the same.
  precondition {
    condition     = var.floating_ip_pool == null || var.network.existing_network_id != null || var.network.external_network_id != null
    error_message = "floating_ip_pool needs a router from the cluster subnet to that pool: set network.external_network_id (the pool's network), or leave floating_ip_pool null."
  }
  precondition {
    condition     = length(setintersection(local.external_backing_hosts, local.reserved_addresses)) == 0
    error_message = "backing.database.host and backing.rabbitmq.hosts must be the external servers' addresses, not one of the cluster subnet's own (the gateway .1, the nodes and VIP .10 to .199, the broadcast address)."
  }
}

output "api_url" {
  description = "URL of the Congress API through the VIP."
  value       = local.api_url

  precondition {
    condition     = var.octavia_tls == null || var.lb_provider == "octavia"
    error_message = "octavia_tls is for lb_provider octavia (a Barbican container on an Octavia listener); leave it null with lb_provider haproxy."
  }
  precondition {
    condition     = nonsensitive(var.haproxy_tls == null) || var.lb_provider == "haproxy"
    error_message = "haproxy_tls is for lb_provider haproxy (certificate and key on the HAProxy VMs); with lb_provider octavia use octavia_tls (a Barbican container)."
  }
  precondition {
    condition     = try(var.octavia_tls.redirect_port, 0) != var.api_port
    error_message = "octavia_tls.redirect_port must differ from api_port: the HTTPS listener is on api_port."
  }
}

output "api_floating_ip" {
  description = "Floating IP of the API VIP, or null."
  value       = local.api_floating_ip
}

output "catalog" {
  description = "The Keystone catalog entry congress-tf registers (catalog.enabled): region and endpoint URL by interface; null when not registered."
  value       = var.catalog.enabled ? { region = module.catalog[0].region, endpoints = module.catalog[0].endpoints } : null
}

output "nodes" {
  description = "Every node by role: name => fixed IP."
  value = {
    for role in ["policy_engine", "datasource", "backing", "haproxy"] :
    role => { for name, node in local.nodes : name => node.ip if node.role == role }
  }
}

output "node_ids" {
  description = "Congress node id by node name (policy engines and the datasource pair)."
  value       = { for name, node in local.nodes : name => node.node_id if try(node.node_id, null) != null }
}

output "cloud_init" {
  description = "The rendered #cloud-config each VM receives, by node name."
  value       = module.userdata.user_data
  sensitive   = true

  precondition {
    condition     = var.backing.mode != "cluster" || length(nonsensitive(var.secrets.erlang_cookie)) >= 16
    error_message = "backing mode cluster needs secrets.erlang_cookie (at least 16 characters), the RabbitMQ nodes' shared cookie."
  }
}
