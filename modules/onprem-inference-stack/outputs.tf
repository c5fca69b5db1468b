# The cluster's computed attributes move into its backend block (aws.vpc_id, onprem.nodes, ...)
# in provider 0.2. The outputs read them there, and at the top level from a provider that still
# has them there: through a local, whose attributes are looked up when the value is known rather
# than checked against the schema, so the module works with either.
locals {
  cluster = inferstack_inference_cluster.this
}

output "cluster_id" {
  description = "ID of the cluster (it encodes the hosts, never a secret)."
  value       = inferstack_inference_cluster.this.id
}

output "nodes" {
  description = "What each host reported: GPUs, driver, runtime."
  value       = inferstack_inference_cluster.this.onprem.nodes
}

output "endpoints" {
  description = "Per endpoint: the pinned commit, the OpenAI base URL of each replica, where the replicas run, and where Prometheus scrapes them (metrics_targets, for inferstack_prometheus_config)."
  value = { for k, e in inferstack_model_endpoint.this : k => {
    id                = e.id
    resolved_revision = e.resolved_revision
    urls              = e.urls
    placements        = e.placements
    metrics_targets   = e.metrics_targets
  } }
}
