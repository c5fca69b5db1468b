# An Azure inference stack: one GPU cluster in an existing resource group and subnet (a network
# security group, the nodes' user-assigned managed identity, a Key Vault in RBAC mode and an
# internal Standard load balancer) and the vLLM endpoints on it, each a VM scale set (Flexible
# orchestration) behind a rule of the load balancer on its own port. Credentials and the
# subscription are the provider's (its azure block or the ARM_* environment), so this module
# never handles an Azure secret.

locals {
  # The most nodes the endpoints run at once (one node per replica): the cluster's vCPU quota
  # check covers this many, and no endpoint's replicas may exceed it.
  max_nodes = length(var.endpoints) == 0 ? null : sum([for e in values(var.endpoints) : e.replicas])
}

resource "inferstack_inference_cluster" "this" {
  name = var.name
  azure = {
    subscription_id = var.subscription_id
    resource_group  = var.resource_group
    location        = var.location
    subnet_id       = var.subnet_id
    vm_size         = var.vm_size
    image           = var.node_image
    priority        = var.priority
    zones           = var.zones
    os_disk_gib     = var.os_disk_gib
    allowed_cidrs   = var.allowed_cidrs
    serving_ports   = var.serving_ports
    max_nodes       = local.max_nodes
    trusted_launch  = var.trusted_launch
    key_vault       = var.key_vault
    tags            = var.tags
  }

  lifecycle {
    # Checks across inputs live here rather than in variable validation: a validation block may
    # refer to other variables only in newer CLIs (Terraform 1.9 and later), and this module
    # supports 1.5.
    precondition {
      condition     = length(var.endpoints) == 0 || (var.api_key == null) != (var.api_key_wo == null)
      error_message = "Set exactly one of api_key and api_key_wo (write-only, Terraform or OpenTofu 1.11 and later): every vLLM endpoint requires a key from its clients."
    }
    precondition {
      condition     = (var.api_key_wo == null) == (var.api_key_wo_version == null)
      error_message = "api_key_wo and api_key_wo_version go together: change api_key_wo_version whenever api_key_wo changes, so the new key is sent."
    }
    precondition {
      condition     = alltrue([for e in values(var.endpoints) : contains(var.serving_ports, e.port)])
      error_message = "Every endpoint's port must be one of serving_ports (${join(", ", var.serving_ports)}), which the network security group opens: ${join("; ", [for k, e in var.endpoints : format("%s has port %d", k, e.port) if !contains(var.serving_ports, e.port)])}. Add the port to serving_ports or pick another."
    }
  }
}

resource "inferstack_model_endpoint" "this" {
  for_each = var.endpoints

  cluster_id        = inferstack_inference_cluster.this.id
  name              = each.key
  served_model_name = each.value.served_model_name
  model = {
    id       = each.value.model
    revision = each.value.revision
  }
  # What inferstack_deployment_plan recommends passes straight through (its recommended and
  # assumptions attributes): quantization, kv_cache_dtype, gpu_memory_utilization, max_num_seqs.
  engine = {
    image                  = each.value.image
    tensor_parallel_size   = each.value.tensor_parallel_size
    max_model_len          = each.value.max_model_len
    gpu_memory_utilization = each.value.gpu_memory_utilization
    quantization           = each.value.quantization
    kv_cache_dtype         = each.value.kv_cache_dtype
    max_num_seqs           = each.value.max_num_seqs
    extra_args             = each.value.extra_args
  }
  replicas           = each.value.replicas
  api_key            = var.api_key
  api_key_wo         = var.api_key_wo
  api_key_wo_version = var.api_key_wo_version
  azure = {
    port                           = each.value.port
    max_batch_instance_percent     = each.value.max_batch_instance_percent
    max_unhealthy_instance_percent = each.value.max_unhealthy_instance_percent
  }
}
