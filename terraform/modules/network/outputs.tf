output "network_id" {
  description = "ID of the cluster network."
  value       = local.network_id
}

output "subnet_id" {
  description = "ID of the cluster subnet."
  value       = local.subnet_id
}

output "security_group_ids" {
  description = "Security group ID by role: policy_engine, datasource, database, rabbitmq, haproxy, ssh."
  value       = { for name, group in openstack_networking_secgroup_v2.role : name => group.id }
}
