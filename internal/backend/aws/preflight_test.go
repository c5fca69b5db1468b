package aws_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/inferstack/terraform-provider-inferstack/internal/acctest"
	"github.com/inferstack/terraform-provider-inferstack/internal/backend"
	awsbackend "github.com/inferstack/terraform-provider-inferstack/internal/backend/aws"
)

// TestCheckCluster: each preflight problem comes back as an input error naming its attribute and
// the numbers, against moto's real instance-type data and offerings. Each case uses a region of
// its own (or reads only), so they run in parallel.
func TestCheckCluster(t *testing.T) {
	t.Parallel()
	lab := acctest.AWS(t)
	b := newBackend(t, lab, 3)
	serveCapacityReservations(lab)

	type result struct {
		attrs []string // attribute of each input error, in order
		match []string // regexps every one of which the joined error text must match
	}
	tests := []struct {
		name   string
		region string
		zones  []string // subnets to make; the spec gets them in this order
		quotas map[string]float64
		spec   func(s *awsbackend.ClusterSpec, n acctest.Network, ami string)
		want   result
		check  func(t *testing.T, pf *awsbackend.Preflight)
	}{
		{
			name: "not a GPU type", region: "eu-central-1", zones: []string{"a"},
			spec: func(s *awsbackend.ClusterSpec, _ acctest.Network, _ string) { s.InstanceType = "m5.large" },
			want: result{[]string{"instance_type"}, []string{`m5\.large has no GPUs; choose a GPU instance type`}},
		},
		{
			name: "no such type", region: "eu-central-1", zones: []string{"a"},
			spec: func(s *awsbackend.ClusterSpec, _ acctest.Network, _ string) { s.InstanceType = "g99.huge" },
			want: result{[]string{"instance_type"}, []string{`g99\.huge is not an EC2 instance type in eu-central-1`}},
		},
		{
			name: "not offered in the region", region: "eu-west-1", zones: []string{"a", "b"},
			spec: func(s *awsbackend.ClusterSpec, _ acctest.Network, _ string) { s.InstanceType = "p5.48xlarge" },
			want: result{[]string{"instance_type"}, []string{`p5\.48xlarge is not offered in eu-west-1a \(subnet-\w+\), eu-west-1b \(subnet-\w+\); it is offered in no Availability Zone of eu-west-1`}},
		},
		{
			name: "not offered in one subnet's zone", region: "ap-southeast-2", zones: []string{"a", "b"},
			quotas: map[string]float64{"L-DB2E81BA": 64},
			spec:   func(s *awsbackend.ClusterSpec, _ acctest.Network, _ string) { s.InstanceType = "g5.xlarge" },
			want: result{[]string{"instance_type"}, []string{
				`^instance_type: g5\.xlarge is not offered in ap-southeast-2a \(subnet-\w+\); it is offered only in ap-southeast-2b, ap-southeast-2c: choose subnets in those zones`}},
		},
		{
			name: "subnet does not exist", region: "eu-central-1", zones: []string{"a"},
			spec: func(s *awsbackend.ClusterSpec, _ acctest.Network, _ string) {
				s.SubnetIDs = append(s.SubnetIDs, "subnet-0123456789abcdef0")
			},
			want: result{[]string{"subnet_ids"}, []string{`subnet-0123456789abcdef0`}},
		},
		{
			name: "on-demand quota too small", region: "ca-central-1", zones: []string{"a", "b"},
			quotas: map[string]float64{"L-417A185B": 0},
			spec: func(s *awsbackend.ClusterSpec, _ acctest.Network, _ string) {
				s.InstanceType, s.MaxNodes = "p4d.24xlarge", 2
			},
			want: result{[]string{"capacity"}, []string{regexp.QuoteMeta(
				`capacity: needs 192 vCPUs for 2 x p4d.24xlarge on-demand (96 vCPUs each), but the quota L-417A185B "Running On-Demand P instances" is 0 in ca-central-1: request an increase to at least 192 (Service Quotas, service ec2, quota L-417A185B), or plan fewer nodes`)}},
		},
		{
			name: "spot quota too small", region: "ca-central-1", zones: []string{"a", "b"},
			quotas: map[string]float64{"L-DB2E81BA": 100, "L-3819A6DF": 4},
			spec: func(s *awsbackend.ClusterSpec, _ acctest.Network, _ string) {
				s.InstanceType, s.MaxNodes, s.Capacity = "g6.xlarge", 4, awsbackend.Capacity{SpotPercentage: 50}
			},
			want: result{[]string{"capacity"}, []string{`needs 8 vCPUs for 2 x g6\.xlarge spot \(4 vCPUs each\), but the quota L-3819A6DF "All G and VT Spot Instance Requests" is 4 in ca-central-1`}},
			check: func(t *testing.T, pf *awsbackend.Preflight) {
				if pf.OnDemandNodes != 2 || pf.SpotNodes != 2 || pf.Quota.NeededVCPUs != 8 || !pf.Quota.Checked || pf.SpotQuota.Value != 4 {
					t.Errorf("preflight %+v: want 2 on-demand and 2 spot nodes", pf)
				}
			},
		},
		{
			name: "quota unreadable is a warning", region: "sa-east-1", zones: []string{"a", "b"},
			spec: func(s *awsbackend.ClusterSpec, _ acctest.Network, _ string) { s.InstanceType = "g5.xlarge" },
			check: func(t *testing.T, pf *awsbackend.Preflight) {
				if pf.Quota.Checked || len(pf.Warnings) != 1 || !strings.Contains(pf.Warnings[0], "L-DB2E81BA") {
					t.Errorf("warnings %q, quota %+v: want one warning naming L-DB2E81BA", pf.Warnings, pf.Quota)
				}
			},
		},
		{
			name: "the DLAMI parameter moto lacks", region: "us-east-2", zones: []string{"a"},
			quotas: map[string]float64{"L-DB2E81BA": 64},
			spec:   func(s *awsbackend.ClusterSpec, _ acctest.Network, _ string) { s.AMI = awsbackend.AMI{} },
			want: result{[]string{"ami"}, []string{regexp.QuoteMeta(
				"ami: the SSM parameter " + awsbackend.DefaultAMIParameter + " does not exist in us-east-2: check its name, or set ami.id")}},
		},
		{
			name: "AMI from an SSM parameter", region: "us-east-2", zones: []string{"a", "b", "a2"},
			quotas: map[string]float64{"L-DB2E81BA": 64},
			spec: func(s *awsbackend.ClusterSpec, _ acctest.Network, ami string) {
				s.AMI = awsbackend.AMI{SSMParameter: putAMIParameter(t, lab, "us-east-2", ami)}
			},
			check: func(t *testing.T, pf *awsbackend.Preflight) {
				if !strings.HasPrefix(pf.ImageID, "ami-") || pf.GPU.Model != "A10G" || pf.GPU.Count != 1 || pf.VCPUs != 4 {
					t.Errorf("preflight %+v: want the parameter's AMI and 1 x A10G", pf)
				}
				if len(pf.LoadBalancerSubnetIDs) != 2 || len(pf.SubnetZones) != 3 || pf.VPCCIDR == "" || pf.AllowedCIDRs[0] != pf.VPCCIDR {
					t.Errorf("preflight %+v: want 3 subnets, 2 for the load balancer (one per zone), allowed CIDRs = the VPC's", pf)
				}
			},
		},
		{
			name: "AMI of another architecture, root volume too small", region: "us-east-1", zones: []string{"a"},
			quotas: map[string]float64{"L-DB2E81BA": 64},
			spec: func(s *awsbackend.ClusterSpec, _ acctest.Network, _ string) {
				s.InstanceType, s.RootVolumeGiB = "g5g.xlarge", 10
			},
			want: result{[]string{"ami", "root_volume_gib"}, []string{
				`AMI ami-\w+ is for x86_64, but g5g\.xlarge runs arm64`, `10 GiB is smaller than AMI ami-\w+'s root snapshot \(15 GiB\)`}},
		},
		{
			name: "several problems at once", region: "us-east-1", zones: []string{"a"},
			spec: func(s *awsbackend.ClusterSpec, _ acctest.Network, _ string) {
				s.InstanceType, s.AMI = "c5.large", awsbackend.AMI{ID: "ami-00000000000000000"}
			},
			want: result{[]string{"instance_type", "ami"}, []string{`c5\.large has no GPUs`, `AMI ami-0+ does not exist in us-east-1`}},
		},
		{
			name: "capacity reservation", region: "eu-north-1", zones: []string{"b", "c"},
			quotas: map[string]float64{"L-DB2E81BA": 64},
			spec: func(s *awsbackend.ClusterSpec, _ acctest.Network, _ string) {
				s.MaxNodes, s.Capacity = 2, awsbackend.Capacity{OnDemandBase: 2, CapacityReservationID: "cr-0good"}
			},
			check: func(t *testing.T, pf *awsbackend.Preflight) {
				if len(pf.Warnings) != 1 || !strings.Contains(pf.Warnings[0], "holds 1 instances; up to 2 nodes") {
					t.Errorf("warnings %q: want one about the reservation's size", pf.Warnings)
				}
			},
		},
		{
			name: "capacity reservation that does not fit", region: "eu-north-1", zones: []string{"b"},
			quotas: map[string]float64{"L-DB2E81BA": 64},
			spec: func(s *awsbackend.ClusterSpec, _ acctest.Network, _ string) {
				s.Capacity = awsbackend.Capacity{CapacityReservationID: "cr-0other"}
			},
			want: result{[]string{"capacity", "capacity", "capacity"}, []string{
				`cr-0other is for p4d\.24xlarge, not g5\.xlarge`, `cr-0other is expired, not active`, `cr-0other is in eu-north-1c, where none of subnet_ids is`}},
		},
		{
			name: "capacity reservation that does not exist", region: "eu-north-1", zones: []string{"b"},
			quotas: map[string]float64{"L-DB2E81BA": 64},
			spec: func(s *awsbackend.ClusterSpec, _ acctest.Network, _ string) {
				s.Capacity = awsbackend.Capacity{CapacityReservationID: "cr-0missing"}
			},
			want: result{[]string{"capacity"}, []string{`capacity reservation cr-0missing does not exist in eu-north-1`}},
		},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			n := lab.MakeNetwork(t, tt.region, fmt.Sprintf("10.%d.0.0/16", 100+i), tt.zones...)
			for code, v := range tt.quotas {
				lab.SetQuota(tt.region, code, v)
			}
			ami := lab.AMI(t, tt.region)
			spec := awsbackend.ClusterSpec{
				Name: acctest.TestName("pf"), Region: tt.region, InstanceType: "g5.xlarge",
				AMI: awsbackend.AMI{ID: ami}, MaxNodes: 1,
			}
			for _, z := range tt.zones {
				spec.SubnetIDs = append(spec.SubnetIDs, n.Subnets[z])
			}
			tt.spec(&spec, n, ami)
			pf, err := b.CheckCluster(context.Background(), spec)
			var attrs []string
			for _, ie := range backend.InputErrors(err) {
				attrs = append(attrs, ie.Attribute)
			}
			if fmt.Sprint(attrs) != fmt.Sprint(tt.want.attrs) {
				t.Fatalf("input errors on %v, want %v; err = %v", attrs, tt.want.attrs, err)
			}
			if err != nil && len(attrs) == 0 {
				t.Fatalf("CheckCluster: %v", err)
			}
			for _, re := range tt.want.match {
				if !regexp.MustCompile(re).MatchString(err.Error()) {
					t.Errorf("error %q does not match %q", err, re)
				}
			}
			if tt.check != nil && pf != nil {
				tt.check(t, pf)
			}
		})
	}
}

// putAMIParameter stores ami under a parameter of the test's own (moto refuses /aws/ names, so
// the DLAMI's own parameter cannot be made) and returns its name.
func putAMIParameter(t *testing.T, lab *acctest.AWSLab, region, ami string) string {
	t.Helper()
	name := "/" + acctest.TestName("dlami") + "/latest/ami-id"
	_, err := directClients(lab, region).ssm.PutParameter(context.Background(), &ssm.PutParameterInput{
		Name: aws.String(name), Value: aws.String(ami), Type: ssmtypes.ParameterTypeString, DataType: aws.String("aws:ec2:image"),
	})
	if err != nil {
		t.Fatalf("putting SSM parameter %s: %v", name, err)
	}
	return name
}

// serveCapacityReservations answers EC2 DescribeCapacityReservations (moto lacks it) from a fixed
// set: cr-0good (1 x g5.xlarge in eu-north-1b, active) and cr-0other (p4d.24xlarge, eu-north-1c,
// expired); any other id is not found.
func serveCapacityReservations(lab *acctest.AWSLab) {
	lab.Proxy.Handle("ec2", "DescribeCapacityReservations", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		form, _ := url.ParseQuery(string(body))
		id := form.Get("CapacityReservationId.1")
		items := map[string]string{
			"cr-0good":  item("cr-0good", "g5.xlarge", "eu-north-1b", "active", 1),
			"cr-0other": item("cr-0other", "p4d.24xlarge", "eu-north-1c", "expired", 4),
		}
		w.Header().Set("Content-Type", "text/xml")
		it, ok := items[id]
		if !ok {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>InvalidCapacityReservationId.NotFound</Code><Message>The capacity reservation ID '%s' does not exist</Message></Error></Errors><RequestID>r</RequestID></Response>`, id)
			return
		}
		fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><DescribeCapacityReservationsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>r</requestId><capacityReservationSet>%s</capacityReservationSet></DescribeCapacityReservationsResponse>`, it)
	}))
}

func item(id, typ, zone, state string, count int) string {
	return fmt.Sprintf(`<item><capacityReservationId>%s</capacityReservationId><instanceType>%s</instanceType><instancePlatform>Linux/UNIX</instancePlatform>`+
		`<availabilityZone>%s</availabilityZone><state>%s</state><totalInstanceCount>%d</totalInstanceCount><availableInstanceCount>%d</availableInstanceCount></item>`,
		id, typ, zone, state, count, count)
}

// TestCheckClusterQuotaUnreadable: a quota the provider cannot read (access denied; Service
// Quotas answering 503 on every attempt) does not block the apply: CheckCluster returns no error,
// the quota unchecked, and a warning naming the quota, the region and what to check. The client
// retries 25 times by default; Service Quotas gets 3 attempts.
func TestCheckClusterQuotaUnreadable(t *testing.T) {
	t.Parallel()
	lab := acctest.AWS(t)
	b := newBackend(t, lab, 0) // the provider's default attempts
	for i, tc := range []struct {
		region   string
		kind     acctest.FaultKind
		attempts int    // GetServiceQuota calls that reach the lab
		check    string // what the warning says to check
	}{
		{"us-west-1", acctest.Denied, 1, "check it in the Service Quotas console (service ec2, quota L-DB2E81BA) or allow servicequotas:GetServiceQuota"},
		{"ap-southeast-1", acctest.Unavailable, 3, "check it in the Service Quotas console (service ec2, quota L-DB2E81BA)"},
	} {
		t.Run(tc.kind.String(), func(t *testing.T) {
			t.Parallel()
			n := lab.MakeNetwork(t, tc.region, fmt.Sprintf("10.%d.0.0/16", 120+i), "a")
			lab.SetQuota(tc.region, "L-DB2E81BA", 64) // readable but for the fault
			spec := awsbackend.ClusterSpec{
				Name: acctest.TestName("pf"), Region: tc.region, InstanceType: "g4dn.xlarge", SubnetIDs: n.SubnetIDs("a"),
				AMI: awsbackend.AMI{ID: lab.AMI(t, tc.region)}, MaxNodes: 2,
			}
			before := lab.Proxy.CountRegion(tc.region, "servicequotas", "GetServiceQuota")
			// Exactly as many faults as attempts: a client that tried once more would read the quota.
			lab.Proxy.Inject(acctest.Fault{Region: tc.region, Service: "servicequotas", Kind: tc.kind, Times: tc.attempts})
			pf, err := b.CheckCluster(context.Background(), spec)
			if err != nil {
				t.Fatalf("CheckCluster with an unreadable quota: %v, want no error", err)
			}
			if got := lab.Proxy.CountRegion(tc.region, "servicequotas", "GetServiceQuota") - before; got != tc.attempts {
				t.Errorf("GetServiceQuota reached the lab %d times, want %d", got, tc.attempts)
			}
			if pf.Quota.Checked || pf.Quota.Code != "L-DB2E81BA" || pf.Quota.NeededVCPUs != 8 {
				t.Errorf("quota = %+v, want L-DB2E81BA unchecked, needing 8 vCPUs", pf.Quota)
			}
			want := regexp.MustCompile(`could not read the on-demand vCPU quota L-DB2E81BA "Running On-Demand G and VT instances" in ` + tc.region +
				` \(.+\), so it was not checked: 2 x g4dn\.xlarge need 8 vCPUs; ` + regexp.QuoteMeta(tc.check))
			if len(pf.Warnings) != 1 || !want.MatchString(pf.Warnings[0]) {
				t.Errorf("warnings = %q, want one matching %s", pf.Warnings, want)
			}
		})
	}
}
