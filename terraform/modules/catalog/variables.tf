variable "region" {
  description = "Keystone region of the endpoints."
  type        = string
}

variable "urls" {
  description = "Endpoint URL per interface: public, internal and admin."
  type        = map(string)

  validation {
    condition     = toset(keys(var.urls)) == toset(["public", "internal", "admin"])
    error_message = "urls must give exactly the public, internal and admin endpoints."
  }
}
