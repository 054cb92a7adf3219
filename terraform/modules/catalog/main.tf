# Congress in the Keystone catalog, as every Congress deployer registers it: a service of type
# `policy` named `congress` (what python-congressclient and `openstack congress` look up), with
# public, internal and admin endpoints. Creating services and endpoints needs an admin token.

resource "openstack_identity_service_v3" "congress" {
  name        = "congress"
  type        = "policy"
  description = "OpenStack Congress: policy as a service"
  enabled     = true
}

# No endpoint `name`: Keystone ignores it, and provider 3.4.0 would send a changed name as the region.
resource "openstack_identity_endpoint_v3" "congress" {
  for_each = var.urls

  service_id      = openstack_identity_service_v3.congress.id
  endpoint_region = var.region
  interface       = each.key
  url             = each.value
}
