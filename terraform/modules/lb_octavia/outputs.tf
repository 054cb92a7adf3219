output "vip_address" {
  description = "The API VIP."
  value       = openstack_lb_loadbalancer_v2.api.vip_address
}

output "floating_ip" {
  description = "Floating IP of the VIP, or null."
  value       = one(openstack_networking_floatingip_v2.api[*].address)
}
