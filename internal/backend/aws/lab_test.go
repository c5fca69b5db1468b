package aws_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/inferstack/terraform-provider-inferstack/internal/acctest"
	awsbackend "github.com/inferstack/terraform-provider-inferstack/internal/backend/aws"
)

// The acceptance tests run against moto behind the harness proxy (acctest.AWS). Parallel tests
// each use a region of their own, so faults scoped by region and per-region call counts do not
// cross. IAM is global: its names carry the region, and tests that count IAM calls do not run in
// parallel. moto has no EC2 service quotas, so a proxy handler answers GetServiceQuota from a
// per-region table (quotaTable) that each test fills.

func TestMain(m *testing.M) {
	awsbackend.SetPollInterval(100 * time.Millisecond)
	acctest.Main(m)
}

func newBackend(t *testing.T, lab *acctest.AWSLab, attempts int) *awsbackend.Backend {
	t.Helper()
	eps := map[string]string{}
	for _, svc := range awsbackend.EndpointServices() {
		eps[svc] = lab.URL()
	}
	return awsbackend.New(awsbackend.Config{
		Region: "us-east-1", AccessKey: "testing", SecretKey: "testing",
		MaxAttempts: attempts, Endpoints: eps, UserAgent: "terraform-provider-inferstack/test",
	})
}

// direct are SDK clients that talk to moto itself (past the proxy), for assertions and set-up.
type direct struct {
	ec2 *ec2.Client
	iam *iam.Client
	elb *elbv2.Client
	ssm *ssm.Client
}

func directClients(lab *acctest.AWSLab, region string) direct {
	cfg := aws.Config{
		Region:           region,
		Credentials:      credentials.NewStaticCredentialsProvider("testing", "testing", ""),
		RetryMaxAttempts: 1,
		BaseEndpoint:     aws.String(lab.Moto.URL),
	}
	return direct{ec2: ec2.NewFromConfig(cfg), iam: iam.NewFromConfig(cfg), elb: elbv2.NewFromConfig(cfg), ssm: ssm.NewFromConfig(cfg)}
}

// network is a VPC with subnets made in moto for a test.
type network struct {
	vpcID   string
	cidr    string
	subnets map[string]string // zone suffix ("a") -> subnet id
}

// makeNetwork makes a VPC with cidr (a /16) and one private subnet in each zone suffix given.
func makeNetwork(t *testing.T, d direct, region, cidr string, zones ...string) network {
	t.Helper()
	ctx := context.Background()
	v, err := d.ec2.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String(cidr)})
	if err != nil {
		t.Fatalf("creating a VPC in moto: %v", err)
	}
	n := network{vpcID: aws.ToString(v.Vpc.VpcId), cidr: cidr, subnets: map[string]string{}}
	octets := strings.Split(cidr, ".")
	for i, z := range zones { // "a", "b", "a2" (a second subnet in zone a)
		s, err := d.ec2.CreateSubnet(ctx, &ec2.CreateSubnetInput{
			VpcId:            v.Vpc.VpcId,
			CidrBlock:        aws.String(fmt.Sprintf("%s.%s.%d.0/24", octets[0], octets[1], i+1)),
			AvailabilityZone: aws.String(region + z[:1]),
		})
		if err != nil {
			t.Fatalf("creating a subnet in %s%s: %v", region, z, err)
		}
		n.subnets[z] = aws.ToString(s.Subnet.SubnetId)
	}
	return n
}

// amazonAMI is an x86_64 AMI moto ships in region.
func amazonAMI(t *testing.T, d direct) string {
	t.Helper()
	out, err := d.ec2.DescribeImages(context.Background(), &ec2.DescribeImagesInput{
		Owners:  []string{"amazon"},
		Filters: []ec2types.Filter{{Name: aws.String("architecture"), Values: []string{"x86_64"}}},
	})
	if err != nil || len(out.Images) == 0 {
		t.Fatalf("moto has no amazon x86_64 AMI: %v", err)
	}
	return aws.ToString(out.Images[0].ImageId)
}

var (
	quotaMu    sync.Mutex
	quotaTable = map[string]float64{} // "<region>/<code>" -> vCPUs
	quotaOnce  sync.Once
)

// setQuota makes GetServiceQuota answer value for the EC2 quota code in region.
func setQuota(lab *acctest.AWSLab, region, code string, value float64) {
	quotaOnce.Do(func() {
		lab.Proxy.Handle("servicequotas", "GetServiceQuota", http.HandlerFunc(serveQuota))
		lab.Proxy.Handle("servicequotas", "GetAWSDefaultServiceQuota", http.HandlerFunc(serveQuota))
	})
	quotaMu.Lock()
	defer quotaMu.Unlock()
	quotaTable[region+"/"+code] = value
}

var quotaNames = map[string]string{
	"L-DB2E81BA": "Running On-Demand G and VT instances",
	"L-417A185B": "Running On-Demand P instances",
	"L-3819A6DF": "All G and VT Spot Instance Requests",
	"L-7212CCBC": "All P Spot Instance Requests",
}

// serveQuota answers Service Quotas' GetServiceQuota and GetAWSDefaultServiceQuota (JSON 1.1) as
// AWS does: the quota, or NoSuchResourceException.
func serveQuota(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	region, _, _ := acctest.Operation(r, body)
	var in struct{ ServiceCode, QuotaCode string }
	_ = json.Unmarshal(body, &in)
	quotaMu.Lock()
	v, ok := quotaTable[region+"/"+in.QuotaCode]
	quotaMu.Unlock()
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	if !ok || in.ServiceCode != "ec2" {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `{"__type":"NoSuchResourceException","message":"The request failed because the specified service quota %s does not exist."}`, in.QuotaCode)
		return
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"Quota": map[string]any{
		"ServiceCode": "ec2", "ServiceName": "Amazon Elastic Compute Cloud (Amazon EC2)",
		"QuotaCode": in.QuotaCode, "QuotaName": quotaNames[in.QuotaCode], "QuotaArn": fmt.Sprintf("arn:aws:servicequotas:%s:123456789012:ec2/%s", region, in.QuotaCode),
		"Value": v, "Unit": "None", "Adjustable": true, "GlobalQuota": false,
	}})
}

// mutations sums the proxy's counts of calls that change something, per operation.
func mutations(lab *acctest.AWSLab) map[string]int {
	out := map[string]int{}
	for k, v := range lab.Proxy.Counts() {
		if strings.Contains(k, "/") { // per-region duplicates
			continue
		}
		op := k[strings.Index(k, ":")+1:]
		for _, verb := range []string{"Create", "Put", "Attach", "Add", "Authorize", "Revoke", "Set", "Tag", "Untag", "Delete", "Detach", "Remove", "Modify"} {
			if strings.HasPrefix(op, verb) {
				out[k] = v
			}
		}
	}
	return out
}

var (
	violationsMu sync.Mutex
	violations   = map[string]*int{} // region -> DependencyViolation answers left
	violOnce     sync.Once
)

// dependencyViolations makes EC2 DeleteSecurityGroup in region answer DependencyViolation the
// next n times, forwarding the rest to moto; set changes n, left says how many remain.
func dependencyViolations(lab *acctest.AWSLab, region string, n int) (set func(int), left func() int) {
	violOnce.Do(func() {
		target, _ := url.Parse(lab.Moto.URL)
		rp := httputil.NewSingleHostReverseProxy(target)
		lab.Proxy.Handle("ec2", "DeleteSecurityGroup", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			reg, _, _ := acctest.Operation(r, body)
			violationsMu.Lock()
			left := violations[reg]
			fail := left != nil && *left > 0
			if fail {
				*left--
			}
			violationsMu.Unlock()
			if fail {
				w.Header().Set("Content-Type", "text/xml")
				w.WriteHeader(http.StatusBadRequest)
				_, _ = io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>DependencyViolation</Code><Message>resource has a dependent object</Message></Error></Errors><RequestID>r</RequestID></Response>`)
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			rp.ServeHTTP(w, r)
		}))
	})
	v := new(int)
	set = func(n int) {
		violationsMu.Lock()
		defer violationsMu.Unlock()
		*v = n
		violations[region] = v
	}
	left = func() int {
		violationsMu.Lock()
		defer violationsMu.Unlock()
		return *v
	}
	set(n)
	return set, left
}
