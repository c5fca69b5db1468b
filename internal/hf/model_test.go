package hf

import (
	"github.com/inferstack/terraform-provider-inferstack/internal/httpretry"

	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestParseConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		config  string
		want    Model
		wantErr string
	}{
		{
			name:   "head_dim derived, kv heads default to heads",
			config: `{"hidden_size": 4096, "num_hidden_layers": 32, "num_attention_heads": 32, "torch_dtype": "float16"}`,
			want:   Model{DType: "float16", HiddenSize: 4096, NumHiddenLayers: 32, NumAttentionHeads: 32, NumKeyValueHeads: 32, HeadDim: 128, TieWordEmbeddings: true},
		},
		{
			name:   "head_dim null is derived; dtype (newer transformers) read",
			config: `{"hidden_size": 5120, "num_hidden_layers": 40, "num_attention_heads": 40, "num_key_value_heads": 10, "head_dim": null, "dtype": "bfloat16", "tie_word_embeddings": false}`,
			want:   Model{DType: "bfloat16", HiddenSize: 5120, NumHiddenLayers: 40, NumAttentionHeads: 40, NumKeyValueHeads: 10, HeadDim: 128},
		},
		{
			name:   "integers written as floats",
			config: `{"hidden_size": 2048.0, "num_hidden_layers": 16, "num_attention_heads": 32, "head_dim": 64}`,
			want:   Model{HiddenSize: 2048, NumHiddenLayers: 16, NumAttentionHeads: 32, NumKeyValueHeads: 32, HeadDim: 64, HeadDimExplicit: true, TieWordEmbeddings: true},
		},
		{
			name:   "Mistral v0.1: every layer slides",
			config: `{"model_type": "mistral", "hidden_size": 4096, "num_hidden_layers": 32, "num_attention_heads": 32, "num_key_value_heads": 8, "sliding_window": 4096}`,
			want: Model{ModelType: "mistral", HiddenSize: 4096, NumHiddenLayers: 32, NumAttentionHeads: 32, NumKeyValueHeads: 8, HeadDim: 128, TieWordEmbeddings: true,
				SlidingWindow: SlidingWindow{Size: 4096, Layers: 32, Pattern: SlidingAll}},
		},
		{
			name:   "Qwen2 use_sliding_window true from max_window_layers",
			config: `{"model_type": "qwen2", "hidden_size": 3584, "num_hidden_layers": 28, "num_attention_heads": 28, "num_key_value_heads": 4, "sliding_window": 4096, "use_sliding_window": true, "max_window_layers": 21}`,
			want: Model{ModelType: "qwen2", HiddenSize: 3584, NumHiddenLayers: 28, NumAttentionHeads: 28, NumKeyValueHeads: 4, HeadDim: 128, TieWordEmbeddings: true,
				SlidingWindow: SlidingWindow{Size: 4096, Layers: 7, Pattern: SlidingFromLayer}},
		},
		{
			name:   "Gemma-3 sliding_window_pattern 6 in text_config: 62 layers, 10 global",
			config: `{"architectures": ["Gemma3ForConditionalGeneration"], "model_type": "gemma3", "text_config": {"model_type": "gemma3_text", "hidden_size": 5376, "num_hidden_layers": 62, "num_attention_heads": 32, "num_key_value_heads": 16, "head_dim": 128, "sliding_window": 1024, "sliding_window_pattern": 6, "max_position_embeddings": 131072}, "torch_dtype": "bfloat16"}`,
			want: Model{Architecture: "Gemma3ForConditionalGeneration", ModelType: "gemma3", DType: "bfloat16", HiddenSize: 5376, NumHiddenLayers: 62, NumAttentionHeads: 32, NumKeyValueHeads: 16,
				HeadDim: 128, HeadDimExplicit: true, MaxPositionEmbeddings: 131072, TieWordEmbeddings: true,
				SlidingWindow: SlidingWindow{Size: 1024, Layers: 52, Pattern: SlidingEveryNth}},
		},
		{
			name:   "layer_types wins",
			config: `{"model_type": "gemma2", "hidden_size": 64, "num_hidden_layers": 4, "num_attention_heads": 4, "sliding_window": 512, "layer_types": ["sliding_attention", "full_attention", "full_attention", "full_attention"]}`,
			want: Model{ModelType: "gemma2", HiddenSize: 64, NumHiddenLayers: 4, NumAttentionHeads: 4, NumKeyValueHeads: 4, HeadDim: 16, TieWordEmbeddings: true,
				SlidingWindow: SlidingWindow{Size: 512, Layers: 1, Pattern: SlidingLayerTypes}},
		},
		{
			name:   "Gemma-2 with an odd layer count: even layers slide",
			config: `{"model_type": "gemma2", "hidden_size": 64, "num_hidden_layers": 5, "num_attention_heads": 4, "sliding_window": 512}`,
			want: Model{ModelType: "gemma2", HiddenSize: 64, NumHiddenLayers: 5, NumAttentionHeads: 4, NumKeyValueHeads: 4, HeadDim: 16, TieWordEmbeddings: true,
				SlidingWindow: SlidingWindow{Size: 512, Layers: 3, Pattern: SlidingAlternating}},
		},
		{
			name:   "GPTQ 4-bit",
			config: `{"hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4, "quantization_config": {"quant_method": "gptq", "bits": 4, "group_size": 128, "desc_act": false}}`,
			want: Model{HiddenSize: 64, NumHiddenLayers: 2, NumAttentionHeads: 4, NumKeyValueHeads: 4, HeadDim: 16, TieWordEmbeddings: true,
				Quantization: &Quantization{Method: "gptq", Bits: 4, GroupSize: 128}},
		},
		{
			name:   "FP8 has no bits field",
			config: `{"hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4, "quantization_config": {"quant_method": "fp8", "activation_scheme": "dynamic", "fmt": "e4m3"}}`,
			want: Model{HiddenSize: 64, NumHiddenLayers: 2, NumAttentionHeads: 4, NumKeyValueHeads: 4, HeadDim: 16, TieWordEmbeddings: true,
				Quantization: &Quantization{Method: "fp8", Bits: 8}},
		},
		{
			name:   "compressed-tensors w4a16",
			config: `{"hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4, "quantization_config": {"quant_method": "compressed-tensors", "config_groups": {"group_0": {"weights": {"num_bits": 4, "group_size": 128}}}}}`,
			want: Model{HiddenSize: 64, NumHiddenLayers: 2, NumAttentionHeads: 4, NumKeyValueHeads: 4, HeadDim: 16, TieWordEmbeddings: true,
				Quantization: &Quantization{Method: "compressed-tensors", Bits: 4, GroupSize: 128}},
		},
		{
			name:   "bitsandbytes 4-bit",
			config: `{"hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4, "quantization_config": {"quant_method": "bitsandbytes", "load_in_4bit": true}}`,
			want: Model{HiddenSize: 64, NumHiddenLayers: 2, NumAttentionHeads: 4, NumKeyValueHeads: 4, HeadDim: 16, TieWordEmbeddings: true,
				Quantization: &Quantization{Method: "bitsandbytes", Bits: 4}},
		},
		{name: "not JSON", config: `{`, wantErr: "not valid JSON"},
		{name: "not an LLM", config: `{"model_type": "whisper", "d_model": 1280}`, wantErr: "hidden_size, num_attention_heads, num_hidden_layers"},
		{name: "fractional integer", config: `{"hidden_size": 1.5, "num_hidden_layers": 2, "num_attention_heads": 4}`, wantErr: "want an integer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var m Model
			err := parseConfig(&m, []byte(tt.config))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if (m.Quantization == nil) != (tt.want.Quantization == nil) ||
				(m.Quantization != nil && *m.Quantization != *tt.want.Quantization) {
				t.Errorf("Quantization = %+v, want %+v", m.Quantization, tt.want.Quantization)
			}
			m.Quantization, tt.want.Quantization = nil, nil
			if m.ParametersByDType != nil || m.SlidingWindow != tt.want.SlidingWindow {
				t.Errorf("SlidingWindow = %+v, want %+v", m.SlidingWindow, tt.want.SlidingWindow)
			}
			m.SlidingWindow, tt.want.SlidingWindow = SlidingWindow{}, SlidingWindow{}
			if m.Architecture != tt.want.Architecture || m.ModelType != tt.want.ModelType || m.DType != tt.want.DType ||
				m.HiddenSize != tt.want.HiddenSize || m.NumHiddenLayers != tt.want.NumHiddenLayers ||
				m.NumAttentionHeads != tt.want.NumAttentionHeads || m.NumKeyValueHeads != tt.want.NumKeyValueHeads ||
				m.HeadDim != tt.want.HeadDim || m.HeadDimExplicit != tt.want.HeadDimExplicit ||
				m.MaxPositionEmbeddings != tt.want.MaxPositionEmbeddings || m.TieWordEmbeddings != tt.want.TieWordEmbeddings {
				t.Errorf("got  %+v\nwant %+v", m, tt.want)
			}
		})
	}
}

func TestValidateID(t *testing.T) {
	t.Parallel()
	tests := []struct {
		id string
		ok bool
	}{
		{"Qwen/Qwen2.5-7B-Instruct", true},
		{"meta-llama/Llama-3.1-70B-Instruct", true},
		{"gpt2", true},
		{"org_1/model.v2_final", true},
		{"", false},
		{"owner/", false},
		{"/name", false},
		{"a/b/c", false},
		{"owner/name with space", false},
		{"owner/-name", false},
		{"owner/name.", false},
		{"owner/na--me", false},
		{"owner/na..me", false},
		{"owner/name.git", false},
		{"owner/näme", false},
		{"https://huggingface.co/Qwen/Qwen2.5-7B-Instruct", false},
		{"owner/" + strings.Repeat("a", 97), false},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			t.Parallel()
			err := ValidateID(tt.id)
			if (err == nil) != tt.ok {
				t.Fatalf("ValidateID(%q) = %v, want ok=%v", tt.id, err, tt.ok)
			}
			if err != nil && !errors.Is(err, ErrInvalidID) {
				t.Errorf("error %v does not wrap ErrInvalidID", err)
			}
		})
	}
}

func TestEscapeRevision(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"main":      "main",
		"refs/pr/3": "refs%2Fpr%2F3",
		"v1.0~rc_1": "v1.0~rc_1",
		"a+b@c":     "a%2Bb%40c",
	}
	for in, want := range tests {
		if got := escapeRevision(in); got != want {
			t.Errorf("escapeRevision(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestWaitFromHeaders(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name   string
		header http.Header
		want   time.Duration
	}{
		{"seconds", http.Header{"Retry-After": {"12"}}, 12 * time.Second},
		{"http date", http.Header{"Retry-After": {now.Add(90 * time.Second).Format(http.TimeFormat)}}, 90 * time.Second},
		{"date in the past", http.Header{"Retry-After": {now.Add(-time.Minute).Format(http.TimeFormat)}}, 0},
		{"RateLimit reset", http.Header{"Ratelimit": {`"api";r=0;t=55`}}, 55 * time.Second},
		{"garbage", http.Header{"Retry-After": {"soon"}}, 0},
		{"none", http.Header{}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := waitFromHeaders(tt.header, now); got != tt.want {
				t.Errorf("waitFromHeaders = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestBackoff(t *testing.T) {
	t.Parallel()
	resp := func(status int, retryAfter string) *http.Response {
		h := http.Header{}
		if retryAfter != "" {
			h.Set("Retry-After", retryAfter)
		}
		return &http.Response{StatusCode: status, Header: h}
	}
	tests := []struct {
		name    string
		attempt int
		resp    *http.Response
		want    time.Duration
	}{
		{"exponential 0", 0, resp(500, ""), 1 * time.Second},
		{"exponential 2", 2, resp(500, ""), 4 * time.Second},
		{"capped", 10, resp(500, ""), 30 * time.Second},
		{"Retry-After honoured", 0, resp(429, "7"), 7 * time.Second},
		{"Retry-After on 503", 0, resp(503, "3"), 3 * time.Second},
		{"Retry-After capped at max", 0, resp(429, "600"), 30 * time.Second},
		{"Retry-After honoured on 500", 0, resp(500, "7"), 7 * time.Second},
		{"network error", 1, nil, 2 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := httpretry.Backoff(hubWaitHint, time.Second, 30*time.Second, tt.attempt, tt.resp); got != tt.want {
				t.Errorf("backoff = %s, want %s", got, tt.want)
			}
		})
	}
}
