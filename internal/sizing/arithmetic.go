package sizing

import (
	"fmt"
	"strings"
)

// ServingBytesPerParameter is the size of one unquantized weight as vLLM serves it: bfloat16 or
// float16 (dtype "auto" also serves float32 checkpoints in 16 bits).
const ServingBytesPerParameter int64 = 2

// activationBytes is the size of one activation element (16-bit).
const activationBytes int64 = 2

// storedBytes is the size of one element of a safetensors dtype.
func storedBytes(dtype string) int64 {
	switch strings.ToUpper(dtype) {
	case "F64", "I64", "U64":
		return 8
	case "F32", "I32", "U32":
		return 4
	case "F8_E4M3", "F8_E5M2", "F8_E8M0", "I8", "U8", "BOOL":
		return 1
	}
	return 2
}

// ValidTensorParallelSizes lists the tensor-parallel sizes vLLM accepts for a model with heads
// attention heads and kvHeads KV heads, up to heads: tp must divide heads, and either divide
// kvHeads (tp < kvHeads) or be a multiple of it (tp >= kvHeads, each rank then holds one KV head
// replicated tp/kvHeads times). 28 heads and 4 KV heads allow {1, 2, 4, 28}.
func ValidTensorParallelSizes(heads, kvHeads int64) []int64 {
	var out []int64
	for tp := int64(1); tp <= heads; tp++ {
		if IsValidTensorParallelSize(heads, kvHeads, tp) {
			out = append(out, tp)
		}
	}
	return out
}

// IsValidTensorParallelSize reports whether vLLM accepts tp for the given head counts.
func IsValidTensorParallelSize(heads, kvHeads, tp int64) bool {
	if tp <= 0 || heads <= 0 || kvHeads <= 0 || heads%tp != 0 {
		return false
	}
	if tp < kvHeads {
		return kvHeads%tp == 0
	}
	return tp%kvHeads == 0
}

// CheckTensorParallelSize returns an error in the words of vLLM when it would refuse tp for
// model, naming the sizes it accepts.
func CheckTensorParallelSize(m ModelShape, tp int64) error {
	if IsValidTensorParallelSize(m.NumAttentionHeads, m.NumKeyValueHeads, tp) {
		return nil
	}
	return fmt.Errorf("tensor_parallel_size %d is not valid for a model with %d attention heads and %d KV heads: vLLM needs it to divide the attention heads, and to divide the KV heads or be a multiple of them; valid sizes are %s",
		tp, m.NumAttentionHeads, m.NumKeyValueHeads, joinInts(ValidTensorParallelSizes(m.NumAttentionHeads, m.NumKeyValueHeads)))
}

func joinInts(v []int64) string {
	s := make([]string, len(v))
	for i, n := range v {
		s[i] = fmt.Sprint(n)
	}
	return strings.Join(s, ", ")
}

// embeddingParameters counts the input embedding and the LM head (once when tied), which
// on-the-fly quantization leaves in 16 bits.
func embeddingParameters(m ModelShape) int64 {
	e := m.VocabSize * m.HiddenSize
	if !m.TieWordEmbeddings {
		e *= 2
	}
	return min(max(e, 0), m.Parameters)
}

// weights returns the weights' size in bytes and the formula, in words.
func weights(m ModelShape, s settings) (int64, string) {
	switch {
	case s.ownQuantization && s.quantization != "" && len(m.ParametersByDType) > 0:
		// A pre-quantized checkpoint: what it stores, dtype by dtype.
		var total int64
		var terms []string
		for _, dt := range sortedKeys(m.ParametersByDType) {
			n := m.ParametersByDType[dt]
			total += n * storedBytes(dt)
			terms = append(terms, fmt.Sprintf("%d %s x %d", n, dt, storedBytes(dt)))
		}
		return total, fmt.Sprintf("%s checkpoint as stored: %s bytes", s.quantization, strings.Join(terms, " + "))
	case s.ownQuantization && s.quantization != "" && m.QuantizationBits > 0:
		b := ceilDiv(m.Parameters*m.QuantizationBits, 8)
		return b, fmt.Sprintf("%d parameters x %d bits (%s)", m.Parameters, m.QuantizationBits, s.quantization)
	case s.ownQuantization:
		return m.Parameters * ServingBytesPerParameter,
			fmt.Sprintf("%d parameters x %d bytes (16-bit)", m.Parameters, ServingBytesPerParameter)
	}
	bits := onlineQuantization[s.quantization]
	e := embeddingParameters(m)
	b := ceilDiv((m.Parameters-e)*bits, 8) + e*ServingBytesPerParameter
	return b, fmt.Sprintf("(%d parameters - %d embedding parameters) x %d bits (%s) + %d embedding parameters x %d bytes (kept 16-bit)",
		m.Parameters, e, bits, s.quantization, e, ServingBytesPerParameter)
}

// layerTokens is the number of (layer, token) KV entries one sequence of n tokens keeps: global
// layers keep all n tokens, sliding-window layers at most the window.
func layerTokens(m ModelShape, n int64) int64 {
	sliding := m.SlidingWindowLayers
	if m.SlidingWindow <= 0 {
		sliding = 0
	}
	return (m.NumHiddenLayers-sliding)*n + sliding*min(n, m.SlidingWindow)
}

// kvHeadsAt is the number of KV heads stored across a tensor-parallel group of tp ranks: each
// rank holds at least one, so past the KV head count they are replicated.
func kvHeadsAt(m ModelShape, tp int64) int64 { return max(m.NumKeyValueHeads, tp) }

// kvBytesPerToken is the KV cache of one token across all layers and tp ranks, before any
// sliding-window cap: 2 (K and V) x layers x KV heads x head_dim x bytes.
func kvBytesPerToken(m ModelShape, kvBytes, tp int64) int64 {
	return 2 * m.NumHiddenLayers * kvHeadsAt(m, tp) * m.HeadDim * kvBytes
}

// kvBytesPerSequence is the KV cache of one sequence of n tokens across tp ranks, with
// sliding-window layers capped at their window.
func kvBytesPerSequence(m ModelShape, kvBytes, tp, n int64) int64 {
	return 2 * kvHeadsAt(m, tp) * m.HeadDim * kvBytes * layerTokens(m, n)
}

// allowance is the memory per GPU that is neither weights nor KV cache: the fixed overhead plus
// the peak activations of one engine step of maxBatched tokens, about
// tokens x (4 x hidden_size + 3 x intermediate_size / tp) x 2 bytes (the residual stream and
// norm/attention outputs at full width, the MLP's gate, up and activation outputs split by tp).
func allowance(m ModelShape, maxBatched, tp int64) int64 {
	inter := m.IntermediateSize
	if inter <= 0 {
		inter = 4 * m.HiddenSize
	}
	return FixedOverheadBytesPerGPU + maxBatched*(4*m.HiddenSize+ceilDiv(3*inter, tp))*activationBytes
}

func ceilDiv(a, b int64) int64 {
	if a <= 0 {
		return 0
	}
	return (a + b - 1) / b
}

// mulDiv returns ceil(a*b/c) without overflowing for the sizes at hand (a up to ~1e15, b up to
// a few hundred).
func mulDivCeil(a, b, c int64) int64 {
	q, r := a/c, a%c
	return q*b + ceilDiv(r*b, c)
}
