package aws

import (
	"context"
	"fmt"
	"net/netip"
	"sort"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// A cluster has two security groups. The load balancer's ("inferstack-<cluster>-lb") admits the
// serving ports from each allowed CIDR: that is who may call the endpoints (the NLB preserves
// client addresses, and its own group is where they are checked). The nodes' group
// ("inferstack-<cluster>") admits the serving ports only from the load balancer's group, by group
// reference, and nothing else: vLLM's API key guards only /v1, so /metrics, /health and the rest
// must not be reachable from the whole VPC. Egress stays EC2's default (everything) on both, as
// nodes pull images and weights through the VPC's NAT or endpoints. The groups are the cluster's
// own: ingress rules that are not the desired ones are revoked.

const (
	ruleDescCIDR = "inferstack: clients to serving ports"
	ruleDescLB   = "inferstack: load balancer to nodes"
)

// sgRule is one ingress rule: a port range from one source.
type sgRule struct {
	from, to      int32
	cidr4, cidr6  string
	group, prefix string
	proto         string
}

func (r sgRule) String() string {
	src := r.cidr4 + r.cidr6 + r.group + r.prefix
	return fmt.Sprintf("%s %d-%d from %s", r.proto, r.from, r.to, src)
}

// cidrRules admit ports from each CIDR (the load balancer's group).
func cidrRules(cidrs []string, ports []int64) []sgRule {
	var out []sgRule
	for _, pr := range portRanges(ports) {
		for _, c := range cidrs {
			r := sgRule{proto: "tcp", from: pr.from, to: pr.to}
			if p, err := netip.ParsePrefix(c); err == nil && p.Addr().Is6() {
				r.cidr6 = c
			} else {
				r.cidr4 = c
			}
			out = append(out, r)
		}
	}
	return out
}

// groupRules admit ports from the members of group sourceID only (the nodes' group, from the
// load balancer's).
func groupRules(sourceID string, ports []int64) []sgRule {
	var out []sgRule
	for _, pr := range portRanges(ports) {
		out = append(out, sgRule{proto: "tcp", from: pr.from, to: pr.to, group: sourceID})
	}
	return out
}

func currentRules(sg ec2types.SecurityGroup) []sgRule {
	var out []sgRule
	for _, p := range sg.IpPermissions {
		proto := aws.ToString(p.IpProtocol)
		if proto == "6" {
			proto = "tcp"
		}
		base := sgRule{proto: proto, from: aws.ToInt32(p.FromPort), to: aws.ToInt32(p.ToPort)}
		for _, r := range p.IpRanges {
			x := base
			x.cidr4 = aws.ToString(r.CidrIp)
			out = append(out, x)
		}
		for _, r := range p.Ipv6Ranges {
			x := base
			x.cidr6 = aws.ToString(r.CidrIpv6)
			out = append(out, x)
		}
		for _, r := range p.UserIdGroupPairs {
			x := base
			x.group = aws.ToString(r.GroupId)
			out = append(out, x)
		}
		for _, r := range p.PrefixListIds {
			x := base
			x.prefix = aws.ToString(r.PrefixListId)
			out = append(out, x)
		}
	}
	return out
}

func (r sgRule) permission() ec2types.IpPermission {
	p := ec2types.IpPermission{IpProtocol: aws.String(r.proto), FromPort: aws.Int32(r.from), ToPort: aws.Int32(r.to)}
	switch {
	case r.cidr4 != "":
		p.IpRanges = []ec2types.IpRange{{CidrIp: aws.String(r.cidr4), Description: aws.String(ruleDescCIDR)}}
	case r.cidr6 != "":
		p.Ipv6Ranges = []ec2types.Ipv6Range{{CidrIpv6: aws.String(r.cidr6), Description: aws.String(ruleDescCIDR)}}
	case r.group != "":
		p.UserIdGroupPairs = []ec2types.UserIdGroupPair{{GroupId: aws.String(r.group), Description: aws.String(ruleDescLB)}}
	case r.prefix != "":
		p.PrefixListIds = []ec2types.PrefixListId{{PrefixListId: aws.String(r.prefix)}}
	}
	if r.proto == "-1" {
		p.FromPort, p.ToPort = nil, nil
	}
	return p
}

// reconcileRules authorizes the missing ingress rules of the group, then revokes those not wanted
// (in that order, so a change of sources never leaves a moment with neither).
func reconcileRules(ctx context.Context, client *ec2.Client, sg ec2types.SecurityGroup, want []sgRule) error {
	id := aws.ToString(sg.GroupId)
	have := currentRules(sg)
	haveSet := map[sgRule]bool{}
	for _, r := range have {
		haveSet[r] = true
	}
	wantSet := map[sgRule]bool{}
	for _, r := range want {
		wantSet[r] = true
	}
	var revoke, authorize []ec2types.IpPermission
	for _, r := range have {
		if !wantSet[r] {
			revoke = append(revoke, r.permission())
		}
	}
	for _, r := range want {
		if !haveSet[r] {
			authorize = append(authorize, r.permission())
		}
	}
	if len(authorize) > 0 {
		if _, err := client.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(id), IpPermissions: authorize}); err != nil &&
			!hasCode(err, "InvalidPermission.Duplicate") {
			return fmt.Errorf("authorizing ingress rules of security group %s: %w", id, err)
		}
	}
	if len(revoke) > 0 {
		if _, err := client.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{GroupId: aws.String(id), IpPermissions: revoke}); err != nil &&
			!hasCode(err, "InvalidPermission.NotFound") {
			return fmt.Errorf("revoking ingress rules of security group %s: %w", id, err)
		}
	}
	return nil
}

// rulesView is what the group's rules say about allowed CIDRs and serving ports (both sorted):
// the sources of the CIDR rules, and the ports of every TCP rule.
func rulesView(sg ec2types.SecurityGroup) (cidrs []string, ports []int64) {
	seenC, seenP := map[string]bool{}, map[int64]bool{}
	for _, r := range currentRules(sg) {
		if c := r.cidr4 + r.cidr6; c != "" && !seenC[c] {
			seenC[c] = true
			cidrs = append(cidrs, c)
		}
		if r.proto != "tcp" {
			continue
		}
		for p := int64(r.from); p <= int64(r.to) && len(seenP) < 4096; p++ {
			if !seenP[p] {
				seenP[p] = true
				ports = append(ports, p)
			}
		}
	}
	sort.Strings(cidrs)
	sort.Slice(ports, func(i, j int) bool { return ports[i] < ports[j] })
	return cidrs, ports
}

// findSecurityGroup is the cluster's group called groupName in region (nil when there is none).
func findSecurityGroup(ctx context.Context, client *ec2.Client, cluster, groupName string) (*ec2types.SecurityGroup, error) {
	out, err := client.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: []ec2types.Filter{
		{Name: aws.String("tag:" + TagCluster), Values: []string{cluster}},
		{Name: aws.String("group-name"), Values: []string{groupName}},
	}})
	if err != nil {
		return nil, fmt.Errorf("finding security group %s: %w", groupName, err)
	}
	switch len(out.SecurityGroups) {
	case 0:
		return nil, nil
	case 1:
		return &out.SecurityGroups[0], nil
	}
	var ids []string
	for _, g := range out.SecurityGroups {
		ids = append(ids, aws.ToString(g.GroupId)+" in "+aws.ToString(g.VpcId))
	}
	return nil, fmt.Errorf("more than one security group is named %s and tagged %s=%s (%v): a cluster name may be used once per region",
		groupName, TagCluster, cluster, ids)
}

func ec2TagMap(tags []ec2types.Tag) map[string]string {
	m := make(map[string]string, len(tags))
	for _, t := range tags {
		m[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return m
}

func ec2Tags(m map[string]string) []ec2types.Tag {
	out := make([]ec2types.Tag, 0, len(m))
	for _, k := range sortedKeys(m) {
		out = append(out, ec2types.Tag{Key: aws.String(k), Value: aws.String(m[k])})
	}
	return out
}

func reconcileEC2Tags(ctx context.Context, client *ec2.Client, id string, have, want map[string]string) error {
	set, remove := tagDiff(have, want)
	if len(remove) > 0 {
		var tags []ec2types.Tag
		for _, k := range remove {
			tags = append(tags, ec2types.Tag{Key: aws.String(k)})
		}
		if _, err := client.DeleteTags(ctx, &ec2.DeleteTagsInput{Resources: []string{id}, Tags: tags}); err != nil {
			return fmt.Errorf("removing tags from %s: %w", id, err)
		}
	}
	if len(set) > 0 {
		if _, err := client.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{id}, Tags: ec2Tags(set)}); err != nil {
			return fmt.Errorf("tagging %s: %w", id, err)
		}
	}
	return nil
}

// ensureLoadBalancerGroup finds or creates the load balancer's group: the serving ports from the
// allowed CIDRs.
func ensureLoadBalancerGroup(ctx context.Context, client *ec2.Client, spec ClusterSpec, pf *Preflight, n Names, tags map[string]string) (string, error) {
	return ensureSecurityGroup(ctx, client, spec.Name, pf.VPCID, n.LoadBalancerSecurityGroup,
		fmt.Sprintf("inferstack cluster %s load balancer: serving ports from allowed CIDRs", spec.Name),
		cidrRules(pf.AllowedCIDRs, pf.ServingPorts), tags)
}

// ensureNodeGroup finds or creates the nodes' group: the serving ports from the load balancer's
// group lbGroupID only.
func ensureNodeGroup(ctx context.Context, client *ec2.Client, spec ClusterSpec, pf *Preflight, n Names, lbGroupID string, tags map[string]string) (string, error) {
	return ensureSecurityGroup(ctx, client, spec.Name, pf.VPCID, n.SecurityGroup,
		fmt.Sprintf("inferstack cluster %s nodes: serving ports from its load balancer only", spec.Name),
		groupRules(lbGroupID, pf.ServingPorts), tags)
}

// ensureSecurityGroup finds or creates the cluster's group groupName in vpcID and converges its
// ingress rules to want and its tags.
func ensureSecurityGroup(ctx context.Context, client *ec2.Client, cluster, vpcID, groupName, desc string, want []sgRule, tags map[string]string) (string, error) {
	sg, err := findSecurityGroup(ctx, client, cluster, groupName)
	if err != nil {
		return "", err
	}
	if sg != nil && aws.ToString(sg.VpcId) != vpcID {
		return "", fmt.Errorf("subnet_ids: the cluster's security group %s is in %s, but the subnets are in %s: moving a cluster to another VPC replaces it",
			aws.ToString(sg.GroupId), aws.ToString(sg.VpcId), vpcID)
	}
	if sg == nil {
		out, err := client.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{
			GroupName:   aws.String(groupName),
			Description: aws.String(desc),
			VpcId:       aws.String(vpcID),
			TagSpecifications: []ec2types.TagSpecification{{
				ResourceType: ec2types.ResourceTypeSecurityGroup,
				Tags:         ec2Tags(tags),
			}},
		})
		if err != nil {
			if hasCode(err, "InvalidGroup.Duplicate") {
				return "", errNotOurs("security group", groupName+" in "+vpcID, cluster)
			}
			return "", fmt.Errorf("creating security group %s: %w", groupName, err)
		}
		id := aws.ToString(out.GroupId)
		// Read it back (with EC2's default egress rule) to converge the rules below.
		if err := waitFor(ctx, "security group "+id, func() (bool, error) {
			g, err := describeGroup(ctx, client, id)
			if err != nil || g == nil {
				return false, err
			}
			sg = g
			return true, nil
		}); err != nil {
			return id, err
		}
	}
	id := aws.ToString(sg.GroupId)
	if err := reconcileRules(ctx, client, *sg, want); err != nil {
		return id, err
	}
	return id, reconcileEC2Tags(ctx, client, id, ec2TagMap(sg.Tags), tags)
}

// deleteSecurityGroup deletes the cluster's group groupName, if there is one, and waits until it is
// gone. It tries again while EC2 answers DependencyViolation (a load balancer's network interfaces
// take a while to go; the nodes' group references the load balancer's) until ctx ends.
func deleteSecurityGroup(ctx context.Context, client *ec2.Client, cluster, groupName string) error {
	sg, err := findSecurityGroup(ctx, client, cluster, groupName)
	if err != nil || sg == nil {
		return err
	}
	id := aws.ToString(sg.GroupId)
	var lastErr error
	err = waitFor(ctx, "security group "+id+" to be deleted", func() (bool, error) {
		_, err := client.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: aws.String(id)})
		switch {
		case err == nil || hasCode(err, "InvalidGroup.NotFound"):
		case hasCode(err, "DependencyViolation"):
			lastErr = err
			return false, nil
		default:
			return false, fmt.Errorf("deleting security group %s: %w", id, err)
		}
		g, err := describeGroup(ctx, client, id)
		return err == nil && g == nil, err
	})
	if err != nil && lastErr != nil {
		return fmt.Errorf("%w: still in use: %s", err, apiMessage(lastErr))
	}
	return err
}

// describeGroup is the group id, or nil when it does not exist (yet, or any more).
func describeGroup(ctx context.Context, client *ec2.Client, id string) (*ec2types.SecurityGroup, error) {
	out, err := client.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{id}})
	if err != nil {
		if hasCode(err, "InvalidGroup.NotFound") {
			return nil, nil
		}
		return nil, fmt.Errorf("describing security group %s: %w", id, err)
	}
	if len(out.SecurityGroups) == 0 {
		return nil, nil
	}
	return &out.SecurityGroups[0], nil
}
