# AWS instance types whose GPUs have at least 40 GiB each, NVIDIA only (the vLLM CUDA image).
data "inferstack_gpu_types" "big" {
  cloud              = "aws"
  region             = "us-east-1"
  min_gpu_memory_gib = 40
  gpu_manufacturer   = "NVIDIA"
}

# Azure VM sizes with at least two whole GPUs in East US.
data "inferstack_gpu_types" "azure_multi" {
  cloud         = "azure"
  region        = "eastus"
  min_gpu_count = 2
}

output "aws_big_gpu_types" {
  value = [for t in data.inferstack_gpu_types.big.types : "${t.name}: ${t.gpu_count} x ${t.gpu_model} (${t.gpu_memory_mib} MiB)"]
}
