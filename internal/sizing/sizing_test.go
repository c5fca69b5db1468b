package sizing

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/inferstack/terraform-provider-inferstack/internal/backend"
	"github.com/inferstack/terraform-provider-inferstack/internal/errs"
	"github.com/inferstack/terraform-provider-inferstack/internal/hf"
)

// Shapes from ../shared/contracts/hf-hub-api.md (config.json values, safetensors totals).
var (
	llama8B = ModelShape{
		ID: "meta-llama/Llama-3.1-8B-Instruct", Parameters: 8030261248, ParametersByDType: map[string]int64{"BF16": 8030261248}, DType: "bfloat16",
		HiddenSize: 4096, IntermediateSize: 14336, NumHiddenLayers: 32, NumAttentionHeads: 32, NumKeyValueHeads: 8, HeadDim: 128,
		VocabSize: 128256, MaxPositionEmbeddings: 131072,
	}
	llama70B = ModelShape{
		ID: "meta-llama/Llama-3.1-70B-Instruct", Parameters: 70553706496, ParametersByDType: map[string]int64{"BF16": 70553706496}, DType: "bfloat16",
		HiddenSize: 8192, IntermediateSize: 28672, NumHiddenLayers: 80, NumAttentionHeads: 64, NumKeyValueHeads: 8, HeadDim: 128,
		VocabSize: 128256, MaxPositionEmbeddings: 131072,
	}
	mistral7B = ModelShape{
		ID: "mistralai/Mistral-7B-Instruct-v0.3", Parameters: 7248023552, DType: "bfloat16",
		HiddenSize: 4096, IntermediateSize: 14336, NumHiddenLayers: 32, NumAttentionHeads: 32, NumKeyValueHeads: 8, HeadDim: 128,
		VocabSize: 32768, MaxPositionEmbeddings: 32768,
	}
	gemma27B = ModelShape{
		ID: "google/gemma-2-27b-it", Parameters: 27227128320, DType: "bfloat16",
		HiddenSize: 4608, IntermediateSize: 36864, NumHiddenLayers: 46, NumAttentionHeads: 32, NumKeyValueHeads: 16, HeadDim: 128,
		VocabSize: 256000, TieWordEmbeddings: true, MaxPositionEmbeddings: 8192, SlidingWindow: 4096, SlidingWindowLayers: 23,
	}
	qwen72B = ModelShape{
		ID: "Qwen/Qwen2.5-72B-Instruct", Parameters: 72706203648, DType: "bfloat16",
		HiddenSize: 8192, IntermediateSize: 29568, NumHiddenLayers: 80, NumAttentionHeads: 64, NumKeyValueHeads: 8, HeadDim: 128,
		VocabSize: 152064, MaxPositionEmbeddings: 32768,
	}
	qwen7B = ModelShape{
		ID: "Qwen/Qwen2.5-7B-Instruct", Parameters: 7615616512, DType: "bfloat16",
		HiddenSize: 3584, IntermediateSize: 18944, NumHiddenLayers: 28, NumAttentionHeads: 28, NumKeyValueHeads: 4, HeadDim: 128,
		VocabSize: 152064, MaxPositionEmbeddings: 32768,
	}
	qwen7BAWQ = ModelShape{
		ID: "Qwen/Qwen2.5-7B-Instruct-AWQ", Parameters: 1963340288, ParametersByDType: map[string]int64{"I32": 822033408, "F16": 1141306880}, DType: "float16",
		HiddenSize: 3584, IntermediateSize: 18944, NumHiddenLayers: 28, NumAttentionHeads: 28, NumKeyValueHeads: 4, HeadDim: 128,
		VocabSize: 152064, MaxPositionEmbeddings: 32768, Quantization: "awq", QuantizationBits: 4,
	}
)

// Instance types as a cloud catalog reports them (../shared/contracts/gpu-catalog.md).
var (
	g6xlarge   = backend.GPUType{Name: "g6.xlarge", GPUManufacturer: "NVIDIA", GPUModel: "L4", GPUCount: 1, GPUFraction: 1, GPUMemoryMiB: 24576, VCPUs: 4, MemoryMiB: 16384}
	g6x2large  = backend.GPUType{Name: "g6.2xlarge", GPUManufacturer: "NVIDIA", GPUModel: "L4", GPUCount: 1, GPUFraction: 1, GPUMemoryMiB: 24576, VCPUs: 8, MemoryMiB: 32768}
	g6x12large = backend.GPUType{Name: "g6.12xlarge", GPUManufacturer: "NVIDIA", GPUModel: "L4", GPUCount: 4, GPUFraction: 1, GPUMemoryMiB: 24576, VCPUs: 48, MemoryMiB: 196608}
	g6x48large = backend.GPUType{Name: "g6.48xlarge", GPUManufacturer: "NVIDIA", GPUModel: "L4", GPUCount: 8, GPUFraction: 1, GPUMemoryMiB: 24576, VCPUs: 192, MemoryMiB: 786432}
	g6exlarge  = backend.GPUType{Name: "g6e.xlarge", GPUManufacturer: "NVIDIA", GPUModel: "L40S", GPUCount: 1, GPUFraction: 1, GPUMemoryMiB: 49152, VCPUs: 4, MemoryMiB: 32768}
	g6e12large = backend.GPUType{Name: "g6e.12xlarge", GPUManufacturer: "NVIDIA", GPUModel: "L40S", GPUCount: 4, GPUFraction: 1, GPUMemoryMiB: 49152, VCPUs: 48, MemoryMiB: 393216}
	p4de       = backend.GPUType{Name: "p4de.24xlarge", GPUManufacturer: "NVIDIA", GPUModel: "A100", GPUCount: 8, GPUFraction: 1, GPUMemoryMiB: 81920, VCPUs: 96, MemoryMiB: 1179648}
	p5         = backend.GPUType{Name: "p5.48xlarge", GPUManufacturer: "NVIDIA", GPUModel: "H100", GPUCount: 8, GPUFraction: 1, GPUMemoryMiB: 81920, VCPUs: 192, MemoryMiB: 2097152}
	nc80H100   = backend.GPUType{Name: "Standard_NC80adis_H100_v5", GPUManufacturer: "NVIDIA", GPUModel: "H100 NVL", GPUCount: 2, GPUFraction: 1, GPUMemoryMiB: 96256, VCPUs: 80, MemoryMiB: 655360}
	nv12A10    = backend.GPUType{Name: "Standard_NV12ads_A10_v5", GPUManufacturer: "NVIDIA", GPUModel: "A10", GPUCount: 1, GPUFraction: 1.0 / 3, GPUMemoryMiB: 8192, VCPUs: 12, MemoryMiB: 112640}
)

// Usable memory per GPU at 0.92, worked by hand (MiB x 1,048,576 x 0.92, floored):
//
//	L4 (23,034 MiB)        24,152,899,584 x 0.92 =  22,220,667,617
//	L40S (46,068 MiB)      48,305,799,168 x 0.92 =  44,441,335,234
//	T4 (15,360 MiB)        16,106,127,360 x 0.92 =  14,817,637,171
//	A100 80GB (81,920 MiB) 85,899,345,920 x 0.92 =  79,027,398,246
//	H100 (81,559 MiB)      85,520,809,984 x 0.92 =  78,679,145,185
//	H100 NVL (95,830 MiB) 100,485,038,080 x 0.92 =  92,446,235,033
const (
	usableL4      = 22220667617
	usableL40S    = 44441335234
	usableT4      = 14817637171
	usableA100    = 79027398246
	usableH100    = 78679145185
	usableH100NVL = 92446235033
)

type wantCandidate struct {
	name                   string
	fits                   bool
	tp, pp, seqs, replicas int64
	requiredPerGPU, usable int64
	reasonHas              []string
}

func TestCompute(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		req  Request
		// plan-level figures
		weights, kvPerToken, kvPerSeq, kvCache, required int64
		recommended                                      string // "" when nothing fits
		candidates                                       []wantCandidate
		adviceHas                                        []string
	}{
		{
			// The doc.go worked example.
			// weights 70,553,706,496 x 2 = 141,107,412,992; KV/token 2 x 80 x 8 x 128 x 2 = 327,680;
			// KV/seq 327,680 x 32,768 = 10,737,418,240; KV 32 x that = 343,597,383,680;
			// allowance tp1 = 1 GiB + 8192 x (32,768 + 86,016) x 2 = 3,019,898,880;
			// required = 141,107,412,992 + 343,597,383,680 + 3,019,898,880 = 487,724,695,552.
			// tp 8: 17,638,426,624 + 42,949,672,960 + (1 GiB + 8192 x (32,768 + 10,752) x 2 = 1,786,773,504)
			//       = 62,374,873,088 <= 78,679,145,185; seqs (78,679,145,185 - 17,638,426,624 - 1,786,773,504) x 8 / 10,737,418,240 = 44.1.
			name:    "Llama-3.1-70B bf16 32768 x 32 on 8 x H100",
			req:     Request{Model: llama70B, MaxModelLen: new(int64(32768)), Concurrency: new(int64(32)), InstanceTypes: []backend.GPUType{p5}},
			weights: 141107412992, kvPerToken: 327680, kvPerSeq: 10737418240, kvCache: 343597383680, required: 487724695552,
			recommended: "p5.48xlarge",
			candidates:  []wantCandidate{{name: "p5.48xlarge", fits: true, tp: 8, pp: 1, seqs: 44, replicas: 1, requiredPerGPU: 62374873088, usable: usableH100}},
		},
		{
			// The same on three instance types. g6e.12xlarge (4 x L40S): tp 4 needs 35,276,853,248 + 85,899,345,920
			// + 1,962,934,272 = 123,139,133,440 > 44,441,335,234; it holds (44,441,335,234 - 35,276,853,248 - 1,962,934,272)
			// x 4 / 10,737,418,240 = 2.68 -> 2 sequences. p4de (8 x A100 80GB, usable 79,027,398,246) fits at tp 8 with
			// (79,027,398,246 - 17,638,426,624 - 1,786,773,504) x 8 / 10,737,418,240 = 44.4 -> 44 and has the same nominal
			// GPU memory as p5 (8 x 80 GiB) but fewer vCPUs, so it sorts first and is recommended.
			name:    "Llama-3.1-70B bf16 32768 x 32 on three types",
			req:     Request{Model: llama70B, MaxModelLen: new(int64(32768)), Concurrency: new(int64(32)), InstanceTypes: []backend.GPUType{p5, g6e12large, p4de}},
			weights: 141107412992, kvPerToken: 327680, kvPerSeq: 10737418240, kvCache: 343597383680, required: 487724695552,
			recommended: "p4de.24xlarge",
			candidates: []wantCandidate{
				{name: "g6e.12xlarge", tp: 4, pp: 1, seqs: 2, replicas: 1, requiredPerGPU: 123139133440, usable: usableL40S,
					reasonHas: []string{"needs 114.7 GiB per GPU at tensor_parallel_size 4", "weights 32.9 GiB + KV cache 80.0 GiB for 32 sequences of 32768 tokens + allowance 1.8 GiB", "one L40S gives 41.4 GiB usable (45.0 GiB x 0.92)", "holds 2 sequences"}},
				{name: "p4de.24xlarge", fits: true, tp: 8, pp: 1, seqs: 44, replicas: 1, requiredPerGPU: 62374873088, usable: usableA100},
				{name: "p5.48xlarge", fits: true, tp: 8, pp: 1, seqs: 44, replicas: 1, requiredPerGPU: 62374873088, usable: usableH100},
			},
		},
		{
			// weights 8,030,261,248 x 2 = 16,060,522,496; KV/token 2 x 32 x 8 x 128 x 2 = 131,072; KV/seq x 8192 = 1 GiB;
			// KV 16 GiB = 17,179,869,184; allowance tp1 1 GiB + 8192 x (16,384 + 43,008) x 2 = 2,046,820,352;
			// required 35,287,212,032: not on one L4 (22,220,667,617), yes on one L40S (44,441,335,234):
			// (44,441,335,234 - 16,060,522,496 - 2,046,820,352) / 1 GiB = 24.5 -> 24.
			// g6.12xlarge (4 x L4): tp 2 = 8,030,261,248 + 8,589,934,592 + 1,694,498,816 = 18,314,694,656 fits,
			// (22,220,667,617 - 8,030,261,248 - 1,694,498,816) x 2 / 1 GiB = 23.3 -> 23, 2 replicas per node.
			// Sorted by nominal GPU memory: 24, 24, 48, 96 GiB; the two 1 x L4 sizes by vCPUs.
			name: "Llama-3.1-8B bf16 8192 x 16 on L4 and L40S",
			req: Request{Model: llama8B, MaxModelLen: new(int64(8192)), Concurrency: new(int64(16)),
				InstanceTypes: []backend.GPUType{g6x12large, g6exlarge, g6x2large, g6xlarge}},
			weights: 16060522496, kvPerToken: 131072, kvPerSeq: 1073741824, kvCache: 17179869184, required: 35287212032,
			recommended: "g6e.xlarge",
			candidates: []wantCandidate{
				{name: "g6.xlarge", tp: 1, pp: 1, seqs: 3, replicas: 1, requiredPerGPU: 35287212032, usable: usableL4, reasonHas: []string{"one L4 gives 20.7 GiB usable"}},
				{name: "g6.2xlarge", tp: 1, pp: 1, seqs: 3, replicas: 1, requiredPerGPU: 35287212032, usable: usableL4},
				{name: "g6e.xlarge", fits: true, tp: 1, pp: 1, seqs: 24, replicas: 1, requiredPerGPU: 35287212032, usable: usableL40S},
				{name: "g6.12xlarge", fits: true, tp: 2, pp: 1, seqs: 23, replicas: 2, requiredPerGPU: 18314694656, usable: usableL4},
			},
		},
		{
			// weights 7,248,023,552 x 2 = 14,496,047,104; KV/seq 131,072 x 32,768 = 4 GiB; allowance 2,046,820,352;
			// required 20,837,834,752 <= 22,220,667,617 on one on-prem L4; (22,220,667,617 - 14,496,047,104
			// - 2,046,820,352) / 4 GiB = 1.3 -> 1. max_model_len defaults to max_position_embeddings 32768.
			name:    "Mistral-7B-v0.3 bf16 32768 x 1 on an on-prem L4",
			req:     Request{Model: mistral7B, GPUs: []HostGPUs{{Model: "NVIDIA L4", Count: 1}}},
			weights: 14496047104, kvPerToken: 131072, kvPerSeq: 4294967296, kvCache: 4294967296, required: 20837834752,
			recommended: "1 x NVIDIA L4",
			candidates:  []wantCandidate{{name: "1 x NVIDIA L4", fits: true, tp: 1, pp: 1, seqs: 1, replicas: 1, requiredPerGPU: 20837834752, usable: usableL4}},
		},
		{
			// Sliding window: 23 of 46 layers keep 4096 tokens. KV/seq 2 x 16 x 128 x 2 x (23 x 8192 + 23 x 4096)
			// = 8192 x 282,624 = 2,315,255,808; KV 8 x that = 18,522,046,464; weights 54,454,256,640;
			// allowance tp1 1 GiB + 8192 x (18,432 + 110,592) x 2 = 3,187,671,040; required 76,163,974,144.
			// One A100 80GB (memory_gib 80 = 81,920 MiB): fits at tp 1, (79,027,398,246 - 54,454,256,640
			// - 3,187,671,040) / 2,315,255,808 = 9.2 -> 9.
			// 4 x L40S: tp 2 = 27,227,128,320 + 9,261,023,232 + (1 GiB + 8192 x (18,432 + 55,296) x 2 = 2,281,701,376)
			// = 38,769,852,928 fits; (44,441,335,234 - 27,227,128,320 - 2,281,701,376) x 2 / 2,315,255,808 = 12.9 -> 12.
			// The A100 host has less GPU memory in all (80 GiB against 4 x 48), so it is recommended.
			name: "gemma-2-27b bf16 8192 x 8 on-prem",
			req: Request{Model: gemma27B, Concurrency: new(int64(8)), GPUs: []HostGPUs{
				{Model: "L40S", Count: 4}, {Model: "A100", MemoryGiB: new(80.0), Count: 1},
			}},
			weights: 54454256640, kvPerToken: 376832, kvPerSeq: 2315255808, kvCache: 18522046464, required: 76163974144,
			recommended: "1 x A100",
			candidates: []wantCandidate{
				{name: "1 x A100", fits: true, tp: 1, pp: 1, seqs: 9, replicas: 1, requiredPerGPU: 76163974144, usable: usableA100},
				{name: "4 x L40S", fits: true, tp: 2, pp: 1, seqs: 12, replicas: 2, requiredPerGPU: 38769852928, usable: usableL40S},
			},
		},
		{
			// weights 72,706,203,648 x 2 = 145,412,407,296; KV/seq 327,680 x 32,768 = 10 GiB; KV 8 x 10 GiB = 85,899,345,920;
			// allowance tp1 1 GiB + 8192 x (32,768 + 88,704) x 2 = 3,063,939,072; required 234,375,692,288.
			// p4de tp 2: 72,706,203,648 + 42,949,672,960 + 2,337,275,904 = 117,993,152,512 > 79,027,398,246;
			// tp 4: 36,353,101,824 + 21,474,836,480 + (1 GiB + 8192 x (32,768 + 22,176) x 2 = 1,973,944,320)
			// = 59,801,882,624 fits; (79,027,398,246 - 36,353,101,824 - 1,973,944,320) x 4 / 10 GiB = 15.2 -> 15.
			name:    "Qwen2.5-72B bf16 32768 x 8 on p4de",
			req:     Request{Model: qwen72B, Concurrency: new(int64(8)), InstanceTypes: []backend.GPUType{p4de}},
			weights: 145412407296, kvPerToken: 327680, kvPerSeq: 10737418240, kvCache: 85899345920, required: 234375692288,
			recommended: "p4de.24xlarge",
			candidates:  []wantCandidate{{name: "p4de.24xlarge", fits: true, tp: 4, pp: 1, seqs: 15, replicas: 2, requiredPerGPU: 59801882624, usable: usableA100}},
		},
		{
			// fp8 weights: embeddings E = 152,064 x 8,192 x 2 = 2,491,416,576 stay 16-bit:
			// (72,706,203,648 - 2,491,416,576) x 1 + 2,491,416,576 x 2 = 75,197,620,224.
			// fp8 KV: 2 x 80 x 8 x 128 x 1 = 163,840/token, 5,368,709,120/seq, 42,949,672,960 for 8.
			// 2 x H100 NVL (min(96,256, 95,830) MiB, usable 92,446,235,033): tp 2 = 37,598,810,112 + 21,474,836,480
			// + (1 GiB + 8192 x (32,768 + 44,352) x 2 = 2,337,275,904) = 61,410,922,496 fits;
			// (92,446,235,033 - 37,598,810,112 - 2,337,275,904) x 2 / 5,368,709,120 = 19.6 -> 19.
			name: "Qwen2.5-72B fp8 weights and KV on 2 x H100 NVL",
			req: Request{Model: qwen72B, Concurrency: new(int64(8)), Quantization: new("fp8"), KVCacheDType: new("fp8"),
				InstanceTypes: []backend.GPUType{nc80H100}},
			weights: 75197620224, kvPerToken: 163840, kvPerSeq: 5368709120, kvCache: 42949672960, required: 75197620224 + 42949672960 + 3063939072,
			recommended: "Standard_NC80adis_H100_v5",
			candidates:  []wantCandidate{{name: "Standard_NC80adis_H100_v5", fits: true, tp: 2, pp: 1, seqs: 19, replicas: 1, requiredPerGPU: 61410922496, usable: usableH100NVL}},
		},
		{
			// AWQ as stored: 822,033,408 I32 x 4 + 1,141,306,880 F16 x 2 = 5,570,747,392.
			// KV/token 2 x 28 x 4 x 128 x 2 = 57,344; x 32,768 = 1,879,048,192; x 3 = 5,637,144,576.
			// allowance 1 GiB + 8192 x (14,336 + 56,832) x 2 = 2,239,758,336. T4: 13,447,650,304 <= 14,817,637,171;
			// (14,817,637,171 - 5,570,747,392 - 2,239,758,336) / 1,879,048,192 = 3.7 -> 3.
			name:    "Qwen2.5-7B AWQ 32768 x 3 on a T4",
			req:     Request{Model: qwen7BAWQ, Concurrency: new(int64(3)), Quantization: new("awq_marlin"), GPUs: []HostGPUs{{Model: "Tesla T4", Count: 1}}},
			weights: 5570747392, kvPerToken: 57344, kvPerSeq: 1879048192, kvCache: 5637144576, required: 13447650304,
			recommended: "1 x Tesla T4",
			candidates:  []wantCandidate{{name: "1 x Tesla T4", fits: true, tp: 1, pp: 1, seqs: 3, replicas: 1, requiredPerGPU: 13447650304, usable: usableT4}},
		},
		{
			// 4 sequences need 15,326,698,496 > 14,817,637,171. An 8-bit KV cache halves 7,516,192,768 to
			// 3,758,096,384 and fits; so does concurrency 3.
			name:    "Qwen2.5-7B AWQ 32768 x 4 on a T4: nothing fits",
			req:     Request{Model: qwen7BAWQ, Concurrency: new(int64(4)), GPUs: []HostGPUs{{Model: "T4", Count: 1}}},
			weights: 5570747392, kvPerToken: 57344, kvPerSeq: 1879048192, kvCache: 7516192768, required: 15326698496,
			candidates: []wantCandidate{{name: "1 x T4", tp: 1, pp: 1, seqs: 3, replicas: 1, requiredPerGPU: 15326698496, usable: usableT4}},
			adviceHas: []string{
				"No candidate fits Qwen/Qwen2.5-7B-Instruct-AWQ with max_model_len 32768 and concurrency 4.",
				`kv_cache_dtype = "fp8" halves the KV cache to 3.5 GiB and fits on 1 x T4 (tensor_parallel_size 1).`,
				"concurrency = 3 (instead of 4) fits on 1 x T4 (tensor_parallel_size 1) at max_model_len 32768.",
				// (14,817,637,171 - 5,570,747,392 - 2,239,758,336) / (4 x 57,344) = 30,548 tokens -> 30,544 (x16)
				"max_model_len = 30544 (instead of 32768) fits",
			},
		},
		{
			// 28 heads, 4 KV heads: valid tp 1, 2, 4, 28, so 8 x L4 runs tp 4 at most.
			// weights 15,231,233,024; KV/seq 1,879,048,192. 16 sequences: tp 2 = 7,615,616,512 + 15,032,385,536
			// + 1,774,190,592 = 24,422,192,640 > 22,220,667,617; tp 4 = 3,807,808,256 + 7,516,192,768
			// + (1 GiB + 8192 x (14,336 + 14,208) x 2 = 1,541,406,720) = 12,865,407,744 fits;
			// (22,220,667,617 - 3,807,808,256 - 1,541,406,720) x 4 / 1,879,048,192 = 35.9 -> 35; 2 replicas per node.
			name:    "Qwen2.5-7B bf16 32768 x 16 on 8 x L4: tp 4, never 8",
			req:     Request{Model: qwen7B, Concurrency: new(int64(16)), InstanceTypes: []backend.GPUType{g6x48large}},
			weights: 15231233024, kvPerToken: 57344, kvPerSeq: 1879048192, kvCache: 30064771072, required: 15231233024 + 30064771072 + 2239758336,
			recommended: "g6.48xlarge",
			candidates:  []wantCandidate{{name: "g6.48xlarge", fits: true, tp: 4, pp: 1, seqs: 35, replicas: 2, requiredPerGPU: 12865407744, usable: usableL4}},
		},
		{
			// 64 sequences: tp 4 needs 3,807,808,256 + 30,064,771,072 + 1,541,406,720 = 35,413,986,048 and tp 8 is invalid.
			name:    "Qwen2.5-7B bf16 32768 x 64 on 8 x L4: the head count stops at tp 4",
			req:     Request{Model: qwen7B, Concurrency: new(int64(64)), InstanceTypes: []backend.GPUType{g6x48large}},
			weights: 15231233024, kvPerToken: 57344, kvPerSeq: 1879048192, kvCache: 120259084288, required: 15231233024 + 120259084288 + 2239758336,
			candidates: []wantCandidate{{name: "g6.48xlarge", tp: 4, pp: 1, seqs: 35, replicas: 2, requiredPerGPU: 35413986048, usable: usableL4,
				reasonHas: []string{"with 28 attention heads and 4 KV heads the largest valid tensor_parallel_size on 8 GPUs is 4 (valid: 1, 2, 4, 28)"}}},
			adviceHas: []string{`kv_cache_dtype = "fp8"`, "concurrency = 35 (instead of 64)"},
		},
		{
			// max_nodes 3: tp 4 x pp 3 on 4 x L40S nodes; the busiest stage holds ceil(80/3) = 27 layers:
			// weights 141,107,412,992 x 27 / 320 = 11,905,937,972 (rounded up), KV 343,597,383,680 x 27 / 320
			// = 28,991,029,248, allowance 1,962,934,272: 42,859,901,492 <= 44,441,335,234.
			// pp 2 needs 17,638,426,624 + 42,949,672,960 + 1,962,934,272 = 62,551,033,856: no.
			// seqs (44,441,335,234 - 11,905,937,972 - 1,962,934,272) x 80 x 4 / (10,737,418,240 x 27) = 33.7 -> 33.
			name: "Llama-3.1-70B across three g6e.12xlarge nodes",
			req: Request{Model: llama70B, MaxModelLen: new(int64(32768)), Concurrency: new(int64(32)), MaxNodes: new(int64(3)),
				InstanceTypes: []backend.GPUType{g6e12large}},
			weights: 141107412992, kvPerToken: 327680, kvPerSeq: 10737418240, kvCache: 343597383680, required: 487724695552,
			recommended: "g6e.12xlarge",
			candidates:  []wantCandidate{{name: "g6e.12xlarge", fits: true, tp: 4, pp: 3, seqs: 33, replicas: 1, requiredPerGPU: 42859901492, usable: usableL40S}},
		},
		{
			// Nothing fits on one g6e.12xlarge. fp8 weights (72,655,052,800) and an fp8 KV cache each fall short
			// (106,026,043,392 and 80,189,460,480 per GPU); 2 sequences fit; the KV budget at tp 4 is
			// (44,441,335,234 - 35,276,853,248 - 1,962,934,272) = 7,201,547,714 per GPU, i.e.
			// 7,201,547,714 x 4 / (32 x 327,680) = 2,747 tokens -> 2,736; three nodes fit (case above).
			// A fractional A10 partition cannot be used at all.
			name: "Llama-3.1-70B on one g6e.12xlarge: advice",
			req: Request{Model: llama70B, MaxModelLen: new(int64(32768)), Concurrency: new(int64(32)),
				InstanceTypes: []backend.GPUType{g6e12large, nv12A10}},
			weights: 141107412992, kvPerToken: 327680, kvPerSeq: 10737418240, kvCache: 343597383680, required: 487724695552,
			candidates: []wantCandidate{
				{name: "Standard_NV12ads_A10_v5", reasonHas: []string{"no whole GPU", "vGPU"}},
				{name: "g6e.12xlarge", tp: 4, pp: 1, seqs: 2, replicas: 1, requiredPerGPU: 123139133440, usable: usableL40S},
			},
			adviceHas: []string{
				"concurrency = 2 (instead of 32) fits on g6e.12xlarge (tensor_parallel_size 4) at max_model_len 32768.",
				"max_model_len = 2736 (instead of 32768) fits on g6e.12xlarge (tensor_parallel_size 4) at concurrency 32.",
				"max_nodes = 3 fits on g6e.12xlarge (tensor_parallel_size 4, pipeline_parallel_size 3 over 3 nodes).",
				"In all it needs about 451.4 GiB of usable GPU memory",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			plan, err := Compute(tt.req)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range []struct {
				name      string
				got, want int64
			}{
				{"WeightsBytes", plan.WeightsBytes, tt.weights},
				{"KVCacheBytesPerToken", plan.KVCacheBytesPerToken, tt.kvPerToken},
				{"KVCacheBytesPerSequence", plan.KVCacheBytesPerSequence, tt.kvPerSeq},
				{"KVCacheBytes", plan.KVCacheBytes, tt.kvCache},
				{"RequiredBytes", plan.RequiredBytes, tt.required},
			} {
				if f.got != f.want {
					t.Errorf("%s = %d, want %d", f.name, f.got, f.want)
				}
			}
			switch {
			case tt.recommended == "" && plan.Recommended != nil:
				t.Errorf("Recommended = %s, want none", plan.Recommended.Name)
			case tt.recommended != "" && (plan.Recommended == nil || plan.Recommended.Name != tt.recommended):
				t.Errorf("Recommended = %+v, want %s", plan.Recommended, tt.recommended)
			}
			if len(plan.Candidates) != len(tt.candidates) {
				t.Fatalf("%d candidates, want %d", len(plan.Candidates), len(tt.candidates))
			}
			for i, w := range tt.candidates {
				c := plan.Candidates[i]
				got := wantCandidate{name: c.Name, fits: c.Fits, tp: c.TensorParallelSize, pp: c.PipelineParallelSize, seqs: c.MaxConcurrentSequences,
					replicas: c.ReplicasPerNode, requiredPerGPU: c.RequiredBytesPerGPU, usable: c.UsableBytesPerGPU, reasonHas: w.reasonHas}
				if !reflect.DeepEqual(got, w) {
					t.Errorf("candidate %d =\n%+v\nwant\n%+v", i, got, w)
				}
				if c.Fits != (c.Reason == "") {
					t.Errorf("candidate %s: Fits %v with Reason %q", c.Name, c.Fits, c.Reason)
				}
				if c.GPUCount != c.TensorParallelSize*c.PipelineParallelSize || c.Nodes != c.PipelineParallelSize {
					t.Errorf("candidate %s: GPUCount %d, Nodes %d", c.Name, c.GPUCount, c.Nodes)
				}
				for _, s := range w.reasonHas {
					if !strings.Contains(c.Reason, s) {
						t.Errorf("candidate %s: reason lacks %q:\n%s", c.Name, s, c.Reason)
					}
				}
			}
			if (plan.Recommended != nil) == (len(plan.Advice) > 0) {
				t.Errorf("Recommended %v with %d advice lines", plan.Recommended != nil, len(plan.Advice))
			}
			advice := strings.Join(plan.Advice, "\n")
			for _, s := range tt.adviceHas {
				if !strings.Contains(advice, s) {
					t.Errorf("advice lacks %q:\n%s", s, advice)
				}
			}
		})
	}
}

func TestComputeAssumptions(t *testing.T) {
	t.Parallel()
	plan, err := Compute(Request{Model: gemma27B})
	if err != nil {
		t.Fatal(err)
	}
	want := Assumptions{
		MaxModelLen: 8192, Concurrency: 1, Quantization: "", WeightsFormula: "27227128320 parameters x 2 bytes (16-bit)",
		KVCacheDType: "auto", KVCacheBytesPerElement: 2, GPUMemoryUtilization: 0.92, MaxNumBatchedTokens: 8192, MaxNodes: 1,
		FixedOverheadBytesPerGPU: GiB, SlidingWindow: 4096, SlidingWindowLayers: 23,
	}
	if plan.Assumptions != want {
		t.Errorf("Assumptions =\n%+v\nwant\n%+v", plan.Assumptions, want)
	}
	if len(plan.Candidates) != 0 || plan.Recommended != nil || len(plan.Advice) != 0 {
		t.Errorf("no candidates given, got %+v", plan)
	}
	if !slices.Equal(plan.ValidTensorParallelSizes, []int64{1, 2, 4, 8, 16, 32}) {
		t.Errorf("ValidTensorParallelSizes = %v", plan.ValidTensorParallelSizes)
	}

	awq, err := Compute(Request{Model: qwen7BAWQ})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := awq.Assumptions.WeightsFormula, "awq checkpoint as stored: 1141306880 F16 x 2 + 822033408 I32 x 4 bytes"; got != want {
		t.Errorf("WeightsFormula = %q, want %q", got, want)
	}
}

func TestValidTensorParallelSizes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		heads, kv     int64
		want          []int64
		rulesOutEight bool
	}{
		{"Llama-3.1-8B 32/8", 32, 8, []int64{1, 2, 4, 8, 16, 32}, false},
		{"Llama-3.1-70B and Qwen2.5-72B 64/8", 64, 8, []int64{1, 2, 4, 8, 16, 32, 64}, false},
		{"gemma-2-27b 32/16", 32, 16, []int64{1, 2, 4, 8, 16, 32}, false},
		{"Qwen2.5-7B 28/4", 28, 4, []int64{1, 2, 4, 28}, true},
		{"Phi-3-medium 40/10", 40, 10, []int64{1, 2, 5, 10, 20, 40}, true},
		{"Qwen2.5-14B 40/8: 40 heads alone do not rule out 8", 40, 8, []int64{1, 2, 4, 8, 40}, false},
		{"Llama-2-13B 40/40", 40, 40, []int64{1, 2, 4, 5, 8, 10, 20, 40}, false},
		{"multi-query 48/1", 48, 1, []int64{1, 2, 3, 4, 6, 8, 12, 16, 24, 48}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := ValidTensorParallelSizes(tt.heads, tt.kv)
			if !slices.Equal(got, tt.want) {
				t.Errorf("ValidTensorParallelSizes(%d, %d) = %v, want %v", tt.heads, tt.kv, got, tt.want)
			}
			if slices.Contains(got, 8) == tt.rulesOutEight {
				t.Errorf("8 valid = %v, want %v", slices.Contains(got, 8), !tt.rulesOutEight)
			}
		})
	}
}

func TestCheckTensorParallelSize(t *testing.T) {
	t.Parallel()
	if err := CheckTensorParallelSize(qwen7B, 4); err != nil {
		t.Errorf("tp 4: %v", err)
	}
	err := CheckTensorParallelSize(qwen7B, 8)
	if err == nil || !strings.Contains(err.Error(), "valid sizes are 1, 2, 4, 28") {
		t.Errorf("tp 8: %v", err)
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	noParams := qwen7B
	noParams.Parameters = 0
	noMax := qwen7B
	noMax.MaxPositionEmbeddings = 0
	tests := []struct {
		name string
		req  Request
		want map[string]string // attribute -> part of the detail
	}{
		{"ok", Request{Model: qwen7B}, nil},
		{"long context with override", Request{Model: qwen7B, MaxModelLen: new(int64(131072)), AllowLongContext: true}, nil},
		{"zeros and negatives", Request{Model: qwen7B, MaxModelLen: new(int64(0)), Concurrency: new(int64(-1)), MaxNodes: new(int64(0)), MaxNumBatchedTokens: new(int64(0))},
			map[string]string{"max_model_len": "at least 1 token", "concurrency": "at least 1", "max_nodes": "at least 1", "max_num_batched_tokens": "at least 1"}},
		{"utilisation 0", Request{Model: qwen7B, GPUMemoryUtilization: new(0.0)}, map[string]string{"gpu_memory_utilization": "(0, 1]"}},
		{"utilisation above 1", Request{Model: qwen7B, GPUMemoryUtilization: new(1.2)}, map[string]string{"gpu_memory_utilization": "got 1.2"}},
		{"utilisation 1 is fine", Request{Model: qwen7B, GPUMemoryUtilization: new(1.0)}, nil},
		{"context above the model's", Request{Model: qwen7B, MaxModelLen: new(int64(131072))},
			map[string]string{"max_model_len": "max_position_embeddings 32768"}},
		{"unknown context", Request{Model: noMax}, map[string]string{"max_model_len": "set max_model_len"}},
		{"no parameters", Request{Model: noParams}, map[string]string{"model": "parameter count"}},
		{"awq on a 16-bit model", Request{Model: qwen7B, Quantization: new("awq")}, map[string]string{"quantization": "quantized ahead of time"}},
		{"fp8 on an awq model", Request{Model: qwen7BAWQ, Quantization: new("fp8")}, map[string]string{"quantization": "already quantized with awq"}},
		{"unknown quantization", Request{Model: qwen7B, Quantization: new("int3")}, map[string]string{"quantization": "unknown quantization"}},
		{"unknown kv dtype", Request{Model: qwen7B, KVCacheDType: new("int4")}, map[string]string{"kv_cache_dtype": "unknown kv_cache_dtype"}},
		{"gpus", Request{Model: qwen7B, GPUs: []HostGPUs{
			{Model: "L4", Count: 8},
			{Model: "RTX 6000 Ada", Count: 2},
			{Model: "A100", Count: 4},
			{Model: "", Count: 0, Hosts: new(int64(0))},
			{Model: "L4", Count: 1, MemoryGiB: new(-24.0)},
		}}, map[string]string{
			"gpus[1].memory_gib": `"RTX 6000 Ada" is not in the known table`,
			"gpus[2].memory_gib": "several memory sizes",
			"gpus[3].model":      "must name the GPU",
			"gpus[3].count":      "at least 1",
			"gpus[3].hosts":      "at least 1",
			"gpus[4].memory_gib": "above 0",
		}},
		{"unknown GPU with memory", Request{Model: qwen7B, GPUs: []HostGPUs{{Model: "RTX 6000 Ada", Count: 2, MemoryGiB: new(48.0)}}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ps := tt.req.Validate()
			got := map[string]string{}
			for _, p := range ps {
				got[p.Attribute] = p.Detail
			}
			if len(got) != len(tt.want) {
				t.Errorf("problems %v, want attributes %v", ps, tt.want)
			}
			for attr, part := range tt.want {
				if !strings.Contains(got[attr], part) {
					t.Errorf("%s: %q lacks %q", attr, got[attr], part)
				}
			}
			_, err := Compute(tt.req)
			var cps errs.List
			if (len(tt.want) > 0) != errors.As(err, &cps) {
				t.Errorf("Compute error %v, want an errs.List: %v", err, len(tt.want) > 0)
			}
		})
	}
}

func TestFindGPU(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		memoryMiB int64
		want      string // "" when unknown
	}{
		{"L4", 0, "L4"},
		{"NVIDIA L4", 22888, "L4"},
		{"L40S", 0, "L40S"},
		{"NVIDIA A10G", 0, "A10G"},
		{"A10", 0, "A10"},
		{"Tesla T4", 0, "T4"},
		{"A100", 40960, "A100 40GB"},
		{"A100", 81920, "A100 80GB"},
		{"A100", 0, ""},
		{"NVIDIA A100-SXM4-80GB", 0, "A100 80GB"},
		{"A100 80GB PCIe", 0, "A100 80GB"},
		{"H100", 81920, "H100"},
		{"NVIDIA H100 80GB HBM3", 0, "H100"},
		{"NVIDIA H100 NVL", 0, "H100 NVL"},
		{"H100", 96256, "H100 NVL"},
		{"H200", 0, "H200"},
		{"Tesla V100-SXM2-16GB", 0, "V100 16GB"},
		{"V100", 32768, "V100 32GB"},
		{"RTX 6000 Ada", 49152, ""},
		{"MI300X", 196608, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			g, ok := FindGPU(tt.name, tt.memoryMiB)
			if ok != (tt.want != "") || g.Model != tt.want {
				t.Errorf("FindGPU(%q, %d) = %q, %v; want %q", tt.name, tt.memoryMiB, g.Model, ok, tt.want)
			}
		})
	}
}

// TestGPUMemoryFigure: the smaller of the catalog's figure and the known usable one counts. A
// catalog that reports 22,888 MiB for an L4 gives 23,999,807,488 x 0.92 = 22,079,822,888.
func TestGPUMemoryFigure(t *testing.T) {
	t.Parallel()
	low := g6xlarge
	low.GPUMemoryMiB = 22888
	unknown := backend.GPUType{Name: "x.large", GPUModel: "MI300X", GPUCount: 8, GPUFraction: 1, GPUMemoryMiB: 196608}
	noMem := backend.GPUType{Name: "y.large", GPUModel: "Z9", GPUCount: 1, GPUFraction: 1}
	plan, err := Compute(Request{Model: qwen7BAWQ, MaxModelLen: new(int64(1024)), InstanceTypes: []backend.GPUType{low, unknown, noMem}})
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]Candidate{}
	for _, c := range plan.Candidates {
		byName[c.Name] = c
	}
	if c := byName["g6.xlarge"]; c.GPUMemoryBytes != 22888*MiB || c.UsableBytesPerGPU != 22079822888 {
		t.Errorf("g6.xlarge: %d / %d", c.GPUMemoryBytes, c.UsableBytesPerGPU)
	}
	if c := byName["x.large"]; c.GPUMemoryBytes != 196608*MiB || !c.Fits {
		t.Errorf("unknown GPU with a catalog figure: %+v", c)
	}
	if c := byName["y.large"]; c.Fits || !strings.Contains(c.Reason, "reports no GPU memory") {
		t.Errorf("no memory figure: %+v", c)
	}
}

func TestShapeFromModel(t *testing.T) {
	t.Parallel()
	m := &hf.Model{
		ID: "google/gemma-2-27b-it", Parameters: 27227128320, ParametersByDType: map[string]int64{"BF16": 27227128320}, DType: "bfloat16",
		HiddenSize: 4608, IntermediateSize: 36864, NumHiddenLayers: 46, NumAttentionHeads: 32, NumKeyValueHeads: 16, HeadDim: 128,
		HeadDimExplicit: true, MaxPositionEmbeddings: 8192, VocabSize: 256000, TieWordEmbeddings: true,
		SlidingWindow: hf.SlidingWindow{Size: 4096, Layers: 23, Pattern: hf.SlidingAlternating},
	}
	got := ShapeFromModel(m)
	want := gemma27B
	want.ParametersByDType = map[string]int64{"BF16": 27227128320}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ShapeFromModel =\n%+v\nwant\n%+v", got, want)
	}
	m.ParametersByDType["BF16"] = 1
	if got.ParametersByDType["BF16"] != 27227128320 {
		t.Error("ShapeFromModel shares the map")
	}

	q := ShapeFromModel(&hf.Model{Quantization: &hf.Quantization{Method: "awq", Bits: 4, GroupSize: 128}})
	if q.Quantization != "awq" || q.QuantizationBits != 4 {
		t.Errorf("quantization %q %d", q.Quantization, q.QuantizationBits)
	}
}
