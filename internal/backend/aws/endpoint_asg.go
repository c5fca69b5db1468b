package aws

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// The endpoint's nodes: an Auto Scaling group over the cluster's subnets that launches the
// endpoint's launch template at an explicit version (so a new version is a deliberate move, made
// with an instance refresh), through a mixed instances policy that buys nodes as the cluster says.
// A node's health is the load balancer's (vLLM answers /health once the model is loaded), after
// a grace period for boot, download and load. The group's tags propagate to its instances.

// groupSpec is what the endpoint's group should be.
type groupSpec struct {
	name                  string
	templateID            string
	version               int64
	min, max, desired     int32
	subnets               []string
	capacity              Capacity
	grace                 int32
	targetGroupARN        string
	tags                  map[string]string
	cluster, endpointName string
}

func (w groupSpec) policy() *astypes.MixedInstancesPolicy {
	return &astypes.MixedInstancesPolicy{
		LaunchTemplate: &astypes.LaunchTemplate{LaunchTemplateSpecification: &astypes.LaunchTemplateSpecification{
			LaunchTemplateId: aws.String(w.templateID), Version: aws.String(strconv.FormatInt(w.version, 10)),
		}},
		InstancesDistribution: distribution(w.capacity),
	}
}

// reservation is the group's Capacity Reservation specification: the cluster's reservation, used
// first by the on-demand nodes (spot nodes cannot use one), else on-demand capacity. nil without
// a reservation. It sits on the group, not the launch template: a template that targets a
// reservation would send the spot share of a mixed group there too.
func (w groupSpec) reservation() *astypes.CapacityReservationSpecification {
	if w.capacity.CapacityReservationID == "" {
		return nil
	}
	return &astypes.CapacityReservationSpecification{
		CapacityReservationPreference: astypes.CapacityReservationPreferenceCapacityReservationsFirst,
		CapacityReservationTarget:     &astypes.CapacityReservationTarget{CapacityReservationIds: []string{w.capacity.CapacityReservationID}},
	}
}

// reservationMatches reports whether g targets w's reservation (or w wants none).
func (w groupSpec) reservationMatches(g astypes.AutoScalingGroup) bool {
	want := w.reservation()
	if want == nil {
		return true
	}
	have := g.CapacityReservationSpecification
	return have != nil && have.CapacityReservationPreference == want.CapacityReservationPreference &&
		have.CapacityReservationTarget != nil && slices.Equal(have.CapacityReservationTarget.CapacityReservationIds, want.CapacityReservationTarget.CapacityReservationIds)
}

// matches reports whether g already is what w says (tags and target groups aside).
func (w groupSpec) matches(g astypes.AutoScalingGroup) bool {
	id, version := launchSpec(g)
	d := &astypes.InstancesDistribution{}
	if g.MixedInstancesPolicy != nil && g.MixedInstancesPolicy.InstancesDistribution != nil {
		d = g.MixedInstancesPolicy.InstancesDistribution
	}
	want := distribution(w.capacity)
	have := strings.Split(aws.ToString(g.VPCZoneIdentifier), ",")
	slices.Sort(have)
	return id == w.templateID && version == strconv.FormatInt(w.version, 10) &&
		aws.ToInt32(d.OnDemandBaseCapacity) == *want.OnDemandBaseCapacity &&
		aws.ToInt32(d.OnDemandPercentageAboveBaseCapacity) == *want.OnDemandPercentageAboveBaseCapacity &&
		aws.ToString(d.SpotAllocationStrategy) == *want.SpotAllocationStrategy &&
		aws.ToInt32(g.MinSize) == w.min && aws.ToInt32(g.MaxSize) == w.max && aws.ToInt32(g.DesiredCapacity) == w.desired &&
		slices.Equal(have, slices.Sorted(slices.Values(w.subnets))) &&
		aws.ToString(g.HealthCheckType) == "ELB" && aws.ToInt32(g.HealthCheckGracePeriod) == w.grace && w.reservationMatches(g)
}

// launchSpec is the launch template id and version the group launches.
func launchSpec(g astypes.AutoScalingGroup) (id, version string) {
	spec := g.LaunchTemplate
	if p := g.MixedInstancesPolicy; p != nil && p.LaunchTemplate != nil && p.LaunchTemplate.LaunchTemplateSpecification != nil {
		spec = p.LaunchTemplate.LaunchTemplateSpecification
	}
	if spec == nil {
		return "", ""
	}
	return aws.ToString(spec.LaunchTemplateId), aws.ToString(spec.Version)
}

func groupTagMap(tags []astypes.TagDescription) map[string]string {
	m := make(map[string]string, len(tags))
	for _, t := range tags {
		m[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return m
}

func groupTags(group string, m map[string]string) []astypes.Tag {
	out := make([]astypes.Tag, 0, len(m))
	for _, k := range sortedKeys(m) {
		out = append(out, astypes.Tag{
			Key: aws.String(k), Value: aws.String(m[k]), PropagateAtLaunch: aws.Bool(true),
			ResourceId: aws.String(group), ResourceType: aws.String("auto-scaling-group"),
		})
	}
	return out
}

// findGroup is the group called name, whoever's it is (nil when there is none).
func findGroup(ctx context.Context, client *autoscaling.Client, name string) (*astypes.AutoScalingGroup, error) {
	out, err := client.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{name}})
	if err != nil {
		return nil, fmt.Errorf("finding Auto Scaling group %s: %w", name, err)
	}
	for i := range out.AutoScalingGroups {
		if aws.ToString(out.AutoScalingGroups[i].AutoScalingGroupName) == name {
			return &out.AutoScalingGroups[i], nil
		}
	}
	return nil, nil
}

func groupNotFound(err error) bool {
	return hasCode(err, "ValidationError") && strings.Contains(apiMessage(err), "not found")
}

// ensureGroup finds or creates the endpoint's group and converges it to w. It returns the group
// as it was before (nil when it was made now), which tells whether its nodes need replacing.
func ensureGroup(ctx context.Context, client *autoscaling.Client, w groupSpec) (*astypes.AutoScalingGroup, error) {
	g, err := findGroup(ctx, client, w.name)
	if err != nil {
		return nil, err
	}
	if g != nil && aws.ToString(g.Status) != "" { // "Delete in progress": let it go, then make it anew
		if err := waitGroupGone(ctx, client, w.name); err != nil {
			return nil, err
		}
		g = nil
	}
	if g == nil {
		made, err := createGroup(ctx, client, w)
		if err != nil || made {
			return nil, err
		}
		if g, err = findGroup(ctx, client, w.name); err != nil || g == nil {
			return nil, fmt.Errorf("creating Auto Scaling group %s: the name is taken, but it cannot be read (%v)", w.name, err)
		}
	}
	have := groupTagMap(g.Tags)
	if !owned(have, w.cluster, w.endpointName) {
		return nil, errNotEndpoints("Auto Scaling group", w.name, w.cluster, w.endpointName)
	}
	if !w.matches(*g) {
		// The whole mixed instances policy goes every time: an update without one would drop it.
		if _, err := client.UpdateAutoScalingGroup(ctx, &autoscaling.UpdateAutoScalingGroupInput{
			AutoScalingGroupName: aws.String(w.name), MixedInstancesPolicy: w.policy(),
			MinSize: aws.Int32(w.min), MaxSize: aws.Int32(w.max), DesiredCapacity: aws.Int32(w.desired),
			VPCZoneIdentifier: aws.String(strings.Join(w.subnets, ",")),
			HealthCheckType:   aws.String("ELB"), HealthCheckGracePeriod: aws.Int32(w.grace),
			CapacityReservationSpecification: w.reservation(),
		}); err != nil {
			return nil, fmt.Errorf("updating Auto Scaling group %s: %w", w.name, err)
		}
	}
	if !slices.Contains(g.TargetGroupARNs, w.targetGroupARN) {
		if _, err := client.AttachLoadBalancerTargetGroups(ctx, &autoscaling.AttachLoadBalancerTargetGroupsInput{
			AutoScalingGroupName: aws.String(w.name), TargetGroupARNs: []string{w.targetGroupARN},
		}); err != nil {
			return nil, fmt.Errorf("attaching target group %s to Auto Scaling group %s: %w", w.targetGroupARN, w.name, err)
		}
	}
	return g, reconcileGroupTags(ctx, client, w.name, g.Tags, w.tags)
}

// createGroup makes the group; false (and no error) when one of that name was made meanwhile.
func createGroup(ctx context.Context, client *autoscaling.Client, w groupSpec) (bool, error) {
	_, err := client.CreateAutoScalingGroup(ctx, &autoscaling.CreateAutoScalingGroupInput{
		AutoScalingGroupName: aws.String(w.name), MixedInstancesPolicy: w.policy(),
		MinSize: aws.Int32(w.min), MaxSize: aws.Int32(w.max), DesiredCapacity: aws.Int32(w.desired),
		VPCZoneIdentifier: aws.String(strings.Join(w.subnets, ",")),
		HealthCheckType:   aws.String("ELB"), HealthCheckGracePeriod: aws.Int32(w.grace),
		TargetGroupARNs:                  []string{w.targetGroupARN},
		Tags:                             groupTags(w.name, w.tags),
		CapacityReservationSpecification: w.reservation(),
	})
	switch {
	case err == nil:
		return true, nil
	case hasCode(err, "AlreadyExists"):
		return false, nil
	}
	return false, fmt.Errorf("creating Auto Scaling group %s: %w", w.name, err)
}

// reconcileGroupTags sets the wanted tags (propagated at launch) and removes the others.
func reconcileGroupTags(ctx context.Context, client *autoscaling.Client, group string, have []astypes.TagDescription, want map[string]string) error {
	set, remove := tagDiff(groupTagMap(have), want)
	for _, t := range have {
		if v, ok := want[aws.ToString(t.Key)]; ok && !aws.ToBool(t.PropagateAtLaunch) {
			set[aws.ToString(t.Key)] = v
		}
	}
	if len(remove) > 0 {
		tags := make([]astypes.Tag, 0, len(remove))
		for _, k := range remove {
			tags = append(tags, astypes.Tag{Key: aws.String(k), ResourceId: aws.String(group), ResourceType: aws.String("auto-scaling-group")})
		}
		if _, err := client.DeleteTags(ctx, &autoscaling.DeleteTagsInput{Tags: tags}); err != nil {
			return fmt.Errorf("untagging Auto Scaling group %s: %w", group, err)
		}
	}
	if len(set) > 0 {
		if _, err := client.CreateOrUpdateTags(ctx, &autoscaling.CreateOrUpdateTagsInput{Tags: groupTags(group, set)}); err != nil {
			return fmt.Errorf("tagging Auto Scaling group %s: %w", group, err)
		}
	}
	return nil
}

func waitGroupGone(ctx context.Context, client *autoscaling.Client, name string) error {
	return waitFor(ctx, "Auto Scaling group "+name+" to be deleted", func() (bool, error) {
		g, err := findGroup(ctx, client, name)
		return err == nil && g == nil, err
	})
}

// liveInstances lists the endpoint's instances that are not terminated.
func liveInstances(ctx context.Context, client *ec2.Client, cluster, endpoint string) ([]string, error) {
	var ids []string
	p := ec2.NewDescribeInstancesPaginator(client, &ec2.DescribeInstancesInput{Filters: []ec2types.Filter{
		{Name: aws.String("tag:" + TagCluster), Values: []string{cluster}},
		{Name: aws.String("tag:" + TagEndpoint), Values: []string{endpoint}},
		{Name: aws.String("instance-state-name"), Values: []string{"pending", "running", "shutting-down", "stopping", "stopped"}},
	}})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("listing the instances of endpoint %s: %w", endpoint, err)
		}
		for _, r := range page.Reservations {
			for _, in := range r.Instances {
				ids = append(ids, aws.ToString(in.InstanceId))
			}
		}
	}
	return ids, nil
}

// deleteGroup deletes the endpoint's group with its instances (when it is the endpoint's) and
// waits until the group is gone and none of the endpoint's instances is left but terminated.
func deleteGroup(ctx context.Context, asc *autoscaling.Client, ec2c *ec2.Client, name, cluster, endpoint string) error {
	g, err := findGroup(ctx, asc, name)
	if err != nil {
		return err
	}
	if g != nil && owned(groupTagMap(g.Tags), cluster, endpoint) {
		if _, err := asc.DeleteAutoScalingGroup(ctx, &autoscaling.DeleteAutoScalingGroupInput{
			AutoScalingGroupName: aws.String(name), ForceDelete: aws.Bool(true),
		}); err != nil && !groupNotFound(err) && !hasCode(err, "ScalingActivityInProgress") {
			return fmt.Errorf("deleting Auto Scaling group %s: %w", name, err)
		}
	}
	var left []string
	err = waitFor(ctx, "Auto Scaling group "+name+" and its instances to be deleted", func() (bool, error) {
		if g, err := findGroup(ctx, asc, name); err != nil || (g != nil && owned(groupTagMap(g.Tags), cluster, endpoint)) {
			return false, err
		}
		left, err = liveInstances(ctx, ec2c, cluster, endpoint)
		return err == nil && len(left) == 0, err
	})
	if err != nil && len(left) > 0 {
		return fmt.Errorf("%w (instances left: %s)", err, strings.Join(left, ", "))
	}
	return err
}

// latestRefresh is the group's most recent instance refresh (nil when there has been none).
func latestRefresh(ctx context.Context, client *autoscaling.Client, group string) (*astypes.InstanceRefresh, error) {
	out, err := client.DescribeInstanceRefreshes(ctx, &autoscaling.DescribeInstanceRefreshesInput{
		AutoScalingGroupName: aws.String(group), MaxRecords: aws.Int32(1),
	})
	if err != nil {
		return nil, fmt.Errorf("reading the instance refreshes of Auto Scaling group %s: %w", group, err)
	}
	if len(out.InstanceRefreshes) == 0 {
		return nil, nil
	}
	return &out.InstanceRefreshes[0], nil
}

// refreshActive reports whether a refresh in this status is still replacing (or rolling back).
func refreshActive(s astypes.InstanceRefreshStatus) bool {
	switch s {
	case astypes.InstanceRefreshStatusPending, astypes.InstanceRefreshStatusInProgress, astypes.InstanceRefreshStatusCancelling,
		astypes.InstanceRefreshStatusRollbackInProgress, astypes.InstanceRefreshStatusBaking:
		return true
	}
	return false
}

// startRefresh starts a rolling instance refresh of the group, skipping nodes already on its
// launch template version. MaxHealthyPercentage lets Auto Scaling launch a replacement before it
// terminates the old node (up to min+100, AWS's widest spread), so a one-node endpoint is not
// down during a roll. A refresh already running is left to finish, unless restart says it
// rolls to a version the group has since left: then it is cancelled and a new one started.
func startRefresh(ctx context.Context, client *autoscaling.Client, group string, s EndpointSpec, restart bool) error {
	in := &autoscaling.StartInstanceRefreshInput{
		AutoScalingGroupName: aws.String(group),
		Strategy:             astypes.RefreshStrategyRolling,
		Preferences: &astypes.RefreshPreferences{
			MinHealthyPercentage: aws.Int32(int32(s.MinHealthyPercentage)),
			MaxHealthyPercentage: aws.Int32(int32(min(200, max(100, s.MinHealthyPercentage+100)))),
			InstanceWarmup:       aws.Int32(int32(s.HealthCheckGraceSeconds)),
			SkipMatching:         aws.Bool(true),
		},
	}
	_, err := client.StartInstanceRefresh(ctx, in)
	if err == nil || !hasCode(err, "InstanceRefreshInProgress") {
		return wrapRefresh(err, group)
	}
	if !restart {
		return nil
	}
	if _, err := client.CancelInstanceRefresh(ctx, &autoscaling.CancelInstanceRefreshInput{AutoScalingGroupName: aws.String(group)}); err != nil &&
		!hasCode(err, "ActiveInstanceRefreshNotFound") {
		return fmt.Errorf("cancelling the instance refresh of Auto Scaling group %s to start a new one: %w", group, err)
	}
	if err := waitFor(ctx, "the cancelled instance refresh of Auto Scaling group "+group, func() (bool, error) {
		r, err := latestRefresh(ctx, client, group)
		return err == nil && (r == nil || !refreshActive(r.Status)), err
	}); err != nil {
		return err
	}
	_, err = client.StartInstanceRefresh(ctx, in)
	return wrapRefresh(err, group)
}

func wrapRefresh(err error, group string) error {
	if err != nil {
		return fmt.Errorf("starting an instance refresh of Auto Scaling group %s: %w", group, err)
	}
	return nil
}
