variable "role" {
  description = "Role of these nodes (backing, datasource, policy_engine, haproxy); tagged on each VM."
  type        = string
}

variable "nodes" {
  description = "VMs to create by name, each with its fixed IP, rendered cloud-init and, where it differs from var.security_group_ids, its own security groups."
  type = map(object({
    ip                 = string
    user_data          = string
    security_group_ids = optional(list(string))
  }))
}

variable "vm" {
  description = "Where and how the VMs boot: image, flavor, key pair, network and subnet IDs."
  type = object({
    image_id   = string
    flavor_id  = string
    key_pair   = optional(string)
    network_id = string
    subnet_id  = string
  })
}

variable "security_group_ids" {
  description = "Security groups on every port."
  type        = list(string)
}

variable "allowed_address_pairs" {
  description = "Extra addresses the ports may carry (a VRRP VIP)."
  type        = list(string)
  default     = []
}

variable "server_group" {
  description = "Nova server group to spread the nodes with (name and policy), or null."
  type = object({
    name   = string
    policy = string
  })
  default = null
}
