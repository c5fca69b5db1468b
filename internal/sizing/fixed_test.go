package sizing

import (
	"strings"
	"testing"
)

func TestFixed(t *testing.T) {
	t.Parallel()
	l4 := []HostGPUs{{Model: "L4", Count: 4}}
	tests := []struct {
		name     string
		req      Request
		tp, pp   int64
		problems []string // attribute: detail fragments, in order
		fits     bool
		reason   []string
		noGroup  bool
	}{
		{name: "8B on one L4 at 8192 tokens fits", req: Request{Model: llama8B, MaxModelLen: new(int64(8192)), GPUs: l4}, tp: 1, pp: 1, fits: true},
		{name: "8B on one L4 at its full 131072 tokens does not", req: Request{Model: llama8B, GPUs: l4}, tp: 1, pp: 1,
			reason: []string{"at tensor_parallel_size 1", "KV cache 16.0 GiB for 1 sequence of 131072 tokens", "one L4 gives"}},
		{name: "70B on four L4 at tp 4 does not", req: Request{Model: llama70B, MaxModelLen: new(int64(4096)), GPUs: l4}, tp: 4, pp: 1,
			reason: []string{"needs", "at tensor_parallel_size 4", "the weights and allowance alone need"}},
		{name: "tp that does not divide the heads", req: Request{Model: qwen7B, GPUs: l4}, tp: 3, pp: 1,
			problems: []string{"tensor_parallel_size: tensor_parallel_size 3 is not valid for a model with 28 attention heads and 4 KV heads", "valid sizes are 1, 2, 4"}},
		{name: "more stages than layers", req: Request{Model: qwen7B, GPUs: l4}, tp: 1, pp: 29,
			problems: []string{"pipeline_parallel_size: 29 pipeline stages for 28 layers"}},
		{name: "max_model_len above the model's", req: Request{Model: mistral7B, MaxModelLen: new(int64(65536))}, tp: 1, pp: 1,
			problems: []string{"max_model_len: max_model_len 65536 is above"}},
		{name: "no GPU group: model checks only", req: Request{Model: qwen7B}, tp: 2, pp: 1, noGroup: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := Fixed(tt.req, tt.tp, tt.pp)
			if len(tt.problems) > 0 {
				if err == nil {
					t.Fatalf("Fixed = %+v, want problems %q", c, tt.problems)
				}
				for _, want := range tt.problems {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("problems %q lack %q", err, want)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("Fixed: %v", err)
			}
			if tt.noGroup {
				if c != nil {
					t.Fatalf("Fixed without a GPU group = %+v, want nil", c)
				}
				return
			}
			if c.TensorParallelSize != tt.tp || c.PipelineParallelSize != tt.pp {
				t.Errorf("figured tp %d pp %d, want %d %d", c.TensorParallelSize, c.PipelineParallelSize, tt.tp, tt.pp)
			}
			if c.Fits != tt.fits {
				t.Fatalf("Fits = %v (%s), want %v", c.Fits, c.Reason, tt.fits)
			}
			for _, want := range tt.reason {
				if !strings.Contains(c.Reason, want) {
					t.Errorf("reason %q lacks %q", c.Reason, want)
				}
			}
		})
	}
}
