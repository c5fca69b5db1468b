# The same routes as inferstack_api_route takes, rendered as a LiteLLM config file for a proxy
# run from files (GitOps, a Kubernetes ConfigMap, a proxy without a database).
data "inferstack_litellm_config" "gateway" {
  routes = [
    {
      name = "chat-default"
      self_hosted = {
        urls              = ["http://10.0.0.11:8000/v1", "http://10.0.0.12:8000/v1"]
        served_model_name = "meta-llama/Llama-3.1-8B-Instruct"
        api_key           = var.vllm_api_key # goes to env as INFERSTACK_CHAT_DEFAULT_API_KEY
      }
      rpm             = 600
      timeout_seconds = 600
      fallbacks       = ["gpt-5"]
    },
    {
      name = "gpt-5"
      external = {
        provider = "openai"
        model    = "gpt-5"
        api_key  = "os.environ/OPENAI_API_KEY" # already in the proxy's environment: written as is
      }
    },
  ]

  router_settings = {
    routing_strategy = "simple-shuffle"
    num_retries      = 2
  }
}

variable "vllm_api_key" {
  type      = string
  sensitive = true
}

# The file itself holds no secret: commit it, or put it in a ConfigMap.
output "litellm_config_yaml" {
  value = data.inferstack_litellm_config.gateway.yaml
}

# The secrets it references, for the proxy's environment (a Kubernetes Secret, an env file).
output "litellm_env" {
  value     = data.inferstack_litellm_config.gateway.env
  sensitive = true
}
