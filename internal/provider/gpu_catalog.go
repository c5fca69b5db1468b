package provider

import (
	"context"
	"fmt"
	"sync"

	"github.com/inferstack/terraform-provider-inferstack/internal/backend"
)

// gpuCatalogCache lists a cloud's GPU instance types once per cloud and region per provider
// instance (one run), however many data sources ask: a configuration that plans several models
// against one region reads the catalog once. Failures are not kept, so a later data source tries
// again.
type gpuCatalogCache struct {
	mu    sync.Mutex
	calls map[string]*gpuCatalogCall
}

type gpuCatalogCall struct {
	done  chan struct{}
	types []backend.GPUType
	err   error
}

// GPUTypes returns the GPU instance types of cloud ("aws" or "azure") in region, from the
// cloud's catalog on first use and from memory afterwards. The slice is the caller's to keep
// but not to modify.
func (d *providerData) GPUTypes(ctx context.Context, cloud, region string) ([]backend.GPUType, error) {
	var catalog backend.GPUCatalog
	switch cloud {
	case "aws":
		catalog = d.AWS
	case "azure":
		catalog = d.Azure
	default:
		return nil, fmt.Errorf("unknown cloud %q: want aws or azure", cloud)
	}
	key := cloud + "/" + region
	c := &d.gpuCatalog
	for {
		c.mu.Lock()
		if c.calls == nil {
			c.calls = map[string]*gpuCatalogCall{}
		}
		call, ok := c.calls[key]
		if !ok {
			call = &gpuCatalogCall{done: make(chan struct{})}
			c.calls[key] = call
			c.mu.Unlock()
			call.types, call.err = catalog.GPUTypes(ctx, region)
			if call.err != nil {
				c.mu.Lock()
				delete(c.calls, key)
				c.mu.Unlock()
			}
			close(call.done)
			return call.types, call.err
		}
		c.mu.Unlock()
		select {
		case <-call.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if call.err == nil {
			return call.types, nil
		}
		// The listing we waited for failed (perhaps its caller was cancelled): try ourselves.
	}
}
