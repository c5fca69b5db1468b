output "cluster" {
  description = "The cluster: its id, the load balancer's private address, the GPUs of one node, the vCPU quotas the plan checked, and its Key Vault."
  value = {
    id            = inferstack_inference_cluster.gpu.id
    private_ip    = inferstack_inference_cluster.gpu.azure.private_ip
    gpu           = inferstack_inference_cluster.gpu.azure.gpu
    vcpu_quotas   = inferstack_inference_cluster.gpu.azure.vcpu_quotas
    key_vault_uri = inferstack_inference_cluster.gpu.azure.key_vault_uri
  }
}

output "endpoint" {
  description = "The endpoint: its id, the OpenAI base URL on the cluster's load balancer, and the pinned commit."
  value = {
    id                = inferstack_model_endpoint.chat.id
    url               = inferstack_model_endpoint.chat.url
    resolved_revision = inferstack_model_endpoint.chat.resolved_revision
  }
}

output "route" {
  description = "The gateway route (null without route_name): its name and the endpoint URLs it sends to."
  value = length(inferstack_api_route.chat) == 0 ? null : {
    name          = inferstack_api_route.chat[0].name
    resolved_urls = inferstack_api_route.chat[0].resolved_urls
  }
}
