package aws

import (
	"context"
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

// The cluster's internal network load balancer: one subnet per Availability Zone, the load
// balancer's own security group (the nodes' group admits it by reference; cluster_sg.go), cross-zone load balancing on (GPU nodes are few and may sit in one zone).
// Endpoints add their own target groups and listeners to it.

// loadBalancer is the cluster's NLB with its tags, or nil when there is none.
type loadBalancer struct {
	lb   elbtypes.LoadBalancer
	tags map[string]string
}

func findLoadBalancer(ctx context.Context, client *elbv2.Client, n Names) (*loadBalancer, error) {
	out, err := client.DescribeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{Names: []string{n.LoadBalancer}})
	if err != nil {
		if hasCode(err, "LoadBalancerNotFound") {
			return nil, nil
		}
		return nil, fmt.Errorf("describing load balancer %s: %w", n.LoadBalancer, err)
	}
	if len(out.LoadBalancers) == 0 {
		return nil, nil
	}
	lb := out.LoadBalancers[0]
	tags, err := client.DescribeTags(ctx, &elbv2.DescribeTagsInput{ResourceArns: []string{aws.ToString(lb.LoadBalancerArn)}})
	if err != nil {
		if hasCode(err, "LoadBalancerNotFound") {
			return nil, nil
		}
		return nil, fmt.Errorf("reading tags of load balancer %s: %w", n.LoadBalancer, err)
	}
	m := map[string]string{}
	for _, d := range tags.TagDescriptions {
		for _, t := range d.Tags {
			m[aws.ToString(t.Key)] = aws.ToString(t.Value)
		}
	}
	return &loadBalancer{lb: lb, tags: m}, nil
}

func lbSubnets(lb elbtypes.LoadBalancer) []string {
	var out []string
	for _, az := range lb.AvailabilityZones {
		out = append(out, aws.ToString(az.SubnetId))
	}
	slices.Sort(out)
	return out
}

func elbTags(m map[string]string) []elbtypes.Tag {
	out := make([]elbtypes.Tag, 0, len(m))
	for _, k := range sortedKeys(m) {
		out = append(out, elbtypes.Tag{Key: aws.String(k), Value: aws.String(m[k])})
	}
	return out
}

// ensureLoadBalancer finds or creates the cluster's NLB and converges its subnets, security group
// (sgID, the load balancer's) and tags. It does not wait for the load balancer to be active (WaitClusterReady does).
func ensureLoadBalancer(ctx context.Context, client *elbv2.Client, spec ClusterSpec, pf *Preflight, n Names, sgID string, tags map[string]string) (*loadBalancer, error) {
	cur, err := findLoadBalancer(ctx, client, n)
	if err != nil {
		return nil, err
	}
	if cur == nil {
		out, err := client.CreateLoadBalancer(ctx, &elbv2.CreateLoadBalancerInput{
			Name:           aws.String(n.LoadBalancer),
			Type:           elbtypes.LoadBalancerTypeEnumNetwork,
			Scheme:         elbtypes.LoadBalancerSchemeEnumInternal,
			IpAddressType:  elbtypes.IpAddressTypeIpv4,
			Subnets:        pf.LoadBalancerSubnetIDs,
			SecurityGroups: []string{sgID},
			Tags:           elbTags(tags),
		})
		if err != nil && !hasCode(err, "DuplicateLoadBalancerName") {
			return nil, fmt.Errorf("creating load balancer %s: %w", n.LoadBalancer, err)
		}
		if err == nil && len(out.LoadBalancers) > 0 {
			if err := setCrossZone(ctx, client, out.LoadBalancers[0].LoadBalancerArn, n); err != nil {
				return nil, err
			}
			return &loadBalancer{lb: out.LoadBalancers[0], tags: tags}, nil
		}
		if cur, err = findLoadBalancer(ctx, client, n); err != nil {
			return nil, err
		}
		if cur == nil {
			return nil, fmt.Errorf("creating load balancer %s: the name is taken, but it cannot be read", n.LoadBalancer)
		}
	}
	if cur.tags[TagCluster] != spec.Name {
		return nil, errNotOurs("load balancer", n.LoadBalancer, spec.Name)
	}
	arn := cur.lb.LoadBalancerArn
	if aws.ToString(cur.lb.VpcId) != pf.VPCID {
		return nil, fmt.Errorf("subnet_ids: the cluster's load balancer %s is in %s, but the subnets are in %s: moving a cluster to another VPC replaces it",
			n.LoadBalancer, aws.ToString(cur.lb.VpcId), pf.VPCID)
	}
	// A run stopped between the create and the attribute (or one whose answer to the create was
	// lost) left it off: look, as for everything else found.
	if err := ensureCrossZone(ctx, client, arn, n); err != nil {
		return nil, err
	}
	want := slices.Clone(pf.LoadBalancerSubnetIDs)
	slices.Sort(want)
	if !slices.Equal(lbSubnets(cur.lb), want) {
		if _, err := client.SetSubnets(ctx, &elbv2.SetSubnetsInput{LoadBalancerArn: arn, Subnets: pf.LoadBalancerSubnetIDs}); err != nil {
			return nil, fmt.Errorf("setting the subnets of load balancer %s: %w", n.LoadBalancer, err)
		}
	}
	if !slices.Equal(cur.lb.SecurityGroups, []string{sgID}) {
		if _, err := client.SetSecurityGroups(ctx, &elbv2.SetSecurityGroupsInput{LoadBalancerArn: arn, SecurityGroups: []string{sgID}}); err != nil {
			return nil, fmt.Errorf("setting the security group of load balancer %s: %w", n.LoadBalancer, err)
		}
	}
	set, remove := tagDiff(cur.tags, tags)
	if len(remove) > 0 {
		if _, err := client.RemoveTags(ctx, &elbv2.RemoveTagsInput{ResourceArns: []string{aws.ToString(arn)}, TagKeys: remove}); err != nil {
			return nil, fmt.Errorf("untagging load balancer %s: %w", n.LoadBalancer, err)
		}
	}
	if len(set) > 0 {
		if _, err := client.AddTags(ctx, &elbv2.AddTagsInput{ResourceArns: []string{aws.ToString(arn)}, Tags: elbTags(set)}); err != nil {
			return nil, fmt.Errorf("tagging load balancer %s: %w", n.LoadBalancer, err)
		}
	}
	return cur, nil
}

// crossZoneAttribute is the NLB attribute that spreads each zone's traffic over every zone's
// targets.
const crossZoneAttribute = "load_balancing.cross_zone.enabled"

// setCrossZone turns on cross-zone load balancing of the load balancer arn.
func setCrossZone(ctx context.Context, client *elbv2.Client, arn *string, n Names) error {
	if _, err := client.ModifyLoadBalancerAttributes(ctx, &elbv2.ModifyLoadBalancerAttributesInput{
		LoadBalancerArn: arn,
		Attributes:      []elbtypes.LoadBalancerAttribute{{Key: aws.String(crossZoneAttribute), Value: aws.String("true")}},
	}); err != nil {
		return fmt.Errorf("turning on cross-zone load balancing of %s: %w", n.LoadBalancer, err)
	}
	return nil
}

// ensureCrossZone turns on cross-zone load balancing of the load balancer arn unless it is on.
func ensureCrossZone(ctx context.Context, client *elbv2.Client, arn *string, n Names) error {
	out, err := client.DescribeLoadBalancerAttributes(ctx, &elbv2.DescribeLoadBalancerAttributesInput{LoadBalancerArn: arn})
	if err != nil {
		return fmt.Errorf("reading the attributes of load balancer %s: %w", n.LoadBalancer, err)
	}
	for _, a := range out.Attributes {
		if aws.ToString(a.Key) == crossZoneAttribute && aws.ToString(a.Value) == "true" {
			return nil
		}
	}
	return setCrossZone(ctx, client, arn, n)
}

// deleteLoadBalancer deletes the cluster's NLB (only when it is the cluster's) and waits until it
// is gone.
func deleteLoadBalancer(ctx context.Context, client *elbv2.Client, cluster string, n Names) error {
	cur, err := findLoadBalancer(ctx, client, n)
	if err != nil || cur == nil || cur.tags[TagCluster] != cluster {
		return err
	}
	if _, err := client.DeleteLoadBalancer(ctx, &elbv2.DeleteLoadBalancerInput{LoadBalancerArn: cur.lb.LoadBalancerArn}); err != nil && !hasCode(err, "LoadBalancerNotFound") {
		return fmt.Errorf("deleting load balancer %s: %w", n.LoadBalancer, err)
	}
	arn := aws.ToString(cur.lb.LoadBalancerArn)
	return waitFor(ctx, "load balancer "+n.LoadBalancer+" to be deleted", func() (bool, error) {
		cur, err := findLoadBalancer(ctx, client, n)
		return err == nil && (cur == nil || aws.ToString(cur.lb.LoadBalancerArn) != arn), err
	})
}
