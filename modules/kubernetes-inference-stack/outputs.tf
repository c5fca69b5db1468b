output "cluster_id" {
  description = "ID of the cluster, kubernetes/<namespace>/<name>: the cluster_id of further endpoints."
  value       = inferstack_inference_cluster.this.id
}

output "nodes" {
  description = "The schedulable nodes matching node_selector, as last read: name, gpu_product (the nvidia.com/gpu.product label), gpus (allocatable nvidia.com/gpu) and gpu_memory_mib (per GPU, the nvidia.com/gpu.memory label; 0 when absent)."
  value       = inferstack_inference_cluster.this.kubernetes.nodes
}

output "endpoints" {
  description = "Per endpoint: its id (for inferstack_api_route.endpoint_id), the OpenAI base URL of its Service (http://<name>.<namespace>.svc:<port>/v1), the model name clients send, the pinned commit, and its status (ready when every replica is)."
  value = { for k, e in inferstack_model_endpoint.this : k => {
    id                = e.id
    url               = e.url
    served_model_name = e.served_model_name
    resolved_revision = e.resolved_revision
    status            = e.status
  } }
}

output "urls" {
  description = "The OpenAI base URL of each endpoint's Service, by endpoint name: http://<name>.<namespace>.svc:<port>/v1, reachable from the namespaces and CIDRs its NetworkPolicy admits."
  value       = { for k, e in inferstack_model_endpoint.this : k => e.url }
}

output "served_model_names" {
  description = "The model name clients send (the request's model) to each endpoint, by endpoint name: served_model_name, or the model's id."
  value       = { for k, e in inferstack_model_endpoint.this : k => e.served_model_name }
}
