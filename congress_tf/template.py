"""The commented env.yaml that `congress-tf init` writes (it validates as it is)."""

TEMPLATE = """\
# congress-tf environment: one Congress HA cluster.
#   congress-tf validate {file}   # schema + look-ups and quotas on the cloud
#   congress-tf plan {file}       # what would be created
#   congress-tf apply {file}      # create it; ends with the API VIP and URL
# State (tfvars.json, secrets.json, terraform.tfstate) is kept beside this file in
# .congress-tf/<name>/. Values given as UUIDs are used as IDs; anything else is a name
# looked up on the cloud before Terraform runs.

name: {name}                  # environment name: a-z, 0-9, '-' (default: this file's name)
cloud: mycloud                # clouds.yaml entry (as OS_CLOUD); omit to use OS_* variables
name_prefix: congress         # prefix of every resource name

image: debian-12              # Glance image (name or ID) of a Debian 12 cloud image
flavors:                      # Nova flavor (name or ID) per role; default serves the others
  default: m1.medium
  # policy_engine: m1.large
  # datasource: m1.medium
  # backing: m1.large
  # haproxy: m1.small
# key_pair: ops               # Nova key pair for SSH
ssh_authorized_keys: []       # extra public keys for the default user

network:
  cidr: 10.20.0.0/24          # cluster subnet, /24 or larger (nodes use .10-.199)
  external_network: public    # router uplink (name or ID); omit for an isolated subnet
  # existing_network: my-net  # use an existing network and subnet instead (both or neither)
  # existing_subnet: my-subnet
  dns_nameservers: []

admin_cidrs: []               # may SSH to nodes and reach each policy engine directly
allowed_client_cidrs:         # may reach the API on the load balancer (with admin_cidrs; none: only the cluster subnet)
  - 0.0.0.0/0

policy_engine_count: 2        # API + policy-engine nodes, 2 to 64
server_group_policy: anti-affinity   # or soft-anti-affinity
# backing: {{mode: single}}   # single: a MariaDB VM + a RabbitMQ VM; cluster: 3 Galera + 3 RabbitMQ VMs;
#                            # external: {{mode: external, database: {{host: db.example.org, port: 3306}},
#                            #            rabbitmq: {{hosts: [mq1.example.org, mq2.example.org], port: 5672}}}}

lb_provider: auto             # octavia, haproxy, or auto (octavia when the catalog has one)
api_port: 1789
lb_persistence: SOURCE_IP     # or HTTP_COOKIE
# floating_ip_pool: public    # external network to take a floating IP for the VIP from
health_check: {{interval_s: 2, timeout_s: 2, fall: 2, rise: 2}}
# octavia_tls: {{container_ref: https://barbican.example.org:9311/v1/secrets/<uuid>}}   # lb_provider octavia:
#                            # HTTPS with a Barbican certificate, plain HTTP on redirect_port (80) redirected

auth_strategy: noauth         # keystone (needs keystone.auth_url and $CONGRESS_TF_KEYSTONE_PASSWORD) or noauth
# keystone:
#   auth_url: https://keystone.example.org:5000/v3
#   username: congress
#   password_env: CONGRESS_TF_KEYSTONE_PASSWORD
# catalog: {{enabled: true}}  # register service type policy + endpoints in Keystone (needs an admin's cloud)

datasource_sync_period: 5     # seconds
datasource_monitor: {{interval_s: 10, timeout_s: 30}}
congress_install:
  source: index               # index, wheelhouse or preinstalled
  url: https://pypi.org/simple

# fencing:                    # fence_openstack for the datasource pair (password from $CONGRESS_TF_FENCING_PASSWORD)
#   auth_url: https://keystone.example.org:5000/v3
#   username: congress-fencing
#   project_name: congress

state:
  backend: local              # local, s3 (bucket, key, region, endpoint) or http (address, ...)
"""
