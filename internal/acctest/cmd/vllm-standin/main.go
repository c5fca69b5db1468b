// Command vllm-standin acts like `vllm serve` without a GPU: it takes vLLM's arguments and
// serves the OpenAI-compatible stand-in of package openai, so tests on machines without a GPU
// can deploy, probe and call "vLLM". The sshlab `docker run` shim starts it in place of the
// vllm/vllm-openai container.
//
// Usage:
//
//	vllm-standin [serve] [MODEL] [--served-model-name NAME...] [--host HOST] [--port PORT]
//	             [--api-key KEY...] [--max-model-len N] [-tp N] [any other vllm serve flag]
//
// Other flags of `vllm serve` are accepted and ignored. The API key comes from --api-key, else
// from VLLM_API_KEY, as in vLLM. The port is bound at once and /health answers 503 until the
// "model" is loaded, as vLLM binds its port before the engine starts.
//
// Environment for tests:
//
//	INFERSTACK_STANDIN_READY_AFTER  Go duration the "load" takes (default 0).
//	INFERSTACK_STANDIN_FAIL         "1" (or "true"): the load fails: after READY_AFTER it prints
//	                                a vLLM-like error to stderr and exits 1, as a vLLM that runs
//	                                out of GPU memory does. "hang": never healthy, never exits.
//	INFERSTACK_STANDIN_METRICS      "legacy": /metrics has the names of vLLM before 0.9 and 0.11
//	                                (vllm:gpu_cache_usage_perc, vllm:time_per_output_token_seconds).
//	INFERSTACK_STANDIN_STARTUP_ERROR  a load failure with this message (the sshlab docker shim
//	                                sets it, e.g. when the GPUs are already taken).
//	NVIDIA_VISIBLE_DEVICES          when set (the docker shim sets it from --gpus), the GPUs the
//	                                "container" sees: "void" or none is no GPU, "all" skips the
//	                                check; tensor x pipeline x data parallel size must fit, or it
//	                                fails at once like vLLM.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/inferstack/terraform-provider-inferstack/internal/acctest/openai"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// syncWriter serialises writes: request logs come from many goroutines.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// logger writes vLLM-style log lines: "INFO 05-19 10:00:00 [file.py:123] message".
type logger struct{ out, errOut io.Writer }

func (l logger) info(src, format string, args ...any) {
	fmt.Fprintf(l.out, "INFO %s [%s] %s\n", time.Now().Format("01-02 15:04:05"), src, fmt.Sprintf(format, args...))
}

func (l logger) error(src, format string, args ...any) {
	fmt.Fprintf(l.errOut, "ERROR %s [%s] %s\n", time.Now().Format("01-02 15:04:05"), src, fmt.Sprintf(format, args...))
}

// run is the command: it serves until ctx ends (SIGTERM or SIGINT in main) and returns the exit
// code: 0 after a clean shutdown, 1 when the "engine" fails, 2 for bad arguments.
func run(ctx context.Context, argv []string, getenv func(string) string, stdout, stderr io.Writer) int {
	stdout, stderr = &syncWriter{w: stdout}, &syncWriter{w: stderr}
	log := logger{out: stdout, errOut: stderr}
	args, err := parseArgs(argv)
	if err != nil {
		fmt.Fprintln(stderr, "usage: vllm serve [model_tag] [options]")
		fmt.Fprintln(stderr, err)
		return 2
	}
	opts := openai.Options{
		Model:            args.Model,
		ServedModelNames: args.ServedModelNames,
		MaxModelLen:      args.MaxModelLen,
	}
	if opts.Model == "" {
		opts.Model = openai.DefaultModel
	}
	switch {
	case len(args.APIKeys) > 0:
		opts.APIKey = args.APIKeys[0]
	case getenv("VLLM_API_KEY") != "":
		opts.APIKey = getenv("VLLM_API_KEY")
	}
	switch v := getenv("INFERSTACK_STANDIN_METRICS"); v {
	case "", "current":
	case "legacy":
		opts.LegacyMetricNames = true
	default:
		log.error("standin", "INFERSTACK_STANDIN_METRICS=%q is neither \"current\" nor \"legacy\"", v)
		return 2
	}
	if v := getenv("INFERSTACK_STANDIN_READY_AFTER"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			log.error("standin", "INFERSTACK_STANDIN_READY_AFTER=%q is not a Go duration", v)
			return 2
		}
		opts.ReadyAfter = d
	}

	log.info("api_server.py:1885", "vLLM API server version %s", openai.Version)
	log.info("utils.py:328", "non-default args: {'model_tag': %q, 'model': %q, 'served_model_name': %q, 'host': %q, 'port': %d, 'api_key': %s, 'tensor_parallel_size': %d}",
		args.Model, opts.Model, opts.ModelNames(), args.Host, args.Port, redacted(opts.APIKey), args.TensorParallel)

	// Configuration errors surface before anything is bound, as in vLLM.
	if msg := gpuCheck(getenv("NVIDIA_VISIBLE_DEVICES"), args); msg != "" {
		log.error("engine.py:95", "EngineCore failed to start.")
		fmt.Fprintln(stderr, msg)
		return 1
	}

	var loadErr string
	switch strings.ToLower(getenv("INFERSTACK_STANDIN_FAIL")) {
	case "", "0", "false":
	case "hang":
		opts.NeverReady = true
	default:
		loadErr = "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 1.96 GiB. " +
			"(inferstack stand-in: INFERSTACK_STANDIN_FAIL is set)"
	}
	if msg := getenv("INFERSTACK_STANDIN_STARTUP_ERROR"); msg != "" {
		loadErr = msg
	}

	addr := net.JoinHostPort(args.Host, strconv.Itoa(args.Port))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		log.error("launcher.py:114", "[Errno 98] error while attempting to bind on address %s: %v", addr, err)
		return 1
	}
	display := args.Host
	if display == "" {
		display = "0.0.0.0"
	}
	log.info("api_server.py:1912", "Starting vLLM API server 0 on http://%s", net.JoinHostPort(display, strconv.Itoa(args.Port)))
	log.info("core.py:75", "Initializing a V1 LLM engine with config: model=%q, tensor_parallel_size=%d, pid=%d, go=%s",
		opts.Model, args.TensorParallel, os.Getpid(), runtime.Version())

	srv := &http.Server{
		Handler:           accessLog(stdout, openai.NewHandler(opts)),
		ReadHeaderTimeout: 10 * time.Second,
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	loaded := time.After(opts.ReadyAfter)
	if opts.NeverReady {
		loaded = nil
	}
	for {
		select {
		case <-loaded:
			loaded = nil
			if loadErr != "" {
				log.error("core.py:708", "EngineCore failed to start.")
				fmt.Fprintf(stderr, "Traceback (most recent call last):\n  File \"/usr/local/lib/python3.12/dist-packages/vllm/v1/engine/core.py\", line 699, in run_engine_core\n%s\n", loadErr)
				fmt.Fprintln(stderr, "RuntimeError: Engine core initialization failed. See root cause above. Failed core proc(s): {}")
				_ = srv.Close()
				return 1
			}
			log.info("launcher.py:37", "Available routes are: /health, /version, /metrics, /v1/models, /v1/chat/completions, /v1/completions")
			fmt.Fprintln(stdout, "INFO:     Application startup complete.")
		case <-ctx.Done():
			fmt.Fprintln(stdout, "INFO:     Shutting down")
			shutdownCtx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			err := srv.Shutdown(shutdownCtx)
			cancel()
			if err != nil {
				_ = srv.Close()
			}
			fmt.Fprintln(stdout, "INFO:     Application shutdown complete.")
			return 0
		case err := <-served:
			if err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.error("launcher.py:120", "server stopped: %v", err)
				return 1
			}
			return 0
		}
	}
}

// gpuCheck compares the GPUs the container sees with the world size the arguments need and
// returns vLLM's error when they do not fit ("" when they do, or when nothing is known).
func gpuCheck(visible string, args serveArgs) string {
	visible = strings.TrimSpace(visible)
	switch visible {
	case "", "all":
		return ""
	case "void", "none":
		return "RuntimeError: Failed to infer device type (no NVIDIA GPU is visible to the container: run it with --gpus)"
	}
	n := len(strings.Split(visible, ","))
	if args.WorldSize() > n {
		return fmt.Sprintf("ValueError: World size (%d) is larger than the number of available GPUs (%d) in this node. "+
			"If this is intentional and you are using:\n- ray, run 'ray status' on the head node.\n- mp, check CUDA_VISIBLE_DEVICES.",
			args.WorldSize(), n)
	}
	return ""
}

func redacted(key string) string {
	if key == "" {
		return "None"
	}
	return "'***'"
}

// accessLog writes uvicorn-style access lines: `INFO:     127.0.0.1:5555 - "GET /health HTTP/1.1" 200 OK`.
func accessLog(out io.Writer, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		fmt.Fprintf(out, "INFO:     %s - \"%s %s %s\" %d %s\n", r.RemoteAddr, r.Method, r.URL.RequestURI(), r.Proto,
			rec.status, http.StatusText(rec.status))
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// Flush keeps streaming responses streaming through the recorder.
func (r *statusRecorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}
