terraform {
  # Write-only keys (api_key_wo) need Terraform or OpenTofu 1.11 or later.
  required_version = ">= 1.11.0"
  required_providers {
    inferstack = {
      source  = "inferstack/inferstack"
      version = "~> 0.2"
    }
  }
}
