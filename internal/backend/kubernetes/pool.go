package kubernetes

import (
	"cmp"
	"context"
	"slices"

	"github.com/inferstack/terraform-provider-inferstack/internal/backend"
)

var _ backend.PoolReader = (*Backend)(nil)

// ClusterPool lists the cluster's GPU nodes by kind (product, memory and GPUs per node), for
// inferstack_deployment_plan to size against. Nodes without nvidia.com/gpu are left out.
func (b *Backend) ClusterPool(ctx context.Context, clusterID string) ([]backend.HostKind, error) {
	c, err := b.FindCluster(ctx, clusterID)
	if err != nil {
		return nil, err
	}
	d, _ := c.Details.(*ClusterDetails)
	if d == nil {
		return nil, nil
	}
	return hostKinds(d.Nodes), nil
}

// hostKinds groups nodes of the same GPU product, memory and count, largest GPU count first.
func hostKinds(nodes []Node) []backend.HostKind {
	var out []backend.HostKind
	for _, n := range nodes {
		if n.GPUs <= 0 {
			continue
		}
		i := slices.IndexFunc(out, func(k backend.HostKind) bool {
			return k.GPUModel == n.GPUProduct && k.GPUMemoryMiB == n.GPUMemoryMiB && k.GPUsPerHost == n.GPUs
		})
		if i < 0 {
			out = append(out, backend.HostKind{GPUModel: n.GPUProduct, GPUMemoryMiB: n.GPUMemoryMiB, GPUsPerHost: n.GPUs})
			i = len(out) - 1
		}
		out[i].Hosts++
	}
	slices.SortStableFunc(out, func(a, b backend.HostKind) int {
		return cmp.Or(cmp.Compare(b.GPUsPerHost, a.GPUsPerHost), cmp.Compare(a.GPUModel, b.GPUModel), cmp.Compare(b.GPUMemoryMiB, a.GPUMemoryMiB))
	})
	return out
}
