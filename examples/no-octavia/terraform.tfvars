# No Octavia: three policy engines behind two HAProxy + keepalived VMs that
# share a VRRP VIP, on an existing network and subnet.
#
# DUMMY VALUES: every ID and credential below is a placeholder that lets
# `terraform plan` run offline; replace them before an apply. The cloud is
# looked up in clouds.yaml even for a plan: plan offline with
# OS_CLIENT_CONFIG_FILE=$PWD/examples/clouds.yaml (a dummy entry).

cloud = "lab" # a clouds.yaml entry

image_id   = "00000000-0000-4000-8000-00000000d12a"               # DUMMY: a Debian 12 image
flavor_ids = { default = "00000000-0000-4000-8000-0000000f1a01" } # DUMMY

network = {
  cidr                = "10.40.0.0/24"
  existing_network_id = "00000000-0000-4000-8000-00000000e701" # DUMMY
  existing_subnet_id  = "00000000-0000-4000-8000-00000000e702" # DUMMY
}
admin_cidrs          = ["192.0.2.0/24"]
allowed_client_cidrs = ["0.0.0.0/0"]

policy_engine_count = 3
server_group_policy = "soft-anti-affinity"
lb_provider         = "haproxy"
health_check        = { interval_s = 1, timeout_s = 1, fall = 2, rise = 2 }
auth_strategy       = "noauth"

secrets = {
  db_password      = "dummy-db-password-0003"                       # DUMMY
  rabbit_password  = "dummy-rabbit-password-0003"                   # DUMMY
  cluster_auth_key = "dummy-corosync-authkey-0003"                  # DUMMY
  vrrp_password    = "dummy-vrrp-password-0003"                     # DUMMY
  encryption_key   = "ZHVtbXktZmVybmV0LWtleS0wMDAzLWR1bW15LWZlcm4=" # DUMMY: a Fernet key
}
