package onprem

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"
)

// GPU is one GPU as nvidia-smi reports it.
type GPU struct {
	Index     int64
	Model     string
	MemoryMiB int64
}

// Node is what discovery found on a host.
type Node struct {
	Name          string
	Address       string
	GPUs          []GPU
	DriverVersion string
	RuntimeOK     bool // the container runtime answers
	ToolkitOK     bool // the NVIDIA container toolkit is set up for it
	Problems      []string
}

// Runtimes are the container runtimes the node script supports.
var Runtimes = []string{"docker", "podman"}

// discoverScript prints one "kind|value" line per fact, so that a host missing a tool still
// answers the rest; it also prepares the state folder.
const discoverScript = `set -uo pipefail
rt=%s
root="${INFERSTACK_ROOT:-}"
if out=$(nvidia-smi --query-gpu=index,name,memory.total,driver_version --format=csv,noheader,nounits 2>&1); then
  while IFS= read -r l; do [ -n "$l" ] && echo "gpu|$l"; done <<<"$out"
else
  echo "problem|nvidia-smi failed: ${out//$'\n'/ }"
fi
if command -v "$rt" >/dev/null 2>&1; then
  if info=$("$rt" info 2>&1); then
    echo "runtime|ok"
    if grep -qi nvidia <<<"$info" || command -v nvidia-ctk >/dev/null 2>&1 || command -v nvidia-container-runtime >/dev/null 2>&1; then
      echo "toolkit|ok"
    else
      echo "problem|the NVIDIA container toolkit is not set up for $rt (install nvidia-container-toolkit and run nvidia-ctk runtime configure)"
    fi
  else
    echo "problem|$rt info failed: ${info//$'\n'/ }"
  fi
else
  echo "problem|$rt is not installed"
fi
if mkdir -p "$root/var/lib/inferstack" && chmod 0755 "$root/var/lib/inferstack"; then
  echo "state|ok"
else
  echo "problem|cannot create $root/var/lib/inferstack"
fi
`

// Discover connects to h, lists its GPUs, checks the container runtime and the NVIDIA toolkit,
// and prepares /var/lib/inferstack. Problems on the host (no GPU, no runtime) are reported in
// Node.Problems; only a host that cannot be reached or asked is an error.
func (c *Client) Discover(ctx context.Context, h Host, runtime string) (*Node, error) {
	out, err := c.Run(ctx, h, fmt.Sprintf(discoverScript, shellQuote(runtime)), nil)
	if err != nil {
		return nil, err
	}
	n, err := parseDiscovery(out)
	if err != nil {
		return nil, fmt.Errorf("host %s: %w", h.Name, err)
	}
	n.Name, n.Address = h.Name, h.Address
	return n, nil
}

func parseDiscovery(out []byte) (*Node, error) {
	n := &Node{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		kind, val, ok := strings.Cut(sc.Text(), "|")
		if !ok {
			continue
		}
		switch kind {
		case "gpu":
			f := strings.Split(val, ",")
			if len(f) != 4 {
				return nil, fmt.Errorf("unexpected nvidia-smi line %q", val)
			}
			idx, err1 := strconv.ParseInt(strings.TrimSpace(f[0]), 10, 64)
			mem, err2 := strconv.ParseInt(strings.TrimSpace(f[2]), 10, 64)
			if err1 != nil || err2 != nil {
				return nil, fmt.Errorf("unexpected nvidia-smi line %q", val)
			}
			n.GPUs = append(n.GPUs, GPU{Index: idx, Model: strings.TrimSpace(f[1]), MemoryMiB: mem})
			n.DriverVersion = strings.TrimSpace(f[3])
		case "runtime":
			n.RuntimeOK = true
		case "toolkit":
			n.ToolkitOK = true
		case "problem":
			n.Problems = append(n.Problems, val)
		}
	}
	return n, sc.Err()
}
