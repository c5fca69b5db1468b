package onprem

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"sync"

	"github.com/inferstack/terraform-provider-inferstack/internal/backend"
	"github.com/inferstack/terraform-provider-inferstack/internal/vllm"
)

// ClusterDir holds one record per cluster a host belongs to: ClusterDir/<name>.json. A record per
// cluster (rather than one per host) lets a host serve in several clusters (a shared lab, a host
// moved from one cluster to another) without one cluster's destroy breaking the other's.
const ClusterDir = vllm.StateDir + "/clusters"

// MaxParallelHosts bounds how many hosts a cluster operation talks to at once.
const MaxParallelHosts = 8

// ClusterRecordPath is where the record of cluster name lives on a host (under its root).
func ClusterRecordPath(name string) string { return ClusterDir + "/" + name + ".json" }

// clusterRecord is what a host keeps about a cluster it belongs to, so that the provider can tell
// a cluster removed behind its back from a host it merely cannot reach.
type clusterRecord struct {
	Name  string   `json:"name"`
	Host  string   `json:"host"`
	Hosts []string `json:"hosts"`
}

// HostError is a failure on one host of a cluster.
type HostError struct {
	Host string
	Err  error
}

func (e *HostError) Error() string { return fmt.Sprintf("host %s: %v", e.Host, e.Err) }
func (e *HostError) Unwrap() error { return e.Err }

// BusyHost is a host that still serves endpoint replicas.
type BusyHost struct {
	Host        string
	Allocations []vllm.Allocation
}

// BusyError is returned when hosts still serve replicas and cannot leave the cluster.
type BusyError struct {
	Hosts []BusyHost
}

func (e *BusyError) Error() string {
	var parts []string
	for _, h := range e.Hosts {
		var reps []string
		for _, a := range h.Allocations {
			reps = append(reps, fmt.Sprintf("%s replica %d (GPUs %v)", a.Endpoint, a.Replica, a.GPUs))
		}
		parts = append(parts, fmt.Sprintf("host %s still serves %s", h.Host, strings.Join(reps, ", ")))
	}
	return strings.Join(parts, "; ") + ": destroy or move those inferstack_model_endpoint replicas first"
}

// IsBusy reports whether err is (or wraps) a *BusyError.
func IsBusy(err error) bool {
	var b *BusyError
	return errors.As(err, &b)
}

// forEachHost runs fn on every host, at most MaxParallelHosts at once, and returns the errors by
// host index (nil where fn succeeded).
func forEachHost(ctx context.Context, hosts []Host, fn func(ctx context.Context, i int, h Host) error) []error {
	errs := make([]error, len(hosts))
	sem := make(chan struct{}, MaxParallelHosts)
	var wg sync.WaitGroup
	for i, h := range hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				errs[i] = ctx.Err()
				return
			}
			defer func() { <-sem }()
			errs[i] = fn(ctx, i, h)
		}()
	}
	wg.Wait()
	return errs
}

func hostNames(hosts []Host) []string {
	names := make([]string, len(hosts))
	for i, h := range hosts {
		names[i] = h.Name
	}
	return names
}

func joinHostErrors(hosts []Host, errs []error) error {
	var out []error
	for i, err := range errs {
		if err == nil {
			continue
		}
		var he *HostError
		if errors.As(err, &he) {
			out = append(out, err)
			continue
		}
		out = append(out, &HostError{Host: hosts[i].Name, Err: err})
	}
	return errors.Join(out...)
}

// CheckRef checks a ref before any host is contacted: every part well-formed (as an ID's
// descriptor must be), at least one host, unique host names and addresses, a known runtime; each
// host's address an IPv4 address (replicas publish on it, and the node script's listen address
// is an IPv4 address: a DNS name is refused, not resolved, so that what the plan shows is where
// replicas listen), and not a public one unless AllowPublicListen (see ClusterRef).
func CheckRef(ref ClusterRef) error {
	if err := ValidateClusterName(ref.Name); err != nil {
		return err
	}
	if len(ref.Hosts) == 0 {
		return errors.New("a cluster needs at least one host")
	}
	names, addrs := map[string]bool{}, map[string]string{}
	for i, h := range ref.Hosts {
		if names[h.Name] {
			return fmt.Errorf("host name %q is used twice", h.Name)
		}
		names[h.Name] = true
		if other, ok := addrs[h.addr()]; ok {
			return fmt.Errorf("hosts %s and %s have the same address %s", other, h.Name, h.addr())
		}
		addrs[h.addr()] = h.Name
		attr := fmt.Sprintf("hosts[%d].address", i)
		a, err := netip.ParseAddr(h.Address)
		if err != nil || !a.Unmap().Is4() {
			return &backend.InputError{Attribute: attr, Detail: fmt.Sprintf("%q is not an IPv4 address: give the host's IPv4 "+
				"address (replicas publish their port on it, and a DNS name could resolve elsewhere on the host than in the plan)", h.Address)}
		}
		if isPublic(a) && !ref.AllowPublicListen {
			return &backend.InputError{Attribute: attr, Detail: fmt.Sprintf("%s is a public address, and replicas publish their "+
				"port on it: vLLM's API key guards only /v1, so /metrics, /tokenize, /invocations and other routes would answer "+
				"anyone on the internet. Give the host's private address, or set onprem.allow_public_listen = true if a "+
				"firewall admits only the gateway", h.Address)}
		}
	}
	return checkRefSyntax(ref)
}

func runtimeOf(ref ClusterRef) string {
	if ref.Runtime == "" {
		return "docker"
	}
	return ref.Runtime
}

// installScript installs the node script (stdin) at ScriptPath and writes the cluster record.
const installScript = `set -euo pipefail
root="${INFERSTACK_ROOT:-}"
script="$root"%s
record="$root"%s
mkdir -p "${script%%/*}" "${record%%/*}"
tmp=$(mktemp "$script.XXXXXX")
cat >"$tmp"
chmod 0755 "$tmp"
mv -f "$tmp" "$script"
tmp=$(mktemp "$record.XXXXXX")
printf '%%s\n' %s >"$tmp"
chmod 0644 "$tmp"
mv -f "$tmp" "$record"
`

// EnsureCluster registers every host of ref: it connects to each (in parallel), discovers its
// GPUs, checks the container runtime and the NVIDIA toolkit, prepares /var/lib/inferstack,
// installs the node script and writes the cluster's record. A host with problems (no GPU, no
// runtime, no toolkit) or that cannot be reached is an error naming it; the nodes of the other
// hosts are still returned.
func EnsureCluster(ctx context.Context, c *Client, ref ClusterRef) ([]Node, error) {
	if err := CheckRef(ref); err != nil {
		return nil, err
	}
	script, _, err := vllm.NodeScript()
	if err != nil {
		return nil, err
	}
	names := hostNames(ref.Hosts)
	nodes := make([]*Node, len(ref.Hosts))
	errs := forEachHost(ctx, ref.Hosts, func(ctx context.Context, i int, h Host) error {
		n, err := c.Discover(ctx, h, runtimeOf(ref))
		if err != nil {
			return err
		}
		nodes[i] = n
		if len(n.Problems) > 0 {
			return &HostError{Host: h.Name, Err: fmt.Errorf("not ready for GPU containers: %s", strings.Join(n.Problems, "; "))}
		}
		if len(n.GPUs) == 0 {
			return &HostError{Host: h.Name, Err: errors.New("nvidia-smi lists no GPU")}
		}
		rec, _ := json.Marshal(clusterRecord{Name: ref.Name, Host: h.Name, Hosts: names})
		cmd := fmt.Sprintf(installScript, shellQuote(vllm.ScriptPath), shellQuote(ClusterRecordPath(ref.Name)), shellQuote(string(rec)))
		if _, err := c.Run(ctx, h, cmd, script); err != nil {
			return fmt.Errorf("installing the node script and the cluster record: %w", err)
		}
		c.scriptInstalled(h) // endpoints placed in the same run need not check its version
		return nil
	})
	return compactNodes(nodes), joinHostErrors(ref.Hosts, errs)
}

func compactNodes(nodes []*Node) []Node {
	out := make([]Node, 0, len(nodes))
	for _, n := range nodes {
		if n != nil {
			out = append(out, *n)
		}
	}
	return out
}

// readRecordScript prints the cluster's record, or nothing when the host has none.
const readRecordScript = `root="${INFERSTACK_ROOT:-}"
f="$root"%s
if [ -f "$f" ]; then cat "$f"; fi
`

// ReadCluster asks every host of ref (in parallel) for its GPUs, runtime and toolkit, and whether
// it still holds the cluster's record. nodes are those of the hosts that answered, in the order
// of ref.Hosts; unreachable names the hosts that could not be reached (not an error: a host may
// be down for maintenance). found is false only when every host that answered has lost the
// record (the cluster was removed behind Terraform's back); when no host answers, found is true.
// Problems a host reports are in its Node.Problems.
func ReadCluster(ctx context.Context, c *Client, ref ClusterRef) (nodes []Node, unreachable []string, found bool, err error) {
	if len(ref.Hosts) == 0 {
		return nil, nil, false, nil
	}
	out := make([]*Node, len(ref.Hosts))
	has := make([]bool, len(ref.Hosts))
	// One session per host: the record, a NUL, then what Discover prints.
	script := fmt.Sprintf(readRecordScript, shellQuote(ClusterRecordPath(ref.Name))) + "printf '\\0'\n" +
		fmt.Sprintf(discoverScript, shellQuote(runtimeOf(ref)))
	errs := forEachHost(ctx, ref.Hosts, func(ctx context.Context, i int, h Host) error {
		b, err := c.Run(ctx, h, script, nil)
		if err != nil {
			return err
		}
		rec, facts, ok := bytes.Cut(b, []byte{0})
		if !ok {
			return fmt.Errorf("host %s: reading the cluster's record: unexpected output", h.Name)
		}
		if s := strings.TrimSpace(string(rec)); s != "" {
			var r clusterRecord
			has[i] = json.Unmarshal([]byte(s), &r) == nil && r.Name == ref.Name
		}
		n, err := parseDiscovery(facts)
		if err != nil {
			return fmt.Errorf("host %s: %w", h.Name, err)
		}
		n.Name, n.Address = h.Name, h.Address
		out[i] = n
		return nil
	})
	var hard []error
	answered := 0
	found = false
	for i, e := range errs {
		switch {
		case e == nil:
			answered++
			found = found || has[i]
		case IsUnreachable(e):
			unreachable = append(unreachable, ref.Hosts[i].Name)
		default:
			hard = append(hard, &HostError{Host: ref.Hosts[i].Name, Err: e})
		}
	}
	if answered == 0 && len(hard) == 0 {
		found = true // nobody answered: nothing says the cluster is gone
	}
	if len(hard) > 0 {
		found = true
	}
	return compactNodes(out), unreachable, found, errors.Join(hard...)
}

// Allocations returns the GPU report of host h (`inferstack-node gpus`): its GPUs and the
// replicas that hold them. A host without the node script (never registered, or already removed)
// reports no allocations.
func Allocations(ctx context.Context, c *Client, h Host) (vllm.GPUReport, error) {
	cmd := fmt.Sprintf(`s="${INFERSTACK_ROOT:-}"%s
if [ ! -x "$s" ]; then echo '{"gpus":[],"free":[],"allocations":[]}'; exit 0; fi
"$s" gpus`, shellQuote(vllm.ScriptPath))
	out, err := c.Run(ctx, h, cmd, nil)
	if err != nil {
		return vllm.GPUReport{}, fmt.Errorf("listing the GPU allocations: %w", err)
	}
	return vllm.ParseGPUReport(out)
}

// CheckNotBusy returns a *BusyError naming every host of hosts that still serves replicas.
// Hosts that cannot be reached are returned in unreachable and not checked.
func CheckNotBusy(ctx context.Context, c *Client, hosts []Host) (unreachable []string, err error) {
	reports := make([]vllm.GPUReport, len(hosts))
	errs := forEachHost(ctx, hosts, func(ctx context.Context, i int, h Host) error {
		r, err := Allocations(ctx, c, h)
		reports[i] = r
		return err
	})
	var hard []error
	busy := &BusyError{}
	for i, e := range errs {
		switch {
		case e == nil:
			if len(reports[i].Allocations) > 0 {
				allocs := append([]vllm.Allocation(nil), reports[i].Allocations...)
				sort.Slice(allocs, func(a, b int) bool {
					if allocs[a].Endpoint != allocs[b].Endpoint {
						return allocs[a].Endpoint < allocs[b].Endpoint
					}
					return allocs[a].Replica < allocs[b].Replica
				})
				busy.Hosts = append(busy.Hosts, BusyHost{Host: hosts[i].Name, Allocations: allocs})
			}
		case IsUnreachable(e):
			unreachable = append(unreachable, hosts[i].Name)
		default:
			hard = append(hard, &HostError{Host: hosts[i].Name, Err: e})
		}
	}
	if len(busy.Hosts) > 0 {
		hard = append([]error{busy}, hard...)
	}
	return unreachable, errors.Join(hard...)
}

// removeScript removes the cluster's record; the node script goes too when no other cluster
// record is left on the host.
const removeScript = `set -euo pipefail
root="${INFERSTACK_ROOT:-}"
rm -f "$root"%s
dir="$root"%s
if [ -d "$dir" ] && [ -n "$(ls -A "$dir" 2>/dev/null | grep '\.json$' || true)" ]; then
  echo kept
  exit 0
fi
rmdir "$dir" 2>/dev/null || true
rm -f "$root"%s
echo removed
`

// LeaveCluster removes ref's record from hosts and, where no other cluster uses the host, the
// node script. Call CheckNotBusy first. Unreachable hosts are returned, not failed: their record
// stays behind (harmless: a later cluster of the same name overwrites it).
func LeaveCluster(ctx context.Context, c *Client, ref ClusterRef, hosts []Host) (unreachable []string, err error) {
	cmd := fmt.Sprintf(removeScript, shellQuote(ClusterRecordPath(ref.Name)), shellQuote(ClusterDir), shellQuote(vllm.ScriptPath))
	errs := forEachHost(ctx, hosts, func(ctx context.Context, _ int, h Host) error {
		_, err := c.Run(ctx, h, cmd, nil)
		c.forgetScript(h) // it may be gone
		return err
	})
	var hard []error
	for i, e := range errs {
		switch {
		case e == nil:
		case IsUnreachable(e):
			unreachable = append(unreachable, hosts[i].Name)
		default:
			hard = append(hard, &HostError{Host: hosts[i].Name, Err: e})
		}
	}
	return unreachable, errors.Join(hard...)
}

// DeleteCluster removes the cluster from every host: it refuses (a *BusyError naming the hosts
// and replicas) while any host still serves endpoint replicas, then removes the cluster record
// and, where no other cluster uses the host, the node script. Hosts that cannot be reached are
// returned in unreachable and skipped, as are hosts whose key does not match (nothing is sent to
// them): a destroy must not hang on a host that is gone for good.
func DeleteCluster(ctx context.Context, c *Client, ref ClusterRef) (unreachable []string, err error) {
	// Only hosts that no other cluster uses lose the node script; replicas on a host shared with
	// another cluster may belong to that cluster's endpoints, so they do not block this one.
	shared := make([]bool, len(ref.Hosts))
	errs := forEachHost(ctx, ref.Hosts, func(ctx context.Context, i int, h Host) error {
		n, err := otherClusters(ctx, c, h, ref.Name)
		shared[i] = n > 0
		return err
	})
	var sole, reachable []Host
	var hard []error
	for i, e := range errs {
		switch {
		case e == nil:
			reachable = append(reachable, ref.Hosts[i])
			if !shared[i] {
				sole = append(sole, ref.Hosts[i])
			}
		case IsUnreachable(e) || IsHostKeyMismatch(e):
			// Nothing was sent to a host that presented the wrong key (a cluster whose create
			// failed on it has nothing there): skip it like an unreachable one.
			unreachable = append(unreachable, ref.Hosts[i].Name)
		default:
			hard = append(hard, &HostError{Host: ref.Hosts[i].Name, Err: e})
		}
	}
	if len(hard) > 0 {
		return unreachable, errors.Join(hard...)
	}
	more, err := CheckNotBusy(ctx, c, sole)
	unreachable = append(unreachable, more...)
	if err != nil {
		return unreachable, err
	}
	var left []Host
	for _, h := range reachable {
		if !containsString(unreachable, h.Name) {
			left = append(left, h)
		}
	}
	more, err = LeaveCluster(ctx, c, ref, left)
	return append(unreachable, more...), err
}

// otherClusters counts the records of clusters other than name on host h.
func otherClusters(ctx context.Context, c *Client, h Host, name string) (int, error) {
	cmd := fmt.Sprintf(`root="${INFERSTACK_ROOT:-}"
n=0
for f in "$root"%s/*.json; do
  [ -f "$f" ] || continue
  [ "$f" = "$root"%s ] && continue
  n=$((n+1))
done
echo "$n"`, shellQuote(ClusterDir), shellQuote(ClusterRecordPath(name)))
	out, err := c.Run(ctx, h, cmd, nil)
	if err != nil {
		return 0, err
	}
	var n int
	if _, err := fmt.Sscan(strings.TrimSpace(string(out)), &n); err != nil {
		return 0, fmt.Errorf("host %s: counting cluster records: unexpected output %q", h.Name, out)
	}
	return n, nil
}

func containsString(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}
