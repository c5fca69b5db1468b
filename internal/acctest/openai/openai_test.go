package openai_test

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/inferstack/terraform-provider-inferstack/internal/acctest/openai"
)

func do(t *testing.T, h http.Handler, method, path, key, body string) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, rd)
	if key != "" {
		req.Header.Set("Authorization", key)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code, rec.Body.String()
}

func TestAuth(t *testing.T) {
	t.Parallel()
	h := openai.NewHandler(openai.Options{ServedModelNames: []string{"m"}, APIKey: "sekret"})
	tests := []struct {
		name, method, path, auth string
		want                     int
	}{
		{"models without key", http.MethodGet, "/v1/models", "", http.StatusUnauthorized},
		{"models wrong key", http.MethodGet, "/v1/models", "Bearer nope", http.StatusUnauthorized},
		{"models wrong scheme", http.MethodGet, "/v1/models", "Basic sekret", http.StatusUnauthorized},
		{"models key", http.MethodGet, "/v1/models", "Bearer sekret", http.StatusOK},
		{"scheme case-insensitive", http.MethodGet, "/v1/models", "bearer sekret", http.StatusOK},
		{"unknown v1 path still guarded", http.MethodGet, "/v1/nothing", "", http.StatusUnauthorized},
		{"health open", http.MethodGet, "/health", "", http.StatusOK},
		{"version open", http.MethodGet, "/version", "", http.StatusOK},
		{"metrics open", http.MethodGet, "/metrics", "", http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, body := do(t, h, tt.method, tt.path, tt.auth, "")
			if code != tt.want {
				t.Fatalf("%s %s: status %d, want %d; body %s", tt.method, tt.path, code, tt.want, body)
			}
			if code == http.StatusUnauthorized && strings.TrimSpace(body) != `{"error":"Unauthorized"}` {
				t.Errorf("401 body = %s, want vLLM's {\"error\":\"Unauthorized\"}", body)
			}
		})
	}
}

func TestAuthLetsOptionsThrough(t *testing.T) {
	t.Parallel()
	h := openai.NewHandler(openai.Options{APIKey: "sekret"})
	if code, _ := do(t, h, http.MethodOptions, "/v1/models", "", ""); code == http.StatusUnauthorized {
		t.Fatal("OPTIONS needs no key in vLLM, got 401")
	}
}

func TestNoKeyMeansOpen(t *testing.T) {
	t.Parallel()
	h := openai.NewHandler(openai.Options{Model: "org/model"})
	code, body := do(t, h, http.MethodGet, "/v1/models", "", "")
	if code != http.StatusOK {
		t.Fatalf("status %d: %s", code, body)
	}
	if !strings.Contains(body, `"id":"org/model"`) {
		t.Errorf("model id defaults to the model: %s", body)
	}
}

func TestReadiness(t *testing.T) {
	t.Parallel()
	h := openai.NewHandler(openai.Options{ReadyAfter: 200 * time.Millisecond})
	if code, _ := do(t, h, http.MethodGet, "/health", "", ""); code != http.StatusServiceUnavailable {
		t.Fatalf("health before ReadyAfter = %d, want 503", code)
	}
	if code, _ := do(t, h, http.MethodGet, "/v1/models", "", ""); code != http.StatusServiceUnavailable {
		t.Fatalf("models before ReadyAfter = %d, want 503", code)
	}
	time.Sleep(250 * time.Millisecond)
	if code, _ := do(t, h, http.MethodGet, "/health", "", ""); code != http.StatusOK {
		t.Fatalf("health after ReadyAfter = %d, want 200", code)
	}

	never := openai.NewHandler(openai.Options{NeverReady: true})
	if code, _ := do(t, never, http.MethodGet, "/health", "", ""); code != http.StatusServiceUnavailable {
		t.Fatalf("NeverReady health = %d, want 503", code)
	}
}

func TestModels(t *testing.T) {
	t.Parallel()
	h := openai.NewHandler(openai.Options{
		Model: "meta-llama/Llama-3.1-8B-Instruct", ServedModelNames: []string{"chat", "chat-alias"}, MaxModelLen: 8192,
	})
	code, body := do(t, h, http.MethodGet, "/v1/models", "", "")
	if code != http.StatusOK {
		t.Fatalf("status %d", code)
	}
	var list struct {
		Object string `json:"object"`
		Data   []struct {
			ID          string  `json:"id"`
			Object      string  `json:"object"`
			OwnedBy     string  `json:"owned_by"`
			Root        string  `json:"root"`
			Parent      *string `json:"parent"`
			MaxModelLen int     `json:"max_model_len"`
			Created     int64   `json:"created"`
		} `json:"data"`
	}
	if err := json.Unmarshal([]byte(body), &list); err != nil {
		t.Fatal(err)
	}
	if list.Object != "list" || len(list.Data) != 2 {
		t.Fatalf("list = %+v", list)
	}
	for i, want := range []string{"chat", "chat-alias"} {
		d := list.Data[i]
		if d.ID != want || d.Object != "model" || d.OwnedBy != "vllm" || d.Root != "meta-llama/Llama-3.1-8B-Instruct" ||
			d.Parent != nil || d.MaxModelLen != 8192 || d.Created == 0 {
			t.Errorf("data[%d] = %+v", i, d)
		}
	}
}

func TestChatCompletions(t *testing.T) {
	t.Parallel()
	h := openai.NewHandler(openai.Options{ServedModelNames: []string{"chat"}})
	tests := []struct {
		name, body  string
		wantStatus  int
		wantContent string
		wantFinish  string
	}{
		{
			name:        "echoes the last user message",
			body:        `{"model":"chat","messages":[{"role":"system","content":"be brief"},{"role":"user","content":"first"},{"role":"assistant","content":"ok"},{"role":"user","content":"hello there"}]}`,
			wantStatus:  http.StatusOK,
			wantContent: "echo: hello there",
			wantFinish:  "stop",
		},
		{
			name:        "content parts",
			body:        `{"model":"chat","messages":[{"role":"user","content":[{"type":"text","text":"from parts"}]}]}`,
			wantStatus:  http.StatusOK,
			wantContent: "echo: from parts",
			wantFinish:  "stop",
		},
		{
			name:        "model may be omitted",
			body:        `{"messages":[{"role":"user","content":"hi"}]}`,
			wantStatus:  http.StatusOK,
			wantContent: "echo: hi",
			wantFinish:  "stop",
		},
		{
			name:        "max_tokens cuts",
			body:        `{"model":"chat","max_tokens":2,"messages":[{"role":"user","content":"one two three"}]}`,
			wantStatus:  http.StatusOK,
			wantContent: "echo: one",
			wantFinish:  "length",
		},
		{name: "unknown model", body: `{"model":"other","messages":[{"role":"user","content":"hi"}]}`, wantStatus: http.StatusNotFound},
		{name: "bad json", body: `{`, wantStatus: http.StatusBadRequest},
		{name: "no messages", body: `{"model":"chat","messages":[]}`, wantStatus: http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, body := do(t, h, http.MethodPost, "/v1/chat/completions", "", tt.body)
			if code != tt.wantStatus {
				t.Fatalf("status %d, want %d: %s", code, tt.wantStatus, body)
			}
			if code != http.StatusOK {
				var e struct {
					Error struct {
						Message string `json:"message"`
						Code    int    `json:"code"`
					} `json:"error"`
				}
				if err := json.Unmarshal([]byte(body), &e); err != nil || e.Error.Code != code || e.Error.Message == "" {
					t.Errorf("error body %s (%v)", body, err)
				}
				return
			}
			var resp struct {
				ID      string `json:"id"`
				Object  string `json:"object"`
				Model   string `json:"model"`
				Choices []struct {
					Message struct {
						Role    string `json:"role"`
						Content string `json:"content"`
					} `json:"message"`
					FinishReason string `json:"finish_reason"`
				} `json:"choices"`
				Usage struct {
					PromptTokens     int `json:"prompt_tokens"`
					CompletionTokens int `json:"completion_tokens"`
					TotalTokens      int `json:"total_tokens"`
				} `json:"usage"`
			}
			if err := json.Unmarshal([]byte(body), &resp); err != nil {
				t.Fatal(err)
			}
			if resp.Object != "chat.completion" || resp.Model != "chat" || !strings.HasPrefix(resp.ID, "chatcmpl-") || len(resp.Choices) != 1 {
				t.Fatalf("response %s", body)
			}
			c := resp.Choices[0]
			if c.Message.Role != "assistant" || c.Message.Content != tt.wantContent || c.FinishReason != tt.wantFinish {
				t.Errorf("choice = %+v, want %q/%q", c, tt.wantContent, tt.wantFinish)
			}
			if resp.Usage.CompletionTokens != len(strings.Fields(tt.wantContent)) || resp.Usage.PromptTokens == 0 ||
				resp.Usage.TotalTokens != resp.Usage.PromptTokens+resp.Usage.CompletionTokens {
				t.Errorf("usage = %+v", resp.Usage)
			}
		})
	}
}

func TestChatCompletionsStream(t *testing.T) {
	t.Parallel()
	srv, err := openai.Start(openai.Options{ServedModelNames: []string{"chat"}, APIKey: "k"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })

	body := `{"model":"chat","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"a b c"}]}`
	req, err := http.NewRequest(http.MethodPost, srv.URL+"/v1/chat/completions", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer k")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("status %d, content type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var text strings.Builder
	var sawUsage, sawDone bool
	var finish string
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		if data == "[DONE]" {
			sawDone = true
			continue
		}
		var chunk struct {
			Object  string `json:"object"`
			Choices []struct {
				Delta struct {
					Content string `json:"content"`
				} `json:"delta"`
				FinishReason *string `json:"finish_reason"`
			} `json:"choices"`
			Usage *struct {
				TotalTokens int `json:"total_tokens"`
			} `json:"usage"`
		}
		if err := json.Unmarshal([]byte(data), &chunk); err != nil {
			t.Fatalf("chunk %s: %v", data, err)
		}
		if chunk.Object != "chat.completion.chunk" {
			t.Errorf("object %q", chunk.Object)
		}
		for _, c := range chunk.Choices {
			text.WriteString(c.Delta.Content)
			if c.FinishReason != nil {
				finish = *c.FinishReason
			}
		}
		if chunk.Usage != nil && chunk.Usage.TotalTokens > 0 {
			sawUsage = true
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if text.String() != "echo: a b c" || finish != "stop" || !sawUsage || !sawDone {
		t.Errorf("streamed %q finish %q usage %v done %v", text.String(), finish, sawUsage, sawDone)
	}
}

func TestCompletions(t *testing.T) {
	t.Parallel()
	h := openai.NewHandler(openai.Options{ServedModelNames: []string{"base"}})
	code, body := do(t, h, http.MethodPost, "/v1/completions", "", `{"model":"base","prompt":["x y","z"],"max_tokens":16}`)
	if code != http.StatusOK {
		t.Fatalf("status %d: %s", code, body)
	}
	var resp struct {
		Object  string `json:"object"`
		Choices []struct {
			Index int    `json:"index"`
			Text  string `json:"text"`
		} `json:"choices"`
		Usage struct {
			TotalTokens int `json:"total_tokens"`
		} `json:"usage"`
	}
	if err := json.Unmarshal([]byte(body), &resp); err != nil {
		t.Fatal(err)
	}
	if resp.Object != "text_completion" || len(resp.Choices) != 2 || resp.Choices[0].Text != "echo: x y" ||
		resp.Choices[1].Index != 1 || resp.Choices[1].Text != "echo: z" || resp.Usage.TotalTokens != 3+5 {
		t.Errorf("response %s", body)
	}
}

func TestReply(t *testing.T) {
	t.Parallel()
	three := 3
	zero := 0
	tests := []struct {
		prompt    string
		max       *int
		want, fin string
	}{
		{"hello", nil, "echo: hello", "stop"},
		{"  spaced   out ", nil, "echo: spaced out", "stop"},
		{"a b c d", &three, "echo: a b", "length"},
		{"a", &three, "echo: a", "stop"},
		{"a", &zero, "", "length"},
	}
	for _, tt := range tests {
		got, fin := openai.Reply(tt.prompt, tt.max)
		if got != tt.want || fin != tt.fin {
			t.Errorf("Reply(%q) = %q, %q; want %q, %q", tt.prompt, got, fin, tt.want, tt.fin)
		}
	}
}

func TestStartClose(t *testing.T) {
	t.Parallel()
	srv, err := openai.Start(openai.Options{})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(srv.URL + "/health")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("health %d", resp.StatusCode)
	}
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-srv.Done(); err != nil {
		t.Fatalf("serve error after Close: %v", err)
	}
	if _, err := http.Get(srv.URL + "/health"); err == nil {
		t.Fatal("server still answers after Close")
	}
}
