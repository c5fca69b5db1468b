package aws

import (
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"math"
	"regexp"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"

	"github.com/inferstack/terraform-provider-inferstack/internal/backend"
	"github.com/inferstack/terraform-provider-inferstack/internal/vllm"
)

// A model endpoint on an AWS cluster is one vLLM replica per instance of an Auto Scaling group,
// behind a listener of the cluster's internal network load balancer. Its objects, named by
// EndpointResourceNames and found by name and tags like the cluster's:
//
//   - the API key (and Hugging Face token) in Secrets Manager, under the cluster's secrets prefix,
//     which the nodes' role may read; nodes fetch them at boot, so no secret is in user data;
//   - its own launch template: the default version of the cluster's base template plus the
//     endpoint's user data (the node script and spec, vllm.NodeBundle) and tags;
//   - a target group (TCP on the endpoint's port, HTTP health checks of vLLM's /health) and a
//     listener on that port of the cluster's load balancer;
//   - the Auto Scaling group: the cluster's subnets, its on-demand/spot split, ELB health checks.
//
// A new launch template version (a changed spec, a new base version, a rotated secret) moves the
// group to it and starts an instance refresh: nodes converge at boot, so replacing them is how a
// change reaches them. Everything carries inferstack:cluster, inferstack:endpoint and the
// provider's default tags; an object with an endpoint's name but not its tags is an error, never
// adopted.

// TagEndpoint is the tag every AWS object of an endpoint carries; its value is the endpoint's name.
const TagEndpoint = "inferstack:endpoint"

// EnvSecretsVersion is the node environment variable holding the Secrets Manager version ids of
// the endpoint's secrets. Nodes read secrets at boot only; a rotated secret changes this value,
// and so the user data, so the nodes are replaced, without the secret or a hash of it in user
// data.
const EnvSecretsVersion = "INFERSTACK_SECRETS_VERSION"

// Defaults of an EndpointSpec.
const (
	// DefaultHealthCheckGraceSeconds covers a node's boot, the model download and its load.
	DefaultHealthCheckGraceSeconds = 1200
	// DefaultMinHealthyPercentage is the share of the desired nodes an instance refresh keeps in
	// service while it replaces the rest.
	DefaultMinHealthyPercentage = 50
)

// EndpointSpec is what an inferstack_model_endpoint on an AWS cluster says. It is SDK-free.
type EndpointSpec struct {
	Region  string // "" = the provider's region
	Cluster string // the cluster's name
	Name    string // lower-case letters, digits and '-', 1-40
	// Port is the listener port on the load balancer and vLLM's port on each node; it must be one
	// of the cluster's serving ports. Changing it replaces the endpoint.
	Port                     int64
	Replicas                 int64 // the group's desired capacity
	MinReplicas, MaxReplicas int64 // the group's bounds; 0 = Replicas
	// ScaleTarget, when set, is held by a target-tracking policy on the group, from the serving
	// signals the nodes publish to CloudWatch (MetricsNamespace).
	ScaleTarget *backend.ScaleTarget
	// Node is the endpoint's vLLM spec. The backend sets Endpoint (Name), Replicas (one per node,
	// on Port, with all the node's GPUs), ListenAddress (the node's private IP) and Secrets.
	Node    vllm.Spec
	APIKey  string // stored in Secrets Manager; required
	HFToken string // stored in Secrets Manager when set; deleted when it becomes empty
	// HealthCheckGraceSeconds is how long a new node may fail health checks (boot, download,
	// load); also the instance refresh's warm-up. 0 = DefaultHealthCheckGraceSeconds.
	HealthCheckGraceSeconds int64
	// MinHealthyPercentage is the instance refresh's floor. 0 = DefaultMinHealthyPercentage.
	MinHealthyPercentage int64
	Tags                 map[string]string // the provider's default tags
}

// Endpoint is what exists on AWS for one endpoint.
type Endpoint struct {
	ID      string // EndpointID(ClusterID(Region, Cluster), Name)
	Name    string
	Cluster string
	Region  string

	LaunchTemplateID       string
	LaunchTemplateVersion  int64 // the version the group launches
	ClusterTemplateVersion int64 // the cluster's base template version it was built from
	GroupName              string
	GroupARN               string
	Desired, Min, Max      int64
	ScaleTarget            *backend.ScaleTarget // the group's target-tracking policy; nil: none
	InstanceIDs            []string             // sorted
	TargetGroupARN         string
	ListenerARN            string
	Port                   int64
	URL                    string // "http://<load balancer DNS>:<port>/v1"
	HealthyTargets         int64
	APIKeySecretARN        string
	HFTokenSecretARN       string
	UserData               string // decoded #cloud-config (it holds no secret)
	Refresh                string // status of the latest instance refresh; "" none
	// RefreshPercentage and RefreshToUpdate are the latest instance refresh's progress as
	// DescribeInstanceRefreshes reports it: the share of the group replaced (0-100) and the
	// instances it has still to replace.
	RefreshPercentage, RefreshToUpdate int64
	Tags                               map[string]string

	// Missing names the parts FindEndpoint did not find ("launch template", "target group",
	// "listener", "API key secret"); EnsureEndpoint makes them again.
	Missing []string
}

// EndpointID is an endpoint's ID: "<cluster ID>,<name>".
func EndpointID(clusterID, name string) string { return backend.EndpointID(clusterID, name) }

// ParseEndpointID splits an ID from EndpointID; the cluster part may take any form
// ParseClusterID accepts (region "" = the provider's).
func ParseEndpointID(id string) (region, cluster, name string, err error) {
	clusterID, name, ok := backend.SplitEndpointID(id)
	if !ok || !vllm.EndpointNamePattern.MatchString(name) {
		return "", "", "", fmt.Errorf("%q is not the ID of a model endpoint on AWS: want <cluster ID>%s<name>, e.g. aws/us-east-1/llm-prod%sllama",
			id, backend.EndpointIDSeparator, backend.EndpointIDSeparator)
	}
	region, cluster, err = ParseClusterID(clusterID)
	if err != nil {
		return "", "", "", err
	}
	return region, cluster, name, nil
}

// EndpointNames are the AWS names of an endpoint's objects.
type EndpointNames struct {
	// LaunchTemplate and Group are "inferstack-<cluster>.<endpoint>": the dot, which neither name
	// holds, keeps cluster "a" endpoint "b-c" apart from cluster "a-b" endpoint "c".
	LaunchTemplate string
	Group          string
	// TargetGroup is "inferstack-<cluster>-<endpoint>" cut to fit 32 characters, always ending
	// in 8 hex digits of a SHA-256 of "<cluster>.<endpoint>" (target group names allow no dot).
	TargetGroup   string
	APIKeySecret  string // "inferstack/<cluster>/<endpoint>/api-key"
	HFTokenSecret string // "inferstack/<cluster>/<endpoint>/hf-token"
}

// EndpointResourceNames gives the names of the objects of endpoint on cluster.
func EndpointResourceNames(cluster, endpoint string) EndpointNames {
	full := "inferstack-" + cluster + "." + endpoint
	secrets := ResourceNames("", cluster).SecretsPrefix + endpoint + "/"
	return EndpointNames{
		LaunchTemplate: fitName(full, 128),
		Group:          fitName(full, 255),
		TargetGroup:    hashedName("inferstack-"+cluster+"-"+endpoint, cluster+"."+endpoint, 32),
		APIKeySecret:   secrets + "api-key",
		HFTokenSecret:  secrets + "hf-token",
	}
}

// hashedName is prefix cut to leave room for "-" and 8 hex digits of a SHA-256 of key, with no
// doubled or trailing hyphens (target group names allow neither).
func hashedName(prefix, key string, limit int) string {
	h := shortHash(key)
	p := prefix
	if len(p) > limit-9 {
		p = p[:limit-9]
	}
	for strings.Contains(p, "--") {
		p = strings.ReplaceAll(p, "--", "-")
	}
	return strings.TrimRight(p, "-") + "-" + h
}

// withDefaults fills in the defaults of s.
func (s EndpointSpec) withDefaults() EndpointSpec {
	if s.MinReplicas == 0 {
		s.MinReplicas = s.Replicas
	}
	if s.MaxReplicas == 0 {
		s.MaxReplicas = s.Replicas
	}
	if s.HealthCheckGraceSeconds == 0 {
		s.HealthCheckGraceSeconds = DefaultHealthCheckGraceSeconds
	}
	if s.MinHealthyPercentage == 0 {
		s.MinHealthyPercentage = DefaultMinHealthyPercentage
	}
	return s
}

// checkEndpointSpec is what can be checked without asking AWS (s with its defaults).
func checkEndpointSpec(s EndpointSpec) error {
	var errs []error
	bad := func(attr, format string, args ...any) {
		errs = append(errs, &backend.InputError{Attribute: attr, Detail: fmt.Sprintf(format, args...)})
	}
	if !vllm.EndpointNamePattern.MatchString(s.Name) {
		bad("name", "%q is not a valid endpoint name: use 1-40 lower-case letters, digits and hyphens, starting and ending with a letter or digit", s.Name)
	}
	if !ClusterNamePattern.MatchString(s.Cluster) {
		bad("cluster_id", "%q is not a cluster name", s.Cluster)
	}
	if s.Port < 1 || s.Port > 65535 {
		bad("port", "%d is not a TCP port (1-65535)", s.Port)
	}
	if s.Replicas < 0 {
		bad("replicas", "%d is negative", s.Replicas)
	}
	if s.MinReplicas < 0 || s.MinReplicas > s.Replicas || s.MaxReplicas < s.Replicas {
		bad("autoscaling", "min %d, replicas %d and max %d must satisfy 0 <= min <= replicas <= max", s.MinReplicas, s.Replicas, s.MaxReplicas)
	}
	if t := s.ScaleTarget; t != nil {
		switch {
		case cloudWatchMetric(t.Metric) == "":
			bad("autoscaling.target.metric", "%q is not a serving signal: use one of %s", t.Metric, strings.Join(backend.ScaleMetrics, ", "))
		case !(t.Value > 0) || math.IsInf(t.Value, 0):
			bad("autoscaling.target.value", "%g must be above 0 (per replica)", t.Value)
		case s.MinReplicas == s.MaxReplicas:
			bad("autoscaling", "a target needs room to scale: min %d equals max %d", s.MinReplicas, s.MaxReplicas)
		}
	}
	if s.APIKey == "" {
		bad("api_key", "is required: vLLM never runs without an API key")
	}
	if s.HealthCheckGraceSeconds < 0 || s.HealthCheckGraceSeconds > 7200 {
		bad("health_check_grace_seconds", "%d is outside 0-7200 seconds", s.HealthCheckGraceSeconds)
	}
	if s.MinHealthyPercentage < 0 || s.MinHealthyPercentage > 100 {
		bad("min_healthy_percentage", "%d is outside 0-100", s.MinHealthyPercentage)
	}
	return errors.Join(errs...)
}

// checkCluster says whether the endpoint can run on c (from FindCluster): complete, and serving
// the endpoint's port.
func checkCluster(s EndpointSpec, c *Cluster) error {
	if len(c.Missing) > 0 {
		return &backend.InputError{Attribute: "cluster_id", Detail: fmt.Sprintf(
			"inference cluster %s in %s is incomplete (missing: %s): apply the cluster first", c.Name, c.Region, strings.Join(c.Missing, ", "))}
	}
	for _, p := range c.ServingPorts {
		if p == s.Port {
			return nil
		}
	}
	ports := make([]string, 0, len(c.ServingPorts))
	for _, p := range c.ServingPorts {
		ports = append(ports, strconv.FormatInt(p, 10))
	}
	return &backend.InputError{Attribute: "port", Detail: fmt.Sprintf(
		"%d is not a serving port of inference cluster %s (%s): use one of those, or add it to the cluster's serving_ports", s.Port, c.Name, strings.Join(ports, ", "))}
}

// endpointTags are the cluster's tags (its aws.tags over the default tags it was applied with)
// over the spec's (the provider's default tags now), plus inferstack:cluster and
// inferstack:endpoint: an endpoint's objects carry what its cluster's carry.
func endpointTags(s EndpointSpec, c *Cluster) map[string]string {
	out := maps.Clone(s.Tags)
	if out == nil {
		out = map[string]string{}
	}
	if c != nil {
		maps.Copy(out, userTags(c.Tags))
	}
	out[TagCluster], out[TagEndpoint] = s.Cluster, s.Name
	return out
}

// distribution is how the group buys nodes: the cluster's on-demand base, then the rest split by
// its spot percentage; spot from the pools with the best price and capacity.
func distribution(c Capacity) *astypes.InstancesDistribution {
	return &astypes.InstancesDistribution{
		OnDemandBaseCapacity:                aws.Int32(int32(c.OnDemandBase)),
		OnDemandPercentageAboveBaseCapacity: aws.Int32(int32(100 - c.SpotPercentage)),
		SpotAllocationStrategy:              aws.String("price-capacity-optimized"),
	}
}

// baseRef names the cluster template version an endpoint template version was built from, in
// the version's description.
type baseRef struct {
	ID      string
	Version int64
}

var baseRefRE = regexp.MustCompile(`from cluster launch template (lt-[0-9a-zA-Z]+) version ([0-9]+)$`)

func (r baseRef) description(endpoint string) string {
	return fmt.Sprintf("inferstack endpoint %s, from cluster launch template %s version %d", endpoint, r.ID, r.Version)
}

func parseBaseRef(desc string) baseRef {
	m := baseRefRE.FindStringSubmatch(desc)
	if m == nil {
		return baseRef{}
	}
	v, _ := strconv.ParseInt(m[2], 10, 64)
	return baseRef{ID: m[1], Version: v}
}

// endpointSecrets are the ARNs and current version ids of an endpoint's secrets.
type endpointSecrets struct {
	APIKeyARN, APIKeyVersion   string
	HFTokenARN, HFTokenVersion string
}

// nodeSpec is the vLLM spec of one node of the endpoint: one replica on the endpoint's port with
// all gpus of the node (0: leave vLLM's default), listening on the node's private address, its
// secrets read from Secrets Manager at boot.
func nodeSpec(s EndpointSpec, region string, gpus int64, sec endpointSecrets) vllm.Spec {
	n := s.Node
	n.Endpoint = s.Name
	n.Replicas = []vllm.Replica{{Index: 0, Port: int(s.Port)}}
	n.ListenAddress = ""
	if gpus > 0 {
		n.GPUsPerReplica = int(gpus)
	}
	n.Secrets = vllm.Secrets{APIKey: vllm.SecretRef{Source: vllm.SecretAWSSecretsManager, Name: sec.APIKeyARN, Region: region}}
	versions := sec.APIKeyVersion
	if sec.HFTokenARN != "" {
		n.Secrets.HFToken = vllm.SecretRef{Source: vllm.SecretAWSSecretsManager, Name: sec.HFTokenARN, Region: region}
		versions += "," + sec.HFTokenVersion
	}
	n.Env = maps.Clone(n.Env)
	if n.Env == nil {
		n.Env = map[string]string{}
	}
	n.Env[EnvSecretsVersion] = versions
	if s.ScaleTarget != nil {
		n.MetricsPublish = metricsPublish(region, EndpointResourceNames(s.Cluster, s.Name).Group)
	}
	return n
}

// checkGPUs says whether the node's gpus fit the engine's tensor x pipeline parallel size.
func checkGPUs(n vllm.Spec, instanceType string, gpus int64) error {
	tp, pp := max(1, n.Engine.TensorParallelSize), max(1, n.Engine.PipelineParallelSize)
	if gpus > 0 && int64(tp*pp) > gpus {
		return &vllm.SpecError{Attribute: vllm.AttrTensorParallelSize, Detail: fmt.Sprintf(
			"tensor_parallel_size x pipeline_parallel_size = %d GPUs, but a node of the cluster (%s) has %d: lower them, or use a cluster with larger nodes", tp*pp, instanceType, gpus)}
	}
	return nil
}

// userData renders the node's #cloud-config, gzip-compressed (vllm.AWSUserData) and base64 for a launch template.
func userData(n vllm.Spec) (string, error) {
	b, err := vllm.NodeBundle(n)
	if err != nil {
		return "", err
	}
	ud, err := vllm.AWSUserData(b.CloudInit)
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(ud), nil
}

func decodeUserData(b64 string) string {
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return ""
	}
	text, err := vllm.ReadUserData(raw)
	if err != nil {
		return ""
	}
	return text
}

func endpointURL(dns string, port int64) string {
	if dns == "" || port == 0 {
		return ""
	}
	return fmt.Sprintf("http://%s:%d/v1", dns, port)
}

// errNotEndpoints says that an object with the endpoint's name exists but is not the endpoint's.
func errNotEndpoints(kind, name, cluster, endpoint string) error {
	return fmt.Errorf("%s %s exists but is not tagged %s=%s and %s=%s, so it is not this endpoint's: delete or rename it, or tag it to adopt it",
		kind, name, TagCluster, cluster, TagEndpoint, endpoint)
}

// AppliedSpec is the endpoint's settings as its nodes get them: the spec in its launch template's
// user data (for import, and for the served model name a gateway route calls).
func (e *Endpoint) AppliedSpec() (vllm.AppliedSpec, error) {
	b, err := vllm.SpecFromCloudInit(e.UserData, e.Name)
	if err != nil {
		return vllm.AppliedSpec{}, err
	}
	s, err := vllm.ParseSpecJSON(b)
	if err != nil {
		return vllm.AppliedSpec{}, fmt.Errorf("reading the spec of model endpoint %s from its user data: %w", e.Name, err)
	}
	return s, nil
}
