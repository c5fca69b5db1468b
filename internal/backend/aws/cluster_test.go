package aws_test

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/inferstack/terraform-provider-inferstack/internal/acctest"
	"github.com/inferstack/terraform-provider-inferstack/internal/backend"
	awsbackend "github.com/inferstack/terraform-provider-inferstack/internal/backend/aws"
)

// TestClusterLifecycle walks a cluster through create, a repeated create, read, ready, in-place
// update, repair of a part deleted behind its back, and delete, asking moto itself each time. It
// does not run in parallel: it counts IAM calls, and IAM is global.
func TestClusterLifecycle(t *testing.T) {
	lab := acctest.AWS(t)
	const region = "us-west-2"
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	d := directClients(lab, region)
	net := lab.MakeNetwork(t, region, "10.20.0.0/16", "a", "b", "a2")
	lab.SetQuota(region, "L-DB2E81BA", 192)
	b := newBackend(t, lab, 5)
	name := acctest.TestName("life")
	names := awsbackend.ResourceNames(region, name)

	spec := awsbackend.ClusterSpec{
		Name:          name,
		Region:        region,
		SubnetIDs:     []string{net.Subnets["a"], net.Subnets["b"], net.Subnets["a2"]},
		InstanceType:  "g5.12xlarge",
		AMI:           awsbackend.AMI{ID: lab.AMI(t, region)},
		RootVolumeGiB: 200,
		Capacity:      awsbackend.Capacity{OnDemandBase: 1},
		MaxNodes:      2,
		Tags:          map[string]string{"team": "ml", "env": "test"},
	}
	t.Cleanup(func() { _ = b.DeleteCluster(context.Background(), region, name) })

	// Create.
	c, err := b.EnsureCluster(ctx, spec)
	if err != nil {
		t.Fatalf("EnsureCluster: %v", err)
	}
	if c.ID != region+"/"+name || c.VPCID != net.VPCID || c.VPCCIDR != "10.20.0.0/16" {
		t.Errorf("cluster ID/VPC = %q %q %q", c.ID, c.VPCID, c.VPCCIDR)
	}
	if c.GPU.Model != "A10G" || c.GPU.Count != 4 || c.GPU.MemoryMiB < 20000 || c.InstanceType != "g5.12xlarge" {
		t.Errorf("GPU = %+v, want 4 x A10G", c.GPU)
	}
	if c.Quota.Code != "L-DB2E81BA" || !c.Quota.Checked || c.Quota.Value != 192 || c.Quota.NeededVCPUs != 96 || c.SpotQuota.Code != "" {
		t.Errorf("quota = %+v, spot %+v; want L-DB2E81BA 192, needing 2 x 48 vCPUs", c.Quota, c.SpotQuota)
	}
	if len(c.Missing) > 0 || c.LoadBalancerDNS == "" || !strings.HasSuffix(c.InstanceProfileARN, ":instance-profile/inferstack/"+names.InstanceProfile) {
		t.Errorf("cluster = %+v", c)
	}
	if fmt.Sprint(c.AllowedCIDRs) != "[10.20.0.0/16]" || fmt.Sprint(c.ServingPorts) != "[8000]" {
		t.Errorf("allowed CIDRs %v, ports %v; want the VPC's CIDR and 8000", c.AllowedCIDRs, c.ServingPorts)
	}
	wantTags := map[string]string{"team": "ml", "env": "test", awsbackend.TagCluster: name}
	assertInMoto(t, d, c, wantTags, []string{"10.20.0.0/16"}, 8000, 8000)
	if got := len(c.LoadBalancerSubnetIDs); got != 2 {
		t.Errorf("load balancer subnets = %v, want one per zone (2)", c.LoadBalancerSubnetIDs)
	}

	// A second create finds everything and changes nothing.
	before := mutations(lab)
	c2, err := b.EnsureCluster(ctx, spec)
	if err != nil {
		t.Fatalf("second EnsureCluster: %v", err)
	}
	if after := mutations(lab); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("the second EnsureCluster changed something: calls before %v, after %v", before, after)
	}
	if c2.SecurityGroupID != c.SecurityGroupID || c2.LoadBalancerARN != c.LoadBalancerARN || c2.RoleARN != c.RoleARN {
		t.Errorf("second EnsureCluster returned other objects: %+v vs %+v", c2, c)
	}

	// Read back.
	f, err := b.FindCluster(ctx, region, name)
	if err != nil {
		t.Fatalf("FindCluster: %v", err)
	}
	want := *c
	want.InstanceType, want.ImageID, want.GPU, want.Quota, want.SpotQuota, want.Warnings = "", "", awsbackend.GPU{}, awsbackend.Quota{}, awsbackend.Quota{}, nil
	if fmt.Sprintf("%+v", *f) != fmt.Sprintf("%+v", want) {
		t.Errorf("FindCluster =\n%+v\nwant\n%+v", *f, want)
	}
	r, err := b.WaitClusterReady(ctx, region, name)
	if err != nil || r.LoadBalancerState != "active" {
		t.Fatalf("WaitClusterReady = %+v, %v; want an active load balancer", r, err)
	}

	// Update in place: allowed CIDRs, ports, tags.
	spec.AllowedCIDRs = []string{"192.168.0.0/24", "10.30.0.0/16"}
	spec.ServingPorts = []int64{8001, 8000}
	spec.Tags = map[string]string{"team": "inference", "cost-center": "42"}
	u, err := b.UpdateCluster(ctx, spec)
	if err != nil {
		t.Fatalf("UpdateCluster: %v", err)
	}
	if u.SecurityGroupID != c.SecurityGroupID || u.LoadBalancerARN != c.LoadBalancerARN {
		t.Errorf("UpdateCluster replaced objects: %+v", u)
	}
	if fmt.Sprint(u.AllowedCIDRs) != "[10.30.0.0/16 192.168.0.0/24]" || fmt.Sprint(u.ServingPorts) != "[8000 8001]" {
		t.Errorf("after update: allowed CIDRs %v, ports %v", u.AllowedCIDRs, u.ServingPorts)
	}
	assertInMoto(t, d, u, map[string]string{"team": "inference", "cost-center": "42", awsbackend.TagCluster: name},
		[]string{"10.30.0.0/16", "192.168.0.0/24"}, 8000, 8001)

	// A part deleted behind the provider's back shows as Missing, and EnsureCluster repairs it.
	if _, err := d.elb.DeleteLoadBalancer(ctx, &elbv2.DeleteLoadBalancerInput{LoadBalancerArn: aws.String(c.LoadBalancerARN)}); err != nil {
		t.Fatal(err)
	}
	f, err = b.FindCluster(ctx, region, name)
	if err != nil || fmt.Sprint(f.Missing) != "[load balancer]" {
		t.Fatalf("FindCluster after the load balancer went: %+v, %v; want Missing [load balancer]", f, err)
	}
	creates := lab.Proxy.Count("iam", "CreateRole")
	if f, err = b.EnsureCluster(ctx, spec); err != nil || len(f.Missing) > 0 || f.LoadBalancerARN == "" {
		t.Fatalf("EnsureCluster to repair: %+v, %v", f, err)
	}
	if n := lab.Proxy.Count("iam", "CreateRole") - creates; n != 0 {
		t.Errorf("repair made %d IAM roles, want 0", n)
	}

	// Delete leaves nothing, and deleting again is success.
	if err := b.DeleteCluster(ctx, region, name); err != nil {
		t.Fatalf("DeleteCluster: %v", err)
	}
	assertGone(t, d, name, names)
	if _, err := b.FindCluster(ctx, region, name); !backend.IsNotFound(err) {
		t.Errorf("FindCluster after delete: err = %v, want not found", err)
	}
	if err := b.DeleteCluster(ctx, region, name); err != nil {
		t.Errorf("DeleteCluster of a deleted cluster: %v", err)
	}
}

// assertInMoto checks, in moto itself, the cluster's security group rules, IAM role and profile,
// load balancer, and the tags on each.
func assertInMoto(t *testing.T, d direct, c *awsbackend.Cluster, tags map[string]string, cidrs []string, fromPort, toPort int32) {
	t.Helper()
	ctx := context.Background()
	wantTags := fmt.Sprint(tags)

	sgs, err := d.ec2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{c.SecurityGroupID}})
	if err != nil || len(sgs.SecurityGroups) != 1 {
		t.Fatalf("security group %s in moto: %v", c.SecurityGroupID, err)
	}
	sg := sgs.SecurityGroups[0]
	if got := fmt.Sprint(tagMap(sg.Tags)); got != wantTags {
		t.Errorf("security group tags %s, want %s", got, wantTags)
	}
	var rules []string
	for _, p := range sg.IpPermissions {
		for _, r := range p.IpRanges {
			rules = append(rules, fmt.Sprintf("%s %d-%d %s", aws.ToString(p.IpProtocol), aws.ToInt32(p.FromPort), aws.ToInt32(p.ToPort), aws.ToString(r.CidrIp)))
		}
		for _, r := range p.UserIdGroupPairs {
			src := aws.ToString(r.GroupId)
			if src == c.SecurityGroupID {
				src = "self"
			}
			rules = append(rules, fmt.Sprintf("%s %d-%d %s", aws.ToString(p.IpProtocol), aws.ToInt32(p.FromPort), aws.ToInt32(p.ToPort), src))
		}
		if len(p.Ipv6Ranges)+len(p.PrefixListIds) > 0 {
			rules = append(rules, "unexpected ipv6/prefix-list rule")
		}
	}
	sort.Strings(rules)
	var want []string
	for _, cidr := range append(slices.Clone(cidrs), "self") {
		want = append(want, fmt.Sprintf("tcp %d-%d %s", fromPort, toPort, cidr))
	}
	sort.Strings(want)
	if fmt.Sprint(rules) != fmt.Sprint(want) {
		t.Errorf("ingress rules %v, want %v", rules, want)
	}

	role, err := d.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(c.RoleName)})
	if err != nil {
		t.Fatalf("IAM role %s in moto: %v", c.RoleName, err)
	}
	if got := fmt.Sprint(iamTagMap(role.Role.Tags)); got != wantTags {
		t.Errorf("role tags %s, want %s", got, wantTags)
	}
	if doc, _ := url.QueryUnescape(aws.ToString(role.Role.AssumeRolePolicyDocument)); !strings.Contains(doc, "ec2.amazonaws.com") {
		t.Errorf("role trust policy %s does not trust EC2", doc)
	}
	ap, err := d.iam.ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String(c.RoleName)})
	if err != nil || len(ap.AttachedPolicies) != 1 || aws.ToString(ap.AttachedPolicies[0].PolicyArn) != "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore" {
		t.Errorf("attached policies %+v, %v; want AmazonSSMManagedInstanceCore only", ap, err)
	}
	rp, err := d.iam.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(c.RoleName), PolicyName: aws.String("inferstack-cluster-secrets")})
	if err != nil {
		t.Fatalf("inline policy: %v", err)
	}
	doc, _ := url.QueryUnescape(aws.ToString(rp.PolicyDocument))
	if want := fmt.Sprintf(`"arn:aws:secretsmanager:%s:123456789012:secret:inferstack/%s/*"`, c.Region, c.Name); !strings.Contains(doc, want) || !strings.Contains(doc, "secretsmanager:GetSecretValue") {
		t.Errorf("inline policy %s: want GetSecretValue on %s only", doc, want)
	}
	ip, err := d.iam.GetInstanceProfile(ctx, &iam.GetInstanceProfileInput{InstanceProfileName: aws.String(c.InstanceProfileName)})
	if err != nil {
		t.Fatalf("instance profile %s in moto: %v", c.InstanceProfileName, err)
	}
	if len(ip.InstanceProfile.Roles) != 1 || aws.ToString(ip.InstanceProfile.Roles[0].RoleName) != c.RoleName {
		t.Errorf("instance profile roles %+v, want %s", ip.InstanceProfile.Roles, c.RoleName)
	}
	// moto lacks ListInstanceProfileTags; GetInstanceProfile carries the tags, as on AWS.
	if got := fmt.Sprint(iamTagMap(ip.InstanceProfile.Tags)); got != wantTags {
		t.Errorf("instance profile tags %s, want %s", got, wantTags)
	}

	lbs, err := d.elb.DescribeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{LoadBalancerArns: []string{c.LoadBalancerARN}})
	if err != nil || len(lbs.LoadBalancers) != 1 {
		t.Fatalf("load balancer in moto: %v", err)
	}
	lb := lbs.LoadBalancers[0]
	if lb.Scheme != "internal" || lb.Type != "network" || fmt.Sprint(lb.SecurityGroups) != "["+c.SecurityGroupID+"]" || aws.ToString(lb.VpcId) != c.VPCID {
		t.Errorf("load balancer %+v: want an internal NLB in %s with the cluster's security group", lb, c.VPCID)
	}
	lt, err := d.elb.DescribeTags(ctx, &elbv2.DescribeTagsInput{ResourceArns: []string{c.LoadBalancerARN}})
	if err != nil || len(lt.TagDescriptions) != 1 {
		t.Fatalf("load balancer tags: %v", err)
	}
	m := map[string]string{}
	for _, tag := range lt.TagDescriptions[0].Tags {
		m[aws.ToString(tag.Key)] = aws.ToString(tag.Value)
	}
	if fmt.Sprint(m) != wantTags {
		t.Errorf("load balancer tags %v, want %s", m, wantTags)
	}
}

// assertGone checks that moto holds nothing of the cluster: no security group, role, profile or
// load balancer tagged or named as its.
func assertGone(t *testing.T, d direct, name string, n awsbackend.Names) {
	t.Helper()
	ctx := context.Background()
	sgs, err := d.ec2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: []ec2types.Filter{
		{Name: aws.String("tag:" + awsbackend.TagCluster), Values: []string{name}},
	}})
	if err != nil || len(sgs.SecurityGroups) != 0 {
		t.Errorf("security groups tagged %s after delete: %+v, %v", name, sgs, err)
	}
	if _, err := d.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(n.Role)}); err == nil {
		t.Errorf("IAM role %s still exists", n.Role)
	}
	if _, err := d.iam.GetInstanceProfile(ctx, &iam.GetInstanceProfileInput{InstanceProfileName: aws.String(n.InstanceProfile)}); err == nil {
		t.Errorf("instance profile %s still exists", n.InstanceProfile)
	}
	lbs, err := d.elb.DescribeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{})
	if err != nil {
		t.Fatal(err)
	}
	for _, lb := range lbs.LoadBalancers {
		if aws.ToString(lb.LoadBalancerName) == n.LoadBalancer {
			t.Errorf("load balancer %s still exists", n.LoadBalancer)
		}
	}
}

func tagMap(tags []ec2types.Tag) map[string]string {
	m := map[string]string{}
	for _, t := range tags {
		m[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return m
}

func iamTagMap(tags []iamtypes.Tag) map[string]string {
	m := map[string]string{}
	for _, t := range tags {
		m[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return m
}
