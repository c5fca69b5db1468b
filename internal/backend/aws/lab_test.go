package aws_test

import (
	"bytes"
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
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
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
	asg *autoscaling.Client
	sm  *secretsmanager.Client
}

func directClients(lab *acctest.AWSLab, region string) direct {
	cfg := aws.Config{
		Region:           region,
		Credentials:      credentials.NewStaticCredentialsProvider("testing", "testing", ""),
		RetryMaxAttempts: 1,
		BaseEndpoint:     aws.String(lab.Moto.URL),
	}
	return direct{
		ec2: ec2.NewFromConfig(cfg), iam: iam.NewFromConfig(cfg), elb: elbv2.NewFromConfig(cfg), ssm: ssm.NewFromConfig(cfg),
		asg: autoscaling.NewFromConfig(cfg), sm: secretsmanager.NewFromConfig(cfg),
	}
}

// mutatingVerbs start the names of the calls that change something.
var mutatingVerbs = []string{"Create", "Put", "Attach", "Add", "Authorize", "Revoke", "Set", "Tag", "Untag", "Delete", "Detach", "Remove",
	"Modify", "Update", "Start", "Cancel", "Terminate", "Restore", "Register", "Deregister"}

// mutationsIn sums the proxy's counts of calls signed for region that change something, per
// operation (for parallel tests, each in a region of its own).
func mutationsIn(lab *acctest.AWSLab, region string) map[string]int {
	out := map[string]int{}
	for k, v := range lab.Proxy.Counts() {
		op, ok := strings.CutPrefix(k, region+"/")
		if !ok {
			continue
		}
		name := op[strings.Index(op, ":")+1:]
		for _, verb := range mutatingVerbs {
			if strings.HasPrefix(name, verb) {
				out[op] = v
			}
		}
	}
	return out
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
