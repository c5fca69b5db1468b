package aws

import (
	"context"
	"fmt"
	"math"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"

	"github.com/inferstack/terraform-provider-inferstack/internal/backend"
	"github.com/inferstack/terraform-provider-inferstack/internal/vllm"
)

// Autoscaling on serving signals: each node publishes the endpoint's vLLM gauges to CloudWatch
// every minute (namespace MetricsNamespace, dimension AutoScalingGroupName = the endpoint's
// group: the node script's publish-metrics timer, with the role's PutMetricData granted for that
// namespace only), and a target-tracking policy on the group holds their average across the
// group's instances (one replica per node) at the target's value.

// MetricsNamespace is the CloudWatch namespace the nodes publish vLLM's gauges to.
const MetricsNamespace = "Inferstack/vLLM"

// scalingPolicyName is the endpoint's one target-tracking policy on its group.
const scalingPolicyName = "inferstack-target"

// cloudWatchMetrics are the CloudWatch metric names of the scaling metrics (backend.ScaleMetrics).
var cloudWatchMetrics = map[string]string{
	backend.MetricRequestsWaiting: "RequestsWaiting",
	backend.MetricRequestsRunning: "RequestsRunning",
	backend.MetricKVCacheUsage:    "KVCacheUsage",
}

// cloudWatchMetric is the CloudWatch metric name of a scaling metric, "" for another name.
func cloudWatchMetric(metric string) string { return cloudWatchMetrics[metric] }

// metricsPublish is what the node script publishes for an endpoint with a scale target: every
// scaling metric, so a change of the target's metric needs no new node.
func metricsPublish(region, group string) *vllm.MetricsPublish {
	p := &vllm.MetricsPublish{Namespace: MetricsNamespace, Region: region, Dimension: "AutoScalingGroupName", DimensionValue: group}
	for _, m := range backend.ScaleMetrics {
		p.Metrics = append(p.Metrics, vllm.PublishedMetric{Name: cloudWatchMetric(m), Source: vllm.ServingMetrics[m]})
	}
	return p
}

// ensureScalingPolicy makes the group's target-tracking policy match target: put (create or
// update) when set and different, deleted when target is nil.
func ensureScalingPolicy(ctx context.Context, client *autoscaling.Client, group string, target *backend.ScaleTarget) error {
	cur, err := findScalingPolicy(ctx, client, group)
	if err != nil {
		return err
	}
	if target == nil {
		if cur == nil {
			return nil
		}
		_, err := client.DeletePolicy(ctx, &autoscaling.DeletePolicyInput{AutoScalingGroupName: aws.String(group), PolicyName: aws.String(scalingPolicyName)})
		if err != nil && !IsNotFound(err) {
			return fmt.Errorf("deleting the scaling policy of Auto Scaling group %s: %w", group, err)
		}
		return nil
	}
	if cur != nil {
		if t := scaleTargetOf(*cur, group); t != nil && *t == *target {
			return nil
		}
	}
	_, err = client.PutScalingPolicy(ctx, &autoscaling.PutScalingPolicyInput{
		AutoScalingGroupName: aws.String(group),
		PolicyName:           aws.String(scalingPolicyName),
		PolicyType:           aws.String("TargetTrackingScaling"),
		TargetTrackingConfiguration: &astypes.TargetTrackingConfiguration{
			TargetValue: aws.Float64(target.Value),
			CustomizedMetricSpecification: &astypes.CustomizedMetricSpecification{
				Namespace:  aws.String(MetricsNamespace),
				MetricName: aws.String(cloudWatchMetric(target.Metric)),
				Dimensions: []astypes.MetricDimension{{Name: aws.String("AutoScalingGroupName"), Value: aws.String(group)}},
				Statistic:  astypes.MetricStatisticAverage,
			},
		},
	})
	if err != nil {
		return fmt.Errorf("putting the target-tracking policy of Auto Scaling group %s (%s at %g): %w", group, target.Metric, target.Value, err)
	}
	return nil
}

// findScalingPolicy returns the group's target-tracking policy, nil when it has none.
func findScalingPolicy(ctx context.Context, client *autoscaling.Client, group string) (*astypes.ScalingPolicy, error) {
	out, err := client.DescribePolicies(ctx, &autoscaling.DescribePoliciesInput{
		AutoScalingGroupName: aws.String(group), PolicyNames: []string{scalingPolicyName},
	})
	if err != nil {
		if IsNotFound(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("reading the scaling policies of Auto Scaling group %s: %w", group, err)
	}
	for i, p := range out.ScalingPolicies {
		if aws.ToString(p.PolicyName) == scalingPolicyName && aws.ToString(p.AutoScalingGroupName) == group {
			return &out.ScalingPolicies[i], nil
		}
	}
	return nil, nil
}

// scaleTargetOf reads a policy back as a target; nil when it is not one this backend makes (a
// user's own policy under our name is reported as drift and replaced).
func scaleTargetOf(p astypes.ScalingPolicy, group string) *backend.ScaleTarget {
	c := p.TargetTrackingConfiguration
	if c == nil || c.CustomizedMetricSpecification == nil || c.TargetValue == nil {
		return nil
	}
	m := c.CustomizedMetricSpecification
	if aws.ToString(m.Namespace) != MetricsNamespace || len(m.Dimensions) != 1 || aws.ToString(m.Dimensions[0].Value) != group {
		return nil
	}
	i := slices.IndexFunc(backend.ScaleMetrics, func(s string) bool { return cloudWatchMetric(s) == aws.ToString(m.MetricName) })
	if i < 0 || math.IsNaN(*c.TargetValue) {
		return nil
	}
	return &backend.ScaleTarget{Metric: backend.ScaleMetrics[i], Value: *c.TargetValue}
}
