package onprem

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/inferstack/terraform-provider-inferstack/internal/backend"
	"github.com/inferstack/terraform-provider-inferstack/internal/vllm"
)

// An endpoint on an on-prem cluster is one vLLM deployment whose replicas are placed on the
// cluster's hosts by free GPUs. Each host runs the node script (vllm.NodeBundle) for the
// replicas placed on it: the script allocates GPUs and ports in the host's own ledger under a
// lock, so the ledger, not Terraform's state, is the truth about who holds what.

// EndpointConfig is the desired state of an endpoint on a cluster.
type EndpointConfig struct {
	Cluster ClusterRef
	// Spec is the template of every host's spec: Endpoint, Model, ServedModelName, Engine,
	// Runtime, ReadyTimeout... Replicas, ListenAddress and Secrets are filled in per host.
	Spec vllm.Spec
	// Replicas is the desired number of replicas.
	Replicas int
	// NodeSelector limits placement to hosts having all these labels.
	NodeSelector map[string]string
	// APIKey is the key clients send; HFToken the Hub token ("" when none). Both are written to
	// root-only files on each host through SSH stdin, never on a command line.
	APIKey  string
	HFToken string
	// MaxUnavailable is how many replicas may restart at once (default 1). A host's replicas
	// converge together, so a host with more replicas than this is a batch of its own.
	MaxUnavailable int
}

// Placement is one replica of an endpoint on a host.
type Placement struct {
	Host    string
	Replica int
	GPUIDs  []int
	Port    int
	URL     string // OpenAI base URL, http://ADDRESS:PORT/v1
	Ready   bool
}

// EndpointState is an endpoint as the hosts report it.
type EndpointState struct {
	Placements []Placement
	// Unreachable names hosts that could not be asked.
	Unreachable []string
}

// ErrEndpointNotFound is returned by FindEndpoint when no reachable host has the endpoint.
var ErrEndpointNotFound = fmt.Errorf("endpoint %w", backend.ErrNotFound)

// IsNotFound reports whether err means the endpoint does not exist.
func IsNotFound(err error) bool { return errors.Is(err, ErrEndpointNotFound) }

// DeployError is a deploy that stopped part-way: Placements are what exist.
type DeployError struct {
	Placements []Placement
	Err        error
}

func (e *DeployError) Error() string { return e.Err.Error() }
func (e *DeployError) Unwrap() error { return e.Err }

const nodeCmd = `"${INFERSTACK_ROOT:-}` + vllm.ScriptPath + `"`

// EnsureScript installs the node script on h unless the same version is there already.
func (c *Client) EnsureScript(ctx context.Context, h Host) error {
	script, version, err := vllm.NodeScript()
	if err != nil {
		return err
	}
	out, err := c.Run(ctx, h, nodeCmd+" version 2>/dev/null || true", nil)
	if err != nil {
		return err
	}
	if strings.Contains(string(out), " "+version+" ") {
		return nil
	}
	return c.installScript(ctx, h, script)
}

// installScript installs the node script (vllm.NodeScript) on h.
func (c *Client) installScript(ctx context.Context, h Host, script []byte) error {
	// Two endpoints may upgrade the script of one host at once: each writes a temp file of its
	// own, under the host's script lock, and renames it into place (a running script keeps
	// reading the file it opened).
	const install = `set -euo pipefail
r="${INFERSTACK_ROOT:-}"
p="$r"` + vllm.ScriptPath + `
mkdir -p "${p%/*}" "$r` + vllm.StateDir + `"
exec 7>"$r` + vllm.StateDir + `/script.lock"
flock -w 120 7 || { echo "the node script's install lock stayed taken for 2 minutes" >&2; exit 1; }
tmp=$(mktemp "$p.upload.XXXXXX")
trap 'rm -f "$tmp"' EXIT
cat >"$tmp"
chmod 0755 "$tmp"
sync "$tmp"
mv -f "$tmp" "$p"`
	if _, err := c.Run(ctx, h, install, script); err != nil {
		return fmt.Errorf("installing the node script on %s: %w", h.Name, err)
	}
	return nil
}

// GPUs returns the GPU report of h (`inferstack-node gpus`), installing the script first.
func (c *Client) GPUs(ctx context.Context, h Host) (vllm.GPUReport, error) {
	if err := c.EnsureScript(ctx, h); err != nil {
		return vllm.GPUReport{}, err
	}
	out, err := c.Run(ctx, h, nodeCmd+" gpus", nil)
	if err != nil {
		return vllm.GPUReport{}, err
	}
	r, err := vllm.ParseGPUReport(out)
	if err != nil {
		return vllm.GPUReport{}, fmt.Errorf("host %s: %w", h.Name, err)
	}
	return r, nil
}

// SelectHosts returns the cluster's hosts that have every label of selector.
func SelectHosts(hosts []Host, selector map[string]string) []Host {
	var out []Host
	for _, h := range hosts {
		ok := true
		for k, v := range selector {
			if h.Labels[k] != v {
				ok = false
				break
			}
		}
		if ok {
			out = append(out, h)
		}
	}
	return out
}

// hostRoom is what placement knows about a candidate host.
type hostRoom struct {
	host  Host
	total int
	avail int   // free GPUs plus those this endpoint holds
	held  []int // replica indices of this endpoint in the ledger
}

// PlaceEndpoint decides which host runs each replica (index 0..Replicas-1): replicas the hosts'
// ledgers already hold stay where they are while they still fit; new ones go to hosts with
// enough free GPUs, spreading across hosts. It returns host name by replica index.
func (c *Client) PlaceEndpoint(ctx context.Context, cfg EndpointConfig) (map[int]string, error) {
	place, p, err := c.place(ctx, cfg)
	p.release()
	return place, err
}

// place is PlaceEndpoint from the hosts' shared reports (hostbook.go), less what placements
// under way reserved; it reserves what it places until the deploy applies it (placement).
func (c *Client) place(ctx context.Context, cfg EndpointConfig) (map[int]string, *placement, error) {
	need := gpusPerReplica(cfg.Spec)
	candidates := SelectHosts(cfg.Cluster.Hosts, cfg.NodeSelector)
	if len(candidates) == 0 {
		return nil, nil, fmt.Errorf("no host of cluster %s has the labels of node_selector %v", cfg.Cluster.Name, cfg.NodeSelector)
	}
	reports := make([]*hostReport, len(candidates))
	errs := make([]error, len(candidates))
	var wg sync.WaitGroup
	for i, h := range candidates {
		wg.Go(func() { reports[i], errs[i] = c.report(ctx, h) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil && !IsUnreachable(err) {
			return nil, nil, err
		}
		// An unreachable host is placed around; one that holds replicas fails below.
		if err != nil && IsUnreachable(err) && slices.IndexFunc(errs, func(e error) bool { return e == nil }) < 0 {
			return nil, nil, fmt.Errorf("no candidate host can be reached: %w", errs[i])
		}
	}

	// The decision and its reservations are one step: a placement under way elsewhere sees
	// these before it decides.
	c.mu.Lock()
	defer c.mu.Unlock()
	var usable []*hostRoom
	for i, r := range reports {
		if errs[i] != nil {
			continue
		}
		h := candidates[i]
		room := &hostRoom{host: h, total: len(r.gpus.GPUs), avail: c.room(h, r, cfg.Spec.Endpoint)}
		for _, a := range r.gpus.Allocations {
			if a.Endpoint == cfg.Spec.Endpoint {
				room.held = append(room.held, a.Replica)
			}
		}
		usable = append(usable, room)
	}

	place := map[int]string{}
	count := map[string]int{}
	start := map[string]int{}
	for _, r := range usable {
		start[r.host.Name] = r.avail
		slices.Sort(r.held)
		for _, idx := range r.held {
			if idx >= cfg.Replicas || place[idx] != "" || r.avail < need {
				continue
			}
			place[idx] = r.host.Name
			r.avail -= need
			count[r.host.Name]++
		}
	}
	for idx := range cfg.Replicas {
		if place[idx] != "" {
			continue
		}
		var best *hostRoom
		for _, r := range usable {
			if r.avail < need {
				continue
			}
			if best == nil || count[r.host.Name] < count[best.host.Name] ||
				(count[r.host.Name] == count[best.host.Name] && r.avail > best.avail) {
				best = r
			}
		}
		if best == nil {
			var parts []string
			for _, r := range usable {
				parts = append(parts, fmt.Sprintf("%s: %d of %d free", r.host.Name, start[r.host.Name], r.total))
			}
			for i, err := range errs {
				if err != nil {
					parts = append(parts, fmt.Sprintf("%s: unreachable", candidates[i].Name))
				}
			}
			return nil, nil, fmt.Errorf("not enough free GPUs for endpoint %s on cluster %s: %s; need %d replicas x %d GPUs",
				cfg.Spec.Endpoint, cfg.Cluster.Name, strings.Join(parts, ", "), cfg.Replicas, need)
		}
		place[idx] = best.host.Name
		best.avail -= need
		count[best.host.Name]++
	}
	p := &placement{c: c, hosts: map[string]Host{}}
	for _, r := range usable {
		if n := count[r.host.Name]; n > 0 {
			c.reserve(p, r.host, cfg.Spec.Endpoint, n*need)
		}
	}
	return place, p, nil
}

func gpusPerReplica(s vllm.Spec) int {
	if s.GPUsPerReplica > 0 {
		return s.GPUsPerReplica
	}
	tp, pp := max(s.Engine.TensorParallelSize, 1), max(s.Engine.PipelineParallelSize, 1)
	return tp * pp
}

// DeployEndpoint places the replicas and converges every host, in batches of MaxUnavailable
// replicas (a host's replicas together), the next batch only after the last is ready. Hosts that
// held replicas no longer placed on them have the endpoint removed. A failure is a *DeployError
// carrying the placements that exist.
func (c *Client) DeployEndpoint(ctx context.Context, cfg EndpointConfig) ([]Placement, error) {
	c.forgetDeployed(cfg.Cluster, cfg.Spec.Endpoint)
	if err := checkSecrets(cfg); err != nil {
		return nil, &DeployError{Err: err}
	}
	var placements []Placement
	// Hosts this deploy converged on: a refused or failed converge may leave the endpoint's spec
	// and secrets there, so they are cleaned up if a later attempt places it elsewhere.
	tried := map[string]bool{}
	for attempt := 0; ; attempt++ {
		place, p, err := c.place(ctx, cfg)
		if err != nil {
			return nil, &DeployError{Err: err}
		}
		var unreachable []string
		placements, unreachable, err = c.converge(ctx, cfg, place, p, tried)
		p.release()
		var exit *ExitError
		// Another endpoint took the GPUs between the report and the apply: place again.
		if err != nil && errors.As(err, &exit) && exit.Status == vllm.ExitNoRoom && attempt < 2 {
			continue
		}
		if err != nil {
			return placements, &DeployError{Placements: placements, Err: err}
		}
		if len(unreachable) == 0 {
			c.rememberDeployed(cfg, placements)
		}
		return placements, nil
	}
}

// deployKey names an endpoint of a cluster (its name and hosts) in Client.deployed.
func deployKey(cluster ClusterRef, endpoint string) string {
	k := cluster.Name + "\x00" + endpoint
	for _, h := range cluster.Hosts {
		k += "\x00" + h.Name + "=" + h.connKey()
	}
	return k
}

// deployed is what a deploy of this client left: the replicas as the hosts reported them at the
// end of their converge, and the target (the spec's served model name, the API key written).
type deployed struct {
	placements []Placement
	target     EndpointTarget
}

// rememberDeployed keeps what a deploy left when it asked every host of the cluster (none
// unreachable), so that the endpoint's read and its routes' target in the same run need no read
// of the hosts (issue 16): the deploy waited for readiness and wrote the spec and key itself.
func (c *Client) rememberDeployed(cfg EndpointConfig, ps []Placement) {
	d := &deployed{placements: clonePlacements(ps), target: EndpointTarget{ServedModelName: cfg.Spec.ServedModelName, APIKey: cfg.APIKey}}
	if d.target.ServedModelName == "" {
		d.target.ServedModelName = cfg.Spec.Model.ID
	}
	for _, p := range ps {
		d.target.URLs = append(d.target.URLs, p.URL)
		if p.Ready {
			d.target.Ready++
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.deployed[deployKey(cfg.Cluster, cfg.Spec.Endpoint)] = d
}

func (c *Client) forgetDeployed(cluster ClusterRef, endpoint string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.deployed, deployKey(cluster, endpoint))
}

// Deployed returns the endpoint and its target as this client's last deploy of it left them
// (every host of the cluster answering), if it has not written the endpoint since; ok is false
// when there is none. Nothing is asked of the hosts.
func (c *Client) Deployed(cluster ClusterRef, endpoint string) (st *EndpointState, t *EndpointTarget, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	d, ok := c.deployed[deployKey(cluster, endpoint)]
	if !ok {
		return nil, nil, false
	}
	tc := d.target
	tc.URLs = slices.Clone(d.target.URLs)
	return &EndpointState{Placements: clonePlacements(d.placements)}, &tc, true
}

func clonePlacements(ps []Placement) []Placement {
	out := slices.Clone(ps)
	for i := range out {
		out[i].GPUIDs = slices.Clone(out[i].GPUIDs)
	}
	return out
}

// converge applies the placement; unreachable names the hosts without a replica now that could
// not be asked whether they hold anything of the endpoint (left for Delete or a later apply).
func (c *Client) converge(ctx context.Context, cfg EndpointConfig, place map[int]string, p *placement, tried map[string]bool) (
	placements []Placement, unreachable []string, err error) {
	byHost := map[string][]int{}
	for idx, h := range place {
		byHost[h] = append(byHost[h], idx)
	}
	hosts := map[string]Host{}
	for _, h := range cfg.Cluster.Hosts {
		hosts[h.Name] = h
	}
	var names []string
	for n := range byHost {
		names = append(names, n)
		slices.Sort(byHost[n])
	}
	sort.Strings(names)

	// Hosts of the cluster that hold this endpoint but get no replica now: remove it there
	// first, so their GPUs are free. Their reports (shared with the placements) say which hosts
	// have anything of it; unreachable ones are left for Delete (or a later apply).
	var gone []Host
	for _, h := range cfg.Cluster.Hosts {
		if _, ok := byHost[h.Name]; !ok {
			gone = append(gone, h)
		}
	}
	errs := make([]error, len(gone))
	var wg sync.WaitGroup
	for i, h := range gone {
		wg.Go(func() {
			if !tried[h.Name] {
				r, err := c.report(ctx, h)
				if err != nil {
					errs[i] = err
					return
				}
				if !r.has(cfg.Spec.Endpoint) {
					return
				}
			}
			errs[i] = c.removeIfPresent(ctx, h, cfg.Spec.Endpoint)
		})
	}
	wg.Wait()
	for i, err := range errs {
		switch {
		case err == nil:
		case IsUnreachable(err):
			unreachable = append(unreachable, gone[i].Name)
		default:
			return nil, nil, err
		}
	}

	maxUnavail := max(cfg.MaxUnavailable, 1)
	var batches [][]string
	var cur []string
	n := 0
	for _, name := range names {
		k := len(byHost[name])
		if len(cur) > 0 && n+k > maxUnavail {
			batches = append(batches, cur)
			cur, n = nil, 0
		}
		cur = append(cur, name)
		n += k
	}
	if len(cur) > 0 {
		batches = append(batches, cur)
	}

	for _, batch := range batches {
		results := make([][]Placement, len(batch))
		errs := make([]error, len(batch))
		var wg sync.WaitGroup
		for i, name := range batch {
			tried[name] = true
			wg.Go(func() {
				results[i], errs[i] = c.applyHost(ctx, cfg, hosts[name], byHost[name])
				p.done(hosts[name]) // its ledger is written: the next placement reads it again
			})
		}
		wg.Wait()
		for _, r := range results {
			placements = append(placements, r...)
		}
		if err := errors.Join(errs...); err != nil {
			// Replicas of later batches still hold what the ledger says: report them as known.
			return placements, unreachable, err
		}
	}
	sortPlacements(placements)
	return placements, unreachable, nil
}

func sortPlacements(ps []Placement) {
	sort.Slice(ps, func(i, j int) bool { return ps[i].Replica < ps[j].Replica })
}

// convergeScript writes the endpoint's secret files on the host, then runs the node script's
// apply, in one session (issue 16: the secrets took two sessions of their own per host). Its stdin
// is each secret value (VLLM_API_KEY, then HF_TOKEN) followed by a NUL, then the spec: the values
// never reach an argument list (read and printf are bash builtins). An empty value removes its
// file. A secret that cannot be written stops the script before the apply (fails closed).
func convergeScript(endpoint string) string {
	var b strings.Builder
	b.WriteString(`set -uo pipefail
r="${INFERSTACK_ROOT:-}"
secret() {
  local f="$r$1" v
  IFS= read -r -d '' v || { echo "the secret's value did not arrive whole on stdin" >&2; return 1; }
  if [ -z "$v" ]; then rm -f "$f"; return; fi
  (umask 077 && mkdir -p "${f%/*}" && chmod 0700 "${f%/*}" && printf '%s' "$v" >"$f.new" && chmod 0600 "$f.new" && mv -f "$f.new" "$f")
}
`)
	for _, env := range secretEnvs {
		fmt.Fprintf(&b, "secret %s || { echo %s >&2; exit 1; }\n", shellQuote(vllm.SecretFilePath(endpoint, env)),
			shellQuote("writing the "+env+" secret of "+endpoint+" failed"))
	}
	b.WriteString("exec " + nodeCmd + " apply -\n")
	return b.String()
}

// secretEnvs are the secret files convergeScript writes, in the order of its stdin.
var secretEnvs = []string{"VLLM_API_KEY", "HF_TOKEN"}

// convergeInput is convergeScript's stdin: the secret values (checked by checkSecrets), each
// NUL-terminated, then the spec.
func convergeInput(cfg EndpointConfig, spec []byte) []byte {
	var in bytes.Buffer
	for _, v := range []string{cfg.APIKey, cfg.HFToken} {
		in.WriteString(v)
		in.WriteByte(0)
	}
	in.Write(spec)
	return in.Bytes()
}

// checkSecrets refuses, before any host is asked, a secret value that cannot be a line
// VAR=value of the endpoint's env file: a line break would add variables of its own (and a NUL
// would end the value early on convergeScript's stdin).
func checkSecrets(cfg EndpointConfig) error {
	for i, v := range []string{cfg.APIKey, cfg.HFToken} {
		if vllm.HasControl(v) {
			return fmt.Errorf("the %s secret of endpoint %s holds a control character (line break, NUL...), which an env file cannot hold",
				secretEnvs[i], cfg.Spec.Endpoint)
		}
	}
	return nil
}

// HostSpec is the spec of cfg for host h with the given replicas.
func HostSpec(cfg EndpointConfig, h Host, replicas []int) vllm.Spec {
	s := cfg.Spec
	s.ListenAddress = h.Address
	s.Replicas = nil
	for _, idx := range replicas {
		s.Replicas = append(s.Replicas, vllm.Replica{Index: idx})
	}
	s.Secrets = vllm.Secrets{APIKey: vllm.SecretRef{Source: vllm.SecretFile, Name: vllm.SecretFilePath(s.Endpoint, "VLLM_API_KEY")}}
	if cfg.HFToken != "" {
		s.Secrets.HFToken = vllm.SecretRef{Source: vllm.SecretFile, Name: vllm.SecretFilePath(s.Endpoint, "HF_TOKEN")}
	}
	return s
}

func (c *Client) applyHost(ctx context.Context, cfg EndpointConfig, h Host, replicas []int) ([]Placement, error) {
	spec := HostSpec(cfg, h, replicas)
	// The node's readiness wait must end before the caller's deadline, whatever placement and
	// earlier batches took of it, so that a replica that never becomes ready is reported with its
	// reason and logs rather than as a cut connection.
	if dl, ok := ctx.Deadline(); ok {
		left := time.Until(dl)
		if wait := left - readyMargin(left); spec.ReadyTimeout == 0 || wait < spec.ReadyTimeout {
			spec.ReadyTimeout = max(wait, time.Second)
		}
	}
	b, err := vllm.NodeBundle(spec)
	if err != nil {
		return nil, err
	}
	if err := c.ensureScript(ctx, h); err != nil {
		return nil, err
	}
	out, runErr := c.Run(ctx, h, convergeScript(cfg.Spec.Endpoint), convergeInput(cfg, b.SpecJSON))
	var exit *ExitError
	if runErr != nil && !errors.As(runErr, &exit) {
		return nil, fmt.Errorf("converging endpoint %s on host %s: %w", cfg.Spec.Endpoint, h.Name, runErr)
	}
	st, perr := vllm.ParseStatus(out)
	if perr != nil {
		if runErr != nil {
			return nil, runErr
		}
		return nil, fmt.Errorf("host %s: %w", h.Name, perr)
	}
	ps := placementsOf(h, st)
	if runErr == nil {
		return ps, nil
	}
	switch {
	case st.Error != "":
		return ps, &ExitError{Host: h.Name, Status: exit.Status, Stderr: st.Error}
	case exit.Status == vllm.ExitNotReady:
		return ps, fmt.Errorf("endpoint %s is not ready on host %s:\n%s", cfg.Spec.Endpoint, h.Name, notReadyDetail(st))
	default:
		return ps, runErr
	}
}

func notReadyDetail(st vllm.Status) string {
	var b strings.Builder
	for _, r := range st.Replicas {
		if r.Ready {
			continue
		}
		fmt.Fprintf(&b, "  replica %d (%s, %s): %s\n", r.Index, r.Unit, r.State, r.Reason)
		logs := r.Logs
		if len(logs) > 15 {
			logs = logs[len(logs)-15:]
		}
		for _, l := range logs {
			fmt.Fprintf(&b, "    | %s\n", l)
		}
	}
	return strings.TrimRight(b.String(), "\n")
}

func placementsOf(h Host, st vllm.Status) []Placement {
	var out []Placement
	for _, r := range st.Replicas {
		out = append(out, Placement{Host: h.Name, Replica: r.Index, GPUIDs: r.GPUs, Port: r.Port, URL: r.URL, Ready: r.Ready})
	}
	return out
}

// hostRead is what one host said of an endpoint in one session: its status and, when asked for
// and the host has the endpoint's spec, the spec and the API key.
type hostRead struct {
	st        vllm.Status
	found     bool
	spec, key []byte
	hasSpec   bool
}

// readHost asks h for the endpoint's status in one session and, withTarget, for what a route
// needs of it too (the applied spec, a NUL, the API key from its root-only file: the key only
// on stdout).
func (c *Client) readHost(ctx context.Context, h Host, endpoint string, withTarget bool) (hostRead, error) {
	// A host without the endpoint's spec answers as the node script would ("not on this node",
	// exit 2) without running it: most hosts of a cluster do not have a given endpoint.
	script := `s=` + nodeCmd + `
[ -x "$s" ] || { echo '{"error":"absent"}'; exit 2; }
[ -f "${INFERSTACK_ROOT:-}"` + shellQuote(vllm.SpecPath(endpoint)) + ` ] || { echo '{"error":"absent"}'; exit 2; }
`
	if !withTarget {
		script += `exec "$s" status ` + shellQuote(endpoint)
	} else {
		script += `"$s" status ` + shellQuote(endpoint) + `
rc=$?
r="${INFERSTACK_ROOT:-}"
f="$r"` + shellQuote(vllm.SpecPath(endpoint)) + `
if [ -f "$f" ]; then
  printf '\0'
  cat "$f"
  printf '\0'
  cat "$r"` + shellQuote(vllm.SecretFilePath(endpoint, "VLLM_API_KEY")) + ` 2>/dev/null
fi
exit "$rc"`
	}
	out, err := c.Run(ctx, h, script, nil)
	var exit *ExitError
	if err != nil && !errors.As(err, &exit) {
		return hostRead{}, err
	}
	var r hostRead
	if withTarget {
		if st, rest, ok := bytes.Cut(out, []byte{0}); ok {
			out = st
			r.spec, r.key, r.hasSpec = bytes.Cut(rest, []byte{0})
		}
	}
	st, perr := vllm.ParseStatus(out)
	if perr != nil {
		if err != nil {
			return hostRead{}, err
		}
		return hostRead{}, fmt.Errorf("host %s: %w", h.Name, perr)
	}
	r.st = st
	if err != nil && exit.Status == vllm.ExitUsage {
		return r, nil
	}
	r.found = true
	return r, nil
}

// FindEndpoint asks every host of the cluster for the endpoint. Unreachable hosts are listed in
// the result; ErrEndpointNotFound when no reachable host has it and none is unreachable.
func (c *Client) FindEndpoint(ctx context.Context, cluster ClusterRef, endpoint string) (*EndpointState, error) {
	st, _, err := c.readEndpoint(ctx, cluster, endpoint, false)
	return st, err
}

// ReadEndpoint is FindEndpoint and FindEndpointTarget in one session per host: each host reports
// the endpoint's status, spec and key together, and the target is taken from the host of the
// first ready replica. One read of the endpoint serves its refresh and its routes.
func (c *Client) ReadEndpoint(ctx context.Context, cluster ClusterRef, endpoint string) (*EndpointState, *EndpointTarget, error) {
	return c.readEndpoint(ctx, cluster, endpoint, true)
}

func (c *Client) readEndpoint(ctx context.Context, cluster ClusterRef, endpoint string, withTarget bool) (*EndpointState, *EndpointTarget, error) {
	type res struct {
		r   hostRead
		err error
	}
	results := make([]res, len(cluster.Hosts))
	var wg sync.WaitGroup
	for i, h := range cluster.Hosts {
		wg.Go(func() {
			r, err := c.readHost(ctx, h, endpoint, withTarget)
			results[i] = res{r, err}
		})
	}
	wg.Wait()
	out := &EndpointState{}
	byHost := map[string]hostRead{}
	for i, r := range results {
		h := cluster.Hosts[i]
		switch {
		case r.err != nil && IsUnreachable(r.err):
			out.Unreachable = append(out.Unreachable, h.Name)
		case r.err != nil:
			return nil, nil, r.err
		case r.r.found:
			out.Placements = append(out.Placements, placementsOf(h, r.r.st)...)
			byHost[h.Name] = r.r
		}
	}
	sortPlacements(out.Placements)
	if len(out.Placements) == 0 && len(out.Unreachable) == 0 {
		return nil, nil, ErrEndpointNotFound
	}
	if !withTarget {
		return out, nil, nil
	}
	t := &EndpointTarget{Unreachable: out.Unreachable}
	from := ""
	for _, p := range out.Placements {
		t.URLs = append(t.URLs, p.URL)
		if p.Ready {
			t.Ready++
			if from == "" {
				from = p.Host
			}
		}
	}
	if from == "" {
		return out, t, nil
	}
	r := byHost[from]
	if !r.hasSpec {
		return nil, nil, fmt.Errorf("reading the spec and API key of endpoint %s on host %s: unexpected output", endpoint, from)
	}
	var ns struct {
		Model           string `json:"model"`
		ServedModelName string `json:"served_model_name"`
	}
	if err := json.Unmarshal(r.spec, &ns); err != nil {
		return nil, nil, fmt.Errorf("host %s: reading the spec of %s: %w", from, endpoint, err)
	}
	t.ServedModelName = ns.ServedModelName
	if t.ServedModelName == "" {
		t.ServedModelName = ns.Model
	}
	t.APIKey = string(r.key)
	return out, t, nil
}

func (c *Client) removeIfPresent(ctx context.Context, h Host, endpoint string) error {
	script := `s=` + nodeCmd + `
[ -x "$s" ] || exit 0
exec "$s" remove ` + shellQuote(endpoint) + ` >/dev/null`
	_, err := c.Run(ctx, h, script, nil)
	c.dropReport(h) // its ledger may have changed
	if err != nil {
		return fmt.Errorf("removing endpoint %s from host %s: %w", endpoint, h.Name, err)
	}
	return nil
}

// DeleteEndpoint removes the endpoint from every host of the cluster (units, env and secret
// files, ledger entries). Hosts that cannot be reached are an error naming them, unless
// forceUnreachable; the endpoint is then removed from the others.
func (c *Client) DeleteEndpoint(ctx context.Context, cluster ClusterRef, endpoint string, forceUnreachable bool) (unreachable []string, err error) {
	c.forgetDeployed(cluster, endpoint)
	errs := make([]error, len(cluster.Hosts))
	var wg sync.WaitGroup
	for i, h := range cluster.Hosts {
		wg.Go(func() { errs[i] = c.removeIfPresent(ctx, h, endpoint) })
	}
	wg.Wait()
	var other []error
	for i, e := range errs {
		switch {
		case e == nil:
		case IsUnreachable(e):
			unreachable = append(unreachable, cluster.Hosts[i].Name)
		default:
			other = append(other, e)
		}
	}
	if len(other) > 0 {
		return unreachable, errors.Join(other...)
	}
	if len(unreachable) > 0 && !forceUnreachable {
		return unreachable, fmt.Errorf("cannot remove endpoint %s from unreachable host(s) %s: bring them back and destroy again, "+
			"or set force_remove_unreachable = true to forget what runs there (its units and GPUs stay allocated until removed by hand)",
			endpoint, strings.Join(unreachable, ", "))
	}
	return unreachable, nil
}

// FindEndpointSpec reads the endpoint's applied spec from every host of the cluster and returns
// the settings (from the first host that has it) and the number of replicas on all of them.
func (c *Client) FindEndpointSpec(ctx context.Context, cluster ClusterRef, endpoint string) (vllm.AppliedSpec, error) {
	var out vllm.AppliedSpec
	found := false
	for _, h := range cluster.Hosts {
		b, err := c.Run(ctx, h, `f="${INFERSTACK_ROOT:-}"`+shellQuote(vllm.SpecPath(endpoint))+`; [ -f "$f" ] || exit 0; cat "$f"`, nil)
		if err != nil {
			return vllm.AppliedSpec{}, err
		}
		if len(strings.TrimSpace(string(b))) == 0 {
			continue
		}
		spec, err := vllm.ParseSpecJSON(b)
		if err != nil {
			return vllm.AppliedSpec{}, fmt.Errorf("host %s: reading the spec of %s: %w", h.Name, endpoint, err)
		}
		out.Replicas += spec.Replicas
		if found || spec.Replicas == 0 {
			continue
		}
		found = true
		spec.Replicas = out.Replicas
		out = spec
	}
	if !found {
		return vllm.AppliedSpec{}, fmt.Errorf("%w: no host of cluster %s has endpoint %s", ErrEndpointNotFound, cluster.Name, endpoint)
	}
	return out, nil
}

// readyMargin is what a converge leaves of the time left for reporting back over SSH (status,
// log lines): three seconds and a fifth of the rest.
func readyMargin(left time.Duration) time.Duration { return 3*time.Second + left/5 }

// EndpointTarget is what a client of an endpoint needs to call it: every replica's URL, the
// model name it serves and its API key.
type EndpointTarget struct {
	// URLs are the OpenAI base URLs of every replica the reachable hosts run, by replica, ready
	// or not (a replica that is starting or restarting is still the endpoint's).
	URLs []string
	// Ready is how many of them answered their health check.
	Ready int
	// ServedModelName is the name vLLM serves the model under (--served-model-name).
	ServedModelName string
	// APIKey is the key clients send. Secret: never log it.
	APIKey string
	// Unreachable names hosts that could not be asked.
	Unreachable []string
}

// FindEndpointTarget asks the cluster's hosts for the endpoint's replicas and, in the same
// session per host, its served model name (from the applied spec) and its API key (from the
// root-only secret file), taken from the host of the first ready replica. With no ready replica,
// only URLs and Unreachable are filled in. ErrEndpointNotFound when no reachable host has the
// endpoint and none is unreachable.
func (c *Client) FindEndpointTarget(ctx context.Context, cluster ClusterRef, endpoint string) (*EndpointTarget, error) {
	_, t, err := c.ReadEndpoint(ctx, cluster, endpoint)
	return t, err
}
