package hf

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-retryablehttp"

	"github.com/inferstack/terraform-provider-inferstack/internal/httpretry"
)

// DefaultEndpoint is the public Hub; HF_ENDPOINT overrides it for mirrors (see EndpointFromEnv).
const DefaultEndpoint = "https://huggingface.co"

// Defaults for the zero values of Config (shared with every HTTP client of the provider).
const (
	DefaultRetryMax     = httpretry.DefaultRetryMax
	DefaultRetryWaitMin = httpretry.DefaultRetryWaitMin
	DefaultRetryWaitMax = httpretry.DefaultRetryWaitMax
	DefaultUserAgent    = httpretry.DefaultUserAgent
)

// Response size limits: the metadata of a repository with thousands of files stays well below.
const (
	maxInfoBytes   = 32 << 20
	maxConfigBytes = 8 << 20
)

// Logger receives retry and failure messages; messages never include the token.
type Logger = httpretry.Logger

// Config configures a Client. The zero value talks to the public Hub without a token.
type Config struct {
	// Endpoint is the Hub's base URL; "" means DefaultEndpoint. Callers pass HF_ENDPOINT here.
	Endpoint string
	// Token is sent as "Authorization: Bearer <token>"; "" sends none (public, ungated models only).
	Token string
	// UserAgent names the caller, e.g. "terraform-provider-inferstack/1.2.3"; "" means DefaultUserAgent.
	UserAgent string
	// HTTPClient carries the requests; nil means a pooled client with a 60 s timeout per request.
	HTTPClient *http.Client
	// RetryMax is the number of retries after the first attempt; 0 means DefaultRetryMax, a
	// negative value disables retries.
	RetryMax int
	// RetryWaitMin and RetryWaitMax bound the exponential backoff between retries (0 means the
	// defaults). A Retry-After or RateLimit header from the Hub is honoured up to RetryWaitMax.
	RetryWaitMin, RetryWaitMax time.Duration
	// Logger, if set, receives go-retryablehttp's request and retry messages.
	Logger Logger
}

// Client resolves models on the Hub. It caches every lookup, so each model and revision is
// asked for once per Client; it is safe for concurrent use, and concurrent lookups of the same
// model and revision share one set of requests.
type Client struct {
	endpoint  string
	token     string
	userAgent string
	http      *retryablehttp.Client

	mu    sync.Mutex
	calls map[string]*call
}

// call is one lookup, in flight or done.
type call struct {
	done  chan struct{}
	model *Model
	err   error
}

// New builds a Client. It makes no request; it fails only on a malformed endpoint.
func New(cfg Config) (*Client, error) {
	endpoint := strings.TrimRight(cfg.Endpoint, "/")
	if endpoint == "" {
		endpoint = DefaultEndpoint
	}
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("invalid Hugging Face endpoint %q: want an http(s) base URL such as %s (from the provider configuration or HF_ENDPOINT)", cfg.Endpoint, DefaultEndpoint)
	}
	if u.User != nil {
		return nil, fmt.Errorf("invalid Hugging Face endpoint: it must not carry credentials; set the token instead")
	}

	rc := httpretry.New(httpretry.Options{
		HTTPClient:   cfg.HTTPClient,
		RetryMax:     cfg.RetryMax,
		RetryWaitMin: cfg.RetryWaitMin,
		RetryWaitMax: cfg.RetryWaitMax,
		Logger:       cfg.Logger,
		ErrorHandler: giveUp,
		WaitHint:     hubWaitHint,
	})
	ua := cfg.UserAgent
	if ua == "" {
		ua = DefaultUserAgent
	}
	return &Client{
		endpoint:  endpoint,
		token:     cfg.Token,
		userAgent: ua,
		http:      rc,
		calls:     map[string]*call{},
	}, nil
}

// Endpoint is the Hub base URL the Client talks to.
func (c *Client) Endpoint() string { return c.endpoint }

// Resolve looks up model id at revision ("" means "main"): the commit it resolves to, the
// repository's metadata, and config.json at that commit. Results, and errors that retrying cannot
// fix, are cached for the life of the Client. The returned Model is the caller's to modify.
//
// Errors are *Error values wrapping one of the Err* sentinels; a cancelled ctx returns ctx.Err()
// wrapped.
func (c *Client) Resolve(ctx context.Context, id, revision string) (*Model, error) {
	if revision == "" {
		revision = DefaultRevision
	}
	if err := ValidateID(id); err != nil {
		return nil, err
	}
	if err := ValidateRevision(revision); err != nil {
		var e *Error
		if errors.As(err, &e) {
			e.ID = id
		}
		return nil, err
	}
	key := strings.ToLower(id) + "\x00" + revision // the Hub matches ids case-insensitively
	for {
		c.mu.Lock()
		cl, ok := c.calls[key]
		if !ok {
			cl = &call{done: make(chan struct{})}
			c.calls[key] = cl
			c.mu.Unlock()
			cl.model, cl.err = c.resolve(ctx, id, revision)
			if cl.err != nil && !cacheable(cl.err) {
				c.mu.Lock()
				delete(c.calls, key)
				c.mu.Unlock()
			}
			close(cl.done)
			return result(cl)
		}
		c.mu.Unlock()
		select {
		case <-cl.done:
		case <-ctx.Done():
			return nil, fmt.Errorf("resolving model %q at revision %q: %w", id, revision, ctx.Err())
		}
		// The lookup we waited for was cancelled by its own caller: ours is still wanted, so try again.
		if isContextError(cl.err) && ctx.Err() == nil {
			continue
		}
		return result(cl)
	}
}

func result(cl *call) (*Model, error) {
	if cl.err != nil {
		return nil, cl.err
	}
	return cl.model.clone(), nil
}

func isContextError(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// cacheable reports whether an error will be the same on the next try within one run.
func cacheable(err error) bool {
	var e *Error
	return errors.As(err, &e) && !IsTransient(err) && !isContextError(err)
}

type requestStep int

const (
	stepInfo requestStep = iota
	stepConfig
)

// answer is a non-2xx reply, or the last one before the retries ran out.
type answer struct {
	url        string
	status     int
	code       string // X-Error-Code
	message    string // X-Error-Message, or the body's "error"
	retryAfter time.Duration
	attempts   int
}

func (c *Client) pageURL(id string) string { return c.endpoint + "/" + id }

func (c *Client) resolve(ctx context.Context, id, revision string) (*Model, error) {
	infoURL := c.endpoint + "/api/models/" + id + "/revision/" + escapeRevision(revision)
	body, err := c.get(ctx, infoURL, id, revision, "", stepInfo, maxInfoBytes)
	if err != nil {
		return nil, err
	}
	var info infoResponse
	if err := json.Unmarshal(body, &info); err != nil {
		return nil, c.invalid(id, revision, infoURL, "its model metadata is not valid JSON: %v", err)
	}
	if !isCommitSHA(info.SHA) {
		return nil, c.invalid(id, revision, infoURL, "its model metadata has no commit sha (got %q)", info.SHA)
	}
	m := &Model{
		ID:          id,
		Revision:    revision,
		SHA:         info.SHA,
		Private:     info.Private,
		License:     info.license(),
		LibraryName: info.LibraryName,
		PipelineTag: info.PipelineTag,
	}
	if info.ID != "" {
		m.ID = info.ID
	}
	m.Gated, m.GateMode = info.gate()
	if st := info.Safetensors; st != nil {
		m.Parameters = st.Total
		if len(st.Parameters) > 0 {
			m.ParametersByDType = st.Parameters
		}
		if m.Parameters == 0 {
			for _, n := range st.Parameters {
				m.Parameters += n
			}
		}
	}

	configURL := c.endpoint + "/" + m.ID + "/resolve/" + m.SHA + "/config.json"
	body, err = c.get(ctx, configURL, id, revision, m.SHA, stepConfig, maxConfigBytes)
	if err != nil {
		return nil, err
	}
	if err := parseConfig(m, body); err != nil {
		e := newError(ErrUnsupportedModel, id, revision, AttributeID,
			"model %q at commit %s cannot be sized: %v. vLLM serves transformer language models whose config.json gives hidden_size, num_hidden_layers and num_attention_heads",
			id, m.SHA, err)
		e.URL, e.Err = configURL, err
		return nil, e
	}
	return m, nil
}

func (c *Client) invalid(id, revision, u, format string, args ...any) *Error {
	e := newError(ErrInvalidResponse, id, revision, "",
		"the Hugging Face Hub at %s answered the lookup of model %q with something unexpected: %s; if HF_ENDPOINT points at a mirror, check that it serves the Hub API",
		c.endpoint, id, fmt.Sprintf(format, args...))
	e.URL = u
	return e
}

// get fetches u and returns the body of a 2xx answer, or an *Error.
func (c *Client) get(ctx context.Context, u, id, revision, sha string, step requestStep, limit int64) ([]byte, error) {
	req, err := retryablehttp.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("building request for model %q: %w", id, err)
	}
	req.Header.Set("User-Agent", c.userAgent)
	req.Header.Set("Accept", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("resolving model %q at revision %q: %w", id, revision, ctx.Err())
		}
		if isContextError(err) {
			return nil, fmt.Errorf("resolving model %q at revision %q: %w", id, revision, err)
		}
		var ex *exhausted
		if errors.As(err, &ex) && ex.status != 0 {
			return nil, c.hubError(id, revision, sha, step, ex.answer(u))
		}
		attempts := 1
		if ex != nil {
			attempts = ex.attempts
		}
		e := newError(ErrUnavailable, id, revision, "",
			"could not reach the Hugging Face Hub at %s after %d attempt(s) to look up model %q: %v. Check network access from where Terraform runs, or HF_ENDPOINT if you use a mirror",
			c.endpoint, attempts, id, errors.Unwrap(err))
		e.URL, e.Err = u, err
		return nil, e
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
		if err != nil {
			e := newError(ErrUnavailable, id, revision, "",
				"reading the Hugging Face Hub's answer for model %q failed: %v; run again", id, err)
			e.URL, e.Err = u, err
			return nil, e
		}
		if int64(len(body)) > limit {
			return nil, c.invalid(id, revision, u, "the answer is larger than %d bytes", limit)
		}
		return body, nil
	}
	a := readAnswer(resp, u)
	a.attempts = 1
	return nil, c.hubError(id, revision, sha, step, a)
}

func readAnswer(resp *http.Response, u string) answer {
	a := answer{
		url:        u,
		status:     resp.StatusCode,
		code:       resp.Header.Get("X-Error-Code"),
		message:    resp.Header.Get("X-Error-Message"),
		retryAfter: waitFromHeaders(resp.Header, time.Now()),
	}
	if a.message == "" && resp.Body != nil {
		var body struct {
			Error string `json:"error"`
		}
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		if json.Unmarshal(b, &body) == nil {
			a.message = body.Error
		}
	}
	return a
}

// exhausted is what giveUp returns when go-retryablehttp stops: the last status and headers (if
// any) and the number of attempts.
type exhausted struct {
	status   int
	header   http.Header
	message  string
	attempts int
	err      error
}

func (e *exhausted) Error() string {
	if e.err != nil {
		return fmt.Sprintf("giving up after %d attempt(s): %v", e.attempts, e.err)
	}
	return fmt.Sprintf("giving up after %d attempt(s): HTTP %d", e.attempts, e.status)
}

func (e *exhausted) Unwrap() error { return e.err }

func (e *exhausted) answer(u string) answer {
	return answer{
		url:        u,
		status:     e.status,
		code:       e.header.Get("X-Error-Code"),
		message:    e.message,
		retryAfter: waitFromHeaders(e.header, time.Now()),
		attempts:   e.attempts,
	}
}

// giveUp is the go-retryablehttp ErrorHandler: it keeps what the last answer said.
func giveUp(resp *http.Response, err error, attempts int) (*http.Response, error) {
	ex := &exhausted{attempts: attempts, err: err}
	if resp != nil {
		a := readAnswer(resp, "")
		resp.Body.Close()
		ex.status, ex.header, ex.message = resp.StatusCode, resp.Header.Clone(), a.message
	}
	return nil, ex
}

// hubWaitHint is the Hub's wait request for httpretry's backoff.
func hubWaitHint(h http.Header, now time.Time) (time.Duration, bool) {
	d := waitFromHeaders(h, now)
	return d, d > 0
}

var rateLimitReset = regexp.MustCompile(`(?:^|[;,\s])t=(\d+)`)

// waitFromHeaders reads how long the Hub asks to wait: Retry-After (seconds or an HTTP date),
// else the reset "t=" of the IETF RateLimit header the Hub sends with 429s.
func waitFromHeaders(h http.Header, now time.Time) time.Duration {
	if v := strings.TrimSpace(h.Get("Retry-After")); v != "" {
		if s, err := strconv.ParseInt(v, 10, 64); err == nil && s >= 0 {
			return time.Duration(s) * time.Second
		}
		if t, err := http.ParseTime(v); err == nil && t.After(now) {
			return t.Sub(now)
		}
	}
	if m := rateLimitReset.FindStringSubmatch(h.Get("RateLimit")); m != nil {
		if s, err := strconv.ParseInt(m[1], 10, 64); err == nil {
			return time.Duration(s) * time.Second
		}
	}
	return 0
}
