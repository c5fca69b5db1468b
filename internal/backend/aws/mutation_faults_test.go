package aws_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/inferstack/terraform-provider-inferstack/internal/acctest"
	awsbackend "github.com/inferstack/terraform-provider-inferstack/internal/backend/aws"
)

// An apply can stop at any change: the call fails (a 5xx; nothing is made) or its answer is lost
// (a dropped connection; the change is made, the caller cannot know). These tests fail each
// mutating call of a clean EnsureCluster / EnsureEndpoint in turn, then run it again without the
// fault: it must succeed and leave moto holding exactly one of every object.
//
// Not parallel: each case starts from a reset moto, and the proxy's mutation counter sees every
// call of the lab (IAM is global). Go runs these before any parallel test of the package starts.

const adoptRegion = "us-east-1"

var adoptAMI string // set by the first freshCluster

// adoptCase is one run: fail mutating call n with kind.
type adoptCase struct {
	n    int
	kind acctest.FaultKind
}

func (c adoptCase) String() string { return fmt.Sprintf("%s-%d", c.kind, c.n) }

// freshCluster resets moto and returns a small cluster's spec in a new network there.
func freshCluster(t *testing.T, lab *acctest.AWSLab) awsbackend.ClusterSpec {
	t.Helper()
	if err := lab.Moto.Reset(); err != nil {
		t.Fatal(err)
	}
	n := lab.MakeNetwork(t, adoptRegion, "10.70.0.0/16", "a", "b")
	lab.SetGPUQuotas(adoptRegion, 1024)
	if adoptAMI == "" { // moto's own images keep their ids through a reset
		adoptAMI = lab.AMI(t, adoptRegion)
	}
	return awsbackend.ClusterSpec{
		Name: "tf-acc-test-adopt", Region: adoptRegion, SubnetIDs: n.SubnetIDs("a", "b"), InstanceType: "g5.12xlarge",
		AMI: awsbackend.AMI{ID: adoptAMI}, RootVolumeGiB: 200, Capacity: awsbackend.Capacity{OnDemandBase: 1, SpotPercentage: 50},
		MaxNodes: 4, ServingPorts: []int64{8000, 8001}, Tags: map[string]string{"team": "ml"},
	}
}

// failEachMutation runs setup, then ensure once cleanly to count its mutating calls, then for
// each of them: setup, ensure with that call failed (it must fail), ensure again (it must
// succeed), and check.
func failEachMutation(t *testing.T, lab *acctest.AWSLab, setup func(t *testing.T), ensure func(b *awsbackend.Backend) error, check func(t *testing.T)) {
	t.Helper()
	b := newBackend(t, lab, 5)
	once := newBackend(t, lab, 1) // the fault fails every attempt; one spares the backoff
	setup(t)
	lab.Proxy.ResetMutations()
	if err := ensure(b); err != nil {
		t.Fatalf("clean run: %v", err)
	}
	clean := lab.Proxy.Mutations()
	total := lab.Proxy.MutationCount()
	t.Logf("a clean run makes %d mutating calls: %v", total, clean)
	check(t)
	if total < 5 {
		t.Fatalf("a clean run made only %d mutating calls (%v): the counter misses calls", total, clean)
	}

	// A run whose call n fails leaves what calls 1..n-1 made, exactly as a run whose call n-1
	// made its change and lost the answer: a lost response at every n, and a failed first call
	// (nothing made), cover every state an interrupted run can leave, each once.
	cases := []adoptCase{{1, acctest.ServerError}}
	for n := 1; n <= total; n++ {
		cases = append(cases, adoptCase{n, acctest.LostResponse})
	}
	hits := map[string]bool{}
	for _, c := range cases {
		t.Run(c.String(), func(t *testing.T) {
			setup(t)
			lab.Proxy.FailMutation(acctest.MutationFault{N: c.n, Kind: c.kind})
			err := ensure(once)
			hit := lab.Proxy.ClearMutationFault()
			if hit == "" {
				t.Fatalf("mutating call %d never came (a clean run makes %d)", c.n, total)
			}
			hits[hit] = true
			if err == nil {
				t.Fatalf("the run with %s failed (%s) succeeded: the failure was swallowed", hit, c.kind)
			}
			if err := ensure(b); err != nil {
				t.Fatalf("the run after %s failed (%s): %v", hit, c.kind, err)
			}
			check(t)
		})
	}
	for op := range clean {
		if !hits[op] {
			t.Errorf("%s was never failed", op)
		}
	}
}

// TestEnsureClusterAdoptsAfterAnyFailedChange: whichever change of EnsureCluster fails, the next
// EnsureCluster finishes the cluster with one of each of its objects.
func TestEnsureClusterAdoptsAfterAnyFailedChange(t *testing.T) {
	lab := acctest.AWS(t)
	d := directClients(lab, adoptRegion)
	var spec awsbackend.ClusterSpec
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	failEachMutation(t, lab,
		func(t *testing.T) { spec = freshCluster(t, lab) },
		func(b *awsbackend.Backend) error {
			c, err := b.EnsureCluster(ctx, spec)
			if err == nil && len(c.Missing) > 0 {
				err = fmt.Errorf("missing %v", c.Missing)
			}
			return err
		},
		func(t *testing.T) { assertOneCluster(t, d, spec) })
}

// assertOneCluster checks that moto holds exactly one of each of the cluster's objects (and no
// other security group, role, profile, load balancer or launch template), each as it should be.
func assertOneCluster(t *testing.T, d direct, spec awsbackend.ClusterSpec) {
	t.Helper()
	ctx := context.Background()
	n := awsbackend.ResourceNames(adoptRegion, spec.Name)

	sgs, err := d.ec2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{})
	if err != nil {
		t.Fatal(err)
	}
	groups := map[string]ec2types.SecurityGroup{}
	var names []string
	for _, g := range sgs.SecurityGroups {
		if name := aws.ToString(g.GroupName); name != "default" {
			names = append(names, name)
			groups[name] = g
		}
	}
	slices.Sort(names)
	if want := []string{n.SecurityGroup, n.LoadBalancerSecurityGroup}; fmt.Sprint(names) != fmt.Sprint(want) {
		t.Fatalf("security groups %v, want %v", names, want)
	}
	lbGroup := aws.ToString(groups[n.LoadBalancerSecurityGroup].GroupId)
	if got := ingressRules(groups[n.LoadBalancerSecurityGroup], lbGroup); fmt.Sprint(got) != "[tcp 8000-8001 10.70.0.0/16]" {
		t.Errorf("the load balancer's group admits %v, want [tcp 8000-8001 10.70.0.0/16]", got)
	}
	if got := ingressRules(groups[n.SecurityGroup], lbGroup); fmt.Sprint(got) != "[tcp 8000-8001 lb]" {
		t.Errorf("the nodes' group admits %v, want [tcp 8000-8001 lb]", got)
	}

	roles, err := d.iam.ListRoles(ctx, &iam.ListRolesInput{PathPrefix: aws.String(n.IAMPath)})
	if err != nil || len(roles.Roles) != 1 || aws.ToString(roles.Roles[0].RoleName) != n.Role {
		t.Errorf("roles under %s: %d, %v; want %s only", n.IAMPath, len(roles.Roles), err, n.Role)
	}
	attached, err := d.iam.ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String(n.Role)})
	if err != nil || len(attached.AttachedPolicies) != 1 {
		t.Errorf("policies attached to %s: %+v, %v; want one", n.Role, attached, err)
	}
	inline, err := d.iam.ListRolePolicies(ctx, &iam.ListRolePoliciesInput{RoleName: aws.String(n.Role)})
	if err != nil || len(inline.PolicyNames) != 1 {
		t.Errorf("inline policies of %s: %+v, %v; want one", n.Role, inline, err)
	}
	profiles, err := d.iam.ListInstanceProfiles(ctx, &iam.ListInstanceProfilesInput{PathPrefix: aws.String(n.IAMPath)})
	if err != nil || len(profiles.InstanceProfiles) != 1 || len(profiles.InstanceProfiles[0].Roles) != 1 {
		t.Errorf("instance profiles under %s: %+v, %v; want one, holding the role", n.IAMPath, profiles, err)
	}

	lbs, err := d.elb.DescribeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{})
	if err != nil || len(lbs.LoadBalancers) != 1 {
		t.Fatalf("load balancers: %d, %v; want one", len(lbs.LoadBalancers), err)
	}
	lb := lbs.LoadBalancers[0]
	if fmt.Sprint(lb.SecurityGroups) != "["+lbGroup+"]" {
		t.Errorf("the load balancer's groups %v, want [%s]", lb.SecurityGroups, lbGroup)
	}
	attrs, err := d.elb.DescribeLoadBalancerAttributes(ctx, &elbv2.DescribeLoadBalancerAttributesInput{LoadBalancerArn: lb.LoadBalancerArn})
	if err != nil {
		t.Fatal(err)
	}
	crossZone := false
	for _, a := range attrs.Attributes {
		crossZone = crossZone || (aws.ToString(a.Key) == "load_balancing.cross_zone.enabled" && aws.ToString(a.Value) == "true")
	}
	if !crossZone {
		t.Error("cross-zone load balancing is off")
	}

	lts, err := d.ec2.DescribeLaunchTemplates(ctx, &ec2.DescribeLaunchTemplatesInput{})
	if err != nil {
		t.Fatal(err)
	}
	var cluster int
	for _, lt := range lts.LaunchTemplates {
		if aws.ToString(lt.LaunchTemplateName) == n.LaunchTemplate {
			cluster++
		}
	}
	if cluster != 1 {
		t.Errorf("%d launch templates named %s, want 1", cluster, n.LaunchTemplate)
	}
}
