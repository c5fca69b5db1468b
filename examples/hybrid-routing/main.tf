# Hybrid routing behind one OpenAI-compatible gateway: high-volume tasks (summarise, classify) go
# to a self-hosted vLLM endpoint, "reasoning" goes to a frontier closed API, and when the
# self-hosted replicas fail LiteLLM falls back to Anthropic. Clients only ever change the model
# name they send.
#
# The keys here are the plain, sensitive attributes (kept in state), so that the example runs on
# Terraform 1.5 as well. On Terraform or OpenTofu 1.11 and later use the write-only twins instead,
# e.g. `api_key_wo = var.openai_api_key` with `api_key_wo_version = 1` (bump it with the key).

terraform {
  required_version = ">= 1.5.0"
  required_providers {
    inferstack = {
      source  = "inferstack/inferstack"
      version = "~> 0.2"
    }
  }
}

provider "inferstack" {
  gateway {
    url = var.litellm_url # null: LITELLM_URL; the master key comes from LITELLM_MASTER_KEY
  }
}

variable "litellm_url" {
  description = "Base URL of the LiteLLM proxy."
  type        = string
  default     = null
}

variable "vllm_urls" {
  description = "OpenAI base URLs of the self-hosted replicas, e.g. inferstack_model_endpoint.qwen.urls."
  type        = list(string)
  default     = ["http://10.0.0.11:8000/v1", "http://10.0.0.12:8000/v1"]
}

variable "vllm_api_key" {
  description = "API key of the self-hosted endpoint."
  type        = string
  sensitive   = true
}

variable "openai_api_key" {
  description = "OpenAI API key of the reasoning route."
  type        = string
  sensitive   = true
}

variable "anthropic_api_key" {
  description = "Anthropic API key of the fallback route."
  type        = string
  sensitive   = true
}

# Self-hosted: the cheap, private default for bulk work.
resource "inferstack_api_route" "bulk" {
  name = "bulk"
  tags = ["summarise", "classify"]
  self_hosted = {
    urls              = var.vllm_urls
    served_model_name = "Qwen/Qwen2.5-7B-Instruct"
    api_key           = var.vllm_api_key
  }
  rpm       = 6000
  fallbacks = [inferstack_api_route.anthropic.name]
}

# The frontier model for the hard tasks.
resource "inferstack_api_route" "reasoning" {
  name = "reasoning"
  tags = ["reasoning"]
  external = {
    provider = "openai"
    model    = "gpt-5"
    api_key  = var.openai_api_key
  }
}

# Where bulk traffic goes when the self-hosted replicas are down.
resource "inferstack_api_route" "anthropic" {
  name = "claude"
  external = {
    provider = "anthropic"
    model    = "claude-sonnet-4-5"
    api_key  = var.anthropic_api_key
  }
}

output "models" {
  description = "The model names clients send."
  value       = [inferstack_api_route.bulk.name, inferstack_api_route.reasoning.name, inferstack_api_route.anthropic.name]
}
