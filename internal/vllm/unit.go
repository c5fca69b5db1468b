package vllm

import (
	"fmt"
	"strings"
	"time"
)

// How systemd restarts a replica that exits, and when it gives up. A vLLM that exits at start
// (CUDA out of memory, a bad flag, a model it cannot load) exits again at every restart: without
// a start limit systemd restarts it for ever, and the node script would only report it at the
// end of its readiness wait.
//
// RestartDelay leaves time for the exited container's GPU memory and port to be free (they are
// as soon as `docker run` returns) and is short, since a replica that crashed while serving is
// down until it has loaded again.
//
// The units have no start limit (StartLimitIntervalSec=0): systemd restarts a replica for as long
// as it fails, so one that failed for a passing reason (the Hub unreachable during a download, a
// GPU reset) serves again by itself, as a Kubernetes pod does. An apply does not wait for that:
// the node script reports a replica as crash-looping once it restarted CrashRestarts times during
// its readiness wait, or when its unit is failed (a start limit set by hand), and stops waiting
// for it. With RestartDelay 5 s, a vLLM that fails at start is reported within seconds of its
// third failure, not at the end of the readiness timeout.
const (
	RestartDelay  = 5 * time.Second
	CrashRestarts = 3
)

// Unit renders the systemd unit of a replica placed on a node: the container command in the
// foreground, restarted by systemd under Spec.Restart, stopped with the runtime's stop.
func (s Spec) Unit(r Replica, p Placement) (string, error) {
	if err := s.Validate(); err != nil {
		return "", err
	}
	s = s.withDefaults()
	pl, err := s.resolve(r, p)
	if err != nil {
		return "", err
	}
	return s.unit(r, pl), nil
}

func (s Spec) unit(r Replica, p placement) string {
	name := ContainerName(s.Endpoint, r.Index)
	var b strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&b, format+"\n", a...) }
	w("# inferstack: vLLM replica %d of endpoint %s, written by the node script from the spec", r.Index, s.Endpoint)
	w("# %s%s. A converge overwrites changes made here.", p.root, SpecPath(s.Endpoint))
	w("[Unit]")
	w("Description=inferstack vLLM %s replica %d (%s)", s.Endpoint, r.Index, systemdEscape(s.Model.ID))
	w("Wants=network-online.target")
	if s.Runtime == RuntimeDocker {
		w("After=network-online.target docker.service")
		w("Requires=docker.service")
	} else {
		w("After=network-online.target")
	}
	w("# No start limit: a failing replica is restarted for as long as it fails (the node script")
	w("# reports one that restarts %d times while an apply waits for it).", CrashRestarts)
	w("StartLimitIntervalSec=0")
	w("")
	w("[Service]")
	w("Type=simple")
	w("Restart=%s", s.Restart)
	w("RestartSec=%s", systemdSpan(RestartDelay))
	w("TimeoutStartSec=120")
	w("TimeoutStopSec=60")
	w("SyslogIdentifier=%s", name)
	w("ExecStartPre=-%s", systemdCommand([]string{p.runtime, "rm", "-f", name}))
	groups := s.containerCommand(r, p)
	lines := make([]string, len(groups))
	for i, g := range groups {
		lines[i] = systemdCommand(g)
	}
	w("ExecStart=%s", strings.Join(lines, " \\\n\t"))
	w("ExecStop=%s", systemdCommand([]string{p.runtime, "stop", "-t", "30", name}))
	w("")
	w("[Install]")
	w("WantedBy=multi-user.target")
	return b.String()
}

// systemdSpan renders a whole number of seconds as a systemd time span: "5s", "30min".
func systemdSpan(d time.Duration) string {
	if d%time.Minute == 0 {
		return fmt.Sprintf("%dmin", int(d/time.Minute))
	}
	return fmt.Sprintf("%ds", int(d/time.Second))
}

// systemdCommand renders words as a systemd command line (systemd.service(5), "Command lines").
func systemdCommand(words []string) string {
	quoted := make([]string, len(words))
	for i, w := range words {
		quoted[i] = systemdQuote(w)
	}
	return strings.Join(quoted, " ")
}

// systemdQuote renders one word of a systemd command line: specifiers (%) and variable
// expansion ($) escaped, and the word single-quoted when it holds anything but safe characters.
// A control character (which Validate refuses) is written as a C escape (\xHH), which systemd
// turns back into the character inside the argument: whatever reaches here, the unit never
// gains a line.
func systemdQuote(w string) string {
	w = strings.NewReplacer("%", "%%", "$", "$$").Replace(w)
	safe := w != ""
	for _, c := range w {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("_@%+=:,./-$", c)) {
			safe = false
			break
		}
	}
	if safe {
		return w
	}
	return "'" + escapeControl(strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(w)) + "'"
}

// systemdEscape escapes specifiers and variable references in a unit file value, and writes
// control characters as text (\xHH) so that a value stays on its line.
func systemdEscape(s string) string {
	return escapeControl(strings.NewReplacer("%", "%%", "$", "$$").Replace(s))
}

// escapeControl writes each control character of s (HasControl) as \xHH.
func escapeControl(s string) string {
	if !HasControl(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f {
			fmt.Fprintf(&b, `\x%02x`, c)
		} else {
			b.WriteByte(c)
		}
	}
	return b.String()
}
