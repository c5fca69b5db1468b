package onprem

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/inferstack/terraform-provider-inferstack/internal/acctest/sshlab"
	"github.com/inferstack/terraform-provider-inferstack/internal/vllm"
)

func TestCheckRef(t *testing.T) {
	t.Parallel()
	h := func(name, addr string, port int) Host { return Host{Name: name, Address: addr, Port: port} }
	for _, tc := range []struct {
		name string
		ref  ClusterRef
		want string // "" for ok
	}{
		{"ok", ClusterRef{Name: "lab", Hosts: []Host{h("a", "10.0.0.1", 0), h("b", "10.0.0.1", 2222)}}, ""},
		{"podman", ClusterRef{Name: "lab", Runtime: "podman", Hosts: []Host{h("a", "10.0.0.1", 0)}}, ""},
		{"bad name", ClusterRef{Name: "Lab", Hosts: []Host{h("a", "10.0.0.1", 0)}}, "not a valid cluster name"},
		{"no hosts", ClusterRef{Name: "lab"}, "at least one host"},
		{"same name", ClusterRef{Name: "lab", Hosts: []Host{h("a", "10.0.0.1", 0), h("a", "10.0.0.2", 0)}}, `"a" is used twice`},
		{"same address", ClusterRef{Name: "lab", Hosts: []Host{h("a", "10.0.0.1", 0), h("b", "10.0.0.1", 22)}}, "same address"},
		{"runtime", ClusterRef{Name: "lab", Runtime: "containerd", Hosts: []Host{h("a", "10.0.0.1", 0)}}, "not supported"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := CheckRef(tc.ref)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("CheckRef: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("CheckRef = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestClusterLifecycleOverSSH(t *testing.T) {
	t.Parallel()
	lab := startLab(t,
		sshlab.HostSpec{Name: "gpu-a", GPUs: []sshlab.GPU{{Model: "NVIDIA L4", MemoryMiB: 23034}, {Model: "NVIDIA L4", MemoryMiB: 23034}}},
		sshlab.HostSpec{Name: "gpu-b", GPUs: []sshlab.GPU{{Model: "NVIDIA H100 80GB HBM3", MemoryMiB: 81559}}},
	)
	c, err := NewClient(SSHConfig{PrivateKey: lab.UserPrivateKeyPEM, DialAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	a, b := lab.Host("gpu-a"), lab.Host("gpu-b")
	ref := ClusterRef{Name: "unit", Hosts: []Host{hostOf(a), hostOf(b)}}
	other := ClusterRef{Name: "other", Hosts: []Host{hostOf(a)}}

	nodes, err := EnsureCluster(ctx, c, ref)
	if err != nil {
		t.Fatalf("EnsureCluster: %v", err)
	}
	if len(nodes) != 2 || nodes[0].Name != "gpu-a" || len(nodes[0].GPUs) != 2 || nodes[1].GPUs[0].Model != "NVIDIA H100 80GB HBM3" {
		t.Fatalf("nodes = %+v", nodes)
	}
	for _, h := range []*sshlab.Host{a, b} {
		if st, err := os.Stat(h.Path(vllm.ScriptPath)); err != nil || st.Mode().Perm() != 0o755 {
			t.Errorf("%s: node script: %v %v", h.Name, st, err)
		}
		if _, err := os.Stat(h.Path(ClusterRecordPath("unit"))); err != nil {
			t.Errorf("%s: cluster record: %v", h.Name, err)
		}
	}
	if _, err := EnsureCluster(ctx, c, other); err != nil {
		t.Fatalf("EnsureCluster(other): %v", err)
	}

	// Drift: the GPUs changed; Read sees it.
	if err := lab.SetGPUs("gpu-b", []sshlab.GPU{{Model: "NVIDIA L40S", MemoryMiB: 46068}, {Model: "NVIDIA L40S", MemoryMiB: 46068}}); err != nil {
		t.Fatal(err)
	}
	nodes, unreachable, found, err := ReadCluster(ctx, c, ref)
	if err != nil || !found || len(unreachable) != 0 || len(nodes) != 2 || len(nodes[1].GPUs) != 2 {
		t.Fatalf("ReadCluster = %+v %v %v %v", nodes, unreachable, found, err)
	}

	// A replica on gpu-a: DeleteCluster of "unit" is not blocked there (gpu-a is shared with
	// "other"), but leaving the last cluster on a busy host is.
	ledger := `{"version":1,"allocations":[{"endpoint":"llama","replica":1,"gpus":[0],"port":8001}]}`
	if err := os.WriteFile(a.Path(vllm.StateDir, "ledger.json"), []byte(ledger+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	rep, err := Allocations(ctx, c, hostOf(a))
	if err != nil || len(rep.Allocations) != 1 || rep.Allocations[0].Endpoint != "llama" {
		t.Fatalf("Allocations = %+v, %v", rep, err)
	}
	if _, err := CheckNotBusy(ctx, c, []Host{hostOf(a)}); !IsBusy(err) || !strings.Contains(err.Error(), "host gpu-a still serves llama replica 1") {
		t.Fatalf("CheckNotBusy = %v", err)
	}
	if _, err := DeleteCluster(ctx, c, ref); err != nil {
		t.Fatalf("DeleteCluster(unit): %v", err)
	}
	if _, err := os.Stat(a.Path(vllm.ScriptPath)); err != nil {
		t.Errorf("gpu-a lost the node script though cluster other still uses it: %v", err)
	}
	if _, err := os.Stat(b.Path(vllm.ScriptPath)); !os.IsNotExist(err) {
		t.Errorf("gpu-b kept the node script: %v", err)
	}
	if _, _, found, _ := ReadCluster(ctx, c, ref); found {
		t.Errorf("ReadCluster found a deleted cluster")
	}
	if _, err := DeleteCluster(ctx, c, other); !IsBusy(err) {
		t.Fatalf("DeleteCluster(other) with a replica on its last host = %v, want a BusyError", err)
	}
	if err := os.Remove(a.Path(vllm.StateDir, "ledger.json")); err != nil {
		t.Fatal(err)
	}

	// An unreachable host is reported, not failed.
	if err := b.Stop(); err != nil {
		t.Fatal(err)
	}
	ref2 := ClusterRef{Name: "other", Hosts: []Host{hostOf(a), hostOf(b)}}
	_, unreachable, found, err = ReadCluster(ctx, c, ref2)
	if err != nil || !found || len(unreachable) != 1 || unreachable[0] != "gpu-b" {
		t.Fatalf("ReadCluster with gpu-b down = %v %v %v", unreachable, found, err)
	}
	unreachable, err = DeleteCluster(ctx, c, ref2)
	if err != nil || len(unreachable) != 1 {
		t.Fatalf("DeleteCluster with gpu-b down = %v, %v", unreachable, err)
	}
	if _, err := os.Stat(a.Path(ClusterRecordPath("other"))); !os.IsNotExist(err) {
		t.Errorf("gpu-a kept the record of other: %v", err)
	}
}
