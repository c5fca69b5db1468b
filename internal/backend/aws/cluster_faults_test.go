package aws_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/inferstack/terraform-provider-inferstack/internal/acctest"
	"github.com/inferstack/terraform-provider-inferstack/internal/backend"
	awsbackend "github.com/inferstack/terraform-provider-inferstack/internal/backend/aws"
)

// baseSpec is a small valid cluster in n's subnets.
func baseSpec(t *testing.T, d direct, region string, subnets ...string) awsbackend.ClusterSpec {
	return awsbackend.ClusterSpec{
		Name: acctest.TestName("c"), Region: region, SubnetIDs: subnets, InstanceType: "g5.xlarge",
		AMI: awsbackend.AMI{ID: acctest.AWS(t).AMI(t, region)}, MaxNodes: 2, Tags: map[string]string{"suite": "faults"},
	}
}

// TestEnsureClusterThrottled: throttling injected into the creating calls is retried by the
// SDK's retryer (no retry code of ours), and the cluster comes out whole, each object once.
func TestEnsureClusterThrottled(t *testing.T) {
	t.Parallel()
	lab := acctest.AWS(t)
	const region = "ap-northeast-1"
	d := directClients(lab, region)
	n := lab.MakeNetwork(t, region, "10.40.0.0/16", "a", "c")
	lab.SetQuota(region, "L-DB2E81BA", 64)
	b := newBackend(t, lab, 5)
	spec := baseSpec(t, d, region, n.Subnets["a"], n.Subnets["c"])
	t.Cleanup(func() { _ = b.DeleteCluster(context.Background(), region, spec.Name) })

	faults := []acctest.Fault{
		{Region: region, Service: "ec2", Operation: "CreateSecurityGroup", Kind: acctest.Throttle, Times: 2},
		{Region: region, Service: "ec2", Operation: "AuthorizeSecurityGroupIngress", Kind: acctest.Throttle, Times: 1},
		{Region: region, Service: "elasticloadbalancing", Operation: "CreateLoadBalancer", Kind: acctest.Throttle, Times: 1},
		{Region: region, Service: "iam", Operation: "CreateRole", Kind: acctest.Throttle, Times: 1},
		{Region: region, Service: "servicequotas", Operation: "GetServiceQuota", Kind: acctest.Throttle, Times: 1},
	}
	before := map[acctest.Fault]int{}
	for _, f := range faults {
		before[f] = lab.Proxy.CountRegion(region, f.Service, f.Operation)
		lab.Proxy.Inject(f)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := b.EnsureCluster(ctx, spec)
	if err != nil {
		t.Fatalf("EnsureCluster under throttling: %v", err)
	}
	if len(c.Missing) > 0 || !c.Quota.Checked {
		t.Fatalf("cluster %+v: want every part, and the quota checked", c)
	}
	// Two security groups (the load balancer's and the nodes'), each made and opened once.
	clean := map[string]int{"CreateSecurityGroup": 2, "AuthorizeSecurityGroupIngress": 2}
	for _, f := range faults {
		calls := max(1, clean[f.Operation])
		if got := lab.Proxy.CountRegion(region, f.Service, f.Operation) - before[f]; got != f.Times+calls {
			t.Errorf("%s:%s reached the proxy %d times, want %d (throttled %d, then %d)", f.Service, f.Operation, got, f.Times+calls, f.Times, calls)
		}
	}
	sgs, err := d.ec2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{c.SecurityGroupID}})
	if err != nil || len(sgs.SecurityGroups) != 1 || len(sgs.SecurityGroups[0].IpPermissions) == 0 {
		t.Errorf("security group in moto: %+v, %v; want it with its ingress rules", sgs, err)
	}
}

// TestEnsureClusterInterrupted: an apply that fails half-way (the load balancer call fails for
// good, so the launch template after it is not made either) leaves tagged parts behind; the
// retried apply adopts them and makes only what is missing.
func TestEnsureClusterInterrupted(t *testing.T) {
	t.Parallel()
	lab := acctest.AWS(t)
	const region = "eu-west-2"
	d := directClients(lab, region)
	n := lab.MakeNetwork(t, region, "10.41.0.0/16", "a", "b")
	lab.SetQuota(region, "L-DB2E81BA", 64)
	spec := baseSpec(t, d, region, n.Subnets["a"], n.Subnets["b"])
	b := newBackend(t, lab, 5)
	t.Cleanup(func() { _ = b.DeleteCluster(context.Background(), region, spec.Name) })
	ctx := context.Background()

	sgCreates := lab.Proxy.CountRegion(region, "ec2", "CreateSecurityGroup")
	lbCreates := lab.Proxy.CountRegion(region, "elasticloadbalancing", "CreateLoadBalancer")
	once := newBackend(t, lab, 1) // no retries: the fault is final
	lab.Proxy.Inject(acctest.Fault{Region: region, Service: "elasticloadbalancing", Operation: "CreateLoadBalancer", Kind: acctest.ServerError, Times: 1})
	if _, err := once.EnsureCluster(ctx, spec); err == nil || !strings.Contains(err.Error(), "creating load balancer") {
		t.Fatalf("EnsureCluster with a failing load balancer call: err = %v, want it to fail there", err)
	}
	partial, err := b.FindCluster(ctx, region, spec.Name)
	if err != nil || strings.Join(partial.Missing, ",") != "security group,load balancer,launch template" {
		t.Fatalf("FindCluster after the failure: %+v, %v; want all but the load balancer and the nodes' group and launch template made after it", partial, err)
	}
	// Long enough for one look at the cluster on a loaded machine (the error names what it saw).
	short, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := b.WaitClusterReady(short, region, spec.Name); err == nil || !strings.Contains(err.Error(), "missing: security group, load balancer") {
		t.Errorf("WaitClusterReady of the half-made cluster: err = %v, want a timeout naming the load balancer", err)
	}
	role, err := d.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(partial.RoleName)})
	if err != nil {
		t.Fatal(err)
	}

	c, err := b.EnsureCluster(ctx, spec)
	if err != nil {
		t.Fatalf("retried EnsureCluster: %v", err)
	}
	if c.LoadBalancerSecurityGroupID != partial.LoadBalancerSecurityGroupID || c.RoleARN != partial.RoleARN || c.LoadBalancerARN == "" || len(c.Missing) > 0 {
		t.Errorf("retried EnsureCluster = %+v; want the same load balancer security group and role, and a load balancer", c)
	}
	if got := lab.Proxy.CountRegion(region, "ec2", "CreateSecurityGroup") - sgCreates; got != 2 {
		t.Errorf("CreateSecurityGroup called %d times, want 2 (the load balancer's, then the nodes' after the retry)", got)
	}
	if got := lab.Proxy.CountRegion(region, "elasticloadbalancing", "CreateLoadBalancer") - lbCreates; got != 2 {
		t.Errorf("CreateLoadBalancer called %d times, want 2 (the failed one, then one)", got)
	}
	role2, err := d.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(c.RoleName)})
	if err != nil || aws.ToString(role2.Role.RoleId) != aws.ToString(role.Role.RoleId) {
		t.Errorf("role after the retry: %v; want the same role (%s)", err, aws.ToString(role.Role.RoleId))
	}
}

// TestEnsureClusterConflicts: objects with the cluster's names that are not tagged as its (a
// security group, a launch template, an IAM role) are reported, never adopted, and DeleteCluster
// leaves them alone; a failed preflight creates nothing.
func TestEnsureClusterConflicts(t *testing.T) {
	t.Parallel()
	lab := acctest.AWS(t)
	const region = "ap-south-1"
	d := directClients(lab, region)
	n := lab.MakeNetwork(t, region, "10.42.0.0/16", "a", "b")
	lab.SetQuota(region, "L-DB2E81BA", 64)
	spec := baseSpec(t, d, region, n.Subnets["a"], n.Subnets["b"])
	names := awsbackend.ResourceNames(region, spec.Name)
	b := newBackend(t, lab, 5)
	ctx := context.Background()

	// A failed preflight creates nothing.
	sgCreates := lab.Proxy.CountRegion(region, "ec2", "CreateSecurityGroup")
	bad := spec
	bad.MaxNodes = 100
	if _, err := b.EnsureCluster(ctx, bad); len(backend.InputErrors(err)) != 1 {
		t.Fatalf("EnsureCluster over quota: err = %v, want one input error", err)
	}
	if got := lab.Proxy.CountRegion(region, "ec2", "CreateSecurityGroup") - sgCreates; got != 0 {
		t.Errorf("a failed preflight still created %d security groups", got)
	}
	if _, err := b.FindCluster(ctx, region, spec.Name); !backend.IsNotFound(err) || !awsbackend.IsNotFound(err) {
		t.Errorf("FindCluster of a cluster never made: err = %v, want not found", err)
	}

	// A security group of the same name, untagged.
	sg, err := d.ec2.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{
		GroupName: aws.String(names.SecurityGroup), Description: aws.String("someone else's"), VpcId: aws.String(n.VPCID),
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.EnsureCluster(ctx, spec); err == nil || !strings.Contains(err.Error(), "is not tagged inferstack:cluster="+spec.Name) {
		t.Fatalf("EnsureCluster beside a foreign security group: err = %v, want a not-ours error", err)
	}
	if _, err := d.ec2.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: sg.GroupId}); err != nil {
		t.Fatal(err)
	}

	// A launch template of the same name, untagged: reported, and left alone by DeleteCluster.
	lt, err := d.ec2.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{
		LaunchTemplateName: aws.String(names.LaunchTemplate),
		LaunchTemplateData: &ec2types.RequestLaunchTemplateData{ImageId: aws.String(spec.AMI.ID)},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.EnsureCluster(ctx, spec); err == nil || !strings.Contains(err.Error(), "launch template "+names.LaunchTemplate+" exists but is not tagged") {
		t.Fatalf("EnsureCluster beside a foreign launch template: err = %v, want a not-ours error", err)
	}
	if err := b.DeleteCluster(ctx, region, spec.Name); err != nil {
		t.Fatalf("DeleteCluster beside a foreign launch template: %v", err)
	}
	if _, err := d.ec2.DeleteLaunchTemplate(ctx, &ec2.DeleteLaunchTemplateInput{LaunchTemplateId: lt.LaunchTemplate.LaunchTemplateId}); err != nil {
		t.Errorf("the foreign launch template is gone: %v", err)
	}

	// An IAM role of the same name, untagged.
	if _, err := d.iam.CreateRole(ctx, &iam.CreateRoleInput{
		RoleName: aws.String(names.Role), AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[]}`),
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = d.iam.DeleteRole(context.Background(), &iam.DeleteRoleInput{RoleName: aws.String(names.Role)})
	})
	if _, err := b.EnsureCluster(ctx, spec); err == nil || !strings.Contains(err.Error(), "IAM role "+names.Role+" exists but is not tagged") {
		t.Fatalf("EnsureCluster beside a foreign IAM role: err = %v, want a not-ours error", err)
	}
	if err := b.DeleteCluster(ctx, region, spec.Name); err != nil {
		t.Fatalf("DeleteCluster: %v", err)
	}
	if _, err := d.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(names.Role)}); err != nil {
		t.Errorf("DeleteCluster deleted the foreign role: %v", err)
	}
	assertGoneExceptRole(t, d, spec.Name, names)
}

func assertGoneExceptRole(t *testing.T, d direct, name string, n awsbackend.Names) {
	t.Helper()
	ctx := context.Background()
	if _, err := d.iam.GetInstanceProfile(ctx, &iam.GetInstanceProfileInput{InstanceProfileName: aws.String(n.InstanceProfile)}); err == nil {
		t.Errorf("instance profile %s still exists", n.InstanceProfile)
	}
	sgs, err := d.ec2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: []ec2types.Filter{
		{Name: aws.String("tag:" + awsbackend.TagCluster), Values: []string{name}},
	}})
	if err != nil || len(sgs.SecurityGroups) != 0 {
		t.Errorf("security groups tagged %s after delete: %+v, %v", name, sgs, err)
	}
}

// TestDeleteClusterWaitsForSecurityGroup: while the security group is still in use (EC2 answers
// DependencyViolation, as it does until the load balancer's network interfaces are gone),
// DeleteCluster keeps trying until it goes, within its context's deadline.
func TestDeleteClusterWaitsForSecurityGroup(t *testing.T) {
	t.Parallel()
	lab := acctest.AWS(t)
	const region = "eu-west-3"
	d := directClients(lab, region)
	n := lab.MakeNetwork(t, region, "10.43.0.0/16", "b", "c")
	lab.SetQuota(region, "L-DB2E81BA", 64)
	spec := baseSpec(t, d, region, n.Subnets["b"], n.Subnets["c"])
	spec.InstanceType = "g6.xlarge"
	b := newBackend(t, lab, 5)
	ctx := context.Background()
	c, err := b.EnsureCluster(ctx, spec)
	if err != nil {
		t.Fatalf("EnsureCluster: %v", err)
	}

	// moto has no notion of a group's dependants here: answer DependencyViolation 3 times for
	// this region, and forward everything else to moto.
	setInUse, inUseLeft := dependencyViolations(lab, region, 3)

	// A short deadline while the group stays in use fails and says why.
	short, cancel := context.WithTimeout(ctx, 5*time.Second) // the load balancer's deletion first, on a loaded machine
	defer cancel()
	setInUse(1000)
	if err := b.DeleteCluster(short, region, spec.Name); err == nil || !strings.Contains(err.Error(), "still in use") {
		t.Fatalf("DeleteCluster with the group in use past the deadline: err = %v, want a still-in-use error", err)
	}
	setInUse(3)
	if err := b.DeleteCluster(ctx, region, spec.Name); err != nil {
		t.Fatalf("DeleteCluster: %v", err)
	}
	if n := inUseLeft(); n != 0 {
		t.Errorf("%d DependencyViolation answers left unused, want 0", n)
	}
	if g, err := d.ec2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{c.SecurityGroupID}}); err == nil && len(g.SecurityGroups) > 0 {
		t.Errorf("security group %s still exists", c.SecurityGroupID)
	}
	assertGone(t, d, spec.Name, awsbackend.ResourceNames(region, spec.Name))
}
