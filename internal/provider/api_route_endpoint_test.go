package provider_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/compare"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/inferstack/terraform-provider-inferstack/internal/acctest"
	standin "github.com/inferstack/terraform-provider-inferstack/internal/acctest/litellm"
	"github.com/inferstack/terraform-provider-inferstack/internal/acctest/sshlab"
)

// Routes with endpoint_id run an inferstack_model_endpoint on an SSH lab host of the test's own
// (the shared lab's hosts are also destroyed-with by TestAccModelEndpoint_clusterResource, which
// refuses while any endpoint runs there) and register it in a LiteLLM stand-in of the test's own.

const endpointAddr = "inferstack_model_endpoint.test"

// endpointGatewayProvider is a provider with the Hub stand-in, the lab's SSH key and gw.
func endpointGatewayProvider(lab *acctest.OnPremLab, gw *standin.Server) string {
	return "provider \"inferstack\" {\n" + huggingFaceBlock(sharedHub().URL, "") + lab.ProviderOnPremBlock() +
		fmt.Sprintf("  gateway {\n    url        = %q\n    master_key = %q\n  }\n}\n", gw.URL, gatewayMasterKey)
}

// endpointRouteConfig is an endpoint of replicas replicas on host gpu-r and a route to it.
func endpointRouteConfig(lab *acctest.OnPremLab, gw *standin.Server, clusterID, endpoint, route string, replicas int) string {
	return endpointGatewayProvider(lab, gw) + fmt.Sprintf(`
resource "inferstack_model_endpoint" "test" {
  cluster_id    = %q
  name          = %q
  model         = { id = "Qwen/Qwen2.5-7B-Instruct" }
  replicas      = %d
  node_selector = { host = "gpu-r" }
  api_key       = %q
}

resource "inferstack_api_route" "test" {
  name        = %q
  endpoint_id = inferstack_model_endpoint.test.id
}
`, clusterID, endpoint, replicas, endpointAPIKey, route)
}

// checkEndpointRoute checks that the route has one gateway deployment per URL of the endpoint,
// in order, each calling hosted_vllm/<served name> at that URL with the endpoint's key, and that
// the key is nowhere in the route's state.
func checkEndpointRoute(gw *standin.Server, n int) resource.TestCheckFunc {
	return func(s *terraform.State) error {
		ep := s.RootModule().Resources[endpointAddr]
		rt := s.RootModule().Resources[apiRouteAddr]
		if ep == nil || rt == nil {
			return fmt.Errorf("%s or %s not in state", endpointAddr, apiRouteAddr)
		}
		if got := ep.Primary.Attributes["urls.#"]; got != fmt.Sprint(n) {
			return fmt.Errorf("the endpoint has %s urls, want %d", got, n)
		}
		for k, v := range rt.Primary.Attributes {
			if strings.Contains(v, endpointAPIKey) {
				return fmt.Errorf("the route's state holds the endpoint's API key in %s", k)
			}
		}
		if err := checkDeploymentIDs(apiRouteAddr, n)(s); err != nil {
			return err
		}
		return checkRouteDeployments(gw, apiRouteAddr, func(i int, d standin.Stored) error {
			return checkParams(d.LiteLLMParams, map[string]string{
				"model":    "hosted_vllm/" + ep.Primary.Attributes["served_model_name"],
				"api_base": ep.Primary.Attributes[fmt.Sprintf("urls.%d", i)],
				"api_key":  endpointAPIKey,
			})
		})(s)
	}
}

func TestAccAPIRoute_endpoint(t *testing.T) {
	t.Parallel()
	lab := acctest.NewOnPremLab(t, sshlab.HostSpec{Name: "gpu-r", GPUs: []sshlab.GPU{
		{Model: "NVIDIA L4", MemoryMiB: 23034}, {Model: "NVIDIA L4", MemoryMiB: 23034}}})
	gw := startGateway(t)
	clusterID := labClusterID(lab, "own")
	endpoint := acctest.TestName("route")
	route := acctest.TestName("qwen")
	sameRoute := statecheck.CompareValue(compare.ValuesSame())
	var routeID string

	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProviderFactories(),
		CheckDestroy: resource.ComposeAggregateTestCheckFunc(
			checkAPIRoutesDestroyed(gw),
			checkEndpointDestroyed(lab, endpoint),
		),
		Steps: []resource.TestStep{
			{
				Config: endpointRouteConfig(lab, gw, clusterID, endpoint, route, 1),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectUnknownValue(apiRouteAddr, tfjsonpath.New("endpoint_id")),
					plancheck.ExpectUnknownValue(apiRouteAddr, tfjsonpath.New("resolved_urls")),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					sameRoute.AddStateValue(apiRouteAddr, tfjsonpath.New("id")),
					statecheck.ExpectKnownValue(endpointAddr, tfjsonpath.New("id"), knownvalue.StringExact(clusterID+","+endpoint)),
					statecheck.CompareValuePairs(apiRouteAddr, tfjsonpath.New("endpoint_id"), endpointAddr, tfjsonpath.New("id"), compare.ValuesSame()),
					statecheck.CompareValuePairs(apiRouteAddr, tfjsonpath.New("resolved_urls"), endpointAddr, tfjsonpath.New("urls"), compare.ValuesSame()),
					statecheck.ExpectKnownValue(apiRouteAddr, tfjsonpath.New("resolved_served_model_name"), knownvalue.StringExact("Qwen/Qwen2.5-7B-Instruct")),
					statecheck.ExpectKnownValue(apiRouteAddr, tfjsonpath.New("self_hosted"), knownvalue.Null()),
				},
				Check: resource.ComposeAggregateTestCheckFunc(checkEndpointRoute(gw, 1), func(s *terraform.State) error {
					routeID = s.RootModule().Resources[apiRouteAddr].Primary.ID
					return nil
				}),
			},
			{
				// A second replica: the endpoint's id is unknown in the plan, so the route follows it
				// in the same apply, in place.
				Config: endpointRouteConfig(lab, gw, clusterID, endpoint, route, 2),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(endpointAddr, plancheck.ResourceActionUpdate),
					plancheck.ExpectResourceAction(apiRouteAddr, plancheck.ResourceActionUpdate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					sameRoute.AddStateValue(apiRouteAddr, tfjsonpath.New("id")),
					statecheck.ExpectKnownValue(apiRouteAddr, tfjsonpath.New("resolved_urls"), knownvalue.ListSizeExact(2)),
					statecheck.CompareValuePairs(apiRouteAddr, tfjsonpath.New("resolved_urls"), endpointAddr, tfjsonpath.New("urls"), compare.ValuesSame()),
				},
				Check: checkEndpointRoute(gw, 2),
			},
			{
				// A replica's deployment deleted behind Terraform's back: the refresh sees that the
				// gateway no longer holds every URL of the endpoint and the plan updates the route.
				PreConfig: func() {
					if !gw.DeleteDeployment(routeID + "~1") {
						t.Fatalf("the gateway has no deployment %s~1", routeID)
					}
				},
				Config: endpointRouteConfig(lab, gw, clusterID, endpoint, route, 2),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(endpointAddr, plancheck.ResourceActionNoop),
					plancheck.ExpectResourceAction(apiRouteAddr, plancheck.ResourceActionUpdate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{sameRoute.AddStateValue(apiRouteAddr, tfjsonpath.New("id"))},
				Check:             checkEndpointRoute(gw, 2),
			},
			{
				// Back to one replica.
				Config: endpointRouteConfig(lab, gw, clusterID, endpoint, route, 1),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(apiRouteAddr, plancheck.ResourceActionUpdate),
				}},
				Check: checkEndpointRoute(gw, 1),
			},
		},
	})
}

// A route to an endpoint that no host runs fails at apply with what to do, and leaves nothing
// in the gateway.
func TestAccAPIRoute_endpointNotFound(t *testing.T) {
	t.Parallel()
	lab := acctest.OnPrem(t)
	gw := startGateway(t)
	clusterID := labClusterID(lab, "lab")
	missing := acctest.TestName("none")

	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProviderFactories(),
		CheckDestroy:             checkAPIRoutesDestroyed(gw),
		Steps: []resource.TestStep{{
			Config: endpointGatewayProvider(lab, gw) + fmt.Sprintf(`
resource "inferstack_api_route" "test" {
  name        = "tf-acc-test-missing"
  endpoint_id = %q
}
`, clusterID+","+missing),
			ExpectError: phrases("creating API route", missing, "has no replica on any host of cluster lab", "apply it first"),
		}},
	})
}

func TestAccAPIRoute_endpointBadInput(t *testing.T) {
	t.Parallel()
	lab := acctest.OnPrem(t)
	endpointID := labClusterID(lab, "lab") + ",qwen"
	cases := map[string]struct {
		config string
		want   []string
	}{
		"with self_hosted": {fmt.Sprintf(`endpoint_id = %q
  self_hosted = {
    urls              = ["http://10.0.0.1:8000/v1"]
    served_model_name = "llama"
    api_key           = "k"
  }`, endpointID), []string{"conflicting targets", "Set exactly one of endpoint_id, self_hosted and external"}},
		"with external": {fmt.Sprintf(`endpoint_id = %q
  external = {
    provider = "openai"
    model    = "gpt-4o"
    api_key  = "sk"
  }`, endpointID), []string{"conflicting targets", "Set exactly one of endpoint_id, self_hosted and external"}},
		"not an endpoint id": {`endpoint_id = "lab/qwen"`, []string{"invalid endpoint_id", "is not the id of an inferstack_model_endpoint"}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			resource.Test(t, resource.TestCase{
				PreCheck:                 func() { acctest.PreCheck(t) },
				ProtoV6ProviderFactories: acctest.ProviderFactories(),
				Steps: []resource.TestStep{{
					Config:      "resource \"inferstack_api_route\" \"test\" {\n  name = \"tf-acc-test-bad\"\n  " + tc.config + "\n}",
					PlanOnly:    true,
					ExpectError: phrases(tc.want...),
				}},
			})
		})
	}
}

// TestAccAPIRoute_endpointReplaced: an endpoint replaced with create_before_destroy (a new name,
// here because the model changes) is created and ready first, the route moves its deployments
// to it in place, and only then is the old endpoint destroyed: new deployments in before the old
// ones go, and the route's id and gateway model name never change.
func TestAccAPIRoute_endpointReplaced(t *testing.T) {
	t.Parallel()
	lab := acctest.NewOnPremLab(t, sshlab.HostSpec{Name: "gpu-r", GPUs: []sshlab.GPU{
		{Model: "NVIDIA L4", MemoryMiB: 23034}, {Model: "NVIDIA L4", MemoryMiB: 23034}}})
	gw := startGateway(t)
	clusterID := labClusterID(lab, "own")
	first, second := acctest.TestName("blue"), acctest.TestName("green")
	route := acctest.TestName("chat")
	sameRoute := statecheck.CompareValue(compare.ValuesSame())
	config := func(endpoint, model string) string {
		return endpointGatewayProvider(lab, gw) + fmt.Sprintf(`
resource "inferstack_model_endpoint" "test" {
  cluster_id        = %q
  name              = %q
  model             = { id = %q }
  served_model_name = "chat-model"
  node_selector     = { host = "gpu-r" }
  api_key           = %q

  lifecycle {
    create_before_destroy = true
  }
}

resource "inferstack_api_route" "test" {
  name        = %q
  endpoint_id = inferstack_model_endpoint.test.id
}
`, clusterID, endpoint, model, endpointAPIKey, route)
	}

	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProviderFactories(),
		CheckDestroy: resource.ComposeAggregateTestCheckFunc(
			checkAPIRoutesDestroyed(gw),
			checkEndpointDestroyed(lab, first, second),
		),
		Steps: []resource.TestStep{
			{
				Config:            config(first, "Qwen/Qwen2.5-7B-Instruct"),
				ConfigStateChecks: []statecheck.StateCheck{sameRoute.AddStateValue(apiRouteAddr, tfjsonpath.New("id"))},
				Check:             checkEndpointRoute(gw, 1),
			},
			{
				Config: config(second, "Qwen/Qwen2.5-7B-Instruct-AWQ"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(endpointAddr, plancheck.ResourceActionCreateBeforeDestroy),
					plancheck.ExpectResourceAction(apiRouteAddr, plancheck.ResourceActionUpdate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					sameRoute.AddStateValue(apiRouteAddr, tfjsonpath.New("id")),
					statecheck.CompareValuePairs(apiRouteAddr, tfjsonpath.New("resolved_urls"), endpointAddr, tfjsonpath.New("urls"), compare.ValuesSame()),
				},
				Check: resource.ComposeAggregateTestCheckFunc(
					checkEndpointRoute(gw, 1),
					checkEndpointDestroyed(lab, first),
				),
			},
		},
	})
}
