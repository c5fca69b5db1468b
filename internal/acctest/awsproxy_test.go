package acctest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"
)

func labEC2(t *testing.T, lab *AWSLab, region string, attempts int) *ec2.Client {
	t.Helper()
	return ec2.New(ec2.Options{
		Region:           region,
		BaseEndpoint:     aws.String(lab.URL()),
		Credentials:      credentials.NewStaticCredentialsProvider("testing", "testing", ""),
		RetryMaxAttempts: attempts,
	})
}

// TestAWSLabMotoReallyUsed: a VPC made through the proxy exists in moto, the proxy counted the
// calls, and a reset empties moto.
func TestAWSLabMotoReallyUsed(t *testing.T) {
	lab := AWS(t)
	ctx := context.Background()
	c := labEC2(t, lab, "eu-central-1", 1)
	before := lab.Proxy.CountRegion("eu-central-1", "ec2", "CreateVpc")
	out, err := c.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.42.0.0/16")})
	if err != nil {
		t.Fatalf("CreateVpc through the proxy: %v", err)
	}
	if n := lab.Proxy.CountRegion("eu-central-1", "ec2", "CreateVpc") - before; n != 1 {
		t.Errorf("proxy counted %d CreateVpc calls, want 1", n)
	}
	vpcs, err := c.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{VpcIds: []string{aws.ToString(out.Vpc.VpcId)}})
	if err != nil || len(vpcs.Vpcs) != 1 || aws.ToString(vpcs.Vpcs[0].CidrBlock) != "10.42.0.0/16" {
		t.Fatalf("DescribeVpcs = %+v, %v; want the VPC just made", vpcs, err)
	}
	if err := lab.Moto.Reset(); err != nil {
		t.Fatal(err)
	}
	_, err = c.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{VpcIds: []string{aws.ToString(out.Vpc.VpcId)}})
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || !strings.Contains(apiErr.ErrorCode(), "NotFound") {
		t.Fatalf("after reset DescribeVpcs err = %v, want a NotFound error", err)
	}
}

// TestAWSLabFaults: each fault kind reaches the SDK as the real service's fault would: with one
// attempt the call fails with the right error; with retries it succeeds.
func TestAWSLabFaults(t *testing.T) {
	t.Parallel()
	lab := AWS(t)
	ctx := context.Background()
	cases := []struct {
		region string
		kind   FaultKind
		code   string // error code when not retried; "" = a transport error
	}{
		{"ap-south-1", Throttle, "RequestLimitExceeded"},
		{"ap-northeast-1", ServerError, "InternalError"},
		{"sa-east-1", Drop, ""},
		{"eu-north-1", Unavailable, "ServiceUnavailable"},
	}
	for _, tc := range cases {
		t.Run(tc.kind.String(), func(t *testing.T) {
			t.Parallel()
			lab.Proxy.Inject(Fault{Region: tc.region, Service: "ec2", Operation: "DescribeRegions", Kind: tc.kind, Times: 1})
			_, err := labEC2(t, lab, tc.region, 1).DescribeRegions(ctx, &ec2.DescribeRegionsInput{})
			if err == nil {
				t.Fatal("the fault did not reach the client")
			}
			var apiErr smithy.APIError
			if tc.code != "" && (!errors.As(err, &apiErr) || apiErr.ErrorCode() != tc.code) {
				t.Fatalf("err = %v, want error code %s", err, tc.code)
			}
			before := lab.Proxy.CountRegion(tc.region, "ec2", "DescribeRegions")
			lab.Proxy.Inject(Fault{Region: tc.region, Service: "ec2", Operation: "DescribeRegions", Kind: tc.kind, Times: 2})
			if _, err := labEC2(t, lab, tc.region, 5).DescribeRegions(ctx, &ec2.DescribeRegionsInput{}); err != nil {
				t.Fatalf("with retries: %v", err)
			}
			if n := lab.Proxy.CountRegion(tc.region, "ec2", "DescribeRegions") - before; n != 3 {
				t.Errorf("proxy saw %d attempts, want 3 (2 faults + 1 success)", n)
			}
		})
	}
}

// TestAWSLabHandle: a call moto lacks is answered by a handler the test registers, and latency
// delays a forwarded call.
func TestAWSLabHandle(t *testing.T) {
	t.Parallel()
	lab := AWS(t)
	ctx := context.Background()
	lab.Proxy.Handle("ec2", "DescribeCapacityBlockOfferings", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/xml")
		_, _ = io.WriteString(w, `<DescribeCapacityBlockOfferingsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">`+
			`<requestId>r</requestId><capacityBlockOfferingSet><item><capacityBlockOfferingId>cbo-lab</capacityBlockOfferingId>`+
			`<instanceType>p5.48xlarge</instanceType><instanceCount>1</instanceCount></item></capacityBlockOfferingSet>`+
			`</DescribeCapacityBlockOfferingsResponse>`)
	}))
	c := labEC2(t, lab, "ca-central-1", 1)
	out, err := c.DescribeCapacityBlockOfferings(ctx, &ec2.DescribeCapacityBlockOfferingsInput{CapacityDurationHours: aws.Int32(24)})
	if err != nil || len(out.CapacityBlockOfferings) != 1 || aws.ToString(out.CapacityBlockOfferings[0].CapacityBlockOfferingId) != "cbo-lab" {
		t.Fatalf("handled call = %+v, %v; want the handler's offering", out, err)
	}

	lab.Proxy.Inject(Fault{Region: "ca-central-1", Service: "ec2", Operation: "DescribeRegions", Kind: Latency, Times: 1, Delay: 300 * time.Millisecond})
	start := time.Now()
	if _, err := c.DescribeRegions(ctx, &ec2.DescribeRegionsInput{}); err != nil {
		t.Fatalf("a latency fault should still forward: %v", err)
	}
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Errorf("call took %v, want at least the injected 300ms", d)
	}
}

// TestAWSLabFailNthMutation: the n-th mutating call fails for its caller on every attempt (reads
// are not counted, retries neither counted nor let through), the calls after it go on, and the
// counter names each mutating call once; a lost response makes the change and still fails the
// call; a denied call is not retried. Not parallel: it counts every mutating call of the lab.
func TestAWSLabFailNthMutation(t *testing.T) {
	lab := AWS(t)
	ctx := context.Background()
	const region = "me-south-1"
	c := labEC2(t, lab, region, 3)
	vpc, err := c.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.43.0.0/16")})
	if err != nil {
		t.Fatal(err)
	}
	group := func(name string) (*ec2.CreateSecurityGroupOutput, error) {
		return c.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String(name), Description: aws.String("t"), VpcId: vpc.Vpc.VpcId})
	}
	groupsNamed := func(name string) int {
		out, err := c.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: []ec2types.Filter{{Name: aws.String("group-name"), Values: []string{name}}}})
		if err != nil {
			t.Fatal(err)
		}
		return len(out.SecurityGroups)
	}

	lab.Proxy.ResetMutations()
	lab.FailNthMutation(2)
	attempts := lab.Proxy.CountRegion(region, "ec2", "CreateSecurityGroup")
	if _, err := group("first"); err != nil {
		t.Fatalf("mutating call 1: %v", err)
	}
	if groupsNamed("first") != 1 {
		t.Fatal("the first group is not in moto")
	}
	_, err = group("second")
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "InternalError" {
		t.Fatalf("mutating call 2: err = %v, want InternalError", err)
	}
	if n := lab.Proxy.CountRegion(region, "ec2", "CreateSecurityGroup") - attempts; n != 1+3 {
		t.Errorf("CreateSecurityGroup reached the proxy %d times, want 4 (1, then 3 attempts of the failed call)", n)
	}
	if groupsNamed("second") != 0 {
		t.Error("the failed call made its group")
	}
	if _, err := group("second"); err != nil {
		t.Fatalf("mutating call 3, after the failed one: %v", err)
	}
	if got := fmt.Sprint(lab.Proxy.Mutations()); got != "map[ec2:CreateSecurityGroup:3]" || lab.Proxy.MutationCount() != 3 {
		t.Errorf("mutations = %s, want map[ec2:CreateSecurityGroup:3] (each call once, reads left out)", got)
	}
	if hit := lab.Proxy.ClearMutationFault(); hit != "ec2:CreateSecurityGroup" {
		t.Errorf("the fault failed %q, want ec2:CreateSecurityGroup", hit)
	}

	lab.Proxy.FailMutation(MutationFault{Region: region, N: 1, Kind: LostResponse})
	if _, err := group("lost"); err == nil {
		t.Fatal("a lost response reached the caller as a success")
	}
	if n := groupsNamed("lost"); n != 1 {
		t.Errorf("%d groups named lost in moto, want 1: the change is made, only its answer lost", n)
	}
	lab.Proxy.ClearMutationFault()

	lab.Proxy.Inject(Fault{Region: region, Service: "ec2", Operation: "CreateSecurityGroup", Kind: Denied, Times: 1})
	attempts = lab.Proxy.CountRegion(region, "ec2", "CreateSecurityGroup")
	if _, err := group("denied"); !errors.As(err, &apiErr) || apiErr.ErrorCode() != "UnauthorizedOperation" {
		t.Fatalf("denied call: err = %v, want UnauthorizedOperation", err)
	}
	if n := lab.Proxy.CountRegion(region, "ec2", "CreateSecurityGroup") - attempts; n != 1 {
		t.Errorf("a denied call was attempted %d times, want 1 (not retried, or the retry would have succeeded)", n)
	}
}

func TestIsMutation(t *testing.T) {
	t.Parallel()
	for op, want := range map[string]bool{
		"CreateSecurityGroup": true, "PutRolePolicy": true, "AttachRolePolicy": true, "RegisterTargets": true, "ModifyLaunchTemplate": true,
		"AuthorizeSecurityGroupIngress": true, "StartInstanceRefresh": true, "DeleteSecret": true, "AddTags": true,
		"DescribeVpcs": false, "ListTagsForResource": false, "GetServiceQuota": false, "BatchGetSecretValue": false, "GET /": false, "": false,
	} {
		if got := IsMutation(op); got != want {
			t.Errorf("IsMutation(%q) = %v, want %v", op, got, want)
		}
	}
}
