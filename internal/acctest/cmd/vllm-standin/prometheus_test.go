package main

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/inferstack/terraform-provider-inferstack/internal/acctest/promlab"
	"github.com/inferstack/terraform-provider-inferstack/internal/metrics"
)

// TestPrometheusScrapesTheBinary: a real Prometheus, on the scrape config internal/metrics
// renders, scrapes the stand-in as the lab runs it (here with the metric names of an older vLLM)
// and sees the requests it serves.
func TestPrometheusScrapesTheBinary(t *testing.T) {
	t.Parallel()
	port := freePort(t)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan int, 1)
	var stdout, stderr lockedBuffer
	go func() {
		done <- run(ctx, []string{"serve", "org/m", "--served-model-name", "chat", "--host", "127.0.0.1", "--port", strconv.Itoa(port)},
			env(map[string]string{"INFERSTACK_STANDIN_METRICS": "legacy"}), &stdout, &stderr)
	}()
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("vllm-standin exited %d: %s", code, stderr.String())
		}
	})
	addr := "127.0.0.1:" + strconv.Itoa(port)
	out, err := metrics.Render(metrics.Config{ScrapeInterval: "1s", Targets: []metrics.Target{
		{Address: addr, Labels: map[string]string{"endpoint": "chat", "replica": "0"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	prom := promlab.StartT(t, out.ScrapeConfigYAML)
	value := func(ctx context.Context, expr string) (float64, error) {
		samples, err := prom.Query(ctx, expr)
		if err != nil || len(samples) != 1 {
			return 0, fmt.Errorf("%s: %v %+v", expr, err, samples)
		}
		return strconv.ParseFloat(samples[0].Value, 64)
	}
	err = promlab.Eventually(ctx, "the stand-in up", 30*time.Second, func(ctx context.Context) (bool, error) {
		v, err := value(ctx, `up{job="vllm",endpoint="chat",replica="0"}`)
		return v == 1, err
	})
	if err != nil {
		t.Fatalf("%v\nstand-in stderr:\n%s", err, stderr.String())
	}
	for range 3 {
		resp, err := http.Post("http://"+addr+"/v1/completions", "application/json", strings.NewReader(`{"prompt":"one two"}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("completion: %s", resp.Status)
		}
	}
	err = promlab.Eventually(ctx, "3 requests and their tokens in Prometheus", 30*time.Second, func(ctx context.Context) (bool, error) {
		for expr, want := range map[string]float64{
			`sum(vllm:request_success_total{job="vllm"})`:                  3,
			`sum(vllm:prompt_tokens_total{job="vllm"})`:                    6,
			`sum(vllm:generation_tokens_total{job="vllm"})`:                9, // "echo: one two"
			`sum(vllm:time_per_output_token_seconds_count{job="vllm"})`:    6,
			`sum(vllm:time_to_first_token_seconds_count{job="vllm"})`:      3,
			`count(` + out.Queries["kv_cache_usage"] + `)`:                 1, // the old name, through the fallback
			`sum(vllm:num_requests_running{job="vllm",model_name="chat"})`: 0,
		} {
			v, err := value(ctx, expr)
			if err != nil || v != want {
				return false, fmt.Errorf("%s = %v (%v), want %v", expr, v, err, want)
			}
		}
		return true, nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
