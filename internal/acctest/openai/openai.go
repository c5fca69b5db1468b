// Package openai is a small stand-in for the OpenAI-compatible HTTP server of vLLM
// (`vllm serve`), for tests on machines without a GPU.
//
// It answers the routes the provider, the node script and the gateway use, in the shapes vLLM
// answers them (see ../shared/contracts/vllm-serve-args.json, blocks "server" and "auth"):
//
//   - GET /health: 503 until ReadyAfter has passed since the handler was made, then 200 with an
//     empty body. Never 200 when Options.NeverReady is set.
//   - GET /version, GET /metrics: unauthenticated, like vLLM. /metrics has vLLM's metric names,
//     types, labels and buckets in the Prometheus text format (metrics.go), counting the requests
//     the stand-in serves; Options.LegacyMetricNames exports the names of older vLLM releases.
//   - GET /v1/models: {"object":"list","data":[{"id":...,"object":"model","owned_by":"vllm",...}]},
//     one card per served model name; the first name is the base model.
//   - POST /v1/chat/completions (streaming too) and POST /v1/completions: deterministic answers
//     that echo the last user message (or the prompt), with a usage block counting words as tokens.
//
// Every path under /v1, /v2 and /inference needs `Authorization: Bearer <APIKey>` when APIKey is
// set (the scheme is case-insensitive, the key compared in constant time); a missing or wrong key
// is answered 401 {"error":"Unauthorized"}, as vLLM's AuthenticationMiddleware does. Before the
// server is ready, inference routes answer 503 (vLLM does not serve HTTP before the model is
// loaded at all; a 503 is what a waiter treats the same way, and it keeps tests fast).
//
// The command internal/acctest/cmd/vllm-standin wraps this handler in a binary that takes the
// arguments of `vllm serve`; the sshlab package starts that binary from its `docker run` shim.
package openai

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Version is what GET /version reports.
const Version = "0.0.0+inferstack.standin"

// DefaultModel is the model vLLM serves when none is named (the default of `--model`).
const DefaultModel = "Qwen/Qwen3-0.6B"

// Options configures a stand-in server.
type Options struct {
	// Model is the model path or Hugging Face repository id (vLLM's positional model tag). It is
	// the "root" of every model card, and the model id when ServedModelNames is empty.
	// Default DefaultModel.
	Model string
	// ServedModelNames are the names clients send (vLLM's --served-model-name); the first is the
	// base model id. Default: Model.
	ServedModelNames []string
	// APIKey, when set, is required as a Bearer token on /v1, /v2 and /inference.
	APIKey string
	// ReadyAfter is how long after NewHandler /health keeps answering 503.
	ReadyAfter time.Duration
	// NeverReady keeps /health at 503 for ever (a model that never finishes loading).
	NeverReady bool
	// MaxModelLen is the context length reported in /v1/models. Default 4096.
	MaxModelLen int
	// LegacyMetricNames exports vllm:gpu_cache_usage_perc and vllm:time_per_output_token_seconds
	// (vLLM before 0.9 and 0.11) in place of vllm:kv_cache_usage_perc and
	// vllm:inter_token_latency_seconds.
	LegacyMetricNames bool
}

// ModelNames returns the served model names after defaults: ServedModelNames, else Model, else
// DefaultModel.
func (o Options) ModelNames() []string {
	if len(o.ServedModelNames) > 0 {
		return append([]string(nil), o.ServedModelNames...)
	}
	return []string{o.model()}
}

func (o Options) model() string {
	if o.Model != "" {
		return o.Model
	}
	return DefaultModel
}

type handler struct {
	opts    Options
	names   []string
	keyHash [sha256.Size]byte
	started time.Time
	created int64
	stats   *serverStats
	mux     *http.ServeMux
}

// NewHandler returns the stand-in's HTTP handler. The readiness clock starts now.
func NewHandler(opts Options) http.Handler {
	if opts.MaxModelLen <= 0 {
		opts.MaxModelLen = 4096
	}
	h := &handler{
		opts:    opts,
		names:   opts.ModelNames(),
		keyHash: sha256.Sum256([]byte(opts.APIKey)),
		started: time.Now(),
		stats:   newServerStats(),
	}
	h.created = h.started.Unix()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", h.health)
	mux.HandleFunc("GET /version", h.version)
	mux.HandleFunc("GET /metrics", h.metrics)
	mux.HandleFunc("GET /v1/models", h.ready(h.models))
	mux.HandleFunc("POST /v1/chat/completions", h.ready(h.chatCompletions))
	mux.HandleFunc("POST /v1/completions", h.ready(h.completions))
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusNotFound, map[string]string{"detail": "Not Found"})
	})
	h.mux = mux
	return h
}

// guardedPrefixes are the paths vLLM's AuthenticationMiddleware protects.
var guardedPrefixes = []string{"/v1", "/v2", "/inference"}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.opts.APIKey != "" && r.Method != http.MethodOptions && guarded(r.URL.Path) && !h.authorized(r) {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "Unauthorized"})
		return
	}
	h.mux.ServeHTTP(w, r)
}

func guarded(path string) bool {
	for _, p := range guardedPrefixes {
		if path == p || strings.HasPrefix(path, p+"/") {
			return true
		}
	}
	return false
}

func (h *handler) authorized(r *http.Request) bool {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "bearer") {
		return false
	}
	sum := sha256.Sum256([]byte(strings.TrimSpace(token)))
	return subtle.ConstantTimeCompare(sum[:], h.keyHash[:]) == 1
}

func (h *handler) isReady() bool {
	return !h.opts.NeverReady && time.Since(h.started) >= h.opts.ReadyAfter
}

func (h *handler) health(w http.ResponseWriter, _ *http.Request) {
	if !h.isReady() {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	w.WriteHeader(http.StatusOK)
}

func (h *handler) ready(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !h.isReady() {
			writeError(w, http.StatusServiceUnavailable, "ServiceUnavailableError", "the model is still loading", "")
			return
		}
		next(w, r)
	}
}

func (h *handler) version(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"version": Version})
}

func (h *handler) metrics(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	names := currentNames
	if h.opts.LegacyMetricNames {
		names = legacyNames
	}
	h.stats.write(w, h.names[0], h.opts.MaxModelLen, names)
}

type modelCard struct {
	ID          string       `json:"id"`
	Object      string       `json:"object"`
	Created     int64        `json:"created"`
	OwnedBy     string       `json:"owned_by"`
	Root        string       `json:"root"`
	Parent      *string      `json:"parent"`
	MaxModelLen int          `json:"max_model_len"`
	Permission  []permission `json:"permission"`
}

type permission struct {
	ID                 string  `json:"id"`
	Object             string  `json:"object"`
	Created            int64   `json:"created"`
	AllowCreateEngine  bool    `json:"allow_create_engine"`
	AllowSampling      bool    `json:"allow_sampling"`
	AllowLogprobs      bool    `json:"allow_logprobs"`
	AllowSearchIndices bool    `json:"allow_search_indices"`
	AllowView          bool    `json:"allow_view"`
	AllowFineTuning    bool    `json:"allow_fine_tuning"`
	Organization       string  `json:"organization"`
	Group              *string `json:"group"`
	IsBlocking         bool    `json:"is_blocking"`
}

func (h *handler) models(w http.ResponseWriter, _ *http.Request) {
	cards := make([]modelCard, 0, len(h.names))
	for _, name := range h.names {
		cards = append(cards, modelCard{
			ID:          name,
			Object:      "model",
			Created:     h.created,
			OwnedBy:     "vllm",
			Root:        h.opts.model(),
			MaxModelLen: h.opts.MaxModelLen,
			Permission: []permission{{
				ID:                 "modelperm-" + randomID(),
				Object:             "model_permission",
				Created:            h.created,
				AllowSampling:      true,
				AllowLogprobs:      true,
				AllowView:          true,
				Organization:       "*",
				AllowSearchIndices: false,
			}},
		})
	}
	writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": cards})
}

// servedModel checks the requested model name; an empty name means the base model, as in vLLM.
func (h *handler) servedModel(w http.ResponseWriter, name string) (string, bool) {
	if name == "" {
		return h.names[0], true
	}
	for _, n := range h.names {
		if n == name {
			return n, true
		}
	}
	writeError(w, http.StatusNotFound, "NotFoundError", fmt.Sprintf("The model `%s` does not exist.", name), "model")
	return "", false
}

// content is a message content: a string, or a list of parts of which the text parts count.
type content string

func (c *content) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*c = content(s)
		return nil
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	if err := json.Unmarshal(b, &parts); err != nil {
		return fmt.Errorf("content must be a string or a list of parts: %w", err)
	}
	var texts []string
	for _, p := range parts {
		if p.Type == "text" {
			texts = append(texts, p.Text)
		}
	}
	*c = content(strings.Join(texts, "\n"))
	return nil
}

type chatRequest struct {
	Model    string `json:"model"`
	Messages []struct {
		Role    string  `json:"role"`
		Content content `json:"content"`
	} `json:"messages"`
	MaxTokens           *int `json:"max_tokens"`
	MaxCompletionTokens *int `json:"max_completion_tokens"`
	Stream              bool `json:"stream"`
	StreamOptions       *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
}

type usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	TotalTokens      int `json:"total_tokens"`
	CompletionTokens int `json:"completion_tokens"`
}

func (h *handler) chatCompletions(w http.ResponseWriter, r *http.Request) {
	var req chatRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "BadRequestError", "invalid JSON body: "+err.Error(), "")
		return
	}
	model, ok := h.servedModel(w, req.Model)
	if !ok {
		return
	}
	if len(req.Messages) == 0 {
		writeError(w, http.StatusBadRequest, "BadRequestError", "messages must not be empty", "messages")
		return
	}
	prompt, last := 0, ""
	for _, m := range req.Messages {
		prompt += countTokens(string(m.Content)) + 4 // role and separators, roughly as a chat template adds
		if m.Role == "user" {
			last = string(m.Content)
		}
	}
	limit := req.MaxCompletionTokens
	if limit == nil {
		limit = req.MaxTokens
	}
	reply, finish := Reply(last, limit)
	u := usage{PromptTokens: prompt, CompletionTokens: countTokens(reply)}
	u.TotalTokens = u.PromptTokens + u.CompletionTokens
	id := "chatcmpl-" + randomID()
	created := time.Now().Unix()
	if req.Stream {
		includeUsage := req.StreamOptions != nil && req.StreamOptions.IncludeUsage
		run := h.stats.begin(u.TotalTokens)
		if !streamChat(r.Context(), w, run, id, created, model, reply, finish, u, includeUsage) {
			finish = "abort"
		}
		run.finish(finish, u)
		return
	}
	h.stats.servedAtOnce(finish, u)
	writeJSON(w, http.StatusOK, map[string]any{
		"id":      id,
		"object":  "chat.completion",
		"created": created,
		"model":   model,
		"choices": []map[string]any{{
			"index":         0,
			"message":       map[string]any{"role": "assistant", "content": reply, "tool_calls": []any{}},
			"logprobs":      nil,
			"finish_reason": finish,
			"stop_reason":   nil,
		}},
		"usage":              u,
		"prompt_logprobs":    nil,
		"kv_transfer_params": nil,
	})
}

// streamChat writes a chat completion as server-sent events, one chunk per word, then [DONE],
// noting each word as a token of run. It returns false when the client went away before the end.
func streamChat(ctx context.Context, w http.ResponseWriter, run *request, id string, created int64, model, reply, finish string, u usage, includeUsage bool) bool {
	w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	flusher, _ := w.(http.Flusher)
	send := func(v any) {
		b, err := json.Marshal(v)
		if err != nil {
			return
		}
		_, _ = fmt.Fprintf(w, "data: %s\n\n", b)
		if flusher != nil {
			flusher.Flush()
		}
	}
	chunk := func(delta map[string]any, finishReason any) map[string]any {
		c := map[string]any{
			"id":      id,
			"object":  "chat.completion.chunk",
			"created": created,
			"model":   model,
			"choices": []map[string]any{{"index": 0, "delta": delta, "logprobs": nil, "finish_reason": finishReason}},
		}
		if includeUsage {
			c["usage"] = nil
		}
		return c
	}
	send(chunk(map[string]any{"role": "assistant", "content": ""}, nil))
	words := strings.SplitAfter(reply, " ")
	for i, word := range words {
		var fr any
		if i == len(words)-1 {
			fr = finish
		}
		if ctx.Err() != nil {
			return false
		}
		send(chunk(map[string]any{"content": word}, fr))
		run.token()
	}
	if includeUsage {
		send(map[string]any{
			"id": id, "object": "chat.completion.chunk", "created": created, "model": model,
			"choices": []any{}, "usage": u,
		})
	}
	_, _ = fmt.Fprint(w, "data: [DONE]\n\n")
	if flusher != nil {
		flusher.Flush()
	}
	return true
}

// prompt is a completion prompt: a string or a list of strings (token-id prompts are refused).
type prompt []string

func (p *prompt) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*p = prompt{s}
		return nil
	}
	var list []string
	if err := json.Unmarshal(b, &list); err != nil {
		return fmt.Errorf("prompt must be a string or a list of strings: %w", err)
	}
	*p = list
	return nil
}

type completionRequest struct {
	Model     string `json:"model"`
	Prompt    prompt `json:"prompt"`
	MaxTokens *int   `json:"max_tokens"`
	Stream    bool   `json:"stream"`
}

func (h *handler) completions(w http.ResponseWriter, r *http.Request) {
	var req completionRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "BadRequestError", "invalid JSON body: "+err.Error(), "")
		return
	}
	model, ok := h.servedModel(w, req.Model)
	if !ok {
		return
	}
	if len(req.Prompt) == 0 {
		writeError(w, http.StatusBadRequest, "BadRequestError", "prompt must not be empty", "prompt")
		return
	}
	if req.Stream {
		writeError(w, http.StatusBadRequest, "BadRequestError", "the inferstack stand-in does not stream /v1/completions", "stream")
		return
	}
	var u usage
	choices := make([]map[string]any, 0, len(req.Prompt))
	for i, p := range req.Prompt {
		text, finish := Reply(p, req.MaxTokens)
		pu := usage{PromptTokens: countTokens(p), CompletionTokens: countTokens(text)}
		// vLLM serves each prompt of a batch as a request of its own.
		h.stats.servedAtOnce(finish, pu)
		u.PromptTokens += pu.PromptTokens
		u.CompletionTokens += pu.CompletionTokens
		choices = append(choices, map[string]any{
			"index": i, "text": text, "logprobs": nil, "finish_reason": finish, "stop_reason": nil,
			"prompt_logprobs": nil,
		})
	}
	u.TotalTokens = u.PromptTokens + u.CompletionTokens
	writeJSON(w, http.StatusOK, map[string]any{
		"id":      "cmpl-" + randomID(),
		"object":  "text_completion",
		"created": time.Now().Unix(),
		"model":   model,
		"choices": choices,
		"usage":   u,
	})
}

// Reply is the stand-in's deterministic answer to a prompt: "echo: " and the prompt, cut to
// maxTokens words when that is set, and the OpenAI finish reason ("stop", or "length" when cut).
func Reply(prompt string, maxTokens *int) (string, string) {
	words := strings.Fields("echo: " + prompt)
	if maxTokens != nil && *maxTokens >= 0 && len(words) > *maxTokens {
		return strings.Join(words[:*maxTokens], " "), "length"
	}
	return strings.Join(words, " "), "stop"
}

// countTokens counts whitespace-separated words: the stand-in's notion of a token.
func countTokens(s string) int { return len(strings.Fields(s)) }

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeError writes vLLM's error body: {"error":{"message","type","param","code"}}.
func writeError(w http.ResponseWriter, status int, typ, msg, param string) {
	var p any
	if param != "" {
		p = param
	}
	writeJSON(w, status, map[string]any{"error": map[string]any{
		"message": msg, "type": typ, "param": p, "code": status,
	}})
}

func randomID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // since Go 1.24 crypto/rand.Read never returns an error
	return hex.EncodeToString(b)
}
