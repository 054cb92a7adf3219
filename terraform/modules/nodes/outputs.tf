output "ids" {
  description = "Instance ID by node name."
  value       = { for name, node in openstack_compute_instance_v2.node : name => node.id }
}

output "port_ids" {
  description = "Port ID by node name."
  value       = { for name, port in openstack_networking_port_v2.node : name => port.id }
}

output "server_group_id" {
  description = "ID of the server group, or null."
  value       = one(openstack_compute_servergroup_v2.nodes[*].id)
}
