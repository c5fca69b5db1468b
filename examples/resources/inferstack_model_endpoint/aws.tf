# An endpoint on an AWS cluster (see inferstack_inference_cluster): an Auto Scaling group of GPU
# instances, one vLLM replica each, behind a listener of the cluster's internal load balancer.
variable "aws_cluster_id" {
  type        = string
  description = "The id of an AWS inferstack_inference_cluster, e.g. inferstack_inference_cluster.prod.id."
  default     = "aws/us-east-1/llm-prod"
}

resource "inferstack_model_endpoint" "llama" {
  cluster_id = var.aws_cluster_id
  name       = "llama-8b"
  model      = { id = "meta-llama/Llama-3.1-8B-Instruct", revision = "main" } # gated: the provider's huggingface token goes to Secrets Manager

  engine = {
    tensor_parallel_size = 4 # every GPU of a g6e.12xlarge
    max_model_len        = 32768
  }

  replicas = 2 # the group's desired count
  autoscaling = {
    min = 1 # the group's bounds
    max = 4
    # A target-tracking policy holds 4 requests waiting per replica: each node publishes vLLM's
    # gauges to CloudWatch (namespace Inferstack/vLLM) every minute.
    target = { metric = "requests_waiting", value = 4 }
  }
  api_key = var.vllm_key # stored in Secrets Manager, read by the nodes at boot

  aws = {
    port                       = 8000 # one of the cluster's serving_ports
    health_check_grace_seconds = 1800 # download + load of the weights
    min_healthy_percentage     = 50   # instance refresh on a change of engine, model name or key
  }
}

output "llama_url" {
  value = inferstack_model_endpoint.llama.url # http://<internal load balancer>:8000/v1
}

# The endpoint's Auto Scaling group, set whether the aws block is written or not: attach
# scaling policies, scheduled actions or lifecycle hooks of your own to it.
output "llama_autoscaling_group_name" {
  value = inferstack_model_endpoint.llama.aws.autoscaling_group_name # inferstack-llm-prod.llama-8b
}
