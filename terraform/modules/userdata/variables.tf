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
  description = "The API VIP (Octavia VIP or keepalived VIP) and the port Congress listens on."
  type = object({
    vip  = string
    port = number
  })
}

variable "database" {
  description = "Shared MariaDB endpoint (a backing VM or an external server)."
  type = object({
    host = string
    port = number
    name = string
    user = string
  })
}

variable "rabbitmq" {
  description = "Shared RabbitMQ endpoint (a backing VM or an external broker)."
  type = object({
    host  = string
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
}

variable "haproxy" {
  description = "HAProxy health-check timing and the keepalived VRRP router id."
  type = object({
    check_interval_ms = number
    fall              = number
    rise              = number
    vrrp_router_id    = number
  })
}

variable "fencing" {
  description = "fence_openstack settings for the datasource pair; null disables STONITH (logged on the nodes)."
  type        = map(string)
  default     = null
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
  })
  sensitive = true
}

variable "ssh_authorized_keys" {
  description = "Public keys for the default user of every VM."
  type        = list(string)
  default     = []
}
