terraform {
  # The write-only key (api_key_wo) needs Terraform or OpenTofu 1.11 or later.
  required_version = ">= 1.11.0"
  required_providers {
    inferstack = {
      source  = "inferstack/inferstack"
      version = "~> 0.2"
    }
  }
}
