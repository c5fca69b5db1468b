# An on-prem inference stack: one cluster of SSH GPU hosts and the vLLM endpoints on it. The SSH
# credential is the provider's (its onprem block), so this module never handles a private key.

resource "inferstack_inference_cluster" "this" {
  name = var.name
  onprem = {
    hosts             = var.hosts
    container_runtime = var.container_runtime
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
  node_selector      = each.value.node_selector
  api_key            = var.api_key
  api_key_wo         = var.api_key_wo
  api_key_wo_version = var.api_key_wo_version
  rollout = {
    max_unavailable = each.value.max_unavailable
  }
}
