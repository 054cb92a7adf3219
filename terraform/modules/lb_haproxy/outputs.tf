output "vip_address" {
  description = "The API VIP."
  value       = var.vip_address
}

output "floating_ip" {
  description = "Floating IP of the VIP, or null."
  value       = one(openstack_networking_floatingip_v2.api[*].address)
}

output "ids" {
  description = "Instance ID by node name."
  value       = module.haproxy.ids
}
