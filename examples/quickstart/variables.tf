variable "aws_region" {
  description = "AWS region to size and deploy in."
  type        = string
  default     = "us-east-1"
}

variable "aws_endpoint" {
  description = "Custom AWS endpoint URL for every service (the local lab's moto). Leave null for real AWS."
  type        = string
  default     = null
}

variable "min_gpu_memory_gib" {
  description = "Smallest GPU memory per GPU, in GiB, worth listing for serving a large model."
  type        = number
  default     = 40

  validation {
    condition     = var.min_gpu_memory_gib >= 0
    error_message = "min_gpu_memory_gib must be zero or more."
  }
}

variable "hf_endpoint" {
  description = "Hugging Face Hub endpoint (the local lab's stand-in). Leave null for HF_ENDPOINT, then the real Hub."
  type        = string
  default     = null
}

variable "hf_token" {
  description = "Hugging Face token, for gated models. Leave null for HF_TOKEN (or no token: the default model is open)."
  type        = string
  sensitive   = true
  default     = null
}

variable "model" {
  description = "Hugging Face model id to size, owner/name."
  type        = string
  default     = "Qwen/Qwen2.5-72B-Instruct"
}

variable "max_model_len" {
  description = "Context length to serve, in tokens."
  type        = number
  default     = 32768

  validation {
    condition     = var.max_model_len >= 1 && floor(var.max_model_len) == var.max_model_len
    error_message = "max_model_len must be a whole number of tokens, at least 1."
  }
}

variable "concurrency" {
  description = "Sequences of max_model_len tokens that must fit in the KV cache at once."
  type        = number
  default     = 16

  validation {
    condition     = var.concurrency >= 1 && floor(var.concurrency) == var.concurrency
    error_message = "concurrency must be a whole number, at least 1."
  }
}

variable "input_tokens_per_day" {
  description = "Prompt tokens a day the model would serve."
  type        = number
  default     = 160000000
}

variable "output_tokens_per_day" {
  description = "Generated tokens a day the model would serve."
  type        = number
  default     = 40000000
}

variable "api_price" {
  description = "The closed API to compare with: USD per million input and output tokens."
  type = object({
    input_usd_per_million  = number
    output_usd_per_million = number
  })
  default = {
    input_usd_per_million  = 2.50
    output_usd_per_million = 10.00
  }
}

variable "node_hourly_usd" {
  description = "Price an hour of one node of the recommended instance type. The default is g6e.48xlarge on demand in us-east-1 (what the default model is sized onto); check your own price list."
  type        = number
  default     = 30.131

  validation {
    condition     = var.node_hourly_usd > 0
    error_message = "node_hourly_usd must be greater than 0."
  }
}

variable "node_tokens_per_second" {
  description = "Sustained output tokens a second one deployment serves at your batch sizes. Measure it with a load test; the default is a conservative guess for a 70B-class model on 8 x L40S."
  type        = number
  default     = 600

  validation {
    condition     = var.node_tokens_per_second > 0
    error_message = "node_tokens_per_second must be greater than 0."
  }
}

variable "onprem_hosts" {
  description = "GPU servers reachable over SSH (name, address, port, user, host_key, labels). Empty: no on-prem stack."
  type = list(object({
    name     = string
    address  = string
    port     = optional(number, 22)
    user     = optional(string, "root")
    host_key = string
    labels   = optional(map(string), {})
  }))
  default = []
}

variable "ssh_private_key_file" {
  description = "File with the SSH private key authorised on the on-prem hosts. Null: INFERSTACK_SSH_PRIVATE_KEY."
  type        = string
  default     = null
}

variable "vllm_api_key" {
  description = "API key clients must send to the vLLM endpoints (on-prem and AWS), at least 16 characters. Write-only: never stored in plan or state; change vllm_api_key_version with it."
  type        = string
  sensitive   = true
  default     = null

  validation {
    condition     = (length(var.onprem_hosts) == 0 && var.aws_cluster == null) || try(length(var.vllm_api_key) >= 16, false)
    error_message = "vllm_api_key must be at least 16 characters when onprem_hosts or aws_cluster is set: vLLM always runs with an API key."
  }
}

variable "vllm_api_key_version" {
  description = "Any number, changed whenever vllm_api_key changes, so the endpoints get the new key (a rolling restart)."
  type        = number
  default     = 1
}

variable "onprem_model" {
  description = "Hugging Face model the on-prem endpoint serves (pinned to the commit main resolves to)."
  type        = string
  default     = "Qwen/Qwen2.5-7B-Instruct"
}

variable "onprem_endpoint_name" {
  description = "Name of the on-prem endpoint."
  type        = string
  default     = "qwen-7b"
}

variable "aws_cluster" {
  description = "An AWS GPU cluster in your VPC, with one vLLM endpoint on it: private subnet_ids (one VPC, one subnet per Availability Zone), the GPU instance_type, and the node AMI (ami_id; null: the AWS Deep Learning AMI's public SSM parameter). Null: no AWS cluster."
  type = object({
    subnet_ids    = list(string)
    instance_type = string
    ami_id        = optional(string)
  })
  default = null
}

variable "aws_model" {
  description = "Hugging Face model the AWS endpoint serves (pinned to the commit main resolves to)."
  type        = string
  default     = "Qwen/Qwen2.5-7B-Instruct"
}

variable "aws_endpoint_name" {
  description = "Name of the AWS endpoint."
  type        = string
  default     = "qwen-7b"
}

variable "litellm_url" {
  description = "Base URL of the LiteLLM gateway to register routes in. Null: no routes."
  type        = string
  default     = null
}

variable "litellm_key_file" {
  description = "File with the gateway's master key. Null: LITELLM_MASTER_KEY."
  type        = string
  default     = null
}

variable "openai_api_key" {
  description = "OpenAI key of the closed route the self-hosted one falls back to; needed with litellm_url (the lab's gateway stand-in accepts any). Write-only: never stored in plan or state."
  type        = string
  sensitive   = true
  default     = null

  validation {
    condition     = var.litellm_url == null || var.openai_api_key != null
    error_message = "openai_api_key is needed with litellm_url: the frontier route sends it to OpenAI."
  }
}

variable "openai_api_key_version" {
  description = "Any number, changed whenever openai_api_key changes, so the gateway gets the new key."
  type        = number
  default     = 1
}
