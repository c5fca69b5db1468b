package provider_test

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/config"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/inferstack/terraform-provider-inferstack/internal/acctest"
)

// TestAccExample_hybridRouting applies examples/hybrid-routing itself, as a user would, against
// a LiteLLM stand-in: the bulk route on two self-hosted replicas with the Anthropic fallback, the
// reasoning route on OpenAI. The master key comes from LITELLM_MASTER_KEY, as the example says.
func TestAccExample_hybridRouting(t *testing.T) {
	gw := startGateway(t)
	t.Setenv("LITELLM_MASTER_KEY", gatewayMasterKey)

	resource.Test(t, resource.TestCase{
		PreCheck:     func() { acctest.PreCheck(t) },
		CheckDestroy: checkAPIRoutesDestroyed(gw),
		Steps: []resource.TestStep{{
			// The example declares required_providers itself, so the provider is given here.
			ProtoV6ProviderFactories: acctest.ProviderFactories(),
			ConfigDirectory:          config.StaticDirectory("../../examples/hybrid-routing"),
			ConfigVariables: config.Variables{
				"litellm_url":       config.StringVariable(gw.URL),
				"vllm_api_key":      config.StringVariable("tf-acc-vllm-key"),
				"openai_api_key":    config.StringVariable("sk-tf-acc-openai"),
				"anthropic_api_key": config.StringVariable("sk-ant-tf-acc"),
			},
			Check: func(*terraform.State) error {
				var got []string
				for _, d := range gw.Deployments() {
					got = append(got, fmt.Sprintf("%s=%v@%v", d.ModelName, d.LiteLLMParams["model"], d.LiteLLMParams["api_base"]))
				}
				sort.Strings(got)
				want := []string{
					"bulk=hosted_vllm/Qwen/Qwen2.5-7B-Instruct@http://10.0.0.11:8000/v1",
					"bulk=hosted_vllm/Qwen/Qwen2.5-7B-Instruct@http://10.0.0.12:8000/v1",
					"claude=anthropic/claude-sonnet-4-5@<nil>",
					"reasoning=openai/gpt-5@<nil>",
				}
				if strings.Join(got, "\n") != strings.Join(want, "\n") {
					return fmt.Errorf("gateway holds\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
				}
				if fb := gw.Fallbacks("bulk"); len(fb) != 1 || fb[0] != "claude" {
					return fmt.Errorf("fallbacks of bulk = %v, want [claude]", fb)
				}
				return nil
			},
		}},
	})
}
