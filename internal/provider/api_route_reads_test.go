package provider_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"

	"github.com/inferstack/terraform-provider-inferstack/internal/acctest"
	standin "github.com/inferstack/terraform-provider-inferstack/internal/acctest/litellm"
	"github.com/inferstack/terraform-provider-inferstack/internal/acctest/sshlab"
)

// A route's target is served from what its endpoint's refresh read in the same run (the
// registry's read cache): these tests count what a plan asks the peers with one route to an
// endpoint and with two, and the second route must cost nothing. Without the cache each route
// asks again in Read and in ModifyPlan.

// peerCost counts a peer's work between two points of a test: f returns running totals.
type peerCost struct {
	t     *testing.T
	f     func() map[string]int
	marks []map[string]int
}

func (p *peerCost) mark() { p.marks = append(p.marks, p.f()) }

// delta is the work between marks i and i+1.
func (p *peerCost) delta(i int) map[string]int {
	out := map[string]int{}
	for k, v := range p.marks[i+1] {
		if d := v - p.marks[i][k]; d != 0 {
			out[k] = d
		}
	}
	return out
}

// twoRouteSteps are the steps of a test whose config(n) has an endpoint and n routes to it:
// apply one route, plan (counted), apply a second route, plan (counted); the two plans must ask
// the peer the same. check looks at one plan's counts.
func twoRouteSteps(p *peerCost, config func(routes int) string, check func(map[string]int)) []resource.TestStep {
	return []resource.TestStep{
		{Config: config(1)},
		{Config: config(1), PlanOnly: true, PreConfig: p.mark},
		{Config: config(2), PreConfig: p.mark},
		{Config: config(2), PlanOnly: true, PreConfig: p.mark},
		{Config: config(2), PlanOnly: true, PreConfig: func() {
			p.mark()
			one, two := p.delta(0), p.delta(2)
			p.t.Logf("a plan with one route asked %v, with two %v", one, two)
			if fmt.Sprint(one) != fmt.Sprint(two) {
				p.t.Errorf("a second route to the same endpoint changed what a plan asks: %v with one route, %v with two "+
					"(a route's target should come from the endpoint's read)", one, two)
			}
			check(one)
		}},
	}
}

func routesHCL(routes int, prefix string) string {
	var b strings.Builder
	for i := range routes {
		fmt.Fprintf(&b, "\nresource \"inferstack_api_route\" \"r%d\" {\n  name        = \"%s-%d\"\n  endpoint_id = inferstack_model_endpoint.test.id\n}\n", i, prefix, i)
	}
	return b.String()
}

// TestAccAPIRoute_targetFromEndpointReadOnPrem: on one host, a plan makes one SSH handshake and
// one session (the endpoint's status, spec and key together), whatever the routes.
func TestAccAPIRoute_targetFromEndpointReadOnPrem(t *testing.T) {
	t.Parallel()
	lab := acctest.NewOnPremLab(t, sshlab.HostSpec{Name: "gpu-r", GPUs: []sshlab.GPU{{Model: "NVIDIA L4", MemoryMiB: 23034}}})
	h := lab.Host("gpu-r")
	gw := startGateway(t)
	clusterID := labClusterID(lab, "reads")
	endpoint := acctest.TestName("reads")
	route := acctest.TestName("reads")
	p := &peerCost{t: t, f: func() map[string]int {
		logins, err := h.Logins()
		sessions, err2 := h.Sessions()
		if err != nil || err2 != nil {
			t.Errorf("counting on the sshd log: %v, %v", err, err2)
		}
		return map[string]int{"handshakes": logins, "sessions": sessions}
	}}
	config := func(routes int) string {
		return endpointGatewayProvider(lab, gw) + fmt.Sprintf(`
resource "inferstack_model_endpoint" "test" {
  cluster_id = %q
  name       = %q
  model      = { id = "Qwen/Qwen2.5-7B-Instruct" }
  replicas   = 1
  api_key    = %q
}
`, clusterID, endpoint, endpointAPIKey) + routesHCL(routes, route)
	}
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProviderFactories(),
		CheckDestroy:             resource.ComposeAggregateTestCheckFunc(checkAPIRoutesDestroyed(gw), checkEndpointDestroyed(lab, endpoint)),
		Steps: twoRouteSteps(p, config, func(plan map[string]int) {
			// The test framework may run the CLI more than once in a step (plan, show): each run is
			// a provider process of its own, so one handshake and one session each.
			if plan["handshakes"] == 0 || plan["sessions"] != plan["handshakes"] {
				t.Errorf("a plan made %d SSH handshakes and %d sessions to one host: want one session per handshake "+
					"(the endpoint's read; its routes ask nothing)", plan["handshakes"], plan["sessions"])
			}
		}),
	})
}

// TestAccAPIRoute_targetFromEndpointReadAWS (ap-east-1: catalogOncePerRun counts calls in
// ca-central-1, which this test's cluster and endpoint would add to): the calls a plan makes to moto (through the proxy)
// do not grow with the routes to an endpoint, and the key's secret value is read once per run.
func TestAccAPIRoute_targetFromEndpointReadAWS(t *testing.T) {
	t.Parallel()
	f := newAWSClusterFixture(t, "ap-east-1", "10.76.0.0/16")
	gw := standin.Start(gatewayMasterKey)
	t.Cleanup(gw.Close)
	ep := acctest.TestName("ep")
	route := acctest.TestName("reads")
	p := &peerCost{t: t, f: func() map[string]int {
		out := map[string]int{}
		for k, v := range f.lab.Proxy.Counts() {
			if strings.HasPrefix(k, f.region+"/") {
				out[strings.TrimPrefix(k, f.region+"/")] = v
			}
		}
		return out
	}}
	config := func(routes int) string {
		return "provider \"inferstack\" {\n" + huggingFaceBlock(sharedHub().URL, "") + f.lab.AWSBlock("") +
			fmt.Sprintf("  gateway {\n    url        = %q\n    master_key = %q\n  }\n}\n", gw.URL, gatewayMasterKey) +
			f.clusterBlock() + fmt.Sprintf(`
resource "inferstack_model_endpoint" "test" {
  cluster_id = inferstack_inference_cluster.test.id
  name       = %q
  model      = { id = "Qwen/Qwen2.5-7B-Instruct" }
  api_key    = %q
}
`, ep, endpointAPIKey) + routesHCL(routes, route)
	}
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProviderFactories(),
		CheckDestroy:             resource.ComposeAggregateTestCheckFunc(f.checkEndpointDestroyed, checkAPIRoutesDestroyed(gw)),
		Steps: twoRouteSteps(p, config, func(plan map[string]int) {
			runs := plan["autoscaling:DescribeAutoScalingGroups"]
			if got := plan["secretsmanager:GetSecretValue"]; runs == 0 || got != runs {
				t.Errorf("a plan read the endpoint's key %d times in %d reads of its group: want once per read", got, runs)
			}
		}),
	})
}
