// Package onprem is the on-prem backend: GPU hosts reached over SSH (golang.org/x/crypto/ssh)
// with host-key checking, GPU discovery with nvidia-smi, and (through internal/vllm's node
// script) vLLM replicas converged on them.
//
// Every remote command starts with ShimPATH and writes under ${INFERSTACK_ROOT:-}: on a real host
// neither variable is set and nothing changes; on the test harness's lab hosts they put the
// host's shims first on PATH and root its state in a folder of its own.
package onprem

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/inferstack/terraform-provider-inferstack/internal/backend"
	"github.com/inferstack/terraform-provider-inferstack/internal/vllm"
)

// ShimPATH is the first line of every remote command; see the package comment.
const ShimPATH = `export PATH="${INFERSTACK_SHIMS:+$INFERSTACK_SHIMS:}$PATH"`

// Host is one GPU server, as the cluster's configuration names it.
type Host struct {
	Name    string
	Address string
	Port    int    // default 22
	User    string // default "root"
	// HostKey is the server's public key in authorized_keys form ("ssh-ed25519 AAAA...").
	HostKey string
	Labels  map[string]string
	// Via is the jump host (bastion) this host is reached through, if any.
	Via *Host
	// InsecureIgnoreHostKey trusts whatever key the host presents (no HostKey, no known_hosts
	// entry needed). The provider warns on every plan when a cluster sets it.
	InsecureIgnoreHostKey bool
}

func (h Host) addr() string {
	port := h.Port
	if port == 0 {
		port = 22
	}
	return net.JoinHostPort(h.Address, strconv.Itoa(port))
}

// connKey names a cached connection: the same user, address and route share one.
func (h Host) connKey() string {
	k := h.user() + "@" + h.addr()
	if h.Via != nil {
		k += " via " + h.Via.connKey()
	}
	return k
}

func (h Host) user() string {
	if h.User == "" {
		return "root"
	}
	return h.User
}

// SSHConfig is how every host (and the bastion) is reached.
type SSHConfig struct {
	PrivateKey string // PEM (OpenSSH, PKCS#1/8)
	Passphrase string // for an encrypted PrivateKey
	// KnownHosts is known_hosts text used for hosts without a HostKey of their own.
	KnownHosts     string
	ConnectTimeout time.Duration // per dial attempt; default 10s
	DialAttempts   int           // default 3, with backoff
	// KeepaliveInterval is how often an idle connection asks the host for a sign of life
	// (keepalive@openssh.com); after KeepaliveCountMax intervals without an answer the
	// connection is closed and the command on it fails as unreachable. Defaults 15s and 3: a
	// host that drops off silently (directly or behind a bastion) is reported within a minute,
	// not at the resource's timeout.
	KeepaliveInterval time.Duration
	KeepaliveCountMax int
	UserAgent         string // sent as the SSH client version
}

// ErrHostKeyMismatch is wrapped when a host presents a key other than the one configured.
var ErrHostKeyMismatch = errors.New("host key mismatch")

// ErrUnreachable is wrapped when a host cannot be reached (dial or handshake failed).
var ErrUnreachable = errors.New("host unreachable")

// IsUnreachable reports whether err means the host could not be reached.
func IsUnreachable(err error) bool { return errors.Is(err, ErrUnreachable) }

// IsHostKeyMismatch reports whether err means the host presented an unexpected key.
func IsHostKeyMismatch(err error) bool { return errors.Is(err, ErrHostKeyMismatch) }

// ExitError is a remote command that ran and exited non-zero.
type ExitError struct {
	Host   string
	Status int
	Stderr string
}

func (e *ExitError) Error() string {
	msg := strings.TrimSpace(e.Stderr)
	if len(msg) > 2000 {
		msg = "..." + msg[len(msg)-2000:]
	}
	return fmt.Sprintf("on host %s the command exited %d: %s", e.Host, e.Status, msg)
}

// Client holds one SSH connection per host, opened on first use and reused.
type Client struct {
	cfg SSHConfig

	mu    sync.Mutex
	conns map[string]*ssh.Client
	// dials are the dials under way by connKey: a caller that needs a host being dialled waits
	// for that dial instead of making a second handshake.
	dials map[string]*dialCall
	// books is what placements know of each host, by connKey (hostbook.go).
	books map[string]*hostBook
	// deployed are the endpoints this client deployed, by deployKey, until it writes them again
	// (DeployEndpoint, DeleteEndpoint): their replicas and what a route needs, known without a read.
	deployed map[string]*deployed
}

// dialCall is one dial under way; done is closed when cl or err is set.
type dialCall struct {
	done chan struct{}
	cl   *ssh.Client
	err  error
	// abandoned: the dial's starter's context ended, so err says nothing about the host.
	abandoned bool
}

// NewClient checks the configuration (parses the key) without connecting.
func NewClient(cfg SSHConfig) (*Client, error) {
	if cfg.PrivateKey == "" {
		return nil, errors.New("no SSH private key: set ssh.private_key")
	}
	if _, err := cfg.signer(); err != nil {
		return nil, err
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = 10 * time.Second
	}
	if cfg.DialAttempts == 0 {
		cfg.DialAttempts = 3
	}
	if cfg.KeepaliveInterval == 0 {
		cfg.KeepaliveInterval = 15 * time.Second
	}
	if cfg.KeepaliveCountMax == 0 {
		cfg.KeepaliveCountMax = 3
	}
	return &Client{cfg: cfg, conns: map[string]*ssh.Client{}, dials: map[string]*dialCall{}, books: map[string]*hostBook{},
		deployed: map[string]*deployed{}}, nil
}

func (c SSHConfig) signer() (ssh.Signer, error) {
	var s ssh.Signer
	var err error
	if c.Passphrase != "" {
		s, err = ssh.ParsePrivateKeyWithPassphrase([]byte(c.PrivateKey), []byte(c.Passphrase))
	} else {
		s, err = ssh.ParsePrivateKey([]byte(c.PrivateKey))
	}
	if err != nil {
		// Never include the key in the message.
		var missing *ssh.PassphraseMissingError
		if errors.As(err, &missing) {
			return nil, errors.New("the SSH private key is encrypted: set ssh.passphrase")
		}
		return nil, fmt.Errorf("parsing the SSH private key: %w", err)
	}
	return s, nil
}

// ParseHostKey checks an authorized_keys-form public key.
func ParseHostKey(s string) (ssh.PublicKey, error) {
	k, _, _, _, err := ssh.ParseAuthorizedKey([]byte(s))
	if err != nil {
		return nil, fmt.Errorf("not an SSH public key in authorized_keys form (\"ssh-ed25519 AAAA...\"): %w", err)
	}
	return k, nil
}

func (c *Client) hostKeyCallback(h Host) (ssh.HostKeyCallback, error) {
	if h.HostKey != "" {
		want, err := ParseHostKey(h.HostKey)
		if err != nil {
			return nil, fmt.Errorf("host %s: host_key: %w", h.Name, err)
		}
		return func(_ string, _ net.Addr, got ssh.PublicKey) error {
			if !bytes.Equal(got.Marshal(), want.Marshal()) {
				return fmt.Errorf("%w: host %s (%s) presented %s %s, but the configuration pins %s %s; if the host was "+
					"rebuilt, check the new key out of band and update host_key", ErrHostKeyMismatch, h.Name, h.addr(),
					got.Type(), ssh.FingerprintSHA256(got), want.Type(), ssh.FingerprintSHA256(want))
			}
			return nil
		}, nil
	}
	if c.cfg.KnownHosts != "" {
		cb, err := knownHostsCallback(c.cfg.KnownHosts)
		if err != nil {
			return nil, err
		}
		return func(hostname string, remote net.Addr, key ssh.PublicKey) error {
			err := cb(hostname, remote, key)
			var ke *knownhosts.KeyError
			if errors.As(err, &ke) {
				if len(ke.Want) > 0 {
					return fmt.Errorf("%w: host %s (%s) presented %s, which known_hosts does not list for it", ErrHostKeyMismatch, h.Name, hostname, ssh.FingerprintSHA256(key))
				}
				return fmt.Errorf("%w: host %s (%s) is not in known_hosts; add its key (%s) or set host_key", ErrHostKeyMismatch, h.Name, hostname, ssh.FingerprintSHA256(key))
			}
			return err
		}, nil
	}
	if h.InsecureIgnoreHostKey {
		return ssh.InsecureIgnoreHostKey(), nil //nolint:gosec // the user asked for it; the provider warns
	}
	return nil, fmt.Errorf("host %s: no host key to check: set host_key on the host, known_hosts, or (not recommended) insecure_ignore_host_key = true", h.Name)
}

func (c *Client) clientConfig(h Host) (*ssh.ClientConfig, error) {
	signer, err := c.cfg.signer()
	if err != nil {
		return nil, err
	}
	cb, err := c.hostKeyCallback(h)
	if err != nil {
		return nil, err
	}
	cc := &ssh.ClientConfig{
		User:            h.user(),
		Auth:            []ssh.AuthMethod{ssh.PublicKeys(signer)},
		HostKeyCallback: cb,
		Timeout:         c.cfg.ConnectTimeout,
	}
	if c.cfg.UserAgent != "" {
		cc.ClientVersion = "SSH-2.0-" + strings.ReplaceAll(c.cfg.UserAgent, " ", "_")
	}
	if h.HostKey != "" {
		if k, err := ParseHostKey(h.HostKey); err == nil {
			cc.HostKeyAlgorithms = []string{k.Type()}
			if k.Type() == ssh.KeyAlgoRSA {
				cc.HostKeyAlgorithms = []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA}
			}
		}
	}
	return cc, nil
}

// conn returns the cached connection to h, dialling (through the bastion, if any) with backoff.
// Callers that need h while it is being dialled wait for that dial: one handshake per host, however
// many reads run at once. A caller whose context ends stops waiting; the dial goes on for the others
// under its own starter's context.
func (c *Client) conn(ctx context.Context, h Host) (*ssh.Client, error) {
	key := h.connKey()
	c.mu.Lock()
	if cl, ok := c.conns[key]; ok {
		c.mu.Unlock()
		return cl, nil
	}
	if d, ok := c.dials[key]; ok {
		c.mu.Unlock()
		select {
		case <-d.done:
			if d.err != nil && d.abandoned && ctx.Err() == nil {
				return c.conn(ctx, h) // the dial's starter gave up, not the host: dial again
			}
			return d.cl, d.err
		case <-ctx.Done():
			return nil, fmt.Errorf("host %s: %w", h.Name, ctx.Err())
		}
	}
	d := &dialCall{done: make(chan struct{})}
	c.dials[key] = d
	c.mu.Unlock()

	d.cl, d.err = c.dialWithBackoff(ctx, h)
	d.abandoned = ctx.Err() != nil
	c.mu.Lock()
	delete(c.dials, key)
	if d.err == nil {
		c.conns[key] = d.cl
		go c.keepalive(h, d.cl)
	}
	c.mu.Unlock()
	close(d.done)
	return d.cl, d.err
}

// dialWithBackoff dials h up to DialAttempts times, with backoff; a host-key mismatch is final.
func (c *Client) dialWithBackoff(ctx context.Context, h Host) (*ssh.Client, error) {
	var cl *ssh.Client
	var err error
	backoff := 500 * time.Millisecond
	for attempt := 1; attempt <= c.cfg.DialAttempts; attempt++ {
		cl, err = c.dial(ctx, h)
		if err == nil || IsHostKeyMismatch(err) || ctx.Err() != nil {
			break
		}
		if attempt < c.cfg.DialAttempts {
			select {
			case <-ctx.Done():
			case <-time.After(backoff):
			}
			backoff *= 2
		}
	}
	return cl, err
}

// keepalive asks the host for a sign of life every KeepaliveInterval and closes the connection
// (so that what runs on it fails as unreachable) when none comes for KeepaliveCountMax
// intervals. It ends when the connection is closed.
func (c *Client) keepalive(h Host, cl *ssh.Client) {
	t := time.NewTicker(c.cfg.KeepaliveInterval)
	defer t.Stop()
	for range t.C {
		reply := make(chan error, 1)
		go func() {
			_, _, err := cl.SendRequest("keepalive@openssh.com", true, nil)
			reply <- err
		}()
		select {
		case err := <-reply:
			if err != nil {
				return // closed
			}
		case <-time.After(c.cfg.KeepaliveInterval * time.Duration(c.cfg.KeepaliveCountMax)):
			c.forgetConn(h, cl)
			return
		}
	}
}

func (c *Client) dial(ctx context.Context, h Host) (*ssh.Client, error) {
	cc, err := c.clientConfig(h)
	if err != nil {
		return nil, err
	}
	var raw net.Conn
	if b := h.Via; b != nil {
		jump, err := c.conn(ctx, *b)
		if err != nil {
			return nil, fmt.Errorf("through bastion %s: %w", b.Name, err)
		}
		// ConnectTimeout bounds the bastion's connecting as it bounds a direct dial.
		dctx, cancel := context.WithTimeout(ctx, c.cfg.ConnectTimeout)
		defer cancel()
		raw, err = jump.DialContext(dctx, "tcp", h.addr())
		if err != nil {
			var refused *ssh.OpenChannelError
			if !errors.As(err, &refused) && dctx.Err() == nil {
				// Not the bastion refusing this host: its connection is gone (restart, network).
				// Drop it, or every later dial would go through the dead one.
				c.forgetConn(*b, jump)
			}
			if dctx.Err() != nil && ctx.Err() == nil {
				err = fmt.Errorf("not connected in %s", c.cfg.ConnectTimeout)
			}
			return nil, fmt.Errorf("%w: host %s (%s) via bastion %s: %v", ErrUnreachable, h.Name, h.addr(), b.Name, err)
		}
	} else {
		d := net.Dialer{Timeout: c.cfg.ConnectTimeout}
		raw, err = d.DialContext(ctx, "tcp", h.addr())
		if err != nil {
			return nil, fmt.Errorf("%w: host %s (%s): %v", ErrUnreachable, h.Name, h.addr(), err)
		}
	}
	var timer *time.Timer
	if raw.SetDeadline(time.Now().Add(c.cfg.ConnectTimeout)) != nil {
		// A connection the bastion forwards takes no deadline: close it when the time is up, or
		// a host that never answers would hold the handshake for ever.
		timer = time.AfterFunc(c.cfg.ConnectTimeout, func() { _ = raw.Close() })
	}
	sc, chans, reqs, err := ssh.NewClientConn(raw, h.addr(), cc)
	if timer != nil && !timer.Stop() {
		if err == nil {
			_ = sc.Close()
		}
		err = fmt.Errorf("no answer in %s", c.cfg.ConnectTimeout)
	}
	if err != nil {
		_ = raw.Close()
		if IsHostKeyMismatch(err) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: host %s (%s): SSH handshake: %v", ErrUnreachable, h.Name, h.addr(), err)
	}
	_ = raw.SetDeadline(time.Time{})
	return ssh.NewClient(sc, chans, reqs), nil
}

// forget drops a broken cached connection so the next call dials again.
func (c *Client) forget(h Host) {
	key := h.connKey()
	c.mu.Lock()
	defer c.mu.Unlock()
	if cl, ok := c.conns[key]; ok {
		_ = cl.Close()
		delete(c.conns, key)
	}
}

// forgetConn drops cl, a broken connection to h, if it is still the cached one (another dial may
// have replaced it already).
func (c *Client) forgetConn(h Host, cl *ssh.Client) {
	key := h.connKey()
	c.mu.Lock()
	if c.conns[key] == cl {
		delete(c.conns, key)
	}
	c.mu.Unlock()
	_ = cl.Close()
}

// Run runs script with bash on h (ShimPATH first), feeding stdin, and returns stdout. A non-zero
// exit is an *ExitError with stderr; a host that cannot be reached wraps ErrUnreachable.
func (c *Client) Run(ctx context.Context, h Host, script string, stdin []byte) ([]byte, error) {
	for attempt := 0; ; attempt++ {
		cl, err := c.conn(ctx, h)
		if err != nil {
			return nil, err
		}
		sess, err := cl.NewSession()
		if err != nil {
			// A cached connection the host dropped (restart, network): dial once more.
			c.forget(h)
			if attempt == 0 {
				continue
			}
			return nil, fmt.Errorf("%w: host %s: opening a session: %v", ErrUnreachable, h.Name, err)
		}
		var stdout, stderr bytes.Buffer
		sess.Stdout, sess.Stderr = &stdout, &stderr
		if backend.Reporting(ctx) {
			// The node script logs each step to stderr as it happens: pass them on line by line.
			lines := &lineReporter{ctx: ctx, source: h.Name}
			defer lines.flush()
			sess.Stderr = io.MultiWriter(&stderr, lines)
		}
		sess.Stdin = bytes.NewReader(stdin)
		run := newRunID()
		done := make(chan error, 1)
		go func() { done <- sess.Run(groupCommand(run, script)) }()
		select {
		case <-ctx.Done():
			_ = sess.Signal(ssh.SIGTERM)
			_ = sess.Close()
			c.killRun(h, run)
			return stdout.Bytes(), fmt.Errorf("host %s: %w", h.Name, ctx.Err())
		case err = <-done:
		}
		_ = sess.Close()
		var exit *ssh.ExitError
		switch {
		case err == nil:
			return stdout.Bytes(), nil
		case errors.As(err, &exit):
			return stdout.Bytes(), &ExitError{Host: h.Name, Status: exit.ExitStatus(), Stderr: stderr.String()}
		default:
			// The connection went away mid-command.
			c.forget(h)
			return stdout.Bytes(), fmt.Errorf("%w: host %s: connection lost: %v", ErrUnreachable, h.Name, err)
		}
	}
}

// lineReporter passes each complete line written to it to the context's progress reporter,
// without the node script's timestamp and name ("2026-01-01T00:00:00Z inferstack-node: ").
type lineReporter struct {
	ctx     context.Context
	source  string
	mu      sync.Mutex
	partial []byte
}

func (l *lineReporter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.partial = append(l.partial, p...)
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			break
		}
		l.report(string(l.partial[:i]))
		l.partial = l.partial[i+1:]
	}
	return len(p), nil
}

func (l *lineReporter) flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.partial) > 0 {
		l.report(string(l.partial))
		l.partial = nil
	}
}

func (l *lineReporter) report(line string) {
	if _, rest, ok := strings.Cut(line, " inferstack-node: "); ok {
		line = rest
	}
	if line = strings.TrimSpace(line); line != "" && !vllm.HasControl(line) {
		backend.Report(l.ctx, l.source, line)
	}
}

// groupCommand wraps script so that it runs in a process group of its own whose id it leaves in
// a file named by run: a cancelled command is ended with everything it started (the node script,
// its jq, curl and sleep), not only the shell sshd started, and its locks are free at once. What
// the script starts in sessions of its own (systemd units) is not in the group.
func groupCommand(run, script string) string {
	pidFile := `"${TMPDIR:-/tmp}/inferstack-run-` + run + `.pid"`
	inner := `printf '%s\n' "$$" >` + pidFile + `
bash -c "$1"
rc=$?
rm -f ` + pidFile + `
exit "$rc"`
	return "exec setsid -w bash -c " + shellQuote(inner) + " inferstack-run " + shellQuote(ShimPATH+"\n"+script)
}

// killRun ends the process group of a cancelled command (groupCommand) on h: SIGTERM, then
// SIGKILL after five seconds, in a session of its own with a deadline of its own (the caller's
// context is done).
func (c *Client) killRun(h Host, run string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cl, err := c.conn(ctx, h)
	if err != nil {
		return
	}
	sess, err := cl.NewSession()
	if err != nil {
		return
	}
	defer sess.Close()
	script := `f="${TMPDIR:-/tmp}/inferstack-run-` + run + `.pid"
for _ in $(seq 20); do [ -s "$f" ] && break; sleep 0.1; done
[ -s "$f" ] || exit 0
g=$(cat "$f")
case $g in ''|*[!0-9]*) exit 0 ;; esac
kill -TERM -- "-$g" 2>/dev/null || { rm -f "$f"; exit 0; }
for _ in $(seq 50); do kill -0 -- "-$g" 2>/dev/null || break; sleep 0.1; done
kill -KILL -- "-$g" 2>/dev/null || true
rm -f "$f"`
	done := make(chan error, 1)
	go func() { done <- sess.Run("bash -c " + shellQuote(script)) }()
	select {
	case <-ctx.Done():
	case <-done:
	}
}

// newRunID names one remote command: 16 random hex digits.
func newRunID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Close closes every cached connection.
func (c *Client) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, cl := range c.conns {
		_ = cl.Close()
		delete(c.conns, k)
	}
}

func knownHostsCallback(text string) (ssh.HostKeyCallback, error) {
	// knownhosts.New reads only files; the text is parsed here instead. Plain host patterns
	// ("host", "[host]:port") are matched; hashed and wildcard entries are not supported.
	type entry struct {
		hosts []string
		key   ssh.PublicKey
	}
	var entries []entry
	rest := []byte(text)
	for len(rest) > 0 {
		marker, hosts, key, _, next, err := ssh.ParseKnownHosts(rest)
		if err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return nil, fmt.Errorf("parsing known_hosts: %w", err)
		}
		rest = next
		if marker == "" {
			entries = append(entries, entry{hosts: hosts, key: key})
		}
	}
	return func(hostname string, remote net.Addr, key ssh.PublicKey) error {
		names := []string{knownhosts.Normalize(hostname)}
		if remote != nil {
			names = append(names, knownhosts.Normalize(remote.String()))
		}
		var want []knownhosts.KnownKey
		for _, e := range entries {
			for _, p := range e.hosts {
				for _, n := range names {
					if p == n {
						if bytes.Equal(e.key.Marshal(), key.Marshal()) {
							return nil
						}
						want = append(want, knownhosts.KnownKey{Key: e.key})
					}
				}
			}
		}
		return &knownhosts.KeyError{Want: want}
	}, nil
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
