package httpretry

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

func TestRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	cases := map[string]struct {
		v    string
		want time.Duration
		ok   bool
	}{
		"seconds":  {"2", 2 * time.Second, true},
		"fraction": {"0.5", 500 * time.Millisecond, true},
		"date":     {now.Add(3 * time.Second).Format(http.TimeFormat), 3 * time.Second, true},
		"past":     {now.Add(-time.Minute).Format(http.TimeFormat), 0, true},
		"empty":    {"", 0, false},
		"junk":     {"soon", 0, false},
	}
	for name, c := range cases {
		h := http.Header{}
		if c.v != "" {
			h.Set("Retry-After", c.v)
		}
		got, ok := RetryAfter(h, now)
		if got != c.want || ok != c.ok {
			t.Errorf("%s: RetryAfter(%q) = %v, %v; want %v, %v", name, c.v, got, ok, c.want, c.ok)
		}
	}
}

func TestBackoffCapsServerWait(t *testing.T) {
	t.Parallel()
	resp := &http.Response{StatusCode: http.StatusTooManyRequests, Header: http.Header{"Retry-After": {"3600"}}}
	if d := Backoff(RetryAfter, time.Millisecond, 50*time.Millisecond, 1, resp); d != 50*time.Millisecond {
		t.Errorf("a one-hour Retry-After gave %v, want the 50ms cap", d)
	}
	resp.Header.Set("Retry-After", "0.01")
	if d := Backoff(RetryAfter, time.Millisecond, time.Second, 1, resp); d != 10*time.Millisecond {
		t.Errorf("Retry-After 0.01 gave %v", d)
	}
	if d := Backoff(RetryAfter, 10*time.Millisecond, time.Second, 2, nil); d != 40*time.Millisecond {
		t.Errorf("exponential backoff at attempt 2 = %v, want 40ms", d)
	}
}

// TestNewRetries: 429 and 503 are retried, and the answer after them comes back.
func TestNewRetries(t *testing.T) {
	t.Parallel()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch n.Add(1) {
		case 1:
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusTooManyRequests)
		case 2:
			w.WriteHeader(http.StatusServiceUnavailable)
		default:
			_, _ = w.Write([]byte("ok"))
		}
	}))
	defer srv.Close()
	c := New(Options{RetryWaitMin: time.Millisecond, RetryWaitMax: 5 * time.Millisecond})
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	rr, err := c.StandardClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	rr.Body.Close()
	if rr.StatusCode != http.StatusOK || n.Load() != 3 {
		t.Errorf("status %d after %d requests, want 200 after 3", rr.StatusCode, n.Load())
	}
	if New(Options{RetryMax: -1}).RetryMax != 0 {
		t.Error("a negative RetryMax should disable retries")
	}
}
