package onprem_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/inferstack/terraform-provider-inferstack/internal/acctest/sshlab"
	"github.com/inferstack/terraform-provider-inferstack/internal/backend/onprem"
	"github.com/inferstack/terraform-provider-inferstack/internal/vllm"
)

// TestEndpointLifecycle deploys, finds, scales and deletes an endpoint on a lab of two hosts
// over real SSH, and checks placement spreads replicas and reports per-host numbers when full.
func TestEndpointLifecycle(t *testing.T) {
	t.Parallel()
	dir, err := os.MkdirTemp("", "onprem-endpoint-")
	if err != nil {
		t.Fatal(err)
	}
	l4 := sshlab.GPU{Model: "NVIDIA L4", MemoryMiB: 23034}
	lab, err := sshlab.Start(dir, sshlab.HostSpec{Name: "h1", GPUs: []sshlab.GPU{l4, l4}}, sshlab.HostSpec{Name: "h2", GPUs: []sshlab.GPU{l4}})
	if err != nil {
		t.Fatalf("starting the SSH lab (needs openssh-server: run make tools): %v", err)
	}
	t.Cleanup(func() { _ = lab.Close(); _ = os.RemoveAll(dir) })
	c, err := onprem.NewClient(onprem.SSHConfig{PrivateKey: lab.UserPrivateKeyPEM})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ref := onprem.ClusterRef{Name: "t"}
	for _, h := range lab.Hosts {
		ref.Hosts = append(ref.Hosts, onprem.Host{Name: h.Name, Address: h.Address, Port: h.Port, HostKey: h.HostKey})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cfg := onprem.EndpointConfig{
		Cluster: ref,
		Spec: vllm.Spec{Endpoint: "ep", Model: vllm.Model{ID: "Qwen/Qwen2.5-7B-Instruct", Revision: strings.Repeat("a", 40)},
			ReadyTimeout: 30 * time.Second},
		Replicas: 2, APIKey: "sk-test-0123456789", MaxUnavailable: 1,
	}
	ps, err := c.DeployEndpoint(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 2 || ps[0].Host == ps[1].Host || !ps[0].Ready || !ps[1].Ready {
		t.Fatalf("want 2 ready replicas on two hosts, got %+v", ps)
	}
	found, err := c.FindEndpoint(ctx, ref, "ep")
	if err != nil || len(found.Placements) != 2 {
		t.Fatalf("FindEndpoint: %+v, %v", found, err)
	}
	// The secret never reaches a command line; it is a root-only file.
	st, err := os.Stat(lab.Host("h1").Path(vllm.SecretFilePath("ep", "VLLM_API_KEY")))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("secret file: %v, %v", st, err)
	}
	spec, err := c.FindEndpointSpec(ctx, ref, "ep")
	if err != nil || spec.Replicas != 2 || spec.TensorParallelSize != 1 {
		t.Fatalf("FindEndpointSpec: %+v, %v", spec, err)
	}

	cfg.Replicas = 4
	_, err = c.DeployEndpoint(ctx, cfg)
	if err == nil || !strings.Contains(err.Error(), "h1: 2 of 2 free") || !strings.Contains(err.Error(), "h2: 1 of 1 free") ||
		!strings.Contains(err.Error(), "need 4 replicas x 1 GPUs") {
		t.Fatalf("want a not-enough-GPUs error with per-host numbers, got %v", err)
	}
	cfg.Replicas = 1
	ps, err = c.DeployEndpoint(ctx, cfg)
	if err != nil || len(ps) != 1 || ps[0].Replica != 0 {
		t.Fatalf("scale in: %+v, %v", ps, err)
	}
	if _, err := c.DeleteEndpoint(ctx, ref, "ep", false); err != nil {
		t.Fatal(err)
	}
	if _, err := c.FindEndpoint(ctx, ref, "ep"); !onprem.IsNotFound(err) {
		t.Fatalf("after delete: want not found, got %v", err)
	}
	if err := lab.Host("h2").Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteEndpoint(ctx, ref, "ep", false); err == nil || !strings.Contains(err.Error(), "h2") {
		t.Fatalf("delete with an unreachable host: want an error naming h2, got %v", err)
	}
	if un, err := c.DeleteEndpoint(ctx, ref, "ep", true); err != nil || len(un) != 1 {
		t.Fatalf("forced delete: %v, %v", un, err)
	}
}
