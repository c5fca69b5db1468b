output "nodes" {
  description = "The pool's GPU nodes."
  value       = inferstack_inference_cluster.gpu.kubernetes.nodes
}

output "plan" {
  description = "What the sizing recommends on the pool's nodes."
  value = {
    gpu_model            = data.inferstack_deployment_plan.chat.recommended.gpu_model
    tensor_parallel_size = data.inferstack_deployment_plan.chat.recommended.tensor_parallel_size
    required_gib_per_gpu = floor(data.inferstack_deployment_plan.chat.recommended.required_bytes_per_gpu / 1073741824)
  }
}

output "endpoint" {
  description = "The endpoint: its Service URL, pinned commit and status."
  value = {
    id                = inferstack_model_endpoint.chat.id
    url               = inferstack_model_endpoint.chat.url
    resolved_revision = inferstack_model_endpoint.chat.resolved_revision
    status            = inferstack_model_endpoint.chat.status
  }
}

output "route" {
  description = "The gateway route's target."
  value       = inferstack_api_route.chat.resolved_urls
}
