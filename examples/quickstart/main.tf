# The quickstart: what a platform repo writes to stand up self-hosted inference. On the local lab
# (`make demo`) AWS is moto and the Hugging Face Hub is a stand-in; on a real account leave
# aws_endpoint and hf_endpoint null and use your credentials (and an HF token for gated models);
# aws_cluster names your private subnets and GPU instance type.

locals {
  aws_services = ["ec2", "autoscaling", "elasticloadbalancing", "iam", "ssm", "secretsmanager", "sts", "servicequotas", "pricing"]
}

provider "inferstack" {
  huggingface {
    endpoint = var.hf_endpoint # null: HF_ENDPOINT, then https://huggingface.co
    token    = var.hf_token    # null: HF_TOKEN; gated models (Llama, Gemma, Mistral) need one
  }
  aws {
    region    = var.aws_region
    endpoints = var.aws_endpoint == null ? null : { for s in local.aws_services : s => var.aws_endpoint }
  }
  onprem {
    # null: INFERSTACK_SSH_PRIVATE_KEY. The key never reaches state.
    ssh_private_key = var.ssh_private_key_file == null ? null : file(var.ssh_private_key_file)
  }
  gateway {
    url        = var.litellm_url # null: LITELLM_URL
    master_key = var.litellm_key_file == null ? null : trimspace(file(var.litellm_key_file))
  }
}

# Which GPU instance types could serve a large model: big GPUs, NVIDIA (the vLLM CUDA image).
data "inferstack_gpu_types" "candidates" {
  cloud              = "aws"
  region             = var.aws_region
  min_gpu_memory_gib = var.min_gpu_memory_gib
  gpu_manufacturer   = "NVIDIA"
}

# Size the model from the Hub itself against every NVIDIA instance type of the region.
data "inferstack_deployment_plan" "model" {
  model         = var.model
  max_model_len = var.max_model_len
  concurrency   = var.concurrency
  candidates    = { cloud = "aws", region = var.aws_region }
}

# Does self-hosting it pay, against a closed API at the same volume?
data "inferstack_hosting_cost" "model" {
  input_tokens_per_day  = var.input_tokens_per_day
  output_tokens_per_day = var.output_tokens_per_day
  api                   = var.api_price
  self_host = {
    hourly_usd        = var.node_hourly_usd
    nodes             = try(data.inferstack_deployment_plan.model.recommended.nodes, 1)
    tokens_per_second = var.node_tokens_per_second
  }
}

# Serve a model on your own GPU servers: a cluster of SSH hosts (host keys checked) and a vLLM
# endpoint with two replicas placed on hosts with free GPUs. Skipped when no hosts are given.
module "onprem" {
  source = "../../modules/onprem-inference-stack"
  count  = length(var.onprem_hosts) > 0 ? 1 : 0

  name  = "quickstart"
  hosts = var.onprem_hosts
  # Write-only: the key reaches the hosts, never the plan or the state (Terraform/OpenTofu 1.11+).
  api_key_wo         = var.vllm_api_key
  api_key_wo_version = var.vllm_api_key_version
  endpoints = {
    (var.onprem_endpoint_name) = {
      model         = var.onprem_model
      replicas      = 2
      max_model_len = 16384
    }
  }
}

# Serve a model on AWS: a GPU cluster in your private subnets (a security group, the nodes' IAM
# role, an internal network load balancer, a launch template) and a vLLM endpoint on it, an Auto
# Scaling group of one to two nodes behind its own listener. Skipped when aws_cluster is null.
module "aws" {
  source = "../../modules/aws-inference-stack"
  count  = var.aws_cluster == null ? 0 : 1

  name          = "quickstart"
  region        = var.aws_region
  subnet_ids    = var.aws_cluster.subnet_ids
  instance_type = var.aws_cluster.instance_type
  ami_id        = var.aws_cluster.ami_id
  # Write-only: the key goes to Secrets Manager for the nodes, never to the plan or the state.
  api_key_wo         = var.vllm_api_key
  api_key_wo_version = var.vllm_api_key_version
  endpoints = {
    (var.aws_endpoint_name) = {
      model         = var.aws_model
      autoscaling   = { min = 1, max = 2 }
      max_model_len = 16384
    }
  }
}

# One gateway in front of both worlds: clients send model = "chat" and get the self-hosted
# endpoint; when both replicas fail, LiteLLM falls back to the closed API. Skipped without a
# gateway or without on-prem hosts.
locals {
  routes = var.litellm_url != null && length(module.onprem) > 0
}

resource "inferstack_api_route" "frontier" {
  count = local.routes ? 1 : 0

  name = "frontier"
  tags = ["reasoning"]
  external = {
    provider           = "openai"
    model              = "gpt-5"
    api_key_wo         = var.openai_api_key
    api_key_wo_version = var.openai_api_key_version
  }
}

resource "inferstack_api_route" "chat" {
  count = local.routes ? 1 : 0

  name = "chat"
  tags = ["summarise", "classify"]
  # The endpoint's replicas, served name and API key, looked up on its hosts; the route follows
  # the endpoint when its replicas move.
  endpoint_id = module.onprem[0].endpoints[var.onprem_endpoint_name].id
  fallbacks   = [inferstack_api_route.frontier[0].name]
}
