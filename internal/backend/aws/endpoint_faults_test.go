package aws_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"

	"github.com/inferstack/terraform-provider-inferstack/internal/acctest"
	"github.com/inferstack/terraform-provider-inferstack/internal/backend"
	awsbackend "github.com/inferstack/terraform-provider-inferstack/internal/backend/aws"
)

// TestEnsureEndpointFaults: throttling and server errors injected into the creating calls are
// retried by the SDK's retryer, and the endpoint comes out whole, each object made once.
func TestEnsureEndpointFaults(t *testing.T) {
	t.Parallel()
	l := newEndpointLab(t, "ap-east-1", "10.51.0.0/16", "a", "b")
	s := l.spec("faulty")
	t.Cleanup(func() { _ = l.b.DeleteEndpoint(context.Background(), l.region, l.cluster.Name, s.Name) })
	faults := []acctest.Fault{
		{Region: l.region, Service: "secretsmanager", Operation: "CreateSecret", Kind: acctest.Throttle, Times: 2},
		{Region: l.region, Service: "ec2", Operation: "CreateLaunchTemplate", Kind: acctest.ServerError, Times: 1},
		{Region: l.region, Service: "ec2", Operation: "DescribeLaunchTemplateVersions", Kind: acctest.Throttle, Times: 1},
		{Region: l.region, Service: "elasticloadbalancing", Operation: "CreateTargetGroup", Kind: acctest.Throttle, Times: 1},
		{Region: l.region, Service: "elasticloadbalancing", Operation: "CreateListener", Kind: acctest.ServerError, Times: 2},
		{Region: l.region, Service: "autoscaling", Operation: "CreateAutoScalingGroup", Kind: acctest.Throttle, Times: 1},
		{Region: l.region, Service: "autoscaling", Operation: "CreateAutoScalingGroup", Kind: acctest.ServerError, Times: 1},
		{Region: l.region, Service: "autoscaling", Operation: "DescribeInstanceRefreshes", Kind: acctest.Throttle, Times: 1},
	}
	creates := []string{"secretsmanager:CreateSecret", "ec2:CreateLaunchTemplate", "elasticloadbalancing:CreateTargetGroup",
		"elasticloadbalancing:CreateListener", "autoscaling:CreateAutoScalingGroup"}
	before := map[string]int{}
	for _, op := range creates {
		svc, name, _ := strings.Cut(op, ":")
		before[op] = l.lab.Proxy.CountRegion(l.region, svc, name)
	}
	for _, f := range faults {
		l.lab.Proxy.Inject(f)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	e, err := l.b.EnsureEndpoint(ctx, s)
	if err != nil {
		t.Fatalf("EnsureEndpoint under faults: %v", err)
	}
	if len(e.Missing) > 0 || len(e.InstanceIDs) != 2 || e.HealthyTargets != 2 || e.ListenerARN == "" || e.APIKeySecretARN == "" || e.HFTokenSecretARN == "" {
		t.Fatalf("endpoint %+v: want it whole", e)
	}
	// Each create reached the proxy once per fault and once more; CreateSecret twice over (API key
	// and token).
	want := map[string]int{
		"secretsmanager:CreateSecret": 2 + 2, "ec2:CreateLaunchTemplate": 1 + 1, "elasticloadbalancing:CreateTargetGroup": 1 + 1,
		"elasticloadbalancing:CreateListener": 2 + 1, "autoscaling:CreateAutoScalingGroup": 2 + 1,
	}
	for _, op := range creates {
		svc, name, _ := strings.Cut(op, ":")
		if got := l.lab.Proxy.CountRegion(l.region, svc, name) - before[op]; got != want[op] {
			t.Errorf("%s reached the proxy %d times, want %d", op, got, want[op])
		}
	}
	groups, err := l.d.asg.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{})
	if err != nil || len(groups.AutoScalingGroups) != 1 {
		t.Errorf("groups in moto: %d, %v; want exactly one", len(groups.AutoScalingGroups), err)
	}
	if _, err := l.b.WaitEndpointReady(ctx, l.region, l.cluster.Name, s.Name); err != nil {
		t.Errorf("WaitEndpointReady: %v", err)
	}
}

// TestEndpointPreconditions: a missing cluster, a port the cluster does not serve, a port another
// endpoint listens on and objects with the endpoint's names that are not its are errors that say
// what to do, and the first two make nothing.
func TestEndpointPreconditions(t *testing.T) {
	t.Parallel()
	l := newEndpointLab(t, "il-central-1", "10.52.0.0/16", "a", "b")
	ctx := context.Background()

	none := l.spec("orphan")
	none.Cluster = "tf-acc-test-no-such-cluster"
	secrets := l.lab.Proxy.CountRegion(l.region, "secretsmanager", "CreateSecret")
	_, err := l.b.EnsureEndpoint(ctx, none)
	if ies := backend.InputErrors(err); len(ies) != 1 || ies[0].Attribute != "cluster_id" || !strings.Contains(err.Error(), "create the cluster first") {
		t.Errorf("EnsureEndpoint on a missing cluster: %v, want a cluster_id error saying to create it first", err)
	}
	bad := l.spec("badport")
	bad.Port = 9000
	_, err = l.b.EnsureEndpoint(ctx, bad)
	if ies := backend.InputErrors(err); len(ies) != 1 || ies[0].Attribute != "port" || !strings.Contains(err.Error(), "(8000, 8001)") {
		t.Errorf("EnsureEndpoint on port 9000: %v, want a port error naming 8000 and 8001", err)
	}
	if n := l.lab.Proxy.CountRegion(l.region, "secretsmanager", "CreateSecret") - secrets; n != 0 {
		t.Errorf("failed preconditions still made %d secrets", n)
	}

	first := l.spec("first")
	first.Replicas, first.MaxReplicas, first.HFToken = 1, 1, ""
	t.Cleanup(func() { _ = l.b.DeleteEndpoint(context.Background(), l.region, l.cluster.Name, first.Name) })
	l.ensure(t, first)
	second := first
	second.Name = "second"
	t.Cleanup(func() { _ = l.b.DeleteEndpoint(context.Background(), l.region, l.cluster.Name, second.Name) })
	_, err = l.b.EnsureEndpoint(ctx, second)
	if ies := backend.InputErrors(err); len(ies) != 1 || ies[0].Attribute != "port" || !strings.Contains(err.Error(), "belongs to endpoint first") {
		t.Errorf("a second endpoint on port 8001: %v, want a port error naming the first endpoint", err)
	}

	// More nodes than the cluster's max_nodes (4, which its quota check covered): refused before
	// anything is made, naming the other endpoints' share.
	big := first
	big.Name, big.Port, big.Replicas, big.MaxReplicas = "big", 8000, 2, 4
	_, err = l.b.EnsureEndpoint(ctx, big)
	if ies := backend.InputErrors(err); len(ies) != 1 || ies[0].Attribute != "autoscaling" ||
		!strings.Contains(err.Error(), "up to first 1: 5 in all, more than the 4") {
		t.Errorf("an endpoint over the cluster's max_nodes: %v, want an autoscaling error with the numbers", err)
	}
	if _, err := l.b.FindEndpoint(ctx, l.region, l.cluster.Name, big.Name); !backend.IsNotFound(err) {
		t.Errorf("the refused endpoint exists: %v", err)
	}

	// A group with the endpoint's name, not tagged as its.
	third := first
	third.Name, third.Port = "third", 8000
	n := awsbackend.EndpointResourceNames(l.cluster.Name, third.Name)
	e, err := l.b.FindEndpoint(ctx, l.region, l.cluster.Name, first.Name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.d.asg.CreateAutoScalingGroup(ctx, &autoscaling.CreateAutoScalingGroupInput{
		AutoScalingGroupName: aws.String(n.Group), MinSize: aws.Int32(0), MaxSize: aws.Int32(0),
		VPCZoneIdentifier: aws.String(l.cluster.SubnetIDs[0]),
		LaunchTemplate:    &astypes.LaunchTemplateSpecification{LaunchTemplateId: aws.String(e.LaunchTemplateID)},
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = l.d.asg.DeleteAutoScalingGroup(context.Background(), &autoscaling.DeleteAutoScalingGroupInput{AutoScalingGroupName: aws.String(n.Group), ForceDelete: aws.Bool(true)})
	})
	_, err = l.b.EnsureEndpoint(ctx, third)
	if err == nil || !strings.Contains(err.Error(), "Auto Scaling group "+n.Group+" exists but is not tagged") {
		t.Errorf("EnsureEndpoint beside a foreign group: %v, want a not-ours error", err)
	}
	if _, err := l.b.FindEndpoint(ctx, l.region, l.cluster.Name, third.Name); !backend.IsNotFound(err) {
		t.Errorf("FindEndpoint of a foreign group: %v, want not found", err)
	}
	if err := l.b.DeleteEndpoint(ctx, l.region, l.cluster.Name, third.Name); err != nil {
		t.Errorf("DeleteEndpoint beside a foreign group: %v", err)
	}
	if g := l.group(t, n.Group); aws.ToString(g.AutoScalingGroupName) != n.Group {
		t.Errorf("DeleteEndpoint touched the foreign group")
	}
}

// TestEndpointDisappears: a group deleted behind the provider's back makes FindEndpoint answer
// not found; the next EnsureEndpoint makes it again, and the rest is reused.
func TestEndpointDisappears(t *testing.T) {
	t.Parallel()
	l := newEndpointLab(t, "me-central-1", "10.53.0.0/16", "a", "b")
	ctx := context.Background()
	s := l.spec("gone")
	s.Replicas, s.MaxReplicas = 1, 1
	t.Cleanup(func() { _ = l.b.DeleteEndpoint(context.Background(), l.region, l.cluster.Name, s.Name) })
	e := l.ensure(t, s)
	if _, err := l.d.asg.DeleteAutoScalingGroup(ctx, &autoscaling.DeleteAutoScalingGroupInput{AutoScalingGroupName: aws.String(e.GroupName), ForceDelete: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	if _, err := l.b.FindEndpoint(ctx, l.region, l.cluster.Name, s.Name); !backend.IsNotFound(err) || !awsbackend.IsNotFound(err) {
		t.Fatalf("FindEndpoint after the group went: %v, want not found", err)
	}
	again := l.ensure(t, s)
	if again.TargetGroupARN != e.TargetGroupARN || again.LaunchTemplateID != e.LaunchTemplateID || again.ListenerARN != e.ListenerARN ||
		again.LaunchTemplateVersion != 1 || len(again.InstanceIDs) != 1 || again.InstanceIDs[0] == e.InstanceIDs[0] {
		t.Errorf("EnsureEndpoint after the group went = %+v; want a new group on the same template, target group and listener", again)
	}
	// The target group lists the new node only: the old one was terminated with its group.
	th, err := l.d.elb.DescribeTargetHealth(ctx, &elbv2.DescribeTargetHealthInput{TargetGroupArn: aws.String(again.TargetGroupARN)})
	if err != nil {
		t.Fatal(err)
	}
	var registered []string
	for _, d := range th.TargetHealthDescriptions {
		registered = append(registered, aws.ToString(d.Target.Id))
	}
	if !strings.Contains(fmt.Sprint(registered), again.InstanceIDs[0]) {
		t.Errorf("targets %v, want %s among them", registered, again.InstanceIDs[0])
	}
}

// TestWaitEndpointReady: unhealthy targets keep WaitEndpointReady waiting until its deadline, with
// an error naming them and why; a running instance refresh keeps it waiting too, and a change
// made meanwhile cancels that refresh and starts another for the newest version.
func TestWaitEndpointReady(t *testing.T) {
	t.Parallel()
	l := newEndpointLab(t, "ap-southeast-3", "10.54.0.0/16", "a", "c")
	ctx := context.Background()
	s := l.spec("waiting")
	t.Cleanup(func() { _ = l.b.DeleteEndpoint(context.Background(), l.region, l.cluster.Name, s.Name) })
	e := l.ensure(t, s)

	l.lab.SetTargetHealth(l.region, acctest.TargetHealthOverride{State: "unhealthy", Reason: "Target.FailedHealthChecks", Description: "Health checks failed"})
	short, cancel := context.WithTimeout(ctx, 700*time.Millisecond)
	_, err := l.b.WaitEndpointReady(short, l.region, l.cluster.Name, s.Name)
	cancel()
	if err == nil || !strings.Contains(err.Error(), "0 of 2 targets healthy") ||
		!strings.Contains(err.Error(), e.InstanceIDs[0]+" unhealthy (Target.FailedHealthChecks: Health checks failed)") {
		t.Errorf("WaitEndpointReady with failing health checks: %v, want a timeout naming the unhealthy targets", err)
	}
	l.lab.SetTargetHealth(l.region, acctest.TargetHealthOverride{})

	// A refresh that takes its time.
	l.lab.HoldRefreshes(l.region)
	s.Node.Engine.MaxModelLen = 4096
	if e2 := l.ensure(t, s); e2.Refresh != "InProgress" || e2.LaunchTemplateVersion != 2 {
		t.Fatalf("after an engine change with refreshes held: %+v, want v2 with a refresh in progress", e2)
	}
	// The wait reports the refresh's progress as DescribeInstanceRefreshes gives it.
	var steps []string
	reporting := backend.WithProgress(ctx, func(source, message string) { steps = append(steps, source+": "+message) })
	for _, pct := range []int{0, 50} {
		l.lab.SetRefreshProgress(l.region, pct)
		short, cancel = context.WithTimeout(reporting, 700*time.Millisecond)
		_, err = l.b.WaitEndpointReady(short, l.region, l.cluster.Name, s.Name)
		cancel()
		if err == nil || !strings.Contains(err.Error(), "instance refresh InProgress") {
			t.Errorf("WaitEndpointReady during a refresh: %v, want a timeout naming the refresh", err)
		}
	}
	wantSteps := []string{
		e.GroupName + ": 2 of 2 nodes healthy behind the load balancer; instance refresh inprogress, 0% complete, 2 instances to update",
		e.GroupName + ": 2 of 2 nodes healthy behind the load balancer; instance refresh inprogress, 50% complete, 1 instance to update",
	}
	if !slices.Equal(steps, wantSteps) {
		t.Errorf("progress during a refresh:\n got %q\nwant %q", steps, wantSteps)
	}
	// A re-apply of the same spec leaves the running refresh alone.
	l.ensure(t, s)
	if rs := l.lab.InstanceRefreshes(l.region, e.GroupName); len(rs) != 1 {
		t.Errorf("re-apply during a refresh: %d refreshes, want the one", len(rs))
	}
	// A change while it runs: cancelled, and a new one for version 3.
	s.Node.Engine.MaxModelLen = 2048
	l.ensure(t, s)
	rs := l.lab.InstanceRefreshes(l.region, e.GroupName)
	if len(rs) != 2 || rs[0].Status != "Cancelled" || rs[1].Status != "InProgress" {
		t.Fatalf("refreshes after a change during one: %+v; want the first cancelled, a second in progress", rs)
	}
	if err := l.lab.ReleaseRefreshes(l.region); err != nil {
		t.Fatal(err)
	}
	r, err := l.b.WaitEndpointReady(ctx, l.region, l.cluster.Name, s.Name)
	if err != nil || r.LaunchTemplateVersion != 3 || r.Refresh != "Successful" || r.HealthyTargets != 2 {
		t.Fatalf("WaitEndpointReady after the refresh: %+v, %v", r, err)
	}
	for _, in := range l.instances(t, r.InstanceIDs) {
		if v := tagMap(in.Tags)["aws:ec2launchtemplate:version"]; v != "3" || in.State.Name != ec2types.InstanceStateNameRunning {
			t.Errorf("instance %s: %s, from version %s; want running, from 3", aws.ToString(in.InstanceId), in.State.Name, v)
		}
	}
}
