// Package testbed is a test-only backend: an in-memory "GPU platform" registered by the
// acceptance harness (provider.WithBackend) beside the built-in ones, and driven through all
// three resources with no edit to their CRUD methods. It proves the backend seam: everything a
// backend adds is its backend.Backend implementation and a provider.BackendAdapter; the steps are
// in internal/backend/doc.go.
//
// A testbed cluster has a number of GPU slots; an endpoint takes replicas x GPUs-per-replica of
// them and is served at one shared URL (like a load balancer's). Its state lives in the test
// process, so CheckDestroy asks it directly that nothing is left.
package testbed

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/inferstack/terraform-provider-inferstack/internal/backend"
	"github.com/inferstack/terraform-provider-inferstack/internal/provider"
	"github.com/inferstack/terraform-provider-inferstack/internal/vllm"
)

// Name is the block name and the ID prefix.
const Name = "testbed"

// Settings is a testbed cluster's block.
type Settings struct{ Slots int64 }

type endpoint struct {
	spec backend.EndpointSpec
	gpus int64
}

// Backend is the in-memory platform. Calls counts the calls by method, for tests.
type Backend struct {
	mu        sync.Mutex
	clusters  map[string]Settings // by ID
	endpoints map[string]*endpoint
	calls     map[string]int
}

var _ backend.Backend = (*Backend)(nil)

// New makes an empty platform.
func New() *Backend {
	return &Backend{clusters: map[string]Settings{}, endpoints: map[string]*endpoint{}, calls: map[string]int{}}
}

// Option registers b with the provider, with its adapter.
func (b *Backend) Option() provider.Option { return provider.WithBackend(b, Adapter{}) }

func (b *Backend) count(m string) {
	b.calls[m]++
}

// Calls is how often method m was called.
func (b *Backend) Calls(m string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.calls[m]
}

// Objects lists every cluster and endpoint ID that exists.
func (b *Backend) Objects() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := slices.Collect(maps.Keys(b.clusters))
	for id := range b.endpoints {
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}

// Endpoint returns the spec an endpoint was last ensured with.
func (b *Backend) Endpoint(clusterID, name string) (backend.EndpointSpec, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	e, ok := b.endpoints[backend.EndpointID(clusterID, name)]
	if !ok {
		return backend.EndpointSpec{}, false
	}
	return e.spec, true
}

// DeleteBehindTerraform removes an endpoint as if someone did it outside Terraform.
func (b *Backend) DeleteBehindTerraform(clusterID, name string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.endpoints, backend.EndpointID(clusterID, name))
}

func (b *Backend) Name() string { return Name }

func (b *Backend) Capabilities() backend.Capabilities {
	return backend.Capabilities{SharedURL: true}
}

func settingsOf(spec backend.ClusterSpec) (Settings, error) {
	s, ok := spec.Settings.(*Settings)
	if !ok || s == nil {
		return Settings{}, fmt.Errorf("testbed: settings of type %T", spec.Settings)
	}
	return *s, nil
}

func (b *Backend) ClusterID(_ context.Context, spec backend.ClusterSpec) (string, error) {
	return Name + "/" + spec.Name, nil
}

func (b *Backend) PlanCluster(ctx context.Context, spec backend.ClusterSpec, _ *backend.ClusterSpec) (*backend.ClusterPlan, error) {
	s, err := settingsOf(spec)
	if err != nil {
		return nil, err
	}
	if s.Slots > 64 {
		return nil, &backend.InputError{Attribute: "slots", Detail: fmt.Sprintf("%d slots: a testbed has at most 64.", s.Slots)}
	}
	id, _ := b.ClusterID(ctx, spec)
	return &backend.ClusterPlan{ID: id}, nil
}

func (b *Backend) EnsureCluster(ctx context.Context, _ string, spec backend.ClusterSpec) (*backend.Cluster, error) {
	s, err := settingsOf(spec)
	if err != nil {
		return nil, err
	}
	id, _ := b.ClusterID(ctx, spec)
	b.mu.Lock()
	defer b.mu.Unlock()
	b.count("EnsureCluster")
	b.clusters[id] = s
	return &backend.Cluster{ID: id, Name: spec.Name, Details: s}, nil
}

func (b *Backend) FindCluster(_ context.Context, id string) (*backend.Cluster, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.count("FindCluster")
	s, ok := b.clusters[id]
	if !ok {
		return nil, fmt.Errorf("testbed cluster %s: %w", id, backend.ErrNotFound)
	}
	return &backend.Cluster{ID: id, Name: strings.TrimPrefix(id, Name+"/"), Details: s}, nil
}

func (b *Backend) WaitClusterReady(ctx context.Context, id string) (*backend.Cluster, error) {
	return b.FindCluster(ctx, id)
}

func (b *Backend) DeleteCluster(_ context.Context, id string) ([]string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for eid := range b.endpoints {
		if strings.HasPrefix(eid, id+backend.EndpointIDSeparator) {
			return nil, fmt.Errorf("testbed cluster %s still runs endpoint %s", id, eid)
		}
	}
	delete(b.clusters, id)
	return nil, nil
}

func (b *Backend) ImportClusterID(_ context.Context, importID string) (string, error) {
	if !strings.HasPrefix(importID, Name+"/") {
		return "", fmt.Errorf("%q is not a testbed cluster ID (testbed/<name>)", importID)
	}
	return importID, nil
}

func (b *Backend) ClusterKey(id string) string { return id }

func gpusOf(s vllm.Spec) int64 {
	return int64(max(s.Engine.TensorParallelSize, 1) * max(s.Engine.PipelineParallelSize, 1))
}

func (b *Backend) view(id string, e *endpoint) *backend.Endpoint {
	return &backend.Endpoint{
		ID: id, ClusterID: e.spec.ClusterID, Name: e.spec.Name,
		URL:     fmt.Sprintf("http://127.0.0.1:9/%s/v1", e.spec.Name),
		Desired: e.spec.Replicas, Min: e.spec.Replicas, Max: e.spec.Replicas,
		Status: backend.StatusReady,
	}
}

// EnsureEndpoint takes replicas x GPUs of the cluster's slots (the other endpoints' included);
// more than there are is an input error on replicas.
func (b *Backend) EnsureEndpoint(_ context.Context, spec backend.EndpointSpec) (*backend.Endpoint, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.count("EnsureEndpoint")
	s, ok := b.clusters[spec.ClusterID]
	if !ok {
		return nil, fmt.Errorf("testbed cluster %s: %w", spec.ClusterID, backend.ErrNotFound)
	}
	id := backend.EndpointID(spec.ClusterID, spec.Name)
	used := int64(0)
	for eid, e := range b.endpoints {
		if eid != id && e.spec.ClusterID == spec.ClusterID {
			used += e.gpus
		}
	}
	need := spec.Replicas * gpusOf(spec.Node)
	if used+need > s.Slots {
		return nil, &backend.InputError{Attribute: "replicas",
			Detail: fmt.Sprintf("%d GPUs wanted, %d of the cluster's %d slots are free.", need, s.Slots-used, s.Slots)}
	}
	e := &endpoint{spec: spec, gpus: need}
	b.endpoints[id] = e
	return b.view(id, e), nil
}

func (b *Backend) FindEndpoint(_ context.Context, clusterID, name string) (*backend.Endpoint, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.count("FindEndpoint")
	id := backend.EndpointID(clusterID, name)
	e, ok := b.endpoints[id]
	if !ok {
		return nil, fmt.Errorf("testbed endpoint %s: %w", id, backend.ErrNotFound)
	}
	return b.view(id, e), nil
}

func (b *Backend) WaitEndpointReady(ctx context.Context, clusterID, name string) (*backend.Endpoint, error) {
	return b.FindEndpoint(ctx, clusterID, name)
}

func (b *Backend) DeleteEndpoint(_ context.Context, clusterID, name string, _ backend.DeleteOptions) ([]string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.endpoints, backend.EndpointID(clusterID, name))
	return nil, nil
}

func (b *Backend) EndpointSpec(ctx context.Context, clusterID, name string) (*vllm.AppliedSpec, *backend.Endpoint, error) {
	e, err := b.FindEndpoint(ctx, clusterID, name)
	if err != nil {
		return nil, nil, err
	}
	spec, _ := b.Endpoint(clusterID, name)
	n := spec.Node
	return &vllm.AppliedSpec{Model: n.Model.ID, Revision: n.Model.Revision, ServedModelName: n.ServedModelName,
		Image: n.Engine.Image, TensorParallelSize: n.Engine.TensorParallelSize, PipelineParallelSize: n.Engine.PipelineParallelSize,
		ExtraArgs: n.Engine.ExtraArgs, Replicas: int(spec.Replicas)}, e, nil
}

func (b *Backend) EndpointTarget(ctx context.Context, clusterID, name string) (*backend.Target, error) {
	e, err := b.FindEndpoint(ctx, clusterID, name)
	if err != nil {
		return nil, err
	}
	spec, _ := b.Endpoint(clusterID, name)
	served := spec.Node.ServedModelName
	if served == "" {
		served = spec.Node.Model.ID
	}
	return &backend.Target{URLs: []string{e.URL}, Ready: 1, ServedModelName: served, APIKey: spec.APIKey}, nil
}

// Adapter is the testbed's part of the provider: a cluster block with slots and, computed, the
// slots the backend holds; no endpoint block.
type Adapter struct{}

var _ provider.BackendAdapter = Adapter{}

var blockTypes = map[string]attr.Type{"slots": types.Int64Type, "ensured": types.BoolType}

func (Adapter) Name() string { return Name }

func (Adapter) ClusterBlock() schema.SingleNestedAttribute {
	return schema.SingleNestedAttribute{
		Optional:            true,
		MarkdownDescription: "A test-only in-memory platform.",
		Attributes: map[string]schema.Attribute{
			"slots": schema.Int64Attribute{Required: true, MarkdownDescription: "GPU slots.",
				Validators: []validator.Int64{int64validator.AtLeast(1)}},
			"ensured": schema.BoolAttribute{Computed: true, MarkdownDescription: "Whether the platform holds the cluster."},
		},
	}
}

func (Adapter) ExpandCluster(_ context.Context, block types.Object) (any, bool, bool, diag.Diagnostics) {
	slots, _ := block.Attributes()["slots"].(types.Int64)
	return &Settings{Slots: slots.ValueInt64()}, !slots.IsUnknown(), true, nil
}

func (Adapter) PlanCluster(_ context.Context, planned, prior types.Object, _ *backend.ClusterPlan) (types.Object, diag.Diagnostics) {
	attrs := planned.Attributes()
	attrs["ensured"] = types.BoolUnknown()
	if !prior.IsNull() {
		attrs["ensured"] = prior.Attributes()["ensured"]
	}
	return types.ObjectValue(blockTypes, attrs)
}

func (Adapter) FlattenCluster(_ context.Context, _ types.Object, c *backend.Cluster) (types.Object, diag.Diagnostics) {
	s, _ := c.Details.(Settings)
	return types.ObjectValue(blockTypes, map[string]attr.Value{"slots": types.Int64Value(s.Slots), "ensured": types.BoolValue(true)})
}

func (Adapter) EndpointBlock() (schema.SingleNestedAttribute, bool) {
	return schema.SingleNestedAttribute{}, false
}

func (Adapter) ExpandEndpoint(context.Context, types.Object) (any, diag.Diagnostics) { return nil, nil }

func (Adapter) FlattenEndpoint(_ context.Context, prior types.Object, _ *backend.Endpoint) (types.Object, diag.Diagnostics) {
	return prior, nil
}
