variable "name" {
  description = "Prefix of the VIP port's name."
  type        = string
}

variable "nodes" {
  description = "The two HAProxy + keepalived VMs by name: fixed IP and rendered cloud-init."
  type = map(object({
    ip        = string
    user_data = string
  }))

  validation {
    condition     = length(var.nodes) == 2
    error_message = "lb_haproxy runs exactly two HAProxy + keepalived VMs."
  }
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
  description = "Security groups on the HAProxy ports and the VIP port."
  type        = list(string)
}

variable "vip_address" {
  description = "The VRRP VIP keepalived moves between the two VMs."
  type        = string
}

variable "server_group_policy" {
  description = "Nova server group policy spreading the pair."
  type        = string
}

variable "floating_ip_pool" {
  description = "External network name to take a floating IP for the VIP from, or null."
  type        = string
  default     = null
}
