terraform {
  # templatefile(), cidrnetmask() and optional() object attributes; no provider: this module has no resources.
  required_version = ">= 1.3"
}
