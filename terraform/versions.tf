terraform {
  required_version = ">= 1.6"
  required_providers {
    openstack = {
      source  = "terraform-provider-openstack/openstack"
      version = "~> 3.0"
    }
  }
}

# Either a clouds.yaml entry (var.cloud, as OS_CLOUD) or explicit auth. The
# provider authenticates lazily and the modules use no data sources, so a plan
# needs no cloud: IDs come in as variables. It does read clouds.yaml when it is
# configured, so a named cloud needs its entry even to plan.
provider "openstack" {
  cloud               = var.cloud
  auth_url            = var.auth.auth_url
  region              = var.auth.region
  user_name           = var.auth.user_name
  password            = var.auth.password
  tenant_name         = var.auth.project_name
  user_domain_name    = var.auth.user_domain_name
  project_domain_name = var.auth.project_domain_name
}
