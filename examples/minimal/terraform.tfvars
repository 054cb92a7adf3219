# Minimal: two policy engines behind Octavia, one MariaDB and one RabbitMQ VM,
# the datasource pair, no authentication (a lab). Plans with no cloud and no
# clouds.yaml: the provider gets an explicit (dummy) auth_url.
#
# DUMMY VALUES: every ID and credential below is a placeholder that lets
# `terraform plan` run offline; replace them before an apply.

auth = {
  auth_url     = "https://keystone.example.invalid:5000/v3" # DUMMY
  user_name    = "demo"                                     # DUMMY
  password     = "dummy-password-not-real"                  # DUMMY
  project_name = "demo"                                     # DUMMY
}

image_id   = "00000000-0000-4000-8000-00000000d12a"               # DUMMY: a Debian 12 image
flavor_ids = { default = "00000000-0000-4000-8000-0000000f1a01" } # DUMMY

network = {
  cidr                = "10.20.0.0/24"
  external_network_id = "00000000-0000-4000-8000-0000000e7e01" # DUMMY
}

backing       = { mode = "single" } # one MariaDB VM, one RabbitMQ VM
lb_provider   = "octavia"
auth_strategy = "noauth"

secrets = {
  db_password      = "dummy-db-password-0001"                       # DUMMY
  rabbit_password  = "dummy-rabbit-password-0001"                   # DUMMY
  cluster_auth_key = "dummy-corosync-authkey-0001"                  # DUMMY
  vrrp_password    = "dummy-vrrp-password-0001"                     # DUMMY
  encryption_key   = "ZHVtbXktZmVybmV0LWtleS0wMDAxLWR1bW15LWZlcm4=" # DUMMY: a Fernet key
}
