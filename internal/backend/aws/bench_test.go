package aws_test

import (
	"context"
	"strings"
	"testing"

	"github.com/inferstack/terraform-provider-inferstack/internal/acctest"
	"github.com/inferstack/terraform-provider-inferstack/internal/backend"
	awsbackend "github.com/inferstack/terraform-provider-inferstack/internal/backend/aws"
	"github.com/inferstack/terraform-provider-inferstack/internal/vllm"
)

// BenchmarkRefreshCalls counts the AWS calls one refresh of each resource makes (what `terraform
// plan` costs against the account's API rate limits), through the lab's proxy: the figures are
// calls per refresh, in total and per service. The cluster and the endpoint are made once in
// moto; each iteration is one refresh.
func BenchmarkRefreshCalls(b *testing.B) {
	const region = "us-east-1" // IAM is global and signed for us-east-1: one region counts every call
	lab := acctest.AWS(b)
	n := lab.MakeNetwork(b, region, "10.90.0.0/16", "a", "b")
	lab.SetGPUQuotas(region, 1024)
	eps := map[string]string{}
	for _, svc := range awsbackend.EndpointServices() {
		eps[svc] = lab.URL()
	}
	be := awsbackend.New(awsbackend.Config{Region: region, AccessKey: "testing", SecretKey: "testing", MaxAttempts: 3, Endpoints: eps})
	ctx := context.Background()
	cluster := awsbackend.ClusterSpec{
		Name: acctest.TestName("bench"), Region: region, SubnetIDs: n.SubnetIDs("a", "b"), InstanceType: "g5.xlarge",
		AMI: awsbackend.AMI{ID: lab.AMI(b, region)}, RootVolumeGiB: 200, MaxNodes: 2,
	}
	if _, err := be.EnsureCluster(ctx, cluster); err != nil {
		b.Fatalf("EnsureCluster: %v", err)
	}
	b.Cleanup(func() { _ = be.DeleteCluster(context.Background(), region, cluster.Name) })
	endpoint := awsbackend.EndpointSpec{
		Region: region, Cluster: cluster.Name, Name: "bench", Port: 8000, Replicas: 1, APIKey: "sk-bench-key",
		Node: vllm.Spec{Model: vllm.Model{ID: "Qwen/Qwen2.5-7B-Instruct", Revision: strings.Repeat("a", 40)}},
	}
	if _, err := be.EnsureEndpoint(ctx, endpoint); err != nil {
		b.Fatalf("EnsureEndpoint: %v", err)
	}
	b.Cleanup(func() { _ = be.DeleteEndpoint(context.Background(), region, cluster.Name, endpoint.Name) })

	refreshes := []struct {
		name    string
		refresh func() error
	}{
		{"cluster", func() error { _, err := be.FindCluster(ctx, region, cluster.Name); return err }},
		{"endpoint", func() error { _, err := be.FindEndpoint(ctx, region, cluster.Name, endpoint.Name); return err }},
		{"plan-endpoint+route", func() error { // one plan's refresh of the endpoint and its route (Read and ModifyPlan), through the provider's per-run cache
			c := backend.Cached(awsbackend.NewLifecycle(be, nil))
			cid := awsbackend.ClusterID(region, cluster.Name)
			if _, err := c.FindEndpoint(ctx, cid, endpoint.Name); err != nil {
				return err
			}
			for range 2 {
				if _, err := c.EndpointTarget(ctx, cid, endpoint.Name); err != nil {
					return err
				}
			}
			return nil
		}},
		{"route-target", func() error { // what inferstack_api_route asked of an AWS endpoint before the cache
			if _, err := be.FindEndpoint(ctx, region, cluster.Name, endpoint.Name); err != nil {
				return err
			}
			_, err := be.APIKey(ctx, region, cluster.Name, endpoint.Name)
			return err
		}},
	}
	for _, r := range refreshes {
		b.Run(r.name, func(b *testing.B) {
			before := lab.Proxy.Counts()
			for b.Loop() {
				if err := r.refresh(); err != nil {
					b.Fatal(err)
				}
			}
			perService := map[string]int{}
			total := 0
			for k, v := range lab.Proxy.Counts() {
				if strings.Contains(k, "/") { // the per-region copies of the same counts
					continue
				}
				d := v - before[k]
				perService[k[:strings.Index(k, ":")]] += d
				total += d
			}
			b.ReportMetric(float64(total)/float64(b.N), "calls/refresh")
			for svc, c := range perService {
				if c > 0 {
					b.ReportMetric(float64(c)/float64(b.N), svc+"-calls/refresh")
				}
			}
		})
	}
}
