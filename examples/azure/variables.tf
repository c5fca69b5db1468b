variable "name" {
  description = "Name of the cluster: lower-case letters, digits and '-'. It names the cluster's Azure objects."
  type        = string
  default     = "azure-gpu"
}

variable "resource_group" {
  description = "Existing resource group to create everything in."
  type        = string
}

variable "location" {
  description = "Azure location of every object, e.g. westeurope."
  type        = string
}

variable "subnet_id" {
  description = "ID of the subnet for the nodes and the load balancer's private frontend."
  type        = string
}

variable "vm_size" {
  description = "GPU VM size of the nodes (data.inferstack_gpu_types with cloud = \"azure\" lists those offered in the location)."
  type        = string
  default     = "Standard_NC24ads_A100_v4"
}

variable "model" {
  description = "Hugging Face model to serve (pinned to the commit main resolves to)."
  type        = string
  default     = "Qwen/Qwen2.5-7B-Instruct"
}

variable "max_model_len" {
  description = "Context length to serve, in tokens."
  type        = number
  default     = 16384
}

variable "replicas" {
  description = "Nodes of the endpoint's scale set; the cluster's vCPU quota check covers this many."
  type        = number
  default     = 2

  validation {
    condition     = var.replicas >= 1 && floor(var.replicas) == var.replicas
    error_message = "replicas must be a whole number, at least 1."
  }
}

variable "vllm_api_key" {
  description = "API key clients must send to the endpoint, at least 16 characters. Write-only: never stored in plan or state; change vllm_api_key_version with it."
  type        = string
  sensitive   = true

  validation {
    condition     = length(var.vllm_api_key) >= 16
    error_message = "vllm_api_key must be at least 16 characters: vLLM always runs with an API key."
  }
}

variable "vllm_api_key_version" {
  description = "Any number, changed whenever vllm_api_key changes, so the nodes get the new key (a rolling upgrade)."
  type        = number
  default     = 1
}

variable "tags" {
  description = "Tags on every Azure object the provider makes."
  type        = map(string)
  default     = { managed-by = "terraform" }
}

variable "route_name" {
  description = "Model name clients send to the LiteLLM gateway for this endpoint (the gateway from LITELLM_URL and LITELLM_MASTER_KEY). Null: no route."
  type        = string
  default     = null
}
