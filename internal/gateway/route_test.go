package gateway

import (
	"encoding/json"
	"reflect"
	"slices"
	"testing"
	"time"
)

func TestDeployments(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		route Route
		want  []Deployment
	}{
		{
			name:  "self-hosted replicas",
			route: selfHostedRoute(),
			want: []Deployment{
				{ID: "tf-acc-test-chat", ModelName: "chat-default", Model: "hosted_vllm/meta-llama/Llama-3.1-8B-Instruct",
					APIBase: "http://10.0.0.12:8000/v1", APIKey: "vllm-key-a", Weight: 2, Order: 1, RPM: 600, TPM: 100000,
					Timeout: 600 * time.Second, Tags: []string{"self-hosted"}, Mode: "chat", RouteID: "tf-acc-test-chat", Replica: 0, Replicas: 2},
				{ID: "tf-acc-test-chat~1", ModelName: "chat-default", Model: "hosted_vllm/meta-llama/Llama-3.1-8B-Instruct",
					APIBase: "http://10.0.0.13:8000/v1", APIKey: "vllm-key-a", Weight: 2, Order: 1, RPM: 600, TPM: 100000,
					Timeout: 600 * time.Second, Tags: []string{"self-hosted"}, Mode: "chat", RouteID: "tf-acc-test-chat", Replica: 1, Replicas: 2},
			},
		},
		{
			name:  "azure",
			route: externalRoute(ProviderAzureOpenAI),
			want: []Deployment{{ID: "tf-acc-test-ext", ModelName: "ext", Model: "azure/gpt-4o-prod", APIKey: "azkey",
				APIBase: "https://res.openai.azure.com", APIVersion: "2024-10-21", Mode: "chat", RouteID: "tf-acc-test-ext", Replicas: 1}},
		},
		{
			name: "bedrock with keys and embedding mode",
			route: func() Route {
				r := externalRoute(ProviderBedrock)
				r.Mode = "embedding"
				r.External.AWSAccessKeyID, r.External.AWSSecretAccessKey = "AKIA", "s3cr3t"
				return r
			}(),
			want: []Deployment{{ID: "tf-acc-test-ext", ModelName: "ext", Model: "bedrock/anthropic.claude-3-5-sonnet-20240620-v1:0",
				AWSRegionName: "us-east-1", AWSAccessKeyID: "AKIA", AWSSecretAccessKey: "s3cr3t", Mode: "embedding",
				RouteID: "tf-acc-test-ext", Replicas: 1}},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := tc.route.Deployments(); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Deployments() =\n%+v\nwant\n%+v", got, tc.want)
			}
		})
	}
}

// TestRoundTrip sends deployments through JSON as a gateway would and reads them back: the route
// comes back equal except for its secrets and fallbacks.
func TestRoundTrip(t *testing.T) {
	t.Parallel()
	routes := []Route{selfHostedRoute(), externalRoute(ProviderOpenAI), externalRoute(ProviderAnthropic),
		externalRoute(ProviderAzureOpenAI), externalRoute(ProviderBedrock)}
	for _, r := range routes {
		t.Run(r.ModelName+"/"+string(providerOf(r)), func(t *testing.T) {
			t.Parallel()
			var back []Deployment
			for _, d := range r.Deployments() {
				b, _ := json.Marshal(map[string]any{"p": ParamMap(d.LiteLLMParams()), "i": ParamMap(d.ModelInfo())})
				var v struct{ P, I map[string]any }
				if err := json.Unmarshal(b, &v); err != nil {
					t.Fatal(err)
				}
				got := ParseDeployment(d.ModelName, v.P, v.I)
				if got.APIKey != "" || got.AWSAccessKeyID != "" || got.AWSSecretAccessKey != "" || got.AWSSessionToken != "" {
					t.Errorf("ParseDeployment read a secret back: %+v", got)
				}
				back = append(back, got)
			}
			want := r
			want.Mode = DefaultMode
			want.Fallbacks = nil
			if want.SelfHosted != nil {
				s := *want.SelfHosted
				s.APIKey = ""
				want.SelfHosted = &s
			}
			if want.External != nil {
				e := *want.External
				e.APIKey, e.AWSAccessKeyID, e.AWSSecretAccessKey, e.AWSSessionToken = "", "", "", ""
				want.External = &e
			}
			if got := RouteFromDeployments(back); !reflect.DeepEqual(got, want) {
				t.Errorf("RouteFromDeployments =\n%+v\nwant\n%+v", got, want)
			}
		})
	}
}

func providerOf(r Route) Provider {
	if r.External != nil {
		return r.External.Provider
	}
	return "self-hosted"
}

func TestParseDeploymentLenient(t *testing.T) {
	t.Parallel()
	params := map[string]any{
		"model": "hosted_vllm/m", "timeout": json.Number("600.0"), "rpm": "60", "tpm": 1000.0, "weight": json.Number("3"),
		"order": 1.5, "tags": []any{"a", 1, "b"}, "api_key": "secret", "aws_secret_access_key": "s",
		"use_in_pass_through": false,
	}
	info := map[string]any{"id": "x", "db_model": false, "inferstack_replica": json.Number("1"), "inferstack_replicas": 2.0}
	d := ParseDeployment("m", params, info)
	want := Deployment{ID: "x", ModelName: "m", Model: "hosted_vllm/m", Timeout: 600 * time.Second, RPM: 60, TPM: 1000,
		Weight: 3, Tags: []string{"a", "b"}, Replica: 1, Replicas: 2, FromConfig: true}
	if !reflect.DeepEqual(d, want) {
		t.Errorf("ParseDeployment =\n%+v\nwant\n%+v", d, want)
	}
	if d := ParseDeployment("m", map[string]any{"timeout": 2.5}, nil); d.Timeout != 2500*time.Millisecond {
		t.Errorf("fractional timeout = %s", d.Timeout)
	}
}

func TestDiff(t *testing.T) {
	t.Parallel()
	withKey := selfHostedRoute().Deployments()[0]
	read := withKey
	read.APIKey = "" // as a gateway read gives it back
	fromJSON := ParseDeployment(read.ModelName,
		map[string]any{"model": read.Model, "api_base": read.APIBase, "weight": 2.0, "order": 1.0, "rpm": "600",
			"tpm": 100000.0, "timeout": 600.0, "tags": []any{"self-hosted"}, "use_in_pass_through": false},
		map[string]any{"id": read.ID, "mode": "chat", "inferstack_route": read.RouteID, "inferstack_replica": 0.0,
			"inferstack_replicas": 2.0, "db_model": true, "litellm_provider": "hosted_vllm"})
	cases := []struct {
		name         string
		prior        Deployment
		desired      Deployment
		change       func(*Deployment)
		params, info bool
		cleared      []string
	}{
		{name: "unchanged", prior: read, desired: read},
		{name: "unchanged, read back with other number types", prior: fromJSON, desired: read},
		{name: "same secret in state", prior: withKey, desired: withKey},
		{name: "secret against a read", prior: read, desired: withKey, params: true},
		{name: "secret changed", prior: withKey, desired: withKey, change: func(d *Deployment) { d.APIKey = "new" }, params: true},
		{name: "rpm changed", prior: read, desired: read, change: func(d *Deployment) { d.RPM = 10 }, params: true},
		{name: "name changed", prior: read, desired: read, change: func(d *Deployment) { d.ModelName = "x" }, params: true},
		{name: "replicas changed", prior: read, desired: read, change: func(d *Deployment) { d.Replicas = 3 }, info: true},
		{name: "mode changed", prior: read, desired: read, change: func(d *Deployment) { d.Mode = "embedding" }, info: true},
		{name: "rpm and tags dropped", prior: read, desired: read, change: func(d *Deployment) { d.RPM = 0; d.Tags = nil },
			cleared: []string{"rpm", "tags"}},
		{name: "secret dropped", prior: withKey, desired: read, cleared: []string{"api_key"}},
		{name: "base model dropped", prior: func() Deployment { d := read; d.BaseModel = "m"; return d }(), desired: read,
			cleared: []string{"model_info.base_model"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			desired := tc.desired
			desired.Tags = slices.Clone(desired.Tags)
			if tc.change != nil {
				tc.change(&desired)
			}
			c := Diff(tc.prior, desired)
			if c.Params != tc.params || c.Info != tc.info || !slices.Equal(c.Cleared, tc.cleared) {
				t.Errorf("Diff = %+v, want params=%v info=%v cleared=%v", c, tc.params, tc.info, tc.cleared)
			}
		})
	}
}

func TestDeploymentIDAndEnvNames(t *testing.T) {
	t.Parallel()
	if got := DeploymentID("chat", 0); got != "chat" {
		t.Errorf("DeploymentID(chat, 0) = %q", got)
	}
	if got := DeploymentID("chat", 2); got != "chat~2" {
		t.Errorf("DeploymentID(chat, 2) = %q", got)
	}
	if got := DefaultEnvName("tf-acc.chat_1", "API_KEY"); got != "INFERSTACK_TF_ACC_CHAT_1_API_KEY" {
		t.Errorf("DefaultEnvName = %q", got)
	}
}
