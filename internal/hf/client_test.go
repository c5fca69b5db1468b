package hf_test

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/inferstack/terraform-provider-inferstack/internal/acctest/hfhub"
	"github.com/inferstack/terraform-provider-inferstack/internal/errs"
	"github.com/inferstack/terraform-provider-inferstack/internal/hf"
)

// newClient talks to s with retry waits in milliseconds.
func newClient(t *testing.T, s *hfhub.Server, token string, retryMax int) *hf.Client {
	t.Helper()
	c, err := hf.New(hf.Config{
		Endpoint:     s.URL + "/",
		Token:        token,
		UserAgent:    "inferstack-test",
		RetryMax:     retryMax,
		RetryWaitMin: time.Millisecond,
		RetryWaitMax: 5 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func infoPath(id, escapedRev string) string { return "/api/models/" + id + "/revision/" + escapedRev }
func configPath(id, sha string) string      { return "/" + id + "/resolve/" + sha + "/config.json" }

// TestResolveFixtures checks every field against the config.json values in
// ../shared/contracts/hf-hub-api.md (and the Qwen2.5-7B values of the brief).
func TestResolveFixtures(t *testing.T) {
	t.Parallel()
	s := hfhub.Start()
	t.Cleanup(s.Close)
	c := newClient(t, s, hfhub.GrantedToken, 0)

	tests := []struct {
		id   string
		want hf.Model
	}{
		{hfhub.Llama8BID, hf.Model{
			Gated: true, GateMode: "manual", License: "llama3.1", Parameters: 8030261248,
			Architecture: "LlamaForCausalLM", ModelType: "llama", DType: "bfloat16",
			HiddenSize: 4096, IntermediateSize: 14336, NumHiddenLayers: 32, NumAttentionHeads: 32, NumKeyValueHeads: 8,
			HeadDim: 128, MaxPositionEmbeddings: 131072, VocabSize: 128256,
		}},
		{hfhub.Llama70BID, hf.Model{
			Gated: true, GateMode: "manual", License: "llama3.1", Parameters: 70553706496,
			Architecture: "LlamaForCausalLM", ModelType: "llama", DType: "bfloat16",
			HiddenSize: 8192, IntermediateSize: 28672, NumHiddenLayers: 80, NumAttentionHeads: 64, NumKeyValueHeads: 8,
			HeadDim: 128, MaxPositionEmbeddings: 131072, VocabSize: 128256,
		}},
		{hfhub.Mistral7BID, hf.Model{
			// sliding_window null: no sliding window.
			Gated: true, GateMode: "auto", License: "apache-2.0", Parameters: 7248023552,
			Architecture: "MistralForCausalLM", ModelType: "mistral", DType: "bfloat16",
			HiddenSize: 4096, IntermediateSize: 14336, NumHiddenLayers: 32, NumAttentionHeads: 32, NumKeyValueHeads: 8,
			HeadDim: 128, MaxPositionEmbeddings: 32768, VocabSize: 32768,
		}},
		{hfhub.Gemma27BID, hf.Model{
			// head_dim explicit 128 although 4608/32 = 144; 46 layers alternate, even ones slide: 23.
			Gated: true, GateMode: "manual", License: "gemma", Parameters: 27227128320,
			Architecture: "Gemma2ForCausalLM", ModelType: "gemma2", DType: "bfloat16",
			HiddenSize: 4608, IntermediateSize: 36864, NumHiddenLayers: 46, NumAttentionHeads: 32, NumKeyValueHeads: 16,
			HeadDim: 128, HeadDimExplicit: true, MaxPositionEmbeddings: 8192, VocabSize: 256000, TieWordEmbeddings: true,
			SlidingWindow: hf.SlidingWindow{Size: 4096, Layers: 23, Pattern: hf.SlidingAlternating},
		}},
		{hfhub.Qwen72BID, hf.Model{
			// sliding_window 131072 with use_sliding_window false: none.
			License: "qwen", Parameters: 72706203648,
			Architecture: "Qwen2ForCausalLM", ModelType: "qwen2", DType: "bfloat16",
			HiddenSize: 8192, IntermediateSize: 29568, NumHiddenLayers: 80, NumAttentionHeads: 64, NumKeyValueHeads: 8,
			HeadDim: 128, MaxPositionEmbeddings: 32768, VocabSize: 152064,
		}},
		{hfhub.Qwen7BID, hf.Model{
			License: "apache-2.0", Parameters: 7615616512,
			Architecture: "Qwen2ForCausalLM", ModelType: "qwen2", DType: "bfloat16",
			HiddenSize: 3584, IntermediateSize: 18944, NumHiddenLayers: 28, NumAttentionHeads: 28, NumKeyValueHeads: 4,
			HeadDim: 128, MaxPositionEmbeddings: 32768, VocabSize: 152064,
		}},
		{hfhub.Qwen7BAWQID, hf.Model{
			// I32 822,033,408 + F16 1,141,306,880 = 1,963,340,288 stored elements.
			License: "apache-2.0", Parameters: 1963340288,
			Architecture: "Qwen2ForCausalLM", ModelType: "qwen2", DType: "float16",
			HiddenSize: 3584, IntermediateSize: 18944, NumHiddenLayers: 28, NumAttentionHeads: 28, NumKeyValueHeads: 4,
			HeadDim: 128, MaxPositionEmbeddings: 32768, VocabSize: 152064,
			Quantization: &hf.Quantization{Method: "awq", Bits: 4, GroupSize: 128},
		}},
		{hfhub.PrivateID, hf.Model{
			Private: true, License: "apache-2.0", Parameters: 1100048384,
			Architecture: "LlamaForCausalLM", ModelType: "llama", DType: "bfloat16",
			HiddenSize: 2048, IntermediateSize: 5632, NumHiddenLayers: 22, NumAttentionHeads: 32, NumKeyValueHeads: 4,
			HeadDim: 64, MaxPositionEmbeddings: 2048, VocabSize: 32000,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			t.Parallel()
			m, err := c.Resolve(context.Background(), tt.id, "")
			if err != nil {
				t.Fatal(err)
			}
			want := tt.want
			want.ID, want.Revision, want.SHA = tt.id, "main", s.SHA(tt.id, "main")
			want.LibraryName, want.PipelineTag = "transformers", "text-generation"
			want.ParametersByDType = m.ParametersByDType
			var total int64
			for _, n := range m.ParametersByDType {
				total += n
			}
			if total != want.Parameters {
				t.Errorf("sum of ParametersByDType = %d, want %d", total, want.Parameters)
			}
			if (m.Quantization == nil) != (want.Quantization == nil) ||
				(m.Quantization != nil && *m.Quantization != *want.Quantization) {
				t.Errorf("Quantization = %+v, want %+v", m.Quantization, want.Quantization)
			}
			m.Quantization, want.Quantization = nil, nil
			if got := *m; !equalModel(got, want) {
				t.Errorf("Resolve(%s) =\n%+v\nwant\n%+v", tt.id, got, want)
			}
		})
	}
}

func equalModel(a, b hf.Model) bool {
	a.ParametersByDType, b.ParametersByDType = nil, nil
	return reflect.DeepEqual(a, b)
}

func TestResolveRevisions(t *testing.T) {
	t.Parallel()
	s := hfhub.Start()
	t.Cleanup(s.Close)
	c := newClient(t, s, "", 0)
	pr := s.SHA(hfhub.Qwen7BID, "refs/pr/3")

	tests := []struct {
		revision, sha, escaped string
	}{
		{"refs/pr/3", pr, "refs%2Fpr%2F3"}, // slashes encoded, as huggingface_hub does
		{"v1.0", s.SHA(hfhub.Qwen7BID, "v1.0"), "v1.0"},
		{pr, pr, pr},
		{"", s.SHA(hfhub.Qwen7BID, "main"), "main"},
	}
	for _, tt := range tests {
		t.Run(tt.escaped, func(t *testing.T) {
			t.Parallel()
			m, err := c.Resolve(context.Background(), hfhub.Qwen7BID, tt.revision)
			if err != nil {
				t.Fatal(err)
			}
			if m.SHA != tt.sha {
				t.Errorf("SHA = %s, want %s", m.SHA, tt.sha)
			}
			if n := s.Requests(infoPath(hfhub.Qwen7BID, tt.escaped)); n != 1 {
				t.Errorf("requests to %s = %d, want 1", infoPath(hfhub.Qwen7BID, tt.escaped), n)
			}
			if n := s.Requests(configPath(hfhub.Qwen7BID, tt.sha)); n < 1 {
				t.Errorf("config.json not fetched at the resolved sha %s", tt.sha)
			}
		})
	}
}

func TestResolveErrors(t *testing.T) {
	t.Parallel()
	s := hfhub.Start(hfhub.WithModel(hfhub.Model{
		ID: "acme/disabled", Disabled: true, Files: map[string][]byte{"config.json": []byte(`{}`)},
	}))
	t.Cleanup(s.Close)

	tests := []struct {
		name, id, revision, token string
		kind                      error
		attribute                 string
		status                    int
		contains                  []string
		requests                  int // requests that reached the stand-in
	}{
		{
			name: "gated without token", id: hfhub.Llama8BID, kind: hf.ErrGated, attribute: "id", status: 401,
			contains: []string{"gated", "no token was set", "Accept the licence at " + s.URL + "/" + hfhub.Llama8BID, "huggingface", "HF_TOKEN"},
			requests: 2,
		},
		{
			name: "gated licence not accepted", id: hfhub.Llama70BID, token: hfhub.UngrantedToken, kind: hf.ErrGated, attribute: "id", status: 403,
			contains: []string{"token's account has no access", "accept the licence at " + s.URL + "/" + hfhub.Llama70BID, "fine-grained"},
			requests: 2,
		},
		{
			name: "missing without token", id: "nobody/nothing", kind: hf.ErrRepoNotFoundOrPrivate, attribute: "id", status: 401,
			contains: []string{"not found, or it is private", "does not say which", "HF_TOKEN"},
			requests: 1,
		},
		{
			name: "missing with token", id: "nobody/nothing", token: hfhub.UngrantedToken, kind: hf.ErrRepoNotFoundOrPrivate, attribute: "id", status: 404,
			contains: []string{"not found, or it is private and the token's account cannot read it", "does not say which"},
			requests: 1,
		},
		{
			name: "private without token", id: hfhub.PrivateID, kind: hf.ErrRepoNotFoundOrPrivate, attribute: "id", status: 401,
			contains: []string{"private"}, requests: 1,
		},
		{
			name: "unknown revision", id: hfhub.Qwen7BID, revision: "does-not-exist", kind: hf.ErrRevisionNotFound, attribute: "revision", status: 404,
			contains: []string{`revision "does-not-exist"`, "branch", "tag", "commit sha"}, requests: 1,
		},
		{
			name: "no config.json", id: hfhub.GGUFOnlyID, kind: hf.ErrEntryNotFound, attribute: "revision", status: 404,
			contains: []string{"no config.json", "GGUF"}, requests: 2,
		},
		{
			name: "invalid token", id: hfhub.Qwen7BID, token: "hf_revoked_secret_value", kind: hf.ErrUnauthorized, attribute: "", status: 401,
			contains: []string{"rejected the token", "HF_TOKEN"}, requests: 1,
		},
		{
			name: "disabled", id: "acme/disabled", kind: hf.ErrDisabled, attribute: "id", status: 403,
			contains: []string{"disabled"}, requests: 1,
		},
		{
			name: "malformed id", id: "not a/valid//id", kind: hf.ErrInvalidID, attribute: "id",
			contains: []string{"invalid model id", "owner/name"}, requests: 0,
		},
		{
			name: "url as id", id: "https://huggingface.co/Qwen/Qwen2.5-7B-Instruct", kind: hf.ErrInvalidID, attribute: "id",
			contains: []string{"drop the https://huggingface.co/ prefix"}, requests: 0,
		},
		{
			name: "bad revision", id: hfhub.Qwen7BID, revision: "my branch", kind: hf.ErrInvalidRevision, attribute: "revision",
			contains: []string{"white space"}, requests: 0,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Not parallel: each case counts the stand-in's requests.
			s.ResetCounts()
			c := newClient(t, s, tt.token, 0)
			_, err := c.Resolve(context.Background(), tt.id, tt.revision)
			if !errors.Is(err, tt.kind) {
				t.Fatalf("error %v, want %v", err, tt.kind)
			}
			var e *hf.Error
			if !errors.As(err, &e) {
				t.Fatalf("error %T is not an *hf.Error", err)
			}
			if e.Attribute != tt.attribute || e.StatusCode != tt.status {
				t.Errorf("Attribute %q, StatusCode %d; want %q, %d", e.Attribute, e.StatusCode, tt.attribute, tt.status)
			}
			// An error that blames an attribute is an input problem on it too.
			ps := errs.Problems(err)
			if (tt.attribute == "") != (len(ps) == 0) || len(ps) > 0 && (len(ps) != 1 || ps[0].Attribute != tt.attribute || ps[0].Detail != e.Message) {
				t.Errorf("errs.Problems = %v, want one on %q with the message (none for \"\")", ps, tt.attribute)
			}
			for _, s := range tt.contains {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("message lacks %q:\n%s", s, err)
				}
			}
			if tt.token != "" && strings.Contains(err.Error(), tt.token) {
				t.Errorf("message leaks the token: %s", err)
			}
			if n := s.TotalRequests(); n != tt.requests {
				t.Errorf("%d requests, want %d", n, tt.requests)
			}
			// Errors retrying cannot fix are cached: asking again costs no request.
			_, err2 := c.Resolve(context.Background(), tt.id, tt.revision)
			if !errors.Is(err2, tt.kind) || s.TotalRequests() != tt.requests {
				t.Errorf("second lookup: %v after %d requests, want the cached error", err2, s.TotalRequests())
			}
		})
	}
}

func TestResolveRetries(t *testing.T) {
	t.Parallel()
	p := infoPath(hfhub.Qwen7BID, "main")
	tests := []struct {
		name       string
		failures   int
		status     int
		retryAfter string
		retryMax   int
		kind       error // nil: success
		requests   int   // to the metadata path
		contains   string
	}{
		{name: "503 then success", failures: 2, status: 503, retryMax: 4, requests: 3},
		{name: "429 then success", failures: 1, status: 429, retryAfter: "0", retryMax: 4, requests: 2},
		{name: "500 exhausted", failures: 10, status: 500, retryMax: 2, kind: hf.ErrUnavailable, requests: 3, contains: "after 3 attempt(s)"},
		{name: "429 exhausted", failures: 10, status: 429, retryAfter: "0", retryMax: 1, kind: hf.ErrRateLimited, requests: 2, contains: "higher limit"},
		{name: "no retries", failures: 1, status: 503, retryMax: -1, kind: hf.ErrUnavailable, requests: 1, contains: "after 1 attempt(s)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := hfhub.Start()
			t.Cleanup(s.Close)
			s.FailNext(tt.failures, tt.status, tt.retryAfter)
			c := newClient(t, s, "", tt.retryMax)
			m, err := c.Resolve(context.Background(), hfhub.Qwen7BID, "main")
			switch {
			case tt.kind == nil && err != nil:
				t.Fatal(err)
			case tt.kind == nil && m.HiddenSize != 3584:
				t.Errorf("HiddenSize = %d", m.HiddenSize)
			case tt.kind != nil && !errors.Is(err, tt.kind):
				t.Fatalf("error %v, want %v", err, tt.kind)
			case tt.kind != nil && !strings.Contains(err.Error(), tt.contains):
				t.Errorf("message lacks %q: %s", tt.contains, err)
			}
			if n := s.Requests(p); n != tt.requests {
				t.Errorf("requests = %d, want %d", n, tt.requests)
			}
			if tt.kind != nil {
				// Transient errors are not cached: the next lookup asks again and succeeds.
				s.ResetCounts() // drops the failures still queued
				if _, err := c.Resolve(context.Background(), hfhub.Qwen7BID, "main"); err != nil {
					t.Errorf("lookup after the outage: %v", err)
				}
			}
		})
	}
}

// TestRetryAfterHonoured: the Hub's Retry-After (1 s) is honoured up to RetryWaitMax (80 ms),
// where plain backoff would wait RetryWaitMin (1 ms).
func TestRetryAfterHonoured(t *testing.T) {
	t.Parallel()
	s := hfhub.Start()
	t.Cleanup(s.Close)
	s.FailNext(1, http.StatusTooManyRequests, "1")
	c, err := hf.New(hf.Config{Endpoint: s.URL, RetryWaitMin: time.Millisecond, RetryWaitMax: 80 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := c.Resolve(context.Background(), hfhub.Qwen7BID, "main"); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 80*time.Millisecond || d > 900*time.Millisecond {
		t.Errorf("took %s, want about 80ms (Retry-After capped at RetryWaitMax)", d)
	}
}

func TestResolveOnce(t *testing.T) {
	t.Parallel()
	s := hfhub.Start(hfhub.WithLatency(20 * time.Millisecond))
	t.Cleanup(s.Close)
	c := newClient(t, s, hfhub.GrantedToken, 0)

	var wg sync.WaitGroup
	models := make([]*hf.Model, 16)
	for i := range models {
		wg.Go(func() {
			m, err := c.Resolve(context.Background(), hfhub.Gemma27BID, "main")
			if err != nil {
				t.Error(err)
				return
			}
			models[i] = m
		})
	}
	wg.Wait()
	sha := s.SHA(hfhub.Gemma27BID, "main")
	if n := s.Requests(infoPath(hfhub.Gemma27BID, "main")); n != 1 {
		t.Errorf("metadata requests = %d, want 1", n)
	}
	if n := s.Requests(configPath(hfhub.Gemma27BID, sha)); n != 1 {
		t.Errorf("config.json requests = %d, want 1", n)
	}
	// Each caller gets its own copy.
	models[0].ParametersByDType["BF16"] = 1
	models[0].HiddenSize = 1
	if models[1].HiddenSize != 4608 || models[1].ParametersByDType["BF16"] != 27227128320 {
		t.Error("callers share one Model")
	}
	if m, _ := c.Resolve(context.Background(), hfhub.Gemma27BID, "main"); m.HiddenSize != 4608 {
		t.Error("the cache was modified through a returned Model")
	}
}

func TestResolveCancelled(t *testing.T) {
	t.Parallel()
	s := hfhub.Start(hfhub.WithLatency(200 * time.Millisecond))
	t.Cleanup(s.Close)
	c := newClient(t, s, "", 0)

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err := c.Resolve(ctx, hfhub.Qwen7BID, "main")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error %v, want context.DeadlineExceeded", err)
	}
	// A cancelled lookup is not cached.
	if _, err := c.Resolve(context.Background(), hfhub.Qwen7BID, "main"); err != nil {
		t.Fatal(err)
	}
}

func TestResolveWaiterSurvivesLeaderCancel(t *testing.T) {
	t.Parallel()
	s := hfhub.Start(hfhub.WithLatency(50 * time.Millisecond))
	t.Cleanup(s.Close)
	c := newClient(t, s, "", 0)

	leaderCtx, cancel := context.WithCancel(context.Background())
	leaderDone := make(chan error, 1)
	go func() {
		_, err := c.Resolve(leaderCtx, hfhub.Qwen7BID, "main")
		leaderDone <- err
	}()
	time.Sleep(10 * time.Millisecond) // the leader's request is in flight
	waiterDone := make(chan error, 1)
	go func() {
		_, err := c.Resolve(context.Background(), hfhub.Qwen7BID, "main")
		waiterDone <- err
	}()
	time.Sleep(10 * time.Millisecond)
	cancel()
	if err := <-leaderDone; !errors.Is(err, context.Canceled) {
		t.Errorf("leader: %v, want context.Canceled", err)
	}
	if err := <-waiterDone; err != nil {
		t.Errorf("waiter: %v, want success after the leader gave up", err)
	}
}

func TestNew(t *testing.T) {
	t.Parallel()
	tests := []struct {
		endpoint string
		ok       bool
		want     string
	}{
		{"", true, hf.DefaultEndpoint},
		{"https://hf-mirror.example.com/", true, "https://hf-mirror.example.com"},
		{"http://127.0.0.1:8080/hub", true, "http://127.0.0.1:8080/hub"},
		{"ftp://example.com", false, ""},
		{"huggingface.co", false, ""},
		{"https://user:pass@example.com", false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.endpoint, func(t *testing.T) {
			t.Parallel()
			c, err := hf.New(hf.Config{Endpoint: tt.endpoint})
			if (err == nil) != tt.ok {
				t.Fatalf("New(%q) error %v, want ok=%v", tt.endpoint, err, tt.ok)
			}
			if err != nil {
				if strings.Contains(err.Error(), "pass") {
					t.Errorf("error leaks credentials: %v", err)
				}
				return
			}
			if c.Endpoint() != tt.want {
				t.Errorf("Endpoint() = %q, want %q", c.Endpoint(), tt.want)
			}
		})
	}
}
