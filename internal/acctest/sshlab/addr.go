//go:build linux

package sshlab

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// addressClaim holds one 127.0.0.x address for a lab host: an exclusive flock on a file named
// after it in the OS temp folder, held while the lab lives (and dropped by the kernel when the
// process ends), so labs of test packages running side by side never share an address and the
// ports of their stand-ins (8000, 8001, ...) cannot collide.
type addressClaim struct {
	addr string
	f    *os.File
}

// claimAddress claims the lowest free address from 127.0.0.2 up.
func claimAddress() (*addressClaim, error) {
	dir := filepath.Join(os.TempDir(), "inferstack-sshlab-addresses")
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return nil, fmt.Errorf("claiming a loopback address: %w", err)
	}
	for x := 2; x < 255; x++ {
		addr := fmt.Sprintf("127.0.0.%d", x)
		f, err := os.OpenFile(filepath.Join(dir, addr+".lock"), os.O_CREATE|os.O_RDWR, 0o666)
		if err != nil {
			return nil, fmt.Errorf("claiming a loopback address: %w", err)
		}
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
			_ = f.Close()
			if errors.Is(err, syscall.EWOULDBLOCK) {
				continue
			}
			return nil, fmt.Errorf("claiming %s: %w", addr, err)
		}
		if err := reapOrphans(addr); err != nil {
			_ = f.Close()
			return nil, err
		}
		return &addressClaim{addr: addr, f: f}, nil
	}
	return nil, errors.New("claiming a loopback address: 127.0.0.2 to 127.0.0.254 are all taken by other labs")
}

// reapOrphans kills the vLLM stand-ins still serving on addr. Whoever holds the address's claim
// is the only lab there, so a stand-in bound to it now was left by a lab whose process died (a
// test binary that panicked or timed out) and would hold the ports this lab's stand-ins need.
func reapOrphans(addr string) error {
	bound := " --host " + addr + " "
	if err := killProcesses(func(p process) bool {
		return strings.Contains(p.cmdline, "vllm-standin") && strings.Contains(p.cmdline+" ", bound)
	}); err != nil {
		return fmt.Errorf("claiming %s: stopping stand-ins a dead lab left there: %w", addr, err)
	}
	return nil
}

func (c *addressClaim) release() {
	if c.f != nil {
		_ = c.f.Close() // closing drops the flock
		c.f = nil
	}
}

// freePort returns a port nothing listens on at addr.
func freePort(addr string) (int, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort(addr, "0"))
	if err != nil {
		return 0, fmt.Errorf("finding a free port on %s: %w", addr, err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
