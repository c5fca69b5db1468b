package onprem_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/inferstack/terraform-provider-inferstack/internal/acctest/sshlab"
	"github.com/inferstack/terraform-provider-inferstack/internal/backend"
	"github.com/inferstack/terraform-provider-inferstack/internal/backend/onprem"
	"github.com/inferstack/terraform-provider-inferstack/internal/vllm"
)

// TestOneReadPerEndpoint refreshes several endpoints of one host at once, each with its route's
// target, as a plan does, and counts on the host's sshd log: one login (handshake) for them all,
// and one session per endpoint (its status, spec and key together); the routes' targets ask the
// host nothing more.
func TestOneReadPerEndpoint(t *testing.T) {
	t.Parallel()
	l4 := sshlab.GPU{Model: "NVIDIA L4", MemoryMiB: 23034}
	dir := t.TempDir()
	lab, err := sshlab.Start(dir, sshlab.HostSpec{Name: "h1", GPUs: []sshlab.GPU{l4, l4, l4, l4}})
	if err != nil {
		t.Fatalf("starting the SSH lab (needs openssh-server: run make tools): %v", err)
	}
	t.Cleanup(func() { _ = lab.Close() })
	h := lab.Host("h1")
	ref := onprem.ClusterRef{Name: "reads", Hosts: []onprem.Host{{Name: h.Name, Address: h.Address, Port: h.Port, HostKey: h.HostKey}}}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const n = 4
	deployer, err := onprem.NewClient(onprem.SSHConfig{PrivateKey: lab.UserPrivateKeyPEM})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			_, err := deployer.DeployEndpoint(ctx, onprem.EndpointConfig{Cluster: ref, Replicas: 1, MaxUnavailable: 1,
				APIKey: fmt.Sprintf("sk-read-%d-0123456789", i),
				Spec: vllm.Spec{Endpoint: fmt.Sprintf("ep%d", i), Model: vllm.Model{ID: "Qwen/Qwen2.5-7B-Instruct",
					Revision: strings.Repeat("a", 40)}, ServedModelName: fmt.Sprintf("served-%d", i), ReadyTimeout: 30 * time.Second}})
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	deployer.Close()
	if t.Failed() {
		t.FailNow()
	}

	count := func() (logins, sessions int) {
		var err error
		if logins, err = h.Logins(); err == nil {
			sessions, err = h.Sessions()
		}
		if err != nil {
			t.Fatal(err)
		}
		return logins, sessions
	}
	logins0, sessions0 := count()
	reg := backend.NewRegistry(onprem.NewBackend(onprem.SSHConfig{PrivateKey: lab.UserPrivateKeyPEM}))
	b, _ := reg.ByName(onprem.Name)
	clusterID := onprem.EncodeClusterID(ref)
	for i := range n {
		name := fmt.Sprintf("ep%d", i)
		wg.Go(func() { // the endpoint's refresh
			if e, err := b.FindEndpoint(ctx, clusterID, name); err != nil || len(e.Replicas) != 1 || !e.Replicas[0].Ready {
				t.Errorf("FindEndpoint %s: %+v, %v", name, e, err)
			}
		})
		wg.Go(func() { // its route's Read and ModifyPlan
			for range 2 {
				tg, err := b.EndpointTarget(ctx, clusterID, name)
				if err != nil || tg.Ready != 1 || len(tg.URLs) != 1 || tg.ServedModelName != fmt.Sprintf("served-%d", i) ||
					tg.APIKey != fmt.Sprintf("sk-read-%d-0123456789", i) {
					t.Errorf("EndpointTarget %s: %+v, %v", name, tg, err)
				}
			}
		})
	}
	wg.Wait()
	logins, sessions := count()
	if d := logins - logins0; d != 1 {
		t.Errorf("%d SSH handshakes for %d concurrent endpoint reads on one host, want 1", d, n)
	}
	if d := sessions - sessions0; d != n {
		t.Errorf("%d SSH sessions for %d endpoints read with their routes' targets, want %d (one each)", d, n, n)
	}
}
