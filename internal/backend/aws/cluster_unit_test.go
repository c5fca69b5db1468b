package aws

import (
	"fmt"
	"strings"
	"testing"

	"github.com/inferstack/terraform-provider-inferstack/internal/backend"
)

func TestResourceNames(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("a", 40) + "-cluster"
	tests := []struct {
		region, cluster string
		want            Names
	}{
		{"us-east-1", "llm-prod", Names{
			SecurityGroup: "inferstack-llm-prod", LoadBalancerSecurityGroup: "inferstack-llm-prod-lb", Role: "inferstack-llm-prod-us-east-1-node", InstanceProfile: "inferstack-llm-prod-us-east-1-node",
			IAMPath: "/inferstack/", LoadBalancer: "inferstack-llm-prod", SecretsPrefix: "inferstack/llm-prod/",
			LaunchTemplate: "inferstack-llm-prod",
		}},
	}
	for _, tt := range tests {
		if got := ResourceNames(tt.region, tt.cluster); got != tt.want {
			t.Errorf("ResourceNames(%q, %q) = %+v, want %+v", tt.region, tt.cluster, got, tt.want)
		}
	}
	n := ResourceNames("ap-southeast-2", long)
	if len(n.LoadBalancer) > 32 || !strings.HasPrefix(n.LoadBalancer, "inferstack-aaaa") || strings.HasSuffix(n.LoadBalancer, "-") {
		t.Errorf("load balancer name %q: want <= 32 characters, cut from the full name", n.LoadBalancer)
	}
	if len(n.Role) > 64 || !strings.HasSuffix(n.Role, "-node") || n.Role != n.InstanceProfile {
		t.Errorf("role name %q: want <= 64 characters ending in -node", n.Role)
	}
	// Cut names stay distinct: the hash is of the full name.
	if a, b := ResourceNames("us-east-1", long+"1").LoadBalancer, ResourceNames("us-east-1", long+"2").LoadBalancer; a == b {
		t.Errorf("two long names cut to the same load balancer name %q", a)
	}
	if a, b := ResourceNames("us-east-1", long).Role, ResourceNames("us-west-2", long).Role; a == b {
		t.Errorf("the same cluster in two regions got the same IAM role name %q", a)
	}
}

func TestParseClusterID(t *testing.T) {
	t.Parallel()
	tests := []struct {
		id, region, name string
		ok               bool
	}{
		{"aws/us-east-1/llm-prod", "us-east-1", "llm-prod", true},
		{"us-east-1/llm-prod", "us-east-1", "llm-prod", true}, // import convenience
		{"llm-prod", "", "llm-prod", true},
		{"aws", "", "aws", true}, // a cluster named aws, in the provider's region
		{"aws/llm-prod", "", "", false},
		{"aws//llm-prod", "", "", false},
		{"/llm-prod", "", "", false},
		{"us-east-1/LLM", "", "", false},
		{"a/b/c", "", "", false},
		{"onprem/lab/eyJ9", "", "", false},
		{"", "", "", false},
	}
	for _, tt := range tests {
		r, n, err := ParseClusterID(tt.id)
		if (err == nil) != tt.ok || r != tt.region || n != tt.name {
			t.Errorf("ParseClusterID(%q) = %q, %q, %v; want %q, %q, ok=%v", tt.id, r, n, err, tt.region, tt.name, tt.ok)
		}
		if tt.ok && tt.region != "" {
			if id := ClusterID(r, n); id != "aws/"+tt.region+"/"+tt.name || !IsClusterID(id) {
				t.Errorf("ClusterID(%q, %q) = %q, want aws/%s/%s", r, n, id, tt.region, tt.name)
			}
		}
	}
	for _, id := range []string{"us-east-1/llm", "llm", "onprem/lab/eyJ9"} {
		if IsClusterID(id) {
			t.Errorf("IsClusterID(%q) = true, want false: only ClusterID's form counts", id)
		}
	}
}

func TestNodeSplit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		max            int64
		c              Capacity
		onDemand, spot int64
	}{
		{4, Capacity{}, 4, 0},
		{4, Capacity{SpotPercentage: 100}, 0, 4},
		{4, Capacity{OnDemandBase: 1, SpotPercentage: 50}, 3, 1}, // 1 + ceil(3*0.5)
		{5, Capacity{OnDemandBase: 1, SpotPercentage: 50}, 3, 2},
		{2, Capacity{OnDemandBase: 5, SpotPercentage: 100}, 2, 0},
		{3, Capacity{SpotPercentage: 70}, 1, 2}, // ceil(0.9)
	}
	for _, tt := range tests {
		od, sp := nodeSplit(tt.max, tt.c)
		if od != tt.onDemand || sp != tt.spot {
			t.Errorf("nodeSplit(%d, %+v) = %d, %d; want %d, %d", tt.max, tt.c, od, sp, tt.onDemand, tt.spot)
		}
	}
}

func TestQuotaFamily(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"g5.xlarge": "G", "g6e.12xlarge": "G", "gr6.4xlarge": "G", "vt1.3xlarge": "G", "p4d.24xlarge": "P", "p5.48xlarge": "P", "dl1.24xlarge": "", "inf2.xlarge": ""} {
		if got := quotaFamily(in); got != want {
			t.Errorf("quotaFamily(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestPortRanges(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   []int64
		want string
	}{
		{[]int64{8000}, "[{8000 8000}]"},
		{[]int64{8002, 8000, 8001, 8001, 9000}, "[{8000 8002} {9000 9000}]"},
		{nil, "[]"},
	}
	for _, tt := range tests {
		if got := fmt.Sprint(portRanges(tt.in)); got != tt.want {
			t.Errorf("portRanges(%v) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestTagDiff(t *testing.T) {
	t.Parallel()
	set, remove := tagDiff(
		map[string]string{"a": "1", "b": "2", "aws:cloudformation:stack-name": "x", "gone": "y"},
		map[string]string{"a": "1", "b": "3", "new": "n"},
	)
	if fmt.Sprint(set) != "map[b:3 new:n]" || fmt.Sprint(remove) != "[gone]" {
		t.Errorf("tagDiff: set %v, remove %v; want set map[b:3 new:n], remove [gone]", set, remove)
	}
}

func TestCheckSpec(t *testing.T) {
	t.Parallel()
	ok := ClusterSpec{Name: "c", SubnetIDs: []string{"subnet-1"}, InstanceType: "g5.xlarge"}
	tests := []struct {
		name  string
		edit  func(*ClusterSpec)
		attrs string
	}{
		{"ok", func(*ClusterSpec) {}, "[]"},
		{"bad name", func(s *ClusterSpec) { s.Name = "Bad_Name" }, "[name]"},
		{"no subnets", func(s *ClusterSpec) { s.SubnetIDs = nil }, "[subnet_ids]"},
		{"both amis", func(s *ClusterSpec) { s.AMI = AMI{ID: "ami-1", SSMParameter: "/x"} }, "[ami]"},
		{"capacity", func(s *ClusterSpec) { s.Capacity = Capacity{OnDemandBase: -1, SpotPercentage: 101} }, "[capacity capacity]"},
		{"cidrs", func(s *ClusterSpec) { s.AllowedCIDRs = []string{"10.0.0.1/16", "nope", "10.0.0.0/8", "fd00::/8"} }, "[allowed_cidrs allowed_cidrs]"},
		{"ports", func(s *ClusterSpec) { s.ServingPorts = []int64{0} }, "[serving_ports]"},
	}
	for _, tt := range tests {
		s := ok
		tt.edit(&s)
		var attrs []string
		for _, ie := range backend.InputErrors(checkSpec(s)) {
			attrs = append(attrs, ie.Attribute)
		}
		if got := fmt.Sprint(attrs); got != tt.attrs {
			t.Errorf("%s: attributes %s, want %s", tt.name, got, tt.attrs)
		}
	}
}

func TestDesiredRules(t *testing.T) {
	t.Parallel()
	ports := []int64{8001, 8000, 9000}
	for _, tt := range []struct {
		name  string
		rules []sgRule
		want  string
	}{
		{"load balancer: the allowed CIDRs, nothing else", cidrRules([]string{"10.0.0.0/16", "fd00::/8"}, ports),
			"tcp 8000-8001 from 10.0.0.0/16|tcp 8000-8001 from fd00::/8|tcp 9000-9000 from 10.0.0.0/16|tcp 9000-9000 from fd00::/8"},
		{"nodes: the load balancer's group only", groupRules("sg-lb", ports), "tcp 8000-8001 from sg-lb|tcp 9000-9000 from sg-lb"},
	} {
		var s []string
		for _, r := range tt.rules {
			s = append(s, r.String())
		}
		if got := strings.Join(s, "|"); got != tt.want {
			t.Errorf("%s: rules = %s, want %s", tt.name, got, tt.want)
		}
	}
}
