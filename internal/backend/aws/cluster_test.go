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
	if c.ID != "aws/"+region+"/"+name || c.VPCID != net.VPCID || c.VPCCIDR != "10.20.0.0/16" {
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
	if c.LaunchTemplateID == "" || c.LaunchTemplateVersion != 1 || fmt.Sprint(c.SubnetIDs) != fmt.Sprint(spec.SubnetIDs) ||
		c.Capacity != spec.Capacity || c.MaxNodes != 2 || c.RootVolumeGiB != 200 || c.ImageID != spec.AMI.ID {
		t.Errorf("cluster template and settings = %s v%d, subnets %v, capacity %+v, max nodes %d, root %d GiB, image %s",
			c.LaunchTemplateID, c.LaunchTemplateVersion, c.SubnetIDs, c.Capacity, c.MaxNodes, c.RootVolumeGiB, c.ImageID)
	}
	assertTemplate(t, d, c, wantTags, 200)
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
	want := *c // FindCluster has everything but the preflight's facts, the rest from the launch template
	want.GPU, want.Quota, want.SpotQuota, want.Warnings = awsbackend.GPU{}, awsbackend.Quota{}, awsbackend.Quota{}, nil
	if fmt.Sprintf("%+v", *f) != fmt.Sprintf("%+v", want) {
		t.Errorf("FindCluster =\n%+v\nwant\n%+v", *f, want)
	}
	r, err := b.WaitClusterReady(ctx, region, name)
	if err != nil || r.LoadBalancerState != "active" {
		t.Fatalf("WaitClusterReady = %+v, %v; want an active load balancer", r, err)
	}

	// Update in place: allowed CIDRs, ports, tags, root volume (a new template version).
	spec.AllowedCIDRs = []string{"192.168.0.0/24", "10.30.0.0/16"}
	spec.ServingPorts = []int64{8001, 8000}
	spec.Tags = map[string]string{"team": "inference", "cost-center": "42"}
	spec.RootVolumeGiB = 250
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
	newTags := map[string]string{"team": "inference", "cost-center": "42", awsbackend.TagCluster: name}
	assertInMoto(t, d, u, newTags, []string{"10.30.0.0/16", "192.168.0.0/24"}, 8000, 8001)
	if u.LaunchTemplateID != c.LaunchTemplateID || u.LaunchTemplateVersion != 2 || u.RootVolumeGiB != 250 {
		t.Errorf("after update: template %s v%d, root %d GiB; want %s v2, 250 GiB", u.LaunchTemplateID, u.LaunchTemplateVersion, u.RootVolumeGiB, c.LaunchTemplateID)
	}
	assertTemplate(t, d, u, newTags, 250)

	// Parts deleted behind the provider's back show as Missing, and EnsureCluster repairs them.
	if _, err := d.elb.DeleteLoadBalancer(ctx, &elbv2.DeleteLoadBalancerInput{LoadBalancerArn: aws.String(c.LoadBalancerARN)}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.ec2.DeleteLaunchTemplate(ctx, &ec2.DeleteLaunchTemplateInput{LaunchTemplateId: aws.String(c.LaunchTemplateID)}); err != nil {
		t.Fatal(err)
	}
	f, err = b.FindCluster(ctx, region, name)
	if err != nil || fmt.Sprint(f.Missing) != "[load balancer launch template]" {
		t.Fatalf("FindCluster after the load balancer and template went: %+v, %v; want Missing [load balancer launch template]", f, err)
	}
	creates := lab.Proxy.Count("iam", "CreateRole")
	if f, err = b.EnsureCluster(ctx, spec); err != nil || len(f.Missing) > 0 || f.LoadBalancerARN == "" || f.LaunchTemplateVersion != 1 {
		t.Fatalf("EnsureCluster to repair: %+v, %v", f, err)
	}
	assertTemplate(t, d, f, newTags, 250)
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

	// The load balancer's group admits the allowed CIDRs; the nodes' group only the load
	// balancer's group, by reference.
	var lbWant, nodeWant []string
	for _, cidr := range cidrs {
		lbWant = append(lbWant, fmt.Sprintf("tcp %d-%d %s", fromPort, toPort, cidr))
	}
	nodeWant = append(nodeWant, fmt.Sprintf("tcp %d-%d lb", fromPort, toPort))
	for _, g := range []struct {
		what, id string
		want     []string
	}{{"load balancer's", c.LoadBalancerSecurityGroupID, lbWant}, {"nodes'", c.SecurityGroupID, nodeWant}} {
		sgs, err := d.ec2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{g.id}})
		if err != nil || len(sgs.SecurityGroups) != 1 {
			t.Fatalf("the %s security group %q in moto: %v", g.what, g.id, err)
		}
		sg := sgs.SecurityGroups[0]
		if got := fmt.Sprint(tagMap(sg.Tags)); got != wantTags {
			t.Errorf("the %s security group's tags %s, want %s", g.what, got, wantTags)
		}
		if got, want := ingressRules(sg, c.LoadBalancerSecurityGroupID), slices.Sorted(slices.Values(g.want)); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("the %s security group's ingress rules %v, want %v", g.what, got, want)
		}
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
	if lb.Scheme != "internal" || lb.Type != "network" || fmt.Sprint(lb.SecurityGroups) != "["+c.LoadBalancerSecurityGroupID+"]" || aws.ToString(lb.VpcId) != c.VPCID {
		t.Errorf("load balancer %+v: want an internal NLB in %s with its own security group %s", lb, c.VPCID, c.LoadBalancerSecurityGroupID)
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

// ingressRules are sg's ingress rules as "tcp <from>-<to> <source>", sorted; the group lbGroupID
// is "lb".
func ingressRules(sg ec2types.SecurityGroup, lbGroupID string) []string {
	var rules []string
	for _, p := range sg.IpPermissions {
		for _, r := range p.IpRanges {
			rules = append(rules, fmt.Sprintf("%s %d-%d %s", aws.ToString(p.IpProtocol), aws.ToInt32(p.FromPort), aws.ToInt32(p.ToPort), aws.ToString(r.CidrIp)))
		}
		for _, r := range p.UserIdGroupPairs {
			src := aws.ToString(r.GroupId)
			if src == lbGroupID {
				src = "lb"
			}
			rules = append(rules, fmt.Sprintf("%s %d-%d %s", aws.ToString(p.IpProtocol), aws.ToInt32(p.FromPort), aws.ToInt32(p.ToPort), src))
		}
		if len(p.Ipv6Ranges)+len(p.PrefixListIds) > 0 {
			rules = append(rules, "unexpected ipv6/prefix-list rule")
		}
	}
	sort.Strings(rules)
	return rules
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
	lts, err := d.ec2.DescribeLaunchTemplates(ctx, &ec2.DescribeLaunchTemplatesInput{Filters: []ec2types.Filter{
		{Name: aws.String("tag:" + awsbackend.TagCluster), Values: []string{name}},
	}})
	if err != nil || len(lts.LaunchTemplates) != 0 {
		t.Errorf("launch templates tagged %s after delete: %+v, %v", name, lts, err)
	}
}

// assertTemplate checks, in moto itself, the cluster's base launch template: its default
// version's node settings (IMDSv2 only, hop limit 1; no public IP; an encrypted gp3 root volume;
// the security group and instance profile; tags at launch) and the settings in its own tags.
func assertTemplate(t *testing.T, d direct, c *awsbackend.Cluster, tags map[string]string, rootGiB int32) {
	t.Helper()
	ctx := context.Background()
	lts, err := d.ec2.DescribeLaunchTemplates(ctx, &ec2.DescribeLaunchTemplatesInput{LaunchTemplateIds: []string{c.LaunchTemplateID}})
	if err != nil || len(lts.LaunchTemplates) != 1 {
		t.Fatalf("launch template %s in moto: %v", c.LaunchTemplateID, err)
	}
	lt := lts.LaunchTemplates[0]
	if aws.ToString(lt.LaunchTemplateName) != "inferstack-"+c.Name || aws.ToInt64(lt.DefaultVersionNumber) != c.LaunchTemplateVersion {
		t.Errorf("launch template %s default v%d; want inferstack-%s v%d", aws.ToString(lt.LaunchTemplateName), aws.ToInt64(lt.DefaultVersionNumber), c.Name, c.LaunchTemplateVersion)
	}
	own := tagMap(lt.Tags)
	for k, v := range tags {
		if own[k] != v {
			t.Errorf("launch template tag %s = %q, want %q", k, own[k], v)
		}
	}
	if own[awsbackend.TagSubnets] != strings.Join(c.SubnetIDs, ",") || own[awsbackend.TagOnDemandBase] != fmt.Sprint(c.Capacity.OnDemandBase) ||
		own[awsbackend.TagSpotPercentage] != fmt.Sprint(c.Capacity.SpotPercentage) || own[awsbackend.TagMaxNodes] != fmt.Sprint(c.MaxNodes) {
		t.Errorf("launch template settings tags %v", own)
	}
	vs, err := d.ec2.DescribeLaunchTemplateVersions(ctx, &ec2.DescribeLaunchTemplateVersionsInput{LaunchTemplateId: lt.LaunchTemplateId, Versions: []string{"$Default"}})
	if err != nil || len(vs.LaunchTemplateVersions) != 1 {
		t.Fatalf("default version of %s: %v", c.LaunchTemplateID, err)
	}
	data := vs.LaunchTemplateVersions[0].LaunchTemplateData
	if m := data.MetadataOptions; m == nil || m.HttpTokens != ec2types.LaunchTemplateHttpTokensStateRequired || aws.ToInt32(m.HttpPutResponseHopLimit) != 1 {
		t.Errorf("metadata options %+v: want IMDSv2 tokens required, hop limit 1", m)
	}
	if len(data.NetworkInterfaces) != 1 || aws.ToBool(data.NetworkInterfaces[0].AssociatePublicIpAddress) || data.NetworkInterfaces[0].AssociatePublicIpAddress == nil ||
		fmt.Sprint(data.NetworkInterfaces[0].Groups) != "["+c.SecurityGroupID+"]" {
		t.Errorf("network interfaces %+v: want one without a public IP, in %s", data.NetworkInterfaces, c.SecurityGroupID)
	}
	if len(data.BlockDeviceMappings) != 1 || data.BlockDeviceMappings[0].Ebs == nil {
		t.Fatalf("block devices %+v: want the root volume", data.BlockDeviceMappings)
	}
	if ebs := data.BlockDeviceMappings[0].Ebs; ebs.VolumeType != ec2types.VolumeTypeGp3 || !aws.ToBool(ebs.Encrypted) || aws.ToInt32(ebs.VolumeSize) != rootGiB ||
		aws.ToString(data.BlockDeviceMappings[0].DeviceName) == "" {
		t.Errorf("root volume %s %+v: want encrypted gp3, %d GiB", aws.ToString(data.BlockDeviceMappings[0].DeviceName), *ebs, rootGiB)
	}
	if aws.ToString(data.ImageId) != c.ImageID || string(data.InstanceType) != c.InstanceType || data.UserData != nil ||
		data.IamInstanceProfile == nil || aws.ToString(data.IamInstanceProfile.Arn) != c.InstanceProfileARN || data.Monitoring == nil || !aws.ToBool(data.Monitoring.Enabled) {
		t.Errorf("template data %s %s, profile %+v, monitoring %+v, user data %v", aws.ToString(data.ImageId), data.InstanceType, data.IamInstanceProfile, data.Monitoring, data.UserData)
	}
	seen := map[ec2types.ResourceType]bool{}
	for _, ts := range data.TagSpecifications {
		if ts.ResourceType == ec2types.ResourceTypeLaunchTemplate { // moto keeps the template's own tags here too
			continue
		}
		seen[ts.ResourceType] = true
		if fmt.Sprint(tagMap(ts.Tags)) != fmt.Sprint(tags) {
			t.Errorf("tags at launch of %s: %v, want %v", ts.ResourceType, tagMap(ts.Tags), tags)
		}
	}
	if len(seen) != 3 || !seen[ec2types.ResourceTypeInstance] || !seen[ec2types.ResourceTypeVolume] || !seen[ec2types.ResourceTypeNetworkInterface] {
		t.Errorf("tag specifications for %v, want instance, volume and network-interface", seen)
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
