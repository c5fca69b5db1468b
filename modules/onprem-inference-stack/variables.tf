variable "name" {
  description = "Name of the cluster: 1 to 63 lower-case letters, digits and '-'."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$", var.name))
    error_message = "name must be 1 to 63 lower-case letters, digits and '-', starting and ending with a letter or digit."
  }
}

variable "hosts" {
  description = "The GPU servers: name, address, SSH port and user, the host's public key (authorized_keys form) and labels for node_selector."
  type = list(object({
    name     = string
    address  = string
    port     = optional(number, 22)
    user     = optional(string, "root")
    host_key = string
    labels   = optional(map(string), {})
  }))

  validation {
    condition     = length(var.hosts) > 0
    error_message = "hosts must list at least one GPU server."
  }
  validation {
    condition     = length(distinct([for h in var.hosts : h.name])) == length(var.hosts)
    error_message = "host names must be unique."
  }
  validation {
    condition     = alltrue([for h in var.hosts : can(regex("^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)) ", h.host_key))])
    error_message = "every host needs host_key, its SSH public key in authorized_keys form (e.g. \"ssh-ed25519 AAAA...\"), so that host keys are checked."
  }
}

variable "container_runtime" {
  description = "Container runtime on the hosts: docker or podman."
  type        = string
  default     = "docker"

  validation {
    condition     = contains(["docker", "podman"], var.container_runtime)
    error_message = "container_runtime must be docker or podman."
  }
}

variable "endpoints" {
  description = "vLLM endpoints to run on the cluster, by name: the Hugging Face model (pinned to the commit its revision resolves to), engine settings, replicas and optional host labels."
  type = map(object({
    model                  = string
    revision               = optional(string, "main")
    served_model_name      = optional(string)
    image                  = optional(string)
    tensor_parallel_size   = optional(number, 1)
    max_model_len          = optional(number)
    gpu_memory_utilization = optional(number)
    quantization           = optional(string)
    kv_cache_dtype         = optional(string)
    max_num_seqs           = optional(number)
    extra_args             = optional(list(string))
    replicas               = optional(number, 1)
    node_selector          = optional(map(string))
    max_unavailable        = optional(number, 1)
  }))
  default = {}

  validation {
    condition     = alltrue([for k, e in var.endpoints : can(regex("^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$", k))])
    error_message = "endpoint names must be 1 to 40 lower-case letters, digits and '-'."
  }
  validation {
    condition     = alltrue([for e in values(var.endpoints) : e.replicas >= 1 && e.tensor_parallel_size >= 1])
    error_message = "replicas and tensor_parallel_size must be at least 1."
  }
  validation {
    condition     = alltrue([for e in values(var.endpoints) : e.gpu_memory_utilization == null ? true : e.gpu_memory_utilization > 0 && e.gpu_memory_utilization <= 1])
    error_message = "gpu_memory_utilization is the share of each GPU's memory vLLM may take: more than 0 and at most 1 (null: vLLM's default, 0.92)."
  }
}

variable "api_key" {
  description = "API key every vLLM endpoint requires from clients (sent as a Bearer token). Kept in state (sensitive). On Terraform or OpenTofu 1.11 and later prefer api_key_wo. Set exactly one of api_key and api_key_wo."
  type        = string
  default     = null
  sensitive   = true

  validation {
    condition     = var.api_key == null ? true : length(var.api_key) > 0
    error_message = "api_key must not be empty: vLLM always runs with an API key."
  }
}

variable "api_key_wo" {
  description = "Write-only API key every vLLM endpoint requires from clients: sent to the nodes, never stored in plan or state. Needs Terraform or OpenTofu 1.11 or later; set api_key_wo_version with it."
  type        = string
  default     = null
  sensitive   = true

  validation {
    condition     = var.api_key_wo == null ? true : length(var.api_key_wo) > 0
    error_message = "api_key_wo must not be empty: vLLM always runs with an API key."
  }
}

variable "api_key_wo_version" {
  description = "Any number, changed whenever api_key_wo changes: the change sends the new key to every endpoint (a rolling restart). Required with api_key_wo."
  type        = number
  default     = null
}
