package sizing

import (
	"fmt"
	"math"
	"strings"

	"github.com/inferstack/terraform-provider-inferstack/internal/backend"
	"github.com/inferstack/terraform-provider-inferstack/internal/errs"
)

// Attribute names of the inferstack_deployment_plan data source, used in problems' attributes (errs.Problem).
const (
	AttrModel                = "model"
	AttrMaxModelLen          = "max_model_len"
	AttrAllowLongContext     = "allow_long_context"
	AttrConcurrency          = "concurrency"
	AttrQuantization         = "quantization"
	AttrKVCacheDType         = "kv_cache_dtype"
	AttrGPUMemoryUtilization = "gpu_memory_utilization"
	AttrMaxNumBatchedTokens  = "max_num_batched_tokens"
	AttrMaxNodes             = "max_nodes"
	AttrCandidates           = "candidates"
	AttrGPUs                 = "gpus"
	AttrGPUModel             = "model"      // in a gpus element
	AttrGPUMemoryGiB         = "memory_gib" // in a gpus element
	AttrGPUCount             = "count"      // in a gpus element
	AttrGPUHosts             = "hosts"      // in a gpus element
)

// Defaults for the optional Request fields.
const (
	// DefaultGPUMemoryUtilization is vLLM's documented default for --gpu-memory-utilization
	// (CacheConfig Field(default=0.92) in ../shared/contracts/vllm-serve-args.json; releases up
	// to about v0.12 used 0.9).
	DefaultGPUMemoryUtilization = 0.92
	// DefaultMaxNumBatchedTokens is the token budget of one engine step that the activation
	// allowance assumes: vLLM's choice for its OpenAI server on GPUs of 70 GiB or more (smaller
	// GPUs get 2048, so 8192 errs on the safe side).
	DefaultMaxNumBatchedTokens int64 = 8192
	DefaultConcurrency         int64 = 1
	DefaultMaxNodes            int64 = 1
	// FixedOverheadBytesPerGPU is the part of the allowance that does not grow with the model:
	// CUDA context, NCCL buffers, CUDA graphs of the decode batch sizes, sampler buffers.
	FixedOverheadBytesPerGPU = GiB
)

// Request is one sizing question. Optional fields are pointers: nil takes the default, and a
// value that is set is checked (0 is an error, not a default), so a data source passes
// types.Int64.ValueInt64Pointer() and friends straight through.
type Request struct {
	// Model is the model's shape (ShapeFromModel).
	Model ModelShape
	// MaxModelLen is the context length to serve, in tokens; nil means the model's
	// max_position_embeddings. Above that it is an error unless AllowLongContext.
	MaxModelLen *int64
	// AllowLongContext accepts a MaxModelLen above max_position_embeddings (rope scaling added by
	// the user; vLLM needs VLLM_ALLOW_LONG_MAX_MODEL_LEN=1).
	AllowLongContext bool
	// Concurrency is how many sequences of MaxModelLen tokens must fit in the KV cache at once;
	// nil means 1.
	Concurrency *int64
	// Quantization is vLLM's --quantization: nil or "" means the checkpoint's own (none for a
	// 16-bit model); "fp8" or "bitsandbytes" quantize a 16-bit checkpoint as it loads; naming the
	// checkpoint's own method ("awq" for an AWQ repository) is the same as nil.
	Quantization *string
	// KVCacheDType is vLLM's --kv-cache-dtype: nil, "auto" (the serving dtype, 2 bytes), "fp8"
	// (also fp8_e4m3, fp8_e5m2: 1 byte), "bfloat16" or "float16".
	KVCacheDType *string
	// GPUMemoryUtilization is the share of each GPU's memory vLLM may use, in (0, 1]; nil means
	// DefaultGPUMemoryUtilization. It is rounded to 6 decimal places.
	GPUMemoryUtilization *float64
	// MaxNumBatchedTokens sizes the activation allowance; nil means DefaultMaxNumBatchedTokens.
	MaxNumBatchedTokens *int64
	// MaxNodes is how many nodes of one cloud instance type may be joined with pipeline
	// parallelism; nil means 1 (single node). On-prem GPUs use their Hosts instead.
	MaxNodes *int64

	// InstanceTypes are the cloud candidates (from a GPU catalog).
	InstanceTypes []backend.GPUType
	// GPUs are hosts you already have.
	GPUs []HostGPUs
}

// HostGPUs is one on-prem host (or several identical ones) and its GPUs.
type HostGPUs struct {
	// Model names the GPU ("L4", "A100 80GB", "NVIDIA H100 NVL"...).
	Model string
	// MemoryGiB is the memory of one GPU; nil takes it from the known table (KnownGPUs), which
	// is required for a model the table does not know.
	MemoryGiB *float64
	// Count is the number of GPUs in one host.
	Count int64
	// Hosts is how many such hosts there are, for pipeline parallelism across them; nil means 1.
	Hosts *int64
}

// Online quantization methods vLLM applies to a 16-bit checkpoint as it loads, with the bits
// per weight they store.
var onlineQuantization = map[string]int64{"fp8": 8, "bitsandbytes": 4}

// Methods that need a checkpoint quantized ahead of time.
var offlineQuantization = map[string]bool{
	"awq": true, "gptq": true, "compressed-tensors": true, "gguf": true, "modelopt": true, "modelopt_fp4": true,
	"mxfp4": true, "quark": true, "fbgemm_fp8": true, "awq_marlin": true, "gptq_marlin": true, "auto_gptq": true,
	"moe_wna16": true, "torchao": true, "inc": true,
}

// canonicalQuantization folds vLLM's kernel-specific names into the checkpoint's method.
func canonicalQuantization(m string) string {
	m = strings.ToLower(strings.TrimSpace(m))
	switch m {
	case "awq_marlin", "cpu_awq":
		return "awq"
	case "gptq_marlin", "auto_gptq", "gptq_marlin_24":
		return "gptq"
	case "compressed_tensors":
		return "compressed-tensors"
	}
	return m
}

var kvCacheBytes = map[string]int64{"auto": 2, "bfloat16": 2, "float16": 2, "fp8": 1, "fp8_e4m3": 1, "fp8_e5m2": 1}

// settings are a Request's values with defaults applied.
type settings struct {
	maxModelLen, concurrency, maxBatched, maxNodes int64
	utilPPM                                        int64 // utilisation in millionths
	util                                           float64
	quantization                                   string // effective method, "" for none
	ownQuantization                                bool   // the checkpoint's own
	kvDType                                        string
	kvBytes                                        int64
}

// Validate returns every problem with the request (nil when there is none). Compute calls it.
func (r Request) Validate() errs.List {
	_, ps := r.settings()
	return ps
}

func (r Request) settings() (settings, errs.List) {
	var ps errs.List
	m := r.Model
	s := settings{
		concurrency: DefaultConcurrency, maxBatched: DefaultMaxNumBatchedTokens, maxNodes: DefaultMaxNodes,
		util: DefaultGPUMemoryUtilization, kvDType: "auto",
	}

	// The model itself.
	name := m.ID
	if name == "" {
		name = "the model"
	}
	switch {
	case m.NumHiddenLayers <= 0 || m.NumAttentionHeads <= 0 || m.NumKeyValueHeads <= 0 || m.HeadDim <= 0:
		ps.Add(fmt.Sprintf("%s has no usable attention shape (num_hidden_layers %d, num_attention_heads %d, num_key_value_heads %d, head_dim %d): only transformer language models with a config.json can be sized",
			name, m.NumHiddenLayers, m.NumAttentionHeads, m.NumKeyValueHeads, m.HeadDim), AttrModel)
	case m.NumKeyValueHeads > m.NumAttentionHeads || m.NumAttentionHeads%m.NumKeyValueHeads != 0:
		ps.Add(fmt.Sprintf("%s has %d attention heads and %d KV heads; the KV heads must divide the attention heads",
			name, m.NumAttentionHeads, m.NumKeyValueHeads), AttrModel)
	}
	if m.Parameters <= 0 {
		ps.Add(fmt.Sprintf("the Hub has no safetensors metadata for %s, so its parameter count (and the weights' size) is unknown: choose a repository with safetensors weights", name), AttrModel)
	}
	if m.SlidingWindowLayers < 0 || m.SlidingWindowLayers > m.NumHiddenLayers || m.SlidingWindow < 0 {
		ps.Add(fmt.Sprintf("%s: sliding window of %d tokens on %d of %d layers is inconsistent", name, m.SlidingWindow, m.SlidingWindowLayers, m.NumHiddenLayers), AttrModel)
	}

	// Context and concurrency.
	switch {
	case r.MaxModelLen == nil && m.MaxPositionEmbeddings <= 0:
		ps.Add(fmt.Sprintf("%s's config.json gives no max_position_embeddings: set max_model_len to the context length to serve, in tokens", name), AttrMaxModelLen)
	case r.MaxModelLen == nil:
		s.maxModelLen = m.MaxPositionEmbeddings
	case *r.MaxModelLen <= 0:
		ps.Add(fmt.Sprintf("max_model_len must be at least 1 token, got %d; leave it null to serve the model's own limit (%d)", *r.MaxModelLen, m.MaxPositionEmbeddings), AttrMaxModelLen)
	case m.MaxPositionEmbeddings > 0 && *r.MaxModelLen > m.MaxPositionEmbeddings && !r.AllowLongContext:
		ps.Add(fmt.Sprintf("max_model_len %d is above %s's own limit (max_position_embeddings %d), which vLLM refuses: use at most %d, or, if you extend the context with rope scaling (e.g. YaRN), set allow_long_context = true (vLLM then needs VLLM_ALLOW_LONG_MAX_MODEL_LEN=1)",
			*r.MaxModelLen, name, m.MaxPositionEmbeddings, m.MaxPositionEmbeddings), AttrMaxModelLen)
	default:
		s.maxModelLen = *r.MaxModelLen
	}
	if r.Concurrency != nil {
		if *r.Concurrency <= 0 {
			ps.Add(fmt.Sprintf("concurrency must be at least 1 sequence, got %d", *r.Concurrency), AttrConcurrency)
		}
		s.concurrency = *r.Concurrency
	}
	if r.MaxNumBatchedTokens != nil {
		if *r.MaxNumBatchedTokens <= 0 {
			ps.Add(fmt.Sprintf("max_num_batched_tokens must be at least 1, got %d; leave it null for %d", *r.MaxNumBatchedTokens, DefaultMaxNumBatchedTokens), AttrMaxNumBatchedTokens)
		}
		s.maxBatched = *r.MaxNumBatchedTokens
	}
	if r.MaxNodes != nil {
		if *r.MaxNodes <= 0 {
			ps.Add(fmt.Sprintf("max_nodes must be at least 1, got %d; 1 keeps a deployment on one node", *r.MaxNodes), AttrMaxNodes)
		}
		s.maxNodes = *r.MaxNodes
	}

	// Utilisation.
	if r.GPUMemoryUtilization != nil {
		u := *r.GPUMemoryUtilization
		if math.IsNaN(u) || u <= 0 || u > 1 {
			ps.Add(fmt.Sprintf("gpu_memory_utilization is the share of each GPU's memory vLLM may use and must be in (0, 1], got %g; vLLM's default is %g", u, DefaultGPUMemoryUtilization), AttrGPUMemoryUtilization)
		}
		s.util = u
	}
	s.utilPPM = int64(math.Round(s.util * 1e6))
	if s.utilPPM <= 0 && s.util > 0 {
		ps.Add(fmt.Sprintf("gpu_memory_utilization %g is too small to hold anything", s.util), AttrGPUMemoryUtilization)
	}

	// Quantization.
	own := canonicalQuantization(m.Quantization)
	var q string
	if r.Quantization != nil {
		q = canonicalQuantization(*r.Quantization)
	}
	switch {
	case q == "" || q == own:
		s.quantization, s.ownQuantization = own, true
	case own != "":
		ps.Add(fmt.Sprintf("%s is already quantized with %s; vLLM cannot re-quantize it to %s: leave quantization null, or choose the 16-bit repository", name, own, q), AttrQuantization)
	case onlineQuantization[q] > 0:
		s.quantization = q
	case offlineQuantization[q]:
		ps.Add(fmt.Sprintf("vLLM cannot quantize to %s as it loads: %s needs a checkpoint quantized ahead of time (a repository whose config.json has quantization_config.quant_method = %q, often named ...-%s). Choose such a repository as the model, or use quantization = \"fp8\" (or \"bitsandbytes\") to quantize %s on the fly",
			q, q, q, strings.ToUpper(q), name), AttrQuantization)
	default:
		ps.Add(fmt.Sprintf("unknown quantization %q: use null (the checkpoint's own), \"fp8\" or \"bitsandbytes\" for on-the-fly quantization, or the method of a pre-quantized checkpoint (awq, gptq, compressed-tensors...)", q), AttrQuantization)
	}

	// KV cache dtype.
	if r.KVCacheDType != nil && *r.KVCacheDType != "" {
		s.kvDType = strings.ToLower(strings.TrimSpace(*r.KVCacheDType))
	}
	s.kvBytes = kvCacheBytes[s.kvDType]
	if s.kvBytes == 0 {
		ps.Add(fmt.Sprintf("unknown kv_cache_dtype %q: use \"auto\" (the model's 16-bit dtype, 2 bytes) or \"fp8\" (1 byte; also fp8_e4m3, fp8_e5m2)", s.kvDType), AttrKVCacheDType)
	}

	// On-prem GPUs.
	for i, g := range r.GPUs {
		if strings.TrimSpace(g.Model) == "" {
			ps.Add("model must name the GPU, e.g. \"L4\" or \"A100 80GB\"", AttrGPUs, i, AttrGPUModel)
		}
		if g.Count <= 0 {
			ps.Add(fmt.Sprintf("count is the number of GPUs in one host and must be at least 1, got %d", g.Count), AttrGPUs, i, AttrGPUCount)
		}
		if g.Hosts != nil && *g.Hosts <= 0 {
			ps.Add(fmt.Sprintf("hosts must be at least 1, got %d", *g.Hosts), AttrGPUs, i, AttrGPUHosts)
		}
		switch {
		case g.MemoryGiB != nil && (math.IsNaN(*g.MemoryGiB) || *g.MemoryGiB <= 0 || *g.MemoryGiB > 4096):
			ps.Add(fmt.Sprintf("memory_gib is one GPU's memory in GiB and must be above 0, got %g", *g.MemoryGiB), AttrGPUs, i, AttrGPUMemoryGiB)
		case g.MemoryGiB == nil && strings.TrimSpace(g.Model) != "":
			if _, ok := FindGPU(g.Model, 0); !ok {
				ps.Add(fmt.Sprintf("GPU model %q is not in the known table (%s), or comes in several memory sizes: set memory_gib to one GPU's memory (nvidia-smi --query-gpu=memory.total reports MiB: divide by 1024)", g.Model, knownNames()), AttrGPUs, i, AttrGPUMemoryGiB)
			}
		}
	}
	return s, ps
}
