# The configuration tools/secret-check.sh applies to the local lab: every secret the provider
# handles on an on-prem stack, each with a job to do, so that the check can see where it goes.
#   - the endpoint's API key (write-only, from an ephemeral variable) reaches the hosts' root-only
#     secret files and the gateway (the self_hosted route's write-only key, and the endpoint_id
#     route, which reads it on a host);
#   - the closed API's key (write-only, from an ephemeral variable) reaches the gateway only;
#   - the Hugging Face token (HF_TOKEN) resolves a gated model and reaches the hosts;
#   - the SSH key (INFERSTACK_SSH_PRIVATE_KEY) and the gateway's master key (LITELLM_MASTER_KEY)
#     come from the environment and are used, never stored.
# None of them may show in plan, state, output or logs.

terraform {
  # Write-only attributes and ephemeral variables.
  required_version = ">= 1.11.0"
  required_providers {
    inferstack = {
      source  = "inferstack/inferstack"
      version = "~> 0.2"
    }
  }
}

variable "hosts" {
  description = "The lab's SSH GPU hosts (onprem.tfvars.json of the lab)."
  type = list(object({
    name     = string
    address  = string
    port     = number
    user     = string
    host_key = string
    labels   = map(string)
  }))
}

variable "model" {
  description = "A gated model of the lab's Hub stand-in: resolving it needs the HF token, and so does its download on the hosts."
  type        = string
}

variable "api_key" {
  description = "The endpoint's API key. Ephemeral: never in the plan file or the state, so it can only go to write-only attributes."
  type        = string
  sensitive   = true
  ephemeral   = true
}

variable "external_api_key" {
  description = "The closed API's key of the external route. Ephemeral, as api_key."
  type        = string
  sensitive   = true
  ephemeral   = true
}

# Everything from the environment: INFERSTACK_SSH_PRIVATE_KEY, HF_TOKEN, HF_ENDPOINT, LITELLM_URL
# and LITELLM_MASTER_KEY.
provider "inferstack" {}

resource "inferstack_inference_cluster" "lab" {
  name = "tf-acc-test-leakcheck"
  onprem = {
    hosts = var.hosts
  }
}

resource "inferstack_model_endpoint" "gated" {
  cluster_id = inferstack_inference_cluster.lab.id
  name       = "leakcheck"
  model      = { id = var.model }
  engine     = { max_model_len = 8192 }
  # One replica on each lab host: both hosts get the key and the token.
  replicas           = 2
  api_key_wo         = var.api_key
  api_key_wo_version = 1
}

resource "inferstack_api_route" "external" {
  name = "tf-acc-test-leakcheck-frontier"
  external = {
    provider           = "openai"
    model              = "gpt-4o"
    api_key_wo         = var.external_api_key
    api_key_wo_version = 1
  }
}

resource "inferstack_api_route" "self_hosted" {
  name = "tf-acc-test-leakcheck-chat"
  self_hosted = {
    urls               = inferstack_model_endpoint.gated.urls
    served_model_name  = inferstack_model_endpoint.gated.served_model_name
    api_key_wo         = var.api_key
    api_key_wo_version = 1
  }
  fallbacks = [inferstack_api_route.external.name]
}

# The provider reads this route's key from the endpoint's secret file on a host, over SSH.
resource "inferstack_api_route" "by_endpoint" {
  name        = "tf-acc-test-leakcheck-endpoint"
  endpoint_id = inferstack_model_endpoint.gated.id
}

output "endpoint" {
  value = {
    id                = inferstack_model_endpoint.gated.id
    urls              = inferstack_model_endpoint.gated.urls
    served_model_name = inferstack_model_endpoint.gated.served_model_name
    placements        = inferstack_model_endpoint.gated.placements
  }
}

output "routes" {
  value = [for r in [inferstack_api_route.external, inferstack_api_route.self_hosted, inferstack_api_route.by_endpoint] : r.name]
}
