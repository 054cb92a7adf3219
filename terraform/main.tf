locals {
  cidr = var.network.cidr

  # The one place that decides every node's name, address and Congress node id.
  # Hosts .10-.199 are ours; the subnet's allocation pool starts at .200.
  # Backing mode single: database .11, rabbitmq .12; cluster: Galera .40-.42, RabbitMQ .50-.52.
  host = { vip = 10, database = 11, rabbitmq = 12, datasource = 20, haproxy = 30, galera = 40, rabbitmq_cluster = 50, policy_engine = 100 }

  api_vip = cidrhost(local.cidr, local.host.vip)
  # The API's scheme follows TLS on the VIP; clients outside the subnet use the floating IP.
  api_scheme      = (var.lb_provider == "octavia" && var.octavia_tls != null) || (var.lb_provider == "haproxy" && nonsensitive(var.haproxy_tls != null)) ? "https" : "http"
  api_url         = "${local.api_scheme}://${local.api_vip}:${var.api_port}/"
  api_floating_ip = one(concat(module.lb_octavia[*].floating_ip, module.lb_haproxy[*].floating_ip))
  api_public_url  = local.api_floating_ip == null ? local.api_url : "${local.api_scheme}://${local.api_floating_ip}:${var.api_port}/"
  # Addresses of the subnet that are never an external server's: the gateway, ours, the broadcast.
  reserved_addresses     = toset(concat([cidrhost(local.cidr, 1), cidrhost(local.cidr, -1)], [for i in range(10, 200) : cidrhost(local.cidr, i)]))
  external_backing_hosts = toset(concat(compact([try(var.backing.database.host, null)]), try(var.backing.rabbitmq.hosts, [])))
  # Who may call the API on the load balancer. Nobody outside the cluster subnet unless named:
  # an empty list never means "open to all".
  api_client_cidrs = distinct(concat(var.allowed_client_cidrs, var.admin_cidrs))

  # Every address a policy engine may ever have (policy_engine_count is at most 64): the HAProxy
  # pair lists all of them as health-checked slots, so scaling never touches the LB VMs.
  policy_engine_slots = [
    for i in range(64) : { name = "${var.name_prefix}-pe-${i}", ip = cidrhost(local.cidr, local.host.policy_engine + i) }
  ]
  policy_engines = {
    for i, slot in slice(local.policy_engine_slots, 0, var.policy_engine_count) : slot.name => {
      role = "policy_engine", ip = slot.ip, node_id = "pe-${i}"
    }
  }
  # Both VMs of the Pacemaker pair may run the one datasource node, so they share its id.
  datasource_nodes = {
    for i in range(2) : "${var.name_prefix}-ds-${i}" => {
      role = "datasource", ip = cidrhost(local.cidr, local.host.datasource + i), node_id = "datasource-node"
    }
  }
  # Backing VMs by service: one each (single), three each (cluster), none (external).
  backing_count = { single = 1, cluster = 3, external = 0 }[var.backing.mode]
  database_nodes = {
    for i in range(local.backing_count) : (var.backing.mode == "cluster" ? "${var.name_prefix}-db-${i}" : "${var.name_prefix}-db") => {
      role = "backing", services = ["mariadb"]
      ip   = cidrhost(local.cidr, var.backing.mode == "cluster" ? local.host.galera + i : local.host.database)
    }
  }
  rabbitmq_nodes = {
    for i in range(local.backing_count) : (var.backing.mode == "cluster" ? "${var.name_prefix}-mq-${i}" : "${var.name_prefix}-mq") => {
      role = "backing", services = ["rabbitmq"]
      ip   = cidrhost(local.cidr, var.backing.mode == "cluster" ? local.host.rabbitmq_cluster + i : local.host.rabbitmq)
    }
  }
  backing_nodes = merge(local.database_nodes, local.rabbitmq_nodes)
  haproxy_nodes = {
    for i in range(var.lb_provider == "haproxy" ? 2 : 0) : "${var.name_prefix}-lb-${i}" => {
      role = "haproxy", ip = cidrhost(local.cidr, local.host.haproxy + i)
    }
  }
  nodes = merge(local.policy_engines, local.datasource_nodes, local.backing_nodes, local.haproxy_nodes)

  # In cluster mode every Congress node reaches the one Galera writer through its own local
  # HAProxy on 127.0.0.1 (Congress takes LOCK TABLES, which Galera does not share between writers).
  database = {
    host    = var.backing.mode == "external" ? var.backing.database.host : var.backing.mode == "cluster" ? "127.0.0.1" : values(local.database_nodes)[0].ip
    port    = var.backing.mode == "external" ? var.backing.database.port : 3306
    name    = "congress"
    user    = "congress"
    members = var.backing.mode == "cluster" ? [for name in sort(keys(local.database_nodes)) : { name = name, ip = local.database_nodes[name].ip }] : []
  }
  rabbitmq = {
    hosts = var.backing.mode == "external" ? var.backing.rabbitmq.hosts : [for name in sort(keys(local.rabbitmq_nodes)) : local.rabbitmq_nodes[name].ip]
    port  = var.backing.mode == "external" ? var.backing.rabbitmq.port : 5672
    user  = "congress"
    vhost = "/congress"
  }

  vm = {
    for role in ["policy_engine", "datasource", "backing", "haproxy"] : role => {
      image_id   = var.image_id
      flavor_id  = coalesce(var.flavor_ids[role], var.flavor_ids.default)
      key_pair   = var.key_pair
      network_id = module.network.network_id
      subnet_id  = module.network.subnet_id
    }
  }
  user_data = module.userdata.user_data
  sg        = module.network.security_group_ids
}

module "network" {
  source = "./modules/network"

  name_prefix          = var.name_prefix
  cidr                 = local.cidr
  existing             = var.network.existing_network_id == null ? null : { network_id = var.network.existing_network_id, subnet_id = var.network.existing_subnet_id }
  external_network_id  = var.network.external_network_id
  dns_nameservers      = var.network.dns_nameservers
  allocation_pool      = { start = cidrhost(local.cidr, 200), end = cidrhost(local.cidr, -2) }
  api_port             = var.api_port
  allowed_client_cidrs = local.api_client_cidrs
  admin_cidrs          = var.admin_cidrs
  backing_mode         = var.backing.mode
}

module "userdata" {
  source = "./modules/userdata"

  nodes       = local.nodes
  subnet_cidr = local.cidr
  api         = { vip = local.api_vip, port = var.api_port, https = local.api_scheme == "https" }
  api_tls     = var.lb_provider == "haproxy" ? var.haproxy_tls : null
  database    = local.database
  rabbitmq    = local.rabbitmq
  congress = {
    auth_strategy               = var.auth_strategy
    keystone                    = { for key, value in var.keystone : key => value if value != null }
    datasource_sync_period      = var.datasource_sync_period
    install_source              = var.congress_install.source
    install_url                 = var.congress_install.url
    datasource_monitor_interval = var.datasource_monitor.interval_s
    datasource_monitor_timeout  = var.datasource_monitor.timeout_s
  }
  haproxy = {
    check_interval_ms = var.health_check.interval_s * 1000
    fall              = var.health_check.fall
    rise              = var.health_check.rise
    vrrp_router_id    = 51
    slots             = local.policy_engine_slots
  }
  fencing             = var.fencing
  secrets             = var.secrets
  ssh_authorized_keys = var.ssh_authorized_keys
}

# Backing mode single: both VMs here. Cluster: the Galera trio and the RabbitMQ trio, each in
# an anti-affinity server group of its own.
module "backing" {
  source = "./modules/nodes"

  role               = "backing"
  nodes              = { for name, node in local.backing_nodes : name => { ip = node.ip, user_data = local.user_data[name], security_group_ids = [node.services[0] == "mariadb" ? local.sg.database : local.sg.rabbitmq, local.sg.ssh] } if var.backing.mode == "single" }
  vm                 = local.vm.backing
  security_group_ids = []
}

module "database_cluster" {
  source = "./modules/nodes"
  count  = var.backing.mode == "cluster" ? 1 : 0

  role               = "backing"
  nodes              = { for name, node in local.database_nodes : name => { ip = node.ip, user_data = local.user_data[name] } }
  vm                 = local.vm.backing
  security_group_ids = [local.sg.database, local.sg.ssh]
  server_group       = { name = "${var.name_prefix}-database", policy = var.server_group_policy }
}

module "rabbitmq_cluster" {
  source = "./modules/nodes"
  count  = var.backing.mode == "cluster" ? 1 : 0

  role               = "backing"
  nodes              = { for name, node in local.rabbitmq_nodes : name => { ip = node.ip, user_data = local.user_data[name] } }
  vm                 = local.vm.backing
  security_group_ids = [local.sg.rabbitmq, local.sg.ssh]
  server_group       = { name = "${var.name_prefix}-rabbitmq", policy = var.server_group_policy }
}

module "datasource" {
  source = "./modules/nodes"

  role               = "datasource"
  nodes              = { for name, node in local.datasource_nodes : name => { ip = node.ip, user_data = local.user_data[name] } }
  vm                 = local.vm.datasource
  security_group_ids = [local.sg.datasource, local.sg.ssh]
  server_group       = { name = "${var.name_prefix}-datasource", policy = var.server_group_policy }
}

module "policy_engine" {
  source = "./modules/nodes"

  role               = "policy_engine"
  nodes              = { for name, node in local.policy_engines : name => { ip = node.ip, user_data = local.user_data[name] } }
  vm                 = local.vm.policy_engine
  security_group_ids = [local.sg.policy_engine, local.sg.ssh]
  server_group       = { name = "${var.name_prefix}-policy-engine", policy = var.server_group_policy }
}

module "lb_octavia" {
  source = "./modules/lb_octavia"
  count  = var.lb_provider == "octavia" ? 1 : 0

  name                 = "${var.name_prefix}-api"
  subnet_id            = module.network.subnet_id
  vip_address          = local.api_vip
  api_port             = var.api_port
  member_addresses     = { for name, node in local.policy_engines : name => node.ip }
  persistence          = var.lb_persistence
  allowed_client_cidrs = length(local.api_client_cidrs) > 0 ? local.api_client_cidrs : [local.cidr]
  floating_ip_pool     = var.floating_ip_pool
  tls                  = var.octavia_tls
  health_check = {
    delay       = var.health_check.interval_s
    timeout     = var.health_check.timeout_s
    max_retries = var.health_check.fall
  }
}

module "lb_haproxy" {
  source = "./modules/lb_haproxy"
  count  = var.lb_provider == "haproxy" ? 1 : 0

  name                = var.name_prefix
  nodes               = { for name, node in local.haproxy_nodes : name => { ip = node.ip, user_data = local.user_data[name] } }
  vm                  = local.vm.haproxy
  security_group_ids  = [local.sg.haproxy, local.sg.ssh]
  vip_address         = local.api_vip
  server_group_policy = var.server_group_policy
  floating_ip_pool    = var.floating_ip_pool
}

# Opt-in (needs an admin token): the policy service and its endpoints on the API URL.
module "catalog" {
  source = "./modules/catalog"
  count  = var.catalog.enabled ? 1 : 0

  region = coalesce(var.catalog.region, var.keystone.region_name)
  urls   = { public = local.api_public_url, internal = local.api_url, admin = local.api_url }
}
