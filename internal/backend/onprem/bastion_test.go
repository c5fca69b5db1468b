package onprem

import (
	"context"
	"net"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/inferstack/terraform-provider-inferstack/internal/acctest/sshlab"
)

// These tests reach real sshd GPU hosts through a real sshd bastion (sshlab's HostSpec.Bastion).
// On loopback the hosts cannot refuse direct connections (see the sshlab package doc), so the
// tests prove the route by the logs: every login a host accepted is one the bastion forwarded.

func bastionLab(t *testing.T) *sshlab.Lab {
	return startLab(t,
		sshlab.HostSpec{Name: "jump", Bastion: true},
		sshlab.HostSpec{Name: "gpu-a", GPUs: []sshlab.GPU{{Model: "NVIDIA L4", MemoryMiB: 23034}, {Model: "NVIDIA L4", MemoryMiB: 23034}}},
		sshlab.HostSpec{Name: "gpu-b", GPUs: []sshlab.GPU{{Model: "NVIDIA H100 80GB HBM3", MemoryMiB: 81559}}},
	)
}

// behind is the lab host h as the backend sees it, reached through bastion.
func behind(h *sshlab.Host, bastion *Host) Host {
	host := hostOf(h)
	host.Via = bastion
	return host
}

// route is what the sshd logs tell of how h was reached: logins it accepted, and connections the
// bastion forwarded to it.
type route struct{ logins, forwards int }

func routeTo(t *testing.T, bastion, h *sshlab.Host) route {
	t.Helper()
	logins, err := h.Logins()
	if err != nil {
		t.Fatal(err)
	}
	forwards, err := bastion.Forwards(h)
	if err != nil {
		t.Fatal(err)
	}
	return route{logins, forwards}
}

func logins(t *testing.T, h *sshlab.Host) int {
	t.Helper()
	n, err := h.Logins()
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func newClient(t *testing.T, cfg SSHConfig) *Client {
	t.Helper()
	c, err := NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func TestBastion(t *testing.T) {
	t.Parallel()
	lab := bastionLab(t)
	jump, a, b := lab.Host("jump"), lab.Host("gpu-a"), lab.Host("gpu-b")
	bastion := hostOf(jump)
	ctx := context.Background()
	c := newClient(t, SSHConfig{PrivateKey: lab.UserPrivateKeyPEM, DialAttempts: 1, UserAgent: "inferstack-test"})
	beforeA, beforeB, jumpLogins := routeTo(t, jump, a), routeTo(t, jump, b), logins(t, jump)

	if out, err := c.Run(ctx, behind(a, &bastion), "hostname", nil); err != nil || string(out) != "gpu-a\n" {
		t.Fatalf("hostname through the bastion = %q, %v", out, err)
	}
	na, err := c.Discover(ctx, behind(a, &bastion), "docker")
	if err != nil {
		t.Fatal(err)
	}
	if len(na.GPUs) != 2 || na.GPUs[1].Model != "NVIDIA L4" || na.GPUs[1].MemoryMiB != 23034 || !na.RuntimeOK || !na.ToolkitOK {
		t.Errorf("gpu-a through the bastion = %+v", na)
	}
	nb, err := c.Discover(ctx, behind(b, &bastion), "docker")
	if err != nil {
		t.Fatal(err)
	}
	if len(nb.GPUs) != 1 || nb.GPUs[0].Model != "NVIDIA H100 80GB HBM3" || nb.Name != "gpu-b" || nb.Address != b.Address {
		t.Errorf("gpu-b through the bastion = %+v", nb)
	}

	// Each host accepted one login (its connection is cached), and that login is the one
	// connection the bastion forwarded to it: nothing reached it directly.
	for _, tt := range []struct {
		h      *sshlab.Host
		before route
	}{{a, beforeA}, {b, beforeB}} {
		after := routeTo(t, jump, tt.h)
		if after.logins-tt.before.logins != 1 || after.forwards-tt.before.forwards != 1 {
			t.Errorf("%s: %d new logins, %d connections forwarded by the bastion; want 1 and 1", tt.h.Name,
				after.logins-tt.before.logins, after.forwards-tt.before.forwards)
		}
	}
	// One connection to the bastion carries both hosts.
	if n := logins(t, jump) - jumpLogins; n != 1 {
		t.Errorf("the bastion accepted %d logins, want 1", n)
	}
}

func TestBastionHostKeys(t *testing.T) {
	t.Parallel()
	lab := bastionLab(t)
	jump, a, b := lab.Host("jump"), lab.Host("gpu-a"), lab.Host("gpu-b")
	ctx := context.Background()
	cfg := SSHConfig{PrivateKey: lab.UserPrivateKeyPEM, DialAttempts: 1}
	before := routeTo(t, jump, a)

	// The bastion pinned to another key (gpu-a's): refused at the bastion, with an error that
	// names it and the key it presented; the host behind it is never reached.
	wrong := hostOf(jump)
	wrong.HostKey = a.HostKey
	_, err := newClient(t, cfg).Run(ctx, behind(a, &wrong), "true", nil)
	jumpKey, perr := ParseHostKey(jump.HostKey)
	if perr != nil {
		t.Fatal(perr)
	}
	if !IsHostKeyMismatch(err) || !strings.Contains(err.Error(), "through bastion jump: ") ||
		!strings.Contains(err.Error(), "host jump ("+jump.Address) || !strings.Contains(err.Error(), ssh.FingerprintSHA256(jumpKey)) {
		t.Fatalf("wrong bastion key: err = %v, want a host key mismatch naming the bastion jump and its key", err)
	}
	if after := routeTo(t, jump, a); after != before {
		t.Fatalf("with the bastion refused, gpu-a was reached anyway: %+v, then %+v", before, after)
	}

	// The right bastion, and gpu-b's key pinned for gpu-a behind it: refused at gpu-a, and the
	// error names gpu-a, not the bastion. The bastion forwarded the connection, gpu-a accepted no
	// login.
	bastion := hostOf(jump)
	h := behind(a, &bastion)
	h.HostKey = b.HostKey
	_, err = newClient(t, cfg).Run(ctx, h, "true", nil)
	if !IsHostKeyMismatch(err) || !strings.Contains(err.Error(), "host gpu-a ("+a.Address) || strings.Contains(err.Error(), "bastion") {
		t.Fatalf("wrong host key behind the bastion: err = %v, want a mismatch naming gpu-a only", err)
	}
	if after := routeTo(t, jump, a); after.logins != before.logins || after.forwards != before.forwards+1 {
		t.Fatalf("gpu-a with a wrong key: %+v, then %+v; want one forward and no login", before, after)
	}

	// Without host_key on either, known_hosts is checked for both: the bastion at its address,
	// the host at its own (the address the bastion is asked to connect to).
	bare := hostOf(jump)
	bare.HostKey = ""
	h = behind(a, &bare)
	h.HostKey = ""
	both := jump.KnownHostsLine() + "\n" + a.KnownHostsLine() + "\n"
	cfg.KnownHosts = both
	if out, err := newClient(t, cfg).Run(ctx, h, "hostname", nil); err != nil || string(out) != "gpu-a\n" {
		t.Fatalf("known_hosts with both: %q, %v", out, err)
	}
	cfg.KnownHosts = a.KnownHostsLine() + "\n"
	_, err = newClient(t, cfg).Run(ctx, h, "true", nil)
	if !IsHostKeyMismatch(err) || !strings.Contains(err.Error(), "through bastion jump: ") || !strings.Contains(err.Error(), "not in known_hosts") {
		t.Fatalf("known_hosts without the bastion: err = %v, want a mismatch naming the bastion", err)
	}
	cfg.KnownHosts = jump.KnownHostsLine() + "\n"
	_, err = newClient(t, cfg).Run(ctx, h, "true", nil)
	if !IsHostKeyMismatch(err) || !strings.Contains(err.Error(), "host gpu-a ") || strings.Contains(err.Error(), "bastion") ||
		!strings.Contains(err.Error(), "not in known_hosts") {
		t.Fatalf("known_hosts without gpu-a: err = %v, want a mismatch naming gpu-a", err)
	}
}

func TestBastionGoesAway(t *testing.T) {
	t.Parallel()
	lab := startLab(t,
		sshlab.HostSpec{Name: "jump", Bastion: true},
		sshlab.HostSpec{Name: "gpu-a", GPUs: []sshlab.GPU{{Model: "NVIDIA L4", MemoryMiB: 23034}}},
	)
	jump, a := lab.Host("jump"), lab.Host("gpu-a")
	bastion := hostOf(jump)
	ctx := context.Background()
	c := newClient(t, SSHConfig{PrivateKey: lab.UserPrivateKeyPEM, DialAttempts: 2, ConnectTimeout: 2 * time.Second})
	h := behind(a, &bastion)

	if out, err := c.Run(ctx, h, "echo one", nil); err != nil || string(out) != "one\n" {
		t.Fatalf("through the bastion: %q, %v", out, err)
	}
	// The bastion goes down: the host is unreachable, and the error says it is the bastion.
	if err := jump.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Run(ctx, h, "true", nil); !IsUnreachable(err) || !strings.Contains(err.Error(), "bastion jump") {
		t.Fatalf("with the bastion down: err = %v, want unreachable naming the bastion", err)
	}
	// It comes back: the same client dials it again (not its dead cached connection).
	if err := jump.Start(); err != nil {
		t.Fatal(err)
	}
	if out, err := c.Run(ctx, h, "echo back", nil); err != nil || string(out) != "back\n" {
		t.Fatalf("after the bastion restarted: %q, %v", out, err)
	}

	// A host behind the bastion that accepts the connection but never speaks SSH: the dial gives
	// up after ConnectTimeout (a forwarded connection takes no deadline of its own).
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		var held []net.Conn
		defer func() {
			for _, c := range held {
				_ = c.Close()
			}
		}()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			held = append(held, conn)
		}
	}()
	silent := Host{Name: "silent", Address: "127.0.0.1", Port: ln.Addr().(*net.TCPAddr).Port, HostKey: a.HostKey, Via: &bastion}
	if err := runWithin(t, c, silent, 30*time.Second); !IsUnreachable(err) || !strings.Contains(err.Error(), "host silent") {
		t.Fatalf("a silent host behind the bastion: err = %v, want unreachable", err)
	}

	// A host behind the bastion that TCP never reaches (its SYNs are dropped, as a firewall
	// would): the bastion's connecting is bounded by ConnectTimeout too, and the bastion's own
	// connection, which is fine, is kept.
	jumpLogins := logins(t, jump)
	dropped := Host{Name: "dropped", Address: "127.0.0.1", Port: fullListener(t), HostKey: a.HostKey, Via: &bastion}
	if err := runWithin(t, c, dropped, 30*time.Second); !IsUnreachable(err) || !strings.Contains(err.Error(), "host dropped") ||
		!strings.Contains(err.Error(), "via bastion jump") {
		t.Fatalf("a host the bastion cannot connect to: err = %v, want unreachable via the bastion", err)
	}
	c.forget(h) // gpu-a is dialled again through the bastion's cached connection
	if out, err := c.Run(ctx, h, "echo still", nil); err != nil || string(out) != "still\n" {
		t.Fatalf("gpu-a after the timeouts: %q, %v", out, err)
	}
	if n := logins(t, jump) - jumpLogins; n != 0 {
		t.Errorf("the bastion was dialled %d more times: a timeout behind it dropped its connection", n)
	}
}

// runWithin runs true on h with c and returns the error, failing the test if it takes longer than limit.
func runWithin(t *testing.T, c *Client, h Host, limit time.Duration) error {
	t.Helper()
	start := time.Now()
	done := make(chan error, 1)
	go func() {
		_, err := c.Run(context.Background(), h, "true", nil)
		done <- err
	}()
	select {
	case err := <-done:
		t.Logf("%s: gave up after %s: %v", h.Name, time.Since(start).Round(100*time.Millisecond), err)
		return err
	case <-time.After(limit):
		t.Fatalf("%s: the dial still hangs after %s", h.Name, limit)
		return nil
	}
}

// fullListener returns the port of a listener on 127.0.0.1 whose accept queue is full (backlog
// 0, one connection queued, none accepted): the kernel drops the SYNs of every further one.
func fullListener(t *testing.T) int {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	port := sa.(*syscall.SockaddrInet4).Port
	filler, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = filler.Close() })
	return port
}
