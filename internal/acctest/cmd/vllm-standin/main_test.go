package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestParseArgs(t *testing.T) {
	t.Parallel()
	def := func(f func(*serveArgs)) serveArgs {
		a := serveArgs{Port: 8000, TensorParallel: 1, PipelineParallel: 1, DataParallel: 1}
		f(&a)
		return a
	}
	tests := []struct {
		name    string
		args    []string
		want    serveArgs
		wantErr string
	}{
		{name: "nothing", args: nil, want: def(func(*serveArgs) {})},
		{
			name: "serve, positional model, several served names",
			args: []string{"serve", "meta-llama/Llama-3.1-8B-Instruct", "--served-model-name", "chat", "chat-2", "--port", "8001"},
			want: def(func(a *serveArgs) {
				a.Model, a.ServedModelNames, a.Port = "meta-llama/Llama-3.1-8B-Instruct", []string{"chat", "chat-2"}, 8001
			}),
		},
		{
			name: "without serve, --model and = forms, underscores",
			args: []string{"--model=org/m", "--served_model_name=x", "--host", "127.0.0.3", "--max-model-len", "32k", "-tp", "2"},
			want: def(func(a *serveArgs) {
				a.Model, a.ServedModelNames, a.Host, a.MaxModelLen, a.TensorParallel = "org/m", []string{"x"}, "127.0.0.3", 32000, 2
			}),
		},
		{
			name: "positional wins over --model",
			args: []string{"--model", "a/b", "c/d"},
			want: def(func(a *serveArgs) { a.Model = "c/d" }),
		},
		{
			name: "ignored flags with values, bools, negations, -O3, optional hf-token",
			args: []string{
				"--enforce-eager", "--no-enable-prefix-caching", "--gpu-memory-utilization", "0.85", "org/m",
				"--trust-remote-code", "-O3", "--compilation-config.mode", "3", "--hf-token", "--dtype", "bfloat16",
				"--lora-modules", "a=b", "c=d", "--pipeline-parallel-size=2", "--max-model-len", "1K",
			},
			want: def(func(a *serveArgs) { a.Model, a.PipelineParallel, a.MaxModelLen = "org/m", 2, 1024 }),
		},
		{
			name: "api keys",
			args: []string{"m", "--api-key", "k1", "k2", "--host", "None"},
			want: def(func(a *serveArgs) { a.Model, a.APIKeys = "m", []string{"k1", "k2"} }),
		},
		{
			name: "max-model-len auto and -1",
			args: []string{"m", "--max-model-len", "-1"},
			want: def(func(a *serveArgs) { a.Model = "m" }),
		},
		{name: "two positionals", args: []string{"a", "b"}, wantErr: "unrecognized arguments: b"},
		{name: "missing value", args: []string{"m", "--port"}, wantErr: "argument --port: expected one argument"},
		{name: "bad port", args: []string{"m", "--port", "x"}, wantErr: "invalid int value"},
		{name: "empty list", args: []string{"m", "--served-model-name", "--port", "1"}, wantErr: "expected at least one argument"},
		{name: "bool with value", args: []string{"m", "--enforce-eager=yes"}, wantErr: "ignored explicit argument"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := parseArgs(tt.args)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("parseArgs(%q)\n got %+v\nwant %+v", tt.args, got, tt.want)
			}
		})
	}
}

func TestGPUCheck(t *testing.T) {
	t.Parallel()
	tp := func(n int) serveArgs { return serveArgs{TensorParallel: n, PipelineParallel: 1, DataParallel: 1} }
	tests := []struct {
		visible string
		args    serveArgs
		want    string
	}{
		{"", tp(8), ""},
		{"all", tp(8), ""},
		{"0,1", tp(2), ""},
		{"3", tp(1), ""},
		{"0,1", tp(4), "World size (4) is larger than the number of available GPUs (2)"},
		{"void", tp(1), "Failed to infer device type"},
	}
	for _, tt := range tests {
		got := gpuCheck(tt.visible, tt.args)
		if (tt.want == "") != (got == "") || !strings.Contains(got, tt.want) {
			t.Errorf("gpuCheck(%q, tp=%d) = %q, want %q", tt.visible, tt.args.TensorParallel, got, tt.want)
		}
	}
}

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

// lockedBuffer is a bytes.Buffer safe to read while run writes to it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func TestRunServesAndShutsDown(t *testing.T) {
	t.Parallel()
	port := freePort(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr lockedBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve", "org/m", "--served-model-name", "chat", "--host", "127.0.0.1", "--port", strconv.Itoa(port)},
			env(map[string]string{"VLLM_API_KEY": "sekret-key", "INFERSTACK_STANDIN_READY_AFTER": "150ms"}), &stdout, &stderr)
	}()
	base := "http://127.0.0.1:" + strconv.Itoa(port)
	status := func(path, key string) int {
		req, err := http.NewRequest(http.MethodGet, base+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	deadline := time.Now().Add(5 * time.Second)
	sawLoading := false
	for status("/health", "") != http.StatusOK {
		if status("/health", "") == http.StatusServiceUnavailable {
			sawLoading = true
		}
		if time.Now().After(deadline) {
			t.Fatalf("never healthy; stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !sawLoading {
		t.Error("/health never answered 503 while loading")
	}
	if got := status("/v1/models", ""); got != http.StatusUnauthorized {
		t.Errorf("models without key = %d, want 401 (VLLM_API_KEY)", got)
	}
	if got := status("/v1/models", "sekret-key"); got != http.StatusOK {
		t.Errorf("models with key = %d", got)
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("exit %d after shutdown; stderr %s", code, stderr.String())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no shutdown")
	}
	out := stdout.String()
	for _, want := range []string{"Starting vLLM API server 0 on http://127.0.0.1:" + strconv.Itoa(port), "Application startup complete.", `"GET /health HTTP/1.1" 200 OK`} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "sekret-key") || strings.Contains(stderr.String(), "sekret-key") {
		t.Errorf("the API key is logged:\n%s", out)
	}
}

func TestRunFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		args       []string
		env        map[string]string
		wantCode   int
		wantStderr string
	}{
		{name: "bad args", args: []string{"a", "b"}, wantCode: 2, wantStderr: "unrecognized arguments"},
		{name: "bad duration", args: []string{"m"}, env: map[string]string{"INFERSTACK_STANDIN_READY_AFTER": "soon"}, wantCode: 2, wantStderr: "not a Go duration"},
		{name: "bad metric names", args: []string{"m"}, env: map[string]string{"INFERSTACK_STANDIN_METRICS": "v2"}, wantCode: 2, wantStderr: `INFERSTACK_STANDIN_METRICS="v2"`},
		{name: "too few gpus", args: []string{"m", "-tp", "2"}, env: map[string]string{"NVIDIA_VISIBLE_DEVICES": "1"}, wantCode: 1, wantStderr: "World size (2)"},
		{name: "load fails", args: []string{"m"}, env: map[string]string{"INFERSTACK_STANDIN_FAIL": "1"}, wantCode: 1, wantStderr: "CUDA out of memory"},
		{name: "startup error", args: []string{"m"}, env: map[string]string{"INFERSTACK_STANDIN_STARTUP_ERROR": "ValueError: boom"}, wantCode: 1, wantStderr: "ValueError: boom"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			args := append(tt.args, "--host", "127.0.0.1", "--port", strconv.Itoa(freePort(t)))
			var stdout, stderr lockedBuffer
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			code := run(ctx, args, env(tt.env), &stdout, &stderr)
			if code != tt.wantCode || !strings.Contains(stderr.String(), tt.wantStderr) {
				t.Errorf("code %d (want %d), stderr:\n%s", code, tt.wantCode, stderr.String())
			}
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				t.Error("run did not return by itself")
			}
		})
	}
}
