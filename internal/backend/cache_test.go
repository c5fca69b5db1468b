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
