# Production: four policy engines spread by anti-affinity behind Octavia with
# source-IP stickiness, Keystone auth, a floating IP on the VIP,
# fencing through fence_openstack, per-role flavors, locked-down admin access,
# and nothing single behind them: a three-node Galera cluster and a three-node
# RabbitMQ cluster (backing mode cluster).
#
# DUMMY VALUES: every ID and credential below is a placeholder that lets
# `terraform plan` run offline; replace them before an apply. The cloud is
# looked up in clouds.yaml even for a plan: plan offline with
# OS_CLIENT_CONFIG_FILE=$PWD/examples/clouds.yaml (a dummy entry).

cloud = "production" # a clouds.yaml entry

name_prefix = "congress"
image_id    = "00000000-0000-4000-8000-00000000d12a" # DUMMY: a Debian 12 image
flavor_ids = {
  default       = "00000000-0000-4000-8000-0000000f1a02" # DUMMY
  policy_engine = "00000000-0000-4000-8000-0000000f1a04" # DUMMY
  backing       = "00000000-0000-4000-8000-0000000f1a08" # DUMMY
}
key_pair = "ops"

network = {
  cidr                = "10.30.0.0/22"
  external_network_id = "00000000-0000-4000-8000-0000000e7e01" # DUMMY
  dns_nameservers     = ["10.0.0.53"]
}
admin_cidrs          = ["192.0.2.0/24"]
allowed_client_cidrs = ["198.51.100.0/24", "203.0.113.0/24"]
floating_ip_pool     = "public"

policy_engine_count = 4
server_group_policy = "anti-affinity"
backing             = { mode = "cluster" }
lb_provider         = "octavia"
lb_persistence      = "SOURCE_IP"
health_check        = { interval_s = 5, timeout_s = 3, fall = 3, rise = 2 }
# TLS terminated by Octavia with the operator's certificate in Barbican; plain HTTP on 80 redirected.
octavia_tls = { container_ref = "https://barbican.example.invalid:9311/v1/containers/00000000-0000-4000-8000-0000000ce271" } # DUMMY

auth_strategy = "keystone"
keystone = {
  auth_url = "https://keystone.example.invalid:5000/v3" # DUMMY
}
# The policy service and its endpoints in the Keystone catalog (needs an admin token).
catalog                = { enabled = true, region = "RegionOne" }
datasource_sync_period = 30
datasource_monitor     = { interval_s = 10, timeout_s = 30 }
congress_install       = { source = "index", url = "https://pypi.example.invalid/simple" } # a mirror

fencing = {
  auth_url     = "https://keystone.example.invalid:5000/v3" # DUMMY
  username     = "congress-fencing"
  project_name = "congress"
}

secrets = {
  db_password       = "dummy-db-password-0002"                       # DUMMY
  rabbit_password   = "dummy-rabbit-password-0002"                   # DUMMY
  cluster_auth_key  = "dummy-corosync-authkey-0002"                  # DUMMY
  vrrp_password     = "dummy-vrrp-password-0002"                     # DUMMY
  keystone_password = "dummy-keystone-password-0002"                 # DUMMY
  fencing_password  = "dummy-fencing-password-0002"                  # DUMMY
  encryption_key    = "ZHVtbXktZmVybmV0LWtleS0wMDAyLWR1bW15LWZlcm4=" # DUMMY: a Fernet key
  erlang_cookie     = "dummy-erlang-cookie-0002"                     # DUMMY
}
