package aws_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/inferstack/terraform-provider-inferstack/internal/acctest"
	awsbackend "github.com/inferstack/terraform-provider-inferstack/internal/backend/aws"
)

// TestEnsureEndpointAdoptsAfterAnyFailedChange: whichever change of EnsureEndpoint fails, the
// next EnsureEndpoint finishes the endpoint with one of each of its objects.
func TestEnsureEndpointAdoptsAfterAnyFailedChange(t *testing.T) {
	lab := acctest.AWS(t)
	d := directClients(lab, adoptRegion)
	b := newBackend(t, lab, 5)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	var spec awsbackend.ClusterSpec
	var ep awsbackend.EndpointSpec
	failEachMutation(t, lab,
		func(t *testing.T) {
			spec = freshCluster(t, lab)
			if _, err := b.EnsureCluster(ctx, spec); err != nil {
				t.Fatalf("EnsureCluster: %v", err)
			}
			l := &endpointLab{lab: lab, d: d, b: b, region: adoptRegion, cluster: &awsbackend.Cluster{Name: spec.Name}}
			ep = l.spec("adopt")
		},
		func(b *awsbackend.Backend) error {
			e, err := b.EnsureEndpoint(ctx, ep)
			if err == nil && len(e.Missing) > 0 {
				err = fmt.Errorf("missing %v", e.Missing)
			}
			return err
		},
		func(t *testing.T) {
			assertOneCluster(t, d, spec)
			assertOneEndpoint(t, d, spec, ep)
		})
}

// assertOneEndpoint checks that moto holds exactly one of each of the endpoint's objects: its
// secrets, launch template, target group, listener and group.
func assertOneEndpoint(t *testing.T, d direct, spec awsbackend.ClusterSpec, ep awsbackend.EndpointSpec) {
	t.Helper()
	ctx := context.Background()
	n := awsbackend.EndpointResourceNames(spec.Name, ep.Name)

	secrets, err := d.sm.ListSecrets(ctx, &secretsmanager.ListSecretsInput{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range secrets.SecretList {
		names = append(names, aws.ToString(s.Name))
	}
	if len(names) != 2 {
		t.Errorf("secrets %v, want two (the API key and the HF token)", names)
	}

	lts, err := d.ec2.DescribeLaunchTemplates(ctx, &ec2.DescribeLaunchTemplatesInput{})
	if err != nil || len(lts.LaunchTemplates) != 2 {
		t.Errorf("launch templates: %d, %v; want two (the cluster's base and the endpoint's)", len(lts.LaunchTemplates), err)
	}
	tgs, err := d.elb.DescribeTargetGroups(ctx, &elbv2.DescribeTargetGroupsInput{})
	if err != nil || len(tgs.TargetGroups) != 1 || aws.ToString(tgs.TargetGroups[0].TargetGroupName) != n.TargetGroup {
		t.Errorf("target groups: %d, %v; want %s only", len(tgs.TargetGroups), err, n.TargetGroup)
	}
	lbs, err := d.elb.DescribeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{})
	if err != nil || len(lbs.LoadBalancers) != 1 {
		t.Fatalf("load balancers: %v", err)
	}
	ls, err := d.elb.DescribeListeners(ctx, &elbv2.DescribeListenersInput{LoadBalancerArn: lbs.LoadBalancers[0].LoadBalancerArn})
	if err != nil || len(ls.Listeners) != 1 || aws.ToInt32(ls.Listeners[0].Port) != int32(ep.Port) {
		t.Errorf("listeners: %+v, %v; want one on %d", ls, err, ep.Port)
	}
	groups, err := d.asg.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{})
	if err != nil || len(groups.AutoScalingGroups) != 1 || aws.ToString(groups.AutoScalingGroups[0].AutoScalingGroupName) != n.Group {
		t.Errorf("Auto Scaling groups: %d, %v; want %s only", len(groups.AutoScalingGroups), err, n.Group)
	} else if g := groups.AutoScalingGroups[0]; len(g.TargetGroupARNs) != 1 || !strings.Contains(g.TargetGroupARNs[0], n.TargetGroup) {
		t.Errorf("group %s sends to %v, want the target group %s", n.Group, g.TargetGroupARNs, n.TargetGroup)
	}
}
