package provider_test

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/inferstack/terraform-provider-inferstack/internal/acctest"
	"github.com/inferstack/terraform-provider-inferstack/internal/acctest/hfhub"
)

const planAddr = "data.inferstack_deployment_plan.test"

// Hand-worked figures (internal/sizing's package documentation and the data source's docs).
const (
	llama70BWeights     = 70553706496 * 2      // 141,107,412,992 B
	llama70BKVPerToken  = 2 * 80 * 8 * 128 * 2 // 327,680 B
	llama70BKVPerSeq    = llama70BKVPerToken * 32768
	llama70BKVCache     = 32 * llama70BKVPerSeq // 343,597,383,680 B
	llama70BPerGPUAtTP8 = 62374873088           // 17,638,426,624 + 42,949,672,960 + 1,786,773,504
	usableA100x80       = 79027398246           // 81,920 MiB x 0.92
	usableH100          = 78679145185           // 81,559 MiB x 0.92
)

// Llama-3.1-70B, 32 sequences of 32768 tokens, against the us-east-1 catalog moto serves (AWS's
// real GPU data). p4de.24xlarge (8 x A100 80GB) and p5.48xlarge (8 x H100) both fit at tensor
// parallel size 8 with 44 sequences; p4de has the same 640 GiB of GPU memory with fewer vCPUs,
// so it is the recommendation.
func TestAccDeploymentPlanDataSource_aws(t *testing.T) {
	t.Parallel()
	h := sharedHub()
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProviderFactories(),
		Steps: []resource.TestStep{{
			Config: hubAWSProviderConfig(t, hfhub.GrantedToken) + `
data "inferstack_deployment_plan" "test" {
  model         = "meta-llama/Llama-3.1-70B-Instruct"
  max_model_len = 32768
  concurrency   = 32
  candidates    = { cloud = "aws", region = "us-east-1" }
}

# The same question, restricted to two instance types; the model is looked up once for both.
data "inferstack_deployment_plan" "two" {
  model         = "meta-llama/Llama-3.1-70B-Instruct"
  max_model_len = 32768
  concurrency   = 32
  candidates = {
    cloud          = "aws"
    region         = "us-east-1"
    instance_types = ["g6e.12xlarge", "p5.48xlarge"]
  }
}

# Only g6e.12xlarge: nothing fits, and the advice says what would.
data "inferstack_deployment_plan" "g6e" {
  model         = "meta-llama/Llama-3.1-70B-Instruct"
  max_model_len = 32768
  concurrency   = 32
  candidates = {
    cloud          = "aws"
    instance_types = ["g6e.12xlarge"]
  }
}`,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(planAddr, tfjsonpath.New("revision"), knownvalue.StringExact("main")),
				statecheck.ExpectKnownValue(planAddr, tfjsonpath.New("sha"), knownvalue.StringExact(h.SHA(hfhub.Llama70BID, "main"))),
				statecheck.ExpectKnownValue(planAddr, tfjsonpath.New("weights_bytes"), knownvalue.Int64Exact(141107412992)),
				statecheck.ExpectKnownValue(planAddr, tfjsonpath.New("weights_bytes"), knownvalue.Int64Exact(llama70BWeights)),
				statecheck.ExpectKnownValue(planAddr, tfjsonpath.New("kv_cache_bytes_per_token"), knownvalue.Int64Exact(327680)),
				statecheck.ExpectKnownValue(planAddr, tfjsonpath.New("kv_cache_bytes_per_sequence"), knownvalue.Int64Exact(llama70BKVPerSeq)),
				statecheck.ExpectKnownValue(planAddr, tfjsonpath.New("kv_cache_bytes"), knownvalue.Int64Exact(343597383680)),
				statecheck.ExpectKnownValue(planAddr, tfjsonpath.New("valid_tensor_parallel_sizes"), knownvalue.ListExact([]knownvalue.Check{
					knownvalue.Int64Exact(1), knownvalue.Int64Exact(2), knownvalue.Int64Exact(4), knownvalue.Int64Exact(8),
					knownvalue.Int64Exact(16), knownvalue.Int64Exact(32), knownvalue.Int64Exact(64),
				})),
				statecheck.ExpectKnownValue(planAddr, tfjsonpath.New("recommended"), knownvalue.ObjectPartial(map[string]knownvalue.Check{
					"name":                     knownvalue.StringExact("p4de.24xlarge"),
					"instance_type":            knownvalue.StringExact("p4de.24xlarge"),
					"gpus_index":               knownvalue.Null(),
					"gpu_model":                knownvalue.StringExact("A100 80GB"),
					"gpus_per_node":            knownvalue.Int64Exact(8),
					"fits":                     knownvalue.Bool(true),
					"reason":                   knownvalue.Null(),
					"tensor_parallel_size":     knownvalue.Int64Exact(8),
					"pipeline_parallel_size":   knownvalue.Int64Exact(1),
					"nodes":                    knownvalue.Int64Exact(1),
					"gpu_count":                knownvalue.Int64Exact(8),
					"replicas_per_node":        knownvalue.Int64Exact(1),
					"weights_bytes_per_gpu":    knownvalue.Int64Exact(17638426624),
					"kv_cache_bytes_per_gpu":   knownvalue.Int64Exact(42949672960),
					"allowance_bytes_per_gpu":  knownvalue.Int64Exact(1786773504),
					"required_bytes_per_gpu":   knownvalue.Int64Exact(llama70BPerGPUAtTP8),
					"usable_bytes_per_gpu":     knownvalue.Int64Exact(usableA100x80),
					"max_concurrent_sequences": knownvalue.Int64Exact(44),
				})),
				statecheck.ExpectKnownValue(planAddr, tfjsonpath.New("advice"), knownvalue.ListExact([]knownvalue.Check{})),
				statecheck.ExpectKnownValue(planAddr, tfjsonpath.New("assumptions"), knownvalue.ObjectPartial(map[string]knownvalue.Check{
					"max_model_len":                knownvalue.Int64Exact(32768),
					"concurrency":                  knownvalue.Int64Exact(32),
					"quantization":                 knownvalue.Null(),
					"weights_formula":              knownvalue.StringRegexp(regexp.MustCompile(`^70553706496 parameters x 2 bytes`)),
					"kv_cache_dtype":               knownvalue.StringExact("auto"),
					"kv_cache_bytes_per_element":   knownvalue.Int64Exact(2),
					"gpu_memory_utilization":       knownvalue.Float64Exact(0.92),
					"max_num_batched_tokens":       knownvalue.Int64Exact(8192),
					"max_nodes":                    knownvalue.Int64Exact(1),
					"fixed_overhead_bytes_per_gpu": knownvalue.Int64Exact(1 << 30),
					"sliding_window":               knownvalue.Null(),
				})),
				// Restricted to two types: g6e.12xlarge (4 x L40S) first by GPU memory, and does not fit.
				statecheck.ExpectKnownValue("data.inferstack_deployment_plan.two", tfjsonpath.New("evaluations"), knownvalue.ListExact([]knownvalue.Check{
					knownvalue.ObjectPartial(map[string]knownvalue.Check{
						"name":                     knownvalue.StringExact("g6e.12xlarge"),
						"fits":                     knownvalue.Bool(false),
						"tensor_parallel_size":     knownvalue.Int64Exact(4),
						"required_bytes_per_gpu":   knownvalue.Int64Exact(123139133440),
						"max_concurrent_sequences": knownvalue.Int64Exact(2),
						"reason":                   knownvalue.StringRegexp(regexp.MustCompile(`^needs 114\.7 GiB per GPU at tensor_parallel_size 4 .* one L40S gives 41\.1 GiB usable`)),
					}),
					knownvalue.ObjectPartial(map[string]knownvalue.Check{
						"name":                     knownvalue.StringExact("p5.48xlarge"),
						"gpu_model":                knownvalue.StringExact("H100"),
						"fits":                     knownvalue.Bool(true),
						"tensor_parallel_size":     knownvalue.Int64Exact(8),
						"required_bytes_per_gpu":   knownvalue.Int64Exact(llama70BPerGPUAtTP8),
						"usable_bytes_per_gpu":     knownvalue.Int64Exact(usableH100),
						"max_concurrent_sequences": knownvalue.Int64Exact(44),
					}),
				})),
				statecheck.ExpectKnownValue("data.inferstack_deployment_plan.two", tfjsonpath.New("recommended").AtMapKey("name"), knownvalue.StringExact("p5.48xlarge")),
				statecheck.ExpectKnownValue("data.inferstack_deployment_plan.g6e", tfjsonpath.New("recommended"), knownvalue.Null()),
				statecheck.ExpectKnownValue("data.inferstack_deployment_plan.g6e", tfjsonpath.New("advice"), knownvalue.ListExact([]knownvalue.Check{
					knownvalue.StringExact("No candidate fits meta-llama/Llama-3.1-70B-Instruct with max_model_len 32768 and concurrency 32."),
					knownvalue.StringExact("concurrency = 2 (instead of 32) fits on g6e.12xlarge (tensor_parallel_size 4) at max_model_len 32768."),
					knownvalue.StringExact("max_model_len = 2624 (instead of 32768) fits on g6e.12xlarge (tensor_parallel_size 4) at concurrency 32."),
					knownvalue.StringExact("max_nodes = 3 fits on g6e.12xlarge (tensor_parallel_size 4, pipeline_parallel_size 3 over 3 nodes)."),
					knownvalue.StringRegexp(regexp.MustCompile(`^In all it needs about 451\.4 GiB`)),
				})),
			},
			Check: resource.ComposeAggregateTestCheckFunc(
				checkEvaluation(planAddr, "p5.48xlarge", map[string]string{"fits": "true", "tensor_parallel_size": "8", "max_concurrent_sequences": "44"}),
				checkEvaluation(planAddr, "g6e.48xlarge", map[string]string{"fits": "false", "tensor_parallel_size": "8", "max_concurrent_sequences": "18"}),
				checkNoEvaluation(planAddr, "g4ad.16xlarge"), // AMD: not a vLLM CUDA candidate
				checkNoEvaluation(planAddr, "m5.large"),      // no GPU
			),
		}},
	})
}

// Azure's catalog (the SDK's fake servers): the docs' Qwen2.5-72B row, quantized to fp8 with
// an fp8 KV cache on Standard_NC80adis_H100_v5 (2 x H100 NVL).
func TestAccDeploymentPlanDataSource_azure(t *testing.T) {
	t.Parallel()
	az := acctest.NewAzureLab()
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProviderFactories(az.ProviderOption()),
		Steps: []resource.TestStep{{
			Config: `
provider "inferstack" {
` + huggingFaceBlock(sharedHub().URL, "") + `
  azure {
    subscription_id = "00000000-0000-0000-0000-000000000000"
  }
}

data "inferstack_deployment_plan" "test" {
  model          = "Qwen/Qwen2.5-72B-Instruct"
  concurrency    = 8
  quantization   = "fp8"
  kv_cache_dtype = "fp8"
  candidates = {
    cloud          = "azure"
    region         = "eastus"
    instance_types = ["Standard_NC80adis_H100_v5"]
  }
}`,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(planAddr, tfjsonpath.New("weights_bytes"), knownvalue.Int64Exact(75197620224)),
				statecheck.ExpectKnownValue(planAddr, tfjsonpath.New("kv_cache_bytes_per_token"), knownvalue.Int64Exact(2*80*8*128*1)),
				statecheck.ExpectKnownValue(planAddr, tfjsonpath.New("assumptions").AtMapKey("max_model_len"), knownvalue.Int64Exact(32768)),
				statecheck.ExpectKnownValue(planAddr, tfjsonpath.New("assumptions").AtMapKey("quantization"), knownvalue.StringExact("fp8")),
				statecheck.ExpectKnownValue(planAddr, tfjsonpath.New("recommended"), knownvalue.ObjectPartial(map[string]knownvalue.Check{
					"instance_type":            knownvalue.StringExact("Standard_NC80adis_H100_v5"),
					"gpu_model":                knownvalue.StringExact("H100 NVL"),
					"tensor_parallel_size":     knownvalue.Int64Exact(2),
					"required_bytes_per_gpu":   knownvalue.Int64Exact(61410922496),
					"max_concurrent_sequences": knownvalue.Int64Exact(19),
				})),
			},
		}},
	})
}

// Hosts you already have, and both the cloud and your hosts at once.
func TestAccDeploymentPlanDataSource_gpus(t *testing.T) {
	t.Parallel()
	// Qwen2.5-7B: 28 heads and 4 KV heads, so tensor_parallel_size is 1, 2, 4 or 28.
	// KV per token = 2 x 28 x 4 x 128 x 2 = 57,344 B; weights = 7,615,616,512 x 2 = 15,231,233,024 B.
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProviderFactories(),
		Steps: []resource.TestStep{{
			Config: hubProviderConfig("") + `
data "inferstack_deployment_plan" "test" {
  model         = "Qwen/Qwen2.5-7B-Instruct"
  max_model_len = 32768
  concurrency   = 16
  gpus = [
    { model = "L4", count = 8 },
    { model = "RTX 6000 Ada", memory_gib = 48, count = 2 },
  ]
}

# A context above the model's 32768 tokens, extended on purpose.
data "inferstack_deployment_plan" "long" {
  model              = "Qwen/Qwen2.5-7B-Instruct"
  max_model_len      = 65536
  allow_long_context = true
  gpus               = [{ model = "NVIDIA H100 80GB HBM3", count = 1 }]
}`,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(planAddr, tfjsonpath.New("weights_bytes"), knownvalue.Int64Exact(15231233024)),
				statecheck.ExpectKnownValue(planAddr, tfjsonpath.New("kv_cache_bytes_per_token"), knownvalue.Int64Exact(57344)),
				statecheck.ExpectKnownValue(planAddr, tfjsonpath.New("kv_cache_bytes"), knownvalue.Int64Exact(16*57344*32768)),
				statecheck.ExpectKnownValue(planAddr, tfjsonpath.New("valid_tensor_parallel_sizes"), knownvalue.ListExact([]knownvalue.Check{
					knownvalue.Int64Exact(1), knownvalue.Int64Exact(2), knownvalue.Int64Exact(4), knownvalue.Int64Exact(28),
				})),
				// Sorted by total GPU memory: 2 x 48 GiB before 8 x 24 GiB.
				statecheck.ExpectKnownValue(planAddr, tfjsonpath.New("evaluations"), knownvalue.ListExact([]knownvalue.Check{
					knownvalue.ObjectPartial(map[string]knownvalue.Check{
						"name": knownvalue.StringExact("2 x RTX 6000 Ada"), "instance_type": knownvalue.Null(), "gpus_index": knownvalue.Int64Exact(1),
						"fits": knownvalue.Bool(true), "tensor_parallel_size": knownvalue.Int64Exact(2), "replicas_per_node": knownvalue.Int64Exact(1),
						"gpu_memory_bytes": knownvalue.Int64Exact(48 << 30), "max_concurrent_sequences": knownvalue.Int64Exact(40),
					}),
					knownvalue.ObjectPartial(map[string]knownvalue.Check{
						"name": knownvalue.StringExact("8 x L4"), "gpus_index": knownvalue.Int64Exact(0), "gpu_model": knownvalue.StringExact("L4"),
						"fits": knownvalue.Bool(true), "tensor_parallel_size": knownvalue.Int64Exact(4), "replicas_per_node": knownvalue.Int64Exact(2),
						"usable_bytes_per_gpu": knownvalue.Int64Exact(22220667617), "max_concurrent_sequences": knownvalue.Int64Exact(35),
					}),
				})),
				statecheck.ExpectKnownValue(planAddr, tfjsonpath.New("recommended"), knownvalue.ObjectPartial(map[string]knownvalue.Check{
					"name": knownvalue.StringExact("2 x RTX 6000 Ada"), "gpus_index": knownvalue.Int64Exact(1), "tensor_parallel_size": knownvalue.Int64Exact(2),
				})),
				statecheck.ExpectKnownValue("data.inferstack_deployment_plan.long", tfjsonpath.New("assumptions").AtMapKey("max_model_len"), knownvalue.Int64Exact(65536)),
				statecheck.ExpectKnownValue("data.inferstack_deployment_plan.long", tfjsonpath.New("assumptions").AtMapKey("concurrency"), knownvalue.Int64Exact(1)),
				statecheck.ExpectKnownValue("data.inferstack_deployment_plan.long", tfjsonpath.New("kv_cache_bytes"), knownvalue.Int64Exact(57344*65536)),
				statecheck.ExpectKnownValue("data.inferstack_deployment_plan.long", tfjsonpath.New("recommended").AtMapKey("gpu_model"), knownvalue.StringExact("H100")),
			},
		}},
	})
}

// Nothing fits: not an error. The plan still shows the numbers, each candidate says why, and
// the advice says what would fit (the worked example of internal/sizing: 4 x L40S).
func TestAccDeploymentPlanDataSource_nothingFits(t *testing.T) {
	t.Parallel()
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProviderFactories(),
		Steps: []resource.TestStep{{
			Config: hubProviderConfig(hfhub.GrantedToken) + `
data "inferstack_deployment_plan" "test" {
  model         = "meta-llama/Llama-3.1-70B-Instruct"
  max_model_len = 32768
  concurrency   = 32
  gpus          = [{ model = "L40S", count = 4 }]
}`,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(planAddr, tfjsonpath.New("recommended"), knownvalue.Null()),
				statecheck.ExpectKnownValue(planAddr, tfjsonpath.New("weights_bytes"), knownvalue.Int64Exact(141107412992)),
				statecheck.ExpectKnownValue(planAddr, tfjsonpath.New("kv_cache_bytes_per_token"), knownvalue.Int64Exact(327680)),
				statecheck.ExpectKnownValue(planAddr, tfjsonpath.New("required_bytes"), knownvalue.Int64Exact(487724695552)),
				statecheck.ExpectKnownValue(planAddr, tfjsonpath.New("evaluations"), knownvalue.ListExact([]knownvalue.Check{
					knownvalue.ObjectPartial(map[string]knownvalue.Check{
						"name": knownvalue.StringExact("4 x L40S"), "fits": knownvalue.Bool(false), "tensor_parallel_size": knownvalue.Int64Exact(4),
						"required_bytes_per_gpu": knownvalue.Int64Exact(123139133440), "max_concurrent_sequences": knownvalue.Int64Exact(2),
						"reason": knownvalue.StringRegexp(regexp.MustCompile(`^needs 114\.7 GiB per GPU at tensor_parallel_size 4 .*; it holds 2 sequences of 32768 tokens`)),
					}),
				})),
				statecheck.ExpectKnownValue(planAddr, tfjsonpath.New("advice"), knownvalue.ListExact([]knownvalue.Check{
					knownvalue.StringExact("No candidate fits meta-llama/Llama-3.1-70B-Instruct with max_model_len 32768 and concurrency 32."),
					knownvalue.StringExact("concurrency = 2 (instead of 32) fits on 4 x L40S (tensor_parallel_size 4) at max_model_len 32768."),
					knownvalue.StringExact("max_model_len = 2736 (instead of 32768) fits on 4 x L40S (tensor_parallel_size 4) at concurrency 32."),
					knownvalue.StringExact("hosts = 3 fits on 4 x L40S (tensor_parallel_size 4, pipeline_parallel_size 3 over 3 nodes)."),
					knownvalue.StringRegexp(regexp.MustCompile(`^In all it needs about 451\.4 GiB of usable GPU memory`)),
				})),
			},
		}},
	})
}

// Bad input fails at plan time and names the attribute and the fix. Static checks come from the
// schema; the ones that need the model (its context limit, its own quantization) from the read,
// which happens during plan and attaches the error to the attribute.
func TestAccDeploymentPlanDataSource_badInput(t *testing.T) {
	t.Parallel()
	const qwen = `model = "Qwen/Qwen2.5-7B-Instruct"` + "\n"
	const l4 = `gpus = [{ model = "L4", count = 1 }]` + "\n"
	cases := map[string]struct {
		config string
		want   []string
	}{
		"utilisation above 1": {qwen + l4 + "gpu_memory_utilization = 1.5", []string{
			"Attribute gpu_memory_utilization value must be greater than 0 and at most 1, got: 1.5", "leave it null for vLLM's default 0.92"}},
		"utilisation 0":    {qwen + l4 + "gpu_memory_utilization = 0", []string{"Attribute gpu_memory_utilization value must be greater than 0"}},
		"concurrency 0":    {qwen + l4 + "concurrency = 0", []string{"Attribute concurrency value must be at least 1, got: 0"}},
		"negative context": {qwen + l4 + "max_model_len = -1", []string{"Attribute max_model_len value must be at least 1"}},
		"context above the model's limit": {qwen + l4 + "max_model_len = 65536", []string{
			"planning deployment (Qwen/Qwen2.5-7B-Instruct)", "max_model_len", "max_model_len 65536 is above",
			"own limit (max_position_embeddings 32768)", "use at most 32768", "set allow_long_context = true"}},
		"unknown GPU without memory": {qwen + `gpus = [{ model = "L4", count = 1 }, { model = "MI300X", count = 8 }]`, []string{
			"gpus[1].memory_gib", `GPU model "MI300X" is not in the known table`, "set gpus[1].memory_gib"}},
		"GPU count 0":       {qwen + `gpus = [{ model = "L4", count = 0 }]`, []string{"Attribute gpus[0].count value must be at least 1, got: 0"}},
		"GPU memory 0":      {qwen + `gpus = [{ model = "L4", count = 1, memory_gib = 0 }]`, []string{"Attribute gpus[0].memory_gib value must be greater than 0"}},
		"no candidates":     {qwen, []string{"At least one of these attributes must be configured: [candidates,gpus,cluster_id]"}},
		"azure no location": {qwen + `candidates = { cloud = "azure" }`, []string{`candidates.region is required when candidates.cloud = "azure"`}},
		"kv cache dtype":    {qwen + l4 + `kv_cache_dtype = "int4"`, []string{"Attribute kv_cache_dtype value must be one of"}},
		"quantization not on the fly": {qwen + l4 + `quantization = "awq"`, []string{
			"vLLM cannot quantize to awq as it loads", `quantization = "fp8"`}},
		"re-quantize":     {`model = "Qwen/Qwen2.5-7B-Instruct-AWQ"` + "\n" + l4 + `quantization = "fp8"`, []string{"is already quantized with awq"}},
		"malformed model": {`model = "Qwen 2.5"` + "\n" + l4, []string{"invalid model id", "it contains white space"}},
		"gated model without token": {`model = "meta-llama/Llama-3.1-8B-Instruct"` + "\n" + l4, []string{
			`model "meta-llama/Llama-3.1-8B-Instruct" is gated`, "set token in the provider's huggingface block"}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			resource.Test(t, resource.TestCase{
				PreCheck:                 func() { acctest.PreCheck(t) },
				ProtoV6ProviderFactories: acctest.ProviderFactories(),
				Steps: []resource.TestStep{{
					Config:      hubProviderConfig("") + "data \"inferstack_deployment_plan\" \"test\" {\n" + tc.config + "\n}",
					PlanOnly:    true,
					ExpectError: errorsLike(tc.want...),
				}},
			})
		})
	}
}

// The catalog is listed once per cloud and region per run, however many plans (and
// inferstack_gpu_types) ask for it. As with the Hub lookups, each CLI command of a step
// configures the provider afresh, so the proof is a ratio: three readers of one region cause as
// many DescribeInstanceTypes calls as one reader of another. Both regions are this test's own.
func TestAccDeploymentPlanDataSource_catalogOncePerRun(t *testing.T) {
	t.Parallel()
	lab := acctest.AWS(t)
	const shared, single = "ca-central-1", "sa-east-1"
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProviderFactories(),
		Steps: []resource.TestStep{{
			Config: hubAWSProviderConfig(t, "") + fmt.Sprintf(`
data "inferstack_deployment_plan" "a" {
  model      = "Qwen/Qwen2.5-7B-Instruct"
  candidates = { cloud = "aws", region = %[1]q }
}
data "inferstack_deployment_plan" "b" {
  model         = "Qwen/Qwen2.5-7B-Instruct"
  max_model_len = 8192
  candidates    = { cloud = "aws", region = %[1]q }
}
data "inferstack_gpu_types" "shared" {
  cloud  = "aws"
  region = %[1]q
}
data "inferstack_gpu_types" "single" {
  cloud  = "aws"
  region = %[2]q
}`, shared, single),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("data.inferstack_deployment_plan.a", tfjsonpath.New("recommended"), knownvalue.NotNull()),
				statecheck.ExpectKnownValue("data.inferstack_deployment_plan.b", tfjsonpath.New("recommended"), knownvalue.NotNull()),
			},
			Check: func(*terraform.State) error {
				n, m := lab.Proxy.CountRegion(shared, "ec2", "DescribeInstanceTypes"), lab.Proxy.CountRegion(single, "ec2", "DescribeInstanceTypes")
				if m < 1 || n != m {
					return fmt.Errorf("DescribeInstanceTypes calls: %d in %s (three readers), %d in %s (one): want equal and at least 1", n, shared, m, single)
				}
				return nil
			},
		}},
	})
}

// An instance type the region does not offer is an error on candidates.instance_types.
func TestAccDeploymentPlanDataSource_unknownInstanceType(t *testing.T) {
	t.Parallel()
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProviderFactories(),
		Steps: []resource.TestStep{{
			Config: hubAWSProviderConfig(t, "") + `
data "inferstack_deployment_plan" "test" {
  model      = "Qwen/Qwen2.5-7B-Instruct"
  candidates = { cloud = "aws", instance_types = ["g6.xlarge", "g4ad.xlarge"] }
}`,
			PlanOnly:    true,
			ExpectError: errorsLike(`candidates.instance_types[1]: "g4ad.xlarge" is not an NVIDIA GPU instance type that aws offers in the provider's default region`),
		}},
	})
}

// checkEvaluation finds the element of evaluations named name and checks its attributes.
func checkEvaluation(addr, name string, want map[string]string) resource.TestCheckFunc {
	return func(s *terraform.State) error {
		for i, a := range evaluationAttrs(s, addr) {
			if a["name"] != name {
				continue
			}
			for k, v := range want {
				if a[k] != v {
					return fmt.Errorf("%s evaluations[%d] (%s): %s = %q, want %q", addr, i, name, k, a[k], v)
				}
			}
			return nil
		}
		return fmt.Errorf("%s: no evaluation named %s", addr, name)
	}
}

func checkNoEvaluation(addr, name string) resource.TestCheckFunc {
	return func(s *terraform.State) error {
		for _, a := range evaluationAttrs(s, addr) {
			if a["name"] == name {
				return fmt.Errorf("%s: %s was evaluated but should not be a candidate", addr, name)
			}
		}
		return nil
	}
}

func evaluationAttrs(s *terraform.State, addr string) []map[string]string {
	rs, ok := s.RootModule().Resources[addr]
	if !ok {
		return nil
	}
	var out []map[string]string
	for k, v := range rs.Primary.Attributes {
		rest, ok := strings.CutPrefix(k, "evaluations.")
		if !ok {
			continue
		}
		var i int
		if n, _ := fmt.Sscanf(rest, "%d.", &i); n != 1 {
			continue
		}
		field := rest[strings.Index(rest, ".")+1:]
		for len(out) <= i {
			out = append(out, map[string]string{})
		}
		out[i][field] = v
	}
	return out
}
