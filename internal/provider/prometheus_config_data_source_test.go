package provider_test

import (
	"os"
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/inferstack/terraform-provider-inferstack/internal/acctest"
	"github.com/inferstack/terraform-provider-inferstack/internal/metrics"
)

const prometheusConfigAddr = "data.inferstack_prometheus_config.test"

// TestAccPrometheusConfig_basic renders two endpoints' metrics_targets joined with concat, as
// users write it, and checks every output against the metrics package's rendering of the same
// input (which internal/metrics tests against a real Prometheus).
func TestAccPrometheusConfig_basic(t *testing.T) {
	t.Parallel()
	job := acctest.TestName("vllm")
	want, err := metrics.Render(metrics.Config{JobName: job, ScrapeInterval: "30s", Targets: []metrics.Target{
		{Address: "10.0.1.7:8000", Labels: map[string]string{"endpoint": "chat", "model": "Qwen/Qwen2.5-7B-Instruct", "replica": "0", "host": "gpu-a"}},
		{Address: "10.0.1.8:8000", Labels: map[string]string{"endpoint": "chat", "model": "Qwen/Qwen2.5-7B-Instruct", "replica": "1", "host": "gpu-b"}},
		{Address: "[fd00::7]:8001", Labels: map[string]string{"endpoint": "embed", "replica": "0"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	queries := map[string]knownvalue.Check{}
	for name, q := range want.Queries {
		queries[name] = knownvalue.StringExact(q)
	}
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProviderFactories(),
		Steps: []resource.TestStep{
			{
				Config: `
locals {
  chat = [
    { target = "10.0.1.7:8000", labels = { endpoint = "chat", model = "Qwen/Qwen2.5-7B-Instruct", replica = "0", host = "gpu-a" } },
    { target = "10.0.1.8:8000", labels = { endpoint = "chat", model = "Qwen/Qwen2.5-7B-Instruct", replica = "1", host = "gpu-b" } },
  ]
  embed = [{ target = "[fd00::7]:8001", labels = { endpoint = "embed", replica = "0" } }]
}

data "inferstack_prometheus_config" "test" {
  targets         = concat(local.chat, local.embed)
  job_name        = "` + job + `"
  scrape_interval = "30s"
}`,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(prometheusConfigAddr, tfjsonpath.New("metrics_path"), knownvalue.StringExact("/metrics")),
					statecheck.ExpectKnownValue(prometheusConfigAddr, tfjsonpath.New("scrape_config_yaml"), knownvalue.StringExact(want.ScrapeConfigYAML)),
					statecheck.ExpectKnownValue(prometheusConfigAddr, tfjsonpath.New("file_sd_json"), knownvalue.StringExact(want.FileSDJSON)),
					statecheck.ExpectKnownValue(prometheusConfigAddr, tfjsonpath.New("dashboard_json"), knownvalue.StringExact(want.DashboardJSON)),
					statecheck.ExpectKnownValue(prometheusConfigAddr, tfjsonpath.New("queries"), knownvalue.MapExact(queries)),
					statecheck.ExpectKnownValue(prometheusConfigAddr, tfjsonpath.New("queries").AtMapKey("request_rate"),
						knownvalue.StringExact(`sum by (endpoint, replica) (rate(vllm:request_success_total{job="`+job+`"}[2m]))`)),
				},
			},
			{
				// The defaults, and a job without targets.
				Config: `
data "inferstack_prometheus_config" "test" {
  targets = []
}`,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(prometheusConfigAddr, tfjsonpath.New("job_name"), knownvalue.StringExact("vllm")),
					statecheck.ExpectKnownValue(prometheusConfigAddr, tfjsonpath.New("scrape_interval"), knownvalue.StringExact("15s")),
					statecheck.ExpectKnownValue(prometheusConfigAddr, tfjsonpath.New("metrics_path"), knownvalue.StringExact("/metrics")),
					statecheck.ExpectKnownValue(prometheusConfigAddr, tfjsonpath.New("scrape_config_yaml"), knownvalue.StringExact(
						"scrape_configs:\n  - job_name: vllm\n    scrape_interval: 15s\n    metrics_path: /metrics\n    static_configs: []\n")),
					statecheck.ExpectKnownValue(prometheusConfigAddr, tfjsonpath.New("file_sd_json"), knownvalue.StringExact("[]\n")),
					statecheck.ExpectKnownValue(prometheusConfigAddr, tfjsonpath.New("queries"), knownvalue.MapSizeExact(len(metrics.QueryNames))),
				},
			},
		},
	})
}

// TestAccPrometheusConfig_example applies the documented example as it is.
func TestAccPrometheusConfig_example(t *testing.T) {
	t.Parallel()
	example, err := os.ReadFile("../../examples/data-sources/inferstack_prometheus_config/data-source.tf")
	if err != nil {
		t.Fatal(err)
	}
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProviderFactories(),
		Steps: []resource.TestStep{{
			Config: string(example),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("data.inferstack_prometheus_config.vllm", tfjsonpath.New("file_sd_json"),
					knownvalue.StringRegexp(regexp.MustCompile(`(?s)"10\.0\.1\.11:8000".*"10\.0\.1\.12:8000".*"10\.0\.1\.20:8000"`))),
				statecheck.ExpectKnownOutputValue("ttft_p99", knownvalue.StringExact(
					`histogram_quantile(0.99, sum by (le, endpoint, replica) (rate(vllm:time_to_first_token_seconds_bucket{job="vllm"}[1m])))`)),
			},
		}},
	})
}

// TestAccPrometheusConfig_unknownAtPlan: a target known only at apply (another resource's output)
// passes plan-time validation, and the data source is read once it is known.
func TestAccPrometheusConfig_unknownAtPlan(t *testing.T) {
	t.Parallel()
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProviderFactories(),
		Steps: []resource.TestStep{{
			Config: `
resource "terraform_data" "host" {
  input = "10.0.1.9"
}

data "inferstack_prometheus_config" "test" {
  targets = [{ target = "${terraform_data.host.output}:8000", labels = { endpoint = "chat", host = terraform_data.host.output } }]
}`,
			ConfigPlanChecks: resource.ConfigPlanChecks{
				PreApply: []plancheck.PlanCheck{
					plancheck.ExpectUnknownValue(prometheusConfigAddr, tfjsonpath.New("scrape_config_yaml")),
				},
			},
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(prometheusConfigAddr, tfjsonpath.New("file_sd_json"), knownvalue.StringExact(
					"[\n  {\n    \"targets\": [\n      \"10.0.1.9:8000\"\n    ],\n    \"labels\": {\n      \"endpoint\": \"chat\",\n      \"host\": \"10.0.1.9\"\n    }\n  }\n]\n")),
			},
		}},
	})
}

// TestAccPrometheusConfig_badInput: bad targets, label names and settings fail at plan time,
// each naming its attribute.
func TestAccPrometheusConfig_badInput(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		config string
		want   []string
	}{
		"scheme in target": {`targets = [{ target = "http://10.0.1.7:8000" }]`,
			[]string{"invalid metrics target", `targets[0].target: "http://10.0.1.7:8000" is not host:port`}},
		"no port": {`targets = [{ target = "10.0.1.7:8000" }, { target = "10.0.1.8" }]`,
			[]string{"invalid metrics target", `targets[1].target: "10.0.1.8" is not host:port (a host, a colon and a port)`}},
		"label name": {`targets = [{ target = "10.0.1.7:8000", labels = { "model-name" = "x" } }]`,
			[]string{"invalid metrics target", `targets[0].labels: label name "model-name" is not a Prometheus label name`}},
		"reserved label": {`targets = [{ target = "10.0.1.7:8000", labels = { __metrics_path__ = "/x" } }]`,
			[]string{`targets[0].labels: label name "__metrics_path__" starts with "__"`}},
		"control character": {`targets = [{ target = "10.0.1.7:8000", labels = { endpoint = "chat\nx" } }]`,
			[]string{`targets[0].labels: label endpoint: the value must not contain control characters`}},
		"settings": {"targets = []\n  job_name = \"a\\tb\"\n  scrape_interval = \"15\"\n  metrics_path = \"metrics\"",
			[]string{"invalid Prometheus config", "job_name", "must not contain control characters",
				`"15" is not a Prometheus duration`, `must start with "/"`}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			resource.Test(t, resource.TestCase{
				PreCheck:                 func() { acctest.PreCheck(t) },
				ProtoV6ProviderFactories: acctest.ProviderFactories(),
				Steps: []resource.TestStep{{
					Config:      "data \"inferstack_prometheus_config\" \"test\" {\n  " + tc.config + "\n}",
					PlanOnly:    true,
					ExpectError: phrases(tc.want...),
				}},
			})
		})
	}
}
