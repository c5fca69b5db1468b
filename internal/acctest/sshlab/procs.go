//go:build linux

package sshlab

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// process is what /proc tells about a live (not zombie) process.
type process struct {
	pid     int
	ppid    int
	cmdline string   // arguments joined by spaces
	environ []string // the environment it was started with
}

// processes lists the live processes of the machine but this one.
func processes() ([]process, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("listing processes: %w", err)
	}
	self := os.Getpid()
	var out []process
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue // gone
		}
		if i := bytes.LastIndexByte(stat, ')'); i < 0 || i+2 >= len(stat) || stat[i+2] == 'Z' || stat[i+2] == 'X' {
			continue // zombies hold nothing; on some machines nobody reaps them
		}
		ppid := 0
		if i := bytes.LastIndexByte(stat, ')'); i+4 < len(stat) {
			if f := strings.Fields(string(stat[i+2:])); len(f) > 1 {
				ppid, _ = strconv.Atoi(f[1])
			}
		}
		cmdline, _ := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		environ, _ := os.ReadFile("/proc/" + e.Name() + "/environ")
		out = append(out, process{
			pid:     pid,
			ppid:    ppid,
			cmdline: strings.TrimSpace(strings.ReplaceAll(string(cmdline), "\x00", " ")),
			environ: strings.Split(string(environ), "\x00"),
		})
	}
	return out, nil
}

func (p process) hasEnv(kv string) bool {
	for _, e := range p.environ {
		if e == kv {
			return true
		}
	}
	return false
}

func (p process) hasEnvPrefix(prefix string) bool {
	for _, e := range p.environ {
		if strings.HasPrefix(e, prefix) {
			return true
		}
	}
	return false
}

// matchDir matches every process of a lab in dir, and nothing else even when dir is a broad
// folder: its sshd (config path under dir/hosts, INFERSTACK_LAB_DIR), the stand-ins built into
// dir/bin, and everything started in a session or by a shim (INFERSTACK_ROOT under dir/hosts).
func matchDir(dir string) func(process) bool {
	dir = strings.TrimSuffix(dir, "/")
	hosts := dir + "/hosts/"
	return func(p process) bool {
		return strings.Contains(p.cmdline, hosts) ||
			strings.Contains(p.cmdline, dir+"/bin/vllm-standin") ||
			p.hasEnv(labDirEnv+"="+dir) ||
			p.hasEnvPrefix("INFERSTACK_ROOT="+hosts)
	}
}

// matchHost matches the processes of one host: its sshd and sessions, and what its shims started.
func matchHost(h *Host) func(process) bool {
	return func(p process) bool {
		return p.hasEnv(labHostEnv+"="+h.dir) ||
			p.hasEnv("INFERSTACK_ROOT="+h.Root) ||
			strings.Contains(p.cmdline, h.dir+"/")
	}
}

// findProcesses returns the live processes that match.
func findProcesses(match func(process) bool) ([]process, error) {
	all, err := processes()
	if err != nil {
		return nil, err
	}
	var out []process
	for _, p := range all {
		if match(p) {
			out = append(out, p)
		}
	}
	return out, nil
}

// killProcesses SIGKILLs every matching process, again until none is left (a process may start
// another while it is being killed).
func killProcesses(match func(process) bool) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		left, err := findProcesses(match)
		if err != nil {
			return err
		}
		if len(left) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			pids := make([]string, 0, len(left))
			for _, p := range left {
				pids = append(pids, fmt.Sprintf("%d (%s)", p.pid, p.cmdline))
			}
			return fmt.Errorf("processes survive SIGKILL: %s", strings.Join(pids, ", "))
		}
		for _, p := range left {
			if err := syscall.Kill(p.pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
				return fmt.Errorf("killing process %d: %w", p.pid, err)
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// descendants returns a matcher for every live process below pid. sshd's per-connection
// processes retitle themselves ("sshd: root@notty"), which overwrites the command line and
// environment /proc shows, so they are found by parentage instead.
func descendants(pid int) (func(process) bool, error) {
	all, err := processes()
	if err != nil {
		return nil, err
	}
	parent := make(map[int]int, len(all))
	for _, p := range all {
		parent[p.pid] = p.ppid
	}
	below := map[int]bool{}
	for _, p := range all {
		for q, hops := p.ppid, 0; q > 1 && hops < 64; q, hops = parent[q], hops+1 {
			if q == pid {
				below[p.pid] = true
				break
			}
		}
	}
	return func(p process) bool { return below[p.pid] }, nil
}
