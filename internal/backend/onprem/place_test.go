package onprem_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/inferstack/terraform-provider-inferstack/internal/acctest/sshlab"
	"github.com/inferstack/terraform-provider-inferstack/internal/backend/onprem"
	"github.com/inferstack/terraform-provider-inferstack/internal/vllm"
)

// TestConcurrentDeploysShareReports applies six one-GPU endpoints at once, as one Terraform run
// does, on three hosts of two GPUs each: every endpoint gets GPUs no other holds, the placements
// spread two to a host (each sees what the others placed before their ledgers show it, so none
// is refused for room and placed again), and the hosts are asked for their GPUs once per host
// (plus once after each host's ledger was written, at most), not once per endpoint and host: the
// sshd logs count the sessions. A second run of the same endpoints changes nothing and removes
// nothing from the hosts they are not on.
func TestConcurrentDeploysShareReports(t *testing.T) {
	t.Parallel()
	lab, ref, sessions := labCluster(t, "place", 2, "p1", "p2", "p3")
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	const n = 6
	cfgOf := func(i int) onprem.EndpointConfig {
		return onprem.EndpointConfig{Cluster: ref, Replicas: 1, MaxUnavailable: 1, APIKey: fmt.Sprintf("sk-place-%d-0123456789", i),
			Spec: vllm.Spec{Endpoint: fmt.Sprintf("ep%d", i), Model: vllm.Model{ID: "Qwen/Qwen2.5-7B-Instruct",
				Revision: strings.Repeat("a", 40)}, ReadyTimeout: 90 * time.Second}}
	}
	// run applies the n endpoints at once with a client of its own (one Terraform run) and
	// returns their placements and the sessions it opened.
	run := func() ([][]onprem.Placement, int) {
		c, err := onprem.NewClient(onprem.SSHConfig{PrivateKey: lab.UserPrivateKeyPEM})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		s0 := sessions()
		out := make([][]onprem.Placement, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				ps, err := c.DeployEndpoint(ctx, cfgOf(i))
				if err != nil {
					t.Errorf("ep%d: %v", i, err)
				}
				out[i] = ps
			})
		}
		wg.Wait()
		if t.Failed() {
			t.FailNow()
		}
		return out, sessions() - s0
	}

	first, used := run()
	perHost := map[string]int{}
	gpus := map[string]string{}
	for i, ps := range first {
		if len(ps) != 1 || !ps[0].Ready || len(ps[0].GPUIDs) != 1 {
			t.Fatalf("ep%d: want one ready replica on one GPU, got %+v", i, ps)
		}
		perHost[ps[0].Host]++
		k := fmt.Sprintf("%s/%d", ps[0].Host, ps[0].GPUIDs[0])
		if other, ok := gpus[k]; ok {
			t.Errorf("GPU %s is held by ep%d and %s", k, i, other)
		}
		gpus[k] = fmt.Sprintf("ep%d", i)
	}
	for _, h := range lab.Hosts {
		if perHost[h.Name] != 2 {
			t.Errorf("placements per host: %v, want 2 on each", perHost)
			break
		}
	}
	// Per endpoint: its apply on its host, its secrets in the same session (1). Per host: one
	// report, which checks the script's version in the same session, and as the hosts are new,
	// the script's install and the report again (3); after each apply, at most two more (the
	// read it overtook, which is not kept, and the next). Asked per endpoint and host, the
	// reports alone would be 2 x n x hosts sessions (version and GPUs), and the removes
	// n x (hosts - 1).
	hosts := len(lab.Hosts)
	most := n*1 + 3*hosts + 2*n
	if used > most {
		t.Errorf("%d SSH sessions to apply %d endpoints on %d hosts, want at most %d (reports shared by the placements)", used, n, hosts, most)
	}
	t.Logf("%d SSH sessions to apply %d endpoints on %d hosts", used, n, hosts)

	again, used := run()
	for i := range n {
		if len(again[i]) != 1 || again[i][0].Host != first[i][0].Host || again[i][0].GPUIDs[0] != first[i][0].GPUIDs[0] {
			t.Errorf("ep%d moved on a second apply: %+v, was %+v", i, again[i], first[i])
		}
	}
	if used > most {
		t.Errorf("%d SSH sessions to apply %d unchanged endpoints, want at most %d (no remove on hosts without them)", used, n, most)
	}
}

// labCluster starts an SSH lab of hosts named names with gpus NVIDIA L4 each and returns it, a
// cluster of its hosts named cluster, and a count of the sessions every host's sshd logged.
func labCluster(t *testing.T, cluster string, gpus int, names ...string) (*sshlab.Lab, onprem.ClusterRef, func() int) {
	t.Helper()
	var specs []sshlab.HostSpec
	for _, n := range names {
		g := make([]sshlab.GPU, gpus)
		for i := range g {
			g[i] = sshlab.GPU{Model: "NVIDIA L4", MemoryMiB: 23034}
		}
		specs = append(specs, sshlab.HostSpec{Name: n, GPUs: g})
	}
	lab, err := sshlab.Start(t.TempDir(), specs...)
	if err != nil {
		t.Fatalf("starting the SSH lab (needs openssh-server: run make tools): %v", err)
	}
	t.Cleanup(func() { _ = lab.Close() })
	ref := onprem.ClusterRef{Name: cluster}
	for _, h := range lab.Hosts {
		ref.Hosts = append(ref.Hosts, onprem.Host{Name: h.Name, Address: h.Address, Port: h.Port, HostKey: h.HostKey})
	}
	sessions := func() int {
		n := 0
		for _, h := range lab.Hosts {
			s, err := h.Sessions()
			if err != nil {
				t.Fatal(err)
			}
			n += s
		}
		return n
	}
	return lab, ref, sessions
}
