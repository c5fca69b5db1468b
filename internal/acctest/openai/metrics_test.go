package openai_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/inferstack/terraform-provider-inferstack/internal/acctest/openai"
)

// TestMetrics checks /metrics against what the stand-in served: vLLM's names and types, the
// model_name and engine labels, and counts that follow the requests (words are tokens).
func TestMetrics(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		legacy       bool
		want, absent []string
	}{
		{
			name: "current names",
			want: []string{
				"# TYPE vllm:kv_cache_usage_perc gauge\n",
				"# TYPE vllm:inter_token_latency_seconds histogram\n",
				`vllm:inter_token_latency_seconds_count{model_name="chat",engine="0"} 4` + "\n",
			},
			absent: []string{"vllm:gpu_cache_usage_perc", "vllm:time_per_output_token_seconds"},
		},
		{
			name:   "names of vLLM before 0.9 and 0.11",
			legacy: true,
			want: []string{
				"# TYPE vllm:gpu_cache_usage_perc gauge\n",
				"# TYPE vllm:time_per_output_token_seconds histogram\n",
				`vllm:time_per_output_token_seconds_count{model_name="chat",engine="0"} 4` + "\n",
			},
			absent: []string{"vllm:kv_cache_usage_perc", "vllm:inter_token_latency_seconds"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := openai.NewHandler(openai.Options{ServedModelNames: []string{"chat"}, LegacyMetricNames: tt.legacy})
			// Before any request every series is there, at zero.
			if _, body := do(t, h, http.MethodGet, "/metrics", "", ""); !strings.Contains(body, `vllm:request_success_total{model_name="chat",engine="0",finished_reason="stop"} 0`+"\n") {
				t.Fatalf("no zero request_success_total before any request:\n%s", body)
			}
			// Three requests: "echo: one" (2 tokens at once), "echo: a b" (3 streamed) and
			// "echo: x" (2 at once, cut by max_tokens): 1 + 2 + 1 gaps between tokens.
			for _, body := range []string{
				`{"messages":[{"role":"user","content":"one"}]}`,
				`{"stream":true,"messages":[{"role":"user","content":"a b"}]}`,
			} {
				if code, out := do(t, h, http.MethodPost, "/v1/chat/completions", "", body); code != http.StatusOK {
					t.Fatalf("chat: %d %s", code, out)
				}
			}
			if code, out := do(t, h, http.MethodPost, "/v1/completions", "", `{"prompt":["x y z"],"max_tokens":2}`); code != http.StatusOK {
				t.Fatalf("completion: %d %s", code, out)
			}
			code, body := do(t, h, http.MethodGet, "/metrics", "", "")
			if code != http.StatusOK {
				t.Fatalf("GET /metrics: %d", code)
			}
			want := append([]string{
				"# TYPE vllm:num_requests_running gauge\n",
				`vllm:num_requests_running{model_name="chat",engine="0"} 0` + "\n",
				"# TYPE vllm:num_requests_waiting gauge\n",
				"# TYPE vllm:request_success_total counter\n",
				`vllm:request_success_total{model_name="chat",engine="0",finished_reason="stop"} 2` + "\n",
				`vllm:request_success_total{model_name="chat",engine="0",finished_reason="length"} 1` + "\n",
				"# TYPE vllm:prompt_tokens_total counter\n",
				`vllm:prompt_tokens_total{model_name="chat",engine="0"} 14` + "\n", // (1+4) + (2+4) + 3
				"# TYPE vllm:generation_tokens_total counter\n",
				`vllm:generation_tokens_total{model_name="chat",engine="0"} 7` + "\n", // 2 + 3 + 2
				"# TYPE vllm:time_to_first_token_seconds histogram\n",
				`vllm:time_to_first_token_seconds_bucket{model_name="chat",engine="0",le="+Inf"} 3` + "\n",
				`vllm:time_to_first_token_seconds_count{model_name="chat",engine="0"} 3` + "\n",
				`vllm:time_to_first_token_seconds_bucket{model_name="chat",engine="0",le="2560"} 3` + "\n",
				`vllm:e2e_request_latency_seconds_count{model_name="chat",engine="0"} 3` + "\n",
			}, tt.want...)
			for _, w := range want {
				if !strings.Contains(body, w) {
					t.Errorf("/metrics lacks %q:\n%s", w, body)
				}
			}
			for _, a := range tt.absent {
				if strings.Contains(body, a) {
					t.Errorf("/metrics has %s", a)
				}
			}
		})
	}
}
