//go:build linux

package sshlab

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// Environment markers of the lab's sshd processes (sessions get INFERSTACK_ROOT instead).
const (
	labDirEnv  = "INFERSTACK_LAB_DIR"
	labHostEnv = "INFERSTACK_LAB_HOST"
)

// stdPATH is the PATH sshd and the boot of a host run with.
const stdPATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// Host is one SSH GPU host of a lab.
type Host struct {
	Name    string
	Address string // 127.0.0.x, x from 2 up, of this host alone
	Port    int    // sshd's port
	User    string // "root"
	// HostKey is the host's public key in authorized_keys format: "ssh-ed25519 AAAA...".
	HostKey string
	// Root is the host's state root: its INFERSTACK_ROOT, under which everything the node
	// script writes on this host lives.
	Root string
	// ShimDir is the host's shim folder: its INFERSTACK_SHIMS.
	ShimDir string
	// Bastion is set on a jump host (HostSpec.Bastion).
	Bastion bool

	lab *Lab
	dir string // DIR/hosts/NAME

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
}

func (l *Lab) newHost(spec HostSpec) (*Host, error) {
	claim, err := claimAddress()
	if err != nil {
		return nil, err
	}
	l.claims = append(l.claims, claim)
	port, err := freePort(claim.addr)
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(l.Dir, "hosts", spec.Name)
	if strings.ContainsAny(dir, " \t\n\"'\\$`") {
		return nil, fmt.Errorf("starting SSH lab: the lab folder %q must not contain spaces, quotes, '$' or '\\'", l.Dir)
	}
	h := &Host{
		Name:    spec.Name,
		Address: claim.addr,
		Port:    port,
		User:    "root",
		Root:    filepath.Join(dir, "root"),
		ShimDir: filepath.Join(dir, "shims"),
		Bastion: spec.Bastion,
		lab:     l,
		dir:     dir,
	}
	// What a fresh host has; the node script creates the rest (/var/lib/inferstack, ...).
	for _, d := range []string{"lab", UnitDir, "var/lib", "var/log", "run", "tmp", "root"} {
		if err := os.MkdirAll(filepath.Join(h.Root, d), 0o755); err != nil {
			return nil, fmt.Errorf("creating host %s: %w", h.Name, err)
		}
	}
	if err := h.writeHostKey(); err != nil {
		return nil, err
	}
	driver := spec.DriverVersion
	if driver == "" {
		driver = DefaultDriverVersion
	}
	if err := writeFileAtomic(h.Path("lab", "driver"), []byte(driver+"\n"), 0o644); err != nil {
		return nil, fmt.Errorf("creating host %s: %w", h.Name, err)
	}
	if err := h.SetGPUs(spec.GPUs); err != nil {
		return nil, err
	}
	if err := h.SetStandin(spec.Standin); err != nil {
		return nil, err
	}
	if err := h.writeShims(); err != nil {
		return nil, err
	}
	if err := h.writeConfig(); err != nil {
		return nil, err
	}
	return h, nil
}

func (h *Host) writeHostKey() error {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return fmt.Errorf("generating the host key of %s: %w", h.Name, err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "root@"+h.Name)
	if err != nil {
		return fmt.Errorf("encoding the host key of %s: %w", h.Name, err)
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		return fmt.Errorf("encoding the host key of %s: %w", h.Name, err)
	}
	h.HostKey = strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sshPub)))
	// sshd refuses a host key others can read.
	if err := os.WriteFile(h.hostKeyPath(), pem.EncodeToMemory(block), 0o600); err != nil {
		return fmt.Errorf("writing the host key of %s: %w", h.Name, err)
	}
	if err := os.WriteFile(h.hostKeyPath()+".pub", []byte(h.HostKey+" root@"+h.Name+"\n"), 0o644); err != nil {
		return fmt.Errorf("writing the host key of %s: %w", h.Name, err)
	}
	return nil
}

func (h *Host) hostKeyPath() string { return filepath.Join(h.dir, "ssh_host_ed25519_key") }
func (h *Host) configPath() string  { return filepath.Join(h.dir, "sshd_config") }
func (h *Host) logPath() string     { return filepath.Join(h.dir, "sshd.log") }

func (h *Host) writeConfig() error {
	lines := []string{
		"# sshd of the sshlab host " + h.Name,
		"ListenAddress " + net.JoinHostPort(h.Address, strconv.Itoa(h.Port)),
		"HostKey " + h.hostKeyPath(),
		"AuthorizedKeysFile " + h.lab.authorizedKeysPath(),
		"PidFile " + filepath.Join(h.dir, "sshd.pid"),
		"UsePAM no",
		"StrictModes no",
		"PermitRootLogin prohibit-password",
		"PubkeyAuthentication yes",
		"PasswordAuthentication no",
		"KbdInteractiveAuthentication no",
		"UseDNS no",
		"PrintMotd no",
		"PrintLastLog no",
		"MaxStartups 100:30:200",
		"MaxSessions 100",
		"Subsystem sftp internal-sftp",
		// Every session learns which lab host it is on (see the package doc). HOME is the host's
		// own: bash started by sshd reads ~/.bashrc, and this machine's root .bashrc runs `pyenv
		// init` (a rehash under a lock file): a session killed mid-rehash (a cancelled converge, a
		// host stopped) leaves the lock behind, and every later login waited 60 s for it.
		"SetEnv INFERSTACK_ROOT=" + h.Root + " INFERSTACK_SHIMS=" + h.ShimDir + " HOME=" + h.homeDir(),
	}
	if err := os.MkdirAll(h.homeDir(), 0o700); err != nil {
		return fmt.Errorf("making the home of %s: %w", h.Name, err)
	}
	for _, f := range []string{".bashrc", ".profile"} {
		if err := os.WriteFile(filepath.Join(h.homeDir(), f), []byte("# lab host "+h.Name+": no login scripts\n"), 0o644); err != nil {
			return fmt.Errorf("writing %s of %s: %w", f, h.Name, err)
		}
	}
	if h.Bastion {
		// DEBUG1 logs each forward it connects ("channel N: connected to ADDR port PORT").
		lines = append(lines, "AllowTcpForwarding yes", "LogLevel DEBUG1")
	} else {
		lines = append(lines, "LogLevel VERBOSE")
	}
	lines = append(lines, h.lab.extra...)
	if err := os.WriteFile(h.configPath(), []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		return fmt.Errorf("writing sshd_config of %s: %w", h.Name, err)
	}
	return nil
}

// Logins counts the logins the host's sshd accepted, from its log: the lab's own count too (Start
// logs in once to check each host, every Exec is one more).
func (h *Host) Logins() (int, error) {
	return h.countLog(func(line string) bool { return strings.HasPrefix(line, "Accepted publickey for ") })
}

// Sessions counts the sessions (commands) the host's sshd started, from its log ("Starting
// session:", logged at LogLevel VERBOSE): several sessions share one login when a client
// multiplexes them on one connection.
func (h *Host) Sessions() (int, error) {
	return h.countLog(func(line string) bool { return strings.Contains(line, "Starting session: ") })
}

// Forwards counts the TCP connections a bastion's sshd opened to target's sshd for its clients
// (ProxyJump), from its log. On loopback such a connection comes from 127.0.0.1 as a direct one
// does (see the package doc), so a test proves that it reached target only through the bastion
// by target's Logins growing exactly as much as Forwards.
func (h *Host) Forwards(target *Host) (int, error) {
	if !h.Bastion {
		return 0, fmt.Errorf("host %s is not a bastion: its sshd does not log forwards", h.Name)
	}
	suffix := fmt.Sprintf(": connected to %s port %d", target.Address, target.Port)
	return h.countLog(func(line string) bool { return strings.HasSuffix(line, suffix) })
}

// countLog counts the lines of the host's sshd log that match.
func (h *Host) countLog(match func(line string) bool) (int, error) {
	data, err := os.ReadFile(h.logPath())
	if err != nil {
		return 0, fmt.Errorf("reading the sshd log of %s: %w", h.Name, err)
	}
	n := 0
	for _, line := range strings.Split(string(data), "\n") {
		if match(strings.TrimRight(line, "\r")) {
			n++
		}
	}
	return n, nil
}

// Path joins elements onto the host's Root: h.Path("var/lib/inferstack", "ledger.json").
func (h *Host) Path(elem ...string) string {
	return filepath.Join(append([]string{h.Root}, elem...)...)
}

// KnownHostsLine is the host's known_hosts line: "[127.0.0.x]:PORT ssh-ed25519 AAAA...".
func (h *Host) KnownHostsLine() string {
	return knownhosts.Normalize(h.addr()) + " " + h.HostKey
}

func (h *Host) addr() string { return net.JoinHostPort(h.Address, strconv.Itoa(h.Port)) }

// SetGPUs changes the GPUs the host's nvidia-smi reports.
func (h *Host) SetGPUs(gpus []GPU) error {
	var b strings.Builder
	for i, g := range gpus {
		if strings.ContainsAny(g.Model, "|\n") || g.Model == "" || g.MemoryMiB <= 0 {
			return fmt.Errorf("setting the GPUs of %s: GPU %d: a model without '|' and a positive memory are needed", h.Name, i)
		}
		fmt.Fprintf(&b, "%d|%s|%d|%s\n", i, g.Model, g.MemoryMiB, gpuUUID(h.Name, i))
	}
	if err := writeFileAtomic(h.Path("lab", "gpus"), []byte(b.String()), 0o644); err != nil {
		return fmt.Errorf("setting the GPUs of %s: %w", h.Name, err)
	}
	return nil
}

// SetStandin changes how the stand-ins the host's docker shim starts from now on behave.
func (h *Host) SetStandin(s Standin) error {
	fail := ""
	switch {
	case s.Fail:
		fail = "1"
	case s.Hang:
		fail = "hang"
	}
	env := fmt.Sprintf("INFERSTACK_STANDIN_READY_AFTER=%s\nINFERSTACK_STANDIN_FAIL=%s\n", s.ReadyAfter, fail)
	if err := writeFileAtomic(h.Path("lab", "standin.env"), []byte(env), 0o644); err != nil {
		return fmt.Errorf("setting the stand-in of %s: %w", h.Name, err)
	}
	return nil
}

// Start starts the host's sshd (again, after Stop: same address, port and key) and waits until
// it accepts connections. Like a host that boots, it then starts its enabled units and the
// containers whose restart policy says so.
func (h *Host) Start() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.cmd != nil {
		select {
		case <-h.exited:
		default:
			return nil // running
		}
	}
	stderr, err := os.OpenFile(filepath.Join(h.dir, "sshd.stderr"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("starting host %s: %w", h.Name, err)
	}
	defer stderr.Close()
	cmd := exec.Command(h.lab.sshd, "-D", "-f", h.configPath(), "-E", h.logPath())
	cmd.Env = []string{"PATH=" + stdPATH, labDirEnv + "=" + h.lab.Dir, labHostEnv + "=" + h.dir}
	cmd.Stdout = stderr
	cmd.Stderr = stderr
	// Its own process group; SIGKILL if this process dies without closing the lab.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting sshd of host %s: %w", h.Name, err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	h.cmd, h.exited = cmd, exited

	deadline := time.Now().Add(10 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", h.addr(), time.Second)
		if err == nil {
			_ = conn.Close()
			break
		}
		select {
		case <-exited:
			return fmt.Errorf("sshd of host %s exited at start: %s", h.Name, h.logTail())
		default:
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			<-exited
			return fmt.Errorf("sshd of host %s does not listen on %s after 10s: %s", h.Name, h.addr(), h.logTail())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return h.boot()
}

// boot runs what a host does when it comes up: the docker daemon restores its containers,
// systemd starts the enabled units.
func (h *Host) boot() error {
	log, err := os.OpenFile(filepath.Join(h.dir, "boot.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("booting host %s: %w", h.Name, err)
	}
	defer log.Close()
	for _, tool := range []string{"docker", "systemctl"} {
		cmd := exec.Command("bash", filepath.Join(h.ShimDir, tool), "__boot")
		cmd.Env = []string{
			"PATH=" + h.ShimDir + ":" + stdPATH, "HOME=/root",
			"INFERSTACK_ROOT=" + h.Root, "INFERSTACK_SHIMS=" + h.ShimDir,
		}
		// A file, not a pipe: what boot leaves running must not hold Wait up.
		cmd.Stdout, cmd.Stderr = log, log
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("booting host %s (%s): %w; see %s", h.Name, tool, err, log.Name())
		}
	}
	return nil
}

func (h *Host) logTail() string {
	var parts []string
	for _, p := range []string{filepath.Join(h.dir, "sshd.stderr"), h.logPath()} {
		data, err := os.ReadFile(p)
		if err != nil || len(bytes.TrimSpace(data)) == 0 {
			continue
		}
		if len(data) > 2000 {
			data = data[len(data)-2000:]
		}
		parts = append(parts, strings.TrimSpace(string(data)))
	}
	if len(parts) == 0 {
		return "(no log)"
	}
	return strings.Join(parts, "\n")
}

// Stop makes the host go away at once, as a power cut does: sshd, its sessions, and every
// process its shims started are killed (SIGKILL), and its /run is emptied. Start brings it back.
func (h *Host) Stop() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.cmd != nil {
		// Established connections go too, as in a power cut: sshd's per-connection
		// processes are its children.
		if below, err := descendants(h.cmd.Process.Pid); err == nil {
			_ = killProcesses(below)
		}
		_ = h.cmd.Process.Kill()
		<-h.exited
		h.cmd = nil
	}
	if err := killProcesses(matchHost(h)); err != nil {
		return fmt.Errorf("stopping host %s: %w", h.Name, err)
	}
	if err := os.RemoveAll(h.Path("run")); err != nil {
		return fmt.Errorf("stopping host %s: %w", h.Name, err)
	}
	if err := os.MkdirAll(h.Path("run"), 0o755); err != nil {
		return fmt.Errorf("stopping host %s: %w", h.Name, err)
	}
	return nil
}

// Freeze makes the host go silent, as a host does that drops off the network without closing
// anything (a cable pulled, a bastion's route gone): sshd and its sessions are stopped (SIGSTOP),
// so connections stay open and nothing answers on them. Thaw brings it back.
func (h *Host) Freeze() error { return h.signalSSHD(syscall.SIGSTOP) }

// Thaw ends a Freeze (SIGCONT).
func (h *Host) Thaw() error { return h.signalSSHD(syscall.SIGCONT) }

// signalSSHD sends sig to sshd and every process below it (its connections and sessions).
func (h *Host) signalSSHD(sig syscall.Signal) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.cmd == nil {
		return fmt.Errorf("host %s is not running", h.Name)
	}
	below, err := descendants(h.cmd.Process.Pid)
	if err != nil {
		return err
	}
	procs, err := findProcesses(below)
	if err != nil {
		return err
	}
	pids := []int{h.cmd.Process.Pid}
	for _, p := range procs {
		pids = append(pids, p.pid)
	}
	for _, pid := range pids {
		if err := syscall.Kill(pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
			return fmt.Errorf("signalling process %d of host %s: %w", pid, h.Name, err)
		}
	}
	return nil
}

// homeDir is the HOME of the host's sessions: its own, apart from the machine's /root.
func (h *Host) homeDir() string { return filepath.Join(h.dir, "home") }

// ClientConfig is an SSH client configuration for the host: the lab's user key, and the lab's
// known_hosts for strict host-key checking.
func (h *Host) ClientConfig() (*ssh.ClientConfig, error) {
	callback, err := knownhosts.New(h.lab.KnownHostsPath)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", h.lab.KnownHostsPath, err)
	}
	return &ssh.ClientConfig{
		User:              h.User,
		Auth:              []ssh.AuthMethod{ssh.PublicKeys(h.lab.signer)},
		HostKeyCallback:   callback,
		HostKeyAlgorithms: []string{ssh.KeyAlgoED25519},
		Timeout:           10 * time.Second,
	}, nil
}

// Dial opens an SSH connection to the host.
func (h *Host) Dial() (*ssh.Client, error) {
	cfg, err := h.ClientConfig()
	if err != nil {
		return nil, err
	}
	c, err := ssh.Dial("tcp", h.addr(), cfg)
	if err != nil {
		return nil, fmt.Errorf("connecting to host %s (%s): %w", h.Name, h.addr(), err)
	}
	return c, nil
}

// ExecError is a command run by Exec that failed; errors.As reaches *ssh.ExitError through it.
type ExecError struct {
	Host    string
	Command string
	Stdout  string
	Stderr  string
	Err     error
}

func (e *ExecError) Error() string {
	cmd := e.Command
	if len(cmd) > 200 {
		cmd = cmd[:200] + "..."
	}
	msg := fmt.Sprintf("running %q on host %s: %v", cmd, e.Host, e.Err)
	if s := strings.TrimSpace(e.Stderr); s != "" {
		msg += ": " + s
	}
	return msg
}

func (e *ExecError) Unwrap() error { return e.Err }

// ExitStatus is the command's exit status, or -1 when it did not exit (no connection, killed).
func (e *ExecError) ExitStatus() int {
	var exit *ssh.ExitError
	if errors.As(e.Err, &exit) {
		return exit.ExitStatus()
	}
	return -1
}

// Exec runs cmd on the host over SSH (strict host-key checking) in the host's environment, with
// ShimPATH first, and returns its standard output. A failure is an *ExecError with stderr.
func (h *Host) Exec(cmd string) (string, error) {
	return h.ExecContext(context.Background(), cmd)
}

// ExecContext is Exec that gives up when ctx ends.
func (h *Host) ExecContext(ctx context.Context, cmd string) (string, error) {
	return h.run(ctx, ShimPATH+"\n"+cmd)
}

// run runs a command as it is given, without ShimPATH.
func (h *Host) run(ctx context.Context, cmd string) (string, error) {
	client, err := h.Dial()
	if err != nil {
		return "", &ExecError{Host: h.Name, Command: cmd, Err: err}
	}
	defer client.Close()
	sess, err := client.NewSession()
	if err != nil {
		return "", &ExecError{Host: h.Name, Command: cmd, Err: fmt.Errorf("opening a session: %w", err)}
	}
	defer sess.Close()
	var stdout, stderr bytes.Buffer
	sess.Stdout, sess.Stderr = &stdout, &stderr
	done := make(chan error, 1)
	go func() { done <- sess.Run(cmd) }()
	select {
	case err = <-done:
	case <-ctx.Done():
		_ = client.Close()
		<-done
		err = ctx.Err()
	}
	if err != nil {
		return stdout.String(), &ExecError{Host: h.Name, Command: cmd, Stdout: stdout.String(), Stderr: stderr.String(), Err: err}
	}
	return stdout.String(), nil
}

// checkEnv proves that a session on the host sees INFERSTACK_ROOT and INFERSTACK_SHIMS (from
// sshd's SetEnv) and that ShimPATH makes the shims win over the machine's own tools.
func (h *Host) checkEnv() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := h.run(ctx, `printf '%s\n%s\n' "${INFERSTACK_ROOT-unset}" "${INFERSTACK_SHIMS-unset}"; `+
		ShimPATH+`; command -v docker; command -v nvidia-smi; command -v systemctl`)
	if err != nil {
		return fmt.Errorf("checking the environment of host %s: %w", h.Name, err)
	}
	got := strings.Split(strings.TrimSpace(out), "\n")
	want := []string{
		h.Root, h.ShimDir,
		filepath.Join(h.ShimDir, "docker"), filepath.Join(h.ShimDir, "nvidia-smi"), filepath.Join(h.ShimDir, "systemctl"),
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		return fmt.Errorf("checking the environment of host %s: a session sees %q, want %q "+
			"(sshd_config SetEnv gives INFERSTACK_ROOT and INFERSTACK_SHIMS; ShimPATH puts the shims first)", h.Name, got, want)
	}
	return nil
}

func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, perm); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
