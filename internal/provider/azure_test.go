package provider_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/inferstack/terraform-provider-inferstack/internal/acctest"
	"github.com/inferstack/terraform-provider-inferstack/internal/acctest/azurefake"
	standin "github.com/inferstack/terraform-provider-inferstack/internal/acctest/litellm"
	azurebackend "github.com/inferstack/terraform-provider-inferstack/internal/backend/azure"
	"github.com/inferstack/terraform-provider-inferstack/internal/provider"
)

// Clusters and endpoints on the Azure SDK's fake servers with in-memory state
// (internal/acctest/azurefake): every request is one the real SDK clients make, long-running
// operations take several polls, scale sets run rolling upgrades in batches, and each test has a
// subscription of its own.

const azureSub = "00000000-0000-0000-0000-0000000000a2"

type azureFixture struct {
	cloud  *azurefake.Cloud
	name   string
	subnet string
}

func newAzureFixture(t *testing.T, suffix string) azureFixture {
	t.Helper()
	cloud := azurefake.New(azurefake.Options{SubscriptionID: azureSub})
	cloud.AddResourceGroup("rg-llm", "westeurope")
	subnets := cloud.AddVirtualNetwork("rg-llm", "vnet", "westeurope", []string{"10.20.0.0/16"}, map[string]string{"gpu": "10.20.1.0/24"})
	return azureFixture{cloud: cloud, name: acctest.TestName(suffix), subnet: subnets["gpu"]}
}

func (f azureFixture) factories() map[string]func() (tfprotov6.ProviderServer, error) {
	return acctest.ProviderFactories(provider.WithAzureTestHooks(azurebackend.TestHooks{
		Transport: f.cloud.Transport(), Credential: f.cloud.Credential(), PollFrequency: 5 * time.Millisecond,
	}))
}

func (f azureFixture) provider(gw *standin.Server) string {
	b := "provider \"inferstack\" {\n" + huggingFaceBlock(sharedHub().URL, "") +
		fmt.Sprintf("  azure {\n    subscription_id = %q\n    default_tags = { team = \"ml\" }\n  }\n", azureSub)
	if gw != nil {
		b += fmt.Sprintf("  gateway {\n    url        = %q\n    master_key = %q\n  }\n", gw.URL, gatewayMasterKey)
	}
	return b + "}\n"
}

func (f azureFixture) cluster(extra string) string {
	return fmt.Sprintf(`
resource "inferstack_inference_cluster" "test" {
  name = %q
  azure = {
    resource_group = "rg-llm"
    location       = "westeurope"
    subnet_id      = %q
    vm_size        = "Standard_NC24ads_A100_v4"
    zones          = ["1", "2"]
    max_nodes      = 3
%s
  }
}
`, f.name, f.subnet, extra)
}

func (f azureFixture) endpoint(name string, replicas int, extra string) string {
	return fmt.Sprintf(`
resource "inferstack_model_endpoint" "test" {
  cluster_id = inferstack_inference_cluster.test.id
  name       = %q
  model      = { id = "Qwen/Qwen2.5-7B-Instruct" }
  replicas   = %d
  api_key    = %q
%s
}
`, name, replicas, endpointAPIKey, extra)
}

func (f azureFixture) scaleSetID(endpoint string) string {
	return fmt.Sprintf("/subscriptions/%s/resourceGroups/rg-llm/providers/Microsoft.Compute/virtualMachineScaleSets/%s",
		azureSub, azurebackend.ScaleSetName(f.name, endpoint))
}

// checkScaleSet asserts the scale set's capacity and that every VM runs its latest model.
func (f azureFixture) checkScaleSet(endpoint string, capacity int) resource.TestCheckFunc {
	return func(*terraform.State) error {
		obj, ok := f.cloud.Get(f.scaleSetID(endpoint))
		if !ok {
			return fmt.Errorf("no scale set %s", f.scaleSetID(endpoint))
		}
		sku, _ := obj["sku"].(map[string]any)
		if got, _ := sku["capacity"].(float64); int(got) != capacity {
			return fmt.Errorf("scale set capacity %v, want %d", sku["capacity"], capacity)
		}
		tags, _ := obj["tags"].(map[string]any)
		if tags["team"] != "ml" || tags[azurebackend.TagEndpoint] != endpoint {
			return fmt.Errorf("scale set tags %v lack the default tags or the endpoint's", tags)
		}
		vms := f.cloud.VMs(f.scaleSetID(endpoint))
		if len(vms) != capacity {
			return fmt.Errorf("%d VMs, want %d", len(vms), capacity)
		}
		for _, vm := range vms {
			if !vm.Latest || vm.Health != "HealthState/healthy" {
				return fmt.Errorf("VM %s: latest model %t, health %s", vm.Name, vm.Latest, vm.Health)
			}
		}
		return nil
	}
}

// checkDestroyed asks the fake that nothing but the seeded group and network is left.
func (f azureFixture) checkDestroyed(*terraform.State) error {
	var left []string
	for _, id := range f.cloud.Resources() {
		l := strings.ToLower(id)
		if strings.HasSuffix(l, "/resourcegroups/rg-llm") || strings.Contains(l, "/virtualnetworks/vnet") {
			continue
		}
		left = append(left, id)
	}
	if len(left) > 0 {
		return fmt.Errorf("left after destroy: %s", strings.Join(left, ", "))
	}
	return nil
}

// TestAccAzure_basic: a cluster, an endpoint and a route; import of both; replicas changed in
// place; an engine change rolls the scale set in batches; a scale set deleted out of band is
// planned back.
func TestAccAzure_basic(t *testing.T) {
	t.Parallel()
	f := newAzureFixture(t, "az")
	gw := startGateway(t)
	endpoint := acctest.TestName("qwen")
	route := acctest.TestName("az-route")
	clusterID := "azure/" + azureSub + "/rg-llm/" + f.name
	routeHCL := fmt.Sprintf("\nresource \"inferstack_api_route\" \"test\" {\n  name        = %q\n  endpoint_id = inferstack_model_endpoint.test.id\n}\n", route)
	config := func(replicas int, extra string) string {
		return f.provider(gw) + f.cluster("") + f.endpoint(endpoint, replicas, extra) + routeHCL
	}
	var url string
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: f.factories(),
		CheckDestroy:             resource.ComposeAggregateTestCheckFunc(f.checkDestroyed, checkAPIRoutesDestroyed(gw)),
		Steps: []resource.TestStep{
			{
				Config: config(1, ""),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectKnownValue("inferstack_inference_cluster.test", tfjsonpath.New("azure").AtMapKey("gpu").AtMapKey("count"), knownvalue.Int64Exact(1)),
					plancheck.ExpectKnownValue("inferstack_inference_cluster.test", tfjsonpath.New("azure").AtMapKey("gpu").AtMapKey("model"), knownvalue.StringExact("A100 80GB")),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("inferstack_inference_cluster.test", tfjsonpath.New("id"), knownvalue.StringExact(clusterID)),
					statecheck.ExpectKnownValue(k8sEndpointAddr, tfjsonpath.New("id"), knownvalue.StringExact(clusterID+","+endpoint)),
					statecheck.ExpectKnownValue(k8sEndpointAddr, tfjsonpath.New("status"), knownvalue.StringExact("ready")),
					statecheck.ExpectKnownValue(apiRouteAddr, tfjsonpath.New("resolved_served_model_name"), knownvalue.StringExact("Qwen/Qwen2.5-7B-Instruct")),
				},
				Check: resource.ComposeAggregateTestCheckFunc(
					f.checkScaleSet(endpoint, 1),
					resource.TestCheckResourceAttrWith("inferstack_inference_cluster.test", "azure.private_ip", func(ip string) error {
						url = "http://" + ip + ":8000/v1"
						if !strings.HasPrefix(ip, "10.20.1.") {
							return fmt.Errorf("private ip %q is not in the subnet", ip)
						}
						return nil
					}),
					func(s *terraform.State) error {
						return resource.TestCheckResourceAttr(k8sEndpointAddr, "url", url)(s)
					},
					checkRouteDeployments(gw, apiRouteAddr, func(_ int, d standin.Stored) error {
						return checkParams(d.LiteLLMParams, map[string]string{
							"model": "hosted_vllm/Qwen/Qwen2.5-7B-Instruct", "api_base": url, "api_key": endpointAPIKey,
						})
					}),
				),
			},
			{ResourceName: "inferstack_inference_cluster.test", ImportState: true, ImportStateVerify: true,
				ImportStateVerifyIgnore: []string{"azure.tags", "azure.vcpu_quotas"}},
			{
				ResourceName: k8sEndpointAddr, ImportState: true, ImportStateVerify: true,
				ImportStateVerifyIgnore: []string{"api_key", "timeouts", "model.revision", "force_remove_unreachable", "rollout"},
			},
			{
				Config: config(2, ""),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(k8sEndpointAddr, plancheck.ResourceActionUpdate),
				}},
				Check: f.checkScaleSet(endpoint, 2),
			},
			{
				// An engine setting rolls the nodes: one batch at a time, every node on the new model.
				Config: config(2, "  engine = { max_model_len = 8192 }"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(k8sEndpointAddr, plancheck.ResourceActionUpdate),
				}},
				Check: resource.ComposeAggregateTestCheckFunc(f.checkScaleSet(endpoint, 2), func(*terraform.State) error {
					if n := f.cloud.MaxReplacedAtOnce(f.scaleSetID(endpoint)); n != 1 {
						return fmt.Errorf("the roll replaced %d of 2 nodes at once, want 1 (20%% batches)", n)
					}
					return nil
				}),
			},
			{
				// Deleted out of band: planned back, and made again.
				PreConfig: func() {
					if !f.cloud.DeleteOutOfBand(f.scaleSetID(endpoint)) {
						t.Fatal("the scale set was not there to delete")
					}
				},
				Config:             config(2, "  engine = { max_model_len = 8192 }"),
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
			},
			{
				Config: config(2, "  engine = { max_model_len = 8192 }"),
				Check:  f.checkScaleSet(endpoint, 2),
			},
		},
	})
}

// TestAccAzure_planChecks: what the plan refuses, with the attribute and the fix, before
// anything is made: a quota too small (with the numbers), a size not offered, autoscaling, and a
// crafted subnet ID.
func TestAccAzure_planChecks(t *testing.T) {
	t.Parallel()
	f := newAzureFixture(t, "azplan")
	f.cloud.SetUsage("westeurope", "standardNCADSA100v4Family", 0, 24)
	endpoint := f.endpoint(acctest.TestName("qwen"), 1, "")
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: f.factories(),
		CheckDestroy:             f.checkDestroyed,
		Steps: []resource.TestStep{
			{
				Config:      f.provider(nil) + f.cluster(""),
				PlanOnly:    true,
				ExpectError: errorLike("3 nodes of Standard_NC24ads_A100_v4 need 72 vCPUs of the \"standardNCADSA100v4Family\" quota"),
			},
			{
				Config:      f.provider(nil) + strings.Replace(f.cluster(""), "Standard_NC24ads_A100_v4", "Standard_ND96isr_H200_v5", 1),
				PlanOnly:    true,
				ExpectError: errorLike("Standard_ND96isr_H200_v5 is not offered in westeurope"),
			},
			{
				Config:      f.provider(nil) + strings.Replace(f.cluster(""), f.subnet, "../../subnets/x\u0007", 1),
				PlanOnly:    true,
				ExpectError: errorLike("is not a subnet ID"),
			},
			{
				Config: f.provider(nil) + strings.Replace(f.cluster(""), "max_nodes      = 3", "max_nodes      = 1", 1) +
					f.endpoint("chat", 1, `  autoscaling = { min = 1, max = 2, target = { metric = "requests_waiting", value = 4 } }`),
				PlanOnly:    true,
				ExpectError: errorLike("autoscaling.target: inferstack does not make scaling rules on an azure cluster yet"),
			},
			{
				Config: f.provider(nil) + strings.Replace(f.cluster(""), "max_nodes      = 3", "max_nodes      = 1", 1) + endpoint,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectKnownValue("inferstack_inference_cluster.test", tfjsonpath.New("azure").AtMapKey("vcpu_quotas"), knownvalue.ListExact([]knownvalue.Check{
						knownvalue.ObjectExact(map[string]knownvalue.Check{"name": knownvalue.StringExact("cores"), "limit": knownvalue.Int64Exact(1000), "used": knownvalue.Int64Exact(0), "needed": knownvalue.Int64Exact(24)}),
						knownvalue.ObjectExact(map[string]knownvalue.Check{"name": knownvalue.StringExact("standardNCADSA100v4Family"), "limit": knownvalue.Int64Exact(24), "used": knownvalue.Int64Exact(0), "needed": knownvalue.Int64Exact(24)}),
					})),
				}},
			},
			{
				// Bounds without a target: the scale set's capacity stays within them for a rule of the user's own.
				Config: f.provider(nil) + strings.Replace(f.cluster(""), "max_nodes      = 3", "max_nodes      = 1", 1) +
					strings.Replace(endpoint, "replicas   = 1", "replicas   = 1\n  autoscaling = { min = 1, max = 1 }", 1),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(k8sEndpointAddr, tfjsonpath.New("autoscaling").AtMapKey("max"), knownvalue.Int64Exact(1)),
					statecheck.ExpectKnownValue(k8sEndpointAddr, tfjsonpath.New("status"), knownvalue.StringExact("ready")),
				},
			},
		},
	})
}
