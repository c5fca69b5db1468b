# Size Llama-3.1-70B for 32 concurrent sequences of 32k tokens against the instance types an AWS
# region offers (NVIDIA only). Llama is gated: the provider's huggingface block needs a token.
data "inferstack_deployment_plan" "llama70b" {
  model         = "meta-llama/Llama-3.1-70B-Instruct"
  revision      = "main"
  max_model_len = 32768
  concurrency   = 32
  # quantization           = "fp8"  # null = the checkpoint's own; "fp8" or "bitsandbytes" on the fly
  # kv_cache_dtype         = "fp8"  # "auto" (16-bit) or "fp8"
  # gpu_memory_utilization = 0.92   # the pinned vLLM's default
  candidates = { cloud = "aws", region = "us-east-1" }
}

# Or size against hosts you already have. A known GPU model may omit memory_gib.
data "inferstack_deployment_plan" "onprem" {
  model         = "Qwen/Qwen2.5-7B-Instruct"
  max_model_len = 32768
  concurrency   = 16
  gpus = [
    { model = "L4", count = 8 },
    { model = "RTX 6000 Ada", memory_gib = 48, count = 2 },
  ]
}

output "llama70b" {
  value = {
    instance_type        = data.inferstack_deployment_plan.llama70b.recommended.instance_type
    tensor_parallel_size = data.inferstack_deployment_plan.llama70b.recommended.tensor_parallel_size
    max_sequences        = data.inferstack_deployment_plan.llama70b.recommended.max_concurrent_sequences
    weights_gib          = data.inferstack_deployment_plan.llama70b.weights_bytes / pow(1024, 3)
    kv_cache_gib         = data.inferstack_deployment_plan.llama70b.kv_cache_bytes / pow(1024, 3)
  }
}

# Every candidate is evaluated; the ones that do not fit say why.
output "why_not" {
  value = {
    for e in data.inferstack_deployment_plan.onprem.evaluations : e.name => e.reason if !e.fits
  }
}
