# Plan-only tests with a mocked provider: the module's wiring and its input validation, no hosts.

mock_provider "inferstack" {
  mock_resource "inferstack_inference_cluster" {
    defaults = {
      id = "onprem/lab/eyJuIjoibGFiIiwiaCI6W119"
    }
  }
  mock_resource "inferstack_model_endpoint" {
    defaults = {
      resolved_revision = "a09a35458c702b33eeacc393d103063234e8bc28"
      urls              = []
      placements        = []
    }
  }
}

variables {
  name = "lab"
  hosts = [
    { name = "gpu-a", address = "10.0.0.11", host_key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPi50QSF0ErAa1+qRrFvoKrIbTX8LXACHggqTvMBtmXp", labels = { rack = "r1" } },
    { name = "gpu-b", address = "10.0.0.12", port = 2222, user = "ops", host_key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGXtpk8HYuC2oD76qY+m37AsY5fg4MlGJHnNGUY6I0aV" },
  ]
  api_key = "test-key"
  endpoints = {
    qwen  = { model = "Qwen/Qwen2.5-7B-Instruct", replicas = 2, max_model_len = 16384 }
    llama = { model = "meta-llama/Llama-3.1-8B-Instruct", revision = "v1", node_selector = { rack = "r1" } }
  }
}

run "wires_hosts_and_endpoints" {
  command = plan

  assert {
    condition     = length(inferstack_inference_cluster.this.onprem.hosts) == 2
    error_message = "both hosts should reach the cluster"
  }
  assert {
    condition     = inferstack_inference_cluster.this.onprem.hosts[1].port == 2222 && inferstack_inference_cluster.this.onprem.hosts[0].port == 22
    error_message = "the SSH port should pass through, defaulting to 22"
  }
  assert {
    condition     = inferstack_inference_cluster.this.onprem.container_runtime == "docker"
    error_message = "the default runtime is docker"
  }
  assert {
    condition     = length(inferstack_model_endpoint.this) == 2
    error_message = "one endpoint per entry of var.endpoints"
  }
  assert {
    condition     = inferstack_model_endpoint.this["qwen"].replicas == 2 && inferstack_model_endpoint.this["llama"].replicas == 1
    error_message = "replicas should pass through, defaulting to 1"
  }
  assert {
    condition     = inferstack_model_endpoint.this["llama"].model.revision == "v1" && inferstack_model_endpoint.this["qwen"].model.revision == "main"
    error_message = "revision should pass through, defaulting to main"
  }
  assert {
    condition     = inferstack_model_endpoint.this["llama"].node_selector["rack"] == "r1"
    error_message = "node_selector should pass through"
  }
}

run "rejects_a_host_without_a_key" {
  command = plan

  variables {
    hosts = [{ name = "gpu-a", address = "10.0.0.11", host_key = "" }]
  }
  expect_failures = [var.hosts]
}

run "rejects_duplicate_host_names" {
  command = plan

  variables {
    hosts = [
      { name = "gpu-a", address = "10.0.0.11", host_key = "ssh-ed25519 AAAAa" },
      { name = "gpu-a", address = "10.0.0.12", host_key = "ssh-ed25519 AAAAb" },
    ]
  }
  expect_failures = [var.hosts]
}

run "rejects_a_bad_runtime" {
  command = plan

  variables {
    container_runtime = "lxc"
  }
  expect_failures = [var.container_runtime]
}

run "rejects_zero_replicas" {
  command = plan

  variables {
    endpoints = { qwen = { model = "Qwen/Qwen2.5-7B-Instruct", replicas = 0 } }
  }
  expect_failures = [var.endpoints]
}

run "passes_the_sizing_through" {
  command = plan

  variables {
    endpoints = {
      qwen = {
        model                  = "Qwen/Qwen2.5-7B-Instruct"
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
      inferstack_model_endpoint.this["qwen"].engine.quantization == "fp8" &&
      inferstack_model_endpoint.this["qwen"].engine.kv_cache_dtype == "fp8" &&
      inferstack_model_endpoint.this["qwen"].engine.gpu_memory_utilization == 0.85 &&
      inferstack_model_endpoint.this["qwen"].engine.max_num_seqs == 64 &&
      inferstack_model_endpoint.this["qwen"].engine.extra_args == tolist(["--enable-chunked-prefill"])
    )
    error_message = "quantization, kv_cache_dtype, gpu_memory_utilization, max_num_seqs and extra_args should reach the engine"
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

run "rejects_a_bad_gpu_memory_utilization" {
  command = plan

  variables {
    endpoints = { qwen = { model = "Qwen/Qwen2.5-7B-Instruct", gpu_memory_utilization = 1.2 } }
  }
  expect_failures = [var.endpoints]
}
