package metrics_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/inferstack/terraform-provider-inferstack/internal/acctest/openai"
	"github.com/inferstack/terraform-provider-inferstack/internal/acctest/promlab"
	"github.com/inferstack/terraform-provider-inferstack/internal/metrics"
)

// replica is one vLLM stand-in and the labels inferstack_model_endpoint gives its target.
type replica struct {
	endpoint, replica string
	legacy            bool // metric names of vLLM before 0.9 / 0.11
	srv               *openai.Server
}

func startReplicas(t *testing.T, rs []replica) []metrics.Target {
	t.Helper()
	targets := make([]metrics.Target, 0, len(rs))
	for i := range rs {
		srv, err := openai.Start(openai.Options{Model: "Qwen/Qwen2.5-7B-Instruct", APIKey: "tf-acc-key", LegacyMetricNames: rs[i].legacy})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = srv.Close() })
		rs[i].srv = srv
		targets = append(targets, metrics.Target{Address: srv.Addr, Labels: map[string]string{
			"endpoint": rs[i].endpoint, "replica": rs[i].replica, "model": "Qwen/Qwen2.5-7B-Instruct",
			"revision": "a09a35458c702b33eeacc393d103063234e8bc28", "host": "127.0.0.1",
		}})
	}
	return targets
}

func chat(ctx context.Context, r replica, stream bool, words string) error {
	body := fmt.Sprintf(`{"model":"Qwen/Qwen2.5-7B-Instruct","stream":%t,"messages":[{"role":"user","content":%q}]}`, stream, words)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.srv.URL+"/v1/chat/completions", strings.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer tf-acc-key")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil || resp.StatusCode != http.StatusOK {
		return fmt.Errorf("chat completion on %s: %s %v", r.srv.URL, resp.Status, err)
	}
	return nil
}

// TestPrometheusScrapesStandins renders the scrape config for three vLLM stand-in replicas of two
// endpoints (one with the metric names of an older vLLM), checks it with promtool, runs a real
// Prometheus on it, and proves that every target is up, that Prometheus records vLLM's metric
// types, and that every dashboard query runs and shows each replica once requests are served.
func TestPrometheusScrapesStandins(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	rs := []replica{{endpoint: "chat", replica: "0"}, {endpoint: "chat", replica: "1"}, {endpoint: "old", replica: "0", legacy: true}}
	cfg := metrics.Config{ScrapeInterval: "1s", Targets: startReplicas(t, rs)}
	out, err := metrics.Render(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := promlab.CheckConfig(ctx, out.ScrapeConfigYAML); err != nil {
		t.Fatalf("the rendered scrape config:\n%s\n%v", out.ScrapeConfigYAML, err)
	}
	prom := promlab.StartT(t, out.ScrapeConfigYAML)

	err = promlab.Eventually(ctx, "up == 1 on every target", 30*time.Second, func(ctx context.Context) (bool, error) {
		got, err := prom.Query(ctx, `up{job="vllm"} == 1`)
		if err != nil {
			return false, err
		}
		if len(got) != len(rs) {
			targets, _ := prom.Targets(ctx)
			return false, fmt.Errorf("%d of %d targets up: %+v", len(got), len(rs), targets)
		}
		return true, nil
	})
	if err != nil {
		t.Fatal(err)
	}

	types, err := prom.Metadata(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		"vllm:num_requests_running": "gauge", "vllm:num_requests_waiting": "gauge",
		"vllm:kv_cache_usage_perc": "gauge", "vllm:gpu_cache_usage_perc": "gauge",
		"vllm:request_success_total": "counter", "vllm:prompt_tokens_total": "counter",
		"vllm:generation_tokens_total": "counter", "vllm:time_to_first_token_seconds": "histogram",
		"vllm:inter_token_latency_seconds": "histogram", "vllm:time_per_output_token_seconds": "histogram",
	} {
		if types[name] != want {
			t.Errorf("Prometheus records %s as %q, want %q", name, types[name], want)
		}
	}

	// Traffic from after the first scrape on, so that rate() sees the counters rise, and keeps
	// seeing it however long the queries below take on a loaded machine.
	traffic, stopTraffic := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		defer close(done)
		for traffic.Err() == nil {
			for _, r := range rs {
				for _, stream := range []bool{false, true} {
					if err := chat(traffic, r, stream, "stream these words back to me please"); err != nil && traffic.Err() == nil {
						done <- err
						return
					}
				}
			}
			select {
			case <-traffic.Done():
			case <-time.After(200 * time.Millisecond):
			}
		}
	}()
	defer func() {
		stopTraffic()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	want := make([]string, 0, len(rs))
	for _, r := range rs {
		want = append(want, r.endpoint+"/"+r.replica)
	}
	slices.Sort(want)
	// Each query needs every replica's line; the gauges have theirs from the first scrape.
	for _, name := range metrics.QueryNames {
		expr := out.Queries[name]
		err := promlab.Eventually(ctx, name+" for every replica", 30*time.Second, func(ctx context.Context) (bool, error) {
			samples, err := prom.Query(ctx, expr)
			if err != nil {
				return false, err // a query Prometheus refuses never passes
			}
			var got []string
			for _, s := range samples {
				v, err := strconv.ParseFloat(s.Value, 64)
				if err != nil || v != v { // NaN: a quantile without observations
					continue
				}
				if strings.HasSuffix(name, "_rate") && v <= 0 {
					continue
				}
				got = append(got, s.Labels["endpoint"]+"/"+s.Labels["replica"])
			}
			slices.Sort(got)
			if !slices.Equal(got, want) {
				return false, fmt.Errorf("series %v, want %v: %+v", got, want, samples)
			}
			return true, nil
		})
		if err != nil {
			t.Errorf("%s = %s: %v", name, expr, err)
		}
	}
}

// TestStandinMetricsLint runs promtool's linter over the stand-in's /metrics: the only finding
// may be the one real vLLM has too (its names contain ':'), so HELP and TYPE lines, counter
// suffixes and histogram series are as Prometheus expects them.
func TestStandinMetricsLint(t *testing.T) {
	t.Parallel()
	for _, legacy := range []bool{false, true} {
		rs := []replica{{endpoint: "chat", replica: "0", legacy: legacy}}
		startReplicas(t, rs)
		for _, stream := range []bool{false, true} {
			if err := chat(t.Context(), rs[0], stream, "count these"); err != nil {
				t.Fatal(err)
			}
		}
		resp, err := http.Get(rs[0].srv.URL + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		findings, err := promlab.LintMetrics(t.Context(), string(body))
		if err != nil {
			t.Fatal(err)
		}
		if len(findings) < 9 { // one per metric family
			t.Errorf("legacy names %t: promtool found %q; it names each metric with ':', as for vLLM", legacy, findings)
		}
		for _, f := range findings {
			if !strings.HasSuffix(f, "metric names should not contain ':'") {
				t.Errorf("legacy names %t: promtool check metrics: %s", legacy, f)
			}
		}
	}
}

// TestFileSDPassesPromtool checks the file_sd JSON the way Prometheus reads it: promtool checks
// the target files a file_sd_configs job names.
func TestFileSDPassesPromtool(t *testing.T) {
	t.Parallel()
	out, err := metrics.Render(metrics.Config{Targets: []metrics.Target{
		{Address: "10.0.1.7:8000", Labels: map[string]string{"endpoint": "chat", "replica": "0"}},
		{Address: "[fd00::7]:8000", Labels: map[string]string{"endpoint": "chat", "replica": "1", "model": "org/m \"quoted\""}},
		{Address: "vllm-chat.inference.svc:8000"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	sd := filepath.Join(dir, "vllm.json")
	if err := os.WriteFile(sd, []byte(out.FileSDJSON), 0o600); err != nil {
		t.Fatal(err)
	}
	config := fmt.Sprintf("scrape_configs:\n  - job_name: vllm\n    file_sd_configs:\n      - files: [%q]\n", sd)
	if err := promlab.CheckConfig(t.Context(), config); err != nil {
		t.Fatal(err)
	}
	if err := promlab.CheckConfig(t.Context(), out.ScrapeConfigYAML); err != nil {
		t.Fatalf("the rendered scrape config:\n%s\n%v", out.ScrapeConfigYAML, err)
	}
	// promtool must be able to say no, or the checks above prove nothing.
	broken := strings.Replace(out.FileSDJSON, `"10.0.1.7:8000"`, `"10.0.1.7:8000/metrics"`, 1)
	if err := os.WriteFile(sd, []byte(broken), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := promlab.CheckConfig(t.Context(), config); err == nil {
		t.Fatal("promtool accepted a target with a path")
	}
}

// TestEC2SDPassesPromtool: the scrape job with AWS endpoints (ec2_sd_configs and the relabel
// rules beside static targets) is a config promtool accepts. No EC2 is reached: promtool checks
// the config, it does not discover.
func TestEC2SDPassesPromtool(t *testing.T) {
	t.Parallel()
	out, err := metrics.Render(metrics.Config{
		JobName: "vllm-aws",
		Targets: []metrics.Target{{Address: "10.0.1.7:8000", Labels: map[string]string{"endpoint": "chat", "replica": "0"}}},
		EC2: []metrics.EC2Endpoint{
			{Region: "us-east-1", Cluster: "llm-prod", Endpoint: "chat", Model: "Qwen/Qwen2.5-7B-Instruct", Revision: "a09a35458c702b33eeacc393d103063234e8bc28"},
			{Region: "eu-central-1", Cluster: "llm-eu", Endpoint: "embed", Port: 8001},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := promlab.CheckConfig(t.Context(), out.ScrapeConfigYAML); err != nil {
		t.Fatalf("the rendered scrape config:\n%s\n%v", out.ScrapeConfigYAML, err)
	}
	// promtool must be able to refuse an ec2_sd_config, or the check above proves nothing.
	broken := strings.Replace(out.ScrapeConfigYAML, "port: 8001", "port: eight", 1)
	if err := promlab.CheckConfig(t.Context(), broken); err == nil {
		t.Fatal("promtool accepted an ec2_sd_config whose port is not a number")
	}
}
