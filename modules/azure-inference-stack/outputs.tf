output "cluster_id" {
  description = "ID of the cluster, azure/<subscription>/<resource group>/<name>: the cluster_id of further endpoints."
  value       = inferstack_inference_cluster.this.id
}

output "private_ip" {
  description = "Private address of the internal load balancer's frontend in subnet_id; every endpoint listens on it at its own port."
  value       = inferstack_inference_cluster.this.azure.private_ip
}

output "load_balancer_id" {
  description = "ID of the cluster's internal Standard load balancer (no public IP)."
  value       = inferstack_inference_cluster.this.azure.load_balancer_id
}

output "network_security_group_id" {
  description = "ID of the nodes' network security group (serving_ports from allowed_cidrs and the load balancer's probes only)."
  value       = inferstack_inference_cluster.this.azure.network_security_group_id
}

output "identity" {
  description = "The nodes' user-assigned managed identity: its id and client_id (grant it more, e.g. AcrPull on a private registry)."
  value = {
    id        = inferstack_inference_cluster.this.azure.identity_id
    client_id = inferstack_inference_cluster.this.azure.identity_client_id
  }
}

output "key_vault" {
  description = "The cluster's Key Vault (RBAC mode), which holds the endpoints' API keys for the nodes: its id and uri."
  value = {
    id  = inferstack_inference_cluster.this.azure.key_vault_id
    uri = inferstack_inference_cluster.this.azure.key_vault_uri
  }
}

output "gpu" {
  description = "The GPUs of one node of vm_size, from the plan's preflight: model, count, memory per GPU in MiB, vCPUs."
  value       = inferstack_inference_cluster.this.azure.gpu
}

output "vcpu_quotas" {
  description = "The location's vCPU quotas the preflight checked (cores and the size's family): name, limit, used and needed for max_nodes nodes."
  value       = inferstack_inference_cluster.this.azure.vcpu_quotas
}

output "max_nodes" {
  description = "The most nodes the endpoints run at once (the sum of their replicas), which the vCPU quota check covered."
  value       = local.max_nodes
}

locals {
  # The provider's names of the endpoints' scale sets: inferstack-<cluster>-<endpoint>, cut to 55
  # characters and a hash when longer than Azure's 64.
  scale_set_names = { for k in keys(var.endpoints) : k => (
    length("inferstack-${var.name}-${k}") > 64
    ? "${substr("inferstack-${var.name}-${k}", 0, 55)}-${substr(sha256("inferstack-${var.name}-${k}"), 0, 8)}"
    : "inferstack-${var.name}-${k}"
  ) }
}

output "endpoints" {
  description = "Per endpoint: its id (for inferstack_api_route.endpoint_id), the OpenAI base URL on the load balancer (http://<private_ip>:<port>/v1), the model name clients send, the pinned commit, and the name of its VM scale set (inferstack-<cluster>-<endpoint>)."
  value = { for k, e in inferstack_model_endpoint.this : k => {
    id                = e.id
    url               = e.url
    served_model_name = e.served_model_name
    resolved_revision = e.resolved_revision
    scale_set_name    = local.scale_set_names[k]
  } }
}

output "urls" {
  description = "The OpenAI base URL of each endpoint, by endpoint name: http://<private_ip>:<port>/v1, reachable from allowed_cidrs."
  value       = { for k, e in inferstack_model_endpoint.this : k => e.url }
}
