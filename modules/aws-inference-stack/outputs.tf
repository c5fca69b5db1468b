# The cluster's computed attributes move into its backend block (aws.vpc_id, onprem.nodes, ...)
# in provider 0.2. The outputs read them there, and at the top level from a provider that still
# has them there: through a local, whose attributes are looked up when the value is known rather
# than checked against the schema, so the module works with either.
locals {
  cluster = inferstack_inference_cluster.this
}

output "cluster_id" {
  description = "ID of the cluster, aws/<region>/<name>: the cluster_id of further endpoints."
  value       = inferstack_inference_cluster.this.id
}

output "vpc_id" {
  description = "The VPC of subnet_ids."
  value       = inferstack_inference_cluster.this.aws.vpc_id
}

output "load_balancer_dns" {
  description = "DNS name of the cluster's internal network load balancer; every endpoint listens on it at its own port."
  value       = inferstack_inference_cluster.this.aws.load_balancer_dns
}

output "security_group_id" {
  description = "Security group of the nodes and the load balancer (ingress to serving_ports from allowed_cidrs only)."
  value       = inferstack_inference_cluster.this.aws.security_group_id
}

output "gpu" {
  description = "The GPUs of one node of instance_type: model, count, memory per GPU in MiB."
  value       = inferstack_inference_cluster.this.aws.gpu
}

output "max_nodes" {
  description = "The most nodes the endpoints can run at once (the sum of autoscaling.max, or replicas), which the vCPU quota check covered."
  value       = local.max_nodes
}

output "endpoints" {
  description = "Per endpoint: its id (for inferstack_api_route.endpoint_id and inferstack_prometheus_config.aws_endpoints), the OpenAI base URL on the load balancer, the pinned commit, and the name and ARN of its Auto Scaling group (for scaling policies, schedules or lifecycle hooks of your own)."
  value = { for k, e in inferstack_model_endpoint.this : k => {
    id                     = e.id
    url                    = e.url
    resolved_revision      = e.resolved_revision
    autoscaling_group_name = e.aws.autoscaling_group_name
    autoscaling_group_arn  = e.aws.autoscaling_group_arn
  } }
}

output "autoscaling_group_names" {
  description = "The name of each endpoint's Auto Scaling group (inferstack-<cluster>.<endpoint>), by the key in var.endpoints."
  value       = { for k, e in inferstack_model_endpoint.this : k => e.aws.autoscaling_group_name }
}
