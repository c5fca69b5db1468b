# A Kubernetes inference stack: one inference cluster on the GPU nodes of an existing Kubernetes
# cluster (a namespace, the node selector and tolerations of its GPU pool, an optional shared
# model cache) and the vLLM endpoints on it, each a Deployment with its Service, Secret,
# PodDisruptionBudget and NetworkPolicy. How the API server is reached (kubeconfig, token, exec
# plugin) is the provider's kubernetes block, so this module never handles a cluster credential.

locals {
  # Desired replicas: as given; else autoscaling.min (at least 1); else 1.
  replicas = { for k, e in var.endpoints : k => (
    e.replicas != null ? e.replicas : (e.autoscaling != null ? max(e.autoscaling.min, 1) : 1)
  ) }

  # Who may connect to each endpoint (its NetworkPolicy): the endpoint's own allowed_namespaces,
  # else the gateway's namespaces. Both null, and no allowed_cidrs: the endpoint's namespace only.
  allowed_namespaces = { for k, e in var.endpoints : k => (
    e.allowed_namespaces != null ? e.allowed_namespaces : var.gateway_namespaces
  ) }
}

resource "inferstack_inference_cluster" "this" {
  name = var.name
  kubernetes = {
    namespace     = var.namespace
    node_selector = var.node_selector
    tolerations   = var.tolerations
    runtime_class = var.runtime_class
    model_cache   = var.model_cache
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
  # tensor_parallel_size is also the nvidia.com/gpu each pod asks for; the endpoint's plan checks
  # it against the largest node matching node_selector.
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
  # The Deployment's maxUnavailable; max_surge below is its maxSurge.
  rollout = {
    max_unavailable = each.value.max_unavailable
  }
  # No node_selector: on a Kubernetes cluster the cluster's node_selector and tolerations choose
  # the nodes, and the provider rejects one on the endpoint.
  kubernetes = {
    port                = each.value.port
    service_type        = each.value.service_type
    service_annotations = each.value.service_annotations
    allowed_namespaces  = local.allowed_namespaces[each.key]
    allowed_cidrs       = each.value.allowed_cidrs
    max_surge           = each.value.max_surge
    startup_seconds     = each.value.startup_seconds
    shared_memory_mib   = each.value.shared_memory_mib
  }
}
