package onprem

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/inferstack/terraform-provider-inferstack/internal/acctest/sshlab"
)

// These tests run against real sshd hosts from the harness (internal/acctest/sshlab).

func startLab(t *testing.T, specs ...sshlab.HostSpec) *sshlab.Lab {
	t.Helper()
	dir, err := os.MkdirTemp("", "onprem-lab-")
	if err != nil {
		t.Fatal(err)
	}
	lab, err := sshlab.Start(dir, specs...)
	if err != nil {
		t.Fatalf("starting the SSH lab (run `make tools` to install openssh-server): %v", err)
	}
	t.Cleanup(func() { _ = lab.Close(); _ = os.RemoveAll(dir) })
	return lab
}

func hostOf(h *sshlab.Host) Host {
	return Host{Name: h.Name, Address: h.Address, Port: h.Port, User: h.User, HostKey: h.HostKey}
}

func TestDiscoverOverSSH(t *testing.T) {
	t.Parallel()
	lab := startLab(t,
		sshlab.HostSpec{Name: "gpu-a", GPUs: []sshlab.GPU{{Model: "NVIDIA L4", MemoryMiB: 23034}, {Model: "NVIDIA L4", MemoryMiB: 23034}}},
		sshlab.HostSpec{Name: "gpu-b", GPUs: []sshlab.GPU{{Model: "NVIDIA H100 80GB HBM3", MemoryMiB: 81559}}, DriverVersion: "575.57.08"},
	)
	c, err := NewClient(SSHConfig{PrivateKey: lab.UserPrivateKeyPEM, UserAgent: "inferstack-test"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()

	a, err := c.Discover(ctx, hostOf(lab.Host("gpu-a")), "docker")
	if err != nil {
		t.Fatal(err)
	}
	if len(a.GPUs) != 2 || a.GPUs[1].Index != 1 || a.GPUs[1].Model != "NVIDIA L4" || a.GPUs[1].MemoryMiB != 23034 {
		t.Errorf("gpu-a GPUs = %+v", a.GPUs)
	}
	if !a.RuntimeOK || !a.ToolkitOK || len(a.Problems) != 0 || a.DriverVersion != sshlab.DefaultDriverVersion {
		t.Errorf("gpu-a = %+v", a)
	}
	// The state folder was made on the host itself (under its lab root).
	if _, err := os.Stat(lab.Host("gpu-a").Path("var/lib/inferstack")); err != nil {
		t.Errorf("state folder not prepared: %v", err)
	}

	b, err := c.Discover(ctx, hostOf(lab.Host("gpu-b")), "podman")
	if err != nil {
		t.Fatal(err)
	}
	if len(b.GPUs) != 1 || b.GPUs[0].MemoryMiB != 81559 || b.DriverVersion != "575.57.08" {
		t.Errorf("gpu-b = %+v", b)
	}

	// GPUs that change on the host show on the next discovery (drift).
	if err := lab.SetGPUs("gpu-b", []sshlab.GPU{{Model: "NVIDIA H100 80GB HBM3", MemoryMiB: 81559}, {Model: "NVIDIA H100 80GB HBM3", MemoryMiB: 81559}}); err != nil {
		t.Fatal(err)
	}
	b, err = c.Discover(ctx, hostOf(lab.Host("gpu-b")), "docker")
	if err != nil || len(b.GPUs) != 2 {
		t.Errorf("after SetGPUs: %+v, %v", b, err)
	}
}

func TestHostKeyChecked(t *testing.T) {
	t.Parallel()
	lab := startLab(t,
		sshlab.HostSpec{Name: "gpu-a", GPUs: []sshlab.GPU{{Model: "NVIDIA L4", MemoryMiB: 23034}}},
		sshlab.HostSpec{Name: "gpu-b", GPUs: []sshlab.GPU{{Model: "NVIDIA L4", MemoryMiB: 23034}}},
	)
	ctx := context.Background()
	c, err := NewClient(SSHConfig{PrivateKey: lab.UserPrivateKeyPEM, DialAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	// gpu-a's address with gpu-b's key: refused, with both fingerprints named.
	h := hostOf(lab.Host("gpu-a"))
	h.HostKey = lab.Host("gpu-b").HostKey
	_, err = c.Run(ctx, h, "true", nil)
	if !IsHostKeyMismatch(err) || !strings.Contains(err.Error(), "SHA256:") {
		t.Fatalf("err = %v, want a host key mismatch naming fingerprints", err)
	}

	// No key at all and no known_hosts: refused before connecting.
	h.HostKey = ""
	if _, err := c.Run(ctx, h, "true", nil); err == nil || !strings.Contains(err.Error(), "insecure_ignore_host_key") {
		t.Fatalf("err = %v, want a missing-host-key error", err)
	}

	// known_hosts text works in place of host_key, and rejects an unknown host.
	kh, err := NewClient(SSHConfig{PrivateKey: lab.UserPrivateKeyPEM, KnownHosts: lab.Host("gpu-a").KnownHostsLine() + "\n", DialAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer kh.Close()
	if out, err := kh.Run(ctx, h, "echo hello", nil); err != nil || strings.TrimSpace(string(out)) != "hello" {
		t.Fatalf("known_hosts run = %q, %v", out, err)
	}
	if _, err := kh.Run(ctx, hostOf(lab.Host("gpu-b")), "true", nil); err != nil {
		// gpu-b carries its own host_key, which wins over known_hosts.
		t.Fatalf("gpu-b with its own host_key: %v", err)
	}
	// A fresh client (connections are cached per host): gpu-b without host_key is not in
	// known_hosts.
	kh2, err := NewClient(SSHConfig{PrivateKey: lab.UserPrivateKeyPEM, KnownHosts: lab.Host("gpu-a").KnownHostsLine() + "\n", DialAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer kh2.Close()
	other := hostOf(lab.Host("gpu-b"))
	other.HostKey = ""
	if _, err := kh2.Run(ctx, other, "true", nil); !IsHostKeyMismatch(err) {
		t.Fatalf("gpu-b not in known_hosts: err = %v, want a mismatch", err)
	}
}

func TestHostGoesAway(t *testing.T) {
	t.Parallel()
	lab := startLab(t, sshlab.HostSpec{Name: "gpu-a", GPUs: []sshlab.GPU{{Model: "NVIDIA L4", MemoryMiB: 23034}}})
	c, err := NewClient(SSHConfig{PrivateKey: lab.UserPrivateKeyPEM, DialAttempts: 2, ConnectTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	h := hostOf(lab.Host("gpu-a"))

	if _, err := c.Run(ctx, h, "exit 3", nil); err == nil {
		t.Fatal("exit 3 was not an error")
	} else {
		var exit *ExitError
		if !errors.As(err, &exit) || exit.Status != 3 {
			t.Fatalf("err = %v, want exit status 3", err)
		}
	}
	if out, err := c.Run(ctx, h, "cat", []byte("stdin reaches the host")); err != nil || string(out) != "stdin reaches the host" {
		t.Fatalf("stdin: %q, %v", out, err)
	}

	if err := lab.Host("gpu-a").Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Run(ctx, h, "true", nil); !IsUnreachable(err) {
		t.Fatalf("with the host down err = %v, want unreachable", err)
	}
	if err := lab.Host("gpu-a").Start(); err != nil {
		t.Fatal(err)
	}
	// The dropped connection is replaced: the next call works again.
	if out, err := c.Run(ctx, h, "echo back", nil); err != nil || strings.TrimSpace(string(out)) != "back" {
		t.Fatalf("after restart: %q, %v", out, err)
	}
}

func TestNewClientRejectsBadKey(t *testing.T) {
	t.Parallel()
	_, err := NewClient(SSHConfig{PrivateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nnot a key\n-----END OPENSSH PRIVATE KEY-----\n"})
	if err == nil || strings.Contains(err.Error(), "not a key") {
		t.Fatalf("err = %v, want a parse error that does not echo the key", err)
	}
}
