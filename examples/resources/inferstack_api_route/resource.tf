# A closed API as a route of its own. api_key_wo keeps the key out of state (Terraform or
# OpenTofu 1.11+); bump api_key_wo_version whenever the key changes.
resource "inferstack_api_route" "gpt4o" {
  name = "gpt-4o"
  external = {
    provider           = "openai"
    model              = "gpt-4o"
    api_key_wo         = var.openai_api_key
    api_key_wo_version = 1
  }
}

# Bedrock through the gateway's own AWS credentials (its instance role): no key in Terraform.
resource "inferstack_api_route" "claude" {
  name = "claude-sonnet"
  external = {
    provider   = "bedrock"
    model      = "anthropic.claude-3-5-sonnet-20240620-v1:0"
    aws_region = "us-east-1"
  }
}

# Self-hosted Llama on two vLLM replicas (one LiteLLM deployment each), with the closed APIs
# behind it when both replicas fail: clients send model = "chat-default".
resource "inferstack_api_route" "chat" {
  name = "chat-default"
  self_hosted = {
    urls = [
      "http://10.0.0.11:8000/v1",
      "http://10.0.0.12:8000/v1",
    ]
    served_model_name = "meta-llama/Llama-3.1-8B-Instruct"
    api_key           = var.vllm_api_key # works on every Terraform and OpenTofu version; kept in state
  }
  rpm             = 600
  timeout_seconds = 600
  base_model      = "meta-llama/Llama-3.1-8B-Instruct"
  fallbacks       = [inferstack_api_route.gpt4o.name, inferstack_api_route.claude.name]
}

# A self-hosted model served by an inferstack_model_endpoint: the route takes the endpoint's
# replica URLs, served model name and API key itself (over SSH, with the provider's onprem key;
# the key never lands in the route's state). It is created after the endpoint, follows it when its
# replicas move, and is withdrawn before the endpoint is destroyed.
resource "inferstack_inference_cluster" "lab" {
  name = "lab"
  onprem = {
    hosts = [
      { name = "gpu-a", address = "10.0.0.11", user = "ops", host_key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIczprg9HpWrgTkY1FC/ZmHOlOxTS3Bwqhf0ZYiHOMtS" },
    ]
  }
}

resource "inferstack_model_endpoint" "qwen" {
  cluster_id = inferstack_inference_cluster.lab.id
  name       = "qwen-7b"
  model      = { id = "Qwen/Qwen2.5-7B-Instruct" }
  replicas   = 2
  api_key    = var.vllm_api_key
}

resource "inferstack_api_route" "qwen" {
  name        = "qwen"
  endpoint_id = inferstack_model_endpoint.qwen.id
  base_model  = "Qwen/Qwen2.5-7B-Instruct"
  fallbacks   = [inferstack_api_route.gpt4o.name]
}

variable "openai_api_key" {
  type      = string
  sensitive = true
}

variable "vllm_api_key" {
  type      = string
  sensitive = true
}

output "chat_deployments" {
  value = inferstack_api_route.chat.deployment_ids
}

output "qwen_urls" {
  value = inferstack_api_route.qwen.resolved_urls # one LiteLLM deployment per replica URL
}
