package backend

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sync/singleflight"

	"github.com/inferstack/terraform-provider-inferstack/internal/vllm"
)

// EndpointReader is implemented by a backend whose read of an endpoint also learns what a route's
// target needs in the same round trips (on-prem: the same SSH session per host; AWS: the same
// calls plus the key's secret value). The registry's cache then answers EndpointTarget from the
// endpoint's refresh, so a route to an endpoint read in the same run asks its peer nothing.
type EndpointReader interface {
	// ReadEndpoint is FindEndpoint and EndpointTarget in one read. The target is nil when it
	// cannot be had from this read (EndpointTarget is then asked); err is FindEndpoint's.
	ReadEndpoint(ctx context.Context, clusterID, name string) (*Endpoint, *Target, error)
}

// ClusterCapacityOf is implemented by a backend whose read of a cluster (FindCluster) already
// learns what its GPUs offer (on-prem: the GPUs every host reported). The cache then answers
// ClusterCapacity from the cluster's read, so a plan asks the peer once for both.
type ClusterCapacityOf interface {
	// CapacityOf is ClusterCapacity from a cluster FindCluster returned; ok is false when the
	// read does not tell (ClusterCapacity is then asked). A nil Capacity with ok: cannot tell.
	CapacityOf(c *Cluster) (capacity *Capacity, ok bool)
}

// cached wraps a Backend with a cache of its reads for the life of the provider's configuration
// (one Terraform run: plan and apply each configure the provider anew). Each cluster and endpoint
// is read once, by ID; concurrent callers for one ID share one read (singleflight); the
// backend's own writes (Ensure*, Delete*, Wait*) drop what was read of that cluster or endpoint,
// and a read that was under way when they came is not kept. Errors are never kept: the next
// caller asks again.
type cached struct {
	Backend

	group singleflight.Group
	mu    sync.Mutex
	// entries by key ("cluster\x00<id>", "capacity\x00<id>", "endpoint\x00<cluster id>,<name>");
	// gen counts the writes that dropped a key, so a read older than a write is not kept.
	entries map[string]any
	gen     map[string]uint64
}

// endpointRead is what one read of an endpoint learned.
type endpointRead struct {
	e *Endpoint
	t *Target // nil: the target was not read yet
}

// Cached returns b behind a per-run read cache (see cached); the Registry applies it to every
// backend it holds. A backend already cached is returned as it is.
func Cached(b Backend) Backend {
	if c, ok := b.(*cached); ok {
		return c
	}
	return &cached{Backend: b, entries: map[string]any{}, gen: map[string]uint64{}}
}

func clusterKey(id string) string  { return "cluster\x00" + id }
func capacityKey(id string) string { return "capacity\x00" + id }

// endpointKey keeps an endpoint's read, targetKey the target of a backend that reads it apart.
func endpointKey(cluster, name string) string { return "endpoint\x00" + EndpointID(cluster, name) }
func targetKey(cluster, name string) string   { return "target\x00" + EndpointID(cluster, name) }

// load returns the kept value of key, if any.
func (c *cached) load(key string) (any, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.entries[key]
	return v, ok
}

// read returns the kept value of key or makes one read with fn, shared by every caller that asks
// while it runs, and keeps its answer unless a write dropped key meanwhile.
func (c *cached) read(ctx context.Context, key string, fn func(context.Context) (any, error)) (any, error) {
	c.mu.Lock()
	if v, ok := c.entries[key]; ok {
		c.mu.Unlock()
		return v, nil
	}
	gen := c.gen[key]
	c.mu.Unlock()
	// The generation is part of the flight's key: a caller after a write does not join a read
	// that started before it.
	ch := c.group.DoChan(key+"\x00"+strconv.FormatUint(gen, 10), func() (any, error) {
		v, err := fn(ctx)
		if err != nil {
			return nil, err
		}
		c.mu.Lock()
		if c.gen[key] == gen {
			c.entries[key] = v
		}
		c.mu.Unlock()
		return v, nil
	})
	select {
	case r := <-ch:
		return r.Val, r.Err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// drop forgets what was read of every key the match accepts, and of reads under way for them.
func (c *cached) drop(match func(key string) bool, keys ...string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, k := range keys {
		delete(c.entries, k)
		c.gen[k]++
	}
	if match == nil {
		return
	}
	for k := range c.entries {
		if match(k) {
			delete(c.entries, k)
			c.gen[k]++
		}
	}
}

// dropEndpoint forgets endpoint name of cluster; dropCluster the cluster, its capacity and every
// endpoint on it.
func (c *cached) dropEndpoint(cluster, name string) {
	c.drop(nil, endpointKey(cluster, name), targetKey(cluster, name))
}

func (c *cached) dropCluster(id string) {
	ep, t := endpointKey(id, ""), targetKey(id, "")
	c.drop(func(k string) bool { return strings.HasPrefix(k, ep) || strings.HasPrefix(k, t) }, clusterKey(id), capacityKey(id))
}

func (c *cached) EnsureCluster(ctx context.Context, priorID string, spec ClusterSpec) (*Cluster, error) {
	if priorID != "" {
		c.dropCluster(priorID)
	}
	out, err := c.Backend.EnsureCluster(ctx, priorID, spec)
	if priorID != "" {
		c.dropCluster(priorID)
	}
	if out != nil && out.ID != "" {
		c.dropCluster(out.ID)
	}
	return out, err
}

func (c *cached) FindCluster(ctx context.Context, id string) (*Cluster, error) {
	v, err := c.read(ctx, clusterKey(id), func(ctx context.Context) (any, error) { return c.Backend.FindCluster(ctx, id) })
	if err != nil {
		return nil, err
	}
	return cloneCluster(v.(*Cluster)), nil
}

func (c *cached) WaitClusterReady(ctx context.Context, id string) (*Cluster, error) {
	defer c.dropCluster(id)
	return c.Backend.WaitClusterReady(ctx, id)
}

func (c *cached) DeleteCluster(ctx context.Context, id string) ([]string, error) {
	defer c.dropCluster(id)
	return c.Backend.DeleteCluster(ctx, id)
}

// ClusterCapacity implements CapacityReader for a backend that does; for one that does not it
// says it cannot tell (nil), as the interface allows.
func (c *cached) ClusterCapacity(ctx context.Context, id string) (*Capacity, error) {
	cr, ok := c.Backend.(CapacityReader)
	if !ok {
		return nil, nil
	}
	if co, ok := c.Backend.(ClusterCapacityOf); ok {
		cl, err := c.FindCluster(ctx, id)
		switch {
		case err == nil:
			if capa, ok := co.CapacityOf(cl); ok {
				if capa == nil {
					return nil, nil
				}
				return cloneCapacity(capa), nil
			}
		case !IsNotFound(err):
			return nil, err
		}
		// A cluster not found (its record gone, or an ID no apply made) may still have GPUs to
		// tell of: the backend reads them its own way.
	}
	v, err := c.read(ctx, capacityKey(id), func(ctx context.Context) (any, error) { return cr.ClusterCapacity(ctx, id) })
	if err != nil || v.(*Capacity) == nil {
		return nil, err
	}
	return cloneCapacity(v.(*Capacity)), nil
}

func cloneCapacity(x *Capacity) *Capacity {
	out := *x
	out.NodeGPUs = slices.Clone(x.NodeGPUs)
	return &out
}

// ClusterPool implements PoolReader for a backend that does (read through, uncached: only
// inferstack_deployment_plan asks, once per read); ErrNoPool for one that does not.
func (c *cached) ClusterPool(ctx context.Context, id string) ([]HostKind, error) {
	pr, ok := c.Backend.(PoolReader)
	if !ok {
		return nil, ErrNoPool
	}
	return pr.ClusterPool(ctx, id)
}

// ErrNoPool is what ClusterPool returns for a backend whose clusters are not node pools.
var ErrNoPool = errors.New("the cluster's backend does not list a node pool")

func (c *cached) EnsureEndpoint(ctx context.Context, spec EndpointSpec) (*Endpoint, error) {
	c.dropEndpoint(spec.ClusterID, spec.Name)
	defer c.dropEndpoint(spec.ClusterID, spec.Name)
	return c.Backend.EnsureEndpoint(ctx, spec)
}

func (c *cached) WaitEndpointReady(ctx context.Context, clusterID, name string) (*Endpoint, error) {
	defer c.dropEndpoint(clusterID, name)
	return c.Backend.WaitEndpointReady(ctx, clusterID, name)
}

func (c *cached) DeleteEndpoint(ctx context.Context, clusterID, name string, opts DeleteOptions) ([]string, error) {
	c.dropEndpoint(clusterID, name)
	defer c.dropEndpoint(clusterID, name)
	return c.Backend.DeleteEndpoint(ctx, clusterID, name, opts)
}

// readEndpoint reads the endpoint once (with its target where the backend can).
func (c *cached) readEndpoint(ctx context.Context, clusterID, name string) (*endpointRead, error) {
	v, err := c.read(ctx, endpointKey(clusterID, name), func(ctx context.Context) (any, error) {
		if r, ok := c.Backend.(EndpointReader); ok {
			e, t, err := r.ReadEndpoint(ctx, clusterID, name)
			if err != nil {
				return nil, err
			}
			return &endpointRead{e: e, t: t}, nil
		}
		e, err := c.Backend.FindEndpoint(ctx, clusterID, name)
		if err != nil {
			return nil, err
		}
		return &endpointRead{e: e}, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*endpointRead), nil
}

func (c *cached) FindEndpoint(ctx context.Context, clusterID, name string) (*Endpoint, error) {
	r, err := c.readEndpoint(ctx, clusterID, name)
	if err != nil {
		return nil, err
	}
	return cloneEndpoint(r.e), nil
}

// EndpointTarget is served from the endpoint's read when that read has it; else it is read once
// (and kept beside the endpoint's read).
func (c *cached) EndpointTarget(ctx context.Context, clusterID, name string) (*Target, error) {
	key := endpointKey(clusterID, name)
	if v, ok := c.load(key); ok && v.(*endpointRead).t != nil {
		return cloneTarget(v.(*endpointRead).t), nil
	}
	if _, ok := c.Backend.(EndpointReader); ok {
		r, err := c.readEndpoint(ctx, clusterID, name)
		if err == nil && r.t != nil {
			return cloneTarget(r.t), nil
		}
		if err != nil && !IsNotFound(err) {
			return nil, err
		}
		// Not found: the backend words it for a route.
	}
	v, err := c.read(ctx, targetKey(clusterID, name), func(ctx context.Context) (any, error) {
		return c.Backend.EndpointTarget(ctx, clusterID, name)
	})
	if err != nil {
		return nil, err
	}
	return cloneTarget(v.(*Target)), nil
}

// EndpointSpec (import) is not cached: it runs once per import.
func (c *cached) EndpointSpec(ctx context.Context, clusterID, name string) (*vllm.AppliedSpec, *Endpoint, error) {
	return c.Backend.EndpointSpec(ctx, clusterID, name)
}

func cloneCluster(x *Cluster) *Cluster {
	if x == nil {
		return nil
	}
	out := *x
	out.Missing, out.Warnings = slices.Clone(x.Missing), slices.Clone(x.Warnings)
	return &out
}

func cloneEndpoint(x *Endpoint) *Endpoint {
	if x == nil {
		return nil
	}
	out := *x
	out.Replicas = slices.Clone(x.Replicas)
	for i := range out.Replicas {
		out.Replicas[i].GPUIDs = slices.Clone(out.Replicas[i].GPUIDs)
	}
	out.Unreachable, out.Missing = slices.Clone(x.Unreachable), slices.Clone(x.Missing)
	return &out
}

func cloneTarget(x *Target) *Target {
	if x == nil {
		return nil
	}
	out := *x
	out.URLs, out.Unreachable = slices.Clone(x.URLs), slices.Clone(x.Unreachable)
	return &out
}
