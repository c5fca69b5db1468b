package onprem

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/inferstack/terraform-provider-inferstack/internal/acctest/sshlab"
	"github.com/inferstack/terraform-provider-inferstack/internal/vllm"
)

// cmdlineSampler reads every process's command line on the machine (the lab hosts' too) until
// stopped, and records any that holds one of the secrets.
type cmdlineSampler struct {
	secrets            []string
	stop               chan struct{}
	done               chan struct{}
	samples, sawScript atomic.Int64
	mu                 sync.Mutex
	leaks              []string
}

func sampleCmdlines(secrets ...string) *cmdlineSampler {
	s := &cmdlineSampler{secrets: secrets, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		for {
			select {
			case <-s.stop:
				return
			default:
			}
			paths, _ := filepath.Glob("/proc/[0-9]*/cmdline")
			for _, p := range paths {
				b, err := os.ReadFile(p)
				if err != nil || len(b) == 0 {
					continue
				}
				if bytes.Contains(b, []byte(vllm.ScriptPath)) {
					s.sawScript.Add(1)
				}
				for _, sec := range s.secrets {
					if bytes.Contains(b, []byte(sec)) {
						s.mu.Lock()
						s.leaks = append(s.leaks, strings.ReplaceAll(string(b), "\x00", " "))
						s.mu.Unlock()
					}
				}
			}
			s.samples.Add(1)
			time.Sleep(5 * time.Millisecond)
		}
	}()
	return s
}

func (s *cmdlineSampler) finish(t *testing.T) {
	t.Helper()
	close(s.stop)
	<-s.done
	t.Logf("sampled /proc/*/cmdline %d times; %d command lines of the node script seen", s.samples.Load(), s.sawScript.Load())
	if s.sawScript.Load() == 0 {
		t.Error("the sampler never saw the node script run: it proves nothing")
	}
	for _, l := range s.leaks {
		t.Errorf("a secret is on a command line: %q", l)
	}
}

// labDeadline bounds each scenario. It is wide on purpose: DeployEndpoint shortens the node's
// readiness timeout to fit the deadline, which would change the spec between two converges of a
// scenario on a loaded machine (and the full-disk scenario must fail on the env file, not the spec).
const labDeadline = 20 * time.Minute

// TestNodeTrust runs the security review's node scenarios on lab hosts of one lab, one host each.
func TestNodeTrust(t *testing.T) {
	t.Parallel()
	l4 := sshlab.GPU{Model: "NVIDIA L4", MemoryMiB: 23034}
	lab := startLab(t,
		sshlab.HostSpec{Name: "disk", GPUs: []sshlab.GPU{l4}},
		sshlab.HostSpec{Name: "ledger", GPUs: []sshlab.GPU{l4, l4}},
		sshlab.HostSpec{Name: "race", GPUs: []sshlab.GPU{l4, l4}},
		sshlab.HostSpec{Name: "cancel", GPUs: []sshlab.GPU{l4}, Standin: sshlab.Standin{Hang: true}},
		sshlab.HostSpec{Name: "masked", GPUs: []sshlab.GPU{l4}},
	)
	c, err := NewClient(SSHConfig{PrivateKey: lab.UserPrivateKeyPEM})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)

	keys := map[string]string{}
	for _, name := range []string{"disk", "ledger", "race", "cancel", "masked"} {
		keys[name+"1"] = "sk-trust-" + name + "-first-0123456789"
		keys[name+"2"] = "sk-trust-" + name + "-second-0123456789"
	}
	var all []string
	for _, k := range keys {
		all = append(all, k)
	}
	sampler := sampleCmdlines(all...)

	cfgFor := func(h *sshlab.Host, endpoint, key string) EndpointConfig {
		return EndpointConfig{
			Cluster: ClusterRef{Name: "t", Hosts: []Host{hostOf(h)}},
			Spec: vllm.Spec{Endpoint: endpoint, Model: vllm.Model{ID: "Qwen/Qwen2.5-7B-Instruct", Revision: strings.Repeat("a", 40)},
				ReadyTimeout: 90 * time.Second},
			Replicas: 1, APIKey: key, MaxUnavailable: 1,
		}
	}
	deploy := func(ctx context.Context, h *sshlab.Host, endpoint, key string) ([]Placement, error) {
		return c.DeployEndpoint(ctx, cfgFor(h, endpoint, key))
	}

	t.Run("group", func(t *testing.T) {
		// A full filesystem while the env file is rewritten with a new key: the converge fails,
		// naming the file; the old env file (with its key) stays and the replica keeps serving
		// with it, nothing restarted without a key, no temp file left behind. The filesystem is
		// a real size-limited tmpfs over the host's /etc/inferstack; the secrets below it live on
		// a tmpfs of their own, so that the provider's secret upload still succeeds and the
		// failing write is the node script's.
		t.Run("full disk keeps the env file", func(t *testing.T) {
			t.Parallel()
			h := lab.Host("disk")
			etc, secrets := h.Path(vllm.EnvDir), h.Path(vllm.EnvDir, "secrets")
			for _, m := range []string{etc, secrets} {
				if err := os.MkdirAll(m, 0o700); err != nil {
					t.Fatal(err)
				}
				if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=512k,mode=0700", "tmpfs", m).CombinedOutput(); err != nil {
					t.Fatalf("mounting a tmpfs at %s (the test needs root): %v: %s", m, err, out)
				}
				t.Cleanup(func() { _ = exec.Command("umount", "-l", m).Run() })
			}
			ctx, cancel := context.WithTimeout(context.Background(), labDeadline)
			defer cancel()
			if _, err := deploy(ctx, h, "ep", keys["disk1"]); err != nil {
				t.Fatal(err)
			}
			envPath := h.Path(vllm.EnvFilePath("ep"))
			before, err := os.ReadFile(envPath)
			if err != nil || !strings.Contains(string(before), "VLLM_API_KEY="+keys["disk1"]) {
				t.Fatalf("env file after the first converge: %q, %v", before, err)
			}
			fill, err := os.Create(filepath.Join(etc, "fill"))
			if err != nil {
				t.Fatal(err)
			}
			for {
				if _, err := fill.Write(make([]byte, 4096)); err != nil {
					break
				}
			}
			_ = fill.Close()

			_, err = deploy(ctx, h, "ep", keys["disk2"])
			t.Logf("converge on a full disk: %v", err)
			if err == nil || !strings.Contains(err.Error(), "ep.env failed (disk full or read-only?)") {
				t.Fatalf("want the converge to fail writing the env file, got %v", err)
			}
			after, err := os.ReadFile(envPath)
			if err != nil || !bytes.Equal(after, before) {
				t.Fatalf("env file after the failed write: %q, %v; want it unchanged: %q", after, err, before)
			}
			if left, _ := filepath.Glob(envPath + ".*"); len(left) > 0 {
				t.Errorf("temp files left: %v", left)
			}
			st, err := c.FindEndpoint(ctx, cfgFor(h, "ep", "").Cluster, "ep")
			if err != nil || len(st.Placements) != 1 || !st.Placements[0].Ready {
				t.Fatalf("the replica after the failed converge: %+v, %v; want it still ready", st, err)
			}
			// It still runs with the first key: nothing restarted it without one.
			code, _ := sshlab.HTTPGet(st.Placements[0].URL+"/models", keys["disk1"], 10*time.Second)
			if code != 200 {
				t.Errorf("GET /v1/models with the first key: HTTP %d, want 200", code)
			}
			if code, _ := sshlab.HTTPGet(st.Placements[0].URL+"/models", "", 10*time.Second); code != 401 {
				t.Errorf("GET /v1/models without a key: HTTP %d, want 401 (a keyless replica)", code)
			}
		})

		// A truncated ledger stops the converge with a clear error that names the backup; it is
		// not read as empty (which would hand out the GPUs of both endpoints again).
		t.Run("truncated ledger stops the converge", func(t *testing.T) {
			t.Parallel()
			h := lab.Host("ledger")
			ctx, cancel := context.WithTimeout(context.Background(), labDeadline)
			defer cancel()
			for _, ep := range []string{"ep-a", "ep-b"} {
				if _, err := deploy(ctx, h, ep, keys["ledger1"]); err != nil {
					t.Fatal(err)
				}
			}
			ledger := h.Path(vllm.StateDir, "ledger.json")
			b, err := os.ReadFile(ledger)
			if err != nil {
				t.Fatal(err)
			}
			cut := b[:len(b)/2]
			if err := os.WriteFile(ledger, cut, 0o644); err != nil {
				t.Fatal(err)
			}
			_, err = deploy(ctx, h, "ep-c", keys["ledger2"])
			t.Logf("converge with a truncated ledger: %v", err)
			if err == nil || !strings.Contains(err.Error(), "ledger.json does not parse") || !strings.Contains(err.Error(), "ledger.json.bak") {
				t.Fatalf("want a converge stopped on the damaged ledger naming its backup, got %v", err)
			}
			if now, _ := os.ReadFile(ledger); !bytes.Equal(now, cut) {
				t.Errorf("the damaged ledger was rewritten: %q", now)
			}
			if _, err := os.Stat(h.Path(vllm.UnitDir, vllm.UnitName("ep-c", 0))); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("ep-c got a unit on a damaged ledger: %v", err)
			}
		})

		// Two converges upgrading the node script of one host at once both succeed, and the
		// script in place is the whole new one. One client checks a host's script once for all
		// its converges, so the race is between two clients (two Terraform runs).
		t.Run("two converges race after a script upgrade", func(t *testing.T) {
			t.Parallel()
			h := lab.Host("race")
			script, version, err := vllm.NodeScript()
			if err != nil {
				t.Fatal(err)
			}
			old := bytes.Replace(script, []byte("readonly VERSION='"+version+"'"), []byte("readonly VERSION='000000000000'"), 1)
			p := h.Path(vllm.ScriptPath)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, old, 0o755); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), labDeadline)
			defer cancel()
			other, err := NewClient(SSHConfig{PrivateKey: lab.UserPrivateKeyPEM})
			if err != nil {
				t.Fatal(err)
			}
			defer other.Close()
			errs := make([]error, 2)
			var wg sync.WaitGroup
			for i, cl := range []*Client{c, other} {
				ep := []string{"ep-a", "ep-b"}[i]
				wg.Go(func() { _, errs[i] = cl.DeployEndpoint(ctx, cfgFor(h, ep, keys["race1"])) })
			}
			wg.Wait()
			if err := errors.Join(errs...); err != nil {
				t.Fatal(err)
			}
			if now, _ := os.ReadFile(p); !bytes.Equal(now, script) {
				t.Error("the installed script is not the new one")
			}
			if left, _ := filepath.Glob(p + ".*"); len(left) > 0 {
				t.Errorf("upload files left: %v", left)
			}
		})

		// A cancelled converge (Ctrl-C) leaves no node script running on the host and its lock
		// free, rather than waiting out its readiness timeout.
		t.Run("cancel ends the remote converge", func(t *testing.T) {
			t.Parallel()
			h := lab.Host("cancel")
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			unit := h.Path(vllm.UnitDir, vllm.UnitName("ep", 0))
			go func() {
				for ctx.Err() == nil {
					if _, err := os.Stat(unit); err == nil {
						time.Sleep(500 * time.Millisecond) // the script is waiting for readiness now
						cancel()
						return
					}
					time.Sleep(50 * time.Millisecond)
				}
			}()
			_, err := deploy(ctx, h, "ep", keys["cancel1"])
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("deploy = %v, want it cancelled", err)
			}
			// DeployEndpoint returns once the kill was sent and answered: nothing is left.
			if procs := nodeScripts(h); len(procs) > 0 {
				t.Errorf("node script processes left after the cancel: %v", procs)
			}
			lock := h.Path(vllm.StateDir, "locks", "ep.lock")
			if out, err := exec.Command("flock", "-n", lock, "true").CombinedOutput(); err != nil {
				t.Errorf("the endpoint's lock is still held after the cancel: %v %s", err, out)
			}
		})

		// A unit systemd refuses to start (masked) fails the converge at once with systemd's
		// words, instead of a readiness wait that can only time out.
		t.Run("a refused unit fails fast", func(t *testing.T) {
			t.Parallel()
			h := lab.Host("masked")
			ctx, cancel := context.WithTimeout(context.Background(), labDeadline)
			defer cancel()
			if _, err := deploy(ctx, h, "ep", keys["masked1"]); err != nil {
				t.Fatal(err)
			}
			unit := vllm.UnitName("ep", 0)
			if out, err := h.Exec("systemctl mask --runtime " + unit); err != nil {
				t.Fatalf("masking %s: %v %s", unit, err, out)
			}
			_, err := deploy(ctx, h, "ep", keys["masked2"]) // a new key: the replica restarts
			t.Logf("converge of a masked unit: %v", err)
			if err == nil || !strings.Contains(err.Error(), "Unit "+unit+" is masked") || !strings.Contains(err.Error(), "load state masked") {
				t.Fatalf("want systemd's refusal in the error, got %v", err)
			}
			if strings.Contains(err.Error(), "not ready after") {
				t.Errorf("the converge waited for readiness: %v", err)
			}
		})
	})
	sampler.finish(t)
}

// nodeScripts lists the processes of h that run the node script.
func nodeScripts(h *sshlab.Host) []string {
	var out []string
	paths, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err == nil && bytes.Contains(b, []byte(h.Path(vllm.ScriptPath))) {
			out = append(out, fmt.Sprintf("%s: %s", filepath.Base(filepath.Dir(p)), strings.ReplaceAll(string(b), "\x00", " ")))
		}
	}
	return out
}
