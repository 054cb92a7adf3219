output "user_data" {
  description = "Rendered #cloud-config per node name (holds secrets)."
  value       = local.user_data
  sensitive   = true
}
