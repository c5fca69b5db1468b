package provider_test

import (
	"fmt"
	"net/url"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/inferstack/terraform-provider-inferstack/internal/acctest"
	"github.com/inferstack/terraform-provider-inferstack/internal/acctest/hfhub"
)

const hfModelAddr = "data.inferstack_hf_model.test"

func hubInfoPath(id, revision string) string {
	return "/api/models/" + id + "/revision/" + url.PathEscape(revision)
}

func hubConfigPath(id, sha string) string { return "/" + id + "/resolve/" + sha + "/config.json" }

func TestAccHFModelDataSource_basic(t *testing.T) {
	t.Parallel()
	h := sharedHub()
	// No token: an open model needs none. revision is left out and defaults to "main".
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProviderFactories(),
		Steps: []resource.TestStep{{
			Config: hubProviderConfig("") + `
data "inferstack_hf_model" "test" {
  id = "Qwen/Qwen2.5-7B-Instruct"
}`,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(hfModelAddr, tfjsonpath.New("revision"), knownvalue.StringExact("main")),
				statecheck.ExpectKnownValue(hfModelAddr, tfjsonpath.New("sha"), knownvalue.StringExact(h.SHA(hfhub.Qwen7BID, "main"))),
				statecheck.ExpectKnownValue(hfModelAddr, tfjsonpath.New("parameters"), knownvalue.Int64Exact(7615616512)),
				statecheck.ExpectKnownValue(hfModelAddr, tfjsonpath.New("parameters_by_dtype"), knownvalue.MapExact(map[string]knownvalue.Check{
					"BF16": knownvalue.Int64Exact(7615616512),
				})),
				statecheck.ExpectKnownValue(hfModelAddr, tfjsonpath.New("dtype"), knownvalue.StringExact("bfloat16")),
				statecheck.ExpectKnownValue(hfModelAddr, tfjsonpath.New("gated"), knownvalue.Bool(false)),
				statecheck.ExpectKnownValue(hfModelAddr, tfjsonpath.New("private"), knownvalue.Bool(false)),
				statecheck.ExpectKnownValue(hfModelAddr, tfjsonpath.New("license"), knownvalue.StringExact("apache-2.0")),
				statecheck.ExpectKnownValue(hfModelAddr, tfjsonpath.New("architecture"), knownvalue.StringExact("Qwen2ForCausalLM")),
				statecheck.ExpectKnownValue(hfModelAddr, tfjsonpath.New("model_type"), knownvalue.StringExact("qwen2")),
				statecheck.ExpectKnownValue(hfModelAddr, tfjsonpath.New("hidden_size"), knownvalue.Int64Exact(3584)),
				statecheck.ExpectKnownValue(hfModelAddr, tfjsonpath.New("intermediate_size"), knownvalue.Int64Exact(18944)),
				statecheck.ExpectKnownValue(hfModelAddr, tfjsonpath.New("num_hidden_layers"), knownvalue.Int64Exact(28)),
				statecheck.ExpectKnownValue(hfModelAddr, tfjsonpath.New("num_attention_heads"), knownvalue.Int64Exact(28)),
				statecheck.ExpectKnownValue(hfModelAddr, tfjsonpath.New("num_key_value_heads"), knownvalue.Int64Exact(4)),
				statecheck.ExpectKnownValue(hfModelAddr, tfjsonpath.New("head_dim"), knownvalue.Int64Exact(128)),
				statecheck.ExpectKnownValue(hfModelAddr, tfjsonpath.New("max_position_embeddings"), knownvalue.Int64Exact(32768)),
				statecheck.ExpectKnownValue(hfModelAddr, tfjsonpath.New("vocab_size"), knownvalue.Int64Exact(152064)),
				// sliding_window 131072 with use_sliding_window false: none.
				statecheck.ExpectKnownValue(hfModelAddr, tfjsonpath.New("sliding_window"), knownvalue.Null()),
				statecheck.ExpectKnownValue(hfModelAddr, tfjsonpath.New("quantization"), knownvalue.Null()),
			},
		}},
	})
}

// Gated and quantized models, with a token whose account has been granted access: the shapes
// that sizing depends on (an explicit head_dim, an alternating sliding window, AWQ).
func TestAccHFModelDataSource_shapes(t *testing.T) {
	t.Parallel()
	h := sharedHub()
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProviderFactories(),
		Steps: []resource.TestStep{{
			Config: hubProviderConfig(hfhub.GrantedToken) + `
data "inferstack_hf_model" "gemma" {
  id = "google/gemma-2-27b-it"
}
data "inferstack_hf_model" "awq" {
  id = "Qwen/Qwen2.5-7B-Instruct-AWQ"
}
data "inferstack_hf_model" "llama70b" {
  id = "meta-llama/Llama-3.1-70B-Instruct"
}
data "inferstack_hf_model" "private" {
  id = "inferstack-test/private-llm"
}`,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("data.inferstack_hf_model.gemma", tfjsonpath.New("gated"), knownvalue.Bool(true)),
				statecheck.ExpectKnownValue("data.inferstack_hf_model.gemma", tfjsonpath.New("license"), knownvalue.StringExact("gemma")),
				statecheck.ExpectKnownValue("data.inferstack_hf_model.gemma", tfjsonpath.New("head_dim"), knownvalue.Int64Exact(128)), // not 4608 / 32 = 144
				statecheck.ExpectKnownValue("data.inferstack_hf_model.gemma", tfjsonpath.New("num_key_value_heads"), knownvalue.Int64Exact(16)),
				statecheck.ExpectKnownValue("data.inferstack_hf_model.gemma", tfjsonpath.New("sliding_window"), knownvalue.ObjectExact(map[string]knownvalue.Check{
					"size":    knownvalue.Int64Exact(4096),
					"layers":  knownvalue.Int64Exact(23),
					"pattern": knownvalue.StringExact("alternating"),
				})),
				statecheck.ExpectKnownValue("data.inferstack_hf_model.awq", tfjsonpath.New("quantization"), knownvalue.ObjectExact(map[string]knownvalue.Check{
					"method":     knownvalue.StringExact("awq"),
					"bits":       knownvalue.Int64Exact(4),
					"group_size": knownvalue.Int64Exact(128),
				})),
				statecheck.ExpectKnownValue("data.inferstack_hf_model.llama70b", tfjsonpath.New("parameters"), knownvalue.Int64Exact(70553706496)),
				statecheck.ExpectKnownValue("data.inferstack_hf_model.llama70b", tfjsonpath.New("license"), knownvalue.StringExact("llama3.1")),
				statecheck.ExpectKnownValue("data.inferstack_hf_model.llama70b", tfjsonpath.New("num_hidden_layers"), knownvalue.Int64Exact(80)),
				statecheck.ExpectKnownValue("data.inferstack_hf_model.llama70b", tfjsonpath.New("num_attention_heads"), knownvalue.Int64Exact(64)),
				statecheck.ExpectKnownValue("data.inferstack_hf_model.llama70b", tfjsonpath.New("num_key_value_heads"), knownvalue.Int64Exact(8)),
				statecheck.ExpectKnownValue("data.inferstack_hf_model.llama70b", tfjsonpath.New("max_position_embeddings"), knownvalue.Int64Exact(131072)),
				statecheck.ExpectKnownValue("data.inferstack_hf_model.llama70b", tfjsonpath.New("sha"), knownvalue.StringExact(h.SHA(hfhub.Llama70BID, "main"))),
				// A private repository is readable with a token of an account that has access.
				statecheck.ExpectKnownValue("data.inferstack_hf_model.private", tfjsonpath.New("private"), knownvalue.Bool(true)),
			},
		}},
	})
}

// A revision may be a tag, a PR ref (sent URL-encoded, slashes included) or a commit sha.
func TestAccHFModelDataSource_revision(t *testing.T) {
	t.Parallel()
	h := sharedHub()
	mainSHA, tagSHA, prSHA := h.SHA(hfhub.Qwen7BID, "main"), h.SHA(hfhub.Qwen7BID, "v1.0"), h.SHA(hfhub.Qwen7BID, "refs/pr/3")
	if mainSHA == "" || tagSHA == "" || prSHA == "" || tagSHA == mainSHA {
		t.Fatalf("the Hub stand-in's Qwen2.5-7B fixture lacks the refs this test needs: main %q, v1.0 %q, refs/pr/3 %q", mainSHA, tagSHA, prSHA)
	}
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProviderFactories(),
		Steps: []resource.TestStep{{
			Config: hubProviderConfig("") + fmt.Sprintf(`
data "inferstack_hf_model" "tag" {
  id       = "Qwen/Qwen2.5-7B-Instruct"
  revision = "v1.0"
}
data "inferstack_hf_model" "pr" {
  id       = "Qwen/Qwen2.5-7B-Instruct"
  revision = "refs/pr/3"
}
data "inferstack_hf_model" "sha" {
  id       = "Qwen/Qwen2.5-7B-Instruct"
  revision = %q
}`, mainSHA),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("data.inferstack_hf_model.tag", tfjsonpath.New("revision"), knownvalue.StringExact("v1.0")),
				statecheck.ExpectKnownValue("data.inferstack_hf_model.tag", tfjsonpath.New("sha"), knownvalue.StringExact(tagSHA)),
				statecheck.ExpectKnownValue("data.inferstack_hf_model.pr", tfjsonpath.New("sha"), knownvalue.StringExact(prSHA)),
				statecheck.ExpectKnownValue("data.inferstack_hf_model.sha", tfjsonpath.New("sha"), knownvalue.StringExact(mainSHA)),
				statecheck.ExpectKnownValue("data.inferstack_hf_model.sha", tfjsonpath.New("revision"), knownvalue.StringExact(mainSHA)),
			},
			Check: func(*terraform.State) error {
				// config.json was read at each resolved commit, not at the ref asked for.
				for _, sha := range []string{tagSHA, prSHA} {
					if n := h.Requests(hubConfigPath(hfhub.Qwen7BID, sha)); n < 1 {
						return fmt.Errorf("config.json at commit %s was requested %d times", sha, n)
					}
				}
				if n := h.Requests("/api/models/Qwen/Qwen2.5-7B-Instruct/revision/refs%2Fpr%2F3"); n < 1 {
					return fmt.Errorf("the PR ref was not sent URL-encoded (refs%%2Fpr%%2F3): %d requests", n)
				}
				return nil
			},
		}},
	})
}

// Two data sources for the same model and revision make one lookup per run: the provider
// builds one Hub client and shares it. Each CLI command of a test step (plan, apply, refresh...)
// configures the provider afresh, so the proof is a ratio, not an absolute count: the model at
// "main" (asked twice in the configuration, once with the id in other letter case) is requested
// exactly as often as the model at "v1" (asked once).
func TestAccHFModelDataSource_oneLookupPerRun(t *testing.T) {
	t.Parallel()
	h := sharedHub()
	id := "inferstack-test/" + acctest.TestName("lookup-once")
	var qwen hfhub.Model
	for _, m := range hfhub.Fixtures() {
		if m.ID == hfhub.Qwen7BID {
			qwen = m
		}
	}
	probe := qwen
	probe.ID, probe.SHA, probe.Refs = id, "", map[string]string{"v1": hfhub.FakeSHA(id, "v1")}
	h.AddModel(probe) // a repository of this test's own, so parallel tests cannot touch its counts

	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProviderFactories(),
		Steps: []resource.TestStep{{
			Config: hubProviderConfig("") + fmt.Sprintf(`
data "inferstack_hf_model" "a" {
  id = %[1]q
}
data "inferstack_hf_model" "b" {
  id       = %[1]q
  revision = "main"
}
data "inferstack_hf_model" "v1" {
  id       = %[1]q
  revision = "v1"
}`, id),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("data.inferstack_hf_model.a", tfjsonpath.New("sha"), knownvalue.StringExact(hfhub.FakeSHA(id, "main"))),
				statecheck.ExpectKnownValue("data.inferstack_hf_model.b", tfjsonpath.New("sha"), knownvalue.StringExact(hfhub.FakeSHA(id, "main"))),
				statecheck.ExpectKnownValue("data.inferstack_hf_model.v1", tfjsonpath.New("sha"), knownvalue.StringExact(hfhub.FakeSHA(id, "v1"))),
			},
			Check: func(*terraform.State) error {
				mainInfo, v1Info := h.Requests(hubInfoPath(id, "main")), h.Requests(hubInfoPath(id, "v1"))
				mainConfig := h.Requests(hubConfigPath(id, hfhub.FakeSHA(id, "main")))
				v1Config := h.Requests(hubConfigPath(id, hfhub.FakeSHA(id, "v1")))
				if v1Info < 1 || mainInfo != v1Info || mainConfig != v1Config {
					return fmt.Errorf("metadata requests: main %d, v1 %d; config.json requests: main %d, v1 %d: want main = v1 >= 1 (two data sources for main, one lookup)",
						mainInfo, v1Info, mainConfig, v1Config)
				}
				return nil
			},
		}},
	})
}

// 429s with Retry-After are retried by the client, after the wait the Hub asks for.
func TestAccHFModelDataSource_rateLimited(t *testing.T) {
	t.Parallel()
	own := hfhub.Start() // FailNext hits the next requests on any path: keep it away from other tests
	t.Cleanup(own.Close)
	own.FailNext(2, 429, "1")

	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProviderFactories(),
		Steps: []resource.TestStep{{
			Config: hubProviderConfigAt(own.URL, "") + `
data "inferstack_hf_model" "test" {
  id = "Qwen/Qwen2.5-7B-Instruct"
}`,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(hfModelAddr, tfjsonpath.New("sha"), knownvalue.StringExact(own.SHA(hfhub.Qwen7BID, "main"))),
			},
			Check: func(*terraform.State) error {
				// Two 429s, then the answer, in the first command; later commands ask again.
				if n := own.Requests(hubInfoPath(hfhub.Qwen7BID, "main")); n < 3 {
					return fmt.Errorf("the metadata was requested %d times, want at least 3 (2 rate-limited + 1)", n)
				}
				return nil
			},
		}},
	})
}

// The Hub's errors become errors that say what to do, attached to the attribute to fix.
func TestAccHFModelDataSource_hubErrors(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		token, id, revision string
		want                []string
	}{
		"gated without token": {
			id:   hfhub.Llama8BID,
			want: []string{`model "meta-llama/Llama-3.1-8B-Instruct" is gated`, "accepted the licence", "no token was set", "Accept the licence at", "set token in the provider's huggingface block"},
		},
		"gated, token without access": {
			token: hfhub.UngrantedToken, id: hfhub.Llama8BID,
			want: []string{"is gated and the token's account has no access", "accept the licence"},
		},
		"private without token": {
			id:   hfhub.PrivateID,
			want: []string{`model "inferstack-test/private-llm" was not found, or it is private`, "does not say which", "set token"},
		},
		"missing": {
			token: hfhub.GrantedToken, id: "inferstack-test/no-such-model",
			want: []string{"was not found, or it is private and the token's account cannot read it", "does not say which"},
		},
		"unknown revision": {
			id: hfhub.Qwen7BID, revision: "no-such-branch",
			want: []string{`revision "no-such-branch" of model "Qwen/Qwen2.5-7B-Instruct" was not found`, "use a branch"},
		},
		"no config.json": {
			id:   hfhub.GGUFOnlyID,
			want: []string{"has no config.json", "vLLM needs a transformers config.json"},
		},
		"bad token": {
			token: "hf_notAValidTokenForTheStandIn", id: hfhub.Qwen7BID,
			want: []string{"rejected the token", "mistyped, revoked or expired"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			rev := ""
			if tc.revision != "" {
				rev = fmt.Sprintf("  revision = %q\n", tc.revision)
			}
			resource.Test(t, resource.TestCase{
				PreCheck:                 func() { acctest.PreCheck(t) },
				ProtoV6ProviderFactories: acctest.ProviderFactories(),
				Steps: []resource.TestStep{{
					Config:      hubProviderConfig(tc.token) + fmt.Sprintf("data \"inferstack_hf_model\" \"test\" {\n  id = %q\n%s}\n", tc.id, rev),
					PlanOnly:    true,
					ExpectError: errorsLike(append([]string{"resolving Hugging Face model"}, tc.want...)...),
				}},
			})
		})
	}
}

// A malformed id or revision fails at plan time, before any request.
func TestAccHFModelDataSource_badInput(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		config string
		want   []string
	}{
		"spaces":        {`id = "Qwen/Qwen2.5 7B"`, []string{"invalid model id", "it contains white space"}},
		"url":           {`id = "https://huggingface.co/Qwen/Qwen2.5-7B-Instruct"`, []string{"it is a URL, not an id"}},
		"two slashes":   {`id = "Qwen/Qwen2.5-7B-Instruct/main"`, []string{"more than one '/'", "revision goes in the revision argument"}},
		"double dash":   {`id = "Qwen/Qwen--7B"`, []string{`"--" and ".." are not allowed`}},
		"revision":      {`id = "Qwen/Qwen2.5-7B-Instruct"` + "\n" + `revision = "my branch"`, []string{"invalid revision", "white space"}},
		"empty revison": {`id = "Qwen/Qwen2.5-7B-Instruct"` + "\n" + `revision = ""`, []string{"invalid revision", "it is empty"}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			resource.Test(t, resource.TestCase{
				PreCheck:                 func() { acctest.PreCheck(t) },
				ProtoV6ProviderFactories: acctest.ProviderFactories(),
				Steps: []resource.TestStep{{
					// An endpoint nothing listens on: a request would fail differently.
					Config:      hubProviderConfigAt("http://127.0.0.1:9", "") + "data \"inferstack_hf_model\" \"test\" {\n" + tc.config + "\n}",
					PlanOnly:    true,
					ExpectError: errorsLike(tc.want...),
				}},
			})
		})
	}
}

// The provider's environment fallbacks, end to end: HF_ENDPOINT and HF_TOKEN instead of the
// huggingface block. Setting the environment rules out t.Parallel; this test runs before the
// parallel ones start.
func TestAccHFModelDataSource_environment(t *testing.T) {
	h := sharedHub()
	t.Setenv("HF_ENDPOINT", h.URL+"/")
	t.Setenv("HF_TOKEN", hfhub.GrantedToken)
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProviderFactories(),
		Steps: []resource.TestStep{{
			Config: `
data "inferstack_hf_model" "test" {
  id = "meta-llama/Llama-3.1-8B-Instruct"
}`,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(hfModelAddr, tfjsonpath.New("sha"), knownvalue.StringExact(h.SHA(hfhub.Llama8BID, "main"))),
				statecheck.ExpectKnownValue(hfModelAddr, tfjsonpath.New("parameters"), knownvalue.Int64Exact(8030261248)),
				statecheck.ExpectKnownValue(hfModelAddr, tfjsonpath.New("gated"), knownvalue.Bool(true)),
			},
		}},
	})
}
