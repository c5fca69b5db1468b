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
  description = "API key the endpoint requires from clients."
  type        = string
  sensitive   = true
}
