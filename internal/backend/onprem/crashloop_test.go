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

// TestDeployCrashLoopFailsFast deploys a replica that exits at start, as a vLLM does when
// another process holds the GPU memory it wants: the deploy fails once the replica restarted
// three times, not at the readiness timeout, naming the replica and showing vLLM's error. systemd
// keeps restarting it, so once the GPU is free the replica serves by itself, with no new deploy.
func TestDeployCrashLoopFailsFast(t *testing.T) {
	t.Parallel()
	dir, err := os.MkdirTemp("", "onprem-crash-")
	if err != nil {
		t.Fatal(err)
	}
	lab, err := sshlab.Start(dir, sshlab.HostSpec{Name: "h1", GPUs: []sshlab.GPU{{Model: "NVIDIA L4", MemoryMiB: 23034}}})
	if err != nil {
		t.Fatalf("starting the SSH lab (needs openssh-server: run make tools): %v", err)
	}
	t.Cleanup(func() { _ = lab.Close(); _ = os.RemoveAll(dir) })
	h := lab.Host("h1")
	c, err := onprem.NewClient(onprem.SSHConfig{PrivateKey: lab.UserPrivateKeyPEM})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ref := onprem.ClusterRef{Name: "t", Hosts: []onprem.Host{{Name: h.Name, Address: h.Address, Port: h.Port, HostKey: h.HostKey}}}

	// Another process holds half the GPU's memory: vLLM (0.92 of it by default) exits at start.
	if _, err := h.Exec(`docker run -d --name squatter --gpus '"device=0"' -p 8399:8000 img m --gpu-memory-utilization 0.5`); err != nil {
		t.Fatal(err)
	}
	const readyTimeout = 120 * time.Second // the deploy must fail long before it (about 20 s: four starts 5 s apart); wide for loaded CI machines
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cfg := onprem.EndpointConfig{
		Cluster: ref,
		Spec: vllm.Spec{Endpoint: "ep", Model: vllm.Model{ID: "Qwen/Qwen2.5-7B-Instruct", Revision: strings.Repeat("a", 40)},
			ReadyTimeout: readyTimeout},
		Replicas: 1, APIKey: "sk-test-0123456789", MaxUnavailable: 1,
	}
	start := time.Now()
	_, err = c.DeployEndpoint(ctx, cfg)
	took := time.Since(start)
	t.Logf("deploy failed after %s:\n%v", took.Round(time.Millisecond), err)
	if err == nil {
		t.Fatal("a replica that exits at start deployed")
	}
	// Three restarts 5s apart after the first start: about 15s and the stand-in's four runs.
	if took > readyTimeout/2 {
		t.Errorf("the deploy failed after %s, want well under the %s readiness timeout", took.Round(time.Millisecond), readyTimeout)
	}
	msg := err.Error()
	// The replica's line: its unit, that it crash-looped and why, in vLLM's words; the log lines
	// below it say the same.
	var reason string
	for _, line := range strings.Split(msg, "\n") {
		if strings.HasPrefix(line, "  replica 0 (") {
			reason = line
		}
	}
	for _, want := range []string{
		"replica 0 (" + vllm.UnitName("ep", 0) + ",",
		"crash-looped: it restarted 3 times while apply waited",
		"last exit status 1",
		"vLLM: ValueError: Free memory on device cuda:0",
	} {
		if !strings.Contains(reason, want) {
			t.Errorf("the replica's reason lacks %q: %q", want, reason)
		}
	}
	if !strings.Contains(msg, "    | ValueError: Free memory on device cuda:0") {
		t.Error("the replica's last log lines lack the stand-in's error")
	}
	if strings.Contains(msg, "not ready after") {
		t.Error("the error names the readiness timeout: the deploy waited it out")
	}

	// The GPU is free again: systemd's next restart of the replica serves, with no new deploy
	// (the units have no start limit), and a deploy then finds it ready and changes nothing.
	if _, err := h.Exec("docker rm -f squatter"); err != nil {
		t.Fatal(err)
	}
	healed := false
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline) && !healed; time.Sleep(time.Second) {
		out, err := h.Exec("curl -s -o /dev/null -w '%{http_code}' http://" + h.Address + ":8000/health || true")
		healed = err == nil && strings.TrimSpace(out) == "200"
	}
	if !healed {
		t.Fatal("the replica did not serve by itself once the GPU was free")
	}
	ps, err := c.DeployEndpoint(ctx, cfg)
	if err != nil || len(ps) != 1 || !ps[0].Ready {
		t.Fatalf("deploy once the replica healed: %+v, %v", ps, err)
	}
}
