// Package backend is the seam between the provider's resources and the places GPU capacity lives.
// The Backend interface is the lifecycle every backend shares (clusters, endpoints, the target a
// route needs); Capabilities say where backends differ; a Registry picks the backend that owns a
// block of configuration or an ID. Each backend (aws, azure, onprem, kubernetes)
// implements it in a package of its own; this package imports no SDK and nothing from
// terraform-plugin-*. See doc.go for how to add a backend.
package backend

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/inferstack/terraform-provider-inferstack/internal/errs"
	"github.com/inferstack/terraform-provider-inferstack/internal/vllm"
)

// Backend is one place GPU capacity lives: the lifecycle of its clusters and endpoints. Every
// method is idempotent and finds what exists by name (or by what the ID encodes), so a call
// interrupted at any point converges when it is made again. Not-found is ErrNotFound (test
// with IsNotFound) on every backend; a problem with what the user wrote is an *InputError.
type Backend interface {
	// Name is the backend's block in inferstack_inference_cluster (and inferstack_model_endpoint)
	// and the first segment of its cluster IDs: "aws", "onprem".
	Name() string
	Capabilities() Capabilities

	// ClusterID is the ID the cluster spec describes gets, known before anything exists, so
	// that it is in state before the first object is created.
	ClusterID(ctx context.Context, spec ClusterSpec) (string, error)
	// PlanCluster checks spec against the real world at plan time and writes nothing. prior is
	// the spec in state (nil on create): a backend may skip costly checks when nothing changed.
	PlanCluster(ctx context.Context, spec ClusterSpec, prior *ClusterSpec) (*ClusterPlan, error)
	// EnsureCluster creates the cluster or brings it in line with spec. priorID is the ID in
	// state (the ID ClusterID gave on create). It does not wait for readiness. A cluster may come
	// back with the error when part of it was made.
	EnsureCluster(ctx context.Context, priorID string, spec ClusterSpec) (*Cluster, error)
	// FindCluster reads the cluster; ErrNotFound when none of it exists.
	FindCluster(ctx context.Context, id string) (*Cluster, error)
	// WaitClusterReady waits until the cluster can take endpoints, within ctx.
	WaitClusterReady(ctx context.Context, id string) (*Cluster, error)
	// DeleteCluster removes the cluster and waits until it is gone; an absent cluster is no
	// error. It returns warnings for what it had to leave (an unreachable host).
	DeleteCluster(ctx context.Context, id string) (warnings []string, err error)
	// ImportClusterID turns what a user passes to import into the cluster's ID.
	ImportClusterID(ctx context.Context, importID string) (string, error)
	// ClusterKey is what identifies a cluster across changes of its ID that keep it the same
	// cluster (an on-prem ID changes with its hosts; its name does not): an endpoint whose
	// cluster's key changes is replaced.
	ClusterKey(id string) string

	// EnsureEndpoint creates the endpoint or brings it in line with spec, and returns what exists.
	// It may wait for readiness itself (on-prem converges host by host): an endpoint that comes
	// back ready is not waited for again. An endpoint may come back with the error when part of
	// it exists.
	EnsureEndpoint(ctx context.Context, spec EndpointSpec) (*Endpoint, error)
	// FindEndpoint reads the endpoint; ErrNotFound when none of it exists.
	FindEndpoint(ctx context.Context, clusterID, name string) (*Endpoint, error)
	// WaitEndpointReady waits until every desired replica serves, within ctx; on failure it
	// returns the endpoint as last seen with the error.
	WaitEndpointReady(ctx context.Context, clusterID, name string) (*Endpoint, error)
	// DeleteEndpoint removes the endpoint and waits until it is gone; an absent endpoint is no
	// error. It returns warnings for what it had to leave.
	DeleteEndpoint(ctx context.Context, clusterID, name string, opts DeleteOptions) (warnings []string, err error)
	// EndpointSpec reads back the settings an endpoint was last applied with (import).
	EndpointSpec(ctx context.Context, clusterID, name string) (*vllm.AppliedSpec, *Endpoint, error)
	// EndpointTarget is what a gateway route needs to call the endpoint.
	EndpointTarget(ctx context.Context, clusterID, name string) (*Target, error)
}

// Capabilities say what a backend's endpoints are like where backends differ; the resources
// check configuration against them at plan time.
type Capabilities struct {
	// Autoscaling: the platform's own autoscaler moves an endpoint between autoscaling.min and
	// autoscaling.max; without it, autoscaling is a plan-time error.
	Autoscaling bool
	// ScaleTargets: the backend makes the platform's scaling rules from autoscaling.target;
	// without it a target is a plan-time error and autoscaling gives bounds only (Azure: the
	// capacity is left to a scaling rule of the user's own within them).
	ScaleTargets bool
	// SharedURL: an endpoint has one load-balanced URL (Endpoint.URL); without it every replica
	// has its own (Endpoint.Replicas[i].URL) and url is null.
	SharedURL bool
	// HostPlacement: the provider places replicas on named hosts (placements, node_selector,
	// rollout.max_unavailable, force_remove_unreachable apply).
	HostPlacement bool
}

// ClusterSpec is what an inference cluster's configuration says.
type ClusterSpec struct {
	Name string
	// Settings is the backend's own typed block (aws: *aws.ClusterSpec; onprem: *onprem.ClusterRef).
	// A backend given another type returns an error.
	Settings any
}

// ClusterPlan is what PlanCluster learns without writing anything.
type ClusterPlan struct {
	// ID is the ID the cluster will have ("" when it cannot be known yet).
	ID string
	// Replace names attributes of the backend's block whose change replaces the cluster
	// (AWS: "region").
	Replace []string
	// Facts are plan-time values for the block's computed attributes (AWS: the preflight's GPU,
	// quotas and image); nil keeps those in state.
	Facts any
	// Warnings are shown with the plan.
	Warnings []string
}

// Cluster is what exists of a cluster.
type Cluster struct {
	ID   string
	Name string
	// Details is the backend's own typed view, for its provider adapter to flatten.
	Details any
	// Missing names parts deleted outside Terraform: the resource leaves state and the next
	// apply makes it again, adopting what is left.
	Missing []string
	// Warnings are shown with the operation (hosts unreachable, a host not ready).
	Warnings []string
}

// CapacityReader is implemented by backends that can say what a cluster's GPUs offer; the
// endpoint's plan checks a replica against it (GPUs per node, memory per GPU, GPUs in all) when
// its model, engine, replicas or cluster change. A nil Capacity means the backend cannot tell
// yet (no node has reported its GPUs).
type CapacityReader interface {
	ClusterCapacity(ctx context.Context, clusterID string) (*Capacity, error)
}

// PoolReader is implemented by backends whose clusters are pools of nodes a scheduler of the
// platform places replicas on (Kubernetes): the nodes by kind, for inferstack_deployment_plan to
// size against. An empty pool is no error.
type PoolReader interface {
	ClusterPool(ctx context.Context, clusterID string) ([]HostKind, error)
}

// HostKind is a kind of node in a pool: Hosts nodes of GPUsPerHost GPUs of one model each.
type HostKind struct {
	GPUModel     string // as the platform names it, e.g. "NVIDIA-L40S"
	GPUMemoryMiB int64  // memory per GPU; 0 when the platform does not say
	GPUsPerHost  int64
	Hosts        int64
}

// Capacity sums up a cluster's GPUs.
type Capacity struct {
	// GPUModel and GPUMemoryMiB describe one GPU of the largest node (the smallest memory among
	// its GPUs).
	GPUModel     string
	GPUMemoryMiB int64
	// GPUsPerNode is the largest node's GPU count: one replica's GPUs must fit on one node.
	GPUsPerNode int64
	// TotalGPUs is every GPU the cluster can run replicas on (on a cloud, nodes x GPUs per node
	// at the cluster's node limit); 0 when there is no limit to check against.
	TotalGPUs int64
	// StagesSpanNodes says the backend puts a replica's pipeline stages on different nodes, one
	// stage (tensor_parallel_size GPUs) each (Kubernetes); NodeGPUs then lists every node's GPUs.
	// Otherwise a replica's stages share one node.
	StagesSpanNodes bool
	NodeGPUs        []int64
}

// EndpointSpec is what an inference endpoint's configuration says.
type EndpointSpec struct {
	ClusterID string
	Name      string
	// Node is the vLLM spec template: endpoint name, model pinned to a sha, served name, engine,
	// ReadyTimeout. The backend fills in replicas, listen address, runtime and secrets.
	Node vllm.Spec
	// Replicas is the desired count; MinReplicas and MaxReplicas bound the platform's autoscaler
	// (both 0: no autoscaling).
	Replicas, MinReplicas, MaxReplicas int64
	// NodeSelector and MaxUnavailable apply where Capabilities.HostPlacement.
	NodeSelector   map[string]string
	MaxUnavailable int64
	// APIKey is the key clients send (required); HFToken the Hub token for gated or private
	// models ("" otherwise). Secrets: never logged, never on a command line.
	APIKey, HFToken string
	// ScaleTarget is what the platform's autoscaler holds per replica between MinReplicas and
	// MaxReplicas (nil: bounds only). Backends without Capabilities.Autoscaling never get one.
	ScaleTarget *ScaleTarget
	// Settings is the backend's own endpoint block (aws: *aws.EndpointSettings), nil when unset.
	Settings any
}

// ScaleTarget is a serving signal held at Value per replica by the platform's autoscaler.
type ScaleTarget struct {
	Metric string // one of ScaleMetrics
	Value  float64
}

// Serving signals an autoscaler can track (autoscaling.target.metric), read from vLLM's gauges.
const (
	MetricRequestsWaiting = vllm.MetricRequestsWaiting
	MetricRequestsRunning = vllm.MetricRequestsRunning
	MetricKVCacheUsage    = vllm.MetricKVCacheUsage
)

// ScaleMetrics lists the serving signals (vllm.ServingMetrics' names), sorted.
var ScaleMetrics = slices.Sorted(maps.Keys(vllm.ServingMetrics))

// DeleteOptions tune DeleteEndpoint.
type DeleteOptions struct {
	// ForceRemoveUnreachable forgets replicas on hosts that cannot be reached instead of failing.
	ForceRemoveUnreachable bool
}

// Replica is one replica of an endpoint on a named host (HostPlacement backends).
type Replica struct {
	Host   string
	Index  int
	GPUIDs []int
	Port   int
	URL    string // OpenAI base URL, http://ADDRESS:PORT/v1
	Ready  bool
}

// Endpoint statuses.
const (
	StatusReady       = "ready"       // every desired replica serves
	StatusDegraded    = "degraded"    // some do
	StatusUnavailable = "unavailable" // none does
	StatusFailed      = "failed"      // the last apply failed before any replica existed
	StatusUnknown     = "unknown"     // part of it could not be asked
)

// Endpoint is what exists of an endpoint.
type Endpoint struct {
	ID        string
	ClusterID string
	Name      string
	// URL is the endpoint's one OpenAI base URL (SharedURL backends), else "".
	URL string
	// Replicas are the replicas on named hosts (HostPlacement backends), by index.
	Replicas []Replica
	// MetricsTarget is the one host:port Prometheus scrapes the endpoint's /metrics at where its
	// replicas have no addresses of their own to give (Kubernetes: the Service, inside the
	// cluster); "" otherwise.
	MetricsTarget string
	// Desired is the replica count the platform holds (AWS: the group's desired capacity); Min
	// and Max its autoscaling bounds. 0 where not applicable.
	Desired, Min, Max int64
	// ScaleTarget is what the platform's autoscaler holds (nil: none, or not an autoscaling backend).
	ScaleTarget *ScaleTarget
	Status      string
	// Unreachable names hosts that could not be asked; Missing parts deleted outside
	// Terraform (the resource then leaves state).
	Unreachable []string
	Missing     []string
	// Details is the backend's own typed view, for its provider adapter to flatten.
	Details any
}

// Target is what a client (the gateway) needs to call an endpoint.
type Target struct {
	// URLs are the OpenAI base URLs of the endpoint: its one shared URL, or every replica's.
	URLs []string
	// Ready is how many of them serve (for a shared URL: 1 when any node serves).
	Ready int
	// ServedModelName is the name vLLM serves the model under (--served-model-name).
	ServedModelName string
	// APIKey is the key clients send. Secret: never log it.
	APIKey string
	// Unreachable names hosts that could not be asked.
	Unreachable []string
}

// ErrNotFound is wrapped by backends when the thing asked for does not exist; test with IsNotFound.
var ErrNotFound = errors.New("not found")

// IsNotFound reports whether err means the object is gone.
func IsNotFound(err error) bool { return errors.Is(err, ErrNotFound) }

// InputError is a problem with what the user wrote, found by a backend against the real world
// (a preflight check): an instance type not offered in a subnet's zone, a quota too small, two
// hosts of one name. It is the project's one input-problem type (errs.Problem): Attribute is
// the path inside the backend's block in HCL spelling ("instance_type", "hosts[1].name"); the
// provider prefixes the block and attaches the diagnostic there. "name" is the resource's name.
type InputError = errs.Problem

// InputErrors returns every *InputError in err, which may join several (errors.Join) or wrap one.
func InputErrors(err error) []*InputError { return errs.Problems(err) }

// Registry picks the backend that owns a block of configuration (by name) or an ID (by its
// first segment), the way Terraform's own backend init keeps a name -> implementation table.
// The backends it returns are its cached wrappers (Cached), so a route's target reuses what the
// endpoint's refresh read in the same run.
type Registry struct {
	backends []Backend
}

// NewRegistry makes a registry of bs; a later backend of a name already taken replaces it.
func NewRegistry(bs ...Backend) *Registry {
	r := &Registry{}
	for _, b := range bs {
		r.Register(b)
	}
	return r
}

// Register adds b behind a read cache for the registry's life (Cached: one read per cluster and
// endpoint per run, dropped by the backend's own writes), replacing a backend of the same name.
// The provider makes a registry in each Configure, so each plan or apply reads afresh.
func (r *Registry) Register(b Backend) {
	r.backends = slices.DeleteFunc(r.backends, func(x Backend) bool { return x.Name() == b.Name() })
	r.backends = append(r.backends, Cached(b))
}

// Names lists the registered backends' names in registration order.
func (r *Registry) Names() []string {
	out := make([]string, 0, len(r.backends))
	for _, b := range r.backends {
		out = append(out, b.Name())
	}
	return out
}

// ByName returns the backend whose block is name.
func (r *Registry) ByName(name string) (Backend, bool) {
	for _, b := range r.backends {
		if b.Name() == name {
			return b, true
		}
	}
	return nil, false
}

// ForClusterID returns the backend that owns a cluster ID ("<backend>/...").
func (r *Registry) ForClusterID(id string) (Backend, error) {
	prefix, _, ok := strings.Cut(id, "/")
	if b, found := r.ByName(prefix); ok && found {
		return b, nil
	}
	return nil, fmt.Errorf("%q is not the id of an inferstack_inference_cluster: an id starts with the backend's name "+
		"(%s) and a slash; pass inferstack_inference_cluster.<name>.id", id, strings.Join(r.Names(), ", "))
}

// ForEndpointID returns the backend of an endpoint ID and the ID's cluster ID and endpoint name.
func (r *Registry) ForEndpointID(id string) (b Backend, clusterID, name string, err error) {
	clusterID, name, ok := SplitEndpointID(id)
	if !ok || !vllm.EndpointNamePattern.MatchString(name) {
		return nil, "", "", fmt.Errorf("%q is not the id of an inferstack_model_endpoint (<cluster_id>%s<name>): "+
			"use inferstack_model_endpoint.<name>.id", id, EndpointIDSeparator)
	}
	b, err = r.ForClusterID(clusterID)
	return b, clusterID, name, err
}

// EndpointIDSeparator separates the cluster ID from the endpoint name in an endpoint's ID; it
// occurs in no cluster ID (on-prem: base64url; AWS: region and name) and in no endpoint name.
const EndpointIDSeparator = ","

// EndpointID is an inferstack_model_endpoint's ID on every backend (also its import ID):
// "<cluster_id>,<name>". The cluster ID says where the endpoint runs, so a route given only the
// endpoint's ID can find it.
func EndpointID(clusterID, name string) string { return clusterID + EndpointIDSeparator + name }

// SplitEndpointID splits an ID made by EndpointID; ok is false when it is not one.
func SplitEndpointID(id string) (clusterID, name string, ok bool) {
	clusterID, name, ok = strings.Cut(id, EndpointIDSeparator)
	return clusterID, name, ok && clusterID != "" && name != ""
}

// GPUType is one instance type (AWS) or VM size (Azure) that carries GPUs.
type GPUType struct {
	Name            string  // instance type or VM size, e.g. "g6e.12xlarge", "Standard_NC24ads_A100_v4"
	GPUManufacturer string  // e.g. "NVIDIA"
	GPUModel        string  // e.g. "L40S", "A100 80GB"
	GPUCount        int64   // whole GPUs per instance (0 for a fractional vGPU partition)
	GPUFraction     float64 // share of one GPU for partitioned sizes (1 for whole GPUs)
	GPUMemoryMiB    int64   // memory per GPU
	VCPUs           int64
	MemoryMiB       int64
}

// TotalGPUMemoryMiB is the GPU memory of the whole instance.
func (t GPUType) TotalGPUMemoryMiB() int64 { return t.GPUCount * t.GPUMemoryMiB }

// GPUCatalog lists the GPU instance types a cloud offers in a region (AWS) or location (Azure),
// sorted by name.
type GPUCatalog interface {
	GPUTypes(ctx context.Context, region string) ([]GPUType, error)
}
