package provider_test

import (
	"context"
	"fmt"
	"maps"
	"os"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"go.yaml.in/yaml/v3"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/inferstack/terraform-provider-inferstack/internal/acctest"
	"github.com/inferstack/terraform-provider-inferstack/internal/acctest/openai"
	"github.com/inferstack/terraform-provider-inferstack/internal/acctest/promlab"
	awsbackend "github.com/inferstack/terraform-provider-inferstack/internal/backend/aws"
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
		"endpoint_id of another backend": {`targets = []
  aws_endpoints = [{ endpoint_id = "onprem/lab,chat" }]`,
			[]string{"invalid AWS endpoint", `aws_endpoints[0].endpoint_id: "onprem/lab,chat" is not the id of a model endpoint on an AWS cluster`}},
		"aws endpoint port and twice": {`targets = []
  aws_endpoints = [{ endpoint_id = "aws/us-east-1/lab,chat", port = 70000 }, { endpoint_id = "aws/us-east-1/lab,chat" }]`,
			[]string{"invalid AWS endpoint", `aws_endpoints[0].port: 70000 is not a TCP port`,
				`aws_endpoints[1].endpoint_id: endpoint chat of cluster lab in us-east-1 is listed twice`}},
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

// TestAccPrometheusConfig_awsEndpoints renders the scrape job for an endpoint on an AWS cluster
// (moto), passed as users pass it, and runs a real Prometheus on it: EC2 service discovery, pointed
// at moto, finds the endpoint's two instances by their tags, and the relabelling gives each the
// labels of metrics_targets (endpoint, model, revision, replica = instance id, host = private IP).
// The instances' private addresses are not on this machine, so one rule the test adds after the
// rendered ones sends the scrapes to a vLLM stand-in on loopback: up == 1 proves the labels of
// targets that were discovered, relabelled and scraped.
func TestAccPrometheusConfig_awsEndpoints(t *testing.T) {
	t.Parallel()
	// ap-northeast-1 (no other test here uses it), where moto offers g5.xlarge in zones a and c.
	lab := acctest.AWS(t)
	const region = "ap-northeast-1"
	lab.SetGPUQuotas(region, 256)
	network := lab.MakeNetwork(t, region, "10.78.0.0/16", "a", "c")
	network.Subnets = map[string]string{"a": network.Subnets["a"], "b": network.Subnets["c"]}
	f := awsClusterFixture{lab: lab, region: region, name: acctest.TestName("aws"), network: network, ami: lab.AMI(t, region)}
	ep := acctest.TestName("ep")
	standin, err := openai.Start(openai.Options{Model: "Qwen/Qwen2.5-7B-Instruct", APIKey: endpointAPIKey})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = standin.Close() })

	config := f.endpointConfig(ep, 2, "") + `
data "inferstack_prometheus_config" "test" {
  targets         = []
  scrape_interval = "1s"
  aws_endpoints = [{
    endpoint_id = inferstack_model_endpoint.test.id
    port        = inferstack_model_endpoint.test.aws.port
    model       = inferstack_model_endpoint.test.model.id
    revision    = inferstack_model_endpoint.test.resolved_revision
  }]
}
`
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProviderFactories(),
		CheckDestroy:             f.checkEndpointDestroyed,
		Steps: []resource.TestStep{{
			Config: config,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(prometheusConfigAddr, tfjsonpath.New("scrape_config_yaml"), knownvalue.StringRegexp(regexp.MustCompile(
					`(?s)ec2_sd_configs:\n      - region: ap-northeast-1\n        port: 8000\n.*- name: tag:inferstack:endpoint\n            values:\n              - `+ep+`\n`))),
				statecheck.ExpectKnownValue(prometheusConfigAddr, tfjsonpath.New("file_sd_json"), knownvalue.StringExact("[]\n")),
			},
			Check: func(s *terraform.State) error {
				attrs := s.RootModule().Resources[prometheusConfigAddr].Primary.Attributes
				revision := s.RootModule().Resources[endpointAddr].Primary.Attributes["resolved_revision"]
				rendered := attrs["scrape_config_yaml"]
				if err := promlab.CheckConfig(t.Context(), rendered); err != nil {
					return fmt.Errorf("the rendered scrape config:\n%s\n%w", rendered, err)
				}
				g, err := f.group(ep)
				if err != nil || g == nil || len(g.Instances) != 2 {
					return fmt.Errorf("the endpoint's group in moto: %+v, %v", g, err)
				}
				want := map[string]string{} // instance id -> private IP
				for _, in := range g.Instances {
					want[aws.ToString(in.InstanceId)] = ""
				}
				out, err := lab.EC2(region).DescribeInstances(t.Context(), &ec2.DescribeInstancesInput{InstanceIds: slices.Collect(maps.Keys(want))})
				if err != nil {
					return err
				}
				for _, r := range out.Reservations {
					for _, in := range r.Instances {
						want[aws.ToString(in.InstanceId)] = aws.ToString(in.PrivateIpAddress)
					}
				}
				cfg, err := againstLab(rendered, lab.Moto.URL, standin.Addr)
				if err != nil {
					return err
				}
				prom, err := promlab.Start(cfg, t.TempDir())
				if err != nil {
					return err
				}
				defer prom.Stop()
				return promlab.Eventually(t.Context(), "both instances discovered, labelled and up", 60*time.Second, func(ctx context.Context) (bool, error) {
					samples, err := prom.Query(ctx, `up{job="vllm"} == 1`)
					if err != nil {
						return false, err
					}
					got := map[string]string{}
					for _, smp := range samples {
						l := smp.Labels
						if l["endpoint"] != ep || l["model"] != "Qwen/Qwen2.5-7B-Instruct" || l["revision"] != revision || want[l["replica"]] != l["host"] {
							return false, fmt.Errorf("a target labelled %v; want endpoint %s, model, revision %s, replica an instance id and host its private IP %v", l, ep, revision, want)
						}
						got[l["replica"]] = l["host"]
					}
					if !maps.Equal(got, want) {
						targets, _ := prom.Targets(ctx)
						return false, fmt.Errorf("targets up %v, want %v: %+v", got, want, targets)
					}
					return true, nil
				})
			},
		}},
	})
}

// againstLab is a rendered scrape config pointed at the lab: its EC2 discovery asks moto (with
// moto's credentials, refreshing every second), and a last rule sends every discovered target's
// scrape to the stand-in at addr (the instances' private addresses are not reachable here).
func againstLab(rendered, motoURL, addr string) (string, error) {
	var doc map[string]any
	if err := yaml.Unmarshal([]byte(rendered), &doc); err != nil {
		return "", err
	}
	jobs, _ := doc["scrape_configs"].([]any)
	if len(jobs) != 1 {
		return "", fmt.Errorf("scrape_configs: %v, want one job", doc["scrape_configs"])
	}
	job := jobs[0].(map[string]any)
	sds, _ := job["ec2_sd_configs"].([]any)
	if len(sds) == 0 {
		return "", fmt.Errorf("no ec2_sd_configs in:\n%s", rendered)
	}
	for _, sd := range sds {
		m := sd.(map[string]any)
		m["endpoint"], m["access_key"], m["secret_key"], m["refresh_interval"] = motoURL, "testing", "testing", "1s"
	}
	rules, _ := job["relabel_configs"].([]any)
	job["relabel_configs"] = append(rules, map[string]any{
		"source_labels": []string{"__meta_ec2_instance_id"}, "regex": "(.+)", "target_label": "__address__", "replacement": addr,
	})
	b, err := yaml.Marshal(doc)
	return string(b), err
}

// TestEC2TagsAreTheBackends: the tags the rendered EC2 discovery filters on are the ones the AWS
// backend puts on an endpoint's instances.
func TestEC2TagsAreTheBackends(t *testing.T) {
	t.Parallel()
	if metrics.TagCluster != awsbackend.TagCluster || metrics.TagEndpoint != awsbackend.TagEndpoint {
		t.Errorf("metrics filters on %s and %s; the AWS backend tags %s and %s", metrics.TagCluster, metrics.TagEndpoint,
			awsbackend.TagCluster, awsbackend.TagEndpoint)
	}
}
