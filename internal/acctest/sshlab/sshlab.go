//go:build linux

package sshlab

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
)

// DefaultDriverVersion is the NVIDIA driver version hosts report unless their spec names one.
const DefaultDriverVersion = "580.95.05"

// ShimPATH is the line remote commands start with: on a lab host it puts the host's shims first
// on PATH, on a real host (no INFERSTACK_SHIMS) it changes nothing.
const ShimPATH = `export PATH="${INFERSTACK_SHIMS:+$INFERSTACK_SHIMS:}$PATH"`

// Paths under Host.Root that tests read.
const (
	DockerLog    = "lab/docker.log"    // docker shim calls, one a line
	PodmanLog    = "lab/podman.log"    // podman shim calls
	SystemctlLog = "lab/systemctl.log" // systemctl shim calls
	UnitDir      = "etc/systemd/system"
	JournalDir   = "var/log/journal"
)

// GPU is one GPU of a host, as nvidia-smi reports it.
type GPU struct {
	Model     string // e.g. "NVIDIA L4", "NVIDIA H100 80GB HBM3"
	MemoryMiB int    // e.g. 23034, 81559
}

// Standin is how the vLLM stand-ins a host's docker shim starts behave.
type Standin struct {
	// ReadyAfter is how long "loading the model" takes: /health answers 503 until then.
	ReadyAfter time.Duration
	// Fail makes the load fail: after ReadyAfter the stand-in prints a CUDA out-of-memory error
	// and exits 1, as vLLM does.
	Fail bool
	// Hang keeps the stand-in loading for ever: /health never answers 200, it never exits.
	Hang bool
}

// HostSpec describes a host to start.
type HostSpec struct {
	Name          string // letters, digits, '-', '_' and '.'
	GPUs          []GPU
	DriverVersion string // default DefaultDriverVersion
	Standin       Standin
	// Bastion makes the host a jump host (SSH ProxyJump) to the lab's others instead of a GPU
	// host: it has no GPUs, and its sshd permits TCP forwarding and logs every forward it opens
	// (Host.Forwards).
	Bastion bool
}

// Lab is a set of running SSH GPU hosts sharing one user key.
type Lab struct {
	Dir   string // configs, keys, logs and the hosts' roots
	Hosts []*Host
	// UserPrivateKeyPEM is an OpenSSH private key (ed25519) authorised on every host as root.
	UserPrivateKeyPEM string
	// UserPublicKey is that key in authorized_keys format: "ssh-ed25519 AAAA...".
	UserPublicKey string
	// UserKeyPath is a file holding UserPrivateKeyPEM (mode 0600), for `ssh -i`.
	UserKeyPath string
	// KnownHostsPath is a known_hosts file with every host's line.
	KnownHostsPath string
	// StandinBin is the vLLM stand-in binary the docker shims run.
	StandinBin string

	sshd   string
	extra  []string // sshd_config lines this sshd version needs
	signer ssh.Signer
	claims []*addressClaim
}

var namePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)

// Start starts one sshd per spec, in dir (created if needed), and returns when every host
// accepts SSH sessions that see their INFERSTACK_ROOT and INFERSTACK_SHIMS. Processes left in
// dir by an earlier lab that was never closed are killed first.
func Start(dir string, specs ...HostSpec) (*Lab, error) {
	if len(specs) == 0 {
		return nil, errors.New("starting SSH lab: no hosts given")
	}
	seen := map[string]bool{}
	for _, s := range specs {
		if !namePattern.MatchString(s.Name) {
			return nil, fmt.Errorf("starting SSH lab: host name %q: use letters, digits, '-', '_' and '.'", s.Name)
		}
		if seen[s.Name] {
			return nil, fmt.Errorf("starting SSH lab: host name %q given twice", s.Name)
		}
		if s.Bastion && len(s.GPUs) > 0 {
			return nil, fmt.Errorf("starting SSH lab: host %q: a bastion has no GPUs", s.Name)
		}
		seen[s.Name] = true
	}
	sshd, err := findSSHD()
	if err != nil {
		return nil, err
	}
	if os.Geteuid() != 0 {
		return nil, errors.New("starting SSH lab: run as root: the hosts log in root, and a non-root sshd can only log in its own user")
	}
	dir, err = filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("starting SSH lab: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("starting SSH lab: %w", err)
	}
	if err := killProcesses(matchDir(dir)); err != nil {
		return nil, fmt.Errorf("starting SSH lab: cleaning up an earlier lab in %s: %w", dir, err)
	}
	// sshd's privilege separation folder.
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
		return nil, fmt.Errorf("starting SSH lab: %w", err)
	}

	l := &Lab{Dir: dir, sshd: sshd, extra: sshdExtraConfig(sshd)}
	ok := false
	defer func() {
		if !ok {
			_ = l.Close()
		}
	}()

	if l.StandinBin, err = standinBinary(dir); err != nil {
		return nil, err
	}
	if err := l.writeUserKey(); err != nil {
		return nil, err
	}
	for _, spec := range specs {
		h, err := l.newHost(spec)
		if err != nil {
			return nil, err
		}
		l.Hosts = append(l.Hosts, h)
	}
	if err := l.writeKnownHosts(); err != nil {
		return nil, err
	}
	for _, h := range l.Hosts {
		if err := h.Start(); err != nil {
			return nil, err
		}
		if err := h.checkEnv(); err != nil {
			return nil, err
		}
	}
	ok = true
	return l, nil
}

// Host returns the host with the given name, or nil.
func (l *Lab) Host(name string) *Host {
	for _, h := range l.Hosts {
		if h.Name == name {
			return h
		}
	}
	return nil
}

// SetGPUs changes the GPUs a host's nvidia-smi reports (for drift tests).
func (l *Lab) SetGPUs(host string, gpus []GPU) error {
	h := l.Host(host)
	if h == nil {
		return fmt.Errorf("setting GPUs: no host %q in the lab", host)
	}
	return h.SetGPUs(gpus)
}

// Close stops every host and every process the shims started, and releases the addresses.
// The lab's files stay in Dir.
func (l *Lab) Close() error {
	var errs []error
	for _, h := range l.Hosts {
		if err := h.Stop(); err != nil {
			errs = append(errs, err)
		}
	}
	if err := killProcesses(matchDir(l.Dir)); err != nil {
		errs = append(errs, err)
	}
	for _, c := range l.claims {
		c.release()
	}
	l.claims = nil
	return errors.Join(errs...)
}

func findSSHD() (string, error) {
	if p, err := exec.LookPath("sshd"); err == nil {
		return filepath.Abs(p) // sshd re-executes itself and needs an absolute path
	}
	for _, p := range []string{"/usr/sbin/sshd", "/usr/local/sbin/sshd"} {
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p, nil
		}
	}
	return "", errors.New("sshd not found: run `make tools` (installs openssh-server)")
}

// sshdExtraConfig returns config lines the installed sshd needs: OpenSSH 9.8 and later penalise
// sources whose connections end before authenticating, which tests do on purpose (a refused host key).
func sshdExtraConfig(sshd string) []string {
	out, _ := exec.Command(sshd, "-V").CombinedOutput() // prints the version and exits non-zero
	m := regexp.MustCompile(`OpenSSH_(\d+)\.(\d+)`).FindStringSubmatch(string(out))
	if m == nil {
		return nil
	}
	major, _ := strconv.Atoi(m[1])
	minor, _ := strconv.Atoi(m[2])
	if major > 9 || major == 9 && minor >= 8 {
		return []string{"PerSourcePenalties no"}
	}
	return nil
}

func (l *Lab) writeUserKey() error {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return fmt.Errorf("generating the lab user key: %w", err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "inferstack-sshlab-user")
	if err != nil {
		return fmt.Errorf("encoding the lab user key: %w", err)
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		return fmt.Errorf("encoding the lab user key: %w", err)
	}
	if l.signer, err = ssh.NewSignerFromKey(priv); err != nil {
		return fmt.Errorf("the lab user key: %w", err)
	}
	l.UserPrivateKeyPEM = string(pem.EncodeToMemory(block))
	l.UserPublicKey = strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sshPub)))
	l.UserKeyPath = filepath.Join(l.Dir, "id_ed25519")
	if err := os.WriteFile(l.UserKeyPath, []byte(l.UserPrivateKeyPEM), 0o600); err != nil {
		return fmt.Errorf("writing the lab user key: %w", err)
	}
	if err := os.WriteFile(l.UserKeyPath+".pub", []byte(l.UserPublicKey+" inferstack-sshlab-user\n"), 0o644); err != nil {
		return fmt.Errorf("writing the lab user key: %w", err)
	}
	if err := os.WriteFile(l.authorizedKeysPath(), []byte(l.UserPublicKey+" inferstack-sshlab-user\n"), 0o644); err != nil {
		return fmt.Errorf("writing authorized_keys: %w", err)
	}
	return nil
}

func (l *Lab) authorizedKeysPath() string { return filepath.Join(l.Dir, "authorized_keys") }

func (l *Lab) writeKnownHosts() error {
	var b strings.Builder
	for _, h := range l.Hosts {
		b.WriteString(h.KnownHostsLine() + "\n")
	}
	l.KnownHostsPath = filepath.Join(l.Dir, "known_hosts")
	if err := os.WriteFile(l.KnownHostsPath, []byte(b.String()), 0o644); err != nil {
		return fmt.Errorf("writing known_hosts: %w", err)
	}
	return nil
}

// gpuUUID is a stable, host-specific UUID in nvidia-smi's form.
func gpuUUID(host string, index int) string {
	s := sha256.Sum256([]byte(host + "/" + strconv.Itoa(index)))
	return fmt.Sprintf("GPU-%x-%x-%x-%x-%x", s[0:4], s[4:6], s[6:8], s[8:10], s[10:16])
}
