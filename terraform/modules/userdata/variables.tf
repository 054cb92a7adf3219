variable "nodes" {
  description = "Every VM by name: its role (backing, datasource, policy_engine or haproxy), fixed IP, Congress node id (policy engines and datasource pair) and, for backing VMs, the services it runs (mariadb, rabbitmq)."
  type = map(object({
    role     = string
    ip       = string
    node_id  = optional(string)
    services = optional(list(string), [])
  }))
  nullable = false
}

variable "subnet_cidr" {
  description = "CIDR of the cluster subnet every node sits on."
  type        = string
}

variable "api" {
  description = "The API VIP (Octavia VIP or keepalived VIP), the port Congress listens on, and whether the load balancer terminates TLS (https: Congress then trusts its X-Forwarded-Proto)."
  type = object({
    vip   = string
    port  = number
    https = optional(bool, false)
  })
}

variable "api_tls" {
  description = "HTTPS on the HAProxy VMs: the server certificate (PEM, chain after it) and its private key (PEM), or null for plain HTTP."
  type = object({
    certificate = string
    private_key = string
  })
  default   = null
  sensitive = true
}

variable "database" {
  description = "The MariaDB endpoint Congress connects to (a backing VM, an external server, or 127.0.0.1: each Congress node's local HAProxy) and, for a Galera cluster, its members in bootstrap order (else empty)."
  type = object({
    host = string
    port = number
    name = string
    user = string
    members = optional(list(object({
      name = string
      ip   = string
    })), [])
  })
}

variable "rabbitmq" {
  description = "The RabbitMQ brokers (backing VMs or external) Congress connects to: every host of one cluster."
  type = object({
    hosts = list(string)
    port  = number
    user  = string
    vhost = string
  })
}

variable "congress" {
  description = "Congress settings common to every Congress node."
  type = object({
    auth_strategy               = string # keystone | noauth
    keystone                    = map(string)
    datasource_sync_period      = number
    install_source              = string # index | wheelhouse | preinstalled
    install_url                 = string
    datasource_monitor_interval = number
    datasource_monitor_timeout  = number
  })

  validation {
    # Written into congress.conf and onto a command line: never a second line, a quote, $, ` or \.
    condition     = alltrue([for value in concat(values(var.congress.keystone), [var.congress.install_url]) : can(regex("^[^\\x00-\\x1f\\x7f\"'$`\\\\]*$", value))])
    error_message = "congress.keystone values and install_url must each be one line without quotes, $, ` or \\."
  }
}

variable "haproxy" {
  description = "HAProxy health-check timing, the keepalived VRRP router id, and the back-end slots: every name and address a policy engine may have, whether it exists now or not."
  type = object({
    check_interval_ms = number
    fall              = number
    rise              = number
    vrrp_router_id    = number
    slots             = list(object({ name = string, ip = string }))
  })
}

variable "fencing" {
  description = "fence_openstack settings for the datasource pair; null disables STONITH (logged on the nodes)."
  type        = map(string)
  default     = null

  validation {
    # Written between double quotes into the Pacemaker configuration.
    condition     = try(alltrue([for value in values(var.fencing) : can(regex("^[^\\x00-\\x1f\\x7f\"'$`\\\\]*$", value))]), var.fencing == null)
    error_message = "fencing values must each be one line without quotes, $, ` or \\."
  }
}

variable "secrets" {
  description = "Every secret the nodes need."
  type = object({
    db_password       = string
    rabbit_password   = string
    keystone_password = string
    cluster_auth_key  = string
    vrrp_password     = string
    fencing_password  = string
    encryption_key    = string
    erlang_cookie     = optional(string, "")
  })
  sensitive = true
}

variable "ssh_authorized_keys" {
  description = "Public keys for the default user of every VM."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for key in var.ssh_authorized_keys : can(regex("^[\\x20-\\x7e]+$", key))])
    error_message = "ssh_authorized_keys must each be one line of printable ASCII."
  }
}
