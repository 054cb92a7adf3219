# --- Cloud access ---------------------------------------------------------

variable "cloud" {
  description = "Name of a clouds.yaml entry (as OS_CLOUD); null to use var.auth or OS_* variables."
  type        = string
  default     = null

  validation {
    condition     = var.cloud == null || can(regex("^[A-Za-z0-9][A-Za-z0-9_.@+-]{0,63}$", var.cloud))
    error_message = "cloud must be a clouds.yaml entry name (A-Z, a-z, 0-9, _ . @ + -) or null."
  }
}

variable "auth" {
  description = "Explicit OpenStack credentials; every field may stay null to use var.cloud or OS_* variables."
  type = object({
    auth_url            = optional(string)
    region              = optional(string)
    user_name           = optional(string)
    password            = optional(string)
    project_name        = optional(string)
    user_domain_name    = optional(string, "Default")
    project_domain_name = optional(string, "Default")
  })
  default   = {}
  nullable  = false
  sensitive = true
}

# --- What the VMs boot ----------------------------------------------------

variable "name_prefix" {
  description = "Prefix of every resource name."
  type        = string
  default     = "congress"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,30}$", var.name_prefix))
    error_message = "name_prefix must start with a lowercase letter and hold only a-z, 0-9 and '-', at most 31 characters."
  }
}

variable "image_id" {
  description = "Glance image ID of a Debian 12 cloud image."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$", var.image_id))
    error_message = "image_id must be a Glance image ID (A-Z, a-z, 0-9, . _ -), not empty."
  }
}

variable "flavor_ids" {
  description = "Nova flavor ID per role; `default` serves every role not named."
  type = object({
    default       = string
    policy_engine = optional(string)
    datasource    = optional(string)
    backing       = optional(string)
    haproxy       = optional(string)
  })

  validation {
    condition     = alltrue([for role, id in var.flavor_ids : can(regex("^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$", id)) if id != null])
    error_message = "flavor_ids must be Nova flavor IDs (A-Z, a-z, 0-9, . _ -), not empty."
  }
}

variable "key_pair" {
  description = "Nova key pair name for SSH, or null."
  type        = string
  default     = null

  validation {
    condition     = var.key_pair == null || can(regex("^[A-Za-z0-9_.@-]([A-Za-z0-9 _.@-]{0,253}[A-Za-z0-9_.@-])?$", var.key_pair))
    error_message = "key_pair must be a Nova key pair name (A-Z, a-z, 0-9, spaces inside, _ . @ -) or null, not empty."
  }
}

variable "ssh_authorized_keys" {
  description = "Public keys added to the default user of every VM."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for key in var.ssh_authorized_keys : can(regex("^(ssh-(rsa|ed25519|dss)|ecdsa-sha2-nistp(256|384|521)|sk-(ssh-ed25519|ecdsa-sha2-nistp256)@openssh\\.com) AAAA[A-Za-z0-9+/]+={0,3}( [\\x20-\\x7e]{1,200})?$", key))])
    error_message = "ssh_authorized_keys must hold OpenSSH public keys, one line each (ssh-ed25519 AAAA... comment); never a private key."
  }
}

# --- Network ---------------------------------------------------------------

variable "network" {
  description = "The cluster subnet's CIDR; with existing_network_id and existing_subnet_id, the subnet to use instead of creating one. Nodes take fixed hosts .10-.199 of it; Neutron allocates from .200 up."
  type = object({
    cidr                = string
    existing_network_id = optional(string)
    existing_subnet_id  = optional(string)
    external_network_id = optional(string)
    dns_nameservers     = optional(list(string), [])
  })

  validation {
    condition     = can(regex("^((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])/([0-9]|[12][0-9]|3[0-2])$", var.network.cidr)) && try(cidrhost(var.network.cidr, 0) == split("/", var.network.cidr)[0], false)
    error_message = "network.cidr must be an IPv4 CIDR such as 10.20.0.0/24, host bits zero."
  }
  validation {
    condition     = !can(regex("^((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])/([0-9]|[12][0-9]|3[0-2])$", var.network.cidr)) || try(tonumber(split("/", var.network.cidr)[1]) <= 24 && tonumber(split("/", var.network.cidr)[1]) >= 8, false)
    error_message = "network.cidr must be a /24 or larger, and at most a /8: nodes use hosts .10 to .199 and Neutron allocates from .200."
  }
  validation {
    condition     = !can(regex("^((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])/([0-9]|[12][0-9]|3[0-2])$", var.network.cidr)) || (!contains(["0", "127"], split(".", var.network.cidr)[0]) && try(tonumber(split(".", var.network.cidr)[0]) < 224, false) && !startswith(var.network.cidr, "169.254."))
    error_message = "network.cidr must be a unicast range: not 0.0.0.0/8, loopback (127.0.0.0/8), link-local (169.254.0.0/16), multicast (224.0.0.0/4) or reserved (240.0.0.0/4)."
  }
  validation {
    condition     = alltrue([for id in [var.network.existing_network_id, var.network.existing_subnet_id, var.network.external_network_id] : can(regex("^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$", id)) if id != null])
    error_message = "network.existing_network_id, existing_subnet_id and external_network_id must be Neutron IDs (A-Z, a-z, 0-9, . _ -), not empty."
  }
  validation {
    condition     = var.network.existing_network_id == null || var.network.external_network_id == null
    error_message = "network.external_network_id uplinks the router of a network this module creates; with existing_network_id there is none: leave it null."
  }
  validation {
    condition     = alltrue([for ip in var.network.dns_nameservers : can(regex("^((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])$", ip)) && (!contains(["0", "127"], split(".", ip)[0]) && try(tonumber(split(".", ip)[0]) < 224, false) && !startswith(ip, "169.254."))])
    error_message = "network.dns_nameservers must hold IPv4 addresses of reachable name servers (not 0.0.0.0, loopback, link-local, multicast or reserved)."
  }
  validation {
    condition     = length(var.network.dns_nameservers) <= 5 && length(distinct(var.network.dns_nameservers)) == length(var.network.dns_nameservers)
    error_message = "network.dns_nameservers holds at most 5 servers, each once (Neutron refuses duplicates)."
  }
  validation {
    condition     = (var.network.existing_network_id == null) == (var.network.existing_subnet_id == null)
    error_message = "network.existing_network_id and network.existing_subnet_id go together: give both or neither."
  }
}

variable "admin_cidrs" {
  description = "CIDRs allowed to SSH to every node and to reach each policy engine's API directly."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for cidr in var.admin_cidrs : can(regex("^((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])/([0-9]|[12][0-9]|3[0-2])$", cidr)) && try(cidrhost(cidr, 0) == split("/", cidr)[0], false)])
    error_message = "admin_cidrs must hold only IPv4 CIDRs such as 192.0.2.0/24, host bits zero."
  }
  validation {
    condition     = length(distinct(var.admin_cidrs)) == length(var.admin_cidrs) && length(var.admin_cidrs) <= 32
    error_message = "admin_cidrs must name each CIDR once, at most 32."
  }
}

variable "allowed_client_cidrs" {
  description = "CIDRs allowed to reach the API on the load balancer, besides admin_cidrs. Empty: only the cluster subnet and admin_cidrs."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for cidr in var.allowed_client_cidrs : can(regex("^((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])/([0-9]|[12][0-9]|3[0-2])$", cidr)) && try(cidrhost(cidr, 0) == split("/", cidr)[0], false)])
    error_message = "allowed_client_cidrs must hold only IPv4 CIDRs such as 0.0.0.0/0 or 192.0.2.0/24, host bits zero."
  }
  validation {
    condition     = length(distinct(var.allowed_client_cidrs)) == length(var.allowed_client_cidrs) && length(var.allowed_client_cidrs) <= 32
    error_message = "allowed_client_cidrs must name each CIDR once, at most 32."
  }
}

# --- Topology --------------------------------------------------------------

variable "policy_engine_count" {
  description = "Number of API + policy-engine nodes (the HA guide asks for at least 2)."
  type        = number
  default     = 2

  validation {
    condition     = var.policy_engine_count >= 2 && var.policy_engine_count <= 64 && floor(var.policy_engine_count) == var.policy_engine_count
    error_message = "policy_engine_count must be a whole number from 2 to 64."
  }
}

variable "server_group_policy" {
  description = "Nova server group policy spreading policy engines, the datasource pair and the HAProxy pair."
  type        = string
  default     = "anti-affinity"

  validation {
    condition     = contains(["anti-affinity", "soft-anti-affinity"], var.server_group_policy)
    error_message = "server_group_policy must be anti-affinity or soft-anti-affinity."
  }
}

variable "backing" {
  description = "Where MariaDB and RabbitMQ run. mode single: one MariaDB VM and one RabbitMQ VM; cluster: three MariaDB + Galera VMs and three clustered RabbitMQ VMs, each trio in its own server group (needs secrets.erlang_cookie); external: existing servers, database (host, port) and rabbitmq (hosts, port)."
  type = object({
    mode = optional(string, "single")
    database = optional(object({
      host = string
      port = optional(number, 3306)
    }))
    rabbitmq = optional(object({
      hosts = list(string)
      port  = optional(number, 5672)
    }))
  })
  default  = {}
  nullable = false

  validation {
    condition     = contains(["single", "cluster", "external"], var.backing.mode)
    error_message = "backing.mode must be single, cluster or external."
  }
  validation {
    condition     = var.backing.mode == "external" ? var.backing.database != null && var.backing.rabbitmq != null : var.backing.database == null && var.backing.rabbitmq == null
    error_message = "backing.database and backing.rabbitmq are both required with mode external, and allowed only there."
  }
  validation {
    condition     = var.backing.rabbitmq == null || try(length(var.backing.rabbitmq.hosts) > 0, false)
    error_message = "backing.rabbitmq.hosts must name at least one host."
  }
  validation {
    condition     = alltrue([for port in [try(var.backing.database.port, 3306), try(var.backing.rabbitmq.port, 5672)] : port >= 1 && port <= 65535 && floor(port) == port])
    error_message = "backing.database.port and backing.rabbitmq.port must be whole numbers from 1 to 65535."
  }
  validation {
    # Written into connection URLs and config files: a DNS name or an IPv4 address, nothing else.
    condition = alltrue([for host in concat(try([var.backing.database.host], []), try(var.backing.rabbitmq.hosts, [])) :
      (can(regex("^((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])$", host)) || (can(regex("^([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\\.)*[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\\.?$", host)) && !can(regex("^[0-9.]+$", host))))
    && !can(regex("^(localhost\\.?|127\\..*|0\\.0\\.0\\.0)$", host))])
    error_message = "backing.database.host and backing.rabbitmq.hosts must be DNS names or IPv4 addresses of other servers: no port (it has its own key), not localhost or 127.x."
  }
}

# --- Load balancer ---------------------------------------------------------

variable "lb_provider" {
  description = "octavia (an Octavia load balancer) or haproxy (two HAProxy + keepalived VMs, for clouds without Octavia)."
  type        = string
  default     = "octavia"

  validation {
    condition     = contains(["octavia", "haproxy"], var.lb_provider)
    error_message = "lb_provider must be octavia or haproxy."
  }
}

variable "api_port" {
  description = "TCP port of the Congress API on the nodes and on the load balancer."
  type        = number
  default     = 1789

  validation {
    condition     = var.api_port >= 1 && var.api_port <= 65535 && floor(var.api_port) == var.api_port
    error_message = "api_port must be a whole number from 1 to 65535."
  }
  validation {
    condition     = var.api_port >= 1024 && !contains([2224, 3306, 4369, 4444, 4567, 4568, 5405, 5672, 25672], var.api_port)
    error_message = "api_port must be 1024 or more (Congress runs unprivileged) and not a port the nodes use (22, 2224, 3306, 4369, 4444, 4567, 4568, 5405, 5672, 25672)."
  }
}

variable "octavia_tls" {
  description = "lb_provider octavia: terminate TLS on the VIP with the certificate and key in this Barbican container (TERMINATED_HTTPS on api_port; Octavia's service user must be able to read it), redirect plain HTTP on redirect_port to HTTPS, insert X-Forwarded-Proto. null: plain HTTP."
  type = object({
    container_ref = string
    redirect_port = optional(number, 80)
  })
  default = null

  validation {
    condition     = var.octavia_tls == null || can(regex("^https?://[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?(:[0-9]{1,5})?/([A-Za-z0-9._~-]+/)*(containers|secrets)/[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$", try(var.octavia_tls.container_ref, "")))
    error_message = "octavia_tls.container_ref must be a Barbican reference: https://<barbican>/v1/containers/<uuid> (a certificate container) or .../v1/secrets/<uuid> (a PKCS12 secret)."
  }
  validation {
    condition     = var.octavia_tls == null || try(var.octavia_tls.redirect_port >= 1 && var.octavia_tls.redirect_port <= 65535 && floor(var.octavia_tls.redirect_port) == var.octavia_tls.redirect_port, false)
    error_message = "octavia_tls.redirect_port must be a whole number from 1 to 65535."
  }
}

variable "haproxy_tls" {
  description = "lb_provider haproxy: terminate TLS on the VIP (and each HAProxy VM's own address) on api_port with this server certificate (PEM, intermediate certificates after it) and its unencrypted private key (PEM); plain HTTP to that port gets a redirect to https; Congress reads X-Forwarded-Proto. null: plain HTTP. The CLI generates both, with a CA of the environment's own, unless env.yaml names files."
  type = object({
    certificate = string
    private_key = string
  })
  default   = null
  sensitive = true

  validation {
    # Checked through the whole object: Terraform would print a sensitive attribute's value in the error.
    condition     = var.haproxy_tls == null ? true : alltrue([for key, value in var.haproxy_tls : can(regex(key == "certificate" ? "^\\s*-----BEGIN CERTIFICATE-----" : "^\\s*-----BEGIN (RSA |EC )?PRIVATE KEY-----", value))])
    error_message = "haproxy_tls.certificate must be PEM certificates (-----BEGIN CERTIFICATE-----, the server's first) and haproxy_tls.private_key an unencrypted PEM private key (-----BEGIN PRIVATE KEY-----)."
  }
}

variable "lb_persistence" {
  description = "Sticky sessions: SOURCE_IP (the HA guide's recommendation) or HTTP_COOKIE."
  type        = string
  default     = "SOURCE_IP"

  validation {
    condition     = contains(["SOURCE_IP", "HTTP_COOKIE"], var.lb_persistence)
    error_message = "lb_persistence must be SOURCE_IP or HTTP_COOKIE."
  }
}

variable "floating_ip_pool" {
  description = "External network name to take a floating IP for the API VIP from, or null for none."
  type        = string
  default     = null

  validation {
    condition     = var.floating_ip_pool == null || can(regex("^[^\\x00-\\x20\\x7f]([^\\x00-\\x1f\\x7f]{0,253}[^\\x00-\\x20\\x7f])?$", var.floating_ip_pool))
    error_message = "floating_ip_pool must be a network name on one line, not empty, or null."
  }
}

variable "health_check" {
  description = "Load balancer health checks of GET / on each policy engine: seconds between checks, timeout, failures before a node is out."
  type = object({
    interval_s = optional(number, 2)
    timeout_s  = optional(number, 2)
    fall       = optional(number, 2)
    rise       = optional(number, 2)
  })
  default  = {}
  nullable = false

  validation {
    condition     = var.health_check.interval_s >= 1 && var.health_check.timeout_s >= 1 && var.health_check.timeout_s <= var.health_check.interval_s && var.health_check.fall >= 1 && var.health_check.rise >= 1
    error_message = "health_check needs interval_s >= 1, 1 <= timeout_s <= interval_s, fall >= 1 and rise >= 1."
  }
  validation {
    condition     = alltrue([for value in values(var.health_check) : floor(value) == value]) && var.health_check.interval_s <= 3600 && var.health_check.fall <= 10 && var.health_check.rise <= 10
    error_message = "health_check takes whole numbers: interval_s up to 3600, fall and rise up to 10 (Octavia's max_retries)."
  }
}

# --- Congress --------------------------------------------------------------

variable "auth_strategy" {
  description = "Congress API authentication: keystone, or noauth for labs."
  type        = string
  default     = "keystone"

  validation {
    condition     = contains(["keystone", "noauth"], var.auth_strategy)
    error_message = "auth_strategy must be keystone or noauth."
  }
}

variable "keystone" {
  description = "[keystone_authtoken] settings of the congress service user (auth_strategy = keystone)."
  type = object({
    auth_url             = optional(string)
    www_authenticate_uri = optional(string)
    region_name          = optional(string, "RegionOne")
    project_name         = optional(string, "service")
    project_domain_name  = optional(string, "Default")
    user_domain_name     = optional(string, "Default")
    username             = optional(string, "congress")
  })
  default  = {}
  nullable = false

  validation {
    condition     = alltrue([for key in ["auth_url", "www_authenticate_uri"] : !can(regex("^[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*@", var.keystone[key])) if var.keystone[key] != null])
    error_message = "keystone.auth_url and www_authenticate_uri must not hold credentials (user:password@): the password goes in secrets.keystone_password."
  }
  validation {
    condition     = alltrue([for key in ["auth_url", "www_authenticate_uri"] : can(regex("^https?://[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?(:[0-9]{1,5})?(/[A-Za-z0-9._~:/?#\\[\\]@!&()*+,;=%-]*)?$", var.keystone[key])) if var.keystone[key] != null])
    error_message = "keystone.auth_url and www_authenticate_uri must each be one http:// or https:// URL (no spaces, line breaks, quotes or $)."
  }
  validation {
    condition     = alltrue([for key, value in var.keystone : can(regex("^[A-Za-z0-9_.@+-]([A-Za-z0-9 _.@+-]{0,253}[A-Za-z0-9_.@+-])?$", value)) if value != null && !contains(["auth_url", "www_authenticate_uri"], key)])
    error_message = "keystone.region_name, project_name, project_domain_name, user_domain_name and username must each be one line of A-Z, a-z, 0-9, spaces inside and _ . @ + -, not empty."
  }
}

variable "catalog" {
  description = "Register Congress in the Keystone catalog (needs an admin token): service type policy named congress, public, internal and admin endpoints on the API URL (public on the floating IP when there is one) in region (null: keystone.region_name)."
  type = object({
    enabled = optional(bool, false)
    region  = optional(string)
  })
  default  = {}
  nullable = false

  validation {
    condition     = var.catalog.region == null || can(regex("^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$", coalesce(var.catalog.region, "-")))
    error_message = "catalog.region must be a Keystone region ID (A-Z, a-z, 0-9, _ . -, at most 64 characters) or null for keystone.region_name."
  }
}

variable "datasource_sync_period" {
  description = "Seconds between two synchronisations of every Congress node with the database (Congress option datasource_sync_period, honoured through the runtime's compatibility shim: Congress 11.0.0 alone would always use 60). A rule or policy created through one policy engine reaches the others within this period. Each sync, every policy engine reads three small tables whole (policies, datasources, policy_rules: one SELECT each) and the datasource node reads datasources, so N engines cost about 3N/period queries per second; 5 keeps the lag under 10 s for a fraction of a query per second per engine."
  type        = number
  default     = 5

  validation {
    condition     = var.datasource_sync_period >= 1 && var.datasource_sync_period <= 3600
    error_message = "datasource_sync_period must be from 1 to 3600 seconds."
  }
}

variable "datasource_monitor" {
  description = "Pacemaker monitor of the ds-node resource: interval and timeout in seconds (the HA guide uses 30/30)."
  type = object({
    interval_s = optional(number, 10)
    timeout_s  = optional(number, 30)
  })
  default  = {}
  nullable = false

  validation {
    condition     = var.datasource_monitor.interval_s >= 1 && var.datasource_monitor.timeout_s >= 1
    error_message = "datasource_monitor.interval_s and timeout_s must be at least 1 second."
  }
  validation {
    condition     = alltrue([for value in values(var.datasource_monitor) : floor(value) == value && value <= 3600])
    error_message = "datasource_monitor.interval_s and timeout_s must be whole seconds, at most 3600."
  }
}

variable "congress_install" {
  description = "Where VMs get Congress: source index (a package index URL; default PyPI), wheelhouse (a URL of wheels) or preinstalled (a golden image; install skipped, version checked)."
  type = object({
    source = optional(string, "index")
    url    = optional(string, "https://pypi.org/simple")
  })
  default  = {}
  nullable = false

  validation {
    condition     = contains(["index", "wheelhouse", "preinstalled"], var.congress_install.source)
    error_message = "congress_install.source must be index, wheelhouse or preinstalled."
  }
  validation {
    condition     = !can(regex("^[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*@", var.congress_install.url))
    error_message = "congress_install.url must not hold credentials (user:password@): the VMs log it and it lands in files anyone may read."
  }
  validation {
    condition     = can(regex("^https?://[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?(:[0-9]{1,5})?(/[A-Za-z0-9._~:/?#\\[\\]@!&()*+,;=%-]*)?$", var.congress_install.url))
    error_message = "congress_install.url must be one http:// or https:// URL (no spaces, line breaks, quotes or $)."
  }
}

variable "fencing" {
  description = "fence_openstack credentials for the datasource pair; null disables STONITH (logged on the nodes)."
  type = object({
    auth_url            = string
    region_name         = optional(string, "RegionOne")
    username            = string
    project_name        = string
    user_domain_name    = optional(string, "Default")
    project_domain_name = optional(string, "Default")
  })
  default = null

  validation {
    condition     = var.fencing == null || !can(regex("^[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*@", try(var.fencing.auth_url, "")))
    error_message = "fencing.auth_url must not hold credentials (user:password@): the password goes in secrets.fencing_password."
  }
  validation {
    condition     = var.fencing == null || can(regex("^https?://[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?(:[0-9]{1,5})?(/[A-Za-z0-9._~:/?#\\[\\]@!&()*+,;=%-]*)?$", try(var.fencing.auth_url, "")))
    error_message = "fencing.auth_url must be one http:// or https:// URL (no spaces, line breaks, quotes or $)."
  }
  validation {
    condition     = try(alltrue([for key, value in var.fencing : can(regex("^[A-Za-z0-9_.@+-]([A-Za-z0-9 _.@+-]{0,253}[A-Za-z0-9_.@+-])?$", value)) if key != "auth_url"]), var.fencing == null)
    error_message = "fencing.region_name, username, project_name, user_domain_name and project_domain_name must each be one line of A-Z, a-z, 0-9, spaces inside and _ . @ + -, not empty."
  }
}

# --- Secrets ---------------------------------------------------------------

variable "secrets" {
  description = "Every secret the deployment uses, each at least 16 characters (the CLI generates them). keystone_password, fencing_password and erlang_cookie may be empty when unused; encryption_key is a Fernet key."
  type = object({
    db_password       = string
    rabbit_password   = string
    cluster_auth_key  = string
    vrrp_password     = string
    keystone_password = optional(string, "")
    fencing_password  = optional(string, "")
    # Congress's Fernet key for datasource secrets (/etc/congress/keys/aes_key on every Congress node).
    encryption_key = string
    erlang_cookie  = optional(string, "") # backing mode cluster: the RabbitMQ nodes' shared cookie
  })
  sensitive = true

  validation {
    condition = alltrue([for name in ["db_password", "rabbit_password", "cluster_auth_key", "vrrp_password"] :
    length(var.secrets[name]) >= 16])
    error_message = "secrets.db_password, rabbit_password, cluster_auth_key and vrrp_password must each be at least 16 characters."
  }
  validation {
    condition     = alltrue([for value in values(var.secrets) : length(value) == 0 || length(value) >= 16])
    error_message = "secrets.keystone_password, fencing_password and erlang_cookie must be empty or at least 16 characters."
  }
  validation {
    condition     = alltrue([for name, value in var.secrets : can(regex("^[A-Za-z0-9._~-]*$", value)) if name != "encryption_key"])
    error_message = "secrets may hold only A-Z, a-z, 0-9 and . _ ~ - (they go into URLs and config files unquoted)."
  }
  validation {
    # 32 bytes in URL-safe base64: 43 characters, the last one carrying 4 bits, then one "=".
    # Checked through the whole object: Terraform would print a sensitive attribute's value in the error.
    condition     = alltrue([for name, value in var.secrets : can(regex("^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]=$", value)) if name == "encryption_key"])
    error_message = "secrets.encryption_key must be a Fernet key: 32 random bytes in URL-safe base64 (44 characters ending in =), e.g. from python3 -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'."
  }
}
