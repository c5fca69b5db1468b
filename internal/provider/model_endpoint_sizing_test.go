package provider_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/inferstack/terraform-provider-inferstack/internal/acctest"
	"github.com/inferstack/terraform-provider-inferstack/internal/acctest/hfhub"
	"github.com/inferstack/terraform-provider-inferstack/internal/vllm"
)

// The endpoint's plan checks its engine settings against the model and the cluster's GPUs (the
// lab: gpu-a 4 x L4, gpu-b 8 x L40S, gpu-c 2 x H100, 14 GPUs), also when the revision is a sha
// already in state (the model's shape then comes from private state, not the Hub); and the Hub
// token reaches a node only for a gated or private model.
func TestAccModelEndpoint_planChecks(t *testing.T) {
	t.Parallel()
	lab := acctest.OnPrem(t)
	clusterID := labClusterID(lab, "lab")
	name := acctest.TestName("chk")
	host := lab.Host("gpu-b")
	addr := "inferstack_model_endpoint.test"
	qwen := fmt.Sprintf(`model = { id = %q, revision = %q }`, hfhub.Qwen7BID, hfhub.FakeSHA(hfhub.Qwen7BID, "main"))
	config := func(model, engine string, replicas int) string {
		return "provider \"inferstack\" {\n" + huggingFaceBlock(sharedHub().URL, hfhub.GrantedToken) + lab.ProviderOnPremBlock() + "}\n" +
			fmt.Sprintf(`
resource "inferstack_model_endpoint" "test" {
  cluster_id    = %q
  name          = %q
  %s
  replicas      = %d
  node_selector = { host = "gpu-b" }
  api_key       = %q
  engine        = { %s }
}
`, clusterID, name, model, replicas, endpointAPIKey, engine)
	}
	hfToken := func(want bool) resource.TestCheckFunc {
		return func(*terraform.State) error {
			out, err := host.Exec(fmt.Sprintf(`if [ -e "${INFERSTACK_ROOT:-}%s" ]; then echo present; else echo absent; fi`, vllm.SecretFilePath(name, "HF_TOKEN")))
			if err != nil {
				return err
			}
			if got := strings.TrimSpace(out) == "present"; got != want {
				return fmt.Errorf("HF_TOKEN on gpu-b: %s, want present = %v", strings.TrimSpace(out), want)
			}
			return nil
		}
	}
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProviderFactories(),
		CheckDestroy:             checkEndpointDestroyed(lab, name),
		Steps: []resource.TestStep{
			{
				// A public model: the token stays with the provider. The replica's metrics target is
				// its URL's host:port, labelled for the dashboard.
				Config: config(qwen, "max_model_len = 8192", 1),
				Check: resource.ComposeTestCheckFunc(hfToken(false),
					resource.TestCheckResourceAttr(addr, "metrics_targets.#", "1"),
					resource.TestCheckResourceAttr(addr, "metrics_targets.0.labels.endpoint", name),
					resource.TestCheckResourceAttr(addr, "metrics_targets.0.labels.model", hfhub.Qwen7BID),
					resource.TestCheckResourceAttr(addr, "metrics_targets.0.labels.revision", hfhub.FakeSHA(hfhub.Qwen7BID, "main")),
					resource.TestCheckResourceAttr(addr, "metrics_targets.0.labels.host", "gpu-b"),
					resource.TestCheckResourceAttr(addr, "metrics_targets.0.labels.replica", "0"),
					func(s *terraform.State) error {
						a := s.RootModule().Resources[addr].Primary.Attributes
						if want := "http://" + a["metrics_targets.0.target"] + "/v1"; a["placements.0.url"] != want {
							return fmt.Errorf("metrics target %s is not the replica's (%s)", a["metrics_targets.0.target"], a["placements.0.url"])
						}
						return nil
					}),
			},
			{
				Config: config(qwen, "max_model_len = 8192, tensor_parallel_size = 3", 1), PlanOnly: true,
				ExpectError: errorLike("tensor_parallel_size 3 is not valid for a model with 28 attention heads and 4 KV heads"),
			},
			{
				Config: config(qwen, "max_model_len = 8192, pipeline_parallel_size = 29", 1), PlanOnly: true,
				ExpectError: errorLike("29 pipeline stages for 28 layers"),
			},
			{
				Config: config(qwen, "max_model_len = 65536", 1), PlanOnly: true,
				ExpectError: errorLike("65536 tokens is above Qwen/Qwen2.5-7B-Instruct's own limit (max_position_embeddings 32768)"),
			},
			{
				Config: config(qwen, "max_model_len = 8192, tensor_parallel_size = 4, pipeline_parallel_size = 4", 1), PlanOnly: true,
				ExpectError: errorLike("4 x 4 = 16 GPUs of one node, but the cluster's largest node has 8"),
			},
			{
				Config: config(qwen, "max_model_len = 8192", 15), PlanOnly: true,
				ExpectError: errorLike("15 replicas x 1 GPUs = 15 GPUs, but the cluster has 14 GPUs in all"),
			},
			{
				Config: config(qwen, "max_model_len = 32768, gpu_memory_utilization = 0.3", 1), PlanOnly: true,
				ExpectError: errorsLike("model does not fit its GPUs", "GiB per GPU at tensor_parallel_size 1", "usable"),
			},
			{
				// A gated model: the node needs the token to download it.
				Config: config(fmt.Sprintf(`model = { id = %q }`, hfhub.Llama8BID), "max_model_len = 8192", 1),
				Check:  hfToken(true),
			},
		},
	})
}
