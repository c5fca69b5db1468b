package aws

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/inferstack/terraform-provider-inferstack/internal/backend"
	"github.com/inferstack/terraform-provider-inferstack/internal/vllm"
)

// asResponse is the request data as DescribeLaunchTemplateVersions would answer it (the field
// names are the same in both shapes).
func asResponse(t *testing.T, d *ec2types.RequestLaunchTemplateData) *ec2types.ResponseLaunchTemplateData {
	t.Helper()
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	var out ec2types.ResponseLaunchTemplateData
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return &out
}

func TestNodeTemplateRoundTrip(t *testing.T) {
	t.Parallel()
	tags := map[string]string{TagCluster: "c", "team": "ml"}
	pf := &Preflight{ImageID: "ami-1", InstanceType: "g5.12xlarge", RootDeviceName: "/dev/sda1", MaxNodes: 2}
	spec := ClusterSpec{Name: "c", RootVolumeGiB: 200, Capacity: Capacity{CapacityReservationID: "cr-1"}}
	want := baseTemplate(spec, pf, "sg-1", "arn:aws:iam::1:instance-profile/inferstack/p", tags)
	d := want.requestData()
	if d.MetadataOptions.HttpTokens != ec2types.LaunchTemplateHttpTokensStateRequired || *d.MetadataOptions.HttpPutResponseHopLimit != 1 {
		t.Errorf("metadata options %+v: want IMDSv2 required, hop limit 1", *d.MetadataOptions)
	}
	if ni := d.NetworkInterfaces[0]; *ni.AssociatePublicIpAddress || fmt.Sprint(ni.Groups) != "[sg-1]" || d.SecurityGroupIds != nil {
		t.Errorf("network interface %+v: want no public IP, the security group on the interface only", ni)
	}
	if ebs := d.BlockDeviceMappings[0].Ebs; ebs.VolumeType != "gp3" || !*ebs.Encrypted || *ebs.VolumeSize != 200 || *d.BlockDeviceMappings[0].DeviceName != "/dev/sda1" {
		t.Errorf("root volume %+v: want an encrypted 200 GiB gp3 on /dev/sda1", *ebs)
	}
	// The reservation is the groups' (on-demand nodes only), never the template's.
	if len(d.TagSpecifications) != 3 || d.CapacityReservationSpecification != nil || d.UserData != nil {
		t.Errorf("tag specifications %d, reservation %v, user data %v: want 3, none, none", len(d.TagSpecifications), d.CapacityReservationSpecification, d.UserData)
	}
	var c Cluster
	readSettings(&c, settingsTags(spec, pf))
	if c.Capacity.CapacityReservationID != "cr-1" {
		t.Errorf("settings tags carry reservation %q, want cr-1", c.Capacity.CapacityReservationID)
	}
	got := readNodeTemplate(asResponse(t, d))
	if !got.equal(want) {
		t.Errorf("read back %+v\nwant %+v", got, want)
	}
	other := want
	other.Tags = nodeTags(map[string]string{TagCluster: "c"})
	if other.equal(want) || !other.withoutTags().equal(want.withoutTags()) {
		t.Error("templates differing in tags only: want unequal, and equal without tags")
	}
}

func TestSubnetTags(t *testing.T) {
	t.Parallel()
	var ids []string
	for i := range 14 {
		ids = append(ids, fmt.Sprintf("subnet-%017x", i))
	}
	ids = append(ids, ids[0]) // a duplicate is dropped
	tags := subnetTags(ids)
	if len(tags) != 2 || tags[TagSubnets+":2"] == "" {
		t.Errorf("subnetTags of 14 ids = %v, want two tags", tags)
	}
	for k, v := range tags {
		if len(v) > 256 {
			t.Errorf("tag %s is %d characters, more than 256", k, len(v))
		}
	}
	if got := subnetsFromTags(tags); fmt.Sprint(got) != fmt.Sprint(ids[:14]) {
		t.Errorf("subnetsFromTags = %v, want %v", got, ids[:14])
	}
	c := &Cluster{}
	readSettings(c, map[string]string{TagSubnets: "subnet-a,subnet-b", TagOnDemandBase: "1", TagSpotPercentage: "50", TagMaxNodes: "4"})
	if fmt.Sprint(c.SubnetIDs) != "[subnet-a subnet-b]" || c.Capacity != (Capacity{OnDemandBase: 1, SpotPercentage: 50}) || c.MaxNodes != 4 {
		t.Errorf("readSettings = %+v", c)
	}
}

func TestEndpointResourceNames(t *testing.T) {
	t.Parallel()
	n := EndpointResourceNames("llm-prod", "llama")
	want := EndpointNames{
		LaunchTemplate: "inferstack-llm-prod.llama", Group: "inferstack-llm-prod.llama",
		TargetGroup:  "inferstack-llm-prod-lla-" + shortHash("llm-prod.llama"), // cut to 32
		APIKeySecret: "inferstack/llm-prod/llama/api-key", HFTokenSecret: "inferstack/llm-prod/llama/hf-token",
	}
	if n != want {
		t.Errorf("EndpointResourceNames = %+v, want %+v", n, want)
	}
	// Cluster "a" endpoint "b-c" and cluster "a-b" endpoint "c" do not share names.
	x, y := EndpointResourceNames("a", "b-c"), EndpointResourceNames("a-b", "c")
	if x.LaunchTemplate == y.LaunchTemplate || x.Group == y.Group || x.TargetGroup == y.TargetGroup || x.APIKeySecret == y.APIKeySecret {
		t.Errorf("names collide: %+v and %+v", x, y)
	}
	long := EndpointResourceNames(strings.Repeat("c", 63), strings.Repeat("e--", 13)+"e")
	if tg := long.TargetGroup; len(tg) > 32 || strings.Contains(tg, "--") || strings.HasSuffix(tg, "-") {
		t.Errorf("target group name %q: want at most 32 characters, no doubled or trailing hyphen", tg)
	}
	if len(long.LaunchTemplate) > 128 {
		t.Errorf("launch template name %q is longer than 128", long.LaunchTemplate)
	}
}

func TestParseEndpointID(t *testing.T) {
	t.Parallel()
	tests := []struct {
		id, region, cluster, name string
		ok                        bool
	}{
		{"aws/us-east-1/llm,llama", "us-east-1", "llm", "llama", true},
		{"us-east-1/llm,llama", "us-east-1", "llm", "llama", true},
		{"llm,llama", "", "llm", "llama", true},
		{"aws/us-east-1/llm", "", "", "", false},
		{"aws/us-east-1/llm,Llama", "", "", "", false},
		{"aws/us-east-1/LLM,llama", "", "", "", false},
	}
	for _, tt := range tests {
		r, c, n, err := ParseEndpointID(tt.id)
		if (err == nil) != tt.ok || r != tt.region || c != tt.cluster || n != tt.name {
			t.Errorf("ParseEndpointID(%q) = %q, %q, %q, %v; want %q, %q, %q, ok=%v", tt.id, r, c, n, err, tt.region, tt.cluster, tt.name, tt.ok)
		}
	}
	if id := EndpointID(ClusterID("us-east-1", "llm"), "llama"); id != "aws/us-east-1/llm,llama" {
		t.Errorf("EndpointID = %q", id)
	}
}

func TestCheckEndpointSpec(t *testing.T) {
	t.Parallel()
	ok := EndpointSpec{Cluster: "c", Name: "e", Port: 8000, Replicas: 2, APIKey: "k"}
	tests := []struct {
		name  string
		edit  func(*EndpointSpec)
		attrs string
	}{
		{"ok", func(*EndpointSpec) {}, "[]"},
		{"scale to zero", func(s *EndpointSpec) { s.Replicas, s.MaxReplicas = 0, 3 }, "[]"},
		{"bad name", func(s *EndpointSpec) { s.Name = "E_1" }, "[name]"},
		{"port", func(s *EndpointSpec) { s.Port = 70000 }, "[port]"},
		{"bounds", func(s *EndpointSpec) { s.MinReplicas, s.MaxReplicas = 3, 4 }, "[autoscaling]"},
		{"max below", func(s *EndpointSpec) { s.MaxReplicas = 1 }, "[autoscaling]"},
		{"no key", func(s *EndpointSpec) { s.APIKey = "" }, "[api_key]"},
		{"refresh", func(s *EndpointSpec) { s.MinHealthyPercentage, s.HealthCheckGraceSeconds = 101, -1 }, "[health_check_grace_seconds min_healthy_percentage]"},
	}
	for _, tt := range tests {
		s := ok
		tt.edit(&s)
		var attrs []string
		for _, ie := range backend.InputErrors(checkEndpointSpec(s.withDefaults())) {
			attrs = append(attrs, ie.Attribute)
		}
		if got := fmt.Sprint(attrs); got != tt.attrs {
			t.Errorf("%s: attributes %s, want %s", tt.name, got, tt.attrs)
		}
	}
	d := ok.withDefaults()
	if d.MinReplicas != 2 || d.MaxReplicas != 2 || d.HealthCheckGraceSeconds != 1200 || d.MinHealthyPercentage != 50 {
		t.Errorf("defaults: %+v", d)
	}
}

func TestCheckClusterForEndpoint(t *testing.T) {
	t.Parallel()
	c := &Cluster{Name: "c", Region: "r", ServingPorts: []int64{8000, 8001}}
	if err := checkCluster(EndpointSpec{Port: 8001}, c); err != nil {
		t.Errorf("port 8001 of [8000 8001]: %v", err)
	}
	err := checkCluster(EndpointSpec{Port: 9000}, c)
	if ies := backend.InputErrors(err); len(ies) != 1 || ies[0].Attribute != "port" || !strings.Contains(err.Error(), "(8000, 8001)") {
		t.Errorf("port 9000: %v, want a port error naming the serving ports", err)
	}
	c.Missing = []string{"load balancer"}
	if err := checkCluster(EndpointSpec{Port: 8000}, c); err == nil || !strings.Contains(err.Error(), "missing: load balancer") {
		t.Errorf("incomplete cluster: %v", err)
	}
}

func TestNodeSpecKeepsSecretsOut(t *testing.T) {
	t.Parallel()
	s := EndpointSpec{
		Cluster: "c", Name: "llama", Port: 8001, APIKey: "sk-very-secret", HFToken: "hf_secret",
		Node: vllm.Spec{
			Model:  vllm.Model{ID: "meta-llama/Llama-3.1-8B-Instruct", Revision: strings.Repeat("ab", 20)},
			Engine: vllm.Engine{TensorParallelSize: 2},
			Env:    map[string]string{"A": "b"},
		},
	}
	sec := endpointSecrets{
		APIKeyARN: "arn:aws:secretsmanager:us-west-2:123456789012:secret:inferstack/c/llama/api-key-AbCdEf", APIKeyVersion: "v1",
		HFTokenARN: "arn:aws:secretsmanager:us-west-2:123456789012:secret:inferstack/c/llama/hf-token-AbCdEf", HFTokenVersion: "v2",
	}
	n := nodeSpec(s, "us-west-2", 4, sec)
	if n.Endpoint != "llama" || len(n.Replicas) != 1 || n.Replicas[0].Port != 8001 || n.GPUsPerReplica != 4 || n.ListenAddress != "" {
		t.Errorf("node spec %+v: want one replica on 8001 with the node's 4 GPUs", n)
	}
	if n.Env[EnvSecretsVersion] != "v1,v2" || s.Node.Env[EnvSecretsVersion] != "" {
		t.Errorf("env %v (spec's %v): want the secret versions, without changing the spec", n.Env, s.Node.Env)
	}
	ud, err := userData(n)
	if err != nil {
		t.Fatal(err)
	}
	raw := decodeUserData(ud)
	spec, err := vllm.SpecFromCloudInit(raw, "llama")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{sec.APIKeyARN, sec.HFTokenARN, "\"region\": \"us-west-2\"", strings.Repeat("ab", 20)} {
		if !strings.Contains(string(spec), want) {
			t.Errorf("the node spec lacks %s:\n%s", want, spec)
		}
	}
	for _, secret := range []string{"sk-very-secret", "hf_secret"} {
		if strings.Contains(raw+string(spec), secret) {
			t.Errorf("user data holds the secret %q", secret)
		}
	}
	if err := checkGPUs(vllm.Spec{Engine: vllm.Engine{TensorParallelSize: 8}}, "g5.12xlarge", 4); len(vllm.SpecErrors(err)) != 1 {
		t.Errorf("tp 8 on 4 GPUs: %v, want a spec error", err)
	}
}

func TestBaseRef(t *testing.T) {
	t.Parallel()
	r := baseRef{ID: "lt-0123abc", Version: 12}
	if got := parseBaseRef(r.description("llama")); got != r {
		t.Errorf("parseBaseRef(description) = %+v, want %+v", got, r)
	}
	if got := parseBaseRef("made by hand"); got != (baseRef{}) {
		t.Errorf("parseBaseRef of a foreign description = %+v", got)
	}
}

func TestDistribution(t *testing.T) {
	t.Parallel()
	d := distribution(Capacity{OnDemandBase: 1, SpotPercentage: 70})
	if *d.OnDemandBaseCapacity != 1 || *d.OnDemandPercentageAboveBaseCapacity != 30 || *d.SpotAllocationStrategy != "price-capacity-optimized" {
		t.Errorf("distribution = %+v", d)
	}
}

// TestGroupReservation: a cluster's capacity reservation goes on the endpoint's group, preferred
// by its on-demand nodes, and a group without it does not match.
func TestGroupReservation(t *testing.T) {
	t.Parallel()
	w := groupSpec{capacity: Capacity{OnDemandBase: 1, SpotPercentage: 50, CapacityReservationID: "cr-0abc"}}
	r := w.reservation()
	if r == nil || r.CapacityReservationPreference != astypes.CapacityReservationPreferenceCapacityReservationsFirst ||
		fmt.Sprint(r.CapacityReservationTarget.CapacityReservationIds) != "[cr-0abc]" {
		t.Fatalf("reservation %+v: want capacity-reservations-first targeting cr-0abc", r)
	}
	if w.reservationMatches(astypes.AutoScalingGroup{}) {
		t.Error("a group without the reservation matches")
	}
	if !w.reservationMatches(astypes.AutoScalingGroup{CapacityReservationSpecification: r}) {
		t.Error("a group with the reservation does not match")
	}
	if none := (groupSpec{}); none.reservation() != nil || !none.reservationMatches(astypes.AutoScalingGroup{}) {
		t.Error("without a reservation: want none, and any group matching")
	}
}
