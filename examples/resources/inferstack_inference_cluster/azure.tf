# GPU capacity on Azure, in one resource group and one location (data residency): a network
# security group, a managed identity for the nodes, a Key Vault for the endpoints' secrets and an
# internal Standard load balancer. The plan checks the size, zones and vCPU quotas.
variable "azure_subnet_id" {
  type        = string
  description = "The subnet of the nodes and the load balancer's private frontend."
  default     = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-network/providers/Microsoft.Network/virtualNetworks/vnet-llm/subnets/gpu"
}

resource "inferstack_inference_cluster" "eu" {
  name = "llm-eu"
  azure = {
    resource_group = "rg-llm"
    location       = "westeurope"
    subnet_id      = var.azure_subnet_id
    vm_size        = "Standard_NC24ads_A100_v4"
    zones          = ["1", "2"]
    max_nodes      = 4    # the vCPU quota check covers this many nodes
    os_disk_gib    = 256  # the model cache lives on the OS disk
    allowed_cidrs  = null # default: the virtual network's address space
    priority       = { spot_percentage = 0 }
    key_vault      = { purge_protection = false }
  }
}

output "azure_gpu" {
  value = inferstack_inference_cluster.eu.azure.gpu # known at plan time
}
