package acctest

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Moto is a moto_server process on a free 127.0.0.1 port: the AWS APIs for real, in memory.
type Moto struct {
	URL    string
	cmd    *exec.Cmd
	exited chan struct{}
}

// motoStartTimeout bounds how long StartMoto waits for moto_server to answer.
const motoStartTimeout = 3 * time.Minute

// StartMoto starts moto_server (with AWS-managed IAM policies loaded) and waits until it answers.
// dir receives its log.
func StartMoto(dir string) (*Moto, error) {
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		return nil, errors.New("moto_server not found on PATH: run `make tools` (it runs pip install \"moto[server]>=5.2,<6\")")
	}
	port, err := FreePort("127.0.0.1")
	if err != nil {
		return nil, err
	}
	logPath := filepath.Join(dir, "moto.log")
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	pythonPath, err := writeMotoPatches(dir)
	if err != nil {
		return nil, fmt.Errorf("writing the moto patches: %w", err)
	}
	cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", fmt.Sprint(port))
	cmd.Env = append(os.Environ(), "MOTO_IAM_LOAD_MANAGED_POLICIES=true", "PYTHONUNBUFFERED=1", "PYTHONPATH="+pythonPath)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting moto_server: %w", err)
	}
	exited := make(chan struct{})
	m := &Moto{URL: fmt.Sprintf("http://127.0.0.1:%d", port), cmd: cmd, exited: exited}
	go func() { _ = cmd.Wait(); close(exited) }()
	// Python's start-up (moto imports every service) takes seconds on an idle machine and over
	// a minute on a loaded shared one: the deadline is for a moto that hangs, not a slow one.
	deadline := time.Now().Add(motoStartTimeout)
	for {
		select {
		case <-exited:
			out, _ := os.ReadFile(logPath)
			return nil, fmt.Errorf("moto_server exited at start: %s", tail(out, 2000))
		default:
		}
		resp, err := http.Get(m.URL + "/moto-api/data.json")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return m, nil
			}
		}
		if time.Now().After(deadline) {
			m.Stop()
			return nil, fmt.Errorf("moto_server did not answer on %s within %s (log: %s)", m.URL, motoStartTimeout, logPath)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// Reset drops every resource moto holds (POST /moto-api/reset).
func (m *Moto) Reset() error {
	resp, err := http.Post(m.URL+"/moto-api/reset", "application/json", bytes.NewReader(nil))
	if err != nil {
		return fmt.Errorf("resetting moto: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("resetting moto: %s", resp.Status)
	}
	return nil
}

// Stop ends the moto_server process group.
func (m *Moto) Stop() {
	if m.cmd != nil && m.cmd.Process != nil {
		_ = syscall.Kill(-m.cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-m.exited:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-m.cmd.Process.Pid, syscall.SIGKILL)
		}
	}
}

// AWSLab is moto with the fault-injecting proxy in front of it; tests talk to Proxy.URL.
type AWSLab struct {
	Moto  *Moto
	Proxy *AWSProxy

	quotas    quotas
	refreshes refreshes
	health    targetHealth
}

// NewAWSLab puts moto and the proxy in front of it together, with the proxy answering what moto
// lacks (instance refresh). AWS gives each test package one; the demo lab makes its own.
func NewAWSLab(m *Moto, p *AWSProxy) *AWSLab {
	l := &AWSLab{Moto: m, Proxy: p}
	l.serveInstanceRefreshes()
	return l
}

// URL is the endpoint AWS clients should use.
func (l *AWSLab) URL() string { return l.Proxy.URL }

// ProviderConfig is an inferstack provider block pointing every AWS service at the lab.
func (l *AWSLab) ProviderConfig() string { return l.ProviderConfigWith("") }

// ProviderConfigWith is ProviderConfig with extra lines inside the aws block (default_tags = {...}).
func (l *AWSLab) ProviderConfigWith(extra string) string {
	return "\nprovider \"inferstack\" {\n" + l.AWSBlock(extra) + "}\n"
}

// AWSBlock is the provider's aws block pointing every AWS service at the lab, with extra lines
// inside it, for tests that compose a provider block of several.
func (l *AWSLab) AWSBlock(extra string) string {
	return fmt.Sprintf(`  aws {
    region      = "us-east-1"
    access_key  = "testing"
    secret_key  = "testing"
    max_retries = 5
    endpoints = {
      ec2                  = %[1]q
      autoscaling          = %[1]q
      elasticloadbalancing = %[1]q
      iam                  = %[1]q
      ssm                  = %[1]q
      secretsmanager       = %[1]q
      sts                  = %[1]q
      servicequotas        = %[1]q
      pricing              = %[1]q
    }
%[2]s
  }
`, l.Proxy.URL, extra)
}

var (
	awsOnce sync.Once
	awsLab  *AWSLab
	awsErr  error
)

// AWS returns the package's shared moto and proxy, starting them on first use; the test fails
// with instructions when moto cannot start.
func AWS(t testing.TB) *AWSLab {
	t.Helper()
	awsOnce.Do(func() {
		dir, err := os.MkdirTemp("", "inferstack-moto-")
		if err != nil {
			awsErr = err
			return
		}
		m, err := StartMoto(dir)
		if err != nil {
			awsErr = err
			return
		}
		p, err := StartAWSProxy(m.URL)
		if err != nil {
			m.Stop()
			awsErr = err
			return
		}
		awsLab = NewAWSLab(m, p)
		atExit(func() { p.Close(); m.Stop(); _ = os.RemoveAll(dir) })
	})
	if awsErr != nil {
		t.Fatalf("the AWS lab (moto_server behind the harness proxy) is not available: %v", awsErr)
	}
	return awsLab
}

// FreePort asks the kernel for a free TCP port on host.
func FreePort(host string) (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return 0, fmt.Errorf("finding a free port on %s: %w", host, err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}
