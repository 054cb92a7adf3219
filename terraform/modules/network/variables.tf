variable "name_prefix" {
  description = "Prefix of every resource name."
  type        = string
}

variable "cidr" {
  description = "CIDR of the cluster subnet."
  type        = string
}

variable "existing" {
  description = "Use this network and subnet instead of creating them (both IDs, or null)."
  type = object({
    network_id = string
    subnet_id  = string
  })
  default = null
}

variable "external_network_id" {
  description = "External network for the router's gateway; null creates no router."
  type        = string
  default     = null
}

variable "dns_nameservers" {
  description = "DNS servers handed out on the created subnet."
  type        = list(string)
  default     = []
}

variable "allocation_pool" {
  description = "Range Neutron may hand out dynamically (router, DHCP, Octavia amphorae); fixed node IPs stay outside it."
  type = object({
    start = string
    end   = string
  })
}

variable "api_port" {
  description = "TCP port of the Congress API."
  type        = number
}

variable "allowed_client_cidrs" {
  description = "CIDRs allowed to reach the API on the HAProxy VIP (clients and admins)."
  type        = list(string)
}

variable "admin_cidrs" {
  description = "CIDRs allowed to reach SSH on every node and the API on the policy engines directly."
  type        = list(string)
}

variable "backing_mode" {
  description = "single, cluster or external (the root module's backing.mode): which MariaDB, Galera and RabbitMQ ports to open, and to whom."
  type        = string
}
