// Package promlab runs a real Prometheus (Debian's `prometheus` package, which brings
// `promtool`) on a free loopback port for tests: rendered scrape configs are checked with
// `promtool check config`, loaded into the server, and queried through its HTTP API.
//
// It is a package of its own, not part of acctest, so that domain packages can test against
// Prometheus without building the provider.
package promlab

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// installHint ends every "not installed" message.
const installHint = "run `make peers` (it installs Debian's prometheus package, which brings promtool)"

// debianBin is where Debian installs prometheus and promtool; a test's PATH may lack it.
var debianBin = "/usr/bin"

// Binaries returns the paths of prometheus and promtool, or an error saying how to install them.
func Binaries() (prometheus, promtool string, err error) {
	for _, name := range []string{"prometheus", "promtool"} {
		p, lookErr := exec.LookPath(name)
		if lookErr != nil {
			if _, statErr := os.Stat(filepath.Join(debianBin, name)); statErr == nil {
				p, lookErr = filepath.Join(debianBin, name), nil
			}
		}
		if lookErr != nil {
			return "", "", fmt.Errorf("%s not found on PATH: %s", name, installHint)
		}
		if name == "prometheus" {
			prometheus = p
		} else {
			promtool = p
		}
	}
	return prometheus, promtool, nil
}

// CheckConfig runs `promtool check config` on a Prometheus config document and returns its
// complaint when it refuses it.
func CheckConfig(ctx context.Context, configYAML string) error {
	_, promtool, err := Binaries()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "inferstack-promtool-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	file := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(file, []byte(configYAML), 0o600); err != nil {
		return err
	}
	out, err := exec.CommandContext(ctx, promtool, "check", "config", file).CombinedOutput()
	if err != nil {
		return fmt.Errorf("promtool check config: %w: %s", err, out)
	}
	return nil
}

// LintMetrics runs `promtool check metrics` on a scrape in the text format and returns its lint
// findings, one a line (none when it has nothing to say). An error means promtool could not
// parse the text at all.
func LintMetrics(ctx context.Context, text string) ([]string, error) {
	_, promtool, err := Binaries()
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(text)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if err != nil && !(errors.As(err, &exit) && exit.ExitCode() == 3) { // 3: lint findings
		return nil, fmt.Errorf("promtool check metrics: %w: %s", err, out)
	}
	return strings.FieldsFunc(string(out), func(r rune) bool { return r == '\n' }), nil
}

// Server is a Prometheus process on a free 127.0.0.1 port.
type Server struct {
	// URL is its base URL, e.g. "http://127.0.0.1:41234".
	URL    string
	dir    string
	cmd    *exec.Cmd
	exited chan struct{}
}

// Start starts Prometheus with the config document configYAML (its scrape_configs, typically with
// a short scrape_interval) and waits until it is ready. dir receives its config, data and log.
func Start(configYAML, dir string) (*Server, error) {
	bin, _, err := Binaries()
	if err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("finding a free port: %w", err)
	}
	addr := l.Addr().String()
	l.Close()
	configFile := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(configFile, []byte(configYAML), 0o600); err != nil {
		return nil, err
	}
	logPath := filepath.Join(dir, "prometheus.log")
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	cmd := exec.Command(bin,
		"--config.file="+configFile,
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr,
		"--web.enable-lifecycle", // POST /-/reload
		"--log.level=warn",
	)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting prometheus: %w", err)
	}
	s := &Server{URL: "http://" + addr, dir: dir, cmd: cmd, exited: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(s.exited) }()
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case <-s.exited:
			out, _ := os.ReadFile(logPath)
			return nil, fmt.Errorf("prometheus exited at start: %s", tail(out, 2000))
		default:
		}
		if resp, err := http.Get(s.URL + "/-/ready"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s, nil
			}
		}
		if time.Now().After(deadline) {
			s.Stop()
			return nil, fmt.Errorf("prometheus was not ready on %s within 60s (log: %s)", s.URL, logPath)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// StartT starts Prometheus for a test and stops it when the test ends; the test fails, with how
// to install Prometheus, when it cannot start.
func StartT(t testing.TB, configYAML string) *Server {
	t.Helper()
	s, err := Start(configYAML, t.TempDir())
	if err != nil {
		t.Fatalf("the Prometheus lab peer is not available: %v", err)
	}
	t.Cleanup(s.Stop)
	return s
}

// Stop ends the Prometheus process.
func (s *Server) Stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		<-s.exited
	}
}

// Sample is one element of an instant vector.
type Sample struct {
	Labels map[string]string
	Value  string
}

// apiResponse is the envelope of Prometheus' HTTP API.
type apiResponse struct {
	Status    string          `json:"status"`
	Data      json.RawMessage `json:"data"`
	ErrorType string          `json:"errorType"`
	Error     string          `json:"error"`
	Warnings  []string        `json:"warnings"`
}

func (s *Server) get(ctx context.Context, path string, q url.Values, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+path+"?"+q.Encode(), nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("GET %s: reading the answer: %w", path, err)
	}
	var r apiResponse
	if err := json.Unmarshal(body, &r); err != nil {
		return fmt.Errorf("GET %s: %s: %s", path, resp.Status, tail(body, 500))
	}
	if r.Status != "success" {
		return fmt.Errorf("GET %s: status %q: %s: %s", path, r.Status, r.ErrorType, r.Error)
	}
	if len(r.Warnings) > 0 {
		return fmt.Errorf("GET %s: warnings: %s", path, strings.Join(r.Warnings, "; "))
	}
	return json.Unmarshal(r.Data, out)
}

// Query runs an instant query (GET /api/v1/query) and returns its samples. It fails unless
// Prometheus answers status "success" without warnings; a query whose result is not an instant
// vector is an error too.
func (s *Server) Query(ctx context.Context, expr string) ([]Sample, error) {
	var data struct {
		ResultType string `json:"resultType"`
		Result     []struct {
			Metric map[string]string `json:"metric"`
			Value  [2]any            `json:"value"`
		} `json:"result"`
	}
	if err := s.get(ctx, "/api/v1/query", url.Values{"query": {expr}}, &data); err != nil {
		return nil, err
	}
	if data.ResultType != "vector" {
		return nil, fmt.Errorf("query %s: result type %q, want vector", expr, data.ResultType)
	}
	out := make([]Sample, 0, len(data.Result))
	for _, r := range data.Result {
		v, _ := r.Value[1].(string)
		out = append(out, Sample{Labels: r.Metric, Value: v})
	}
	return out, nil
}

// Target is one active target of GET /api/v1/targets.
type Target struct {
	ScrapePool string            `json:"scrapePool"`
	ScrapeURL  string            `json:"scrapeUrl"`
	Labels     map[string]string `json:"labels"`
	Health     string            `json:"health"`
	LastError  string            `json:"lastError"`
}

// Targets returns the active targets and their health.
func (s *Server) Targets(ctx context.Context) ([]Target, error) {
	var data struct {
		ActiveTargets []Target `json:"activeTargets"`
	}
	if err := s.get(ctx, "/api/v1/targets", url.Values{"state": {"active"}}, &data); err != nil {
		return nil, err
	}
	return data.ActiveTargets, nil
}

// Metadata returns the type Prometheus recorded for each metric of its targets (GET
// /api/v1/metadata: the # TYPE lines it scraped), e.g. "vllm:num_requests_running" -> "gauge".
func (s *Server) Metadata(ctx context.Context) (map[string]string, error) {
	var data map[string][]struct {
		Type string `json:"type"`
	}
	if err := s.get(ctx, "/api/v1/metadata", url.Values{}, &data); err != nil {
		return nil, err
	}
	out := make(map[string]string, len(data))
	for name, ms := range data {
		if len(ms) > 0 {
			out[name] = ms[0].Type
		}
	}
	return out, nil
}

// Eventually calls check until it returns true, or returns an error naming what was awaited
// (with check's last error) once timeout has passed. A scrape takes a scrape interval to show.
func Eventually(ctx context.Context, what string, timeout time.Duration, check func(context.Context) (bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last error
	for {
		ok, err := check(ctx)
		if ok && err == nil {
			return nil
		}
		if err != nil {
			last = err
		}
		select {
		case <-ctx.Done():
			if last == nil {
				last = errors.New("the condition never held")
			}
			return fmt.Errorf("waiting %s for %s: %w", timeout, what, last)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}
