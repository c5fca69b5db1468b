package provider_test

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/inferstack/terraform-provider-inferstack/internal/acctest"
	"github.com/inferstack/terraform-provider-inferstack/internal/acctest/testbed"
)

// TestAccBackendSeam_testbed drives a backend the provider does not know (the test-only testbed,
// registered by the harness with provider.WithBackend) through all three resources: the seam
// needs no edit of any CRUD method for a new backend.
func TestAccBackendSeam_testbed(t *testing.T) {
	t.Parallel()
	gw := startGateway(t)
	tb := testbed.New()
	name := acctest.TestName("seam")
	providerCfg := strings.Replace(gatewayProviderConfig(gw), "provider \"inferstack\" {\n",
		"provider \"inferstack\" {\n"+huggingFaceBlock(sharedHub().URL, ""), 1)
	config := func(slots, replicas int) string {
		return providerCfg + fmt.Sprintf(`
resource "inferstack_inference_cluster" "test" {
  name    = %[1]q
  testbed = { slots = %[2]d }
}

resource "inferstack_model_endpoint" "test" {
  cluster_id = inferstack_inference_cluster.test.id
  name       = "qwen"
  model      = { id = "Qwen/Qwen2.5-7B-Instruct" }
  replicas   = %[3]d
  api_key    = "sk-tf-acc-test-seam"
}

resource "inferstack_api_route" "test" {
  name        = "%[1]s-chat"
  endpoint_id = inferstack_model_endpoint.test.id
}
`, name, slots, replicas)
	}
	clusterID := "testbed/" + name
	url := "http://127.0.0.1:9/qwen/v1"
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProviderFactories(tb.Option()),
		CheckDestroy: func(s *terraform.State) error {
			if left := tb.Objects(); len(left) > 0 {
				return fmt.Errorf("the testbed still holds %v", left)
			}
			return checkAPIRoutesDestroyed(gw)(s)
		},
		Steps: []resource.TestStep{
			{
				Config: config(4, 1),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectKnownValue("inferstack_inference_cluster.test", tfjsonpath.New("id"), knownvalue.StringExact(clusterID)),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("inferstack_inference_cluster.test", tfjsonpath.New("testbed").AtMapKey("ensured"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue("inferstack_inference_cluster.test", tfjsonpath.New("onprem"), knownvalue.Null()),
					statecheck.ExpectKnownValue("inferstack_model_endpoint.test", tfjsonpath.New("id"), knownvalue.StringExact(clusterID+",qwen")),
					statecheck.ExpectKnownValue("inferstack_model_endpoint.test", tfjsonpath.New("url"), knownvalue.StringExact(url)),
					statecheck.ExpectKnownValue("inferstack_model_endpoint.test", tfjsonpath.New("status"), knownvalue.StringExact("ready")),
					statecheck.ExpectKnownValue("inferstack_api_route.test", tfjsonpath.New("resolved_urls"), knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact(url)})),
					statecheck.ExpectKnownValue("inferstack_api_route.test", tfjsonpath.New("resolved_served_model_name"), knownvalue.StringExact("Qwen/Qwen2.5-7B-Instruct")),
				},
				Check: func(*terraform.State) error {
					spec, ok := tb.Endpoint(clusterID, "qwen")
					if !ok || spec.Replicas != 1 || spec.APIKey != "sk-tf-acc-test-seam" || len(spec.Node.Model.Revision) != 40 {
						return fmt.Errorf("the testbed holds endpoint %+v (found %v): want 1 replica, the key and a pinned revision", spec, ok)
					}
					if d := gw.Deployments(); len(d) != 1 || d[0].LiteLLMParams["api_base"] != url {
						return fmt.Errorf("the gateway holds %+v, want one deployment at %s", d, url)
					}
					return nil
				},
			},
			{
				ResourceName:            "inferstack_inference_cluster.test",
				ImportState:             true,
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"timeouts"},
			},
			{
				Config: config(4, 2),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("inferstack_model_endpoint.test", plancheck.ResourceActionUpdate),
					plancheck.ExpectResourceAction("inferstack_inference_cluster.test", plancheck.ResourceActionNoop),
				}},
				Check: func(*terraform.State) error {
					if spec, _ := tb.Endpoint(clusterID, "qwen"); spec.Replicas != 2 {
						return fmt.Errorf("the testbed holds %d replicas, want 2", spec.Replicas)
					}
					return nil
				},
			},
			{
				Config:      config(4, 5),
				ExpectError: regexp.MustCompile(`5 GPUs wanted, 4 of the cluster's 4 slots are free`),
			},
			{
				Config:      config(100, 1),
				ExpectError: regexp.MustCompile(`testbed\.slots: 100 slots: a testbed has at most 64`),
			},
		},
	})
}
