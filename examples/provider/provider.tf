terraform {
  required_providers {
    inferstack = {
      source  = "inferstack/inferstack"
      version = "~> 0.2"
    }
  }
}

# Every block is optional. Credentials come from the environment where possible (HF_TOKEN,
# INFERSTACK_SSH_PRIVATE_KEY, the AWS credential chain, ARM_* variables, LITELLM_URL /
# LITELLM_MASTER_KEY), which is how Terraform Cloud workspaces with dynamic credentials pass them.
provider "inferstack" {
  huggingface {
    token = var.hf_token # gated models (Llama, Gemma, Mistral) need a token with access
  }

  aws {
    region = "us-east-1"
  }

  # On-prem GPU hosts: one SSH key for every host (null: INFERSTACK_SSH_PRIVATE_KEY); never in state.
  onprem {
    ssh_private_key = var.ssh_private_key
  }

  # Kubernetes clusters with GPU nodes: as terraform-provider-kubernetes is configured (host with a
  # token, client certificate or exec plugin; else KUBE_CONFIG_PATH(S) / KUBECONFIG; else in-cluster).
  kubernetes {
    config_path    = "~/.kube/config"
    config_context = "gpu-cluster"
  }

  # Azure is a GPU catalogue so far (inferstack_gpu_types with cloud = "azure").
  azure {
    subscription_id = var.azure_subscription_id
    use_oidc        = true # with ARM_TENANT_ID, ARM_CLIENT_ID and a federated token
  }

  gateway {
    url        = "https://llm.internal:4000"
    master_key = var.litellm_master_key
  }
}

variable "hf_token" {
  type      = string
  sensitive = true
  default   = null
}

variable "ssh_private_key" {
  type      = string
  sensitive = true
  default   = null
}

variable "azure_subscription_id" {
  type    = string
  default = null
}

variable "litellm_master_key" {
  type      = string
  sensitive = true
  default   = null
}
