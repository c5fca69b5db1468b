variable "namespace" {
  description = "Namespace the endpoints run in (created if missing)."
  type        = string
  default     = "inference"
}

variable "node_selector" {
  description = "Labels of the GPU nodes to use (GPU feature discovery's labels)."
  type        = map(string)
  default     = { "nvidia.com/gpu.product" = "NVIDIA-L40S" }
}

variable "model" {
  description = "Hugging Face model to serve."
  type        = string
  default     = "Qwen/Qwen2.5-7B-Instruct"
}

variable "gateway_namespaces" {
  description = "Namespaces whose pods may call the endpoint (the LiteLLM gateway's)."
  type        = list(string)
  default     = ["litellm"]
}

variable "vllm_api_key" {
  description = "API key the endpoint requires from clients, at least 16 characters (TF_VAR_vllm_api_key). Write-only: never stored in plan or state; change vllm_api_key_version with it."
  type        = string
  sensitive   = true

  validation {
    condition     = length(var.vllm_api_key) >= 16
    error_message = "vllm_api_key must be at least 16 characters: vLLM always runs with an API key."
  }
}

variable "vllm_api_key_version" {
  description = "Any number, changed whenever vllm_api_key changes, so the pods get the new key (a rolling restart)."
  type        = number
  default     = 1
}
