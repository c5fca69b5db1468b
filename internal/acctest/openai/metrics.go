package openai

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// vLLM's Prometheus metrics, as vllm/v1/metrics/loggers.py registers them (prometheus_client,
// text format 0.0.4): the names, types, help texts, labels (model_name and engine, plus
// finished_reason on request_success) and histogram buckets are vLLM's, so a scrape config or
// a dashboard that works against the stand-in works against vLLM. The values count what the
// stand-in really serves: requests finished, prompt and generated tokens (words), the time to
// the first token and between tokens, and the requests running right now.

// Histogram buckets of vLLM's latency histograms.
var (
	ttftBuckets = []float64{0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0,
		7.5, 10.0, 20.0, 40.0, 80.0, 160.0, 640.0, 2560.0}
	itlBuckets = []float64{0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5,
		10.0, 20.0, 40.0, 80.0}
	e2eBuckets = []float64{0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0,
		120.0, 240.0, 480.0, 960.0, 1920.0, 7680.0}
)

// finishReasons are the finished_reason values vLLM pre-creates (FinishReason: stop, length,
// abort), so every series exists from the first scrape.
var finishReasons = []string{"stop", "length", "abort"}

type histogram struct {
	buckets []float64
	counts  []uint64 // per bucket, not cumulative
	sum     float64
	count   uint64
}

func newHistogram(buckets []float64) *histogram {
	return &histogram{buckets: buckets, counts: make([]uint64, len(buckets))}
}

func (h *histogram) observe(v float64) {
	if i, _ := slices.BinarySearch(h.buckets, v); i < len(h.buckets) {
		h.counts[i]++
	}
	h.sum += v
	h.count++
}

// serverStats are the stand-in's serving statistics, under one lock.
type serverStats struct {
	mu               sync.Mutex
	running          int
	tokensInFlight   int
	promptTokens     int64
	generationTokens int64
	success          map[string]int64
	ttft, itl, e2e   *histogram
}

func newServerStats() *serverStats {
	return &serverStats{
		success: map[string]int64{},
		ttft:    newHistogram(ttftBuckets),
		itl:     newHistogram(itlBuckets),
		e2e:     newHistogram(e2eBuckets),
	}
}

// request tracks one inference request from its arrival: it runs (num_requests_running, and
// its tokens hold KV cache) until finish.
type request struct {
	stats   *serverStats
	start   time.Time
	last    time.Time // when the last token went out
	tokens  int       // tokens it holds in the KV cache
	emitted int
	ttft    float64
	itls    []float64
}

func (s *serverStats) begin(tokens int) *request {
	s.mu.Lock()
	s.running++
	s.tokensInFlight += tokens
	s.mu.Unlock()
	now := time.Now()
	return &request{stats: s, start: now, last: now, tokens: tokens}
}

// token notes that the next generated token has gone out to the client.
func (r *request) token() {
	now := time.Now()
	if r.emitted == 0 {
		r.ttft = now.Sub(r.start).Seconds()
	} else {
		r.itls = append(r.itls, now.Sub(r.last).Seconds())
	}
	r.last = now
	r.emitted++
}

// finish ends the request: it stops running and, when it was served (reason "stop" or
// "length"; "abort" for a client that went away), its counts go into the metrics.
func (r *request) finish(reason string, u usage) {
	s := r.stats
	s.mu.Lock()
	defer s.mu.Unlock()
	s.running--
	s.tokensInFlight -= r.tokens
	s.success[reason]++
	s.promptTokens += int64(u.PromptTokens)
	s.generationTokens += int64(u.CompletionTokens)
	if r.emitted > 0 {
		s.ttft.observe(r.ttft)
	}
	for _, v := range r.itls {
		s.itl.observe(v)
	}
	s.e2e.observe(time.Since(r.start).Seconds())
}

// servedAtOnce records a request answered in one response: its tokens all go out together.
func (s *serverStats) servedAtOnce(reason string, u usage) {
	run := s.begin(u.PromptTokens + u.CompletionTokens)
	for range u.CompletionTokens {
		run.token()
	}
	run.finish(reason, u)
}

// metricNames are the names the stand-in exports where vLLM renamed a metric.
type metricNames struct{ kvCache, itl string }

var (
	currentNames = metricNames{kvCache: "vllm:kv_cache_usage_perc", itl: "vllm:inter_token_latency_seconds"}
	// legacyNames are those of vLLM before 0.9 (gpu_cache_usage_perc) and 0.11
	// (time_per_output_token_seconds).
	legacyNames = metricNames{kvCache: "vllm:gpu_cache_usage_perc", itl: "vllm:time_per_output_token_seconds"}
)

// write writes the metrics in the Prometheus text format. KV-cache usage is the share of
// maxModelLen tokens the running requests hold: the stand-in's cache holds one full context.
func (s *serverStats) write(w io.Writer, model string, maxModelLen int, names metricNames) {
	s.mu.Lock()
	defer s.mu.Unlock()
	base := `model_name="` + escapeLabel(model) + `",engine="0"` // vLLM's label order
	var b strings.Builder
	header := func(name, typ, help string) {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
	}
	sample := func(name, labels string, v float64) {
		fmt.Fprintf(&b, "%s{%s} %s\n", name, labels, strconv.FormatFloat(v, 'g', -1, 64))
	}
	hist := func(name, help string, h *histogram) {
		header(name, "histogram", help)
		var cum uint64
		for i, le := range h.buckets {
			cum += h.counts[i]
			sample(name+"_bucket", base+`,le="`+strconv.FormatFloat(le, 'g', -1, 64)+`"`, float64(cum))
		}
		sample(name+"_bucket", base+`,le="+Inf"`, float64(h.count))
		sample(name+"_count", base, float64(h.count))
		sample(name+"_sum", base, h.sum)
	}

	header("vllm:num_requests_running", "gauge", "Number of requests in model execution batches.")
	sample("vllm:num_requests_running", base, float64(s.running))
	header("vllm:num_requests_waiting", "gauge", "Number of requests waiting to be processed.")
	sample("vllm:num_requests_waiting", base, 0) // the stand-in serves every request at once
	header(names.kvCache, "gauge", "KV-cache usage. 1 means 100 percent usage.")
	sample(names.kvCache, base, min(1, float64(s.tokensInFlight)/float64(max(1, maxModelLen))))
	header("vllm:prompt_tokens_total", "counter", "Number of prefill tokens processed.")
	sample("vllm:prompt_tokens_total", base, float64(s.promptTokens))
	header("vllm:generation_tokens_total", "counter", "Number of generation tokens processed.")
	sample("vllm:generation_tokens_total", base, float64(s.generationTokens))
	header("vllm:request_success_total", "counter", "Count of successfully processed requests.")
	for _, r := range finishReasons {
		sample("vllm:request_success_total", base+`,finished_reason="`+r+`"`, float64(s.success[r]))
	}
	hist("vllm:time_to_first_token_seconds", "Histogram of time to first token in seconds.", s.ttft)
	hist(names.itl, "Histogram of inter-token latency in seconds.", s.itl)
	hist("vllm:e2e_request_latency_seconds", "Histogram of e2e request latency in seconds.", s.e2e)
	_, _ = io.WriteString(w, b.String())
}

// escapeLabel escapes a label value for the text format: backslash, double quote, new line.
func escapeLabel(v string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(v)
}
