package acctest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// What the AWS lab adds to moto for every test package: EC2 vCPU quotas (moto has no Service
// Quotas for EC2), a VPC with private subnets, and an AMI id to launch from.

// QuotaNames are the EC2 vCPU quotas the cluster's preflight reads, by code.
var QuotaNames = map[string]string{
	"L-DB2E81BA": "Running On-Demand G and VT instances",
	"L-417A185B": "Running On-Demand P instances",
	"L-3819A6DF": "All G and VT Spot Instance Requests",
	"L-7212CCBC": "All P Spot Instance Requests",
}

type quotas struct {
	once  sync.Once
	mu    sync.Mutex
	table map[string]float64 // "<region>/<code>" -> vCPUs
}

// SetQuota makes Service Quotas' GetServiceQuota (and GetAWSDefaultServiceQuota) answer value for
// the EC2 quota code in region; a code never set answers NoSuchResourceException, as AWS does for
// an unknown code.
func (l *AWSLab) SetQuota(region, code string, value float64) {
	l.quotas.once.Do(func() {
		l.quotas.table = map[string]float64{}
		l.Proxy.Handle("servicequotas", "GetServiceQuota", http.HandlerFunc(l.serveQuota))
		l.Proxy.Handle("servicequotas", "GetAWSDefaultServiceQuota", http.HandlerFunc(l.serveQuota))
	})
	l.quotas.mu.Lock()
	defer l.quotas.mu.Unlock()
	l.quotas.table[region+"/"+code] = value
}

// SetGPUQuotas sets every EC2 GPU vCPU quota (G/VT and P, on-demand and spot) in region to vcpus.
func (l *AWSLab) SetGPUQuotas(region string, vcpus float64) {
	for code := range QuotaNames {
		l.SetQuota(region, code, vcpus)
	}
}

func (l *AWSLab) serveQuota(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	region, _, _ := Operation(r, body)
	var in struct{ ServiceCode, QuotaCode string }
	_ = json.Unmarshal(body, &in)
	l.quotas.mu.Lock()
	v, ok := l.quotas.table[region+"/"+in.QuotaCode]
	l.quotas.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	if !ok || in.ServiceCode != "ec2" {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `{"__type":"NoSuchResourceException","message":"The request failed because the specified service quota %s does not exist."}`, in.QuotaCode)
		return
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"Quota": map[string]any{
		"ServiceCode": "ec2", "ServiceName": "Amazon Elastic Compute Cloud (Amazon EC2)",
		"QuotaCode": in.QuotaCode, "QuotaName": QuotaNames[in.QuotaCode],
		"QuotaArn": fmt.Sprintf("arn:aws:servicequotas:%s:123456789012:ec2/%s", region, in.QuotaCode),
		"Value":    v, "Unit": "None", "Adjustable": true, "GlobalQuota": false,
	}})
}

// EC2 is an EC2 client that talks to moto itself, past the proxy (no faults, not counted), for
// set-up and assertions.
func (l *AWSLab) EC2(region string) *ec2.Client {
	return ec2.NewFromConfig(l.DirectConfig(region))
}

// DirectConfig is an SDK config for moto itself, past the proxy.
func (l *AWSLab) DirectConfig(region string) aws.Config {
	return aws.Config{
		Region:           region,
		Credentials:      credentials.NewStaticCredentialsProvider("testing", "testing", ""),
		RetryMaxAttempts: 1,
		BaseEndpoint:     aws.String(l.Moto.URL),
	}
}

// Network is a VPC with subnets made in moto for a test.
type Network struct {
	VPCID   string
	CIDR    string
	Subnets map[string]string // zone suffix as given ("a", "b", "a2") -> subnet id
}

// SubnetIDs are the network's subnet ids in the order of zones.
func (n Network) SubnetIDs(zones ...string) []string {
	out := make([]string, 0, len(zones))
	for _, z := range zones {
		out = append(out, n.Subnets[z])
	}
	return out
}

// MakeNetwork makes a VPC with cidr (a /16) and one private subnet in each zone suffix given
// ("a", "b"; "a2" is a second subnet in zone a).
func (l *AWSLab) MakeNetwork(t testing.TB, region, cidr string, zones ...string) Network {
	t.Helper()
	ctx := context.Background()
	c := l.EC2(region)
	v, err := c.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String(cidr)})
	if err != nil {
		t.Fatalf("creating a VPC in moto: %v", err)
	}
	n := Network{VPCID: aws.ToString(v.Vpc.VpcId), CIDR: cidr, Subnets: map[string]string{}}
	octets := strings.Split(cidr, ".")
	for i, z := range zones {
		s, err := c.CreateSubnet(ctx, &ec2.CreateSubnetInput{
			VpcId:            v.Vpc.VpcId,
			CidrBlock:        aws.String(fmt.Sprintf("%s.%s.%d.0/24", octets[0], octets[1], i+1)),
			AvailabilityZone: aws.String(region + z[:1]),
		})
		if err != nil {
			t.Fatalf("creating a subnet in %s%s: %v", region, z, err)
		}
		n.Subnets[z] = aws.ToString(s.Subnet.SubnetId)
	}
	return n
}

// AMI is an x86_64 AMI moto ships in region.
func (l *AWSLab) AMI(t testing.TB, region string) string {
	t.Helper()
	out, err := l.EC2(region).DescribeImages(context.Background(), &ec2.DescribeImagesInput{
		Owners:  []string{"amazon"},
		Filters: []ec2types.Filter{{Name: aws.String("architecture"), Values: []string{"x86_64"}}},
	})
	if err != nil || len(out.Images) == 0 {
		t.Fatalf("moto has no amazon x86_64 AMI in %s: %v", region, err)
	}
	return aws.ToString(out.Images[0].ImageId)
}
