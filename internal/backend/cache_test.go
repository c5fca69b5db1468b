package backend_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/inferstack/terraform-provider-inferstack/internal/backend"
)

// countingBackend counts the reads the cache lets through to it; ReadEndpoint learns the target
// with the endpoint, as on-prem and AWS do.
type countingBackend struct {
	backend.Backend // nil: only what the cache calls is implemented
	reads, targets  atomic.Int64
	key             atomic.Value
}

func (b *countingBackend) Name() string { return "fake" }

func (b *countingBackend) ReadEndpoint(_ context.Context, clusterID, name string) (*backend.Endpoint, *backend.Target, error) {
	b.reads.Add(1)
	time.Sleep(20 * time.Millisecond) // long enough for concurrent callers to overlap
	key, _ := b.key.Load().(string)
	return &backend.Endpoint{ID: backend.EndpointID(clusterID, name), Replicas: []backend.Replica{{Host: "h", GPUIDs: []int{0}}}},
		&backend.Target{URLs: []string{"http://h:8000/v1"}, Ready: 1, APIKey: key}, nil
}

func (b *countingBackend) FindEndpoint(context.Context, string, string) (*backend.Endpoint, error) {
	panic("the cache reads through ReadEndpoint")
}

func (b *countingBackend) EndpointTarget(context.Context, string, string) (*backend.Target, error) {
	b.targets.Add(1)
	return &backend.Target{}, nil
}

func (b *countingBackend) EnsureEndpoint(_ context.Context, spec backend.EndpointSpec) (*backend.Endpoint, error) {
	b.key.Store(spec.APIKey)
	return &backend.Endpoint{Status: backend.StatusReady}, nil
}

func TestCachedReadsEachEndpointOnce(t *testing.T) {
	t.Parallel()
	fake := &countingBackend{}
	fake.key.Store("k1")
	r := backend.NewRegistry(fake)
	b, _ := r.ByName("fake")
	ctx := context.Background()

	// Ten concurrent refreshes of one endpoint and ten route targets: one read.
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			if _, err := b.FindEndpoint(ctx, "fake/c", "e"); err != nil {
				t.Error(err)
			}
		})
		wg.Go(func() {
			if tg, err := b.EndpointTarget(ctx, "fake/c", "e"); err != nil || tg.APIKey != "k1" {
				t.Errorf("target %+v, %v", tg, err)
			}
		})
	}
	wg.Wait()
	if n := fake.reads.Load(); n != 1 {
		t.Errorf("%d reads of one endpoint, want 1", n)
	}
	if n := fake.targets.Load(); n != 0 {
		t.Errorf("%d EndpointTarget calls, want 0 (the endpoint's read has the target)", n)
	}
	// What a caller gets is its own copy.
	e, _ := b.FindEndpoint(ctx, "fake/c", "e")
	e.Replicas[0].GPUIDs[0] = 7
	if e2, _ := b.FindEndpoint(ctx, "fake/c", "e"); e2.Replicas[0].GPUIDs[0] != 0 {
		t.Error("a caller's change reached the cache")
	}
	// Another endpoint is another read.
	if _, err := b.EndpointTarget(ctx, "fake/c", "other"); err != nil {
		t.Fatal(err)
	}
	if n := fake.reads.Load(); n != 2 {
		t.Errorf("%d reads after a second endpoint, want 2", n)
	}
	// The provider's own write drops the endpoint's read: the next target is read again and new.
	if _, err := b.EnsureEndpoint(ctx, backend.EndpointSpec{ClusterID: "fake/c", Name: "e", APIKey: "k2"}); err != nil {
		t.Fatal(err)
	}
	if tg, err := b.EndpointTarget(ctx, "fake/c", "e"); err != nil || tg.APIKey != "k2" {
		t.Errorf("target after the write: %+v, %v; want the new key", tg, err)
	}
	if n := fake.reads.Load(); n != 3 {
		t.Errorf("%d reads after a write, want 3", n)
	}
}

// capacityBackend's cluster read has its GPUs (as on-prem's does): ClusterCapacity is answered
// from the cached FindCluster, with no read of its own, except for a cluster not found.
type capacityBackend struct {
	backend.Backend
	finds, capacities atomic.Int64
}

func (b *capacityBackend) Name() string { return "cap" }

func (b *capacityBackend) FindCluster(_ context.Context, id string) (*backend.Cluster, error) {
	b.finds.Add(1)
	time.Sleep(20 * time.Millisecond)
	if id == "cap/gone" {
		return nil, backend.ErrNotFound
	}
	return &backend.Cluster{ID: id, Details: int64(4)}, nil
}

func (b *capacityBackend) ClusterCapacity(context.Context, string) (*backend.Capacity, error) {
	b.capacities.Add(1)
	return &backend.Capacity{GPUsPerNode: 2, TotalGPUs: 2}, nil
}

func (b *capacityBackend) CapacityOf(c *backend.Cluster) (*backend.Capacity, bool) {
	n, ok := c.Details.(int64)
	return &backend.Capacity{GPUsPerNode: n, TotalGPUs: n}, ok
}

func TestCachedCapacityFromClusterRead(t *testing.T) {
	t.Parallel()
	fake := &capacityBackend{}
	b, _ := backend.NewRegistry(fake).ByName("cap")
	cr := b.(backend.CapacityReader)
	ctx := context.Background()
	var wg sync.WaitGroup
	for range 5 {
		wg.Go(func() {
			if _, err := b.FindCluster(ctx, "cap/c"); err != nil {
				t.Error(err)
			}
		})
		wg.Go(func() {
			if c, err := cr.ClusterCapacity(ctx, "cap/c"); err != nil || c == nil || c.TotalGPUs != 4 {
				t.Errorf("capacity %+v, %v; want 4 GPUs from the cluster's read", c, err)
			}
		})
	}
	wg.Wait()
	if n, m := fake.finds.Load(), fake.capacities.Load(); n != 1 || m != 0 {
		t.Errorf("%d cluster reads and %d capacity reads, want 1 and 0", n, m)
	}
	// A cluster not found: the backend's own capacity read answers.
	if c, err := cr.ClusterCapacity(ctx, "cap/gone"); err != nil || c == nil || c.TotalGPUs != 2 {
		t.Errorf("capacity of a cluster not found: %+v, %v; want the backend's own read", c, err)
	}
	if m := fake.capacities.Load(); m != 1 {
		t.Errorf("%d capacity reads for a cluster not found, want 1", m)
	}
}
