package onprem

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/inferstack/terraform-provider-inferstack/internal/acctest/sshlab"
)

// TestSilentHostIsUnreachable: a host that stops answering while a command runs on it (its
// sshd and sessions frozen: the TCP connection stays open, nothing comes back) is reported as
// unreachable by the keepalives, not waited for until the caller's deadline.
func TestSilentHostIsUnreachable(t *testing.T) {
	t.Parallel()
	lab := startLab(t, sshlab.HostSpec{Name: "quiet", GPUs: []sshlab.GPU{{Model: "NVIDIA L4", MemoryMiB: 23034}}})
	h := lab.Host("quiet")
	c, err := NewClient(SSHConfig{PrivateKey: lab.UserPrivateKeyPEM, DialAttempts: 1, KeepaliveInterval: time.Second, KeepaliveCountMax: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// The caller's deadline is far beyond the keepalives' 3 s: an error before it that says
	// "unreachable" can only come from them.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if _, err := c.Run(ctx, hostOf(h), "true", nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Thaw() })
	go func() {
		time.Sleep(time.Second) // the command below is running
		if err := h.Freeze(); err != nil {
			t.Errorf("freezing the host: %v", err)
		}
	}()
	_, err = c.Run(ctx, hostOf(h), "sleep 120", nil)
	t.Logf("command on a silent host: %v", err)
	if !IsUnreachable(err) || errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("want the host reported unreachable before the deadline, got %v", err)
	}
}
