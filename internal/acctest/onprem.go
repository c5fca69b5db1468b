package acctest

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/inferstack/terraform-provider-inferstack/internal/acctest/sshlab"
)

// OnPremLab is the package's shared set of SSH GPU hosts (real sshd, shimmed GPUs, the vLLM
// stand-in). Tests running in parallel share it, so each uses its own endpoint names and asks
// only for a few GPUs; a test that stops a host starts a lab of its own with NewOnPremLab.
type OnPremLab struct {
	*sshlab.Lab
}

// SharedOnPremHosts are the shared lab's hosts: different GPU models and counts, so placement
// has choices.
var SharedOnPremHosts = []sshlab.HostSpec{
	{Name: "gpu-a", GPUs: repeatGPU(sshlab.GPU{Model: "NVIDIA L4", MemoryMiB: 23034}, 4)},
	{Name: "gpu-b", GPUs: repeatGPU(sshlab.GPU{Model: "NVIDIA L40S", MemoryMiB: 46068}, 8)},
	{Name: "gpu-c", GPUs: repeatGPU(sshlab.GPU{Model: "NVIDIA H100 80GB HBM3", MemoryMiB: 81559}, 2)},
}

func repeatGPU(g sshlab.GPU, n int) []sshlab.GPU {
	out := make([]sshlab.GPU, n)
	for i := range out {
		out[i] = g
	}
	return out
}

var (
	onpremOnce sync.Once
	onpremLab  *OnPremLab
	onpremErr  error
)

// OnPrem returns the package's shared SSH lab, starting it on first use; the test fails with
// instructions when sshd cannot start.
func OnPrem(t testing.TB) *OnPremLab {
	t.Helper()
	onpremOnce.Do(func() {
		onpremLab, onpremErr = startOnPremLab(SharedOnPremHosts...)
		if onpremErr == nil {
			atExit(func() { _ = onpremLab.Close(); _ = os.RemoveAll(onpremLab.Dir) })
		}
	})
	if onpremErr != nil {
		t.Fatalf("the SSH GPU-host lab is not available (run `make tools` to install openssh-server): %v", onpremErr)
	}
	return onpremLab
}

// NewOnPremLab starts a lab of the test's own (for tests that stop hosts); it is closed when the
// test ends.
func NewOnPremLab(t testing.TB, specs ...sshlab.HostSpec) *OnPremLab {
	t.Helper()
	lab, err := startOnPremLab(specs...)
	if err != nil {
		t.Fatalf("starting an SSH GPU-host lab (run `make tools` to install openssh-server): %v", err)
	}
	t.Cleanup(func() { _ = lab.Close(); _ = os.RemoveAll(lab.Dir) })
	return lab
}

func startOnPremLab(specs ...sshlab.HostSpec) (*OnPremLab, error) {
	dir, err := os.MkdirTemp("", "inferstack-sshlab-")
	if err != nil {
		return nil, err
	}
	lab, err := sshlab.Start(dir, specs...)
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	return &OnPremLab{Lab: lab}, nil
}

// ProviderOnPremBlock is the provider's onprem block with the lab's user key.
func (l *OnPremLab) ProviderOnPremBlock() string {
	return fmt.Sprintf("  onprem {\n    ssh_private_key = <<-EOT\n%s    EOT\n  }\n", indent(l.UserPrivateKeyPEM, "    "))
}

// HostsHCL renders hosts (all but bastions when names is empty) as the onprem.hosts list of a
// cluster.
func (l *OnPremLab) HostsHCL(names ...string) string {
	var b strings.Builder
	b.WriteString("[\n")
	for _, h := range l.Hosts {
		if len(names) > 0 && !contains(names, h.Name) || len(names) == 0 && h.Bastion {
			continue
		}
		fmt.Fprintf(&b, "      { name = %q, address = %q, port = %d, user = %q, host_key = %q },\n",
			h.Name, h.Address, h.Port, h.User, h.HostKey)
	}
	b.WriteString("    ]")
	return b.String()
}

// BastionHCL renders the lab's bastion host name (sshlab.HostSpec.Bastion) as the onprem.bastion
// attribute of a cluster.
func (l *OnPremLab) BastionHCL(name string) string {
	h := l.Host(name)
	if h == nil || !h.Bastion {
		panic(fmt.Sprintf("BastionHCL: the lab has no bastion %q", name))
	}
	return fmt.Sprintf("    bastion = { address = %q, port = %d, user = %q, host_key = %q }\n", h.Address, h.Port, h.User, h.HostKey)
}

func indent(s, prefix string) string {
	var b strings.Builder
	for _, line := range strings.SplitAfter(s, "\n") {
		if line != "" {
			b.WriteString(prefix + line)
		}
	}
	return b.String()
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if x == y {
			return true
		}
	}
	return false
}
