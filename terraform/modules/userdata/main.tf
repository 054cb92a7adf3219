# Renders one #cloud-config per node: the role template (cloudinit/<role>.yaml.tftpl) with
# the shared parts (cloudinit/parts/) and every config file the node gets, each rendered by
# its own template (cloudinit/config/). No resources: this plans with no provider.

locals {
  dir         = "${path.module}/../../../cloudinit"
  scripts_dir = "/usr/local/lib/congress-tf" # where the VMs keep cloudinit/scripts/*.sh
  venv        = "/opt/congress"
  # Every readiness gate gives up after this long (VMs boot in parallel; Congress installs in a few minutes).
  gate_timeout_s = 1800

  names = {
    for role in ["policy_engine", "datasource", "backing", "haproxy"] :
    role => sort([for name, node in var.nodes : name if node.role == role])
  }
  congress_roles = ["policy_engine", "datasource"]
  # The lowest-named datasource VM loads the Pacemaker configuration.
  cluster_leader = try(local.names.datasource[0], "")

  scripts = { for name in fileset("${local.dir}/scripts", "*.sh") : name => file("${local.dir}/scripts/${name}") }
  role_scripts = {
    policy_engine = ["congress-tf-lib.sh", "install-congress.sh", "configure-congress-node.sh", "wait-for-backends.sh",
    "sync-congress-schema.sh", "wait-for-congress-schema.sh", "start-congress-policy-engine.sh"]
    datasource = ["congress-tf-lib.sh", "install-congress.sh", "configure-congress-node.sh", "wait-for-backends.sh",
    "sync-congress-schema.sh", "install-congress-ocf-agent.sh", "start-cluster-stack.sh", "configure-datasource-cluster.sh"]
    backing = ["congress-tf-lib.sh"]
    galera  = ["congress-tf-lib.sh", "configure-galera.sh", "galera-health.sh", "galera-recover.sh"]
    haproxy = ["congress-tf-lib.sh", "detect-vrrp-interface.sh", "start-load-balancer.sh"]
  }
  # A lone backing VM gets only its own services' scripts: a RabbitMQ fix must not change (and so
  # replace) the database VM's user_data.
  service_scripts = { mariadb = "configure-mariadb.sh", rabbitmq = "configure-rabbitmq.sh" }
  script_names = { for name, node in var.nodes : name => (
    contains(local.galera_node_names, name) ? local.role_scripts.galera : concat(
      local.role_scripts[node.role],
      [for service in node.services : local.service_scripts[service] if node.role == "backing"],
      contains(local.congress_roles, node.role) && local.database_proxy_cfg != "" ? ["start-database-proxy.sh"] : [],
    )
  ) }

  # Backing mode cluster: the Galera trio (first member bootstraps, the rest join; Congress nodes
  # reach one writer through a local HAProxy) and the RabbitMQ trio (first member creates the
  # vhost and user, the rest join it).
  galera_members    = var.database.members
  galera_node_names = [for member in local.galera_members : member.name]
  rabbitmq_nodes    = [for name in local.names.backing : name if contains(var.nodes[name].services, "rabbitmq")]
  rabbitmq_cluster  = length(local.rabbitmq_nodes) > 1
  # Each trio's members (addresses) by node name, empty for a lone backing VM.
  backing_peers = {
    for name in local.names.backing : name => (
      contains(local.galera_node_names, name) ? [for member in local.galera_members : member.ip] :
      contains(local.rabbitmq_nodes, name) && local.rabbitmq_cluster ? [for peer in local.rabbitmq_nodes : var.nodes[peer].ip] : []
    )
  }
  # Congress processes that may hold database connections, each pooling up to 10 + 20: as many
  # policy engines as the address plan has slots for, plus the datasource node. Not today's count:
  # the database VMs' cloud-init must not change (and the VMs be replaced) when engines scale.
  congress_processes = length(var.haproxy.slots) + 1

  # Secrets are restricted to [A-Za-z0-9._~-] by the root module; urlencode() keeps URLs right anyway.
  # Several brokers: oslo.messaging's list form, user:password@host:port for each, comma-separated.
  transport_url = format("rabbit://%s/%s", join(",", [for host in var.rabbitmq.hosts : format("%s:%s@%s:%d",
  var.rabbitmq.user, urlencode(var.secrets.rabbit_password), host, var.rabbitmq.port)]), urlencode(var.rabbitmq.vhost))
  database_connection = format("mysql+pymysql://%s:%s@%s:%d/%s?charset=utf8", var.database.user,
  urlencode(var.secrets.db_password), var.database.host, var.database.port, var.database.name)

  fencing = var.fencing == null ? null : merge({ user_domain_name = "Default", project_domain_name = "Default" }, var.fencing)

  # --- config files, each by its own template --------------------------------------------
  node_env = {
    for name, node in var.nodes : name => templatefile("${local.dir}/config/node.env.tftpl", {
      node_name      = name
      role           = node.role
      ip             = node.ip
      node_id        = coalesce(node.node_id, name)
      venv           = local.venv
      api_port       = var.api.port
      database       = var.database
      rabbitmq       = var.rabbitmq
      cluster_nodes  = node.role == "datasource" ? local.names.datasource : []
      cluster_leader = node.role == "datasource" ? local.cluster_leader : ""
      backing_peers  = lookup(local.backing_peers, name, [])
      fencing        = node.role == "datasource" && local.fencing != null
      gate_timeout_s = local.gate_timeout_s
    })
  }

  congress_conf = {
    for name, node in var.nodes : name => templatefile("${local.dir}/config/congress.conf.tftpl", {
      rendered_for           = node.role == "datasource" ? "the datasource pair" : name
      transport_url          = local.transport_url
      database_connection    = local.database_connection
      datasource_sync_period = var.congress.datasource_sync_period
      # The datasource pair shares one file (Pacemaker may start ds-node on either VM), so it
      # binds on all addresses; ds-node serves no API anyway.
      bind_host         = node.role == "datasource" ? "0.0.0.0" : node.ip
      bind_port         = var.api.port
      auth_strategy     = var.congress.auth_strategy
      keystone          = var.congress.keystone
      keystone_password = var.secrets.keystone_password
      quorum_queues     = local.rabbitmq_cluster
      proxy_headers     = var.api.https
    }) if contains(local.congress_roles, node.role)
  }

  db_client_cnf = templatefile("${local.dir}/config/congress-db.cnf.tftpl", merge(var.database, { password = var.secrets.db_password }))

  corosync_conf = templatefile("${local.dir}/config/corosync.conf.tftpl", {
    cluster_name = "congress-datasource"
    nodes        = [for name in local.names.datasource : { name = name, ip = var.nodes[name].ip }]
  })
  # knet wants a key of 128 bytes or more: the SHA-512 hex digest of the secret is exactly 128.
  corosync_authkey_b64 = base64encode(sha512(var.secrets.cluster_auth_key))

  datasource_crm = templatefile("${local.dir}/config/datasource.crm.tftpl", {
    leader                = local.cluster_leader
    cluster_name          = "congress-datasource"
    nodes                 = local.names.datasource
    config                = "/etc/congress/congress.conf"
    node_id               = try(var.nodes[local.cluster_leader].node_id, "datasource-node")
    binary                = "${local.venv}/bin/congress-server"
    additional_parameters = ""
    monitor_interval      = var.congress.datasource_monitor_interval
    monitor_timeout       = var.congress.datasource_monitor_timeout
    fencing               = local.fencing
    fencing_password      = var.secrets.fencing_password
  })

  mariadb_cnf = { for name, node in var.nodes : name => templatefile("${local.dir}/config/mariadb-congress.cnf.tftpl", {
    bind_address    = node.ip
    max_connections = max(500, 30 * local.congress_processes + 100)
    galera          = contains(local.galera_node_names, name)
    node_name       = name
    members         = [for member in local.galera_members : member.ip]
  }) if contains(node.services, "mariadb") }
  # Cluster mode: every Congress node's local HAProxy, one Galera writer at a time.
  database_proxy_cfg = length(local.galera_members) == 0 ? "" : templatefile("${local.dir}/config/database-proxy.cfg.tftpl", {
    members = local.galera_members
    port    = var.database.port
  })
  database_sql = templatefile("${local.dir}/config/congress-database.sql.tftpl", {
    name     = var.database.name
    user     = var.database.user
    password = var.secrets.db_password
    # MariaDB's host/netmask form: the cluster subnet and nothing else.
    client_host = "${cidrhost(var.subnet_cidr, 0)}/${cidrnetmask(var.subnet_cidr)}"
  })

  haproxy_cfg = { for name in local.names.haproxy : name => templatefile("${local.dir}/config/haproxy.cfg.tftpl", {
    node_name         = name
    vip               = var.api.vip
    port              = var.api.port
    ip                = var.nodes[name].ip
    slots             = var.haproxy.slots
    slots_state_file  = local.haproxy_slots_state_file
    check_interval_ms = var.haproxy.check_interval_ms
    check_timeout_ms  = max(1000, floor(var.haproxy.check_interval_ms / 2))
    fall              = var.haproxy.fall
    rise              = var.haproxy.rise
    tls               = var.api_tls != null
    tls_pem_file      = local.haproxy_tls_pem_file
  }) }
  # HAProxy's crt file: the certificate chain, then the key (read as root before the chroot).
  haproxy_tls_pem_file = "/etc/haproxy/congress-api.pem"
  haproxy_tls_pem      = var.api_tls == null ? "" : "${chomp(var.api_tls.certificate)}\n${chomp(var.api_tls.private_key)}\n"
  # HAProxy starts every server UP until its first check fails; this state file, loaded at
  # start, makes every slot start DOWN so no request goes to an absent policy engine.
  haproxy_slots_state_file = "/etc/haproxy/policy-engine-slots.state"
  haproxy_slots_state = templatefile("${local.dir}/config/haproxy-slots.state.tftpl", {
    slots = var.haproxy.slots
    port  = var.api.port
  })
  keepalived_conf = { for index, name in local.names.haproxy : name => templatefile("${local.dir}/config/keepalived.conf.tftpl", {
    node_name      = name
    ip             = var.nodes[name].ip
    peers          = [for peer in local.names.haproxy : var.nodes[peer].ip if peer != name]
    vip            = var.api.vip
    prefix_length  = split("/", var.subnet_cidr)[1]
    vrrp_router_id = var.haproxy.vrrp_router_id
    priority       = 150 - 10 * index                        # the lowest-named VM holds the VIP when both are healthy
    auth_pass      = substr(var.secrets.vrrp_password, 0, 8) # VRRP PASS uses 8 characters at most
  }) }

  # --- user_data: role template + shared parts ---------------------------------------------
  user_data = {
    for name, node in var.nodes : name => templatefile("${local.dir}/${node.role}.yaml.tftpl", {
      node_name = name
      ip        = node.ip
      node_id   = coalesce(node.node_id, name)
      services  = node.services
      vip       = var.api.vip
      dir       = local.scripts_dir
      fencing   = local.fencing != null

      header = chomp(templatefile("${local.dir}/parts/node-header.yaml.tftpl", {
        node_name           = name
        ssh_authorized_keys = var.ssh_authorized_keys
        congress_user       = contains(local.congress_roles, node.role)
      }))
      scripts = chomp(templatefile("${local.dir}/parts/scripts.yaml.tftpl", {
        dir     = local.scripts_dir
        names   = local.script_names[name]
        scripts = local.scripts
      }))
      congress_files = contains(local.congress_roles, node.role) ? chomp(templatefile("${local.dir}/parts/congress-node-files.yaml.tftpl", {
        node_env           = local.node_env[name]
        constraints        = file("${local.dir}/congress-constraints.txt")
        shim               = file("${local.dir}/congress_py311_compat.py")
        db_client_cnf      = local.db_client_cnf
        congress_conf      = local.congress_conf[name]
        encryption_key     = var.secrets.encryption_key
        database_proxy_cfg = local.database_proxy_cfg
      })) : ""
      congress_runcmd = chomp(templatefile("${local.dir}/parts/congress-node-runcmd.yaml.tftpl", {
        dir            = local.scripts_dir
        venv           = local.venv
        install_source = var.congress.install_source
        install_url    = try(coalesce(var.congress.install_url), "")
        database_proxy = local.database_proxy_cfg != ""
      }))
      install_source = var.congress.install_source
      install_url    = try(coalesce(var.congress.install_url), "")

      node_env             = local.node_env[name]
      policy_engine_unit   = file("${local.dir}/config/congress-policy-engine.service")
      corosync_conf        = local.corosync_conf
      corosync_authkey_b64 = local.corosync_authkey_b64
      datasource_crm       = local.datasource_crm
      mariadb_cnf          = lookup(local.mariadb_cnf, name, "")
      database_sql         = local.database_sql
      rabbit_password      = var.secrets.rabbit_password
      galera               = contains(local.galera_node_names, name)
      rabbitmq_cluster     = local.rabbitmq_cluster && contains(local.rabbitmq_nodes, name)
      erlang_cookie        = var.secrets.erlang_cookie
      database_proxy       = local.database_proxy_cfg != ""
      sysctl_vip           = file("${local.dir}/config/sysctl-vip.conf")
      haproxy_cfg          = lookup(local.haproxy_cfg, name, "")
      keepalived_conf      = lookup(local.keepalived_conf, name, "")
      haproxy_slots_state  = local.haproxy_slots_state
      slots_state_file     = local.haproxy_slots_state_file
      tls_pem              = node.role == "haproxy" ? local.haproxy_tls_pem : ""
      tls_pem_file         = local.haproxy_tls_pem_file
    })
  }
}
