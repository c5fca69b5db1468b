package vllm

import (
	"fmt"
	"regexp"
)

// Serving signals an autoscaler can hold at a target per replica, by the name an endpoint's
// autoscaling.target.metric takes.
const (
	MetricRequestsWaiting = "requests_waiting" // requests queued, not yet running
	MetricRequestsRunning = "requests_running" // requests in the running batch
	MetricKVCacheUsage    = "kv_cache_usage"   // share of the KV cache in use, 0 to 1
)

// ServingMetrics maps each serving signal to the vLLM gauge on /metrics it is read from (the
// names of the pinned release; the node script sums a gauge over its label sets, e.g. one per
// served model name).
var ServingMetrics = map[string]string{
	MetricRequestsWaiting: "vllm:num_requests_waiting",
	MetricRequestsRunning: "vllm:num_requests_running",
	MetricKVCacheUsage:    "vllm:kv_cache_usage_perc",
}

// MetricsPublish makes the node publish the endpoint's serving signals to CloudWatch every
// minute (the node script's publish-metrics timer): each metric summed over the node's replicas,
// under Namespace with one dimension. The node's instance role must allow
// cloudwatch:PutMetricData for Namespace.
type MetricsPublish struct {
	Namespace      string
	Region         string // "" = the node's (instance metadata)
	Dimension      string // e.g. "AutoScalingGroupName"
	DimensionValue string
	Metrics        []PublishedMetric
}

// PublishedMetric is one CloudWatch metric and the vLLM gauge it is read from.
type PublishedMetric struct {
	Name   string `json:"name"`
	Source string `json:"source"`
}

type nodeMetricsPublish struct {
	Namespace      string            `json:"namespace"`
	Region         string            `json:"region"`
	Dimension      string            `json:"dimension"`
	DimensionValue string            `json:"dimension_value"`
	Metrics        []PublishedMetric `json:"metrics"`
}

var (
	// cwNameRE is a CloudWatch namespace, metric, dimension name or value as this provider
	// makes them: plain names only.
	cwNameRE     = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9/_.:#-]{0,254}$`)
	promMetricRE = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*$`)
	awsRegionRE  = regexp.MustCompile(`^([a-z]{2}(-[a-z]+)+-[0-9]+)?$`)
)

// problem returns what is wrong with p, "" when nothing: every value goes into a JSON document
// the node script passes to the AWS CLI, and into a unit's description, so only plain names.
func (p *MetricsPublish) problem() string {
	switch {
	case !cwNameRE.MatchString(p.Namespace):
		return fmt.Sprintf("namespace %q is not a CloudWatch namespace", p.Namespace)
	case !awsRegionRE.MatchString(p.Region):
		return fmt.Sprintf("region %q is not an AWS region", p.Region)
	case !cwNameRE.MatchString(p.Dimension) || !cwNameRE.MatchString(p.DimensionValue):
		return fmt.Sprintf("dimension %q = %q is not a CloudWatch dimension", p.Dimension, p.DimensionValue)
	case len(p.Metrics) == 0:
		return "no metric to publish"
	}
	for _, m := range p.Metrics {
		if !cwNameRE.MatchString(m.Name) || !promMetricRE.MatchString(m.Source) {
			return fmt.Sprintf("metric %q from %q is not a CloudWatch metric name read from a Prometheus metric", m.Name, m.Source)
		}
	}
	return ""
}

func (p *MetricsPublish) node() *nodeMetricsPublish {
	if p == nil {
		return nil
	}
	return &nodeMetricsPublish{Namespace: p.Namespace, Region: p.Region, Dimension: p.Dimension, DimensionValue: p.DimensionValue,
		Metrics: append([]PublishedMetric{}, p.Metrics...)}
}
