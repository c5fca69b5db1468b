package acctest

import (
	"context"
	"encoding/base64"
	"errors"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"
)

// refreshFixture is a group of two instances on version 2 of a launch template (made with
// CreateLaunchTemplateVersion, which moto mishandles without the lab's patch), whose instances
// were launched from version 1.
type refreshFixture struct {
	ec2   *ec2.Client
	asg   *autoscaling.Client
	group string
	first []string // the instances launched from version 1
}

func newRefreshFixture(t *testing.T, lab *AWSLab, region string) refreshFixture {
	t.Helper()
	ctx := context.Background()
	cfg := aws.Config{
		Region: region, BaseEndpoint: aws.String(lab.URL()), RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider("testing", "testing", ""),
	}
	f := refreshFixture{ec2: ec2.NewFromConfig(cfg), asg: autoscaling.NewFromConfig(cfg), group: TestName("refresh")}
	n := lab.MakeNetwork(t, region, "10.60.0.0/16", "a")
	lt, err := f.ec2.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{
		LaunchTemplateName: aws.String(f.group),
		LaunchTemplateData: &ec2types.RequestLaunchTemplateData{
			ImageId: aws.String(lab.AMI(t, region)), InstanceType: "g5.xlarge",
			UserData: aws.String(base64.StdEncoding.EncodeToString([]byte("#cloud-config\n# v1\n"))),
		},
		TagSpecifications: []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeLaunchTemplate, Tags: []ec2types.Tag{{Key: aws.String("a"), Value: aws.String("1")}}}},
	})
	if err != nil {
		t.Fatalf("CreateLaunchTemplate: %v", err)
	}
	id := lt.LaunchTemplate.LaunchTemplateId
	if _, err := f.asg.CreateAutoScalingGroup(ctx, &autoscaling.CreateAutoScalingGroupInput{
		AutoScalingGroupName: aws.String(f.group), MinSize: aws.Int32(2), MaxSize: aws.Int32(2), DesiredCapacity: aws.Int32(2),
		VPCZoneIdentifier: aws.String(n.Subnets["a"]),
		LaunchTemplate:    &astypes.LaunchTemplateSpecification{LaunchTemplateId: id, Version: aws.String("1")},
	}); err != nil {
		t.Fatalf("CreateAutoScalingGroup: %v", err)
	}
	for _, in := range f.instances(t) {
		f.first = append(f.first, aws.ToString(in.InstanceId))
	}
	if _, err := f.ec2.CreateLaunchTemplateVersion(ctx, &ec2.CreateLaunchTemplateVersionInput{
		LaunchTemplateId: id,
		LaunchTemplateData: &ec2types.RequestLaunchTemplateData{
			ImageId: aws.String(lab.AMI(t, region)), InstanceType: "g5.xlarge",
			UserData: aws.String(base64.StdEncoding.EncodeToString([]byte("#cloud-config\n# v2\n"))),
		},
	}); err != nil {
		t.Fatalf("CreateLaunchTemplateVersion: %v", err)
	}
	if _, err := f.ec2.ModifyLaunchTemplate(ctx, &ec2.ModifyLaunchTemplateInput{LaunchTemplateId: id, DefaultVersion: aws.String("2")}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.asg.UpdateAutoScalingGroup(ctx, &autoscaling.UpdateAutoScalingGroupInput{
		AutoScalingGroupName: aws.String(f.group),
		LaunchTemplate:       &astypes.LaunchTemplateSpecification{LaunchTemplateId: id, Version: aws.String("2")},
	}); err != nil {
		t.Fatalf("UpdateAutoScalingGroup: %v", err)
	}
	// The lab's patch: tags set later show in DescribeLaunchTemplates.
	if _, err := f.ec2.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{aws.ToString(id)}, Tags: []ec2types.Tag{{Key: aws.String("b"), Value: aws.String("2")}}}); err != nil {
		t.Fatal(err)
	}
	lts, err := f.ec2.DescribeLaunchTemplates(ctx, &ec2.DescribeLaunchTemplatesInput{LaunchTemplateIds: []string{aws.ToString(id)}})
	if err != nil || len(lts.LaunchTemplates) != 1 || len(lts.LaunchTemplates[0].Tags) != 2 {
		t.Errorf("DescribeLaunchTemplates after CreateTags: %+v, %v; want both tags", lts, err)
	}
	return f
}

func (f refreshFixture) instances(t *testing.T) []ec2types.Instance {
	t.Helper()
	out, err := f.ec2.DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{Filters: []ec2types.Filter{
		{Name: aws.String("tag:aws:autoscaling:groupName"), Values: []string{f.group}},
		{Name: aws.String("instance-state-name"), Values: []string{"running"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	var all []ec2types.Instance
	for _, r := range out.Reservations {
		all = append(all, r.Instances...)
	}
	return all
}

func (f refreshFixture) start(skip bool) (*autoscaling.StartInstanceRefreshOutput, error) {
	return f.asg.StartInstanceRefresh(context.Background(), &autoscaling.StartInstanceRefreshInput{
		AutoScalingGroupName: aws.String(f.group),
		Preferences:          &astypes.RefreshPreferences{MinHealthyPercentage: aws.Int32(50), InstanceWarmup: aws.Int32(60), SkipMatching: aws.Bool(skip)},
	})
}

func (f refreshFixture) describe(t *testing.T) []astypes.InstanceRefresh {
	t.Helper()
	out, err := f.asg.DescribeInstanceRefreshes(context.Background(), &autoscaling.DescribeInstanceRefreshesInput{AutoScalingGroupName: aws.String(f.group)})
	if err != nil {
		t.Fatalf("DescribeInstanceRefreshes: %v", err)
	}
	return out.InstanceRefreshes
}

func errCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// TestAWSLabInstanceRefresh: the SDK's instance refresh calls work against the lab, and a refresh
// really replaces the group's instances in moto with instances of the group's template version.
func TestAWSLabInstanceRefresh(t *testing.T) {
	t.Parallel()
	lab := AWS(t)
	f := newRefreshFixture(t, lab, "eu-west-1")

	out, err := f.start(true)
	if err != nil || aws.ToString(out.InstanceRefreshId) == "" {
		t.Fatalf("StartInstanceRefresh: %+v, %v", out, err)
	}
	rs := f.describe(t)
	if len(rs) != 1 || rs[0].Status != astypes.InstanceRefreshStatusSuccessful || aws.ToInt32(rs[0].PercentageComplete) != 100 ||
		aws.ToString(rs[0].InstanceRefreshId) != aws.ToString(out.InstanceRefreshId) || rs[0].StartTime == nil || rs[0].EndTime == nil ||
		aws.ToInt32(rs[0].Preferences.MinHealthyPercentage) != 50 || !aws.ToBool(rs[0].Preferences.SkipMatching) {
		t.Errorf("DescribeInstanceRefreshes = %+v", rs)
	}
	now := f.instances(t)
	if len(now) != 2 {
		t.Fatalf("%d running instances after the refresh, want 2", len(now))
	}
	for _, in := range now {
		if slices.Contains(f.first, aws.ToString(in.InstanceId)) {
			t.Errorf("instance %s was not replaced", aws.ToString(in.InstanceId))
		}
		ua, err := f.ec2.DescribeInstanceAttribute(context.Background(), &ec2.DescribeInstanceAttributeInput{InstanceId: in.InstanceId, Attribute: ec2types.InstanceAttributeNameUserData})
		if err != nil || ua.UserData == nil {
			t.Fatalf("user data of %s: %v", aws.ToString(in.InstanceId), err)
		}
		if raw, _ := base64.StdEncoding.DecodeString(aws.ToString(ua.UserData.Value)); string(raw) != "#cloud-config\n# v2\n" {
			t.Errorf("instance %s runs user data %q, want version 2's", aws.ToString(in.InstanceId), raw)
		}
	}

	// With SkipMatching, nodes already on the version stay.
	if _, err := f.start(true); err != nil {
		t.Fatal(err)
	}
	if rs := lab.InstanceRefreshes("eu-west-1", f.group); len(rs) != 2 || len(rs[1].Replaced) != 0 {
		t.Errorf("a second refresh with skip matching replaced %v, want nothing", rs[len(rs)-1].Replaced)
	}
	if _, err := f.asg.CancelInstanceRefresh(context.Background(), &autoscaling.CancelInstanceRefreshInput{AutoScalingGroupName: aws.String(f.group)}); errCode(err) != "ActiveInstanceRefreshNotFound" {
		t.Errorf("CancelInstanceRefresh with none running: %v, want ActiveInstanceRefreshNotFound", err)
	}
	if _, err := f.asg.StartInstanceRefresh(context.Background(), &autoscaling.StartInstanceRefreshInput{AutoScalingGroupName: aws.String("no-such-group")}); errCode(err) != "ValidationError" {
		t.Errorf("StartInstanceRefresh of a missing group: %v, want ValidationError", err)
	}
}

// TestAWSLabHeldRefresh: a held refresh stays InProgress and blocks another, can be cancelled,
// and is carried out when released.
func TestAWSLabHeldRefresh(t *testing.T) {
	t.Parallel()
	lab := AWS(t)
	const region = "us-east-2"
	f := newRefreshFixture(t, lab, region)
	lab.HoldRefreshes(region)
	if _, err := f.start(false); err != nil {
		t.Fatal(err)
	}
	if _, err := f.start(false); errCode(err) != "InstanceRefreshInProgress" {
		t.Errorf("a second StartInstanceRefresh: %v, want InstanceRefreshInProgress", err)
	}
	if _, err := f.asg.CancelInstanceRefresh(context.Background(), &autoscaling.CancelInstanceRefreshInput{AutoScalingGroupName: aws.String(f.group)}); err != nil {
		t.Errorf("CancelInstanceRefresh: %v", err)
	}
	if _, err := f.start(false); err != nil {
		t.Fatal(err)
	}
	rs := f.describe(t)
	if len(rs) != 2 || rs[0].Status != astypes.InstanceRefreshStatusInProgress || rs[1].Status != astypes.InstanceRefreshStatusCancelled {
		t.Fatalf("refreshes newest first = %+v; want InProgress, Cancelled", rs)
	}
	if p, n := aws.ToInt32(rs[0].PercentageComplete), aws.ToInt32(rs[0].InstancesToUpdate); p != 0 || n != 2 {
		t.Errorf("a held refresh: %d%% complete, %d to update; want 0%%, 2", p, n)
	}
	lab.SetRefreshProgress(region, 50)
	if p, n := aws.ToInt32(f.describe(t)[0].PercentageComplete), aws.ToInt32(f.describe(t)[0].InstancesToUpdate); p != 50 || n != 1 {
		t.Errorf("a held refresh at 50%%: %d%% complete, %d to update; want 50%%, 1", p, n)
	}
	if n := len(f.instances(t)); n != 2 || !slices.Contains(f.first, aws.ToString(f.instances(t)[0].InstanceId)) {
		t.Errorf("a held refresh replaced instances")
	}
	if err := lab.ReleaseRefreshes(region); err != nil {
		t.Fatal(err)
	}
	if rs := f.describe(t); rs[0].Status != astypes.InstanceRefreshStatusSuccessful {
		t.Errorf("after release: %+v, want Successful", rs[0])
	}
	for _, in := range f.instances(t) {
		if slices.Contains(f.first, aws.ToString(in.InstanceId)) {
			t.Errorf("instance %s was not replaced on release", aws.ToString(in.InstanceId))
		}
	}
}
