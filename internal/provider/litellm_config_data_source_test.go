package provider_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	"go.yaml.in/yaml/v3"

	"github.com/inferstack/terraform-provider-inferstack/internal/acctest"
)

const liteLLMConfigAddr = "data.inferstack_litellm_config.test"

func TestAccLiteLLMConfigDataSource_basic(t *testing.T) {
	t.Parallel()
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProviderFactories(),
		Steps: []resource.TestStep{{
			Config: `
data "inferstack_litellm_config" "test" {
  routes = [
    {
      name = "chat-default"
      self_hosted = {
        urls              = ["http://10.0.0.11:8000/v1", "http://10.0.0.12:8000/v1"]
        served_model_name = "meta-llama/Llama-3.1-8B-Instruct"
        api_key           = "vllm-config-secret"
      }
      weight          = 2
      timeout_seconds = 600
      fallbacks       = ["gpt-4o", "claude"]
    },
    {
      name = "gpt-4o"
      external = {
        provider    = "openai"
        model       = "gpt-4o"
        api_key     = "sk-openai-config-secret"
        api_key_env = "OPENAI_API_KEY"
      }
    },
    {
      id   = "claude-primary"
      name = "claude"
      external = {
        provider = "anthropic"
        model    = "claude-sonnet-4-5-20250929"
        api_key  = "os.environ/ANTHROPIC_API_KEY"
      }
    },
    {
      name = "bedrock-claude"
      external = {
        provider   = "bedrock"
        model      = "anthropic.claude-3-5-sonnet-20240620-v1:0"
        aws_region = "us-east-1"
      }
    },
  ]
  router_settings = {
    routing_strategy = "least-busy"
    num_retries      = 2
    cooldown_seconds = 30
  }
}`,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(liteLLMConfigAddr, tfjsonpath.New("env"), knownvalue.MapExact(map[string]knownvalue.Check{
					"INFERSTACK_CHAT_DEFAULT_API_KEY": knownvalue.StringExact("vllm-config-secret"),
					"OPENAI_API_KEY":                  knownvalue.StringExact("sk-openai-config-secret"),
				})),
				statecheck.ExpectSensitiveValue(liteLLMConfigAddr, tfjsonpath.New("env")),
			},
			Check: checkRenderedYAML(liteLLMConfigAddr, func(doc renderedConfig) error {
				var got []string
				for _, m := range doc.ModelList {
					got = append(got, fmt.Sprintf("%s %s %s %v", m.ModelInfo["id"], m.ModelName, m.LiteLLMParams["model"], m.LiteLLMParams["api_key"]))
				}
				want := []string{
					"bedrock-claude bedrock-claude bedrock/anthropic.claude-3-5-sonnet-20240620-v1:0 <nil>",
					"chat-default chat-default hosted_vllm/meta-llama/Llama-3.1-8B-Instruct os.environ/INFERSTACK_CHAT_DEFAULT_API_KEY",
					"chat-default~1 chat-default hosted_vllm/meta-llama/Llama-3.1-8B-Instruct os.environ/INFERSTACK_CHAT_DEFAULT_API_KEY",
					"claude-primary claude anthropic/claude-sonnet-4-5-20250929 os.environ/ANTHROPIC_API_KEY",
					"gpt-4o gpt-4o openai/gpt-4o os.environ/OPENAI_API_KEY",
				}
				if strings.Join(got, "\n") != strings.Join(want, "\n") {
					return fmt.Errorf("model_list:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
				}
				if p := doc.ModelList[2].LiteLLMParams; fmt.Sprint(p["api_base"], " ", p["weight"], " ", p["timeout"]) != "http://10.0.0.12:8000/v1 2 600" {
					return fmt.Errorf("the second replica's params are %v", p)
				}
				rs := doc.RouterSettings
				if fmt.Sprint(rs["routing_strategy"], " ", rs["num_retries"], " ", rs["cooldown_time"], " ", rs["fallbacks"]) !=
					"least-busy 2 30 [map[chat-default:[gpt-4o claude]]]" {
					return fmt.Errorf("router_settings are %v", rs)
				}
				return nil
			}),
		}},
	})
}

// The data source and the resource turn the same arguments into the same deployment: what the
// rendered file holds is what the model API stored.
func TestAccLiteLLMConfigDataSource_matchesAPIRoute(t *testing.T) {
	t.Parallel()
	gw := startGateway(t)
	name := acctest.TestName("same")
	const route = `
  self_hosted = {
    urls              = ["http://10.0.8.1:8000/v1", "http://10.0.8.2:8000/v1"]
    served_model_name = "qwen"
    api_key           = "same-key"
  }
  weight          = 3
  order           = 2
  rpm             = 60
  tpm             = 1000
  timeout_seconds = 90
  tags            = ["a", "b"]
  mode            = "completion"
  base_model      = "Qwen/Qwen2.5-7B-Instruct"`

	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProviderFactories(),
		CheckDestroy:             checkAPIRoutesDestroyed(gw),
		Steps: []resource.TestStep{{
			Config: gatewayProviderConfig(gw) + fmt.Sprintf(`
resource "inferstack_api_route" "test" {
  name = %[1]q
%[2]s
}

data "inferstack_litellm_config" "test" {
  routes = [{
    id   = inferstack_api_route.test.id
    name = %[1]q
%[2]s
  }]
}`, name, route),
			Check: func(s *terraform.State) error {
				doc, err := renderedYAML(s, liteLLMConfigAddr)
				if err != nil {
					return err
				}
				stored := gw.Deployments()
				if len(doc.ModelList) != 2 || len(stored) != 2 {
					return fmt.Errorf("the file has %d deployments and the gateway %d, want 2 each", len(doc.ModelList), len(stored))
				}
				for i, m := range doc.ModelList {
					d := stored[i]
					if m.ModelName != d.ModelName || fmt.Sprint(m.ModelInfo["id"]) != d.ID {
						return fmt.Errorf("deployment %d: file %s/%v, gateway %s/%s", i, m.ModelName, m.ModelInfo["id"], d.ModelName, d.ID)
					}
					if err := sameParams("litellm_params", m.LiteLLMParams, d.LiteLLMParams, "api_key"); err != nil {
						return fmt.Errorf("deployment %s: %w", d.ID, err)
					}
					if err := sameParams("model_info", m.ModelInfo, d.ModelInfo); err != nil {
						return fmt.Errorf("deployment %s: %w", d.ID, err)
					}
					wantRef := "os.environ/" + gatewayEnvName(doc.ModelList[0].ModelInfo["id"])
					if d.LiteLLMParams["api_key"] != "same-key" || m.LiteLLMParams["api_key"] != wantRef {
						return fmt.Errorf("deployment %s: the gateway got api_key %v and the file %v (want %s)", d.ID, d.LiteLLMParams["api_key"], m.LiteLLMParams["api_key"], wantRef)
					}
				}
				return nil
			},
		}},
	})
}

func TestAccLiteLLMConfigDataSource_badInput(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		routes string
		want   []string
	}{
		"no key": {`[{
    name        = "chat"
    self_hosted = { urls = ["http://10.0.0.1:8000/v1"], served_model_name = "llama" }
  }]`, []string{"missing api_key", "routes[0].self_hosted.api_key: Set vLLM's API key"}},
		"second route bad": {`[
    { name = "gpt-4o", external = { provider = "openai", model = "gpt-4o", api_key = "k" } },
    { name = "x", external = { provider = "openai", model = "openai/gpt-4o", api_key = "k" } },
  ]`, []string{"invalid model", `routes[1].external.model: Give the model without LiteLLM's "openai/" prefix`}},
		"same id twice": {`[
    { name = "gpt-4o", external = { provider = "openai", model = "gpt-4o", api_key = "k" } },
    { name = "gpt-4o", external = { provider = "openai", model = "gpt-4o-mini", api_key = "k" } },
  ]`, []string{"rendering LiteLLM config", `two routes have the id "gpt-4o"`}},
		"different fallbacks": {`[
    { id = "a", name = "chat", external = { provider = "openai", model = "gpt-4o", api_key = "k" }, fallbacks = ["x"] },
    { id = "b", name = "chat", external = { provider = "openai", model = "gpt-4o", api_key = "k" }, fallbacks = ["y"] },
  ]`, []string{`routes "a" and "b" both serve model "chat" but set different fallbacks`}},
		"bad id": {`[
    { id = "no spaces", name = "chat", external = { provider = "openai", model = "gpt-4o", api_key = "k" } },
  ]`, []string{"invalid route id", `routes[0].id: The id "no spaces" must start with a letter or digit`}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			resource.Test(t, resource.TestCase{
				PreCheck:                 func() { acctest.PreCheck(t) },
				ProtoV6ProviderFactories: acctest.ProviderFactories(),
				Steps: []resource.TestStep{{
					Config:      "data \"inferstack_litellm_config\" \"test\" {\n  routes = " + tc.routes + "\n}",
					PlanOnly:    true,
					ExpectError: phrases(tc.want...),
				}},
			})
		})
	}
}

// renderedConfig is the part of a rendered LiteLLM config the tests read.
type renderedConfig struct {
	ModelList []struct {
		ModelName     string         `yaml:"model_name"`
		LiteLLMParams map[string]any `yaml:"litellm_params"`
		ModelInfo     map[string]any `yaml:"model_info"`
	} `yaml:"model_list"`
	RouterSettings map[string]any `yaml:"router_settings"`
}

func renderedYAML(s *terraform.State, addr string) (renderedConfig, error) {
	var doc renderedConfig
	rs, ok := s.RootModule().Resources[addr]
	if !ok {
		return doc, fmt.Errorf("%s not in state", addr)
	}
	text := rs.Primary.Attributes["yaml"]
	if err := yaml.Unmarshal([]byte(text), &doc); err != nil {
		return doc, fmt.Errorf("%s: yaml does not parse: %w\n%s", addr, err, text)
	}
	if strings.Contains(text, "secret") {
		return doc, fmt.Errorf("%s: yaml holds a secret:\n%s", addr, text)
	}
	return doc, nil
}

func checkRenderedYAML(addr string, check func(renderedConfig) error) resource.TestCheckFunc {
	return func(s *terraform.State) error {
		doc, err := renderedYAML(s, addr)
		if err != nil {
			return err
		}
		return check(doc)
	}
}

// sameParams compares a rendered map with a stored one, as text, leaving out the keys in skip
// (secrets, which the file references and the gateway holds).
func sameParams(what string, file, stored map[string]any, skip ...string) error {
	keys := map[string]bool{}
	for k := range file {
		keys[k] = true
	}
	for k := range stored {
		keys[k] = true
	}
	for k := range keys {
		if slices.Contains(skip, k) {
			continue
		}
		if f, g := fmt.Sprint(file[k]), fmt.Sprint(stored[k]); f != g {
			return fmt.Errorf("%s.%s: the file has %s, the gateway %s", what, k, f, g)
		}
	}
	return nil
}

// gatewayEnvName is the environment variable a rendered file reads a route's API key from by
// default: INFERSTACK_<route id>_API_KEY, other characters than letters and digits as '_'.
func gatewayEnvName(routeID any) string {
	var b strings.Builder
	for _, r := range strings.ToUpper(fmt.Sprint(routeID)) {
		if r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return "INFERSTACK_" + b.String() + "_API_KEY"
}
