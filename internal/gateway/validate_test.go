package gateway

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/inferstack/terraform-provider-inferstack/internal/errs"
)

func selfHostedRoute() Route {
	return Route{
		ID:        "tf-acc-test-chat",
		ModelName: "chat-default",
		SelfHosted: &SelfHosted{
			APIBases:    []string{"http://10.0.0.12:8000/v1", "http://10.0.0.13:8000/v1"},
			ServedModel: "meta-llama/Llama-3.1-8B-Instruct",
			APIKey:      "vllm-key-a",
		},
		Weight: 2, Order: 1, RPM: 600, TPM: 100000, Timeout: 600 * time.Second,
		Tags: []string{"self-hosted"}, Fallbacks: []string{"gpt-4o"},
	}
}

func externalRoute(p Provider) Route {
	r := Route{ID: "tf-acc-test-ext", ModelName: "ext"}
	switch p {
	case ProviderOpenAI:
		r.External = &External{Provider: p, Model: "gpt-4o", APIKey: "sk-openai"}
	case ProviderAnthropic:
		r.External = &External{Provider: p, Model: "claude-sonnet-4-5-20250929", APIKey: "sk-ant"}
	case ProviderAzureOpenAI:
		r.External = &External{Provider: p, Model: "gpt-4o-prod", APIKey: "azkey", APIBase: "https://res.openai.azure.com", APIVersion: "2024-10-21"}
	case ProviderBedrock:
		r.External = &External{Provider: p, Model: "anthropic.claude-3-5-sonnet-20240620-v1:0", AWSRegion: "us-east-1"}
	}
	return r
}

func TestValidate(t *testing.T) {
	t.Parallel()
	type want struct {
		attr    string // errs.Problem.Attribute
		summary string // a part of the summary
	}
	cases := []struct {
		name    string
		route   func() Route
		unknown []string
		want    []want // nil: valid
	}{
		{name: "self-hosted valid", route: selfHostedRoute},
		{name: "openai valid", route: func() Route { return externalRoute(ProviderOpenAI) }},
		{name: "anthropic valid", route: func() Route { return externalRoute(ProviderAnthropic) }},
		{name: "azure valid", route: func() Route { return externalRoute(ProviderAzureOpenAI) }},
		{name: "bedrock valid without keys", route: func() Route { return externalRoute(ProviderBedrock) }},
		{name: "bedrock valid with keys", route: func() Route {
			r := externalRoute(ProviderBedrock)
			r.External.AWSAccessKeyID, r.External.AWSSecretAccessKey, r.External.AWSSessionToken = "AKIA", "secret", "token"
			return r
		}},
		{name: "both targets", route: func() Route {
			r := selfHostedRoute()
			r.External = externalRoute(ProviderOpenAI).External
			return r
		}, want: []want{{"external", "conflicting targets"}}},
		{name: "no target", route: func() Route {
			r := selfHostedRoute()
			r.SelfHosted = nil
			return r
		}, want: []want{{"", "missing target"}}},
		{name: "no target but unknown external", route: func() Route {
			r := selfHostedRoute()
			r.SelfHosted = nil
			return r
		}, unknown: []string{"external"}},
		{name: "external without key", route: func() Route {
			r := externalRoute(ProviderOpenAI)
			r.External.APIKey = ""
			return r
		}, want: []want{{"external.api_key", "missing api_key"}}},
		{name: "external key unknown at plan", route: func() Route {
			r := externalRoute(ProviderAnthropic)
			r.External.APIKey = ""
			return r
		}, unknown: []string{"external.api_key"}},
		{name: "unknown provider", route: func() Route {
			r := externalRoute(ProviderOpenAI)
			r.External.Provider = "cohere"
			return r
		}, want: []want{{"external.provider", "unknown provider"}}},
		{name: "missing provider", route: func() Route {
			r := externalRoute(ProviderOpenAI)
			r.External.Provider = ""
			return r
		}, want: []want{{"external.provider", "missing provider"}}},
		{name: "model with litellm prefix", route: func() Route {
			r := externalRoute(ProviderOpenAI)
			r.External.Model = "openai/gpt-4o"
			return r
		}, want: []want{{"external.model", "invalid model"}}},
		{name: "openai with aws fields and api_version", route: func() Route {
			r := externalRoute(ProviderOpenAI)
			r.External.AWSRegion, r.External.APIVersion = "us-east-1", "2024-10-21"
			return r
		}, want: []want{{"external.aws_region", "unexpected"}, {"external.api_version", "unexpected"}}},
		{name: "anthropic with organization and bad api_base", route: func() Route {
			r := externalRoute(ProviderAnthropic)
			r.External.Organization, r.External.APIBase = "org-1", "ftp://x"
			return r
		}, want: []want{{"external.organization", "unexpected"}, {"external.api_base", "invalid api_base"}}},
		{name: "azure without api_base and version", route: func() Route {
			r := externalRoute(ProviderAzureOpenAI)
			r.External.APIBase, r.External.APIVersion = "", ""
			return r
		}, want: []want{{"external.api_base", "missing api_base"}, {"external.api_version", "missing api_version"}}},
		{name: "azure http api_base and bad version", route: func() Route {
			r := externalRoute(ProviderAzureOpenAI)
			r.External.APIBase, r.External.APIVersion = "http://res.openai.azure.com", "october"
			return r
		}, want: []want{{"external.api_base", "invalid api_base"}, {"external.api_version", "invalid api_version"}}},
		{name: "bedrock with api_key, no region", route: func() Route {
			r := externalRoute(ProviderBedrock)
			r.External.APIKey, r.External.AWSRegion = "k", ""
			return r
		}, want: []want{{"external.api_key", "unexpected"}, {"external.aws_region", "missing aws_region"}}},
		{name: "bedrock bad region, half credentials", route: func() Route {
			r := externalRoute(ProviderBedrock)
			r.External.AWSRegion, r.External.AWSAccessKeyID = "useast1", "AKIA"
			return r
		}, want: []want{{"external.aws_region", "invalid aws_region"}, {"external.aws_secret_access_key", "incomplete"}}},
		{name: "bedrock session token alone", route: func() Route {
			r := externalRoute(ProviderBedrock)
			r.External.AWSSessionToken = "tok"
			return r
		}, want: []want{{"external.aws_session_token", "incomplete"}}},
		{name: "self-hosted bad urls", route: func() Route {
			r := selfHostedRoute()
			r.SelfHosted.APIBases = []string{"10.0.0.12:8000/v1", "http://10.0.0.12:8000", "http://u:p@h:8000/v1", "http://h:8000/v1?x=1", "http://ok:8000/v1", "http://ok:8000/v1"}
			return r
		}, want: []want{
			{"self_hosted.urls[0]", "invalid vLLM URL"},
			{"self_hosted.urls[1]", "invalid vLLM URL"},
			{"self_hosted.urls[2]", "invalid vLLM URL"},
			{"self_hosted.urls[3]", "invalid vLLM URL"},
			{"self_hosted.urls[5]", "duplicate vLLM URL"},
		}},
		{name: "self-hosted empty", route: func() Route {
			r := selfHostedRoute()
			r.SelfHosted = &SelfHosted{}
			return r
		}, want: []want{
			{"self_hosted.urls", "missing vLLM URL"},
			{"self_hosted.served_model_name", "missing served model name"},
			{"self_hosted.api_key", "missing api_key"},
		}},
		{name: "self-hosted unknown at plan", route: func() Route {
			r := selfHostedRoute()
			r.SelfHosted = &SelfHosted{ServedModel: "m"}
			return r
		}, unknown: []string{"self_hosted.urls", "self_hosted.api_key"}},
		{name: "key with newline, bad env name", route: func() Route {
			r := selfHostedRoute()
			r.SelfHosted.APIKey, r.SelfHosted.APIKeyEnv = "key\n", "1BAD-NAME"
			return r
		}, want: []want{{"self_hosted.api_key", "invalid"}, {"self_hosted.api_key_env", "invalid environment variable name"}}},
		{name: "bad id, name and numbers", route: func() Route {
			r := selfHostedRoute()
			r.ID, r.ModelName = "has space", " chat"
			r.Weight, r.Order, r.RPM, r.TPM, r.Timeout = -1, -1, -1, -1, -time.Second
			return r
		}, want: []want{
			{"id", "invalid route id"}, {"name", "invalid model name"}, {"weight", "invalid weight"},
			{"order", "invalid order"}, {"rpm", "invalid rpm"}, {"tpm", "invalid tpm"}, {"timeout_seconds", "invalid timeout"},
		}},
		{name: "replica separator in id", route: func() Route {
			r := selfHostedRoute()
			r.ID = "chat~1"
			return r
		}, want: []want{{"id", "invalid route id"}}},
		{name: "missing id and name", route: func() Route {
			r := selfHostedRoute()
			r.ID, r.ModelName = "", ""
			return r
		}, want: []want{{"id", "missing route id"}, {"name", "missing model name"}}},
		{name: "tags and fallbacks", route: func() Route {
			r := selfHostedRoute()
			r.Tags = []string{"a", "", "a"}
			r.Fallbacks = []string{"chat-default", "gpt-4o", "gpt-4o"}
			return r
		}, want: []want{
			{"tags[1]", "empty tag"}, {"tags[2]", "duplicate tag"},
			{"fallbacks[2]", "duplicate fallback"}, {"fallbacks[0]", "invalid fallback"},
		}},
		{name: "mode", route: func() Route {
			r := selfHostedRoute()
			r.Mode = "chatty"
			return r
		}, want: []want{{"mode", "invalid mode"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := tc.route().Validate(tc.unknown...)
			var gotPairs []want
			for _, p := range got {
				gotPairs = append(gotPairs, want{p.Attribute, p.Summary})
				if p.Detail == "" {
					t.Errorf("problem %s has no detail", p.Attribute)
				}
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %d problems %v, want %v", len(got), gotPairs, tc.want)
			}
			for _, w := range tc.want {
				if !slices.ContainsFunc(got, func(p *errs.Problem) bool {
					return p.Attribute == w.attr && strings.Contains(p.Summary, w.summary)
				}) {
					t.Errorf("no problem %q on %q; got %v", w.summary, w.attr, gotPairs)
				}
			}
		})
	}
}

func TestValidateNeverEchoesSecrets(t *testing.T) {
	t.Parallel()
	r := externalRoute(ProviderBedrock)
	r.External.AWSAccessKeyID, r.External.AWSSecretAccessKey = "AKIA-SECRET-ID ", " very-secret-value"
	for _, p := range r.Validate() {
		if strings.Contains(p.Error(), "very-secret-value") || strings.Contains(p.Error(), "AKIA-SECRET-ID") {
			t.Errorf("problem echoes a secret: %s", p)
		}
	}
	if len(r.Validate()) != 2 {
		t.Errorf("want 2 problems, got %v", r.Validate())
	}
}
