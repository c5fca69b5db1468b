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
  }

  lifecycle {
    # Checks across inputs live here rather than in variable validation: a validation block may
    # refer to other variables only in newer CLIs (Terraform 1.9 and later), and this module
    # supports 1.5.
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
  engine = {
    image                = each.value.image
    tensor_parallel_size = each.value.tensor_parallel_size
    max_model_len        = each.value.max_model_len
  }
  replicas    = local.replicas[each.key]
  autoscaling = each.value.autoscaling
  api_key     = var.api_key
  aws = {
    port                       = each.value.port
    health_check_grace_seconds = each.value.health_check_grace_seconds
    min_healthy_percentage     = each.value.min_healthy_percentage
  }
}
