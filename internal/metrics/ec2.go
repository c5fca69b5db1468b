package metrics

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/inferstack/terraform-provider-inferstack/internal/errs"
)

// Model endpoints on AWS run one vLLM replica per instance of an Auto Scaling group behind a load
// balancer, so they have no fixed per-replica addresses for static_configs. Prometheus finds their
// instances itself, with EC2 service discovery (ec2_sd_configs): one discovery per endpoint, in
// its region, filtered on the tags every instance of the endpoint carries (TagCluster and
// TagEndpoint; running instances only), its `port` the endpoint's port, so each target is
// "<private IP>:<port>" (__meta_ec2_private_ip). Relabelling gives the samples the labels static
// targets carry: endpoint (from the endpoint tag), replica (the instance id), host (the private
// IP), and model and revision where given. The rules only act on targets that have the EC2 meta
// labels, so static targets of the same job keep theirs.

// The tags the AWS backend puts on every instance of an endpoint (internal/backend/aws
// TagCluster and TagEndpoint; a provider test checks they agree), and the meta labels EC2
// service discovery makes of them (tag keys with every character outside [a-zA-Z0-9_] as "_").
const (
	TagCluster  = "inferstack:cluster"
	TagEndpoint = "inferstack:endpoint"

	metaCluster  = "__meta_ec2_tag_inferstack_cluster"
	metaEndpoint = "__meta_ec2_tag_inferstack_endpoint"
)

// EC2Endpoint is a model endpoint on AWS whose instances Prometheus discovers.
type EC2Endpoint struct {
	Region   string // the cluster's region, e.g. "us-east-1"
	Cluster  string // the inference cluster's name (its instances' TagCluster)
	Endpoint string // the endpoint's name (TagEndpoint)
	// Port is vLLM's port on each instance: the endpoint's aws.port. 0 = DefaultEC2Port.
	Port int
	// Model and Revision label every sample of the endpoint; "" leaves the label out.
	Model, Revision string
}

// DefaultEC2Port is an AWS endpoint's default port.
const DefaultEC2Port = 8000

var (
	// regionPattern is an AWS region name: "us-east-1", "us-gov-west-1", "ap-southeast-3".
	regionPattern = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`)
	// awsNamePattern is the AWS backend's cluster and endpoint names: lower-case letters, digits and
	// inner hyphens.
	awsNamePattern = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?$`)
)

func (e EC2Endpoint) withDefaults() EC2Endpoint {
	if e.Port == 0 {
		e.Port = DefaultEC2Port
	}
	return e
}

// validateEC2 adds the problems of the AWS endpoints to ps, on the data source's attributes
// ("aws_endpoints"[i] "endpoint_id" / "port" / "model" / "revision").
func validateEC2(es []EC2Endpoint, ps *errs.List) {
	seen := map[string]int{}
	for i, e := range es {
		e = e.withDefaults()
		switch {
		case !regionPattern.MatchString(e.Region):
			ps.Add(fmt.Sprintf("the region %q is not an AWS region name (e.g. \"us-east-1\")", e.Region), "aws_endpoints", i, "endpoint_id")
		case !awsNamePattern.MatchString(e.Cluster):
			ps.Add(fmt.Sprintf("the cluster name %q is not an inference cluster's name (lower-case letters, digits and inner hyphens)", e.Cluster), "aws_endpoints", i, "endpoint_id")
		case !awsNamePattern.MatchString(e.Endpoint):
			ps.Add(fmt.Sprintf("the endpoint name %q is not a model endpoint's name (lower-case letters, digits and inner hyphens)", e.Endpoint), "aws_endpoints", i, "endpoint_id")
		default:
			key := e.Region + "/" + e.Cluster + "/" + e.Endpoint
			if j, ok := seen[key]; ok {
				ps.Add(fmt.Sprintf("endpoint %s of cluster %s in %s is listed twice (also aws_endpoints[%d]): list each endpoint once", e.Endpoint, e.Cluster, e.Region, j), "aws_endpoints", i, "endpoint_id")
			}
			seen[key] = i
		}
		if e.Port < 1 || e.Port > 65535 {
			ps.Add(fmt.Sprintf("%d is not a TCP port (1-65535)", e.Port), "aws_endpoints", i, "port")
		}
		for _, l := range []struct{ name, value string }{{"model", e.Model}, {"revision", e.Revision}} {
			if hasControl(l.value) {
				ps.Add("must not contain control characters (a new line, a tab, ...): "+strconv.Quote(l.value), "aws_endpoints", i, l.name)
			}
		}
	}
}

// ec2SDConfig is one ec2_sd_configs entry.
type ec2SDConfig struct {
	Region  string      `yaml:"region"`
	Port    int         `yaml:"port"`
	Filters []ec2Filter `yaml:"filters"`
}

type ec2Filter struct {
	Name   string   `yaml:"name"`
	Values []string `yaml:"values"`
}

// relabelConfig is one relabel_configs rule (action replace, Prometheus' default).
type relabelConfig struct {
	SourceLabels []string `yaml:"source_labels,flow"`
	Regex        string   `yaml:"regex"`
	TargetLabel  string   `yaml:"target_label"`
	Replacement  string   `yaml:"replacement"`
}

// ec2Discovery is the discovery of each endpoint and the relabelling of their targets (none
// without endpoints).
func ec2Discovery(es []EC2Endpoint) ([]ec2SDConfig, []relabelConfig) {
	if len(es) == 0 {
		return nil, nil
	}
	sds := make([]ec2SDConfig, 0, len(es))
	// What every discovered instance gets; (.+) leaves targets without the meta label (the
	// static ones) alone.
	rules := []relabelConfig{
		{SourceLabels: []string{metaEndpoint}, Regex: "(.+)", TargetLabel: "endpoint", Replacement: "$1"},
		{SourceLabels: []string{"__meta_ec2_instance_id"}, Regex: "(.+)", TargetLabel: "replica", Replacement: "$1"},
		{SourceLabels: []string{"__meta_ec2_private_ip"}, Regex: "(.+)", TargetLabel: "host", Replacement: "$1"},
	}
	for _, e := range es {
		e = e.withDefaults()
		sds = append(sds, ec2SDConfig{Region: e.Region, Port: e.Port, Filters: []ec2Filter{
			{Name: "tag:" + TagCluster, Values: []string{e.Cluster}},
			{Name: "tag:" + TagEndpoint, Values: []string{e.Endpoint}},
			{Name: "instance-state-name", Values: []string{"running"}},
		}})
		// The endpoint's own labels, on the instances of its cluster and name in its region (an
		// availability zone's name is the region's and a letter, or a "-" and a local zone's).
		match := regexp.QuoteMeta(e.Region) + "(?:[a-z]|-[^;]+);" + regexp.QuoteMeta(e.Cluster) + ";" + regexp.QuoteMeta(e.Endpoint)
		for _, l := range []struct{ name, value string }{{"model", e.Model}, {"revision", e.Revision}} {
			if l.value == "" {
				continue
			}
			rules = append(rules, relabelConfig{
				SourceLabels: []string{"__meta_ec2_availability_zone", metaCluster, metaEndpoint}, Regex: match,
				TargetLabel: l.name, Replacement: strings.ReplaceAll(l.value, "$", "$$"),
			})
		}
	}
	return sds, rules
}
