# An AWS inference stack: one GPU cluster (security group, node role and instance profile,
# internal network load balancer, base launch template) and the vLLM endpoints on it, each an
# Auto Scaling group of its own behind a listener of the load balancer. Credentials and the
# default region are the provider's (its aws block or the AWS SDK's chain), so this module never
# handles an AWS secret.

locals {
  # Desired replicas: as given; else autoscaling.min (at least 1); else 1.
  replicas = { for k, e in var.endpoints : k => (
    e.replicas != null ? e.replicas : (e.autoscaling != null ? max(e.autoscaling.min, 1) : 1)
  ) }

  # The most nodes the endpoints can run at once (one node per replica): each endpoint's
  # autoscaling.max, or its replicas. The cluster's vCPU quota check covers this many.
  max_nodes = length(var.endpoints) == 0 ? null : sum([
    for k, e in var.endpoints : e.autoscaling != null ? e.autoscaling.max : local.replicas[k]
  ])

  ami = var.ami_id == null && var.ami_ssm_parameter == null ? null : {
    id            = var.ami_id
    ssm_parameter = var.ami_ssm_parameter
  }
}

resource "inferstack_inference_cluster" "this" {
  name = var.name
  aws = {
    region          = var.region
    subnet_ids      = var.subnet_ids
    instance_type   = var.instance_type
    ami             = local.ami
    root_volume_gib = var.root_volume_gib
    capacity        = var.capacity
    allowed_cidrs   = var.allowed_cidrs
    serving_ports   = var.serving_ports
    max_nodes       = local.max_nodes
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
      condition     = var.ami_id == null || var.ami_ssm_parameter == null
      error_message = "Set at most one of ami_id and ami_ssm_parameter (neither: the Deep Learning AMI's public parameter)."
    }
    precondition {
      condition     = alltrue([for e in values(var.endpoints) : contains(var.serving_ports, e.port)])
      error_message = "Every endpoint's port must be one of serving_ports (${join(", ", var.serving_ports)}), which the security group opens: ${join("; ", [for k, e in var.endpoints : format("%s has port %d", k, e.port) if !contains(var.serving_ports, e.port)])}. Add the port to serving_ports or pick another."
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
  replicas           = local.replicas[each.key]
  autoscaling        = each.value.autoscaling
  api_key            = var.api_key
  api_key_wo         = var.api_key_wo
  api_key_wo_version = var.api_key_wo_version
  aws = {
    port                       = each.value.port
    health_check_grace_seconds = each.value.health_check_grace_seconds
    min_healthy_percentage     = each.value.min_healthy_percentage
  }
}
