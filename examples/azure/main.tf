# vLLM on Azure: a GPU cluster in an existing resource group and subnet, and an endpoint on it.
# Every credential comes from the environment, as in a CI job or a Terraform Cloud workspace:
# ARM_SUBSCRIPTION_ID, ARM_TENANT_ID, ARM_CLIENT_ID with ARM_CLIENT_SECRET (or OIDC, a managed
# identity, the Azure CLI), HF_ENDPOINT / HF_TOKEN, and TF_VAR_vllm_api_key. `make demo` applies
# it to the local lab's in-memory Azure (ARM_RESOURCE_MANAGER_ENDPOINT and ARM_AUTHORITY_HOST
# point the provider at it).
provider "inferstack" {
  azure {
    default_tags = var.tags
  }
}

# The cluster: a network security group (the serving port from the virtual network only), a
# managed identity for the nodes, a Key Vault in RBAC mode for the endpoint's API key, and an
# internal Standard load balancer without public IP. The plan checks that vm_size is a GPU size
# offered in the location and that the vCPU quotas cover max_nodes nodes.
resource "inferstack_inference_cluster" "gpu" {
  name = var.name
  azure = {
    resource_group = var.resource_group
    location       = var.location
    subnet_id      = var.subnet_id
    vm_size        = var.vm_size
    max_nodes      = var.replicas
  }
}

# The endpoint: a VM scale set (Flexible orchestration) of `replicas` nodes behind a rule of the
# load balancer on port 8000, serving the model pinned to the commit main resolves to. The key
# goes to the cluster's Key Vault for the nodes, never to the plan or the state.
resource "inferstack_model_endpoint" "chat" {
  cluster_id = inferstack_inference_cluster.gpu.id
  name       = "chat"
  model      = { id = var.model }
  engine = {
    max_model_len = var.max_model_len
  }
  replicas           = var.replicas
  api_key_wo         = var.vllm_api_key
  api_key_wo_version = var.vllm_api_key_version

  azure = {
    port = 8000
  }
}

# Optional: a model name in the LiteLLM gateway (LITELLM_URL, LITELLM_MASTER_KEY) that serves the
# endpoint. The route reads the endpoint's API key from the cluster's Key Vault over its data
# plane, so Terraform must reach the vault: a private endpoint, or public network access on the
# cluster's key_vault block.
resource "inferstack_api_route" "chat" {
  count = var.route_name == null ? 0 : 1

  name        = var.route_name
  endpoint_id = inferstack_model_endpoint.chat.id
}
