//go:build linux

package sshlab

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestClaimReapsOrphanedStandins: a stand-in left serving on an address by a lab whose process
// died is stopped when the address is claimed again, so the new lab's stand-ins get its ports;
// a stand-in on another address is left alone.
func TestClaimReapsOrphanedStandins(t *testing.T) {
	c, err := claimAddress()
	if err != nil {
		t.Fatal(err)
	}
	addr := c.addr
	bin := filepath.Join(t.TempDir(), "vllm-standin")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\nwhile :; do sleep 1; done\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	start := func(host string) (*exec.Cmd, chan error) {
		cmd := exec.Command(bin, "serve", "--model", "m", "--host", host, "--port", "8000")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill() })
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		return cmd, done
	}
	_, orphan := start(addr)
	_, other := start("127.0.0.254") // another lab's address (a prefix of none)
	c.release()                      // the lab "dies": its claim is gone, its stand-in is not

	c2, err := claimAddress()
	if err != nil {
		t.Fatal(err)
	}
	defer c2.release()
	if c2.addr != addr {
		t.Skipf("another lab claimed %s in between", addr)
	}
	select {
	case <-orphan:
	case <-time.After(15 * time.Second):
		t.Fatalf("the stand-in orphaned on %s still runs after the address was claimed again", addr)
	}
	select {
	case err := <-other:
		t.Fatalf("the stand-in on another address was stopped too: %v", err)
	case <-time.After(200 * time.Millisecond):
	}
}
