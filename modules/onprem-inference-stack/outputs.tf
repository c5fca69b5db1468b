output "cluster_id" {
  description = "ID of the cluster (it encodes the hosts, never a secret)."
  value       = inferstack_inference_cluster.this.id
}

output "nodes" {
  description = "What each host reported: GPUs, driver, runtime."
  value       = inferstack_inference_cluster.this.onprem.nodes
}

output "endpoints" {
  description = "Per endpoint: the pinned commit, the OpenAI base URL of each replica, and where the replicas run."
  value = { for k, e in inferstack_model_endpoint.this : k => {
    id                = e.id
    resolved_revision = e.resolved_revision
    urls              = e.urls
    placements        = e.placements
  } }
}
