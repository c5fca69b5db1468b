// Package httpretry builds the go-retryablehttp clients of the provider's HTTP APIs (the
// Hugging Face Hub, the LiteLLM gateway) one way: pooled transport, a per-request timeout,
// exponential backoff between RetryWaitMin and RetryWaitMax, and a wait the server asks for
// (Retry-After, or another hint the caller reads) honoured but capped at RetryWaitMax, so one
// plan never hangs on a long rate-limit window.
package httpretry

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-cleanhttp"
	"github.com/hashicorp/go-retryablehttp"
)

// Defaults for the zero values of Options.
const (
	DefaultRetryMax     = 4
	DefaultRetryWaitMin = 1 * time.Second
	DefaultRetryWaitMax = 30 * time.Second
	DefaultTimeout      = 60 * time.Second
	DefaultUserAgent    = "terraform-provider-inferstack"
)

// Logger receives retry and failure messages. It has the method set of go-retryablehttp's
// LeveledLogger, so a tflog adapter or an hclog logger fits. Messages never include a secret.
type Logger interface {
	Error(msg string, keysAndValues ...any)
	Info(msg string, keysAndValues ...any)
	Debug(msg string, keysAndValues ...any)
	Warn(msg string, keysAndValues ...any)
}

// Options configures New. The zero value is a client with the defaults above.
type Options struct {
	// HTTPClient carries the requests; nil means a pooled client with DefaultTimeout per request.
	HTTPClient *http.Client
	// RetryMax is the number of retries after the first attempt; 0 means DefaultRetryMax, a
	// negative value disables retries.
	RetryMax int
	// RetryWaitMin and RetryWaitMax bound the backoff between retries (0 means the defaults).
	RetryWaitMin, RetryWaitMax time.Duration
	Logger                     Logger
	// CheckRetry decides whether to retry; nil means retryablehttp.DefaultRetryPolicy (429, 5xx
	// except 501, connection errors).
	CheckRetry retryablehttp.CheckRetry
	// ErrorHandler shapes the error once retries are spent; nil means retryablehttp's.
	ErrorHandler retryablehttp.ErrorHandler
	// WaitHint reads how long the server asks the client to wait; nil means RetryAfter.
	WaitHint func(h http.Header, now time.Time) (time.Duration, bool)
}

// New returns a retrying client for o.
func New(o Options) *retryablehttp.Client {
	rc := &retryablehttp.Client{
		HTTPClient:   o.HTTPClient,
		RetryWaitMin: o.RetryWaitMin,
		RetryWaitMax: o.RetryWaitMax,
		RetryMax:     o.RetryMax,
		CheckRetry:   o.CheckRetry,
		ErrorHandler: o.ErrorHandler,
	}
	if rc.HTTPClient == nil {
		rc.HTTPClient = cleanhttp.DefaultPooledClient()
		rc.HTTPClient.Timeout = DefaultTimeout
	}
	if rc.CheckRetry == nil {
		rc.CheckRetry = retryablehttp.DefaultRetryPolicy
	}
	if rc.RetryWaitMin <= 0 {
		rc.RetryWaitMin = DefaultRetryWaitMin
	}
	if rc.RetryWaitMax <= 0 {
		rc.RetryWaitMax = DefaultRetryWaitMax
	}
	rc.RetryWaitMax = max(rc.RetryWaitMax, rc.RetryWaitMin)
	switch {
	case rc.RetryMax == 0:
		rc.RetryMax = DefaultRetryMax
	case rc.RetryMax < 0:
		rc.RetryMax = 0
	}
	if o.Logger != nil {
		rc.Logger = o.Logger
	}
	hint := o.WaitHint
	if hint == nil {
		hint = RetryAfter
	}
	rc.Backoff = func(minWait, maxWait time.Duration, attempt int, resp *http.Response) time.Duration {
		return Backoff(hint, minWait, maxWait, attempt, resp)
	}
	return rc
}

// Backoff is go-retryablehttp's exponential DefaultBackoff, except that a wait the server asks
// for (read by hint from a 429 or 5xx answer) is honoured, capped at maxWait.
func Backoff(hint func(http.Header, time.Time) (time.Duration, bool), minWait, maxWait time.Duration, attempt int, resp *http.Response) time.Duration {
	if resp != nil && (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500) {
		if d, ok := hint(resp.Header, time.Now()); ok {
			return min(d, maxWait)
		}
	}
	// DefaultBackoff itself reads Retry-After uncapped; without a usable hint only the
	// exponential part is wanted.
	return retryablehttp.DefaultBackoff(minWait, maxWait, attempt, nil)
}

// RetryAfter reads a Retry-After header: seconds (fractions allowed) or an HTTP date.
func RetryAfter(h http.Header, now time.Time) (time.Duration, bool) {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil && s >= 0 {
		return time.Duration(s * float64(time.Second)), true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}
