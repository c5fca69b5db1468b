//go:build linux

package sshlab

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// StandinBinEnv names a vllm-standin binary to use instead of building one.
const StandinBinEnv = "INFERSTACK_STANDIN_BIN"

const (
	modulePath = "github.com/inferstack/terraform-provider-inferstack"
	standinPkg = "./internal/acctest/cmd/vllm-standin"
)

// standinBinary returns the stand-in binary: $INFERSTACK_STANDIN_BIN, or one built into
// DIR/bin from this module's source.
func standinBinary(labDir string) (string, error) {
	if p := os.Getenv(StandinBinEnv); p != "" {
		abs, err := filepath.Abs(p)
		if err != nil {
			return "", fmt.Errorf("%s: %w", StandinBinEnv, err)
		}
		if st, err := os.Stat(abs); err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
			return "", fmt.Errorf("%s=%s is not an executable file", StandinBinEnv, p)
		}
		return abs, nil
	}
	root, err := moduleRoot()
	if err != nil {
		return "", fmt.Errorf("building the vLLM stand-in: %w (or set %s)", err, StandinBinEnv)
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("building the vLLM stand-in: go not found on PATH (or set %s): %w", StandinBinEnv, err)
	}
	out := filepath.Join(labDir, "bin", "vllm-standin")
	cmd := exec.Command(goBin, "build", "-o", out, standinPkg)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("building the vLLM stand-in (go build %s in %s): %w: %s", standinPkg, root, err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

// moduleRoot finds this module's source: from where this file was compiled, else from
// `go env GOMOD` in the working directory.
func moduleRoot() (string, error) {
	if _, file, _, ok := runtime.Caller(0); ok {
		if root, ok := findModule(filepath.Dir(file)); ok {
			return root, nil
		}
	}
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err == nil {
		gomod := strings.TrimSpace(string(out))
		if gomod != "" && gomod != os.DevNull {
			if root, ok := findModule(filepath.Dir(gomod)); ok {
				return root, nil
			}
		}
	}
	return "", errors.New("the source of " + modulePath + " was not found")
}

// findModule walks up from dir to the go.mod of this module.
func findModule(dir string) (string, bool) {
	for {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil {
			first, _, _ := strings.Cut(string(data), "\n")
			if strings.TrimSpace(strings.TrimPrefix(first, "module")) == modulePath {
				return dir, true
			}
			if strings.Contains(string(data), "module "+modulePath+"\n") {
				return dir, true
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
}

// HTTPGet GETs url with a bearer key ("" for none), as a client of a replica does, and returns
// the status (0 when there was no answer) and the body (or the error).
func HTTPGet(url, key string, timeout time.Duration) (int, string) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return 0, err.Error()
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := (&http.Client{Timeout: timeout}).Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}
