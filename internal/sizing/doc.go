// Package sizing works out whether, and how, a model fits on GPUs under vLLM: the weights, the KV
// cache for a context length and a number of concurrent sequences, an allowance for activations
// and CUDA graphs, the tensor-parallel sizes vLLM accepts, and for each candidate (cloud instance
// types, or on-prem hosts) the smallest deployment that fits. It is pure arithmetic in bytes
// (int64): no network, no Terraform.
//
// # The arithmetic
//
//	weights          = parameters x 2 bytes                 (16-bit: bf16/fp16; dtype auto also serves fp32 checkpoints in 16 bits)
//	                 = sum of safetensors parameters[dtype] x bytes(dtype)   (a pre-quantized checkpoint: AWQ, GPTQ, FP8 ... as stored)
//	                 = (parameters - E) x bits/8 + E x 2    (on-the-fly quantization = "fp8" (8 bits) or "bitsandbytes" (4 bits);
//	                                                         E = vocab_size x hidden_size x (1 if tied else 2), embeddings
//	                                                         and LM head that vLLM keeps in 16 bits)
//	KV per token     = 2 x layers x kv_heads x head_dim x bytes(kv dtype)     (auto = 2, fp8 = 1)
//	KV per sequence  = 2 x kv_heads x head_dim x bytes x (global layers x max_model_len + sliding layers x min(max_model_len, window))
//	KV cache         = concurrency x KV per sequence
//	allowance/GPU    = 1 GiB (CUDA context, NCCL buffers, CUDA graphs, sampler)
//	                 + max_num_batched_tokens x (4 x hidden_size + 3 x intermediate_size / tp) x 2 bytes   (peak activations)
//	usable/GPU       = GPU memory x gpu_memory_utilization  (0.92 by default, vLLM's documented default)
//	needed/GPU       = weights / (tp x pp) + KV cache / (tp x pp) + allowance(tp)    must be <= usable/GPU
//
// GPU memory is the smaller of the figure given (the cloud catalog's, or memory_gib) and the
// total that nvidia-smi reports for a known GPU model (KnownGPUs): an H100 80GB counts as
// 81559 MiB, an L4 as 23034 MiB. With tp larger than the KV heads, each rank still holds one KV
// head, so the KV cache grows by tp / kv_heads. Pipeline stages hold ceil(layers / pp) layers.
// Shares are rounded up, usable memory and sequence counts down. gpu_memory_utilization is
// rounded to 6 decimals.
//
// # Choosing a deployment
//
// On each candidate: the smallest valid tensor-parallel size (ValidTensorParallelSizes: it
// divides the attention heads, and divides the KV heads or is a multiple of them) that fits on
// one node. Pipeline parallelism is only used across nodes: when no size fits on one node and
// more nodes are allowed (max_nodes for an instance type, hosts for on-prem GPUs), the largest
// valid size per node with the fewest nodes that fit. Candidates are sorted by total nominal GPU
// memory (GPUs x the catalog's or the model's marketing figure), then vCPUs and host memory
// (cheaper sizes of the same GPUs first), then name: without prices, total GPU memory stands in
// for cost. The recommendation is the fitting candidate with the least
// GPU memory in all. When nothing fits, Plan.Advice says what would: quantization = "fp8",
// kv_cache_dtype = "fp8", fewer sequences, a shorter context, more nodes, bigger GPUs.
//
// # Worked example: Llama-3.1-70B-Instruct, bf16, 32 sequences of 32768 tokens, p5.48xlarge (8 x H100)
//
//	weights          = 70,553,706,496 x 2                                  = 141,107,412,992 B (131.4 GiB)
//	KV per token     = 2 x 80 layers x 8 KV heads x 128 x 2 B             =         327,680 B (320 KiB)
//	KV per sequence  = 327,680 x 32,768                                    =  10,737,418,240 B (10 GiB)
//	KV cache         = 32 x 10 GiB                                         = 343,597,383,680 B (320 GiB)
//	usable per H100  = 81,559 MiB x 0.92 = 85,520,809,984 x 0.92           =  78,679,145,185 B (73.3 GiB)
//	valid tp         = 1, 2, 4, 8, 16, 32, 64 (64 heads, 8 KV heads); on 8 GPUs: 1, 2, 4, 8
//	tp 4: 35,276,853,248 + 85,899,345,920 + 1,962,934,272                  = 123,139,133,440 B > usable: no
//	tp 8: weights 17,638,426,624 + KV 42,949,672,960
//	      + allowance 1 GiB + 8192 x (4 x 8192 + 3 x 28672 / 8) x 2 = 1,786,773,504
//	                                                                       =  62,374,873,088 B (58.1 GiB) <= usable: fits
//	max sequences    = (78,679,145,185 - 17,638,426,624 - 1,786,773,504) x 8 / 10,737,418,240 = 44.1 -> 44
//
// So: tensor_parallel_size 8, pipeline_parallel_size 1, 44 sequences of 32768 tokens at once.
//
// # Worked example: a sliding window (gemma-2-27b-it, 8 sequences of 8192 tokens, one A100 80GB)
//
// Gemma-2 alternates sliding-window layers (window 4096) and global layers: 23 of each.
//
//	KV per token     = 2 x 46 x 16 x 128 x 2                               =         376,832 B
//	KV per sequence  = 2 x 16 x 128 x 2 x (23 x 8192 + 23 x 4096)          =   2,315,255,808 B (not 376,832 x 8192 = 3,087,007,744)
//	weights          = 27,227,128,320 x 2                                  =  54,454,256,640 B
//	allowance        = 1 GiB + 8192 x (4 x 4608 + 3 x 36864) x 2           =   3,187,671,040 B
//	needed           = 54,454,256,640 + 8 x 2,315,255,808 + 3,187,671,040  =  76,163,974,144 B
//	usable           = 81,920 MiB x 0.92                                   =  79,027,398,246 B: fits at tp 1, 9 sequences
//
// Without the cap it would need 82,337,989,632 B and not fit.
//
// # Limits
//
// The allowance is an estimate of what vLLM's memory profiler measures; it does not model
// multi-modal encoders, LoRA adapters, speculative decoding, or MLA attention (DeepSeek), whose KV
// cache is smaller than the formula says. Mixture-of-experts models are sized by their total
// parameters (all experts are resident), with the activation term from intermediate_size.
package sizing
