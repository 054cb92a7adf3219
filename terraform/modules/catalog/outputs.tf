output "service_id" {
  description = "ID of the policy service in the catalog."
  value       = openstack_identity_service_v3.congress.id
}

output "endpoints" {
  description = "Endpoint URL by interface."
  value       = { for interface, endpoint in openstack_identity_endpoint_v3.congress : interface => endpoint.url }
}

output "region" {
  description = "Keystone region of the endpoints."
  value       = var.region
}
