package azure

import (
	"context"
	"fmt"
	"maps"
	"reflect"
	"strings"

	"github.com/inferstack/terraform-provider-inferstack/internal/backend"
	"github.com/inferstack/terraform-provider-inferstack/internal/vllm"
)

// Name is the block name; cluster IDs start with it ("azure/<subscription>/<resource group>/<name>").
const Name = "azure"

// Lifecycle is Azure's side of the backend seam (backend.Backend), on the client cache (Backend).
type Lifecycle struct{ b *Backend }

var (
	_ backend.Backend           = (*Lifecycle)(nil)
	_ backend.CapacityReader    = (*Lifecycle)(nil)
	_ backend.ClusterCapacityOf = (*Lifecycle)(nil)
)

// NewLifecycle adapts b to the seam.
func NewLifecycle(b *Backend) *Lifecycle { return &Lifecycle{b: b} }

func (l *Lifecycle) Name() string { return Name }

// Capabilities: one load-balanced URL per endpoint; autoscaling.min and max bound the scale
// set's capacity, which a scaling rule of the user's own may move (inferstack makes no Azure
// Monitor autoscale rules yet: ScaleTargets is false).
func (l *Lifecycle) Capabilities() backend.Capabilities {
	return backend.Capabilities{SharedURL: true, Autoscaling: true}
}

func (l *Lifecycle) clusterSpec(spec backend.ClusterSpec) (ClusterSpec, error) {
	s, ok := spec.Settings.(*ClusterSpec)
	if !ok || s == nil {
		return ClusterSpec{}, fmt.Errorf("azure backend: cluster settings of type %T: this is a bug in the provider", spec.Settings)
	}
	out := *s
	out.Name = spec.Name
	if out.SubscriptionID == "" {
		sub, err := l.b.subscription()
		if err != nil {
			return ClusterSpec{}, &backend.InputError{Attribute: "subscription_id", Detail: err.Error() + ", or subscription_id here."}
		}
		out.SubscriptionID = sub
	}
	out.SubscriptionID = strings.ToLower(out.SubscriptionID)
	return out, nil
}

func (l *Lifecycle) ClusterID(_ context.Context, spec backend.ClusterSpec) (string, error) {
	s, err := l.clusterSpec(spec)
	if err != nil {
		return "", err
	}
	if err := checkIDParts(s.SubscriptionID, s.ResourceGroup, s.Name); err != nil {
		return "", checkClusterSpec(s)
	}
	return ClusterID(s.SubscriptionID, s.ResourceGroup, s.Name), nil
}

// PlanCluster checks the block and, when it is new or changed, runs the preflight (SKU offered
// and not restricted, zones, vCPU quotas), whose facts the plan shows. A change of subscription,
// resource group, location or subnet replaces the cluster.
func (l *Lifecycle) PlanCluster(ctx context.Context, spec backend.ClusterSpec, prior *backend.ClusterSpec) (*backend.ClusterPlan, error) {
	s, err := l.clusterSpec(spec)
	if err != nil {
		return nil, err
	}
	if err := checkClusterSpec(s); err != nil {
		return nil, err
	}
	plan := &backend.ClusterPlan{ID: ClusterID(s.SubscriptionID, s.ResourceGroup, s.Name)}
	if prior != nil {
		if p, err := l.clusterSpec(*prior); err == nil {
			if !strings.EqualFold(p.SubscriptionID, s.SubscriptionID) {
				plan.Replace = append(plan.Replace, "subscription_id")
			}
			for _, f := range []struct{ attr, a, b string }{{"resource_group", p.ResourceGroup, s.ResourceGroup}, {"location", p.Location, s.Location}, {"subnet_id", p.SubnetID, s.SubnetID}} {
				if !strings.EqualFold(f.a, f.b) {
					plan.Replace = append(plan.Replace, f.attr)
				}
			}
			if reflect.DeepEqual(normalize(p), normalize(s)) {
				return plan, nil
			}
		}
	}
	pf, err := l.b.CheckCluster(ctx, s)
	if err != nil {
		return nil, err
	}
	plan.Facts, plan.Warnings = pf, pf.Warnings
	return plan, nil
}

// normalize makes equal specs compare equal.
func normalize(s ClusterSpec) ClusterSpec {
	s = s.withDefaults(s.SubscriptionID)
	if len(s.Zones) == 0 {
		s.Zones = nil
	}
	if len(s.AllowedCIDRs) == 0 {
		s.AllowedCIDRs = nil
	}
	if len(s.Tags) == 0 {
		s.Tags = nil
	}
	return s
}

func clusterOf(c *Cluster) *backend.Cluster {
	return &backend.Cluster{ID: c.ID, Name: c.Name, Details: c, Missing: c.Missing, Warnings: c.Warnings}
}

func (l *Lifecycle) EnsureCluster(ctx context.Context, _ string, spec backend.ClusterSpec) (*backend.Cluster, error) {
	s, err := l.clusterSpec(spec)
	if err != nil {
		return nil, err
	}
	c, err := l.b.EnsureCluster(ctx, s)
	if c == nil {
		return nil, err
	}
	return clusterOf(c), err
}

func (l *Lifecycle) FindCluster(ctx context.Context, id string) (*backend.Cluster, error) {
	sub, group, name, err := ParseClusterID(id)
	if err != nil {
		return nil, err
	}
	c, err := l.b.FindCluster(ctx, sub, group, name)
	if err != nil {
		return nil, err
	}
	return clusterOf(c), nil
}

// WaitClusterReady: the cluster's objects are ready when their writes have finished, which
// EnsureCluster waits for.
func (l *Lifecycle) WaitClusterReady(ctx context.Context, id string) (*backend.Cluster, error) {
	return l.FindCluster(ctx, id)
}

func (l *Lifecycle) DeleteCluster(ctx context.Context, id string) ([]string, error) {
	sub, group, name, err := ParseClusterID(id)
	if err != nil {
		return nil, err
	}
	return nil, l.b.DeleteCluster(ctx, sub, group, name)
}

// ImportClusterID accepts azure/<subscription>/<group>/<name>, <subscription>/<group>/<name>
// or <group>/<name> (the provider's subscription).
func (l *Lifecycle) ImportClusterID(_ context.Context, importID string) (string, error) {
	id := strings.TrimPrefix(importID, ClusterIDPrefix)
	parts := strings.Split(id, "/")
	if len(parts) == 2 {
		sub, err := l.b.subscription()
		if err != nil {
			return "", err
		}
		parts = append([]string{sub}, parts...)
	}
	if len(parts) != 3 {
		return "", fmt.Errorf("%q is not an Azure cluster import ID: use azure/<subscription id>/<resource group>/<name> or <resource group>/<name>", importID)
	}
	full := ClusterID(parts[0], parts[1], parts[2])
	if _, _, _, err := ParseClusterID(full); err != nil {
		return "", err
	}
	return full, nil
}

// ClusterKey is the ID: subscription, group and name make the cluster.
func (l *Lifecycle) ClusterKey(id string) string { return id }

// ClusterCapacity implements backend.CapacityReader: a node's GPUs from the cluster's VM size,
// and max_nodes of them in all.
func (l *Lifecycle) ClusterCapacity(ctx context.Context, id string) (*backend.Capacity, error) {
	sub, group, name, err := ParseClusterID(id)
	if err != nil {
		return nil, err
	}
	cl, err := l.b.FindCluster(ctx, sub, group, name)
	if err != nil {
		return nil, err
	}
	if cl.Spec.VMSize == "" || cl.Location == "" {
		return nil, nil
	}
	c, _, err := l.b.clientsFor(sub)
	if err != nil {
		return nil, err
	}
	t, _, err := l.b.nodeFacts(ctx, c, cl)
	if err != nil {
		return nil, err
	}
	return capacityOf(cl, t), nil
}

// CapacityOf implements backend.ClusterCapacityOf: the cluster's read already holds a node's
// GPUs (kept on its load balancer), so the endpoint's plan asks Azure nothing more.
func (l *Lifecycle) CapacityOf(c *backend.Cluster) (*backend.Capacity, bool) {
	cl, ok := c.Details.(*Cluster)
	if !ok || cl.Facts == nil || cl.Facts.GPU.GPUCount == 0 {
		return nil, false
	}
	return capacityOf(cl, cl.Facts.GPU), true
}

func capacityOf(cl *Cluster, t backend.GPUType) *backend.Capacity {
	return &backend.Capacity{GPUModel: t.GPUModel, GPUMemoryMiB: t.GPUMemoryMiB, GPUsPerNode: t.GPUCount, TotalGPUs: t.GPUCount * max(1, cl.Spec.MaxNodes)}
}

func (l *Lifecycle) endpointSpec(spec backend.EndpointSpec) (EndpointSpec, error) {
	sub, group, cluster, err := ParseClusterID(spec.ClusterID)
	if err != nil {
		return EndpointSpec{}, err
	}
	out := EndpointSpec{
		SubscriptionID: sub, ResourceGroup: group, Cluster: cluster, Name: spec.Name,
		Replicas: spec.Replicas, MinReplicas: spec.MinReplicas, MaxReplicas: spec.MaxReplicas,
		Node: spec.Node, APIKey: spec.APIKey, HFToken: spec.HFToken,
		Tags: maps.Clone(l.b.cfg.DefaultTags),
	}
	switch s := spec.Settings.(type) {
	case nil:
	case *EndpointSettings:
		out.Settings = *s
	default:
		return EndpointSpec{}, fmt.Errorf("azure backend: endpoint settings of type %T: this is a bug in the provider", spec.Settings)
	}
	return out, nil
}

func endpointOf(e *Endpoint) *backend.Endpoint {
	out := &backend.Endpoint{
		ID: e.ID, ClusterID: e.ClusterID, Name: e.Name, URL: e.URL, Desired: e.Capacity, Min: e.Min, Max: e.Max,
		Missing: e.Missing, Details: e,
	}
	switch {
	case e.Ready():
		out.Status = backend.StatusReady
	case e.Healthy > 0:
		out.Status = backend.StatusDegraded
	default:
		out.Status = backend.StatusUnavailable
	}
	return out
}

func (l *Lifecycle) EnsureEndpoint(ctx context.Context, spec backend.EndpointSpec) (*backend.Endpoint, error) {
	s, err := l.endpointSpec(spec)
	if err != nil {
		return nil, err
	}
	e, err := l.b.EnsureEndpoint(ctx, s)
	if err != nil {
		return nil, err
	}
	return endpointOf(e), nil
}

func (l *Lifecycle) find(ctx context.Context, clusterID, name string) (*Endpoint, error) {
	sub, group, cluster, err := ParseClusterID(clusterID)
	if err != nil {
		return nil, err
	}
	return l.b.FindEndpoint(ctx, sub, group, cluster, name)
}

func (l *Lifecycle) FindEndpoint(ctx context.Context, clusterID, name string) (*backend.Endpoint, error) {
	e, err := l.find(ctx, clusterID, name)
	if err != nil {
		return nil, err
	}
	return endpointOf(e), nil
}

func (l *Lifecycle) WaitEndpointReady(ctx context.Context, clusterID, name string) (*backend.Endpoint, error) {
	sub, group, cluster, err := ParseClusterID(clusterID)
	if err != nil {
		return nil, err
	}
	e, err := l.b.WaitEndpointReady(ctx, sub, group, cluster, name)
	if e == nil {
		return nil, err
	}
	return endpointOf(e), err
}

func (l *Lifecycle) DeleteEndpoint(ctx context.Context, clusterID, name string, _ backend.DeleteOptions) ([]string, error) {
	sub, group, cluster, err := ParseClusterID(clusterID)
	if err != nil {
		return nil, err
	}
	return l.b.DeleteEndpoint(ctx, sub, group, cluster, name)
}

// EndpointSpec reads the settings back from the spec in the scale set's user data.
func (l *Lifecycle) EndpointSpec(ctx context.Context, clusterID, name string) (*vllm.AppliedSpec, *backend.Endpoint, error) {
	e, err := l.find(ctx, clusterID, name)
	if err != nil {
		return nil, nil, err
	}
	if e.Applied == nil {
		return nil, nil, fmt.Errorf("scale set %s has no inferstack spec in its user data, so it cannot be imported as model endpoint %s", e.ScaleSetName, name)
	}
	return e.Applied, endpointOf(e), nil
}

// EndpointTarget is the load balancer's URL, the served model name from the applied spec and
// the API key from the cluster's vault.
func (l *Lifecycle) EndpointTarget(ctx context.Context, clusterID, name string) (*backend.Target, error) {
	sub, group, _, err := ParseClusterID(clusterID)
	if err != nil {
		return nil, err
	}
	e, err := l.find(ctx, clusterID, name)
	if err != nil {
		if backend.IsNotFound(err) {
			return nil, fmt.Errorf("model endpoint %s does not exist in cluster %s: %w", name, clusterID, err)
		}
		return nil, err
	}
	if e.Applied == nil || e.URL == "" {
		return nil, fmt.Errorf("model endpoint %s of cluster %s has no applied spec or load balancer rule: apply it again", name, clusterID)
	}
	key, err := l.b.APIKey(ctx, sub, group, e)
	if err != nil {
		return nil, err
	}
	t := &backend.Target{URLs: []string{e.URL}, ServedModelName: e.Applied.ServedModelName, APIKey: key}
	if e.Healthy > 0 {
		t.Ready = 1
	}
	return t, nil
}
