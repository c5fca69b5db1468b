terraform {
  required_version = ">= 1.5.0"
  required_providers {
    inferstack = {
      source  = "inferstack/inferstack"
      version = "~> 0.2"
    }
  }
}

variable "name" {
  description = "Name | with a pipe."
  type        = string
}

variable "key" {
  description = "A secret."
  type        = string
  default     = null
  sensitive   = true
}

variable "hosts" {
  description = "Hosts."
  type = list(object({
    name = string
    port = optional(number, 22)
  }))
  default = [{ name = "a", port = 22 }]
}

resource "inferstack_inference_cluster" "this" {
  name = var.name
}

output "id" {
  description = "The id."
  value       = inferstack_inference_cluster.this.id
}
