variable "name" {
  description = "Name of the load balancer and its parts."
  type        = string
}

variable "subnet_id" {
  description = "Subnet of the VIP and of the members."
  type        = string
}

variable "vip_address" {
  description = "Fixed VIP address on the subnet."
  type        = string
}

variable "api_port" {
  description = "Port of the listener and of the members."
  type        = number
}

variable "member_addresses" {
  description = "Policy-engine IPs by node name."
  type        = map(string)
}

variable "persistence" {
  description = "Session persistence type: SOURCE_IP or HTTP_COOKIE."
  type        = string
}

variable "allowed_client_cidrs" {
  description = "CIDRs allowed to reach the listener."
  type        = list(string)

  validation {
    condition     = length(var.allowed_client_cidrs) > 0
    error_message = "allowed_client_cidrs must name at least one CIDR: Octavia opens a listener without allowed_cidrs to everyone."
  }
}

variable "health_check" {
  description = "Health monitor timing in seconds and retries."
  type = object({
    delay       = number
    timeout     = number
    max_retries = number
  })
}

variable "floating_ip_pool" {
  description = "External network name to take a floating IP for the VIP from, or null."
  type        = string
  default     = null
}

variable "tls" {
  description = "TLS on the VIP: container_ref, the Barbican certificate container of a TERMINATED_HTTPS listener on api_port; redirect_port, where plain HTTP is redirected to HTTPS. null: plain HTTP on api_port."
  type = object({
    container_ref = string
    redirect_port = number
  })
  default = null
}
