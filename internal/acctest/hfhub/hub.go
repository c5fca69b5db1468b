// Package hfhub is an in-process stand-in for the Hugging Face Hub: the two calls the provider
// makes (model metadata at a revision, and a file at a revision) with the Hub's error behaviour,
// serving fixtures that carry the real config.json values of the models in
// ../shared/contracts/hf-hub-api.md. Tests start it with Start; the local demo lab can mount New's
// handler on a listener of its own and point HF_ENDPOINT at it.
//
// Behaviour reproduced from huggingface_hub's hf_raise_for_status and the Hub itself:
//   - GET /api/models/{id}[/revision/{rev}] answers the metadata JSON with "sha" set to the commit
//     the revision resolves to; the revision is URL-encoded, slashes included (refs%2Fpr%2F3).
//   - GET|HEAD /{id}/resolve/{rev}/{file} answers the file with X-Repo-Commit and ETag.
//   - A missing repository, or a private one the token cannot read, answers 401 without a token and
//     404 with one, both with X-Error-Code: RepoNotFound.
//   - A gated repository's metadata is public, its files answer X-Error-Code: GatedRepo, 401
//     without a token and 403 with a token that has not been granted access.
//   - An unknown revision answers 404 RevisionNotFound; a missing file 404 EntryNotFound.
//   - An unknown token answers 401 with X-Error-Message "Invalid credentials in Authorization header".
//   - Injected failures (FailNext) answer 429 or 5xx, with Retry-After when asked.
//
// Fixture commit shas are made up (sha1 of the id and ref), not the Hub's.
package hfhub

import (
	"crypto/sha1"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Ids of the embedded fixtures.
const (
	Llama8BID   = "meta-llama/Llama-3.1-8B-Instruct"   // gated (manual), llama3.1
	Llama70BID  = "meta-llama/Llama-3.1-70B-Instruct"  // gated (manual), llama3.1
	Mistral7BID = "mistralai/Mistral-7B-Instruct-v0.3" // gated (auto), apache-2.0, sliding_window null
	Gemma27BID  = "google/gemma-2-27b-it"              // gated (manual), gemma, alternating sliding window 4096
	Qwen72BID   = "Qwen/Qwen2.5-72B-Instruct"          // open, licence "other" named "qwen"
	Qwen7BID    = "Qwen/Qwen2.5-7B-Instruct"           // open, apache-2.0; refs "refs/pr/3" and "v1.0" too
	Qwen7BAWQID = "Qwen/Qwen2.5-7B-Instruct-AWQ"       // open, AWQ 4-bit group 128 (parameter split computed from the shape)
	PrivateID   = "inferstack-test/private-llm"        // private: visible to GrantedToken only
	GGUFOnlyID  = "inferstack-test/gguf-only"          // no config.json: resolve answers EntryNotFound
)

// Tokens every Handler accepts. GrantedToken's account has accepted every licence and can read
// the private fixture; UngrantedToken's account is valid but has been granted nothing.
const (
	GrantedToken   = "hf_inferstackTestGrantedToken0000000"
	UngrantedToken = "hf_inferstackTestUngrantedToken00000"
)

//go:embed fixtures
var fixtureFS embed.FS

// Model is one repository the stand-in serves.
type Model struct {
	ID       string
	SHA      string            // commit "main" resolves to
	Refs     map[string]string // other branches, tags and PR refs, to their commit shas
	Private  bool              // only granted tokens see it
	Gated    string            // "", "auto" or "manual": files need a granted token
	Disabled bool              // answers 403 "Access to this resource is disabled."
	// Info is the metadata JSON object (safetensors, cardData, tags...). id, sha, private, gated
	// and disabled are overwritten from the fields above when served.
	Info map[string]any
	// Files holds the files served under /{id}/resolve/{rev}/{name}, e.g. "config.json".
	Files map[string][]byte
}

// Option configures a Handler.
type Option func(*Handler)

// WithModel adds (or replaces) a repository.
func WithModel(m Model) Option { return func(h *Handler) { h.AddModel(m) } }

// WithoutFixtures starts with no repositories at all.
func WithoutFixtures() Option { return func(h *Handler) { h.models = map[string]*Model{} } }

// WithToken registers another valid token; granted gives its account access to gated and
// private repositories.
func WithToken(token string, granted bool) Option {
	return func(h *Handler) { h.tokens[token] = granted }
}

// RequireToken makes every request without a valid token answer 401 RepoNotFound, like a mirror
// that is closed to anonymous users.
func RequireToken() Option { return func(h *Handler) { h.requireToken = true } }

// WithLatency delays every answer, to let concurrent requests overlap in tests.
func WithLatency(d time.Duration) Option { return func(h *Handler) { h.latency = d } }

// Handler serves the stand-in Hub. It is safe for concurrent use.
type Handler struct {
	mu           sync.Mutex
	models       map[string]*Model // by lower-cased id: the Hub matches ids case-insensitively
	tokens       map[string]bool
	requireToken bool
	latency      time.Duration
	requests     map[string]int // by escaped path
	total        int
	failures     []failure
}

type failure struct {
	status     int
	retryAfter string
}

// New builds a Handler holding the embedded fixtures, then applies opts.
func New(opts ...Option) *Handler {
	h := &Handler{
		models:   map[string]*Model{},
		tokens:   map[string]bool{GrantedToken: true, UngrantedToken: false},
		requests: map[string]int{},
	}
	for _, m := range Fixtures() {
		h.AddModel(m)
	}
	for _, o := range opts {
		o(h)
	}
	return h
}

// Fixtures returns the embedded repositories.
func Fixtures() []Model {
	var out []Model
	err := fs.WalkDir(fixtureFS, "fixtures", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() != "info.json" {
			return err
		}
		dir := path.Dir(p)
		m, err := loadFixture(dir, strings.TrimPrefix(dir, "fixtures/"))
		if err != nil {
			return err
		}
		out = append(out, m)
		return nil
	})
	if err != nil {
		panic(fmt.Sprintf("hfhub: reading embedded fixtures: %v", err))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func loadFixture(dir, id string) (Model, error) {
	m := Model{ID: id, Files: map[string][]byte{}}
	entries, err := fixtureFS.ReadDir(dir)
	if err != nil {
		return m, err
	}
	for _, e := range entries {
		b, err := fixtureFS.ReadFile(dir + "/" + e.Name())
		if err != nil {
			return m, err
		}
		switch e.Name() {
		case "info.json":
			if err := json.Unmarshal(b, &m.Info); err != nil {
				return m, fmt.Errorf("%s/info.json: %w", dir, err)
			}
		case "refs.json":
			if err := json.Unmarshal(b, &m.Refs); err != nil {
				return m, fmt.Errorf("%s/refs.json: %w", dir, err)
			}
		default:
			m.Files[e.Name()] = b
		}
	}
	m.SHA, _ = m.Info["sha"].(string)
	m.Private, _ = m.Info["private"].(bool)
	m.Gated, _ = m.Info["gated"].(string)
	m.Disabled, _ = m.Info["disabled"].(bool)
	return m, nil
}

// AddModel adds (or replaces) a repository. A missing SHA is made up from the id.
func (h *Handler) AddModel(m Model) {
	if m.SHA == "" {
		m.SHA = FakeSHA(m.ID, "main")
	}
	m.Refs = maps.Clone(m.Refs)
	m.Info = maps.Clone(m.Info)
	m.Files = maps.Clone(m.Files)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.models[strings.ToLower(m.ID)] = &m
}

// FakeSHA is the made-up commit sha of id at ref, as the fixtures use them.
func FakeSHA(id, ref string) string {
	s := sha1.Sum([]byte("inferstack-hfhub:" + id + ":" + ref))
	return hex.EncodeToString(s[:])
}

// SHA returns the commit rev resolves to in repository id, or "" when either is unknown.
func (h *Handler) SHA(id, rev string) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	m := h.models[strings.ToLower(id)]
	if m == nil {
		return ""
	}
	return m.resolve(rev)
}

// FailNext makes the next n requests (any path) answer status, with a Retry-After header when
// retryAfter is not "" (seconds, or an HTTP date). Calls queue up.
func (h *Handler) FailNext(n int, status int, retryAfter string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for range n {
		h.failures = append(h.failures, failure{status: status, retryAfter: retryAfter})
	}
}

// Requests is the number of requests received for an escaped path, e.g.
// "/api/models/Qwen/Qwen2.5-7B-Instruct/revision/main" (injected failures included).
func (h *Handler) Requests(escapedPath string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.requests[escapedPath]
}

// TotalRequests is the number of requests received on every path.
func (h *Handler) TotalRequests() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.total
}

// ResetCounts zeroes the request counts and drops pending injected failures.
func (h *Handler) ResetCounts() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.requests, h.total, h.failures = map[string]int{}, 0, nil
}

func (m *Model) resolve(rev string) string {
	switch {
	case rev == "main":
		return m.SHA
	case m.Refs[rev] != "":
		return m.Refs[rev]
	case rev == m.SHA:
		return rev
	}
	for _, s := range m.Refs {
		if s == rev {
			return rev
		}
	}
	return ""
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.EscapedPath()
	h.mu.Lock()
	h.requests[p]++
	h.total++
	var fail *failure
	if len(h.failures) > 0 {
		fail = &h.failures[0]
		h.failures = h.failures[1:]
	}
	latency := h.latency
	h.mu.Unlock()
	if latency > 0 {
		time.Sleep(latency)
	}
	if fail != nil {
		if fail.retryAfter != "" {
			w.Header().Set("Retry-After", fail.retryAfter)
			if _, err := strconv.Atoi(fail.retryAfter); err == nil && fail.status == http.StatusTooManyRequests {
				w.Header().Set("RateLimit", `"api";r=0;t=`+fail.retryAfter)
			}
		}
		writeError(w, fail.status, "", http.StatusText(fail.status))
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		writeError(w, http.StatusMethodNotAllowed, "", "method not allowed")
		return
	}

	token, hasToken := "", false
	if v := r.Header.Get("Authorization"); v != "" {
		t, ok := strings.CutPrefix(v, "Bearer ")
		h.mu.Lock()
		_, known := h.tokens[t]
		h.mu.Unlock()
		if !ok || !known {
			writeError(w, http.StatusUnauthorized, "", "Invalid credentials in Authorization header")
			return
		}
		token, hasToken = t, true
	}
	h.mu.Lock()
	granted := h.tokens[token]
	requireToken := h.requireToken
	h.mu.Unlock()
	if requireToken && !hasToken {
		writeError(w, http.StatusUnauthorized, "RepoNotFound", "Repository not found")
		return
	}

	if rest, ok := strings.CutPrefix(p, "/api/models/"); ok {
		h.serveInfo(w, r, rest, hasToken, granted)
		return
	}
	h.serveFile(w, r, strings.TrimPrefix(p, "/"), hasToken, granted)
}

// lookup finds a repository the caller may see; otherwise it answers as the Hub does.
func (h *Handler) lookup(w http.ResponseWriter, id string, hasToken, granted bool) *Model {
	h.mu.Lock()
	m := h.models[strings.ToLower(id)]
	h.mu.Unlock()
	if m == nil || (m.Private && !granted) {
		status := http.StatusUnauthorized
		if hasToken {
			status = http.StatusNotFound
		}
		writeError(w, status, "RepoNotFound", "Repository not found")
		return nil
	}
	if m.Disabled {
		writeError(w, http.StatusForbidden, "", "Access to this resource is disabled.")
		return nil
	}
	return m
}

func (h *Handler) serveInfo(w http.ResponseWriter, r *http.Request, rest string, hasToken, granted bool) {
	segs := strings.Split(rest, "/")
	rev := "main"
	switch {
	case len(segs) >= 3 && segs[len(segs)-2] == "revision":
		r, err := url.PathUnescape(segs[len(segs)-1])
		if err != nil {
			writeError(w, http.StatusBadRequest, "", "Invalid revision")
			return
		}
		rev, segs = r, segs[:len(segs)-2]
	case len(segs) > 2:
		writeError(w, http.StatusNotFound, "", "Not Found")
		return
	}
	m := h.lookup(w, strings.Join(segs, "/"), hasToken, granted)
	if m == nil {
		return
	}
	sha := m.resolve(rev)
	if sha == "" {
		writeError(w, http.StatusNotFound, "RevisionNotFound", "Invalid rev id: "+rev)
		return
	}
	info := maps.Clone(m.Info)
	if info == nil {
		info = map[string]any{}
	}
	info["id"], info["modelId"], info["sha"] = m.ID, m.ID, sha
	info["private"], info["disabled"] = m.Private, m.Disabled
	if m.Gated != "" {
		info["gated"] = m.Gated
	} else {
		info["gated"] = false
	}
	writeJSON(w, r, http.StatusOK, info)
}

func (h *Handler) serveFile(w http.ResponseWriter, r *http.Request, rest string, hasToken, granted bool) {
	// {owner}/{name}/resolve/{rev}/{file...}, or {name}/resolve/{rev}/{file...} for legacy ids.
	segs := strings.Split(rest, "/")
	at := -1
	for i := 1; i <= 2 && i < len(segs); i++ {
		if segs[i] == "resolve" {
			at = i
			break
		}
	}
	if at < 0 || len(segs) < at+3 {
		writeError(w, http.StatusNotFound, "", "Not Found")
		return
	}
	m := h.lookup(w, strings.Join(segs[:at], "/"), hasToken, granted)
	if m == nil {
		return
	}
	rev, err := url.PathUnescape(segs[at+1])
	if err != nil {
		writeError(w, http.StatusBadRequest, "", "Invalid revision")
		return
	}
	sha := m.resolve(rev)
	if sha == "" {
		writeError(w, http.StatusNotFound, "RevisionNotFound", "Invalid rev id: "+rev)
		return
	}
	if m.Gated != "" && !granted {
		if !hasToken {
			writeError(w, http.StatusUnauthorized, "GatedRepo",
				fmt.Sprintf("Access to model %s is restricted. You must have access to it and be authenticated to access it. Please log in.", m.ID))
			return
		}
		writeError(w, http.StatusForbidden, "GatedRepo",
			fmt.Sprintf("Access to model %s is restricted and you are not in the authorized list. Visit https://huggingface.co/%s to ask for access.", m.ID, m.ID))
		return
	}
	name, err := url.PathUnescape(strings.Join(segs[at+2:], "/"))
	if err != nil {
		writeError(w, http.StatusBadRequest, "", "Invalid file name")
		return
	}
	body, ok := m.Files[name]
	if !ok {
		writeError(w, http.StatusNotFound, "EntryNotFound", "Entry not found")
		return
	}
	sum := sha1.Sum(body)
	w.Header().Set("X-Repo-Commit", sha)
	w.Header().Set("ETag", `"`+hex.EncodeToString(sum[:])+`"`)
	if strings.HasSuffix(name, ".json") {
		w.Header().Set("Content-Type", "application/json")
	} else {
		w.Header().Set("Content-Type", "application/octet-stream")
	}
	w.Header().Set("Content-Length", fmt.Sprint(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

func writeError(w http.ResponseWriter, status int, code, message string) {
	if code != "" {
		w.Header().Set("X-Error-Code", code)
	}
	if message != "" {
		w.Header().Set("X-Error-Message", message)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": message})
}

func writeJSON(w http.ResponseWriter, r *http.Request, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "", err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(b)
	}
}

// Server is a Handler listening on a random 127.0.0.1 port.
type Server struct {
	*Handler
	URL string // base URL, e.g. http://127.0.0.1:40123: set HF_ENDPOINT or hf.Config.Endpoint to it
	srv *httptest.Server
}

// Start serves a new Handler on 127.0.0.1; Close stops it.
func Start(opts ...Option) *Server {
	h := New(opts...)
	srv := httptest.NewServer(h)
	return &Server{Handler: h, URL: srv.URL, srv: srv}
}

// Close stops the server and waits for requests in flight.
func (s *Server) Close() { s.srv.Close() }
