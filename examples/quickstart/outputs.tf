output "gpu_types" {
  description = "GPU instance types with enough memory per GPU, sorted by name."
  value = [for t in data.inferstack_gpu_types.candidates.types : {
    name           = t.name
    gpu            = "${t.gpu_count} x ${t.gpu_model}"
    gpu_memory_gib = floor(t.gpu_memory_mib / 1024)
    vcpus          = t.vcpus
  }]
}

output "gpu_types_table" {
  description = "The same list as a table, for people."
  value = join("\n", concat(
    [format("%-18s %-30s %12s %6s", "instance type", "GPUs", "GiB per GPU", "vCPUs")],
    [for t in data.inferstack_gpu_types.candidates.types :
    format("%-18s %-30s %12d %6d", t.name, "${t.gpu_count} x ${t.gpu_model}", floor(t.gpu_memory_mib / 1024), t.vcpus)]
  ))
}

locals {
  plan = data.inferstack_deployment_plan.model
  rec  = data.inferstack_deployment_plan.model.recommended
  cost = data.inferstack_hosting_cost.model
  gib  = pow(1024, 3)
}

output "recommended" {
  description = "The deployment the plan recommends (null when nothing fits): feed it to the cluster and endpoint."
  value = local.rec == null ? null : {
    instance_type            = local.rec.instance_type
    tensor_parallel_size     = local.rec.tensor_parallel_size
    pipeline_parallel_size   = local.rec.pipeline_parallel_size
    max_concurrent_sequences = local.rec.max_concurrent_sequences
    model_sha                = local.plan.sha
  }
}

output "plan_summary" {
  description = "The sizing, for people."
  value = join("\n", concat(
    [
      format("%s at commit %s", var.model, substr(local.plan.sha, 0, 12)),
      format("  %d sequences of %d tokens; KV cache dtype %s (%d bytes a token)", local.plan.assumptions.concurrency,
      local.plan.assumptions.max_model_len, local.plan.assumptions.kv_cache_dtype, local.plan.kv_cache_bytes_per_token),
      format("  weights %.1f GiB + KV cache %.1f GiB, plus %.1f GiB a GPU for activations and overhead at tensor_parallel_size 1",
      local.plan.weights_bytes / local.gib, local.plan.kv_cache_bytes / local.gib, local.plan.allowance_bytes / local.gib),
      format("  valid tensor_parallel_size: %s", join(", ", local.plan.valid_tensor_parallel_sizes)),
      format("  %d of %d NVIDIA instance types in %s fit", length([for e in local.plan.evaluations : e if e.fits]),
      length(local.plan.evaluations), var.aws_region),
    ],
    local.rec == null ? concat(["  nothing fits:"], [for a in local.plan.advice : "    ${a}"]) : [
      format("  recommended: %s (%d x %s), tensor_parallel_size %d, pipeline_parallel_size %d",
      local.rec.name, local.rec.gpus_per_node, local.rec.gpu_model, local.rec.tensor_parallel_size, local.rec.pipeline_parallel_size),
      format("               %.1f of %.1f GiB usable per GPU; up to %d sequences of %d tokens at once",
        local.rec.required_bytes_per_gpu / local.gib, local.rec.usable_bytes_per_gpu / local.gib,
      local.rec.max_concurrent_sequences, local.plan.assumptions.max_model_len),
    ],
  ))
}

output "cost_summary" {
  description = "Self-hosting the recommended deployment against the closed API, for people."
  value = join("\n", [
    format("%.0f tokens a day (%.0f in, %.0f out)", local.cost.assumptions.tokens_per_day, var.input_tokens_per_day, var.output_tokens_per_day),
    format("  API:        $%.2f a month at $%.2f / $%.2f per million tokens in / out", local.cost.monthly_api_usd,
    var.api_price.input_usd_per_million, var.api_price.output_usd_per_million),
    format("  self-host:  $%.2f a month for %d node(s) at $%.3f an hour, %.1f%% of their capacity", local.cost.monthly_self_host_usd,
    local.cost.nodes, var.node_hourly_usd, local.cost.capacity_utilisation * 100),
    local.cost.cheaper == "self_host"
    ? format("  cheaper:    self-hosting, by $%.2f a month", local.cost.monthly_savings_usd)
    : format("  cheaper:    the API, by $%.2f a month", -local.cost.monthly_savings_usd),
    local.cost.breakeven_tokens_per_day == null
    ? "  break-even: never at this throughput: a fully used node costs more than the API charges for its tokens"
    : format("  break-even: %.0f tokens a day in this mix", local.cost.breakeven_tokens_per_day),
  ])
}

output "onprem_endpoint" {
  description = "The on-prem endpoint: pinned commit, one OpenAI base URL per replica, and where each replica runs."
  value       = length(module.onprem) == 0 ? null : module.onprem[0].endpoints[var.onprem_endpoint_name]
}

output "onprem_nodes" {
  description = "What each on-prem host reported."
  value       = length(module.onprem) == 0 ? null : module.onprem[0].nodes
}

output "aws_cluster" {
  description = "The AWS cluster: its id, VPC, security group, internal load balancer and the GPUs of one node."
  value = length(module.aws) == 0 ? null : {
    id                = module.aws[0].cluster_id
    vpc_id            = module.aws[0].vpc_id
    security_group_id = module.aws[0].security_group_id
    load_balancer_dns = module.aws[0].load_balancer_dns
    gpu               = module.aws[0].gpu
    max_nodes         = module.aws[0].max_nodes
  }
}

output "aws_endpoint" {
  description = "The AWS endpoint: its id, the OpenAI base URL on the cluster's load balancer, and the pinned commit."
  value       = length(module.aws) == 0 ? null : module.aws[0].endpoints[var.aws_endpoint_name]
}

output "routes" {
  description = "Gateway routes: the model name clients send, and what serves it."
  value = local.routes ? {
    (inferstack_api_route.chat[0].name)     = { deployments = inferstack_api_route.chat[0].deployment_ids, fallbacks = inferstack_api_route.chat[0].fallbacks, tags = inferstack_api_route.chat[0].tags }
    (inferstack_api_route.frontier[0].name) = { deployments = inferstack_api_route.frontier[0].deployment_ids, fallbacks = [], tags = inferstack_api_route.frontier[0].tags }
  } : null
}
