package hf

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"sort"
	"strings"
)

// Model is a model resolved on the Hub at one commit: what the metadata API says about the
// repository, and the network's shape from config.json at that commit.
type Model struct {
	ID       string // repository id as the Hub spells it, e.g. "Qwen/Qwen2.5-7B-Instruct"
	Revision string // the branch, tag or sha asked for
	SHA      string // the commit the revision resolves to: pin deployments to it

	Private  bool
	Gated    bool   // files need a token of an account that has been granted access
	GateMode string // "auto" or "manual" when Gated, else ""
	// License is the card's licence id ("apache-2.0", "llama3.1"), or its license_name when the
	// card says "other" (Qwen2.5-72B: "qwen"); "" when the card states none.
	License     string
	LibraryName string // e.g. "transformers"
	PipelineTag string // e.g. "text-generation"

	// Parameters is safetensors.total, the Hub's authoritative parameter count; 0 when the
	// repository has no safetensors metadata. For pre-quantized checkpoints it counts stored
	// elements (AWQ packs eight 4-bit weights into one I32), so it is smaller than the logical count.
	Parameters int64
	// ParametersByDType is safetensors.parameters: elements per stored dtype ("BF16", "I32", "F8_E4M3"...).
	ParametersByDType map[string]int64

	Architecture string // architectures[0], e.g. "LlamaForCausalLM"
	ModelType    string // model_type, e.g. "llama", "gemma2"
	DType        string // torch_dtype (or dtype), e.g. "bfloat16"

	HiddenSize        int64
	IntermediateSize  int64
	NumHiddenLayers   int64
	NumAttentionHeads int64
	NumKeyValueHeads  int64 // equals NumAttentionHeads when config.json omits it
	HeadDim           int64 // config.json's head_dim when present, else HiddenSize / NumAttentionHeads
	HeadDimExplicit   bool  // head_dim came from config.json

	MaxPositionEmbeddings int64
	VocabSize             int64
	TieWordEmbeddings     bool

	SlidingWindow SlidingWindow
	Quantization  *Quantization // nil when the checkpoint is not quantized
}

// Sliding-window patterns, as config.json expresses them.
const (
	SlidingNone        = ""            // every layer attends to the whole context
	SlidingAll         = "all"         // every layer uses the window (Mistral-7B-v0.1)
	SlidingAlternating = "alternating" // even layers use the window, odd ones are global (Gemma-2)
	SlidingEveryNth    = "every_nth"   // every Nth layer is global, the rest use the window (Gemma-3, Cohere2)
	SlidingFromLayer   = "from_layer"  // layers from max_window_layers on use the window (Qwen2 with use_sliding_window)
	SlidingLayerTypes  = "layer_types" // config.json lists each layer's attention type
)

// SlidingWindow says which layers keep only the last Size tokens in their KV cache.
type SlidingWindow struct {
	Size    int64  // window in tokens; 0 when no layer uses one
	Layers  int64  // number of layers that use the window; the others attend globally
	Pattern string // one of the Sliding* constants
}

// Quantization is the checkpoint's own quantization, from config.json's quantization_config.
type Quantization struct {
	Method    string // quant_method: "awq", "gptq", "fp8", "compressed-tensors", "bitsandbytes"...
	Bits      int64  // bits per weight (4, 8); 0 when the config does not say
	GroupSize int64  // group_size for grouped methods (AWQ, GPTQ); 0 when not grouped
}

func (m *Model) clone() *Model {
	c := *m
	c.ParametersByDType = maps.Clone(m.ParametersByDType)
	if m.Quantization != nil {
		q := *m.Quantization
		c.Quantization = &q
	}
	return &c
}

// infoResponse is the part of GET /api/models/{id}/revision/{rev} this client reads.
type infoResponse struct {
	ID          string          `json:"id"`
	SHA         string          `json:"sha"`
	Private     bool            `json:"private"`
	Gated       json.RawMessage `json:"gated"` // false | "auto" | "manual"
	LibraryName string          `json:"library_name"`
	PipelineTag string          `json:"pipeline_tag"`
	Tags        []string        `json:"tags"`
	CardData    struct {
		License     json.RawMessage `json:"license"` // a string, sometimes a list
		LicenseName string          `json:"license_name"`
	} `json:"cardData"`
	Safetensors *struct {
		Parameters map[string]int64 `json:"parameters"`
		Total      int64            `json:"total"`
	} `json:"safetensors"`
}

func (r *infoResponse) gate() (bool, string) {
	var s string
	if json.Unmarshal(r.Gated, &s) == nil && s != "" {
		return true, s
	}
	var b bool
	if json.Unmarshal(r.Gated, &b) == nil && b {
		return true, "manual"
	}
	return false, ""
}

func (r *infoResponse) license() string {
	var l string
	if json.Unmarshal(r.CardData.License, &l) != nil {
		var ls []string
		if json.Unmarshal(r.CardData.License, &ls) == nil && len(ls) > 0 {
			l = ls[0]
		}
	}
	if l == "other" && r.CardData.LicenseName != "" {
		return r.CardData.LicenseName
	}
	if l != "" {
		return l
	}
	for _, t := range r.Tags {
		if v, ok := strings.CutPrefix(t, "license:"); ok {
			return v
		}
	}
	return ""
}

// optInt is an integer config field that may be absent, null, false, or written as 4096.0.
type optInt struct {
	v   int64
	set bool
}

func (o *optInt) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) || bytes.Equal(b, []byte("false")) {
		*o = optInt{}
		return nil
	}
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return fmt.Errorf("want an integer, got %s", b)
	}
	if f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		return fmt.Errorf("want an integer, got %s", b)
	}
	*o = optInt{v: int64(f), set: true}
	return nil
}

// rawConfig is the part of config.json used for sizing. Multimodal models nest the language
// model's fields in text_config; those fill whatever the top level lacks.
type rawConfig struct {
	Architectures         []string         `json:"architectures"`
	ModelType             string           `json:"model_type"`
	TorchDType            string           `json:"torch_dtype"`
	DType                 string           `json:"dtype"`
	HiddenSize            optInt           `json:"hidden_size"`
	IntermediateSize      optInt           `json:"intermediate_size"`
	NumHiddenLayers       optInt           `json:"num_hidden_layers"`
	NumAttentionHeads     optInt           `json:"num_attention_heads"`
	NumKeyValueHeads      optInt           `json:"num_key_value_heads"`
	HeadDim               optInt           `json:"head_dim"`
	MaxPositionEmbeddings optInt           `json:"max_position_embeddings"`
	VocabSize             optInt           `json:"vocab_size"`
	TieWordEmbeddings     *bool            `json:"tie_word_embeddings"`
	SlidingWindow         optInt           `json:"sliding_window"`
	UseSlidingWindow      *bool            `json:"use_sliding_window"`
	MaxWindowLayers       optInt           `json:"max_window_layers"`
	SlidingWindowPattern  optInt           `json:"sliding_window_pattern"`
	SlidingWindowPattern2 optInt           `json:"_sliding_window_pattern"`
	LayerTypes            []string         `json:"layer_types"`
	QuantizationConfig    *rawQuantization `json:"quantization_config"`
	TextConfig            *rawConfig       `json:"text_config"`
}

type rawQuantization struct {
	QuantMethod  string `json:"quant_method"`
	Bits         optInt `json:"bits"`
	WBit         optInt `json:"w_bit"`
	GroupSize    optInt `json:"group_size"`
	QGroupSize   optInt `json:"q_group_size"`
	LoadIn4bit   bool   `json:"load_in_4bit"`
	LoadIn8bit   bool   `json:"load_in_8bit"`
	QuantAlgo    string `json:"quant_algo"`
	ConfigGroups map[string]struct {
		Weights *struct {
			NumBits   optInt `json:"num_bits"`
			GroupSize optInt `json:"group_size"`
		} `json:"weights"`
	} `json:"config_groups"`
}

// merge fills the fields the top level lacks from text_config.
func (c *rawConfig) merge() {
	t := c.TextConfig
	if t == nil {
		return
	}
	t.merge()
	fill := func(dst *optInt, src optInt) {
		if !dst.set {
			*dst = src
		}
	}
	fill(&c.HiddenSize, t.HiddenSize)
	fill(&c.IntermediateSize, t.IntermediateSize)
	fill(&c.NumHiddenLayers, t.NumHiddenLayers)
	fill(&c.NumAttentionHeads, t.NumAttentionHeads)
	fill(&c.NumKeyValueHeads, t.NumKeyValueHeads)
	fill(&c.HeadDim, t.HeadDim)
	fill(&c.MaxPositionEmbeddings, t.MaxPositionEmbeddings)
	fill(&c.VocabSize, t.VocabSize)
	fill(&c.SlidingWindow, t.SlidingWindow)
	fill(&c.MaxWindowLayers, t.MaxWindowLayers)
	fill(&c.SlidingWindowPattern, t.SlidingWindowPattern)
	fill(&c.SlidingWindowPattern2, t.SlidingWindowPattern2)
	if c.TieWordEmbeddings == nil {
		c.TieWordEmbeddings = t.TieWordEmbeddings
	}
	if c.UseSlidingWindow == nil {
		c.UseSlidingWindow = t.UseSlidingWindow
	}
	if c.LayerTypes == nil {
		c.LayerTypes = t.LayerTypes
	}
	if c.TorchDType == "" && c.DType == "" {
		c.TorchDType, c.DType = t.TorchDType, t.DType
	}
	if c.QuantizationConfig == nil {
		c.QuantizationConfig = t.QuantizationConfig
	}
	if c.ModelType == "" {
		c.ModelType = t.ModelType
	}
}

// parseConfig reads config.json into m's shape fields. It fails when the fields sizing needs are
// missing.
func parseConfig(m *Model, data []byte) error {
	var c rawConfig
	if err := json.Unmarshal(data, &c); err != nil {
		return fmt.Errorf("config.json is not valid JSON: %w", err)
	}
	c.merge()
	if len(c.Architectures) > 0 {
		m.Architecture = c.Architectures[0]
	}
	m.ModelType = c.ModelType
	m.DType = c.TorchDType
	if m.DType == "" {
		m.DType = c.DType
	}
	m.HiddenSize = c.HiddenSize.v
	m.IntermediateSize = c.IntermediateSize.v
	m.NumHiddenLayers = c.NumHiddenLayers.v
	m.NumAttentionHeads = c.NumAttentionHeads.v
	m.MaxPositionEmbeddings = c.MaxPositionEmbeddings.v
	m.VocabSize = c.VocabSize.v
	// transformers' PretrainedConfig defaults tie_word_embeddings to true.
	m.TieWordEmbeddings = c.TieWordEmbeddings == nil || *c.TieWordEmbeddings

	var missing []string
	for name, v := range map[string]int64{
		"hidden_size": m.HiddenSize, "num_hidden_layers": m.NumHiddenLayers, "num_attention_heads": m.NumAttentionHeads,
	} {
		if v <= 0 {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return fmt.Errorf("config.json has no positive %s", strings.Join(missing, ", "))
	}

	m.NumKeyValueHeads = m.NumAttentionHeads
	if c.NumKeyValueHeads.set && c.NumKeyValueHeads.v > 0 {
		m.NumKeyValueHeads = c.NumKeyValueHeads.v
	}
	if c.HeadDim.set && c.HeadDim.v > 0 {
		m.HeadDim, m.HeadDimExplicit = c.HeadDim.v, true
	} else {
		m.HeadDim = m.HiddenSize / m.NumAttentionHeads
	}
	m.SlidingWindow = slidingWindow(&c, m.NumHiddenLayers)
	m.Quantization = quantization(c.QuantizationConfig)
	return nil
}

// slidingWindow works out which layers use a sliding window, following transformers' configs:
// an explicit layer_types list wins; use_sliding_window=false (Qwen2) or a null window (Mistral
// v0.3) means none; Gemma-2 alternates (even layers slide); sliding_window_pattern N (Gemma-3,
// Cohere2) makes every Nth layer global; Qwen2 with use_sliding_window=true slides from
// max_window_layers on; otherwise every layer slides (Mistral-7B-v0.1).
func slidingWindow(c *rawConfig, layers int64) SlidingWindow {
	size := c.SlidingWindow.v
	if !c.SlidingWindow.set || size <= 0 {
		return SlidingWindow{}
	}
	if len(c.LayerTypes) > 0 {
		var n int64
		for _, t := range c.LayerTypes {
			if t == "sliding_attention" {
				n++
			}
		}
		if n == 0 {
			return SlidingWindow{}
		}
		return SlidingWindow{Size: size, Layers: n, Pattern: SlidingLayerTypes}
	}
	if c.UseSlidingWindow != nil && !*c.UseSlidingWindow {
		return SlidingWindow{}
	}
	pattern := c.SlidingWindowPattern
	if !pattern.set {
		pattern = c.SlidingWindowPattern2
	}
	switch {
	case c.ModelType == "gemma2":
		return SlidingWindow{Size: size, Layers: (layers + 1) / 2, Pattern: SlidingAlternating}
	case pattern.set && pattern.v > 1:
		return SlidingWindow{Size: size, Layers: layers - layers/pattern.v, Pattern: SlidingEveryNth}
	case c.UseSlidingWindow != nil && c.MaxWindowLayers.set:
		n := layers - c.MaxWindowLayers.v
		if n <= 0 {
			return SlidingWindow{}
		}
		return SlidingWindow{Size: size, Layers: min(n, layers), Pattern: SlidingFromLayer}
	}
	return SlidingWindow{Size: size, Layers: layers, Pattern: SlidingAll}
}

// quantization reads the method and bits per weight from quantization_config.
func quantization(q *rawQuantization) *Quantization {
	if q == nil || q.QuantMethod == "" {
		return nil
	}
	out := &Quantization{Method: strings.ToLower(q.QuantMethod)}
	switch {
	case q.Bits.set:
		out.Bits = q.Bits.v
	case q.WBit.set:
		out.Bits = q.WBit.v
	case q.LoadIn4bit:
		out.Bits = 4
	case q.LoadIn8bit:
		out.Bits = 8
	}
	switch {
	case q.GroupSize.set:
		out.GroupSize = q.GroupSize.v
	case q.QGroupSize.set:
		out.GroupSize = q.QGroupSize.v
	}
	if out.Bits == 0 && len(q.ConfigGroups) > 0 {
		keys := make([]string, 0, len(q.ConfigGroups))
		for k := range q.ConfigGroups {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		if w := q.ConfigGroups[keys[0]].Weights; w != nil {
			out.Bits = w.NumBits.v
			if out.GroupSize == 0 {
				out.GroupSize = w.GroupSize.v
			}
		}
	}
	if out.Bits == 0 {
		switch out.Method {
		case "fp8", "fbgemm_fp8", "fp8_per_tensor", "fp8_per_block":
			out.Bits = 8
		case "mxfp4", "gpt_oss_mxfp4", "modelopt_fp4":
			out.Bits = 4
		case "modelopt":
			switch strings.ToUpper(q.QuantAlgo) {
			case "FP8":
				out.Bits = 8
			case "NVFP4":
				out.Bits = 4
			}
		}
	}
	return out
}
