package aws

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"regexp"
	"sort"
	"strings"

	"github.com/inferstack/terraform-provider-inferstack/internal/backend"
)

// An inference cluster on AWS is the shared part of the GPU capacity its endpoints run on: two
// security groups (the load balancer's, open to the allowed CIDRs, and the nodes', open only to the
// load balancer's; cluster_sg.go), one IAM role with its instance profile (the nodes'
// identity), one internal network load balancer (a listener per endpoint, added later), and one
// base launch template that the endpoints' launch templates copy (image, instance type, metadata
// options, disk, network; cluster_lt.go). Everything is named from the cluster's name and region (ResourceNames) and carries the tag
// inferstack:cluster=<name>, so a retried apply finds what an earlier one made instead of making
// it twice, and a delete finds everything to remove.

// TagCluster is the tag every AWS object of a cluster carries; its value is the cluster's name.
const TagCluster = "inferstack:cluster"

// DefaultAMIParameter is the SSM public parameter of the AWS Deep Learning Base OSS NVIDIA driver
// GPU AMI (Ubuntu 22.04, x86_64): NVIDIA driver, CUDA, Docker and the NVIDIA container toolkit.
const DefaultAMIParameter = "/aws/service/deeplearning/ami/x86_64/base-oss-nvidia-driver-gpu-ubuntu-22.04/latest/ami-id"

// DefaultServingPorts are the ports the security groups open when a spec names none: vLLM's.
var DefaultServingPorts = []int64{8000}

// ClusterNamePattern is what a cluster name must match: it becomes part of AWS names (security
// group, IAM role, load balancer), so lower-case letters, digits and inner hyphens, 1-63 long.
var ClusterNamePattern = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// ClusterSpec is what an inference cluster's aws block says, with the provider's defaults applied
// by the caller where noted. It is SDK-free.
type ClusterSpec struct {
	Name          string
	Region        string   // "" = the provider's region
	SubnetIDs     []string // private subnets, all in one VPC; the VPC follows from them
	InstanceType  string   // a GPU instance type offered in every subnet's zone
	AMI           AMI      // zero = DefaultAMIParameter
	RootVolumeGiB int64    // gp3, encrypted (used by the endpoints' launch templates); checked against the AMI's root snapshot
	Capacity      Capacity
	AllowedCIDRs  []string // who may reach the serving ports; empty = the VPC's primary CIDR
	MaxNodes      int64    // most nodes the cluster's endpoints run at once; the quota check covers this many (0: max(1, on_demand_base))
	ServingPorts  []int64  // TCP ports the security groups open; empty = DefaultServingPorts
	// Tags go on every object of the cluster and of its endpoints: the provider's default tags
	// with the cluster's own (aws.tags) over them.
	Tags map[string]string
}

// AMI names the node image: exactly one of ID and SSMParameter (a parameter whose value is an
// AMI id, as the Deep Learning AMI's public parameters are).
type AMI struct {
	ID           string
	SSMParameter string
}

// Capacity is how nodes are bought: OnDemandBase nodes on demand, then SpotPercentage percent of
// the nodes above that on Spot (the Auto Scaling mixed-instances policy's terms; on-demand is
// rounded up). CapacityReservationID targets an On-Demand Capacity Reservation.
type Capacity struct {
	OnDemandBase          int64
	SpotPercentage        int64
	CapacityReservationID string
}

// GPU is what one node of the cluster carries.
type GPU struct {
	Manufacturer string // "NVIDIA"
	Model        string // e.g. "A10G", "H100"
	Count        int64  // GPUs per node
	MemoryMiB    int64  // per GPU
}

// Quota is one EC2 vCPU quota (Service Quotas) checked against the vCPUs the cluster needs.
type Quota struct {
	Code        string  // e.g. "L-417A185B"
	Name        string  // e.g. "Running On-Demand P instances"
	Value       float64 // vCPUs allowed in the region; meaningful only when Checked
	NeededVCPUs int64   // vCPUs MaxNodes nodes of this market need
	Checked     bool    // false: the quota could not be read (see Preflight.Warnings), or nothing needs it
}

// Cluster is what exists on AWS for one inference cluster.
//
// ID is "aws/<region>/<name>": the name alone is unique only within a region (the IAM names carry
// the region for the same reason), the endpoints that reference a cluster need the region to find
// its load balancer and launch template, and the "aws/" prefix keeps it apart from on-prem
// cluster IDs ("onprem/<name>/<descriptor>"). ParseClusterID reads it back, and also accepts
// "<region>/<name>" and a bare name (the provider's region) for import.
type Cluster struct {
	ID     string
	Name   string
	Region string

	VPCID   string
	VPCCIDR string // primary IPv4 CIDR

	SecurityGroupID string // the nodes' group: the serving ports from the load balancer's group only
	// LoadBalancerSecurityGroupID is the load balancer's group: the serving ports from AllowedCIDRs.
	LoadBalancerSecurityGroupID string
	AllowedCIDRs                []string // the CIDRs the load balancer's group admits to the serving ports, sorted
	ServingPorts                []int64  // sorted

	RoleName            string
	RoleARN             string
	InstanceProfileName string
	InstanceProfileARN  string
	SecretsPrefix       string // Secrets Manager names the nodes may read: "inferstack/<name>/"

	LoadBalancerARN       string
	LoadBalancerDNS       string
	LoadBalancerState     string   // "provisioning", "active", "failed", ...
	LoadBalancerSubnetIDs []string // one per Availability Zone

	// The base launch template the endpoints copy (see cluster_lt.go), and the settings it
	// carries: its default version's data, and, as tags, what an endpoint needs that AWS holds
	// nowhere else.
	LaunchTemplateID      string
	LaunchTemplateVersion int64    // its default version
	SubnetIDs             []string // the nodes' subnets, in the spec's order
	Capacity              Capacity
	MaxNodes              int64
	RootVolumeGiB         int64 // 0: the AMI's root snapshot size

	Tags        map[string]string // on the nodes' security group (every object carries the same)
	DefaultTags map[string]string // the provider's default tags (set by the Lifecycle), to tell the cluster's own from them

	InstanceType string // from the launch template
	ImageID      string // from the launch template (the AMI the preflight resolved)

	// From the preflight: set by EnsureCluster and UpdateCluster, zero from FindCluster (the
	// resource keeps them in state).
	GPU       GPU
	Quota     Quota // on-demand
	SpotQuota Quota // spot; zero Code when no node is spot
	Warnings  []string

	// Missing names the parts FindCluster did not find ("security group", "load balancer
	// security group", "IAM role", "instance profile", "load balancer", "launch template");
	// EnsureCluster recreates them.
	Missing []string
}

// ClusterIDPrefix starts every AWS cluster ID.
const ClusterIDPrefix = "aws/"

// ClusterID is the ID of the cluster name in region: "aws/<region>/<name>".
func ClusterID(region, name string) string { return ClusterIDPrefix + region + "/" + name }

// IsClusterID reports whether id is an AWS cluster ID (as ClusterID makes them), as opposed to
// an on-prem one.
func IsClusterID(id string) bool { return strings.HasPrefix(id, ClusterIDPrefix) }

// ParseClusterID splits an ID from ClusterID. For import it also accepts "<region>/<name>" and a
// bare name, which gives region "" (the provider's).
func ParseClusterID(id string) (region, name string, err error) {
	rest, prefixed := strings.CutPrefix(id, ClusterIDPrefix)
	region, name, withRegion := strings.Cut(rest, "/")
	if !withRegion {
		region, name = "", rest
	}
	// "aws/<name>" is refused: the prefix promises a region.
	if !ClusterNamePattern.MatchString(name) || (withRegion && region == "") || (prefixed && !withRegion) {
		return "", "", fmt.Errorf("cluster ID %q: want aws/<region>/<name> (or <region>/<name>, or a bare <name> in the provider's region), the name matching %s", id, ClusterNamePattern)
	}
	return region, name, nil
}

// Names are the AWS names of a cluster's objects.
type Names struct {
	SecurityGroup string // "inferstack-<cluster>", the nodes' (unique per VPC)
	// LoadBalancerSecurityGroup is "inferstack-<cluster>-lb", the load balancer's.
	LoadBalancerSecurityGroup string
	Role                      string // "inferstack-<cluster>-<region>-node": IAM is global, so the region is part of it
	InstanceProfile           string // the same as Role
	IAMPath                   string // "/inferstack/"
	LoadBalancer              string // "inferstack-<cluster>", at most 32 characters
	SecretsPrefix             string // "inferstack/<cluster>/"
	LaunchTemplate            string // "inferstack-<cluster>" (unique per region): the endpoints' base
}

// ResourceNames gives the names of cluster's objects in region. Names over AWS's limits (IAM 64,
// load balancer 32) are cut and end in 8 hex digits of a SHA-256 of the full name, so they stay
// unique and stable.
func ResourceNames(region, cluster string) Names {
	return Names{
		SecurityGroup:             "inferstack-" + cluster,
		LoadBalancerSecurityGroup: "inferstack-" + cluster + "-lb",
		Role:                      fitName("inferstack-"+cluster+"-"+region, 64-len("-node")) + "-node",
		InstanceProfile:           fitName("inferstack-"+cluster+"-"+region, 64-len("-node")) + "-node",
		IAMPath:                   "/inferstack/",
		LoadBalancer:              fitName("inferstack-"+cluster, 32),
		SecretsPrefix:             "inferstack/" + cluster + "/",
		LaunchTemplate:            "inferstack-" + cluster,
	}
}

func fitName(name string, limit int) string {
	if len(name) <= limit {
		return name
	}
	h := shortHash(name)
	return strings.TrimRight(name[:limit-len(h)-1], "-") + "-" + h
}

// shortHash is 8 hex digits of a SHA-256 of s.
func shortHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])[:8]
}

func validateName(name string) error {
	if !ClusterNamePattern.MatchString(name) {
		return &backend.InputError{Attribute: "name", Detail: fmt.Sprintf(
			"%q is not a valid cluster name: use 1-63 lower-case letters, digits and hyphens, starting and ending with a letter or digit", name)}
	}
	return nil
}

// portRange is a run of consecutive TCP ports.
type portRange struct{ from, to int32 }

// portRanges sorts ports, drops duplicates and merges consecutive ones into ranges.
func portRanges(ports []int64) []portRange {
	ps := append([]int64(nil), ports...)
	sort.Slice(ps, func(i, j int) bool { return ps[i] < ps[j] })
	var out []portRange
	for _, p := range ps {
		if n := len(out); n > 0 && int64(out[n-1].to) >= p-1 {
			if int64(out[n-1].to) < p {
				out[n-1].to = int32(p)
			}
			continue
		}
		out = append(out, portRange{int32(p), int32(p)})
	}
	return out
}

func validatePorts(ports []int64) error {
	for _, p := range ports {
		if p < 1 || p > 65535 {
			return &backend.InputError{Attribute: "serving_ports", Detail: fmt.Sprintf("%d is not a TCP port (1-65535)", p)}
		}
	}
	return nil
}

// clusterTags is the spec's tags plus inferstack:cluster.
func clusterTags(spec ClusterSpec) map[string]string {
	out := make(map[string]string, len(spec.Tags)+1)
	for k, v := range spec.Tags {
		out[k] = v
	}
	out[TagCluster] = spec.Name
	return out
}

// mergeTags is base with over's tags over it (a new map; nil when both are empty).
func mergeTags(base, over map[string]string) map[string]string {
	if len(base)+len(over) == 0 {
		return nil
	}
	out := maps.Clone(base)
	if out == nil {
		out = make(map[string]string, len(over))
	}
	maps.Copy(out, over)
	return out
}

// OwnTags are the cluster's tags that are neither inferstack's (inferstack:*) nor the provider's
// default tags with their default values: what the cluster's aws.tags set.
func (c *Cluster) OwnTags() map[string]string {
	out := userTags(c.Tags)
	for k, v := range out {
		if d, ok := c.DefaultTags[k]; ok && d == v {
			delete(out, k)
		}
	}
	return out
}

// userTags are m's tags but inferstack's own (inferstack:cluster, the settings tags, ...).
func userTags(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		if !strings.HasPrefix(k, "inferstack:") {
			out[k] = v
		}
	}
	return out
}

// tagDiff is what to set and what to remove to turn have into want; "aws:" tags are AWS's own.
func tagDiff(have, want map[string]string) (set map[string]string, remove []string) {
	set = map[string]string{}
	for k, v := range want {
		if hv, ok := have[k]; !ok || hv != v {
			set[k] = v
		}
	}
	for k := range have {
		if _, ok := want[k]; !ok && !strings.HasPrefix(k, "aws:") {
			remove = append(remove, k)
		}
	}
	sort.Strings(remove)
	return set, remove
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// errNotOurs says that an object with the cluster's name exists but is not the cluster's.
func errNotOurs(kind, name, cluster string) error {
	return fmt.Errorf("%s %s exists but is not tagged %s=%s, so it is not this cluster's: delete or rename it, or tag it to adopt it",
		kind, name, TagCluster, cluster)
}
