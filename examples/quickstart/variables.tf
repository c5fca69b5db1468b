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
