# vLLM on the GPU nodes of an existing Kubernetes cluster, sized from the model against those
# nodes, and registered in the LiteLLM gateway. Every provider setting comes from the environment:
# KUBECONFIG (or KUBE_HOST and KUBE_TOKEN, or in-cluster), HF_ENDPOINT / HF_TOKEN, LITELLM_URL and
# LITELLM_MASTER_KEY. `make demo-kubernetes` applies it to the local lab's control plane.
provider "inferstack" {}

resource "inferstack_inference_cluster" "gpu" {
  name = "gpu-pool"
  kubernetes = {
    namespace     = var.namespace
    node_selector = var.node_selector
    tolerations   = [{ key = "nvidia.com/gpu", operator = "Exists", effect = "NoSchedule" }]
  }
}

# Sizing against the pool's own nodes (their GPU product, count and memory).
data "inferstack_deployment_plan" "chat" {
  model         = var.model
  max_model_len = 8192
  concurrency   = 16
  cluster_id    = inferstack_inference_cluster.gpu.id
}

resource "inferstack_model_endpoint" "chat" {
  cluster_id = inferstack_inference_cluster.gpu.id
  name       = "chat"
  model      = { id = var.model }
  engine = {
    tensor_parallel_size = data.inferstack_deployment_plan.chat.recommended.tensor_parallel_size
    max_model_len        = 8192
  }
  replicas = 2
  # Write-only (OpenTofu 1.11+, Terraform 1.11+): sent to the cluster's Secret, never kept in plan
  # or state; bump vllm_api_key_version with the key.
  api_key_wo         = var.vllm_api_key
  api_key_wo_version = var.vllm_api_key_version

  kubernetes = {
    allowed_namespaces = var.gateway_namespaces
  }
}

resource "inferstack_api_route" "chat" {
  name        = "chat"
  endpoint_id = inferstack_model_endpoint.chat.id
}
