package gateway

import (
	"flag"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

func intPtr(i int) *int { return &i }

func TestRenderConfigGolden(t *testing.T) {
	t.Parallel()
	hybrid := []Route{
		externalRoute(ProviderOpenAI), // id tf-acc-test-ext: sorted after tf-acc-test-chat
		selfHostedRoute(),
	}
	hybrid[0].ModelName, hybrid[0].ID = "gpt-4o", "gpt-4o"

	allProviders := []Route{externalRoute(ProviderAnthropic), externalRoute(ProviderAzureOpenAI), externalRoute(ProviderBedrock)}
	allProviders[0].ID, allProviders[0].ModelName = "claude", "claude"
	allProviders[0].External.APIKeyEnv = "ANTHROPIC_API_KEY"
	allProviders[1].ID, allProviders[1].ModelName, allProviders[1].Tags = "azure", "gpt-4o-azure", []string{"eu", "yes"}
	allProviders[2].ID, allProviders[2].ModelName, allProviders[2].Mode = "bedrock", "claude-bedrock", "chat"
	allProviders[2].External.AWSAccessKeyID, allProviders[2].External.AWSSecretAccessKey = "AKIAEXAMPLE", "bedrock-secret"
	allProviders[2].Timeout = 1500 * time.Millisecond
	allProviders[2].Fallbacks = []string{"claude"}

	envRef := selfHostedRoute()
	envRef.SelfHosted.APIKey = "os.environ/MY_VLLM_KEY"
	envRef.Fallbacks = nil

	cases := []struct {
		name    string
		routes  []Route
		opts    RenderOptions
		wantEnv map[string]string
	}{
		{name: "hybrid", routes: hybrid, opts: RenderOptions{RouterSettings: RouterSettings{
			RoutingStrategy: "simple-shuffle", NumRetries: intPtr(2), AllowedFails: intPtr(0), Timeout: 30 * time.Second,
			CooldownTime: 60 * time.Second,
		}}, wantEnv: map[string]string{
			"INFERSTACK_GPT_4O_API_KEY":           "sk-openai",
			"INFERSTACK_TF_ACC_TEST_CHAT_API_KEY": "vllm-key-a",
		}},
		{name: "providers", routes: allProviders, wantEnv: map[string]string{
			"ANTHROPIC_API_KEY":                        "sk-ant",
			"INFERSTACK_AZURE_API_KEY":                 "azkey",
			"INFERSTACK_BEDROCK_AWS_ACCESS_KEY_ID":     "AKIAEXAMPLE",
			"INFERSTACK_BEDROCK_AWS_SECRET_ACCESS_KEY": "bedrock-secret",
		}},
		{name: "literal_secrets", routes: hybrid, opts: RenderOptions{LiteralSecrets: true}, wantEnv: map[string]string{}},
		{name: "env_reference_kept", routes: []Route{envRef}, wantEnv: map[string]string{}},
		{name: "empty", routes: nil, wantEnv: map[string]string{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := RenderConfig(tc.routes, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", "render_"+tc.name+".golden")
			if *update {
				if err := os.WriteFile(golden, got.YAML, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./internal/gateway -run TestRenderConfigGolden -update to create it)", err)
			}
			if string(got.YAML) != string(want) {
				t.Errorf("%s differs from the output (run with -update if the change is wanted):\n%s", golden, got.YAML)
			}
			if !maps.Equal(got.Env, tc.wantEnv) {
				t.Errorf("Env = %v, want %v", got.Env, tc.wantEnv)
			}
			// The file is YAML LiteLLM can load: model_list entries with the three keys.
			var cfg struct {
				ModelList []struct {
					ModelName     string         `yaml:"model_name"`
					LiteLLMParams map[string]any `yaml:"litellm_params"`
					ModelInfo     map[string]any `yaml:"model_info"`
				} `yaml:"model_list"`
				RouterSettings map[string]any `yaml:"router_settings"`
			}
			if err := yaml.Unmarshal(got.YAML, &cfg); err != nil {
				t.Fatalf("output is not YAML: %v", err)
			}
			n := 0
			for _, r := range tc.routes {
				n += len(r.Deployments())
			}
			if len(cfg.ModelList) != n {
				t.Errorf("model_list has %d entries, want %d", len(cfg.ModelList), n)
			}
			for _, m := range cfg.ModelList {
				if key, ok := m.LiteLLMParams["api_key"].(string); ok && !tc.opts.LiteralSecrets && !strings.HasPrefix(key, EnvPrefix) {
					t.Errorf("model %s: api_key is written literally", m.ModelName)
				}
				if m.ModelInfo["id"] == nil {
					t.Errorf("model %s has no model_info.id", m.ModelName)
				}
			}
		})
	}
}

// TestRenderConfigMatchesAPI checks that a rendered file and the model API carry the same
// deployments: the file parses back into what Route.Deployments gives, secrets aside.
func TestRenderConfigMatchesAPI(t *testing.T) {
	t.Parallel()
	routes := []Route{selfHostedRoute(), externalRoute(ProviderAzureOpenAI)}
	got, err := RenderConfig(routes, RenderOptions{LiteralSecrets: true})
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		ModelList []struct {
			ModelName     string         `yaml:"model_name"`
			LiteLLMParams map[string]any `yaml:"litellm_params"`
			ModelInfo     map[string]any `yaml:"model_info"`
		} `yaml:"model_list"`
	}
	if err := yaml.Unmarshal(got.YAML, &cfg); err != nil {
		t.Fatal(err)
	}
	var want []Deployment
	for _, r := range []Route{selfHostedRoute(), externalRoute(ProviderAzureOpenAI)} {
		for _, d := range r.Deployments() {
			d.APIKey = ""
			want = append(want, d)
		}
	}
	var back []Deployment
	for _, m := range cfg.ModelList {
		info := m.ModelInfo
		info["db_model"] = true
		back = append(back, ParseDeployment(m.ModelName, m.LiteLLMParams, info))
	}
	if !reflect.DeepEqual(back, want) {
		t.Errorf("rendered deployments =\n%+v\nwant\n%+v", back, want)
	}
}

func TestRenderConfigErrors(t *testing.T) {
	t.Parallel()
	dupID := []Route{selfHostedRoute(), selfHostedRoute()}

	fb1, fb2 := externalRoute(ProviderOpenAI), externalRoute(ProviderAnthropic)
	fb1.ID, fb2.ID = "a", "b"
	fb1.ModelName, fb2.ModelName = "shared", "shared"
	fb1.Fallbacks, fb2.Fallbacks = []string{"x"}, []string{"y"}

	env1, env2 := externalRoute(ProviderOpenAI), externalRoute(ProviderAnthropic)
	env1.ID, env2.ID = "a", "b"
	env1.External.APIKeyEnv, env2.External.APIKeyEnv = "KEY", "KEY"

	invalid := selfHostedRoute()
	invalid.SelfHosted.APIKey = ""

	cases := []struct {
		name   string
		routes []Route
		opts   RenderOptions
		want   string
	}{
		{"duplicate id", dupID, RenderOptions{}, `two routes have the id "tf-acc-test-chat"`},
		{"conflicting fallbacks", []Route{fb1, fb2}, RenderOptions{}, "set different fallbacks"},
		{"env clash", []Route{env1, env2}, RenderOptions{}, "different values in the environment variable KEY"},
		{"invalid route", []Route{invalid}, RenderOptions{}, "self_hosted.api_key: missing api_key"},
		{"routing strategy", nil, RenderOptions{RouterSettings: RouterSettings{RoutingStrategy: "random"}}, `routing strategy "random"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := RenderConfig(tc.routes, tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "sk-openai") || strings.Contains(err.Error(), "sk-ant") {
				t.Errorf("error echoes a secret: %v", err)
			}
		})
	}
}

func TestRenderConfigSharedEnv(t *testing.T) {
	t.Parallel()
	// Same env name, same value: one variable serves both routes.
	a, b := externalRoute(ProviderOpenAI), externalRoute(ProviderOpenAI)
	a.ID, b.ID = "a", "b"
	a.External.APIKeyEnv, b.External.APIKeyEnv = "OPENAI_API_KEY", "OPENAI_API_KEY"
	got, err := RenderConfig([]Route{a, b}, RenderOptions{})
	if err != nil {
		t.Fatalf("shared env var with one value: %v", err)
	}
	if want := map[string]string{"OPENAI_API_KEY": "sk-openai"}; !maps.Equal(got.Env, want) {
		t.Errorf("Env = %v, want %v", got.Env, want)
	}
}
