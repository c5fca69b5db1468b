variable "name" {
  description = "Name of the cluster: 1 to 63 lower-case letters, digits and '-'. It names the cluster's Azure objects (network security group, managed identity, Key Vault, load balancer) and its endpoints' scale sets (inferstack-<name>-<endpoint>); changing it replaces the cluster and its endpoints."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$", var.name))
    error_message = "name must be 1 to 63 lower-case letters, digits and '-', starting and ending with a letter or digit."
  }
}

variable "subscription_id" {
  description = "Subscription of the cluster. Null: the provider's azure.subscription_id, then ARM_SUBSCRIPTION_ID. Changing it replaces the cluster."
  type        = string
  default     = null

  validation {
    condition     = var.subscription_id == null || can(regex("^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$", var.subscription_id))
    error_message = "subscription_id must be a subscription id (a UUID such as 00000000-0000-0000-0000-000000000000), or null for the provider's."
  }
}

variable "resource_group" {
  description = "Existing resource group every object of the cluster and its endpoints is created in. Changing it replaces the cluster."
  type        = string

  validation {
    condition     = can(regex("^[-\\w.()]{0,89}[-\\w()]$", var.resource_group))
    error_message = "resource_group must be a resource group name: 1 to 90 letters, digits, '-', '_', '.', '(' and ')', not ending with '.'."
  }
}

variable "location" {
  description = "Azure location of every object, e.g. westeurope (data residency: nothing is created elsewhere). Changing it replaces the cluster."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9]{2,40}$", var.location))
    error_message = "location must be an Azure location name such as westeurope or eastus (lower case, no spaces)."
  }
}

variable "subnet_id" {
  description = "ID of the subnet for the nodes and the load balancer's private frontend (/subscriptions/<id>/resourceGroups/<group>/providers/Microsoft.Network/virtualNetworks/<vnet>/subnets/<subnet>). Changing it replaces the cluster."
  type        = string

  validation {
    condition     = can(regex("(?i)^/subscriptions/[0-9a-f-]{36}/resourceGroups/[-\\w.()]{1,90}/providers/Microsoft\\.Network/virtualNetworks/[-\\w.]{1,80}/subnets/[-\\w.]{1,80}$", var.subnet_id))
    error_message = "subnet_id must be a subnet's resource ID: /subscriptions/<id>/resourceGroups/<group>/providers/Microsoft.Network/virtualNetworks/<vnet>/subnets/<subnet>."
  }
}

variable "vm_size" {
  description = "GPU VM size of the nodes, offered in the location (and zones) and not restricted for the subscription, e.g. Standard_NC24ads_A100_v4 (see data.inferstack_gpu_types with cloud = \"azure\"). The plan checks it and the vCPU quotas; endpoints pick up a change at their next apply."
  type        = string

  validation {
    condition     = can(regex("^Standard_[A-Za-z0-9_]{1,55}$", var.vm_size))
    error_message = "vm_size must be an Azure VM size such as Standard_NC24ads_A100_v4."
  }
}

variable "node_image" {
  description = "OS image of the nodes: a marketplace image (publisher, offer, sku and version; version latest for the newest) or id of a gallery image (version) or managed image. It needs the NVIDIA driver and Docker with the NVIDIA container toolkit. Null: the Data Science VM's Ubuntu HPC 22.04 image (microsoft-dsvm/ubuntu-hpc/2204, latest)."
  type = object({
    publisher = optional(string)
    offer     = optional(string)
    sku       = optional(string)
    version   = optional(string)
    id        = optional(string)
  })
  default = null

  validation {
    condition = var.node_image == null ? true : (
      var.node_image.id != null
      ? var.node_image.publisher == null && var.node_image.offer == null && var.node_image.sku == null && var.node_image.version == null
      : var.node_image.publisher != null && var.node_image.offer != null && var.node_image.sku != null && var.node_image.version != null
    )
    error_message = "node_image takes either id, or publisher, offer, sku and version (\"latest\" for the newest), not both."
  }
}

variable "priority" {
  description = "How nodes are bought: spot_percentage percent of them on Spot (evicted ones Deallocate or Delete, at most max_price US dollars an hour; -1: up to the on-demand price). Null: all regular (on-demand) nodes."
  type = object({
    spot_percentage = optional(number)
    eviction_policy = optional(string)
    max_price       = optional(number)
  })
  default = null

  validation {
    condition     = var.priority == null ? true : var.priority.spot_percentage == null ? true : var.priority.spot_percentage >= 0 && var.priority.spot_percentage <= 100
    error_message = "priority.spot_percentage must be from 0 to 100."
  }
  validation {
    condition     = var.priority == null ? true : var.priority.eviction_policy == null ? true : contains(["Deallocate", "Delete"], var.priority.eviction_policy)
    error_message = "priority.eviction_policy must be Deallocate or Delete."
  }
}

variable "zones" {
  description = "Availability zones the nodes and the load balancer's frontend use, e.g. [\"1\", \"2\"]; vm_size must be offered in each. Null: no zone."
  type        = list(string)
  default     = null

  validation {
    condition     = alltrue([for z in var.zones == null ? [] : var.zones : can(regex("^[1-9]$", z))])
    error_message = "zones must be zone numbers such as \"1\", \"2\" and \"3\"."
  }
}

variable "os_disk_gib" {
  description = "Size in GiB of each node's Premium SSD OS disk, which also holds the Hugging Face cache: make it larger than the models' weights. Null: the image's size."
  type        = number
  default     = null

  validation {
    condition     = var.os_disk_gib == null ? true : var.os_disk_gib >= 30 && var.os_disk_gib <= 4095 && floor(var.os_disk_gib) == var.os_disk_gib
    error_message = "os_disk_gib must be a whole number of GiB from 30 to 4095."
  }
}

variable "allowed_cidrs" {
  description = "CIDRs that may reach the serving ports through the internal load balancer. Null: the address space of the subnet's virtual network."
  type        = list(string)
  default     = null

  validation {
    condition     = var.allowed_cidrs == null ? true : length(var.allowed_cidrs) > 0
    error_message = "allowed_cidrs must list at least one CIDR, or be null for the virtual network's address space."
  }
  validation {
    condition     = alltrue([for c in var.allowed_cidrs == null ? [] : var.allowed_cidrs : can(cidrhost(c, 0))])
    error_message = "every allowed_cidrs entry must be a CIDR block such as 10.0.0.0/16."
  }
  validation {
    condition     = alltrue([for c in var.allowed_cidrs == null ? [] : var.allowed_cidrs : !can(regex("/0$", c))])
    error_message = "allowed_cidrs must not admit the internet (a /0): name the networks that may call the endpoints."
  }
}

variable "serving_ports" {
  description = "TCP ports endpoints may listen on: the network security group opens exactly these, and each endpoint takes one of them (its port) for its rule on the load balancer."
  type        = list(number)
  default     = [8000]

  validation {
    condition     = length(var.serving_ports) > 0 && length(distinct(var.serving_ports)) == length(var.serving_ports)
    error_message = "serving_ports must list at least one port, each once."
  }
  validation {
    condition     = alltrue([for p in var.serving_ports : p >= 1024 && p <= 65535 && floor(p) == p])
    error_message = "serving_ports must be whole numbers from 1024 to 65535."
  }
}

variable "trusted_launch" {
  description = "Secure boot and vTPM on the nodes (the image must be Gen2 and support trusted launch). Null: the provider's default (true)."
  type        = bool
  default     = null
}

variable "key_vault" {
  description = "The cluster's Key Vault, which holds the endpoints' API keys for the nodes: purge_protection (keeps the vault and its name for 7 days after destroy; Azure cannot turn it off again) and public_network_access (routes read the key from the vault's data plane, so Terraform must reach it: a private endpoint, or this). Null: both false."
  type = object({
    purge_protection      = optional(bool)
    public_network_access = optional(bool)
  })
  default = null
}

variable "tags" {
  description = "Tags of the cluster's Azure objects and its endpoints' scale sets, beside the provider's azure.default_tags."
  type        = map(string)
  default     = null
}

variable "endpoints" {
  description = "vLLM endpoints to run on the cluster, by name: the Hugging Face model (pinned to the commit its revision resolves to), engine settings, replicas (the scale set's node count; the module sets no autoscaling), the load balancer port (one of serving_ports, one endpoint per port), and the rolling upgrade's batch and unhealthy limits in percent of the nodes."
  type = map(object({
    model                          = string
    revision                       = optional(string, "main")
    served_model_name              = optional(string)
    image                          = optional(string)
    tensor_parallel_size           = optional(number, 1)
    max_model_len                  = optional(number)
    gpu_memory_utilization         = optional(number)
    quantization                   = optional(string)
    kv_cache_dtype                 = optional(string)
    max_num_seqs                   = optional(number)
    extra_args                     = optional(list(string))
    replicas                       = optional(number, 1)
    port                           = optional(number, 8000)
    max_batch_instance_percent     = optional(number)
    max_unhealthy_instance_percent = optional(number)
  }))
  default = {}

  validation {
    condition     = alltrue([for k, e in var.endpoints : can(regex("^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$", k))])
    error_message = "endpoint names must be 1 to 40 lower-case letters, digits and '-', starting and ending with a letter or digit; got: ${join(", ", [for k, e in var.endpoints : jsonencode(k) if !can(regex("^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$", k))])}."
  }
  validation {
    condition     = alltrue([for e in values(var.endpoints) : e.tensor_parallel_size >= 1 && e.replicas >= 1 && floor(e.replicas) == e.replicas])
    error_message = "replicas and tensor_parallel_size must be whole numbers, at least 1."
  }
  validation {
    condition     = alltrue([for e in values(var.endpoints) : e.gpu_memory_utilization == null ? true : e.gpu_memory_utilization > 0 && e.gpu_memory_utilization <= 1])
    error_message = "gpu_memory_utilization is the share of each GPU's memory vLLM may take: more than 0 and at most 1 (null: vLLM's default, 0.92)."
  }
  validation {
    condition     = alltrue([for e in values(var.endpoints) : e.port >= 1024 && e.port <= 65535 && floor(e.port) == e.port])
    error_message = "every endpoint's port must be a whole number from 1024 to 65535 (and one of serving_ports)."
  }
  validation {
    condition     = length(distinct([for e in values(var.endpoints) : e.port])) == length(var.endpoints)
    error_message = "each endpoint needs a port of its own (it gets its own rule on the load balancer; port defaults to 8000): ${join("; ", [for p in distinct([for e in values(var.endpoints) : e.port]) : format("%s share port %d", join(", ", [for k, e in var.endpoints : k if e.port == p]), p) if length([for e in values(var.endpoints) : e if e.port == p]) > 1])}."
  }
  validation {
    condition = alltrue([for e in values(var.endpoints) : alltrue([
      for p in [e.max_batch_instance_percent, e.max_unhealthy_instance_percent] : p == null ? true : p >= 5 && p <= 100 && floor(p) == p
    ])])
    error_message = "max_batch_instance_percent and max_unhealthy_instance_percent must be whole percentages from 5 to 100."
  }
}

variable "api_key" {
  description = "API key every vLLM endpoint requires from clients (sent as a Bearer token). Kept in state (sensitive). On Terraform or OpenTofu 1.11 and later prefer api_key_wo. Set exactly one of api_key and api_key_wo."
  type        = string
  default     = null
  sensitive   = true

  validation {
    condition     = var.api_key == null ? true : length(var.api_key) > 0
    error_message = "api_key must not be empty: vLLM always runs with an API key."
  }
}

variable "api_key_wo" {
  description = "Write-only API key every vLLM endpoint requires from clients: written to the cluster's Key Vault for the nodes, never stored in plan or state. Needs Terraform or OpenTofu 1.11 or later; set api_key_wo_version with it."
  type        = string
  default     = null
  sensitive   = true

  validation {
    condition     = var.api_key_wo == null ? true : length(var.api_key_wo) > 0
    error_message = "api_key_wo must not be empty: vLLM always runs with an API key."
  }
}

variable "api_key_wo_version" {
  description = "Any number, changed whenever api_key_wo changes: the change sends the new key to every endpoint (a rolling upgrade). Required with api_key_wo."
  type        = number
  default     = null
}
