package onprem_test

import (
	"context"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/inferstack/terraform-provider-inferstack/internal/acctest/sshlab"
	"github.com/inferstack/terraform-provider-inferstack/internal/backend"
	"github.com/inferstack/terraform-provider-inferstack/internal/backend/onprem"
	"github.com/inferstack/terraform-provider-inferstack/internal/vllm"
)

// TestDeployReportsProgress: a converge whose replica takes seconds to load reports the node
// script's steps (converging, starting the unit, ready) as they happen, in order, through the
// context's reporter: the step before the wait arrives seconds before the deploy returns.
func TestDeployReportsProgress(t *testing.T) {
	t.Parallel()
	dir, err := os.MkdirTemp("", "onprem-progress-")
	if err != nil {
		t.Fatal(err)
	}
	lab, err := sshlab.Start(dir, sshlab.HostSpec{Name: "slow", GPUs: []sshlab.GPU{{Model: "NVIDIA L4", MemoryMiB: 23034}}})
	if err != nil {
		t.Fatalf("starting the SSH lab (needs openssh-server: run make tools): %v", err)
	}
	t.Cleanup(func() { _ = lab.Close(); _ = os.RemoveAll(dir) })
	h := lab.Host("slow")
	c, err := onprem.NewClient(onprem.SSHConfig{PrivateKey: lab.UserPrivateKeyPEM})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	type step struct {
		at     time.Time
		source string
		line   string
	}
	var mu sync.Mutex
	var steps []step
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	ctx = backend.WithProgress(ctx, func(source, message string) {
		mu.Lock()
		defer mu.Unlock()
		steps = append(steps, step{time.Now(), source, message})
	})
	const load = 6 * time.Second
	cfg := onprem.EndpointConfig{
		Cluster: onprem.ClusterRef{Name: "t", Hosts: []onprem.Host{{Name: h.Name, Address: h.Address, Port: h.Port, HostKey: h.HostKey}}},
		Spec: vllm.Spec{Endpoint: "slow", Model: vllm.Model{ID: "Qwen/Qwen2.5-7B-Instruct", Revision: strings.Repeat("a", 40)},
			Env: map[string]string{"INFERSTACK_STANDIN_READY_AFTER": load.String()}, ReadyTimeout: 2 * time.Minute},
		Replicas: 1, APIKey: "sk-test-0123456789", MaxUnavailable: 1,
	}
	if _, err := c.DeployEndpoint(ctx, cfg); err != nil {
		t.Fatalf("deploy: %v", err)
	}
	done := time.Now()
	mu.Lock()
	defer mu.Unlock()
	var lines []string
	for _, s := range steps {
		lines = append(lines, s.source+": "+s.line)
	}
	t.Logf("steps:\n%s", strings.Join(lines, "\n"))
	want := []string{"converging endpoint slow", "starting " + vllm.UnitName("slow", 0), "endpoint slow is ready"}
	i := 0
	var starting time.Time
	for _, s := range steps {
		if i < len(want) && strings.Contains(s.line, want[i]) {
			if s.source != h.Name {
				t.Errorf("step %q came from %q, want the host %s", s.line, s.source, h.Name)
			}
			if i == 1 {
				starting = s.at
			}
			i++
		}
	}
	if i < len(want) {
		t.Fatalf("the steps lack %q (in order %q)", want[i], want)
	}
	// The replica loads for 6 s after its unit starts: the start was reported then, not at the end.
	if lead := done.Sub(starting); lead < load/2 {
		t.Errorf("the unit's start was reported %s before the deploy returned, want at least %s (streamed, not collected)", lead, load/2)
	}
}
