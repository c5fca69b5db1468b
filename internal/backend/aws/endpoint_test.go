package aws_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/inferstack/terraform-provider-inferstack/internal/acctest"
	"github.com/inferstack/terraform-provider-inferstack/internal/backend"
	awsbackend "github.com/inferstack/terraform-provider-inferstack/internal/backend/aws"
	"github.com/inferstack/terraform-provider-inferstack/internal/vllm"
)

// The endpoint tests each make a cluster of their own in a region no other test of the package
// uses (quotas and proxy counts are per region) (g5.12xlarge, four
// A10G per node; serving ports 8000 and 8001; one on-demand node, then half spot) and run in
// parallel. moto launches the group's instances, registers them with the target group and calls
// every registered running target healthy; the lab answers instance refreshes (it replaces the
// instances through moto) and, where a test asks, reports targets unhealthy.

const testRevision = "0e9e39f249a16976918f6564b8830bc894c89659"

// endpointLab is a cluster made for an endpoint test.
type endpointLab struct {
	lab         *acctest.AWSLab
	d           direct
	b           *awsbackend.Backend
	region      string
	cluster     *awsbackend.Cluster
	clusterSpec awsbackend.ClusterSpec
}

func newEndpointLab(t *testing.T, region, cidr string, zones ...string) *endpointLab {
	t.Helper()
	lab := acctest.AWS(t)
	n := lab.MakeNetwork(t, region, cidr, zones...)
	lab.SetGPUQuotas(region, 1024)
	b := newBackend(t, lab, 5)
	spec := awsbackend.ClusterSpec{
		Name: acctest.TestName("ep"), Region: region, SubnetIDs: n.SubnetIDs(zones...), InstanceType: "g5.12xlarge",
		AMI: awsbackend.AMI{ID: lab.AMI(t, region)}, RootVolumeGiB: 200, Capacity: awsbackend.Capacity{OnDemandBase: 1, SpotPercentage: 50},
		MaxNodes: 4, ServingPorts: []int64{8000, 8001}, Tags: map[string]string{"team": "ml"},
	}
	t.Cleanup(func() { _ = b.DeleteCluster(context.Background(), region, spec.Name) })
	c, err := b.EnsureCluster(context.Background(), spec)
	if err != nil {
		t.Fatalf("EnsureCluster: %v", err)
	}
	return &endpointLab{lab: lab, d: directClients(lab, region), b: b, region: region, cluster: c, clusterSpec: spec}
}

// spec is an endpoint of two nodes (up to three) on port 8001.
func (l *endpointLab) spec(name string) awsbackend.EndpointSpec {
	return awsbackend.EndpointSpec{
		Region: l.region, Cluster: l.cluster.Name, Name: name, Port: 8001, Replicas: 2, MaxReplicas: 3,
		Node: vllm.Spec{
			Model:  vllm.Model{ID: "meta-llama/Llama-3.1-8B-Instruct", Revision: testRevision},
			Engine: vllm.Engine{TensorParallelSize: 4, MaxModelLen: 8192},
		},
		APIKey: "sk-inferstack-test-key-1", HFToken: "hf_inferstack_test_token",
		Tags: map[string]string{"team": "ml", "env": "test"},
	}
}

func (l *endpointLab) ensure(t *testing.T, s awsbackend.EndpointSpec) *awsbackend.Endpoint {
	t.Helper()
	e, err := l.b.EnsureEndpoint(context.Background(), s)
	if err != nil {
		t.Fatalf("EnsureEndpoint(%s): %v", s.Name, err)
	}
	return e
}

func (l *endpointLab) group(t *testing.T, name string) astypes.AutoScalingGroup {
	t.Helper()
	out, err := l.d.asg.DescribeAutoScalingGroups(context.Background(), &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{name}})
	if err != nil || len(out.AutoScalingGroups) != 1 {
		t.Fatalf("Auto Scaling group %s in moto: %v", name, err)
	}
	return out.AutoScalingGroups[0]
}

func (l *endpointLab) templateVersion(t *testing.T, id string, version int64) ec2types.LaunchTemplateVersion {
	t.Helper()
	out, err := l.d.ec2.DescribeLaunchTemplateVersions(context.Background(), &ec2.DescribeLaunchTemplateVersionsInput{
		LaunchTemplateId: aws.String(id), Versions: []string{fmt.Sprint(version)},
	})
	if err != nil || len(out.LaunchTemplateVersions) != 1 {
		t.Fatalf("version %d of launch template %s in moto: %v", version, id, err)
	}
	return out.LaunchTemplateVersions[0]
}

func (l *endpointLab) instances(t *testing.T, ids []string) []ec2types.Instance {
	t.Helper()
	out, err := l.d.ec2.DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{InstanceIds: ids})
	if err != nil {
		t.Fatalf("instances %v in moto: %v", ids, err)
	}
	var all []ec2types.Instance
	for _, r := range out.Reservations {
		all = append(all, r.Instances...)
	}
	return all
}

// nodeSpecOf is the node spec JSON in the version's user data, and the decoded user data.
func nodeSpecOf(t *testing.T, v ec2types.LaunchTemplateVersion, endpoint string) (spec, userData string) {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(aws.ToString(v.LaunchTemplateData.UserData))
	if err != nil {
		t.Fatalf("user data of version %d: %v", aws.ToInt64(v.VersionNumber), err)
	}
	if len(raw) < 2 || raw[0] != 0x1f || raw[1] != 0x8b {
		t.Fatalf("user data of version %d is not gzip-compressed", aws.ToInt64(v.VersionNumber))
	}
	text, err := vllm.ReadUserData(raw)
	if err != nil {
		t.Fatalf("user data of version %d: %v", aws.ToInt64(v.VersionNumber), err)
	}
	b, err := vllm.SpecFromCloudInit(text, endpoint)
	if err != nil {
		t.Fatalf("user data of version %d: %v", aws.ToInt64(v.VersionNumber), err)
	}
	return string(b), text
}

func secretValue(t *testing.T, d direct, name string) string {
	t.Helper()
	out, err := d.sm.GetSecretValue(context.Background(), &secretsmanager.GetSecretValueInput{SecretId: aws.String(name)})
	if err != nil {
		t.Fatalf("secret %s in moto: %v", name, err)
	}
	return aws.ToString(out.SecretString)
}

func smTagMap(tags []smtypes.Tag) map[string]string {
	m := map[string]string{}
	for _, t := range tags {
		m[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return m
}

func hasTags(have, want map[string]string) bool {
	for k, v := range want {
		if have[k] != v {
			return false
		}
	}
	return true
}

// TestEndpointLifecycle walks an endpoint through create, a repeated create, a replicas change, an
// engine change, an API key rotation, a tags change and delete, asking moto itself each time.
func TestEndpointLifecycle(t *testing.T) {
	t.Parallel()
	l := newEndpointLab(t, "ap-northeast-2", "10.50.0.0/16", "a", "c")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	s := l.spec("llama")
	n := awsbackend.EndpointResourceNames(l.cluster.Name, s.Name)
	t.Cleanup(func() { _ = l.b.DeleteEndpoint(context.Background(), l.region, l.cluster.Name, s.Name) })
	wantTags := map[string]string{"team": "ml", "env": "test", awsbackend.TagCluster: l.cluster.Name, awsbackend.TagEndpoint: "llama"}

	// Create.
	e := l.ensure(t, s)
	if e.ID != "aws/ap-northeast-2/"+l.cluster.Name+",llama" || e.Desired != 2 || e.Min != 2 || e.Max != 3 || len(e.InstanceIDs) != 2 ||
		e.Port != 8001 || e.URL != "http://"+l.cluster.LoadBalancerDNS+":8001/v1" || len(e.Missing) > 0 {
		t.Fatalf("endpoint = %+v", e)
	}
	if e.LaunchTemplateVersion != 1 || e.ClusterTemplateVersion != l.cluster.LaunchTemplateVersion || e.HealthyTargets != 2 || e.Refresh != "" {
		t.Errorf("template v%d from cluster v%d, %d healthy, refresh %q; want v1 from v%d, 2 healthy, none",
			e.LaunchTemplateVersion, e.ClusterTemplateVersion, e.HealthyTargets, e.Refresh, l.cluster.LaunchTemplateVersion)
	}
	assertEndpointInMoto(t, l, e, s, wantTags)
	if r, err := l.b.WaitEndpointReady(ctx, l.region, l.cluster.Name, s.Name); err != nil || r.HealthyTargets != 2 {
		t.Errorf("WaitEndpointReady = %+v, %v", r, err)
	}
	if k, err := l.b.APIKey(ctx, l.region, l.cluster.Name, s.Name); err != nil || k != s.APIKey {
		t.Errorf("APIKey = %q, %v; want the spec's", k, err)
	}

	// A second create finds everything and changes nothing.
	before := mutationsIn(l.lab, l.region)
	if e2 := l.ensure(t, s); e2.LaunchTemplateVersion != 1 || fmt.Sprint(e2.InstanceIDs) != fmt.Sprint(e.InstanceIDs) {
		t.Errorf("second EnsureEndpoint = %+v; want the same version and instances", e2)
	}
	if after := mutationsIn(l.lab, l.region); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("the second EnsureEndpoint changed something: calls before %v, after %v", before, after)
	}

	// More replicas: the group grows, no new template version, no refresh.
	s.Replicas = 3
	e3 := l.ensure(t, s)
	if e3.Desired != 3 || len(e3.InstanceIDs) != 3 || e3.LaunchTemplateVersion != 1 || len(l.lab.InstanceRefreshes(l.region, n.Group)) != 0 {
		t.Errorf("after replicas 3: %+v, refreshes %v; want 3 nodes on v1, no refresh", e3, l.lab.InstanceRefreshes(l.region, n.Group))
	}
	for _, id := range e.InstanceIDs {
		if !slices.Contains(e3.InstanceIDs, id) {
			t.Errorf("instance %s was replaced by a replicas change", id)
		}
	}

	// Another engine setting: a new version, the group on it, every node replaced.
	s.Node.Engine.MaxModelLen = 16384
	e4 := l.ensure(t, s)
	assertRolled(t, l, e3, e4, 2, 1)
	spec4, _ := nodeSpecOf(t, l.templateVersion(t, e4.LaunchTemplateID, 2), s.Name)
	if !strings.Contains(spec4, "16384") {
		t.Errorf("version 2's node spec lacks the new max model length:\n%s", spec4)
	}

	// A rotated API key: stored as a new secret version, and the nodes replaced to read it,
	// without the key (or a hash of it) in the user data.
	s.APIKey = "sk-inferstack-test-key-2"
	e5 := l.ensure(t, s)
	assertRolled(t, l, e4, e5, 3, 2)
	if got := secretValue(t, l.d, n.APIKeySecret); got != s.APIKey {
		t.Errorf("the API key secret holds %q, want the new key", got)
	}
	spec5, raw5 := nodeSpecOf(t, l.templateVersion(t, e5.LaunchTemplateID, 3), s.Name)
	for _, secret := range []string{"sk-inferstack-test-key-1", "sk-inferstack-test-key-2", "hf_inferstack_test_token"} {
		if strings.Contains(raw5+spec5, secret) {
			t.Errorf("version 3's user data holds a secret (%s)", secret)
		}
	}
	if spec5 == spec4 || !strings.Contains(spec5, awsbackend.EnvSecretsVersion) {
		t.Errorf("version 3's node spec does not differ from version 2's by the secrets' version:\n%s", spec5)
	}

	// Tags alone: a new version for nodes to come, nothing replaced.
	s.Tags = map[string]string{"team": "ml", "env": "prod"}
	e6 := l.ensure(t, s)
	if e6.LaunchTemplateVersion != 4 || fmt.Sprint(e6.InstanceIDs) != fmt.Sprint(e5.InstanceIDs) || len(l.lab.InstanceRefreshes(l.region, n.Group)) != 2 || e6.Tags["env"] != "prod" {
		t.Errorf("after a tags change: %+v, refreshes %d; want v4, the same nodes, no new refresh", e6, len(l.lab.InstanceRefreshes(l.region, n.Group)))
	}

	// No Hugging Face token any more: its secret goes, and the nodes stop asking for it.
	s.HFToken = ""
	if e7 := l.ensure(t, s); e7.HFTokenSecretARN != "" || e7.LaunchTemplateVersion != 5 || len(l.lab.InstanceRefreshes(l.region, n.Group)) != 3 {
		t.Errorf("after the token was dropped: %+v; want no token secret, v5, a third refresh", e7)
	}
	if _, err := l.d.sm.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(n.HFTokenSecret)}); err == nil {
		t.Errorf("secret %s still exists in moto", n.HFTokenSecret)
	}

	// A new version of the cluster's base template (a larger root volume): the endpoint's
	// template follows it on the next apply, and the nodes are replaced.
	e7, err := l.b.FindEndpoint(ctx, l.region, l.cluster.Name, s.Name)
	if err != nil {
		t.Fatal(err)
	}
	l.clusterSpec.RootVolumeGiB = 300
	c2, err := l.b.UpdateCluster(ctx, l.clusterSpec)
	if err != nil || c2.LaunchTemplateVersion != l.cluster.LaunchTemplateVersion+1 {
		t.Fatalf("UpdateCluster: %+v, %v; want a new base version", c2, err)
	}
	e8 := l.ensure(t, s)
	assertRolled(t, l, e7, e8, 6, 4)
	if e8.ClusterTemplateVersion != c2.LaunchTemplateVersion {
		t.Errorf("endpoint built from cluster template v%d, want v%d", e8.ClusterTemplateVersion, c2.LaunchTemplateVersion)
	}
	if ebs := l.templateVersion(t, e8.LaunchTemplateID, 6).LaunchTemplateData.BlockDeviceMappings[0].Ebs; aws.ToInt32(ebs.VolumeSize) != 300 {
		t.Errorf("endpoint template v6 root volume %d GiB, want the cluster's new 300", aws.ToInt32(ebs.VolumeSize))
	}

	// The cluster refuses to go while the endpoint runs, and keeps everything.
	if err := l.b.DeleteCluster(ctx, l.region, l.cluster.Name); err == nil || !strings.Contains(err.Error(), "still runs endpoint(s) llama") {
		t.Errorf("DeleteCluster with an endpoint: %v, want a refusal naming llama", err)
	}
	if c, err := l.b.FindCluster(ctx, l.region, l.cluster.Name); err != nil || len(c.Missing) > 0 {
		t.Errorf("after the refused delete the cluster is %+v, %v; want it whole", c, err)
	}

	// Delete leaves nothing of the endpoint; deleting again is success; then the cluster goes whole.
	if err := l.b.DeleteEndpoint(ctx, l.region, l.cluster.Name, s.Name); err != nil {
		t.Fatalf("DeleteEndpoint: %v", err)
	}
	assertEndpointGone(t, l, s.Name)
	if _, err := l.b.FindEndpoint(ctx, l.region, l.cluster.Name, s.Name); !backend.IsNotFound(err) {
		t.Errorf("FindEndpoint after delete: %v, want not found", err)
	}
	if err := l.b.DeleteEndpoint(ctx, l.region, l.cluster.Name, s.Name); err != nil {
		t.Errorf("DeleteEndpoint of a deleted endpoint: %v", err)
	}
	if err := l.b.DeleteCluster(ctx, l.region, l.cluster.Name); err != nil {
		t.Fatalf("DeleteCluster: %v", err)
	}
	assertGone(t, l.d, l.cluster.Name, awsbackend.ResourceNames(l.region, l.cluster.Name))
}

// assertRolled checks that after moved to launch template version v, an instance refresh (the
// refreshes-th) replaced every node of before by nodes launched from v.
func assertRolled(t *testing.T, l *endpointLab, before, after *awsbackend.Endpoint, v int64, refreshes int) {
	t.Helper()
	rs := l.lab.InstanceRefreshes(l.region, after.GroupName)
	if after.LaunchTemplateVersion != v || len(rs) != refreshes || after.Refresh != "Successful" {
		t.Fatalf("endpoint on v%d, %d refreshes, latest %q; want v%d, %d, Successful", after.LaunchTemplateVersion, len(rs), after.Refresh, v, refreshes)
	}
	r := rs[len(rs)-1]
	if aws.ToInt32(r.MinHealthyPercentage) != 50 || aws.ToInt32(r.MaxHealthyPercentage) != 150 || aws.ToInt32(r.InstanceWarmup) != 1200 || !r.SkipMatching || len(r.Replaced) != len(before.InstanceIDs) {
		t.Errorf("refresh %+v: want min healthy 50%%, max healthy 150%%, warm-up 1200 s, skip matching, replacing %d nodes", r, len(before.InstanceIDs))
	}
	for _, id := range before.InstanceIDs {
		if slices.Contains(after.InstanceIDs, id) {
			t.Errorf("instance %s was not replaced", id)
		}
	}
	if len(after.InstanceIDs) != int(after.Desired) || after.HealthyTargets != after.Desired {
		t.Errorf("after the refresh: %d instances, %d healthy targets; want %d each", len(after.InstanceIDs), after.HealthyTargets, after.Desired)
	}
	if g := l.group(t, after.GroupName); aws.ToString(g.MixedInstancesPolicy.LaunchTemplate.LaunchTemplateSpecification.Version) != fmt.Sprint(v) {
		t.Errorf("group launches version %s, want %d", aws.ToString(g.MixedInstancesPolicy.LaunchTemplate.LaunchTemplateSpecification.Version), v)
	}
	for _, in := range l.instances(t, after.InstanceIDs) {
		if got := tagMap(in.Tags)["aws:ec2launchtemplate:version"]; got != fmt.Sprint(v) {
			t.Errorf("instance %s was launched from version %s, want %d", aws.ToString(in.InstanceId), got, v)
		}
	}
}

// assertEndpointInMoto checks the endpoint's objects in moto: group, template version, target
// group, listener, secrets, and the instances and volumes launched.
func assertEndpointInMoto(t *testing.T, l *endpointLab, e *awsbackend.Endpoint, s awsbackend.EndpointSpec, tags map[string]string) {
	t.Helper()
	ctx := context.Background()
	n := awsbackend.EndpointResourceNames(l.cluster.Name, s.Name)

	g := l.group(t, n.Group)
	mip := g.MixedInstancesPolicy
	if mip == nil || mip.LaunchTemplate == nil || mip.InstancesDistribution == nil {
		t.Fatalf("group %s has no mixed instances policy: %+v", n.Group, g)
	}
	lts := mip.LaunchTemplate.LaunchTemplateSpecification
	d := mip.InstancesDistribution
	if aws.ToString(lts.LaunchTemplateId) != e.LaunchTemplateID || aws.ToString(lts.Version) != "1" ||
		aws.ToInt32(d.OnDemandBaseCapacity) != 1 || aws.ToInt32(d.OnDemandPercentageAboveBaseCapacity) != 50 || aws.ToString(d.SpotAllocationStrategy) != "price-capacity-optimized" {
		t.Errorf("mixed instances policy: template %s v%s, distribution %+v", aws.ToString(lts.LaunchTemplateId), aws.ToString(lts.Version), *d)
	}
	if aws.ToString(g.VPCZoneIdentifier) != strings.Join(l.cluster.SubnetIDs, ",") || aws.ToString(g.HealthCheckType) != "ELB" ||
		aws.ToInt32(g.HealthCheckGracePeriod) != 1200 || fmt.Sprint(g.TargetGroupARNs) != "["+e.TargetGroupARN+"]" {
		t.Errorf("group subnets %s, health check %s/%d, target groups %v", aws.ToString(g.VPCZoneIdentifier), aws.ToString(g.HealthCheckType),
			aws.ToInt32(g.HealthCheckGracePeriod), g.TargetGroupARNs)
	}
	for _, tag := range g.Tags {
		if !aws.ToBool(tag.PropagateAtLaunch) {
			t.Errorf("group tag %s is not propagated at launch", aws.ToString(tag.Key))
		}
	}

	v := l.templateVersion(t, e.LaunchTemplateID, 1)
	data := v.LaunchTemplateData
	if m := data.MetadataOptions; m == nil || m.HttpTokens != ec2types.LaunchTemplateHttpTokensStateRequired || aws.ToInt32(m.HttpPutResponseHopLimit) != 1 ||
		aws.ToString(data.ImageId) != l.cluster.ImageID || aws.ToBool(data.NetworkInterfaces[0].AssociatePublicIpAddress) {
		t.Errorf("endpoint template data %+v: want the cluster's base (IMDSv2, hop limit 1, no public IP)", data)
	}
	for _, ts := range data.TagSpecifications {
		if ts.ResourceType != ec2types.ResourceTypeLaunchTemplate && !hasTags(tagMap(ts.Tags), tags) {
			t.Errorf("tags at launch of %s: %v, want %v", ts.ResourceType, tagMap(ts.Tags), tags)
		}
	}
	spec, raw := nodeSpecOf(t, v, s.Name)
	apiKeyARN, hfARN := e.APIKeySecretARN, e.HFTokenSecretARN
	for _, want := range []string{testRevision, apiKeyARN, hfARN, `"port": 8001`, awsbackend.EnvSecretsVersion} {
		if want == "" || !strings.Contains(spec, want) {
			t.Errorf("the node spec lacks %q:\n%s", want, spec)
		}
	}
	if !strings.HasPrefix(raw, "#cloud-config") || strings.Contains(raw+spec, s.APIKey) || strings.Contains(raw+spec, s.HFToken) {
		t.Errorf("user data is not #cloud-config, or holds a secret:\n%s", raw)
	}

	tgs, err := l.d.elb.DescribeTargetGroups(ctx, &elbv2.DescribeTargetGroupsInput{TargetGroupArns: []string{e.TargetGroupARN}})
	if err != nil || len(tgs.TargetGroups) != 1 {
		t.Fatalf("target group in moto: %v", err)
	}
	tg := tgs.TargetGroups[0]
	if tg.Protocol != "TCP" || aws.ToInt32(tg.Port) != 8001 || aws.ToString(tg.VpcId) != l.cluster.VPCID || tg.TargetType != "instance" ||
		tg.HealthCheckProtocol != "HTTP" || aws.ToString(tg.HealthCheckPath) != "/health" || aws.ToString(tg.HealthCheckPort) != "traffic-port" {
		t.Errorf("target group %+v", tg)
	}
	ls, err := l.d.elb.DescribeListeners(ctx, &elbv2.DescribeListenersInput{LoadBalancerArn: aws.String(l.cluster.LoadBalancerARN)})
	if err != nil || len(ls.Listeners) != 1 {
		t.Fatalf("listeners of the cluster's load balancer: %+v, %v; want one", ls, err)
	}
	if li := ls.Listeners[0]; aws.ToInt32(li.Port) != 8001 || li.Protocol != "TCP" || aws.ToString(li.DefaultActions[0].TargetGroupArn) != e.TargetGroupARN || aws.ToString(li.ListenerArn) != e.ListenerARN {
		t.Errorf("listener %+v: want TCP 8001 forwarding to %s", li, e.TargetGroupARN)
	}
	for _, arn := range []string{e.TargetGroupARN, e.ListenerARN} {
		out, err := l.d.elb.DescribeTags(ctx, &elbv2.DescribeTagsInput{ResourceArns: []string{arn}})
		if err != nil || len(out.TagDescriptions) != 1 {
			t.Fatalf("tags of %s: %v", arn, err)
		}
		m := map[string]string{}
		for _, tag := range out.TagDescriptions[0].Tags {
			m[aws.ToString(tag.Key)] = aws.ToString(tag.Value)
		}
		if fmt.Sprint(m) != fmt.Sprint(tags) {
			t.Errorf("tags of %s: %v, want %v", arn, m, tags)
		}
	}

	for name, value := range map[string]string{n.APIKeySecret: s.APIKey, n.HFTokenSecret: s.HFToken} {
		if got := secretValue(t, l.d, name); got != value {
			t.Errorf("secret %s does not hold the spec's value", name)
		}
		ds, err := l.d.sm.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(name)})
		if err != nil || !hasTags(smTagMap(ds.Tags), tags) || !strings.HasPrefix(name, l.cluster.SecretsPrefix) {
			t.Errorf("secret %s: tags %v, %v; want %v, under %s", name, ds, err, tags, l.cluster.SecretsPrefix)
		}
	}

	for _, in := range l.instances(t, e.InstanceIDs) {
		it := tagMap(in.Tags)
		if in.State.Name != ec2types.InstanceStateNameRunning || !hasTags(it, tags) || it["aws:ec2launchtemplate:version"] != "1" ||
			string(in.InstanceType) != "g5.12xlarge" || aws.ToString(in.SubnetId) == "" || !slices.Contains(l.cluster.SubnetIDs, aws.ToString(in.SubnetId)) {
			t.Errorf("instance %s: %s, %s in %s, tags %v", aws.ToString(in.InstanceId), in.State.Name, in.InstanceType, aws.ToString(in.SubnetId), it)
		}
		ua, err := l.d.ec2.DescribeInstanceAttribute(ctx, &ec2.DescribeInstanceAttributeInput{InstanceId: in.InstanceId, Attribute: ec2types.InstanceAttributeNameUserData})
		if err != nil || ua.UserData == nil || aws.ToString(ua.UserData.Value) != aws.ToString(data.UserData) {
			t.Errorf("instance %s did not get the template's user data: %v", aws.ToString(in.InstanceId), err)
		}
		// moto does not tag the volumes of group-launched instances; it does give them the
		// template's root volume.
		var ids []string
		for _, bd := range in.BlockDeviceMappings {
			ids = append(ids, aws.ToString(bd.Ebs.VolumeId))
		}
		vols, err := l.d.ec2.DescribeVolumes(ctx, &ec2.DescribeVolumesInput{VolumeIds: ids})
		if err != nil {
			t.Fatal(err)
		}
		root := false
		for _, vol := range vols.Volumes {
			root = root || (vol.VolumeType == ec2types.VolumeTypeGp3 && aws.ToBool(vol.Encrypted) && aws.ToInt32(vol.Size) == 200)
		}
		if !root {
			t.Errorf("instance %s has no encrypted 200 GiB gp3 volume: %+v", aws.ToString(in.InstanceId), vols.Volumes)
		}
	}
}

// assertEndpointGone asks moto that nothing of the endpoint is left: no group, running instance,
// launch template, target group, listener or secret.
func assertEndpointGone(t *testing.T, l *endpointLab, name string) {
	t.Helper()
	ctx := context.Background()
	n := awsbackend.EndpointResourceNames(l.cluster.Name, name)
	groups, err := l.d.asg.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{n.Group}})
	if err != nil || len(groups.AutoScalingGroups) != 0 {
		t.Errorf("group %s after delete: %+v, %v", n.Group, groups, err)
	}
	out, err := l.d.ec2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{Filters: []ec2types.Filter{
		{Name: aws.String("tag:" + awsbackend.TagEndpoint), Values: []string{name}},
		{Name: aws.String("tag:" + awsbackend.TagCluster), Values: []string{l.cluster.Name}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range out.Reservations {
		for _, in := range r.Instances {
			if in.State.Name != ec2types.InstanceStateNameTerminated {
				t.Errorf("instance %s is %s after delete", aws.ToString(in.InstanceId), in.State.Name)
			}
		}
	}
	lts, err := l.d.ec2.DescribeLaunchTemplates(ctx, &ec2.DescribeLaunchTemplatesInput{Filters: []ec2types.Filter{
		{Name: aws.String("tag:" + awsbackend.TagEndpoint), Values: []string{name}},
	}})
	if err != nil || len(lts.LaunchTemplates) != 0 {
		t.Errorf("launch templates of %s after delete: %+v, %v", name, lts, err)
	}
	if _, err := l.d.elb.DescribeTargetGroups(ctx, &elbv2.DescribeTargetGroupsInput{Names: []string{n.TargetGroup}}); err == nil {
		t.Errorf("target group %s still exists", n.TargetGroup)
	}
	if ls, err := l.d.elb.DescribeListeners(ctx, &elbv2.DescribeListenersInput{LoadBalancerArn: aws.String(l.cluster.LoadBalancerARN)}); err != nil || len(ls.Listeners) != 0 {
		t.Errorf("listeners of the cluster's load balancer after delete: %+v, %v", ls, err)
	}
	for _, secret := range []string{n.APIKeySecret, n.HFTokenSecret} {
		if _, err := l.d.sm.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(secret)}); err == nil {
			t.Errorf("secret %s still exists", secret)
		}
	}
}
