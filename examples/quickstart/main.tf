# The quickstart: what a platform repo writes to stand up self-hosted inference. On the local lab
# (`make demo`) AWS is moto; on a real account leave aws_endpoint null and use your credentials.

locals {
  aws_services = ["ec2", "autoscaling", "elasticloadbalancing", "iam", "ssm", "secretsmanager", "sts", "servicequotas", "pricing"]
}

provider "inferstack" {
  aws {
    region    = var.aws_region
    endpoints = var.aws_endpoint == null ? null : { for s in local.aws_services : s => var.aws_endpoint }
  }
}

# Which GPU instance types could serve a large model: big GPUs, NVIDIA (the vLLM CUDA image).
data "inferstack_gpu_types" "candidates" {
  cloud              = "aws"
  region             = var.aws_region
  min_gpu_memory_gib = var.min_gpu_memory_gib
  gpu_manufacturer   = "NVIDIA"
}
