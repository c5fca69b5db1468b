package onprem

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/inferstack/terraform-provider-inferstack/internal/backend"
	"github.com/inferstack/terraform-provider-inferstack/internal/vllm"
)

// Backend is the on-prem hosts' side of the backend seam (backend.Backend): a cluster is a set of
// hosts reached over SSH, its ID describes them (EncodeClusterID), and an endpoint's replicas are
// placed on them by free GPUs. The SSH client is built on first use, so a configuration without
// on-prem clusters never needs a key.
type Backend struct {
	cfg SSHConfig

	once   sync.Once
	client *Client
	err    error

	mu sync.Mutex
	// registered are the nodes of clusters this backend registered (EnsureCluster, every host
	// answering), by cluster ID, until it writes them again: FindCluster in the same run (the
	// endpoints' plans at apply ask for the cluster's GPUs) then asks no host (issue 16).
	registered map[string][]Node
	// discovered are the nodes FindCluster read of a cluster from every one of its hosts, found
	// or not: ClusterCapacity after it in the same run (the registry's cache asks it for a
	// cluster not found, one a plan is about to create) asks no host again. GPUs are hardware.
	discovered map[string][]Node
}

var (
	_ backend.Backend           = (*Backend)(nil)
	_ backend.EndpointReader    = (*Backend)(nil)
	_ backend.CapacityReader    = (*Backend)(nil)
	_ backend.ClusterCapacityOf = (*Backend)(nil)
)

// Name is the block name and the ID prefix (IDPrefix without its slash).
const Name = "onprem"

// NewBackend makes the on-prem backend; cfg.PrivateKey may be empty until a host is reached.
func NewBackend(cfg SSHConfig) *Backend { return &Backend{cfg: cfg} }

// Client returns the shared SSH client (one cached connection per host).
func (b *Backend) Client() (*Client, error) {
	b.once.Do(func() {
		if b.cfg.PrivateKey == "" {
			b.err = errors.New("no SSH private key for on-prem hosts: set ssh_private_key in the provider's " +
				"onprem block, or INFERSTACK_SSH_PRIVATE_KEY")
			return
		}
		b.client, b.err = NewClient(b.cfg)
	})
	return b.client, b.err
}

func (b *Backend) Name() string { return Name }

func (b *Backend) Capabilities() backend.Capabilities {
	return backend.Capabilities{HostPlacement: true}
}

// reach decodes a cluster ID and returns the SSH client to reach its hosts with.
func (b *Backend) reach(clusterID string) (ClusterRef, *Client, error) {
	ref, err := DecodeClusterID(clusterID)
	if err != nil {
		return ClusterRef{}, nil, err
	}
	c, err := b.Client()
	return ref, c, err
}

// ClusterView is an on-prem cluster as its hosts report it (backend.Cluster.Details).
type ClusterView struct {
	Ref ClusterRef
	// Nodes are the hosts that answered, in the order of Ref.Hosts.
	Nodes []Node
	// Unreachable names the hosts that could not be reached.
	Unreachable []string
}

func refOf(spec backend.ClusterSpec) (ClusterRef, error) {
	ref, ok := spec.Settings.(*ClusterRef)
	if !ok || ref == nil {
		return ClusterRef{}, fmt.Errorf("on-prem backend: cluster settings of type %T: this is a bug in the provider", spec.Settings)
	}
	r := *ref
	r.Name = spec.Name
	return r, nil
}

func (b *Backend) ClusterID(_ context.Context, spec backend.ClusterSpec) (string, error) {
	ref, err := refOf(spec)
	if err != nil {
		return "", err
	}
	return EncodeClusterID(ref), nil
}

// PlanCluster checks, without connecting: unique host names and addresses, and that every host's
// key can be checked (host_key, the provider's known_hosts, or insecure_ignore_host_key).
func (b *Backend) PlanCluster(_ context.Context, spec backend.ClusterSpec, _ *backend.ClusterSpec) (*backend.ClusterPlan, error) {
	ref, err := refOf(spec)
	if err != nil {
		return nil, err
	}
	var problems []error
	names, addrs := map[string]int{}, map[string]int{}
	for i, h := range ref.Hosts {
		if j, ok := names[h.Name]; ok {
			problems = append(problems, &backend.InputError{Attribute: fmt.Sprintf("hosts[%d].name", i),
				Detail: fmt.Sprintf("%q is also the name of hosts[%d]: host names must be unique.", h.Name, j)})
		}
		names[h.Name] = i
		if j, ok := addrs[h.addr()]; ok {
			problems = append(problems, &backend.InputError{Attribute: fmt.Sprintf("hosts[%d].address", i),
				Detail: fmt.Sprintf("%s is also the address of hosts[%d].", h.addr(), j)})
		}
		addrs[h.addr()] = i
	}
	if len(problems) == 0 {
		if err := CheckRef(ref); err != nil {
			problems = append(problems, err)
		}
	}
	plan := &backend.ClusterPlan{ID: EncodeClusterID(ref)}
	if !ref.Insecure && b.cfg.KnownHosts == "" {
		for i, h := range ref.Hosts {
			if h.HostKey == "" {
				problems = append(problems, &backend.InputError{Attribute: fmt.Sprintf("hosts[%d].host_key", i),
					Detail: fmt.Sprintf("host %s (%s) has no host_key and the provider's onprem block has no known_hosts, so "+
						"its identity cannot be checked. Set host_key to its public key (ssh-keyscan, checked out of band), "+
						"add it to known_hosts, or (not recommended) set insecure_ignore_host_key = true.", h.Name, h.Address)})
			}
		}
		if ref.Bastion != nil && ref.Bastion.HostKey == "" {
			problems = append(problems, &backend.InputError{Attribute: "bastion.host_key",
				Detail: "the bastion has no host_key and the provider's onprem block has no known_hosts. Set host_key, add " +
					"the bastion to known_hosts, or (not recommended) set insecure_ignore_host_key = true."})
		}
	}
	return plan, errors.Join(problems...)
}

// EnsureCluster registers the hosts. On an update (priorID describes other hosts), hosts being
// removed are asked first: one that still serves replicas stops the update before anything
// changes; then every host is registered (idempotent) and removed hosts leave the cluster.
func (b *Backend) EnsureCluster(ctx context.Context, priorID string, spec backend.ClusterSpec) (*backend.Cluster, error) {
	ref, err := refOf(spec)
	if err != nil {
		return nil, err
	}
	if err := CheckRef(ref); err != nil {
		return nil, err
	}
	c, err := b.Client()
	if err != nil {
		return nil, err
	}
	var removed []Host
	if prior, err := DecodeClusterID(priorID); err == nil {
		for _, old := range prior.Hosts {
			kept := false
			for _, h := range ref.Hosts {
				kept = kept || (h.Name == old.Name && h.addr() == old.addr())
			}
			if !kept {
				removed = append(removed, old)
			}
		}
	}
	out := &backend.Cluster{ID: EncodeClusterID(ref), Name: ref.Name}
	if len(removed) > 0 {
		unreachable, err := CheckNotBusy(ctx, c, removed)
		if err != nil {
			return nil, fmt.Errorf("cannot remove hosts from the cluster: %w", err)
		}
		if len(unreachable) > 0 {
			out.Warnings = append(out.Warnings, fmt.Sprintf("Removed hosts %s could not be reached: their replicas (if any) "+
				"and the cluster record stay on them.", strings.Join(unreachable, ", ")))
		}
	}
	b.forgetRegistered(priorID)
	b.forgetRegistered(out.ID)
	nodes, err := EnsureCluster(ctx, c, ref)
	out.Details = &ClusterView{Ref: ref, Nodes: nodes}
	if err != nil {
		return out, err
	}
	b.keep(&b.registered, out.ID, nodes)
	if len(removed) > 0 {
		if _, err := LeaveCluster(ctx, c, ref, removed); err != nil {
			out.Warnings = append(out.Warnings, "Removing the cluster record from removed hosts: "+err.Error())
		}
	}
	return out, nil
}

// FindCluster asks every host for its GPUs and the cluster's record. A host that cannot be
// reached is a warning; a cluster whose record is gone from every host that answered is
// ErrNotFound (removed outside Terraform). A cluster this backend registered (every host
// answering) is answered from its registration: the nodes' facts it found.
func (b *Backend) FindCluster(ctx context.Context, id string) (*backend.Cluster, error) {
	ref, c, err := b.reach(id)
	if err != nil {
		return nil, err
	}
	nodes, ok := b.known(&b.registered, id)
	var unreachable []string
	found := true
	if !ok {
		nodes, unreachable, found, err = ReadCluster(ctx, c, ref)
	}
	if err != nil {
		return nil, err
	}
	if !ok && len(unreachable) == 0 {
		b.keep(&b.discovered, id, nodes)
	}
	if !found {
		return nil, fmt.Errorf("no host that answered still has the cluster's record (%s): it was removed outside "+
			"Terraform: %w", ClusterRecordPath(ref.Name), backend.ErrNotFound)
	}
	out := &backend.Cluster{ID: id, Name: ref.Name, Details: &ClusterView{Ref: ref, Nodes: nodes, Unreachable: unreachable}}
	if len(unreachable) > 0 {
		out.Warnings = append(out.Warnings, fmt.Sprintf("Hosts %s could not be reached over SSH; their nodes entries are the "+
			"last known ones. Endpoints cannot place replicas on them until they are back. Remove them from onprem.hosts if "+
			"they are gone for good.", strings.Join(unreachable, ", ")))
	}
	for _, n := range nodes {
		if len(n.Problems) > 0 {
			out.Warnings = append(out.Warnings, fmt.Sprintf("Host %s is not ready: %s", n.Name, strings.Join(n.Problems, "; ")))
		}
	}
	return out, nil
}

// keep records the nodes of cluster id in *m (registered or discovered).
func (b *Backend) keep(m *map[string][]Node, id string, nodes []Node) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if *m == nil {
		*m = map[string][]Node{}
	}
	(*m)[id] = cloneNodes(nodes)
}

// forgetRegistered forgets what was registered or discovered of cluster id (it is written).
func (b *Backend) forgetRegistered(id string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.registered, id)
	delete(b.discovered, id)
}

// known returns the nodes of cluster id in *m (registered or discovered), if any.
func (b *Backend) known(m *map[string][]Node, id string) ([]Node, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	nodes, ok := (*m)[id]
	return cloneNodes(nodes), ok
}

func cloneNodes(nodes []Node) []Node {
	out := slices.Clone(nodes)
	for i := range out {
		out[i].GPUs, out[i].Problems = slices.Clone(out[i].GPUs), slices.Clone(out[i].Problems)
	}
	return out
}

// ClusterCapacity implements backend.CapacityReader from what the hosts that answer report:
// the host with the most GPUs (the smallest of its GPUs' memory) and every GPU of the cluster.
func (b *Backend) ClusterCapacity(ctx context.Context, id string) (*backend.Capacity, error) {
	ref, c, err := b.reach(id)
	if err != nil {
		return nil, err
	}
	nodes, ok := b.known(&b.registered, id)
	if !ok {
		nodes, ok = b.known(&b.discovered, id)
	}
	if !ok {
		nodes, _, _, err = ReadCluster(ctx, c, ref)
	}
	if err != nil {
		return nil, err
	}
	return capacityOf(nodes), nil
}

// CapacityOf implements backend.ClusterCapacityOf: FindCluster's read has every answering host's
// GPUs, so the registry's cache answers ClusterCapacity from it without asking the hosts again.
func (b *Backend) CapacityOf(c *backend.Cluster) (*backend.Capacity, bool) {
	v, ok := c.Details.(*ClusterView)
	if !ok || v == nil {
		return nil, false
	}
	return capacityOf(v.Nodes), true
}

func capacityOf(nodes []Node) *backend.Capacity {
	var out backend.Capacity
	for _, n := range nodes {
		out.TotalGPUs += int64(len(n.GPUs))
		if int64(len(n.GPUs)) <= out.GPUsPerNode {
			continue
		}
		out.GPUsPerNode, out.GPUModel, out.GPUMemoryMiB = int64(len(n.GPUs)), n.GPUs[0].Model, n.GPUs[0].MemoryMiB
		for _, g := range n.GPUs {
			out.GPUMemoryMiB = min(out.GPUMemoryMiB, g.MemoryMiB)
		}
	}
	if out.GPUsPerNode == 0 {
		return nil
	}
	return &out
}

// WaitClusterReady has nothing to wait for: EnsureCluster registers hosts synchronously.
func (b *Backend) WaitClusterReady(ctx context.Context, id string) (*backend.Cluster, error) {
	ref, err := DecodeClusterID(id)
	if err != nil {
		return nil, err
	}
	return &backend.Cluster{ID: id, Name: ref.Name}, nil
}

// DeleteCluster removes the cluster record and, where no other cluster uses the host, the node
// script. A host that still serves replicas stops it; one that cannot be reached is a warning.
func (b *Backend) DeleteCluster(ctx context.Context, id string) ([]string, error) {
	ref, c, err := b.reach(id)
	if err != nil {
		return nil, err
	}
	b.forgetRegistered(id)
	unreachable, err := DeleteCluster(ctx, c, ref)
	if err != nil {
		return nil, err
	}
	if len(unreachable) > 0 {
		return []string{fmt.Sprintf("Hosts %s could not be reached: the cluster's record and the node script stay on them "+
			"(harmless; remove %s and %s by hand if the hosts come back).",
			strings.Join(unreachable, ", "), ClusterRecordPath(ref.Name), vllm.ScriptPath)}, nil
	}
	return nil, nil
}

// ImportClusterID takes the cluster's ID itself: it describes the hosts.
func (b *Backend) ImportClusterID(_ context.Context, importID string) (string, error) {
	ref, err := DecodeClusterID(importID)
	if err != nil {
		return "", err
	}
	if err := CheckImportedRef(ref); err != nil {
		return "", err
	}
	return importID, nil
}

// ClusterKey is the cluster's name: its ID changes with its hosts, the cluster stays.
func (b *Backend) ClusterKey(id string) string { return IDPrefix + ClusterName(id) }

func endpointOf(clusterID, name string, ps []Placement, unreachable []string) *backend.Endpoint {
	e := &backend.Endpoint{ID: backend.EndpointID(clusterID, name), ClusterID: clusterID, Name: name, Unreachable: unreachable}
	ready := len(ps) > 0
	for _, p := range ps {
		e.Replicas = append(e.Replicas, backend.Replica{Host: p.Host, Index: p.Replica, GPUIDs: p.GPUIDs, Port: p.Port, URL: p.URL, Ready: p.Ready})
		ready = ready && p.Ready
	}
	e.Desired = int64(len(ps))
	switch {
	case len(unreachable) > 0:
		e.Status = backend.StatusUnknown
	case ready:
		e.Status = backend.StatusReady
	case len(ps) > 0:
		e.Status = backend.StatusDegraded
	default:
		e.Status = backend.StatusFailed
	}
	return e
}

// EnsureEndpoint places and converges the replicas, waiting for readiness host batch by host
// batch (the node script waits), so WaitEndpointReady has nothing left to wait for.
func (b *Backend) EnsureEndpoint(ctx context.Context, spec backend.EndpointSpec) (*backend.Endpoint, error) {
	ref, c, err := b.reach(spec.ClusterID)
	if err != nil {
		return nil, err
	}
	node := spec.Node
	node.Runtime = vllm.Runtime(runtimeOf(ref))
	cfg := EndpointConfig{
		Cluster:        ref,
		Spec:           node,
		Replicas:       int(spec.Replicas),
		NodeSelector:   spec.NodeSelector,
		APIKey:         spec.APIKey,
		HFToken:        spec.HFToken,
		MaxUnavailable: int(max(spec.MaxUnavailable, 1)),
	}
	// Catch what only the full spec shows before touching a host.
	if err := HostSpec(cfg, Host{Address: "127.0.0.1"}, []int{0}).Validate(); err != nil {
		return nil, err
	}
	placements, err := c.DeployEndpoint(ctx, cfg)
	e := endpointOf(spec.ClusterID, spec.Name, placements, nil)
	if err != nil {
		if len(placements) == 0 {
			e.Status = backend.StatusFailed
		} else {
			e.Status = backend.StatusDegraded
		}
		return e, err
	}
	return e, nil
}

func (b *Backend) FindEndpoint(ctx context.Context, clusterID, name string) (*backend.Endpoint, error) {
	ref, c, err := b.reach(clusterID)
	if err != nil {
		return nil, err
	}
	found, err := c.FindEndpoint(ctx, ref, name)
	if err != nil {
		return nil, err
	}
	return endpointOf(clusterID, name, found.Placements, found.Unreachable), nil
}

// WaitEndpointReady reads the endpoint once: EnsureEndpoint waits for readiness itself.
func (b *Backend) WaitEndpointReady(ctx context.Context, clusterID, name string) (*backend.Endpoint, error) {
	return b.FindEndpoint(ctx, clusterID, name)
}

func (b *Backend) DeleteEndpoint(ctx context.Context, clusterID, name string, opts backend.DeleteOptions) ([]string, error) {
	ref, c, err := b.reach(clusterID)
	if err != nil {
		return nil, err
	}
	unreachable, err := c.DeleteEndpoint(ctx, ref, name, opts.ForceRemoveUnreachable)
	if err != nil {
		return nil, err
	}
	if len(unreachable) > 0 {
		return []string{fmt.Sprintf("force_remove_unreachable is set: model endpoint %s is forgotten on host(s) %s, which "+
			"could not be reached; run `inferstack-node remove %s` there once they are back.", name, strings.Join(unreachable, ", "), name)}, nil
	}
	return nil, nil
}

func (b *Backend) EndpointSpec(ctx context.Context, clusterID, name string) (*vllm.AppliedSpec, *backend.Endpoint, error) {
	ref, c, err := b.reach(clusterID)
	if err != nil {
		return nil, nil, err
	}
	spec, err := c.FindEndpointSpec(ctx, ref, name)
	if err != nil {
		return nil, nil, err
	}
	return &spec, &backend.Endpoint{ID: backend.EndpointID(clusterID, name), ClusterID: clusterID, Name: name,
		Desired: int64(spec.Replicas)}, nil
}

func (b *Backend) EndpointTarget(ctx context.Context, clusterID, name string) (*backend.Target, error) {
	ref, c, err := b.reach(clusterID)
	if err != nil {
		return nil, err
	}
	if _, t, ok := c.Deployed(ref, name); ok {
		return targetOf(t), nil
	}
	t, err := c.FindEndpointTarget(ctx, ref, name)
	if IsNotFound(err) {
		return nil, fmt.Errorf("model endpoint %s has no replica on any host of cluster %s: %w", name, ref.Name, err)
	}
	if err != nil {
		return nil, err
	}
	return targetOf(t), nil
}

// ReadEndpoint implements backend.EndpointReader: the endpoint and its route target from one SSH
// session per host, so a route to an endpoint refreshed in the same run asks no host again. An
// endpoint this run deployed (and has not written since) is answered from what the deploy left,
// asking no host: the deploy waited for its replicas' readiness and wrote its spec and key
// itself, so a route created or updated with it in the same apply needs no read (issue 16).
func (b *Backend) ReadEndpoint(ctx context.Context, clusterID, name string) (*backend.Endpoint, *backend.Target, error) {
	ref, c, err := b.reach(clusterID)
	if err != nil {
		return nil, nil, err
	}
	found, t, ok := c.Deployed(ref, name)
	if !ok {
		found, t, err = c.ReadEndpoint(ctx, ref, name)
	}
	if err != nil {
		return nil, nil, err
	}
	return endpointOf(clusterID, name, found.Placements, found.Unreachable), targetOf(t), nil
}

func targetOf(t *EndpointTarget) *backend.Target {
	return &backend.Target{URLs: t.URLs, Ready: t.Ready, ServedModelName: t.ServedModelName, APIKey: t.APIKey,
		Unreachable: t.Unreachable}
}

// SSHPort is a host's SSH port: 22 when none is set.
func SSHPort(p int) int {
	if p == 0 {
		return 22
	}
	return p
}
