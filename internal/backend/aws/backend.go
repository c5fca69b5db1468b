package aws

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"reflect"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/inferstack/terraform-provider-inferstack/internal/backend"
	"github.com/inferstack/terraform-provider-inferstack/internal/vllm"
)

// Lifecycle is AWS's side of the backend seam (backend.Backend), built on the client cache
// (Backend): a cluster is its security group, IAM role, load balancer and base launch template;
// an endpoint its launch template, Auto Scaling group, target group, listener and secrets. Every
// object is found again by name and tag, so each call converges when it is made again. (Backend
// keeps its name for the client cache its callers already use; this type only adapts it.)
type Lifecycle struct {
	b           *Backend
	defaultTags map[string]string
}

var _ backend.Backend = (*Lifecycle)(nil)

// Name is the block name; cluster IDs start with it (ClusterIDPrefix).
const Name = "aws"

// NewLifecycle adapts b to the seam; defaultTags go on every object it makes.
func NewLifecycle(b *Backend, defaultTags map[string]string) *Lifecycle {
	return &Lifecycle{b: b, defaultTags: defaultTags}
}

func (l *Lifecycle) Name() string { return Name }

func (l *Lifecycle) Capabilities() backend.Capabilities {
	return backend.Capabilities{Autoscaling: true, ScaleTargets: true, SharedURL: true}
}

// EndpointSettings is the aws block of an endpoint (backend.EndpointSpec.Settings); zero values
// take the defaults.
type EndpointSettings struct {
	Port                    int64
	HealthCheckGraceSeconds int64
	MinHealthyPercentage    int64
}

func (l *Lifecycle) clusterSpec(spec backend.ClusterSpec) (ClusterSpec, error) {
	s, ok := spec.Settings.(*ClusterSpec)
	if !ok || s == nil {
		return ClusterSpec{}, fmt.Errorf("aws backend: cluster settings of type %T: this is a bug in the provider", spec.Settings)
	}
	out := *s
	out.Name = spec.Name
	out.Tags = mergeTags(l.defaultTags, s.Tags)
	return out, nil
}

func (l *Lifecycle) ClusterID(ctx context.Context, spec backend.ClusterSpec) (string, error) {
	s, err := l.clusterSpec(spec)
	if err != nil {
		return "", err
	}
	region, err := l.b.ResolveRegion(ctx, s.Region)
	if err != nil {
		return "", &backend.InputError{Attribute: "region", Detail: err.Error() + " Set aws.region here, the provider's aws.region, or AWS_REGION."}
	}
	return ClusterID(region, s.Name), nil
}

// PlanCluster resolves the region (a change of it replaces the cluster) and, when the block is
// new or changed, runs the preflight (CheckCluster), whose facts the plan shows.
func (l *Lifecycle) PlanCluster(ctx context.Context, spec backend.ClusterSpec, prior *backend.ClusterSpec) (*backend.ClusterPlan, error) {
	s, err := l.clusterSpec(spec)
	if err != nil {
		return nil, err
	}
	id, err := l.ClusterID(ctx, spec)
	if err != nil {
		return nil, err
	}
	s.Region, _, _ = ParseClusterID(id)
	plan := &backend.ClusterPlan{ID: id}
	changed := true
	if prior != nil {
		if p, err := l.clusterSpec(*prior); err == nil {
			if p.Region, err = l.b.ResolveRegion(ctx, p.Region); err == nil {
				if p.Region != s.Region {
					plan.Replace = append(plan.Replace, "region")
				}
				changed = !reflect.DeepEqual(normalizeSpec(p), normalizeSpec(s))
			}
		}
	}
	if !changed {
		return plan, nil
	}
	pf, err := l.b.CheckCluster(ctx, s)
	if err != nil {
		return nil, err
	}
	plan.Facts = pf
	plan.Warnings = pf.Warnings
	return plan, nil
}

// normalizeSpec makes equal specs compare equal: nil and empty lists alike.
func normalizeSpec(s ClusterSpec) ClusterSpec {
	for _, l := range []*[]string{&s.SubnetIDs, &s.AllowedCIDRs} {
		if len(*l) == 0 {
			*l = nil
		}
	}
	if len(s.ServingPorts) == 0 {
		s.ServingPorts = nil
	}
	if len(s.Tags) == 0 {
		s.Tags = nil
	}
	return s
}

func (l *Lifecycle) EnsureCluster(ctx context.Context, _ string, spec backend.ClusterSpec) (*backend.Cluster, error) {
	s, err := l.clusterSpec(spec)
	if err != nil {
		return nil, err
	}
	c, err := l.b.EnsureCluster(ctx, s)
	if err != nil {
		return nil, err
	}
	return l.clusterOf(c), nil
}

// clusterOf wraps c for the seam; c.DefaultTags lets the provider tell the cluster's own tags
// from the provider's.
func (l *Lifecycle) clusterOf(c *Cluster) *backend.Cluster {
	c.DefaultTags = maps.Clone(l.defaultTags)
	return &backend.Cluster{ID: c.ID, Name: c.Name, Details: c, Missing: c.Missing, Warnings: c.Warnings}
}

// ClusterCapacity implements backend.CapacityReader.
func (l *Lifecycle) ClusterCapacity(ctx context.Context, id string) (*backend.Capacity, error) {
	region, name, err := ParseClusterID(id)
	if err != nil {
		return nil, err
	}
	return l.b.ClusterCapacity(ctx, region, name)
}

func (l *Lifecycle) FindCluster(ctx context.Context, id string) (*backend.Cluster, error) {
	region, name, err := ParseClusterID(id)
	if err != nil {
		return nil, err
	}
	c, err := l.b.FindCluster(ctx, region, name)
	if err != nil {
		return nil, err
	}
	return l.clusterOf(c), nil
}

func (l *Lifecycle) WaitClusterReady(ctx context.Context, id string) (*backend.Cluster, error) {
	region, name, err := ParseClusterID(id)
	if err != nil {
		return nil, err
	}
	c, err := l.b.WaitClusterReady(ctx, region, name)
	if c == nil {
		return nil, err
	}
	return l.clusterOf(c), err
}

func (l *Lifecycle) DeleteCluster(ctx context.Context, id string) ([]string, error) {
	region, name, err := ParseClusterID(id)
	if err != nil {
		return nil, err
	}
	return nil, l.b.DeleteCluster(ctx, region, name)
}

// ImportClusterID accepts aws/<region>/<name>, <region>/<name> or a bare name (the provider's region).
func (l *Lifecycle) ImportClusterID(ctx context.Context, importID string) (string, error) {
	region, name, err := ParseClusterID(importID)
	if err != nil {
		return "", err
	}
	if region, err = l.b.ResolveRegion(ctx, region); err != nil {
		return "", err
	}
	return ClusterID(region, name), nil
}

// ClusterKey is the ID: region and name make the cluster.
func (l *Lifecycle) ClusterKey(id string) string { return id }

func (l *Lifecycle) endpointSpec(spec backend.EndpointSpec) (EndpointSpec, error) {
	region, cluster, err := ParseClusterID(spec.ClusterID)
	if err != nil {
		return EndpointSpec{}, err
	}
	var set EndpointSettings
	switch s := spec.Settings.(type) {
	case nil:
	case *EndpointSettings:
		set = *s
	default:
		return EndpointSpec{}, fmt.Errorf("aws backend: endpoint settings of type %T: this is a bug in the provider", spec.Settings)
	}
	return EndpointSpec{
		Region: region, Cluster: cluster, Name: spec.Name,
		Port: set.Port, Replicas: spec.Replicas, MinReplicas: spec.MinReplicas, MaxReplicas: spec.MaxReplicas, ScaleTarget: spec.ScaleTarget,
		Node: spec.Node, APIKey: spec.APIKey, HFToken: spec.HFToken,
		HealthCheckGraceSeconds: set.HealthCheckGraceSeconds, MinHealthyPercentage: set.MinHealthyPercentage,
		Tags: maps.Clone(l.defaultTags),
	}, nil
}

func endpointOf(e *Endpoint, ready bool) *backend.Endpoint {
	out := &backend.Endpoint{
		ID: e.ID, ClusterID: ClusterID(e.Region, e.Cluster), Name: e.Name, URL: e.URL,
		Desired: e.Desired, Min: e.Min, Max: e.Max, ScaleTarget: e.ScaleTarget, Missing: e.Missing, Details: e,
	}
	switch {
	case ready || (e.HealthyTargets >= e.Desired && e.Refresh == "" && e.Desired > 0):
		out.Status = backend.StatusReady
	case e.HealthyTargets > 0:
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
	return endpointOf(e, false), nil
}

func (l *Lifecycle) FindEndpoint(ctx context.Context, clusterID, name string) (*backend.Endpoint, error) {
	e, err := l.find(ctx, clusterID, name)
	if err != nil {
		return nil, err
	}
	return endpointOf(e, false), nil
}

// find reads the endpoint name of the cluster clusterID names.
func (l *Lifecycle) find(ctx context.Context, clusterID, name string) (*Endpoint, error) {
	region, cluster, err := ParseClusterID(clusterID)
	if err != nil {
		return nil, err
	}
	return l.b.FindEndpoint(ctx, region, cluster, name)
}

func (l *Lifecycle) WaitEndpointReady(ctx context.Context, clusterID, name string) (*backend.Endpoint, error) {
	region, cluster, err := ParseClusterID(clusterID)
	if err != nil {
		return nil, err
	}
	e, err := l.b.WaitEndpointReady(ctx, region, cluster, name)
	if e == nil {
		return nil, err
	}
	return endpointOf(e, err == nil), err
}

func (l *Lifecycle) DeleteEndpoint(ctx context.Context, clusterID, name string, _ backend.DeleteOptions) ([]string, error) {
	region, cluster, err := ParseClusterID(clusterID)
	if err != nil {
		return nil, err
	}
	return nil, l.b.DeleteEndpoint(ctx, region, cluster, name)
}

// EndpointSpec reads the settings back from the spec in the endpoint's launch template's user data.
func (l *Lifecycle) EndpointSpec(ctx context.Context, clusterID, name string) (*vllm.AppliedSpec, *backend.Endpoint, error) {
	e, err := l.find(ctx, clusterID, name)
	if err != nil {
		return nil, nil, err
	}
	applied, err := e.AppliedSpec()
	if err != nil {
		return nil, nil, err
	}
	return &applied, endpointOf(e, false), nil
}

// EndpointTarget is the load balancer's URL, the served model name from the user data's spec and
// the API key from Secrets Manager.
func (l *Lifecycle) EndpointTarget(ctx context.Context, clusterID, name string) (*backend.Target, error) {
	e, t, err := l.ReadEndpoint(ctx, clusterID, name)
	if err != nil {
		if errors.Is(err, backend.ErrNotFound) {
			return nil, fmt.Errorf("model endpoint %s does not exist in cluster %s: %w", name, clusterID, err)
		}
		return nil, err
	}
	if t == nil {
		err := fmt.Errorf("model endpoint %s of cluster %s has no launch template (or user data) to read its served "+
			"model name from: apply it again", name, clusterID)
		if e.Details.(*Endpoint).APIKeySecretARN == "" {
			err = fmt.Errorf("model endpoint %s of cluster %s has no API key secret: apply it again: %w", name, clusterID, backend.ErrNotFound)
		}
		return nil, err
	}
	return t, nil
}

// ReadEndpoint implements backend.EndpointReader: the endpoint's read, plus the API key's value
// (one GetSecretValue) when the key's secret exists, so a route to an endpoint refreshed in the
// same run makes no AWS call. The target is nil when the endpoint's launch template or key is
// missing (the endpoint then leaves state).
func (l *Lifecycle) ReadEndpoint(ctx context.Context, clusterID, name string) (*backend.Endpoint, *backend.Target, error) {
	e, err := l.find(ctx, clusterID, name)
	if err != nil {
		return nil, nil, err
	}
	out := endpointOf(e, false)
	if e.UserData == "" || e.APIKeySecretARN == "" {
		return out, nil, nil
	}
	applied, err := e.AppliedSpec()
	if err != nil {
		return nil, nil, err
	}
	key, err := l.b.secretValue(ctx, e.Region, e.APIKeySecretARN)
	if err != nil {
		return nil, nil, err
	}
	t := &backend.Target{URLs: []string{e.URL}, ServedModelName: applied.ServedModelName, APIKey: key}
	if e.HealthyTargets > 0 {
		t.Ready = 1
	}
	return out, t, nil
}

// secretValue reads a secret's value by its ARN (one GetSecretValue).
func (b *Backend) secretValue(ctx context.Context, region, arn string) (string, error) {
	client, err := b.SecretsManager(ctx, region)
	if err != nil {
		return "", err
	}
	out, err := client.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(arn)})
	if err != nil {
		return "", fmt.Errorf("reading secret %s: %w", arn, err)
	}
	return aws.ToString(out.SecretString), nil
}
