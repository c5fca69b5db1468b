package sizing

import (
	"maps"

	"github.com/inferstack/terraform-provider-inferstack/internal/hf"
)

// ModelShape is what sizing needs to know about a model: its parameter count and the shape of its
// attention. ShapeFromModel fills it from a model resolved on the Hub.
type ModelShape struct {
	ID string // for messages only

	// Parameters is the Hub's safetensors.total.
	Parameters int64
	// ParametersByDType is safetensors.parameters (elements per stored dtype). For pre-quantized
	// checkpoints it gives the exact stored size; it may be nil.
	ParametersByDType map[string]int64
	// DType is config.json's torch_dtype ("bfloat16", "float16", "float32").
	DType string

	HiddenSize        int64
	IntermediateSize  int64 // 0 when unknown: the activation allowance then assumes 4 x HiddenSize
	NumHiddenLayers   int64
	NumAttentionHeads int64
	NumKeyValueHeads  int64
	HeadDim           int64
	VocabSize         int64 // with HiddenSize, sizes the embeddings that on-the-fly quantization keeps in 16 bits
	TieWordEmbeddings bool

	MaxPositionEmbeddings int64

	// SlidingWindow is the window in tokens of the SlidingWindowLayers layers that use one
	// (0 and 0 when every layer attends to the whole context).
	SlidingWindow       int64
	SlidingWindowLayers int64

	// Quantization is the checkpoint's own quantization method ("awq", "gptq", "fp8"...), "" when
	// none, and QuantizationBits its bits per weight.
	Quantization     string
	QuantizationBits int64
}

// ShapeFromModel converts a model resolved by internal/hf.
func ShapeFromModel(m *hf.Model) ModelShape {
	s := ModelShape{
		ID:                    m.ID,
		Parameters:            m.Parameters,
		ParametersByDType:     maps.Clone(m.ParametersByDType),
		DType:                 m.DType,
		HiddenSize:            m.HiddenSize,
		IntermediateSize:      m.IntermediateSize,
		NumHiddenLayers:       m.NumHiddenLayers,
		NumAttentionHeads:     m.NumAttentionHeads,
		NumKeyValueHeads:      m.NumKeyValueHeads,
		HeadDim:               m.HeadDim,
		VocabSize:             m.VocabSize,
		TieWordEmbeddings:     m.TieWordEmbeddings,
		MaxPositionEmbeddings: m.MaxPositionEmbeddings,
		SlidingWindow:         m.SlidingWindow.Size,
		SlidingWindowLayers:   m.SlidingWindow.Layers,
	}
	if q := m.Quantization; q != nil {
		s.Quantization, s.QuantizationBits = q.Method, q.Bits
	}
	return s
}
