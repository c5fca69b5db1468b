# Scrape configs and a Grafana dashboard for vLLM endpoints' metrics. Each inferstack_model_endpoint
# exports metrics_targets (the host:port of each replica's /metrics, with endpoint, model,
# revision, replica and host labels); concat joins several endpoints into one job, e.g.
#   targets = concat(inferstack_model_endpoint.chat.metrics_targets, inferstack_model_endpoint.embed.metrics_targets)
data "inferstack_prometheus_config" "vllm" {
  targets = concat(
    var.chat_metrics_targets,
    # Targets written by hand take the same shape.
    [{ target = "10.0.1.20:8000", labels = { endpoint = "embed", replica = "0" } }],
  )
  scrape_interval = "15s" # the default; the queries' rate() window is four intervals, at least 1m

  # Endpoints on AWS sit behind the load balancer (their metrics_targets is empty): Prometheus
  # discovers their instances by tag (ec2_sd_configs) in the same job, labelled alike, e.g.
  #   endpoint_id = inferstack_model_endpoint.llama.id
  #   port        = inferstack_model_endpoint.llama.aws.port   # null: 8000, as the endpoint's
  #   model       = inferstack_model_endpoint.llama.model.id
  #   revision    = inferstack_model_endpoint.llama.resolved_revision
  aws_endpoints = [{
    endpoint_id = var.aws_endpoint_id
    model       = "meta-llama/Llama-3.1-8B-Instruct"
  }]
}

variable "aws_endpoint_id" {
  description = "The id of an inferstack_model_endpoint on an AWS cluster."
  type        = string
  default     = "aws/us-east-1/llm-prod,llama-8b"
}

variable "chat_metrics_targets" {
  description = "An endpoint's metrics_targets."
  type        = list(object({ target = string, labels = map(string) }))
  default = [
    { target = "10.0.1.11:8000", labels = { endpoint = "chat", model = "Qwen/Qwen2.5-7B-Instruct", replica = "0", host = "gpu-a" } },
    { target = "10.0.1.12:8000", labels = { endpoint = "chat", model = "Qwen/Qwen2.5-7B-Instruct", replica = "1", host = "gpu-b" } },
  ]
}

# A prometheus.yml for a Prometheus that scrapes only vLLM (or merge its scrape_configs into yours);
# Prometheus needs ec2:DescribeInstances and ec2:DescribeAvailabilityZones for the AWS endpoints.
output "prometheus_yml" {
  value = data.inferstack_prometheus_config.vllm.scrape_config_yaml
}

# Target files for an existing Prometheus whose job reads
# file_sd_configs: [{ files: ["/etc/prometheus/targets/*.json"] }]; it reloads them without a restart.
output "vllm_targets_json" {
  value = data.inferstack_prometheus_config.vllm.file_sd_json
}

# Import into Grafana (Dashboards > New > Import), or hand it to the Grafana provider.
output "grafana_dashboard_json" {
  value = data.inferstack_prometheus_config.vllm.dashboard_json
}

# The same PromQL, for alerts and recording rules.
output "ttft_p99" {
  value = data.inferstack_prometheus_config.vllm.queries["ttft_p99"]
}
