package vllm

import (
	"fmt"
	"strings"
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
	w("StartLimitIntervalSec=0")
	w("")
	w("[Service]")
	w("Type=simple")
	w("Restart=%s", s.Restart)
	w("RestartSec=10")
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
func systemdQuote(w string) string {
	w = systemdEscape(w)
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
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(w) + "'"
}

// systemdEscape escapes specifiers and variable references in a unit file value.
func systemdEscape(s string) string {
	return strings.NewReplacer("%", "%%", "$", "$$").Replace(s)
}
