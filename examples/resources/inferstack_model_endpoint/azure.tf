# An endpoint on an Azure cluster (see inferstack_inference_cluster): a VM scale set (Flexible
# orchestration) of `replicas` nodes behind a rule of the cluster's internal load balancer. A
# change rolls the nodes in batches gated on their /health.
variable "azure_cluster_id" {
  type        = string
  description = "The id of an Azure inferstack_inference_cluster, e.g. inferstack_inference_cluster.eu.id."
  default     = "azure/00000000-0000-0000-0000-000000000000/rg-llm/llm-eu"
}

resource "inferstack_model_endpoint" "qwen_azure" {
  cluster_id = var.azure_cluster_id
  name       = "qwen-7b"
  model      = { id = "Qwen/Qwen2.5-7B-Instruct", revision = "main" } # pinned to the commit at plan time

  replicas = 2
  api_key  = var.vllm_key # in the cluster's Key Vault; nodes read it with the managed identity

  azure = {
    port                       = 8000
    max_batch_instance_percent = 50 # one of two nodes at a time
  }
}
