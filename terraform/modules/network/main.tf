resource "openstack_networking_network_v2" "cluster" {
  count          = var.existing == null ? 1 : 0
  name           = "${var.name_prefix}-net"
  admin_state_up = true
}

resource "openstack_networking_subnet_v2" "cluster" {
  count           = var.existing == null ? 1 : 0
  name            = "${var.name_prefix}-subnet"
  network_id      = openstack_networking_network_v2.cluster[0].id
  cidr            = var.cidr
  ip_version      = 4
  dns_nameservers = var.dns_nameservers

  allocation_pool {
    start = var.allocation_pool.start
    end   = var.allocation_pool.end
  }
}

resource "openstack_networking_router_v2" "cluster" {
  count               = var.existing == null && var.external_network_id != null ? 1 : 0
  name                = "${var.name_prefix}-router"
  external_network_id = var.external_network_id
}

resource "openstack_networking_router_interface_v2" "cluster" {
  count     = length(openstack_networking_router_v2.cluster)
  router_id = openstack_networking_router_v2.cluster[0].id
  subnet_id = openstack_networking_subnet_v2.cluster[0].id
}

locals {
  network_id = var.existing != null ? var.existing.network_id : openstack_networking_network_v2.cluster[0].id
  subnet_id  = var.existing != null ? var.existing.subnet_id : openstack_networking_subnet_v2.cluster[0].id

  # Least privilege: each rule names the one group it opens, the port range and
  # the source: the cluster subnet, a group (`from`: the group itself for peers of a
  # pair or trio, or the Congress nodes' groups), or a list of operator CIDRs.
  # Neutron's default egress rules are kept.
  groups   = ["policy_engine", "datasource", "database", "rabbitmq", "haproxy", "ssh"]
  congress = ["policy_engine", "datasource"] # every Congress node is a database and AMQP client
  backing  = var.backing_mode != "external"  # MariaDB and RabbitMQ VMs of ours
  cluster  = var.backing_mode == "cluster"
  rules = concat(
    [
      { group = "policy_engine", name = "api-from-subnet", protocol = "tcp", ports = [var.api_port, var.api_port], cidr = var.cidr, from = null },
      { group = "datasource", name = "corosync", protocol = "udp", ports = [5405, 5405], cidr = null, from = "datasource" },
      { group = "datasource", name = "pcsd", protocol = "tcp", ports = [2224, 2224], cidr = null, from = "datasource" },
      { group = "haproxy", name = "vrrp", protocol = "vrrp", ports = [null, null], cidr = null, from = "haproxy" },
    ],
    [for client in local.congress : { group = "database", name = "mariadb-from-${client}", protocol = "tcp", ports = [3306, 3306], cidr = null, from = client } if local.backing],
    [for client in local.congress : { group = "rabbitmq", name = "amqp-from-${client}", protocol = "tcp", ports = [5672, 5672], cidr = null, from = client } if local.backing],
    # Cluster mode: the local HAProxy of each Congress node asks every Galera node whether it is synced.
    [for client in local.congress : { group = "database", name = "galera-health-from-${client}", protocol = "tcp", ports = [9200, 9200], cidr = null, from = client } if local.cluster],
    [for rule in [
      { group = "database", name = "galera-replication", protocol = "tcp", ports = [4567, 4568] },
      { group = "database", name = "galera-sst", protocol = "tcp", ports = [4444, 4444] },
      # A rebuilt first member asks the others' health check before it would bootstrap.
      { group = "database", name = "galera-health-peers", protocol = "tcp", ports = [9200, 9200] },
      { group = "rabbitmq", name = "epmd", protocol = "tcp", ports = [4369, 4369] },
      { group = "rabbitmq", name = "rabbitmq-dist", protocol = "tcp", ports = [25672, 25672] },
    ] : merge(rule, { cidr = null, from = rule.group }) if local.cluster],
    [for cidr in var.admin_cidrs : { group = "ssh", name = "ssh-${cidr}", protocol = "tcp", ports = [22, 22], cidr = cidr, from = null }],
    [for cidr in var.admin_cidrs : { group = "policy_engine", name = "api-admin-${cidr}", protocol = "tcp", ports = [var.api_port, var.api_port], cidr = cidr, from = null }],
    [for cidr in var.allowed_client_cidrs : { group = "haproxy", name = "api-client-${cidr}", protocol = "tcp", ports = [var.api_port, var.api_port], cidr = cidr, from = null }],
  )
}

resource "openstack_networking_secgroup_v2" "role" {
  for_each    = toset(local.groups)
  name        = "${var.name_prefix}-${replace(each.key, "_", "-")}"
  description = "congress-tf: ${each.key}"
}

resource "openstack_networking_secgroup_rule_v2" "rule" {
  for_each          = { for rule in local.rules : "${rule.group}/${rule.name}" => rule }
  security_group_id = openstack_networking_secgroup_v2.role[each.value.group].id
  description       = each.key
  direction         = "ingress"
  ethertype         = "IPv4"
  protocol          = each.value.protocol
  port_range_min    = each.value.ports[0]
  port_range_max    = each.value.ports[1]
  remote_ip_prefix  = each.value.cidr
  remote_group_id   = each.value.from == null ? null : openstack_networking_secgroup_v2.role[each.value.from].id
}
