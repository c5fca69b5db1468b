# Plan-only tests with a mocked provider: the module's wiring and its input validation, no
# Kubernetes API server.

mock_provider "inferstack" {
  mock_resource "inferstack_inference_cluster" {
    defaults = {
      # kubernetes.nodes cannot be mocked (OpenTofu overrides only computed fields, and the
      # kubernetes block is configuration): the mock generates them, and the asserts compare
      # the nodes output with the resource's attribute.
      id = "kubernetes/inference/lab"
    }
  }
  mock_resource "inferstack_model_endpoint" {
    defaults = {
      id                = "kubernetes/inference/lab,qwen"
      resolved_revision = "a09a35458c702b33eeacc393d103063234e8bc28"
      url               = "http://qwen.inference.svc:8000/v1"
      urls              = ["http://qwen.inference.svc:8000/v1"]
      placements        = []
      metrics_targets   = []
      status            = "ready"
    }
  }
}

variables {
  name          = "lab"
  namespace     = "inference"
  node_selector = { "nvidia.com/gpu.product" = "NVIDIA-L40S" }
  tolerations = [
    { key = "nvidia.com/gpu", operator = "Exists", effect = "NoSchedule" },
    { key = "node.kubernetes.io/unreachable", operator = "Exists", effect = "NoExecute", toleration_seconds = 300 },
  ]
  model_cache        = { size_gib = 500 }
  gateway_namespaces = ["litellm"]
  api_key            = "test-key"
  endpoints = {
    qwen  = { model = "Qwen/Qwen2.5-7B-Instruct", replicas = 2, max_model_len = 16384 }
    llama = { model = "meta-llama/Llama-3.1-8B-Instruct", revision = "v1", served_model_name = "llama-8b", port = 8080, autoscaling = { min = 1, max = 4, target = { metric = "requests_waiting", value = 4 } }, max_surge = 0, max_unavailable = 2 }
    small = { model = "Qwen/Qwen2.5-7B-Instruct-AWQ", autoscaling = { min = 0, max = 3 }, allowed_namespaces = ["apps"], allowed_cidrs = ["10.20.0.0/16"], startup_seconds = 1800, shared_memory_mib = 16384 }
  }
}

run "wires_cluster_and_endpoints" {
  command = plan

  assert {
    condition     = inferstack_inference_cluster.this.name == "lab" && inferstack_inference_cluster.this.kubernetes.namespace == "inference"
    error_message = "name and namespace should reach the cluster"
  }
  assert {
    condition     = inferstack_inference_cluster.this.kubernetes.node_selector["nvidia.com/gpu.product"] == "NVIDIA-L40S"
    error_message = "node_selector should reach the cluster"
  }
  assert {
    condition = (
      length(inferstack_inference_cluster.this.kubernetes.tolerations) == 2 &&
      inferstack_inference_cluster.this.kubernetes.tolerations[0].key == "nvidia.com/gpu" &&
      inferstack_inference_cluster.this.kubernetes.tolerations[0].operator == "Exists" &&
      inferstack_inference_cluster.this.kubernetes.tolerations[0].toleration_seconds == null &&
      inferstack_inference_cluster.this.kubernetes.tolerations[1].toleration_seconds == 300
    )
    error_message = "tolerations should reach the cluster as given"
  }
  assert {
    condition     = inferstack_inference_cluster.this.kubernetes.model_cache.size_gib == 500 && inferstack_inference_cluster.this.kubernetes.model_cache.storage_class == null
    error_message = "model_cache should reach the cluster, storage_class unset (the default class)"
  }
  assert {
    condition     = inferstack_inference_cluster.this.kubernetes.runtime_class == null
    error_message = "runtime_class should stay unset by default"
  }
  assert {
    condition     = alltrue([for e in inferstack_model_endpoint.this : e.cluster_id == inferstack_inference_cluster.this.id])
    error_message = "every endpoint should run on the module's cluster"
  }
  assert {
    condition     = length(inferstack_model_endpoint.this) == 3 && inferstack_model_endpoint.this["llama"].name == "llama"
    error_message = "one endpoint per entry of var.endpoints, named by its key"
  }
  assert {
    condition     = alltrue([for e in inferstack_model_endpoint.this : e.node_selector == null])
    error_message = "endpoints must not set node_selector on a Kubernetes cluster"
  }
  assert {
    condition     = inferstack_model_endpoint.this["qwen"].replicas == 2 && inferstack_model_endpoint.this["qwen"].autoscaling == null
    error_message = "replicas without autoscaling should pass through"
  }
  assert {
    condition     = inferstack_model_endpoint.this["llama"].replicas == 1 && inferstack_model_endpoint.this["small"].replicas == 1
    error_message = "with autoscaling and no replicas, replicas should start at autoscaling.min, at least 1"
  }
  assert {
    condition     = inferstack_model_endpoint.this["llama"].autoscaling.target.metric == "requests_waiting" && inferstack_model_endpoint.this["llama"].autoscaling.max == 4 && inferstack_model_endpoint.this["small"].autoscaling.target == null
    error_message = "autoscaling and its target should pass through"
  }
  assert {
    condition     = inferstack_model_endpoint.this["llama"].model.revision == "v1" && inferstack_model_endpoint.this["qwen"].model.revision == "main"
    error_message = "revision should pass through, defaulting to main"
  }
  assert {
    condition     = inferstack_model_endpoint.this["llama"].served_model_name == "llama-8b"
    error_message = "served_model_name should pass through"
  }
  assert {
    condition     = inferstack_model_endpoint.this["qwen"].kubernetes.port == 8000 && inferstack_model_endpoint.this["llama"].kubernetes.port == 8080
    error_message = "port should pass through, defaulting to 8000"
  }
  assert {
    condition     = inferstack_model_endpoint.this["qwen"].rollout.max_unavailable == 1 && inferstack_model_endpoint.this["llama"].rollout.max_unavailable == 2
    error_message = "max_unavailable should become rollout.max_unavailable, defaulting to 1"
  }
  assert {
    condition     = inferstack_model_endpoint.this["llama"].kubernetes.max_surge == 0 && inferstack_model_endpoint.this["qwen"].kubernetes.max_surge == null
    error_message = "max_surge should pass through, unset by default (the provider's 1)"
  }
  assert {
    condition = (
      inferstack_model_endpoint.this["qwen"].kubernetes.allowed_namespaces == tolist(["litellm"]) &&
      inferstack_model_endpoint.this["llama"].kubernetes.allowed_namespaces == tolist(["litellm"]) &&
      inferstack_model_endpoint.this["small"].kubernetes.allowed_namespaces == tolist(["apps"])
    )
    error_message = "gateway_namespaces should become every endpoint's allowed_namespaces, unless the endpoint sets its own"
  }
  assert {
    condition     = inferstack_model_endpoint.this["small"].kubernetes.allowed_cidrs == tolist(["10.20.0.0/16"]) && inferstack_model_endpoint.this["qwen"].kubernetes.allowed_cidrs == null
    error_message = "allowed_cidrs should pass through, unset by default"
  }
  assert {
    condition     = inferstack_model_endpoint.this["small"].kubernetes.startup_seconds == 1800 && inferstack_model_endpoint.this["small"].kubernetes.shared_memory_mib == 16384
    error_message = "startup_seconds and shared_memory_mib should pass through"
  }
  assert {
    condition     = inferstack_model_endpoint.this["qwen"].kubernetes.service_type == null && inferstack_model_endpoint.this["qwen"].kubernetes.service_annotations == null
    error_message = "service_type and service_annotations should stay unset (a ClusterIP Service) by default"
  }
  assert {
    condition     = output.cluster_id == "kubernetes/inference/lab" && output.nodes == inferstack_inference_cluster.this.kubernetes.nodes
    error_message = "the cluster's id and nodes should pass through"
  }
  assert {
    condition     = output.urls["qwen"] == "http://qwen.inference.svc:8000/v1" && output.urls["llama"] == inferstack_model_endpoint.this["llama"].url
    error_message = "the urls output should carry each endpoint's URL"
  }
  assert {
    condition     = output.endpoints["qwen"].id == inferstack_model_endpoint.this["qwen"].id && output.endpoints["qwen"].status == "ready" && output.endpoints["qwen"].resolved_revision == "a09a35458c702b33eeacc393d103063234e8bc28"
    error_message = "the endpoints output should carry each endpoint's id, status and pinned commit"
  }
  assert {
    condition     = output.served_model_names["llama"] == "llama-8b" && output.endpoints["llama"].served_model_name == "llama-8b"
    error_message = "the served model names should pass through"
  }
}

run "no_gateway_namespaces" {
  command = plan

  variables {
    gateway_namespaces = null
    tolerations        = null
    model_cache        = null
    node_selector      = null
  }
  assert {
    condition     = inferstack_model_endpoint.this["qwen"].kubernetes.allowed_namespaces == null && inferstack_model_endpoint.this["small"].kubernetes.allowed_namespaces == tolist(["apps"])
    error_message = "without gateway_namespaces an endpoint's allowed_namespaces is its own, or unset (its namespace only)"
  }
  assert {
    condition = (
      inferstack_inference_cluster.this.kubernetes.tolerations == null &&
      inferstack_inference_cluster.this.kubernetes.model_cache == null &&
      inferstack_inference_cluster.this.kubernetes.node_selector == null
    )
    error_message = "unset cluster settings should stay unset"
  }
}

run "a_cluster_without_endpoints_needs_no_key" {
  command = plan

  variables {
    endpoints = {}
    api_key   = null
  }
  assert {
    condition     = length(inferstack_model_endpoint.this) == 0 && length(output.urls) == 0
    error_message = "no endpoints, no URLs"
  }
}

run "passes_the_sizing_through" {
  command = plan

  variables {
    endpoints = {
      qwen = {
        model                  = "Qwen/Qwen2.5-7B-Instruct"
        image                  = "vllm/vllm-openai:v0.11.0"
        tensor_parallel_size   = 2
        quantization           = "fp8"
        kv_cache_dtype         = "fp8"
        gpu_memory_utilization = 0.85
        max_num_seqs           = 64
        extra_args             = ["--enable-chunked-prefill"]
      }
    }
  }
  assert {
    condition = (
      inferstack_model_endpoint.this["qwen"].engine.image == "vllm/vllm-openai:v0.11.0" &&
      inferstack_model_endpoint.this["qwen"].engine.tensor_parallel_size == 2 &&
      inferstack_model_endpoint.this["qwen"].engine.quantization == "fp8" &&
      inferstack_model_endpoint.this["qwen"].engine.kv_cache_dtype == "fp8" &&
      inferstack_model_endpoint.this["qwen"].engine.gpu_memory_utilization == 0.85 &&
      inferstack_model_endpoint.this["qwen"].engine.max_num_seqs == 64 &&
      inferstack_model_endpoint.this["qwen"].engine.extra_args == tolist(["--enable-chunked-prefill"])
    )
    error_message = "image, tensor_parallel_size, quantization, kv_cache_dtype, gpu_memory_utilization, max_num_seqs and extra_args should reach the engine"
  }
}

run "load_balancer_service" {
  command = plan

  variables {
    endpoints = {
      qwen = {
        model               = "Qwen/Qwen2.5-7B-Instruct"
        service_type        = "LoadBalancer"
        service_annotations = { "service.beta.kubernetes.io/aws-load-balancer-internal" = "true" }
      }
    }
  }
  assert {
    condition     = inferstack_model_endpoint.this["qwen"].kubernetes.service_type == "LoadBalancer" && inferstack_model_endpoint.this["qwen"].kubernetes.service_annotations["service.beta.kubernetes.io/aws-load-balancer-internal"] == "true"
    error_message = "service_type and service_annotations should pass through"
  }
}

run "write_only_key" {
  command = plan

  variables {
    api_key            = null
    api_key_wo         = "test-key-wo"
    api_key_wo_version = 3
  }
  assert {
    condition     = alltrue([for e in inferstack_model_endpoint.this : e.api_key_wo_version == 3 && e.api_key == null])
    error_message = "api_key_wo_version should reach every endpoint, and api_key stay unset"
  }
}

run "rejects_no_key" {
  command = plan

  variables {
    api_key = null
  }
  expect_failures = [inferstack_inference_cluster.this]
}

run "rejects_both_keys" {
  command = plan

  variables {
    api_key_wo         = "test-key-wo"
    api_key_wo_version = 1
  }
  expect_failures = [inferstack_inference_cluster.this]
}

run "rejects_a_write_only_key_without_version" {
  command = plan

  variables {
    api_key    = null
    api_key_wo = "test-key-wo"
  }
  expect_failures = [inferstack_inference_cluster.this]
}

run "rejects_a_bad_namespace" {
  command = plan

  variables {
    namespace = "Inference_NS"
  }
  expect_failures = [var.namespace]
}

run "rejects_a_bad_node_selector_value" {
  command = plan

  variables {
    node_selector = { "nvidia.com/gpu.product" = "NVIDIA L40S" }
  }
  expect_failures = [var.node_selector]
}

run "rejects_a_toleration_without_key_or_exists" {
  command = plan

  variables {
    tolerations = [{ effect = "NoSchedule" }]
  }
  expect_failures = [var.tolerations]
}

run "rejects_a_bad_toleration_effect" {
  command = plan

  variables {
    tolerations = [{ key = "nvidia.com/gpu", operator = "Exists", effect = "NoRun" }]
  }
  expect_failures = [var.tolerations]
}

run "rejects_toleration_seconds_without_no_execute" {
  command = plan

  variables {
    tolerations = [{ key = "nvidia.com/gpu", operator = "Exists", effect = "NoSchedule", toleration_seconds = 60 }]
  }
  expect_failures = [var.tolerations]
}

run "rejects_an_empty_model_cache" {
  command = plan

  variables {
    model_cache = { size_gib = 0 }
  }
  expect_failures = [var.model_cache]
}

run "rejects_a_bad_gateway_namespace" {
  command = plan

  variables {
    gateway_namespaces = ["LiteLLM"]
  }
  expect_failures = [var.gateway_namespaces]
}

run "rejects_an_endpoint_name_starting_with_a_digit" {
  command = plan

  variables {
    endpoints = { "7b" = { model = "Qwen/Qwen2.5-7B-Instruct" } }
  }
  expect_failures = [var.endpoints]
}

run "rejects_replicas_outside_autoscaling" {
  command = plan

  variables {
    endpoints = { qwen = { model = "Qwen/Qwen2.5-7B-Instruct", replicas = 5, autoscaling = { min = 1, max = 4 } } }
  }
  expect_failures = [var.endpoints]
}

run "rejects_an_autoscaler_down_to_zero" {
  command = plan

  variables {
    endpoints = { qwen = { model = "Qwen/Qwen2.5-7B-Instruct", autoscaling = { min = 0, max = 4, target = { metric = "kv_cache_usage", value = 0.7 } } } }
  }
  expect_failures = [var.endpoints]
}

run "rejects_zero_max_unavailable" {
  command = plan

  variables {
    endpoints = { qwen = { model = "Qwen/Qwen2.5-7B-Instruct", max_unavailable = 0 } }
  }
  expect_failures = [var.endpoints]
}

run "rejects_a_bad_port" {
  command = plan

  variables {
    endpoints = { qwen = { model = "Qwen/Qwen2.5-7B-Instruct", port = 70000 } }
  }
  expect_failures = [var.endpoints]
}

run "rejects_a_bad_service_type" {
  command = plan

  variables {
    endpoints = { qwen = { model = "Qwen/Qwen2.5-7B-Instruct", service_type = "NodePort" } }
  }
  expect_failures = [var.endpoints]
}

run "rejects_a_bad_allowed_cidr" {
  command = plan

  variables {
    endpoints = { qwen = { model = "Qwen/Qwen2.5-7B-Instruct", allowed_cidrs = ["10.0.0.0/33"] } }
  }
  expect_failures = [var.endpoints]
}

run "rejects_a_short_startup" {
  command = plan

  variables {
    endpoints = { qwen = { model = "Qwen/Qwen2.5-7B-Instruct", startup_seconds = 30 } }
  }
  expect_failures = [var.endpoints]
}

run "rejects_a_bad_gpu_memory_utilization" {
  command = plan

  variables {
    endpoints = { qwen = { model = "Qwen/Qwen2.5-7B-Instruct", gpu_memory_utilization = 1.2 } }
  }
  expect_failures = [var.endpoints]
}
