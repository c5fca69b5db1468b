# An on-prem inference stack: one cluster of SSH GPU hosts and the vLLM endpoints on it. The SSH
# credential is the provider's (its onprem block), so this module never handles a private key.

resource "inferstack_inference_cluster" "this" {
  name = var.name
  onprem = {
    hosts             = var.hosts
    container_runtime = var.container_runtime
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
  replicas      = each.value.replicas
  node_selector = each.value.node_selector
  api_key       = var.api_key
  rollout = {
    max_unavailable = each.value.max_unavailable
  }
}
