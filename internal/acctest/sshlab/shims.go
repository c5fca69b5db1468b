//go:build linux

package sshlab

import (
	"embed"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// shims holds the shim scripts; shims/lib.sh is their common code. Keep them clean under
// `shellcheck -x` (run in the shims folder).
//
//go:embed shims
var shims embed.FS

// shimTools are the commands a lab host has shims for; podman is the docker script.
var shimTools = map[string]string{
	"docker":     "docker",
	"podman":     "docker",
	"nvidia-smi": "nvidia-smi",
	"systemctl":  "systemctl",
	"journalctl": "journalctl",
	"curl":       "curl",
	"hostname":   "hostname",
}

// writeShims writes the host's shim folder: the scripts, and .lab/ with their library and the
// host's identity (host.conf).
func (h *Host) writeShims() error {
	labDir := filepath.Join(h.ShimDir, ".lab")
	if err := os.MkdirAll(labDir, 0o755); err != nil {
		return fmt.Errorf("writing the shims of %s: %w", h.Name, err)
	}
	for tool, src := range shimTools {
		data, err := shims.ReadFile("shims/" + src)
		if err != nil {
			return fmt.Errorf("writing the shims of %s: %w", h.Name, err)
		}
		if err := writeFileAtomic(filepath.Join(h.ShimDir, tool), data, 0o755); err != nil {
			return fmt.Errorf("writing the shims of %s: %w", h.Name, err)
		}
	}
	lib, err := shims.ReadFile("shims/lib.sh")
	if err != nil {
		return fmt.Errorf("writing the shims of %s: %w", h.Name, err)
	}
	if err := writeFileAtomic(filepath.Join(labDir, "lib.sh"), lib, 0o644); err != nil {
		return fmt.Errorf("writing the shims of %s: %w", h.Name, err)
	}
	conf := strings.Join([]string{
		"# The sshlab host these shims belong to.",
		"LAB_NAME=" + shellQuote(h.Name),
		"LAB_ADDR=" + shellQuote(h.Address),
		"LAB_ROOT=" + shellQuote(h.Root),
		"LAB_SHIMS=" + shellQuote(h.ShimDir),
		"LAB_STANDIN=" + shellQuote(h.lab.StandinBin),
	}, "\n") + "\n"
	if err := writeFileAtomic(filepath.Join(labDir, "host.conf"), []byte(conf), 0o644); err != nil {
		return fmt.Errorf("writing the shims of %s: %w", h.Name, err)
	}
	return nil
}

// shellQuote quotes s for bash.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
