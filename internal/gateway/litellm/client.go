// Package litellm is a client of a LiteLLM proxy's model-management API; it implements
// gateway.Gateway. The endpoints and their quirks are in ../shared/contracts/litellm-model-api.md:
//
//   - Create: POST /model/new with our own stable model_info.id. The answer holds encrypted
//     params, so it is never compared with what was sent. An id that exists already (an earlier,
//     interrupted apply) is updated in place instead.
//   - Read: GET /model/info?litellm_model_id=<id>, accepting both {"data": {...}} (older LiteLLM)
//     and {"data": [{...}]} (newer). Credentials are never read back.
//   - Update: POST /model/update for litellm_params and the model name (LiteLLM merges them key by
//     key), PATCH /model/{id}/update for model_info (which /model/update does not persist). A key
//     the update drops cannot be removed by a merge, so then the deployment is deleted and created
//     again under the same id.
//   - Delete: POST /model/delete {"id"}; the 400 LiteLLM answers for an id that is gone counts as
//     deleted (unless the id belongs to a config-file model, which the API cannot delete).
//   - Fallbacks: GET, POST and DELETE /fallback[/{model}] (fallback_type "general"), LiteLLM's
//     router-level fallbacks, which need STORE_MODEL_IN_DB=True like the model writes.
//
// Requests carry "Authorization: Bearer <master key>" and a User-Agent, and go through
// go-retryablehttp: connection errors, 429 and 5xx are retried with exponential backoff, and a
// Retry-After header is honoured up to Config.RetryWaitMax. A 500 that retrying cannot fix (no
// database, STORE_MODEL_IN_DB unset, a create saved but not loaded) is not retried. Failures are
// *Error values wrapping gateway's sentinels; no secret appears in an error or a log line.
package litellm

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/hashicorp/go-cleanhttp"
	"github.com/hashicorp/go-retryablehttp"

	"github.com/inferstack/terraform-provider-inferstack/internal/gateway"
	"github.com/inferstack/terraform-provider-inferstack/internal/httpretry"
)

// Defaults for the zero values of Config (shared with every HTTP client of the provider).
const (
	DefaultRetryMax     = httpretry.DefaultRetryMax
	DefaultRetryWaitMin = httpretry.DefaultRetryWaitMin
	DefaultRetryWaitMax = httpretry.DefaultRetryWaitMax
	DefaultUserAgent    = httpretry.DefaultUserAgent
	maxBodyBytes        = 8 << 20
)

// Logger receives retry and progress messages; messages never include a secret.
type Logger = httpretry.Logger

// Config configures a Client.
type Config struct {
	// URL is the proxy's base URL, e.g. "https://llm.internal:4000" (a path prefix is kept).
	URL string
	// MasterKey is the proxy's master key, or a virtual key with the proxy_admin role.
	MasterKey string
	// CACertPEM is a PEM bundle of authorities trusted for the proxy's TLS certificate, in
	// addition to the system's. Ignored when HTTPClient is set.
	CACertPEM string
	// UserAgent names the caller, e.g. "terraform-provider-inferstack/1.2.3"; "" means DefaultUserAgent.
	UserAgent string
	// HTTPClient carries the requests; nil means a pooled client with a 60 s timeout per request.
	HTTPClient *http.Client
	// RetryMax is the number of retries after the first attempt; 0 means DefaultRetryMax, a
	// negative value disables retries.
	RetryMax int
	// RetryWaitMin and RetryWaitMax bound the exponential backoff between retries (0 means the
	// defaults). A Retry-After header is honoured up to RetryWaitMax.
	RetryWaitMin, RetryWaitMax time.Duration
	// Logger, if set, receives go-retryablehttp's request and retry messages and the client's own.
	Logger Logger
}

// Client talks to one LiteLLM proxy. It makes no request until a method is called, and is safe
// for concurrent use.
type Client struct {
	base      string
	masterKey string
	userAgent string
	http      *retryablehttp.Client
	logger    Logger
}

var _ gateway.Gateway = (*Client)(nil)

// New builds a Client without any network call. It fails on a missing or malformed URL, a
// missing key, or a CA bundle that holds no certificate.
func New(cfg Config) (*Client, error) {
	base := strings.TrimRight(cfg.URL, "/")
	u, err := url.Parse(base)
	switch {
	case base == "":
		return nil, errors.New("no gateway URL: set gateway.url (or LITELLM_URL) to the LiteLLM proxy's base URL, e.g. https://llm.internal:4000")
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "":
		return nil, fmt.Errorf("invalid gateway URL %q: want an http(s) base URL such as https://llm.internal:4000", cfg.URL)
	case u.User != nil:
		return nil, errors.New("invalid gateway URL: it must not carry credentials; set the master key instead")
	case cfg.MasterKey == "":
		return nil, errors.New("no gateway key: set gateway.master_key (or LITELLM_MASTER_KEY) to the proxy's master key")
	}

	hc := cfg.HTTPClient
	if hc == nil {
		tr := cleanhttp.DefaultPooledTransport()
		if cfg.CACertPEM != "" {
			pool, err := x509.SystemCertPool()
			if err != nil || pool == nil {
				pool = x509.NewCertPool()
			}
			if !pool.AppendCertsFromPEM([]byte(cfg.CACertPEM)) {
				return nil, errors.New("invalid gateway CA bundle: gateway.ca_cert holds no PEM certificate (want one or more -----BEGIN CERTIFICATE----- blocks)")
			}
			tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
		}
		hc = &http.Client{Transport: tr, Timeout: httpretry.DefaultTimeout}
	}
	rc := httpretry.New(httpretry.Options{
		HTTPClient:   hc,
		RetryMax:     cfg.RetryMax,
		RetryWaitMin: cfg.RetryWaitMin,
		RetryWaitMax: cfg.RetryWaitMax,
		Logger:       cfg.Logger,
		CheckRetry:   retryPolicy,
		ErrorHandler: giveUp,
	})
	ua := cfg.UserAgent
	if ua == "" {
		ua = DefaultUserAgent
	}
	return &Client{base: base, masterKey: cfg.MasterKey, userAgent: ua, http: rc, logger: cfg.Logger}, nil
}

// URL is the proxy's base URL the Client talks to.
func (c *Client) URL() string { return c.base }

// --- deployments -----------------------------------------------------------------------------

// Create registers d with POST /model/new, sending d.ID as model_info.id. When the gateway
// refuses because a deployment with that id exists already, that deployment is brought to d.
func (c *Client) Create(ctx context.Context, d gateway.Deployment) error {
	err := c.create(ctx, d)
	var e *Error
	if err == nil || !errors.As(err, &e) || e.StatusCode == 0 ||
		errors.Is(err, gateway.ErrUnauthorized) || errors.Is(err, gateway.ErrForbidden) ||
		errors.Is(err, gateway.ErrNoDatabase) || errors.Is(err, gateway.ErrUnavailable) {
		return err
	}
	// Perhaps the id is taken (LiteLLM answers a unique-constraint failure as a 400): look.
	existing, rerr := c.Read(ctx, d.ID)
	if rerr != nil {
		return err
	}
	if existing.FromConfig {
		return &Error{Op: "creating deployment", Subject: d.ID, Method: http.MethodPost, URL: c.base + "/model/new",
			Message: "a deployment with this id is defined in the proxy's config file", Kind: gateway.ErrConfigModel}
	}
	c.log("deployment exists already; updating it in place", "id", d.ID)
	return c.Update(ctx, *existing, d)
}

func (c *Client) create(ctx context.Context, d gateway.Deployment) error {
	body := map[string]any{
		"model_name":     d.ModelName,
		"litellm_params": gateway.ParamMap(d.LiteLLMParams()),
		"model_info":     gateway.ParamMap(d.ModelInfo()),
	}
	_, err := c.do(ctx, request{op: "creating deployment", subject: d.ID, method: http.MethodPost,
		path: "/model/new", body: body, secrets: secretsOf(d)})
	return err
}

// Read returns deployment id as GET /model/info?litellm_model_id= shows it, without secrets.
func (c *Client) Read(ctx context.Context, id string) (*gateway.Deployment, error) {
	req := request{op: "reading deployment", subject: id, method: http.MethodGet, path: "/model/info",
		query: url.Values{"litellm_model_id": {id}}}
	body, err := c.do(ctx, req)
	if err != nil {
		return nil, err
	}
	var env struct {
		Data json.RawMessage `json:"data"`
	}
	if err := unmarshal(body, &env); err != nil {
		return nil, c.invalid(req, err)
	}
	var items []infoItem
	switch raw := bytes.TrimSpace(env.Data); {
	case len(raw) == 0 || bytes.Equal(raw, []byte("null")):
	case raw[0] == '[':
		if err := unmarshal(raw, &items); err != nil {
			return nil, c.invalid(req, err)
		}
	case raw[0] == '{':
		var item infoItem
		if err := unmarshal(raw, &item); err != nil {
			return nil, c.invalid(req, err)
		}
		items = []infoItem{item}
	default:
		return nil, c.invalid(req, fmt.Errorf("data is neither an object nor a list"))
	}
	for _, it := range items {
		got, _ := it.ModelInfo["id"].(string)
		if got == id || (got == "" && len(items) == 1) {
			d := gateway.ParseDeployment(it.ModelName, it.LiteLLMParams, it.ModelInfo)
			d.ID = id
			return &d, nil
		}
	}
	return nil, c.notFound(req, 200)
}

type infoItem struct {
	ModelName     string         `json:"model_name"`
	LiteLLMParams map[string]any `json:"litellm_params"`
	ModelInfo     map[string]any `json:"model_info"`
}

// Update brings deployment prior.ID from prior to desired, sending only what changed.
func (c *Client) Update(ctx context.Context, prior, desired gateway.Deployment) error {
	if prior.ID != desired.ID {
		return fmt.Errorf("updating deployment %s: the id cannot change to %s", prior.ID, desired.ID)
	}
	ch := gateway.Diff(prior, desired)
	if len(ch.Cleared) > 0 {
		// LiteLLM merges updates key by key and keeps what is omitted or null: only a new
		// deployment drops a key.
		c.log("re-creating deployment to remove settings a merging update cannot clear", "id", desired.ID, "keys", strings.Join(ch.Cleared, ","))
		if err := c.Delete(ctx, desired.ID); err != nil {
			return err
		}
		return c.create(ctx, desired)
	}
	if ch.Params {
		body := map[string]any{
			"model_name":     desired.ModelName,
			"litellm_params": gateway.ParamMap(desired.LiteLLMParams()),
			"model_info":     map[string]any{"id": desired.ID},
		}
		if _, err := c.do(ctx, request{op: "updating deployment", subject: desired.ID, method: http.MethodPost,
			path: "/model/update", body: body, secrets: secretsOf(desired)}); err != nil {
			return err
		}
	}
	if ch.Info {
		body := map[string]any{"model_info": gateway.ParamMap(desired.ModelInfo())}
		if _, err := c.do(ctx, request{op: "updating deployment", subject: desired.ID, method: http.MethodPatch,
			path: "/model/" + url.PathEscape(desired.ID) + "/update", body: body}); err != nil {
			return err
		}
	}
	return nil
}

// Delete removes deployment id with POST /model/delete; an id that is gone is not an error.
func (c *Client) Delete(ctx context.Context, id string) error {
	_, err := c.do(ctx, request{op: "deleting deployment", subject: id, method: http.MethodPost,
		path: "/model/delete", body: map[string]any{"id": id}})
	if err == nil || !gateway.IsNotFound(err) {
		return err
	}
	// LiteLLM looks only in its database: a config-file model answers the same 400.
	d, rerr := c.Read(ctx, id)
	if rerr == nil && d.FromConfig {
		var e *Error
		errors.As(err, &e)
		e.Kind = gateway.ErrConfigModel
		return e
	}
	return nil
}

// --- fallbacks -------------------------------------------------------------------------------

const fallbackType = "general"

// Fallbacks returns the general fallbacks the router holds for modelName (nil when none).
func (c *Client) Fallbacks(ctx context.Context, modelName string) ([]string, error) {
	req := request{op: "reading fallbacks of model", subject: modelName, method: http.MethodGet,
		path: "/fallback/" + url.PathEscape(modelName), query: url.Values{"fallback_type": {fallbackType}}}
	if err := c.fallbackAddressable(req); err != nil {
		return nil, err
	}
	body, err := c.do(ctx, req)
	if gateway.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var v struct {
		FallbackModels []string `json:"fallback_models"`
	}
	if err := unmarshal(body, &v); err != nil {
		return nil, c.invalid(req, err)
	}
	if len(v.FallbackModels) == 0 {
		return nil, nil
	}
	return v.FallbackModels, nil
}

// SetFallbacks sets the general fallbacks of modelName (POST /fallback), or removes them when
// fallbacks is empty (DELETE /fallback/{model}; none to remove is not an error). LiteLLM only
// accepts model names its router knows, for the model and for each fallback.
func (c *Client) SetFallbacks(ctx context.Context, modelName string, fallbacks []string) error {
	if len(fallbacks) == 0 {
		req := request{op: "removing fallbacks of model", subject: modelName, method: http.MethodDelete,
			path: "/fallback/" + url.PathEscape(modelName), query: url.Values{"fallback_type": {fallbackType}}}
		if err := c.fallbackAddressable(req); err != nil {
			return err
		}
		if _, err := c.do(ctx, req); err != nil && !gateway.IsNotFound(err) {
			return err
		}
		return nil
	}
	body := map[string]any{"model": modelName, "fallback_models": fallbacks, "fallback_type": fallbackType}
	req := request{op: "setting fallbacks of model", subject: modelName, method: http.MethodPost, path: "/fallback", body: body}
	for attempt := 0; ; attempt++ {
		_, err := c.do(ctx, req)
		if !routerLag(err) {
			return err
		}
		if attempt >= c.http.RetryMax {
			// The names may be wrong rather than late.
			var e *Error
			errors.As(err, &e)
			e.Kind = gateway.ErrInvalid
			e.Attempts = attempt + 1
			e.Message += "; the model names must be served by the proxy (a route created in this apply reaches other proxy instances at their next database poll: run again shortly)"
			return e
		}
		wait := httpretry.Backoff(httpretry.RetryAfter, c.http.RetryWaitMin, c.http.RetryWaitMax, attempt, nil)
		c.log("the proxy's router does not know a model of the fallback setting yet; retrying", "model", modelName, "wait", wait.String())
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%s %s: %w", req.op, modelName, ctx.Err())
		case <-t.C:
		}
	}
}

// routerLag reports whether err is LiteLLM's answer to a fallback setting naming a model its
// router does not know: a typo, or a model another proxy instance added moments ago.
func routerLag(err error) bool {
	var e *Error
	if !errors.As(err, &e) {
		return false
	}
	return e.StatusCode == http.StatusNotFound && strings.Contains(e.Message, "not found in router") ||
		e.StatusCode == http.StatusBadRequest && strings.Contains(e.Message, "Invalid fallback models")
}

// fallbackAddressable rejects model names LiteLLM's /fallback/{model} route cannot match.
func (c *Client) fallbackAddressable(req request) error {
	if !strings.Contains(req.subject, "/") {
		return nil
	}
	return &Error{Op: req.op, Subject: req.subject, Method: req.method, URL: c.base + req.path, Kind: gateway.ErrUnsupported,
		Message: "LiteLLM's /fallback/{model} endpoints cannot address a model name that contains '/'; rename the model or manage its fallbacks in the proxy's config file"}
}

// --- requests --------------------------------------------------------------------------------

type request struct {
	op, subject  string
	method, path string
	query        url.Values
	body         any
	// secrets are values the body carries, blanked out of anything the gateway echoes.
	secrets []string
}

func secretsOf(d gateway.Deployment) []string {
	var out []string
	for _, p := range d.LiteLLMParams() {
		if s, ok := p.Value.(string); ok && p.Secret {
			out = append(out, s)
		}
	}
	return out
}

func (r request) url(base string) string {
	u := base + r.path
	if len(r.query) > 0 {
		u += "?" + r.query.Encode()
	}
	return u
}

// do sends r and returns the body of a 2xx answer, or an *Error.
func (c *Client) do(ctx context.Context, r request) ([]byte, error) {
	var payload any
	if r.body != nil {
		b, err := json.Marshal(r.body)
		if err != nil {
			return nil, fmt.Errorf("%s %s: encoding the request: %w", r.op, r.subject, err)
		}
		payload = b
	}
	u := r.url(c.base)
	req, err := retryablehttp.NewRequestWithContext(ctx, r.method, u, payload)
	if err != nil {
		return nil, fmt.Errorf("%s %s: building the request: %w", r.op, r.subject, err)
	}
	req.Header.Set("Authorization", "Bearer "+c.masterKey)
	req.Header.Set("User-Agent", c.userAgent)
	req.Header.Set("Accept", "application/json")
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%s %s: %w", r.op, r.subject, ctx.Err())
		}
		e := &Error{Op: r.op, Subject: r.subject, Method: r.method, URL: u, Attempts: 1}
		var ex *exhausted
		if errors.As(err, &ex) {
			e.Attempts = ex.attempts
			if ex.status != 0 {
				e.StatusCode, e.Message = ex.status, c.redact(messageOf(ex.body), r.secrets)
				e.Kind = kindOf(ex.status, e.Message)
				return nil, e
			}
			err = ex.err
		}
		// The message names the URL already: keep the cause without url.Error's copy of it.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		e.Err, e.Kind = err, gateway.ErrUnavailable
		return nil, e
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBodyBytes))
	if err != nil {
		return nil, &Error{Op: r.op, Subject: r.subject, Method: r.method, URL: u, Attempts: 1,
			Err: err, Kind: gateway.ErrUnavailable, Message: "reading the answer failed"}
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return body, nil
	}
	msg := c.redact(messageOf(body), r.secrets)
	return nil, &Error{Op: r.op, Subject: r.subject, Method: r.method, URL: u, Attempts: 1,
		StatusCode: resp.StatusCode, Message: msg, Kind: kindOf(resp.StatusCode, msg)}
}

func (c *Client) notFound(r request, status int) error {
	return &Error{Op: r.op, Subject: r.subject, Method: r.method, URL: r.url(c.base), Attempts: 1,
		StatusCode: status, Message: "the answer holds no deployment with this id", Kind: gateway.ErrNotFound}
}

func (c *Client) invalid(r request, err error) error {
	return &Error{Op: r.op, Subject: r.subject, Method: r.method, URL: r.url(c.base), Attempts: 1,
		Message: "the gateway's answer cannot be read: " + err.Error() + "; is the URL a LiteLLM proxy?", Kind: gateway.ErrInvalid}
}

// redact blanks the master key and the request's secrets out of s.
func (c *Client) redact(s string, secrets []string) string {
	for _, v := range append([]string{c.masterKey}, secrets...) {
		if len(v) >= 4 {
			s = strings.ReplaceAll(s, v, "<redacted>")
		}
	}
	return s
}

func (c *Client) log(msg string, kv ...any) {
	if c.logger != nil {
		c.logger.Info(msg, kv...)
	}
}

func unmarshal(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	return dec.Decode(v)
}

// --- retries ---------------------------------------------------------------------------------

// permanentMarkers are parts of 5xx answers that retrying cannot fix.
var permanentMarkers = []string{"No DB Connected", "db_not_connected_error", "STORE_MODEL_IN_DB", "Model create was saved to the database"}

// retryPolicy is go-retryablehttp's default (connection errors, 429, 5xx but 501; never TLS
// certificate errors), except for 5xx answers that say retrying cannot help.
func retryPolicy(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	if err == nil && resp != nil && resp.StatusCode >= 500 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		resp.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(b), resp.Body), resp.Body}
		for _, m := range permanentMarkers {
			if bytes.Contains(b, []byte(m)) {
				return false, nil
			}
		}
	}
	return retryablehttp.DefaultRetryPolicy(ctx, resp, err)
}

// exhausted is what giveUp returns when go-retryablehttp stops: the last answer (if any) and
// the number of attempts.
type exhausted struct {
	status   int
	body     []byte
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

// giveUp is the go-retryablehttp ErrorHandler: it keeps what the last answer said.
func giveUp(resp *http.Response, err error, attempts int) (*http.Response, error) {
	ex := &exhausted{attempts: attempts, err: err}
	if resp != nil {
		ex.status = resp.StatusCode
		ex.body, _ = io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
	}
	return nil, ex
}
