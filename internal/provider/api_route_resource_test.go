package provider_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/compare"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	"github.com/hashicorp/terraform-plugin-testing/tfversion"

	"github.com/inferstack/terraform-provider-inferstack/internal/acctest"
	standin "github.com/inferstack/terraform-provider-inferstack/internal/acctest/litellm"
)

const (
	apiRouteAddr     = "inferstack_api_route.test"
	gatewayMasterKey = "sk-tf-acc-test-master"
)

// startGateway starts a LiteLLM stand-in of the test's own (so injected failures and counts
// belong to it alone), stopped when the test ends.
func startGateway(t *testing.T) *standin.Server {
	t.Helper()
	s := standin.Start(gatewayMasterKey)
	t.Cleanup(s.Close)
	return s
}

func gatewayProviderConfig(s *standin.Server) string {
	return fmt.Sprintf(`
provider "inferstack" {
  gateway {
    url        = %q
    master_key = %q
  }
}
`, s.URL, gatewayMasterKey)
}

func TestAccAPIRoute_basic(t *testing.T) {
	t.Parallel()
	gw := startGateway(t)
	name := acctest.TestName("chat")

	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProviderFactories(),
		CheckDestroy:             checkAPIRoutesDestroyed(gw),
		Steps: []resource.TestStep{
			{
				Config: gatewayProviderConfig(gw) + fmt.Sprintf(`
resource "inferstack_api_route" "test" {
  name = %q
  self_hosted = {
    urls              = ["http://10.0.0.11:8000/v1", "http://10.0.0.12:8000/v1"]
    served_model_name = "meta-llama/Llama-3.1-8B-Instruct"
    api_key           = "vllm-basic-key"
  }
  weight          = 2
  rpm             = 600
  timeout_seconds = 600
  tags            = ["gpu", "eu"]
  base_model      = "meta-llama/Llama-3.1-8B-Instruct"
}`, name),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(apiRouteAddr, tfjsonpath.New("id"), knownvalue.StringRegexp(regexp.MustCompile(`^tf-acc-test-chat-[0-9a-f]{8}-[0-9a-f]{8}$`))),
					statecheck.ExpectKnownValue(apiRouteAddr, tfjsonpath.New("mode"), knownvalue.StringExact("chat")),
					statecheck.ExpectKnownValue(apiRouteAddr, tfjsonpath.New("deployment_ids"), knownvalue.ListSizeExact(2)),
					statecheck.ExpectKnownValue(apiRouteAddr, tfjsonpath.New("external"), knownvalue.Null()),
					statecheck.ExpectSensitiveValue(apiRouteAddr, tfjsonpath.New("self_hosted").AtMapKey("api_key")),
				},
				Check: resource.ComposeAggregateTestCheckFunc(
					checkDeploymentIDs(apiRouteAddr, 2),
					checkRouteDeployments(gw, apiRouteAddr, func(i int, d standin.Stored) error {
						want := map[string]string{
							"model":    "hosted_vllm/meta-llama/Llama-3.1-8B-Instruct",
							"api_base": fmt.Sprintf("http://10.0.0.1%d:8000/v1", i+1),
							"api_key":  "vllm-basic-key",
							"weight":   "2", "rpm": "600", "timeout": "600", "tags": "[gpu eu]",
						}
						if d.ModelName != name {
							return fmt.Errorf("model_name %q, want %q", d.ModelName, name)
						}
						if err := checkParams(d.LiteLLMParams, want); err != nil {
							return err
						}
						return checkParams(d.ModelInfo, map[string]string{"mode": "chat", "base_model": "meta-llama/Llama-3.1-8B-Instruct"})
					}),
					func(*terraform.State) error {
						if ua := gw.LastHeaders("/model/new").Get("User-Agent"); !strings.HasPrefix(ua, "terraform-provider-inferstack/") {
							return fmt.Errorf("the gateway saw User-Agent %q, want terraform-provider-inferstack/<version>", ua)
						}
						return nil
					},
				),
			},
			{
				ResourceName:      apiRouteAddr,
				ImportState:       true,
				ImportStateVerify: true,
				// LiteLLM never gives keys back.
				ImportStateVerifyIgnore: []string{"self_hosted.api_key"},
			},
		},
	})
}

func TestAccAPIRoute_update(t *testing.T) {
	t.Parallel()
	gw := startGateway(t)
	name := acctest.TestName("update")
	renamed := name + "-renamed"
	sameID := statecheck.CompareValue(compare.ValuesSame())

	config := func(name, urls, key, extra string) string {
		return gatewayProviderConfig(gw) + fmt.Sprintf(`
resource "inferstack_api_route" "test" {
  name = %q
  self_hosted = {
    urls              = [%s]
    served_model_name = "qwen"
    api_key           = %q
  }
%s
}`, name, urls, key, extra)
	}

	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProviderFactories(),
		CheckDestroy:             checkAPIRoutesDestroyed(gw),
		Steps: []resource.TestStep{
			{
				Config: config(name, `"http://10.0.1.1:8000/v1"`, "key-one", `
  weight = 1
  rpm    = 100
  tags   = ["blue"]`),
				ConfigStateChecks: []statecheck.StateCheck{
					sameID.AddStateValue(apiRouteAddr, tfjsonpath.New("id")),
				},
				Check: checkDeploymentIDs(apiRouteAddr, 1),
			},
			{
				// Everything changes in place: a second URL, the numbers, the tags, the key and the name.
				Config: config(renamed, `"http://10.0.1.1:8000/v1", "http://10.0.1.2:8000/v1"`, "key-two", `
  weight          = 3
  order           = 1
  rpm             = 200
  tpm             = 50000
  timeout_seconds = 300
  tags            = ["blue", "canary"]`),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(apiRouteAddr, plancheck.ResourceActionUpdate)},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					sameID.AddStateValue(apiRouteAddr, tfjsonpath.New("id")),
					statecheck.ExpectKnownValue(apiRouteAddr, tfjsonpath.New("name"), knownvalue.StringExact(renamed)),
				},
				Check: resource.ComposeAggregateTestCheckFunc(
					checkDeploymentIDs(apiRouteAddr, 2),
					checkRouteDeployments(gw, apiRouteAddr, func(i int, d standin.Stored) error {
						if d.ModelName != renamed {
							return fmt.Errorf("model_name %q, want %q", d.ModelName, renamed)
						}
						return checkParams(d.LiteLLMParams, map[string]string{
							"api_base": fmt.Sprintf("http://10.0.1.%d:8000/v1", i+1),
							"api_key":  "key-two", "weight": "3", "order": "1", "rpm": "200", "tpm": "50000",
							"timeout": "300", "tags": "[blue canary]",
						})
					}),
				),
			},
			{
				// Back to one URL and no tags or limits: the replica goes, and the settings a merging
				// update cannot clear are gone from the gateway too.
				Config: config(renamed, `"http://10.0.1.2:8000/v1"`, "key-two", ""),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(apiRouteAddr, plancheck.ResourceActionUpdate)},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					sameID.AddStateValue(apiRouteAddr, tfjsonpath.New("id")),
					statecheck.ExpectKnownValue(apiRouteAddr, tfjsonpath.New("tags"), knownvalue.Null()),
				},
				Check: resource.ComposeAggregateTestCheckFunc(
					checkDeploymentIDs(apiRouteAddr, 1),
					checkRouteDeployments(gw, apiRouteAddr, func(_ int, d standin.Stored) error {
						for _, k := range []string{"weight", "order", "rpm", "tpm", "timeout", "tags"} {
							if v, ok := d.LiteLLMParams[k]; ok {
								return fmt.Errorf("litellm_params.%s = %v is still set", k, v)
							}
						}
						return checkParams(d.LiteLLMParams, map[string]string{"api_base": "http://10.0.1.2:8000/v1"})
					}),
				),
			},
		},
	})
}

func TestAccAPIRoute_disappears(t *testing.T) {
	t.Parallel()
	gw := startGateway(t)
	name := acctest.TestName("gone")

	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProviderFactories(),
		CheckDestroy:             checkAPIRoutesDestroyed(gw),
		Steps: []resource.TestStep{{
			Config: gatewayProviderConfig(gw) + selfHostedRouteConfig(name, `"http://10.0.2.1:8000/v1", "http://10.0.2.2:8000/v1"`),
			Check: resource.ComposeAggregateTestCheckFunc(
				checkDeploymentIDs(apiRouteAddr, 2),
				deleteRouteDeployments(gw, apiRouteAddr, true),
			),
			ExpectNonEmptyPlan: true,
			ConfigPlanChecks: resource.ConfigPlanChecks{
				PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectResourceAction(apiRouteAddr, plancheck.ResourceActionCreate)},
			},
		}},
	})
}

// A replica deleted behind Terraform's back shows as drift of the route's URLs and comes back
// with an in-place update.
func TestAccAPIRoute_replicaDisappears(t *testing.T) {
	t.Parallel()
	gw := startGateway(t)
	name := acctest.TestName("replica")
	config := gatewayProviderConfig(gw) + selfHostedRouteConfig(name, `"http://10.0.3.1:8000/v1", "http://10.0.3.2:8000/v1"`)

	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProviderFactories(),
		CheckDestroy:             checkAPIRoutesDestroyed(gw),
		Steps: []resource.TestStep{
			{
				Config:             config,
				Check:              deleteRouteDeployments(gw, apiRouteAddr, false),
				ExpectNonEmptyPlan: true,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectResourceAction(apiRouteAddr, plancheck.ResourceActionUpdate)},
				},
			},
			{
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(apiRouteAddr, plancheck.ResourceActionUpdate)},
				},
				Check: checkRouteDeployments(gw, apiRouteAddr, func(i int, d standin.Stored) error {
					return checkParams(d.LiteLLMParams, map[string]string{"api_base": fmt.Sprintf("http://10.0.3.%d:8000/v1", i+1)})
				}),
			},
		},
	})
}

// Hybrid routing: a self-hosted model with closed APIs behind it, and Bedrock on the gateway's
// own AWS credentials (no key).
func TestAccAPIRoute_hybrid(t *testing.T) {
	t.Parallel()
	gw := startGateway(t)
	prefix := acctest.TestName("hybrid")
	chat, gpt, claude, bedrock := prefix+"-chat", prefix+"-gpt-4o", prefix+"-claude", prefix+"-bedrock"

	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProviderFactories(),
		CheckDestroy:             checkAPIRoutesDestroyed(gw),
		Steps: []resource.TestStep{
			{
				Config: gatewayProviderConfig(gw) + fmt.Sprintf(`
resource "inferstack_api_route" "claude" {
  name = %[3]q
  external = {
    provider = "anthropic"
    model    = "claude-sonnet-4-5-20250929"
    api_key  = "sk-ant-test-key"
  }
}

resource "inferstack_api_route" "bedrock" {
  name = %[4]q
  external = {
    provider   = "bedrock"
    model      = "anthropic.claude-3-5-sonnet-20240620-v1:0"
    aws_region = "us-east-1"
  }
}

resource "inferstack_api_route" "test" {
  name = %[2]q
  external = {
    provider = "openai"
    model    = "gpt-4o"
    api_key  = "sk-openai-test-key"
  }
  fallbacks = [inferstack_api_route.claude.name, inferstack_api_route.bedrock.name]
}

resource "inferstack_api_route" "chat" {
  name = %[1]q
  self_hosted = {
    urls              = ["http://10.0.4.1:8000/v1"]
    served_model_name = "llama"
    api_key           = "vllm-hybrid-key"
  }
  fallbacks = [inferstack_api_route.test.name]
}`, chat, gpt, claude, bedrock),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(apiRouteAddr, tfjsonpath.New("fallbacks"), knownvalue.ListExact([]knownvalue.Check{
						knownvalue.StringExact(claude), knownvalue.StringExact(bedrock),
					})),
					statecheck.ExpectKnownValue(apiRouteAddr, tfjsonpath.New("self_hosted"), knownvalue.Null()),
					statecheck.ExpectSensitiveValue(apiRouteAddr, tfjsonpath.New("external").AtMapKey("api_key")),
				},
				Check: resource.ComposeAggregateTestCheckFunc(
					checkRouteDeployments(gw, apiRouteAddr, func(_ int, d standin.Stored) error {
						return checkParams(d.LiteLLMParams, map[string]string{"model": "openai/gpt-4o", "api_key": "sk-openai-test-key"})
					}),
					checkRouteDeployments(gw, "inferstack_api_route.claude", func(_ int, d standin.Stored) error {
						return checkParams(d.LiteLLMParams, map[string]string{"model": "anthropic/claude-sonnet-4-5-20250929", "api_key": "sk-ant-test-key"})
					}),
					checkRouteDeployments(gw, "inferstack_api_route.bedrock", func(_ int, d standin.Stored) error {
						if _, ok := d.LiteLLMParams["api_key"]; ok {
							return fmt.Errorf("a Bedrock route without keys sent an api_key")
						}
						return checkParams(d.LiteLLMParams, map[string]string{"model": "bedrock/anthropic.claude-3-5-sonnet-20240620-v1:0", "aws_region_name": "us-east-1"})
					}),
					func(*terraform.State) error {
						for model, want := range map[string][]string{chat: {gpt}, gpt: {claude, bedrock}, claude: nil} {
							if got := gw.Fallbacks(model); !slices.Equal(got, want) {
								return fmt.Errorf("the gateway's fallbacks of %s are %v, want %v", model, got, want)
							}
						}
						return nil
					},
				),
			},
			{
				ResourceName:            apiRouteAddr,
				ImportState:             true,
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"external.api_key"},
			},
		},
	})
}

func TestAccAPIRoute_badInput(t *testing.T) {
	t.Parallel()
	const selfHosted = `self_hosted = {
    urls              = ["http://10.0.0.1:8000/v1"]
    served_model_name = "llama"
    api_key           = "k"
  }`
	cases := map[string]struct {
		config string
		want   []string // phrases the error shows, in order
	}{
		"both targets": {selfHosted + `
  external = {
    provider = "openai"
    model    = "gpt-4o"
    api_key  = "sk"
  }`, []string{"conflicting targets", "not both"}},
		"no target": {``, []string{"missing target", "Set the self-hosted target"}},
		"external without key": {`external = {
    provider = "openai"
    model    = "gpt-4o"
  }`, []string{"missing api_key", "external.api_key: Set the OpenAI API key", "Or set api_key_wo"}},
		"unknown provider": {`external = {
    provider = "gemini"
    model    = "gemini-2.5-pro"
    api_key  = "k"
  }`, []string{"unknown provider", `The provider "gemini" is not supported`}},
		"url without /v1": {`self_hosted = {
    urls              = ["http://10.0.0.1:8000"]
    served_model_name = "llama"
    api_key           = "k"
  }`, []string{"invalid vLLM URL", `self_hosted.urls[0]: The URL "http://10.0.0.1:8000" must end in /v1`}},
		"not a url": {`self_hosted = {
    urls              = ["10.0.0.1:8000/v1"]
    served_model_name = "llama"
    api_key           = "k"
  }`, []string{"invalid vLLM URL", "is not an absolute http(s) URL"}},
		"own fallback": {selfHosted + `
  fallbacks = ["tf-acc-test-bad"]`, []string{"invalid fallback", `fallbacks[0]: The model name "tf-acc-test-bad" cannot be its own fallback`}},
		"azure without version": {`external = {
    provider = "azure_openai"
    model    = "gpt-4o-prod"
    api_key  = "k"
    api_base = "https://example.openai.azure.com"
  }`, []string{"missing api_version", "Azure OpenAI needs an API version"}},
		"bedrock half credentials": {`external = {
    provider          = "bedrock"
    model             = "anthropic.claude-3-5-sonnet-20240620-v1:0"
    aws_region        = "us-east-1"
    aws_access_key_id = "AKIA"
  }`, []string{"incomplete AWS credentials", "external.aws_secret_access_key: Set aws_secret_access_key together with aws_access_key_id"}},
		"zero weight": {selfHosted + `
  weight = 0`, []string{"Attribute weight value must be at least 1"}},
		"unknown mode": {selfHosted + `
  mode = "speech"`, []string{"invalid mode", `The mode "speech" is not one LiteLLM knows`}},
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

// phrases matches CLI output that shows each phrase, in order, however the CLI wraps its lines.
func phrases(ps ...string) *regexp.Regexp {
	quoted := make([]string, 0, len(ps))
	for _, p := range ps {
		words := strings.Fields(p)
		for i, w := range words {
			words[i] = regexp.QuoteMeta(w)
		}
		quoted = append(quoted, strings.Join(words, `[\s│]+`)) // the CLIs may wrap lines inside a "│ " box
	}
	return regexp.MustCompile(`(?s)` + strings.Join(quoted, ".*"))
}

// Values that are known only at apply (another resource's output) pass plan-time validation
// and are checked once known; deployment_ids is unknown until the route exists.
func TestAccAPIRoute_unknownAtPlan(t *testing.T) {
	t.Parallel()
	gw := startGateway(t)
	name := acctest.TestName("later")

	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProviderFactories(),
		CheckDestroy:             checkAPIRoutesDestroyed(gw),
		Steps: []resource.TestStep{{
			Config: gatewayProviderConfig(gw) + fmt.Sprintf(`
resource "terraform_data" "endpoint" {
  input = {
    url = "http://10.0.9.1:8000/v1"
    key = "vllm-later-key"
  }
}

resource "inferstack_api_route" "test" {
  name = %q
  self_hosted = {
    urls              = [terraform_data.endpoint.output.url]
    served_model_name = "llama"
    api_key           = terraform_data.endpoint.output.key
  }
}`, name),
			ConfigPlanChecks: resource.ConfigPlanChecks{
				PreApply: []plancheck.PlanCheck{
					plancheck.ExpectUnknownValue(apiRouteAddr, tfjsonpath.New("self_hosted").AtMapKey("urls").AtSliceIndex(0)),
					plancheck.ExpectUnknownValue(apiRouteAddr, tfjsonpath.New("deployment_ids")),
				},
			},
			Check: resource.ComposeAggregateTestCheckFunc(
				checkDeploymentIDs(apiRouteAddr, 1),
				checkRouteDeployments(gw, apiRouteAddr, func(_ int, d standin.Stored) error {
					return checkParams(d.LiteLLMParams, map[string]string{"api_base": "http://10.0.9.1:8000/v1", "api_key": "vllm-later-key"})
				}),
			),
		}},
	})
}

// LiteLLM checks fallbacks against the model names its router serves, so a fallback to a name
// no route serves fails at apply. The route's id is in state before the failure, so the
// deployment that was created is not orphaned: the destroy removes it (CheckDestroy).
func TestAccAPIRoute_unknownFallback(t *testing.T) {
	t.Parallel()
	gw := startGateway(t)
	name := acctest.TestName("fallback")

	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProviderFactories(),
		CheckDestroy:             checkAPIRoutesDestroyed(gw),
		Steps: []resource.TestStep{{
			Config: gatewayProviderConfig(gw) + fmt.Sprintf(`
resource "inferstack_api_route" "test" {
  name = %q
  self_hosted = {
    urls              = ["http://10.0.5.1:8000/v1"]
    served_model_name = "llama"
    api_key           = "k"
  }
  fallbacks = ["tf-acc-test-no-such-model"]
}`, name),
			ExpectError: phrases("Invalid fallback models", "tf-acc-test-no-such-model", "the model names must be served by the proxy"),
		}},
	})
}

// Throttling and server errors of the gateway are retried by the client; the apply succeeds.
func TestAccAPIRoute_gatewayRetries(t *testing.T) {
	t.Parallel()
	gw := startGateway(t)
	name := acctest.TestName("retry")
	gw.InjectFailures(standin.Failure{Path: "/model/new", Status: 429, RetryAfter: "0", Count: 2})
	gw.InjectFailures(standin.Failure{Path: "/model/new", Status: 502, Count: 1})
	gw.InjectFailures(standin.Failure{Path: "/model/info", Status: 503, RetryAfter: "0", Count: 2})

	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProviderFactories(),
		CheckDestroy:             checkAPIRoutesDestroyed(gw),
		Steps: []resource.TestStep{{
			Config: gatewayProviderConfig(gw) + selfHostedRouteConfig(name, `"http://10.0.6.1:8000/v1"`),
			Check: resource.ComposeAggregateTestCheckFunc(
				checkRouteDeployments(gw, apiRouteAddr, func(_ int, d standin.Stored) error {
					return checkParams(d.LiteLLMParams, map[string]string{"api_base": "http://10.0.6.1:8000/v1"})
				}),
				func(*terraform.State) error {
					// Three failed attempts, then the one that succeeded.
					if n := gw.Requests("/model/new"); n != 4 {
						return fmt.Errorf("POST /model/new reached the gateway %d times, want 4 (3 faults + 1)", n)
					}
					if n := gw.Requests("/model/info"); n < 3 {
						return fmt.Errorf("GET /model/info reached the gateway %d times, want at least 3 (2 faults + 1)", n)
					}
					return nil
				},
			),
		}},
	})
}

// A proxy without a model database refuses the create at once (no retries) with an error that
// says what to do. The route's id was in state (tainted) but nothing was created: the next
// refresh finds it gone, and the next apply creates it once the proxy has its database.
func TestAccAPIRoute_noDatabase(t *testing.T) {
	t.Parallel()
	gw := startGateway(t)
	gw.SetDatabase(false)
	name := acctest.TestName("nodb")
	config := gatewayProviderConfig(gw) + selfHostedRouteConfig(name, `"http://10.0.10.1:8000/v1"`)

	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProviderFactories(),
		CheckDestroy:             checkAPIRoutesDestroyed(gw),
		Steps: []resource.TestStep{
			{
				Config:      config,
				ExpectError: phrases("creating API route", "No DB Connected", "STORE_MODEL_IN_DB=True", "render a config file"),
			},
			{
				PreConfig: func() {
					if n := gw.Requests("/model/new"); n != 1 {
						t.Errorf("POST /model/new was sent %d times, want 1 (a missing database is not retried)", n)
					}
					gw.SetDatabase(true)
				},
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(apiRouteAddr, plancheck.ResourceActionCreate)},
				},
				Check: checkDeploymentIDs(apiRouteAddr, 1),
			},
		},
	})
}

// The write-only key reaches the gateway and never the plan or the state. Write-only
// attributes need Terraform or OpenTofu 1.11+.
func TestAccAPIRoute_writeOnlyKey(t *testing.T) {
	t.Parallel()
	gw := startGateway(t)
	name := acctest.TestName("wo")
	config := func(key string, version int) string {
		return gatewayProviderConfig(gw) + fmt.Sprintf(`
resource "inferstack_api_route" "test" {
  name = %q
  self_hosted = {
    urls               = ["http://10.0.7.1:8000/v1"]
    served_model_name = "llama"
    api_key_wo         = %q
    api_key_wo_version = %d
  }
}`, name, key, version)
	}
	keyIs := func(want string) resource.TestCheckFunc {
		return checkRouteDeployments(gw, apiRouteAddr, func(_ int, d standin.Stored) error {
			return checkParams(d.LiteLLMParams, map[string]string{"api_key": want})
		})
	}
	woNull := statecheck.ExpectKnownValue(apiRouteAddr, tfjsonpath.New("self_hosted").AtMapKey("api_key_wo"), knownvalue.Null())

	resource.Test(t, resource.TestCase{
		TerraformVersionChecks:   []tfversion.TerraformVersionCheck{acctest.WriteOnly},
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProviderFactories(),
		CheckDestroy:             checkAPIRoutesDestroyed(gw),
		Steps: []resource.TestStep{
			{
				Config: config("wo-secret-one", 1),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{planLacks("wo-secret-one")},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					woNull,
					statecheck.ExpectKnownValue(apiRouteAddr, tfjsonpath.New("self_hosted").AtMapKey("api_key"), knownvalue.Null()),
					statecheck.ExpectKnownValue(apiRouteAddr, tfjsonpath.New("self_hosted").AtMapKey("api_key_wo_version"), knownvalue.Int64Exact(1)),
					stateLacks("wo-secret-one"),
				},
				Check: keyIs("wo-secret-one"),
			},
			{
				// A new version sends the new key, in place.
				Config: config("wo-secret-two", 2),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(apiRouteAddr, plancheck.ResourceActionUpdate),
						planLacks("wo-secret-two"),
					},
				},
				ConfigStateChecks: []statecheck.StateCheck{woNull, stateLacks("wo-secret-two")},
				Check:             keyIs("wo-secret-two"),
			},
			{
				// A new key under the same version is not seen: that is what the version is for.
				Config: config("wo-secret-three", 2),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: keyIs("wo-secret-two"),
			},
		},
	})
}

func selfHostedRouteConfig(name, urls string) string {
	return fmt.Sprintf(`
resource "inferstack_api_route" "test" {
  name = %q
  self_hosted = {
    urls              = [%s]
    served_model_name = "llama"
    api_key           = "vllm-key"
  }
}`, name, urls)
}

// checkAPIRoutesDestroyed asks the test's gateway that no deployment and no fallback setting
// is left (each test has a gateway of its own).
func checkAPIRoutesDestroyed(gw *standin.Server) resource.TestCheckFunc {
	return func(s *terraform.State) error {
		var left []string
		for _, d := range gw.Deployments() {
			left = append(left, d.ID+" ("+d.ModelName+")")
		}
		if len(left) > 0 {
			return fmt.Errorf("the gateway still holds deployments %s", strings.Join(left, ", "))
		}
		for _, rs := range s.RootModule().Resources {
			if rs.Type != "inferstack_api_route" {
				continue
			}
			if fb := gw.Fallbacks(rs.Primary.Attributes["name"]); fb != nil {
				return fmt.Errorf("the gateway still holds fallbacks %v of %s", fb, rs.Primary.Attributes["name"])
			}
		}
		return nil
	}
}

// checkDeploymentIDs checks that deployment_ids holds n ids: the route id, then <id>~1, ...
func checkDeploymentIDs(addr string, n int) resource.TestCheckFunc {
	return func(s *terraform.State) error {
		rs, ok := s.RootModule().Resources[addr]
		if !ok {
			return fmt.Errorf("%s not in state", addr)
		}
		id := rs.Primary.ID
		if got := rs.Primary.Attributes["deployment_ids.#"]; got != fmt.Sprint(n) {
			return fmt.Errorf("%s has %s deployment_ids, want %d", addr, got, n)
		}
		for i := range n {
			want := id
			if i > 0 {
				want = fmt.Sprintf("%s~%d", id, i)
			}
			if got := rs.Primary.Attributes[fmt.Sprintf("deployment_ids.%d", i)]; got != want {
				return fmt.Errorf("%s deployment_ids[%d] = %q, want %q", addr, i, got, want)
			}
		}
		return nil
	}
}

// checkRouteDeployments finds the deployments deployment_ids names in the gateway (all of them,
// and no others of the route) and checks each.
func checkRouteDeployments(gw *standin.Server, addr string, check func(i int, d standin.Stored) error) resource.TestCheckFunc {
	return func(s *terraform.State) error {
		rs, ok := s.RootModule().Resources[addr]
		if !ok {
			return fmt.Errorf("%s not in state", addr)
		}
		id := rs.Primary.ID
		var ids []string
		for _, d := range gw.Deployments() {
			if d.ID == id || strings.HasPrefix(d.ID, id+"~") {
				ids = append(ids, d.ID)
			}
		}
		n := 0
		fmt.Sscan(rs.Primary.Attributes["deployment_ids.#"], &n)
		if len(ids) != n {
			return fmt.Errorf("the gateway holds deployments %v of %s, want %d", ids, addr, n)
		}
		for i := range n {
			did := rs.Primary.Attributes[fmt.Sprintf("deployment_ids.%d", i)]
			d, ok := gw.Deployment(did)
			if !ok {
				return fmt.Errorf("deployment %s of %s is not in the gateway", did, addr)
			}
			if err := check(i, d); err != nil {
				return fmt.Errorf("%s deployment %s: %w", addr, did, err)
			}
		}
		return nil
	}
}

// deleteRouteDeployments deletes the route's deployments in the gateway behind Terraform's back:
// all of them, or only the replicas.
func deleteRouteDeployments(gw *standin.Server, addr string, primary bool) resource.TestCheckFunc {
	return func(s *terraform.State) error {
		rs, ok := s.RootModule().Resources[addr]
		if !ok {
			return fmt.Errorf("%s not in state", addr)
		}
		deleted := 0
		for _, d := range gw.Deployments() {
			if strings.HasPrefix(d.ID, rs.Primary.ID+"~") || primary && d.ID == rs.Primary.ID {
				if gw.DeleteDeployment(d.ID) {
					deleted++
				}
			}
		}
		if deleted == 0 {
			return fmt.Errorf("no deployment of %s to delete", addr)
		}
		return nil
	}
}

// checkParams compares the values of a stored litellm_params or model_info with want, as text.
func checkParams(got map[string]any, want map[string]string) error {
	for k, w := range want {
		v, ok := got[k]
		if !ok {
			return fmt.Errorf("%s is not set, want %q", k, w)
		}
		if s := fmt.Sprint(v); s != w {
			return fmt.Errorf("%s = %q, want %q", k, s, w)
		}
	}
	return nil
}

// stateLacks fails when secret appears anywhere in the state, sensitive values included.
func stateLacks(secret string) statecheck.StateCheck { return lacks{secret} }

// planLacks fails when secret appears anywhere in the plan.
func planLacks(secret string) plancheck.PlanCheck { return lacks{secret} }

type lacks struct{ secret string }

func (c lacks) CheckState(_ context.Context, req statecheck.CheckStateRequest, resp *statecheck.CheckStateResponse) {
	resp.Error = c.check("state", req.State)
}

// CheckPlan looks at the planned values and changes: the plan's copy of the configuration
// holds literal values as written, which is the user's own text, not something Terraform keeps.
func (c lacks) CheckPlan(_ context.Context, req plancheck.CheckPlanRequest, resp *plancheck.CheckPlanResponse) {
	resp.Error = c.check("plan", []any{req.Plan.PlannedValues, req.Plan.ResourceChanges, req.Plan.PriorState})
}

func (c lacks) check(what string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if bytes.Contains(b, []byte(c.secret)) {
		return fmt.Errorf("the %s holds the write-only key", what)
	}
	return nil
}
