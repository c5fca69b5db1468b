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

// The security group is shared by the load balancer and the nodes: ingress on the serving ports
// from each allowed CIDR (clients; the NLB preserves their addresses) and from the group itself
// (the load balancer's traffic and health checks to the nodes). Egress stays EC2's default
// (everything), as nodes pull images and weights through the VPC's NAT or endpoints. The group is
// the cluster's own: ingress rules that are not the desired ones are revoked.

const (
	ruleDescCIDR = "inferstack: clients to serving ports"
	ruleDescSelf = "inferstack: load balancer to nodes"
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

func desiredRules(groupID string, cidrs []string, ports []int64) []sgRule {
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
		out = append(out, sgRule{proto: "tcp", from: pr.from, to: pr.to, group: groupID})
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
		p.UserIdGroupPairs = []ec2types.UserIdGroupPair{{GroupId: aws.String(r.group), Description: aws.String(ruleDescSelf)}}
	case r.prefix != "":
		p.PrefixListIds = []ec2types.PrefixListId{{PrefixListId: aws.String(r.prefix)}}
	}
	if r.proto == "-1" {
		p.FromPort, p.ToPort = nil, nil
	}
	return p
}

// reconcileRules revokes the group's ingress rules that are not wanted and authorizes the missing.
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
	if len(revoke) > 0 {
		if _, err := client.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{GroupId: aws.String(id), IpPermissions: revoke}); err != nil &&
			!hasCode(err, "InvalidPermission.NotFound") {
			return fmt.Errorf("revoking ingress rules of security group %s: %w", id, err)
		}
	}
	if len(authorize) > 0 {
		if _, err := client.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(id), IpPermissions: authorize}); err != nil &&
			!hasCode(err, "InvalidPermission.Duplicate") {
			return fmt.Errorf("authorizing ingress rules of security group %s: %w", id, err)
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

// findSecurityGroup is the cluster's group in region (nil when there is none).
func findSecurityGroup(ctx context.Context, client *ec2.Client, name string, n Names) (*ec2types.SecurityGroup, error) {
	out, err := client.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: []ec2types.Filter{
		{Name: aws.String("tag:" + TagCluster), Values: []string{name}},
		{Name: aws.String("group-name"), Values: []string{n.SecurityGroup}},
	}})
	if err != nil {
		return nil, fmt.Errorf("finding security group %s: %w", n.SecurityGroup, err)
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
		n.SecurityGroup, TagCluster, name, ids)
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

// ensureSecurityGroup finds or creates the cluster's group in pf's VPC and converges its ingress
// rules and tags.
func ensureSecurityGroup(ctx context.Context, client *ec2.Client, spec ClusterSpec, pf *Preflight, n Names, tags map[string]string) (string, error) {
	sg, err := findSecurityGroup(ctx, client, spec.Name, n)
	if err != nil {
		return "", err
	}
	if sg != nil && aws.ToString(sg.VpcId) != pf.VPCID {
		return "", fmt.Errorf("subnet_ids: the cluster's security group %s is in %s, but the subnets are in %s: moving a cluster to another VPC replaces it",
			aws.ToString(sg.GroupId), aws.ToString(sg.VpcId), pf.VPCID)
	}
	if sg == nil {
		out, err := client.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{
			GroupName:   aws.String(n.SecurityGroup),
			Description: aws.String(fmt.Sprintf("inferstack cluster %s: serving ports from allowed CIDRs and its load balancer", spec.Name)),
			VpcId:       aws.String(pf.VPCID),
			TagSpecifications: []ec2types.TagSpecification{{
				ResourceType: ec2types.ResourceTypeSecurityGroup,
				Tags:         ec2Tags(tags),
			}},
		})
		if err != nil {
			if hasCode(err, "InvalidGroup.Duplicate") {
				return "", errNotOurs("security group", n.SecurityGroup+" in "+pf.VPCID, spec.Name)
			}
			return "", fmt.Errorf("creating security group %s: %w", n.SecurityGroup, err)
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
	if err := reconcileRules(ctx, client, *sg, desiredRules(id, pf.AllowedCIDRs, pf.ServingPorts)); err != nil {
		return id, err
	}
	return id, reconcileEC2Tags(ctx, client, id, ec2TagMap(sg.Tags), tags)
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
