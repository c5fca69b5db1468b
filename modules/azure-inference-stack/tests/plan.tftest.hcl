# Plan-only tests with a mocked provider: the module's wiring and its input validation, no Azure.

mock_provider "inferstack" {
  mock_resource "inferstack_inference_cluster" {
    defaults = {
      # The azure block's computed attributes cannot be mocked (OpenTofu overrides only computed
      # fields, and the block is configuration): the mock generates them, and the asserts
      # compare outputs with the resource's attributes.
      id = "azure/00000000-0000-0000-0000-000000000000/rg-inference/lab"
    }
  }
  mock_resource "inferstack_model_endpoint" {
    defaults = {
      resolved_revision = "a09a35458c702b33eeacc393d103063234e8bc28"
      url               = "http://10.20.1.4:8000/v1"
      urls              = []
      placements        = []
    }
  }
}

variables {
  name           = "lab"
  resource_group = "rg-inference"
  location       = "westeurope"
  subnet_id      = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-network/providers/Microsoft.Network/virtualNetworks/vnet-gpu/subnets/gpu"
  vm_size        = "Standard_NC24ads_A100_v4"
  serving_ports  = [8000, 8001, 8002]
  api_key        = "test-key"
  endpoints = {
    qwen  = { model = "Qwen/Qwen2.5-7B-Instruct", replicas = 2, max_model_len = 16384 }
    llama = { model = "meta-llama/Llama-3.1-8B-Instruct", revision = "v1", port = 8001, max_batch_instance_percent = 50, max_unhealthy_instance_percent = 25 }
    small = { model = "Qwen/Qwen2.5-7B-Instruct-AWQ", port = 8002, replicas = 3 }
  }
}

run "wires_cluster_and_endpoints" {
  command = plan

  assert {
    condition     = alltrue([for e in inferstack_model_endpoint.this : e.cluster_id == inferstack_inference_cluster.this.id])
    error_message = "every endpoint should run on the module's cluster"
  }
  assert {
    condition     = length(inferstack_model_endpoint.this) == 3
    error_message = "one endpoint per entry of var.endpoints"
  }
  assert {
    condition     = inferstack_inference_cluster.this.azure.max_nodes == 2 + 1 + 3 && output.max_nodes == 6
    error_message = "max_nodes should be the sum of the endpoints' replicas"
  }
  assert {
    condition = (
      inferstack_inference_cluster.this.azure.resource_group == "rg-inference" &&
      inferstack_inference_cluster.this.azure.location == "westeurope" &&
      inferstack_inference_cluster.this.azure.subnet_id == var.subnet_id &&
      inferstack_inference_cluster.this.azure.vm_size == "Standard_NC24ads_A100_v4"
    )
    error_message = "resource_group, location, subnet_id and vm_size should pass through"
  }
  assert {
    condition     = inferstack_inference_cluster.this.azure.serving_ports == tolist([8000, 8001, 8002])
    error_message = "serving_ports should pass through"
  }
  assert {
    condition = (
      inferstack_inference_cluster.this.azure.subscription_id == null &&
      inferstack_inference_cluster.this.azure.image == null &&
      inferstack_inference_cluster.this.azure.priority == null &&
      inferstack_inference_cluster.this.azure.zones == null &&
      inferstack_inference_cluster.this.azure.os_disk_gib == null &&
      inferstack_inference_cluster.this.azure.allowed_cidrs == null &&
      inferstack_inference_cluster.this.azure.trusted_launch == null &&
      inferstack_inference_cluster.this.azure.key_vault == null &&
      inferstack_inference_cluster.this.azure.tags == null
    )
    error_message = "the optional cluster settings should stay unset (the provider's defaults) by default"
  }
  assert {
    condition     = inferstack_model_endpoint.this["qwen"].azure.port == 8000 && inferstack_model_endpoint.this["llama"].azure.port == 8001
    error_message = "port should pass through, defaulting to 8000"
  }
  assert {
    condition     = inferstack_model_endpoint.this["qwen"].replicas == 2 && inferstack_model_endpoint.this["llama"].replicas == 1 && inferstack_model_endpoint.this["small"].replicas == 3
    error_message = "replicas should pass through, defaulting to 1"
  }
  assert {
    condition     = alltrue([for e in inferstack_model_endpoint.this : e.autoscaling == null])
    error_message = "The module should set no autoscaling on Azure endpoints"
  }
  assert {
    condition = (
      inferstack_model_endpoint.this["llama"].azure.max_batch_instance_percent == 50 &&
      inferstack_model_endpoint.this["llama"].azure.max_unhealthy_instance_percent == 25 &&
      inferstack_model_endpoint.this["qwen"].azure.max_batch_instance_percent == null
    )
    error_message = "the rolling upgrade's limits should pass through, unset by default"
  }
  assert {
    condition     = inferstack_model_endpoint.this["llama"].model.revision == "v1" && inferstack_model_endpoint.this["qwen"].model.revision == "main"
    error_message = "revision should pass through, defaulting to main"
  }
  assert {
    condition     = output.endpoints["qwen"].url == inferstack_model_endpoint.this["qwen"].url && output.urls["qwen"] == "http://10.20.1.4:8000/v1"
    error_message = "the endpoints output should carry each endpoint's URL"
  }
  assert {
    condition     = output.endpoints["qwen"].scale_set_name == "inferstack-lab-qwen"
    error_message = "the endpoints output should name each endpoint's scale set"
  }
  assert {
    condition     = output.gpu == inferstack_inference_cluster.this.azure.gpu && output.cluster_id == "azure/00000000-0000-0000-0000-000000000000/rg-inference/lab"
    error_message = "the cluster's gpu and id should pass through"
  }
  assert {
    condition = (
      output.private_ip == inferstack_inference_cluster.this.azure.private_ip &&
      output.load_balancer_id == inferstack_inference_cluster.this.azure.load_balancer_id &&
      output.network_security_group_id == inferstack_inference_cluster.this.azure.network_security_group_id &&
      output.key_vault.uri == inferstack_inference_cluster.this.azure.key_vault_uri &&
      output.identity.client_id == inferstack_inference_cluster.this.azure.identity_client_id
    )
    error_message = "the cluster's outputs should pass through"
  }
}

run "passes_the_cluster_settings_through" {
  command = plan

  variables {
    subscription_id = "11111111-2222-3333-4444-555555555555"
    node_image      = { publisher = "Canonical", offer = "ubuntu-24_04-lts", sku = "server", version = "latest" }
    priority        = { spot_percentage = 50, eviction_policy = "Delete" }
    zones           = ["1", "2"]
    os_disk_gib     = 512
    allowed_cidrs   = ["10.0.0.0/8"]
    trusted_launch  = false
    key_vault       = { purge_protection = true }
    tags            = { team = "ml" }
  }
  assert {
    condition = (
      inferstack_inference_cluster.this.azure.subscription_id == "11111111-2222-3333-4444-555555555555" &&
      inferstack_inference_cluster.this.azure.image.offer == "ubuntu-24_04-lts" &&
      inferstack_inference_cluster.this.azure.priority.spot_percentage == 50 &&
      inferstack_inference_cluster.this.azure.priority.eviction_policy == "Delete" &&
      inferstack_inference_cluster.this.azure.zones == tolist(["1", "2"]) &&
      inferstack_inference_cluster.this.azure.os_disk_gib == 512 &&
      inferstack_inference_cluster.this.azure.allowed_cidrs == tolist(["10.0.0.0/8"]) &&
      inferstack_inference_cluster.this.azure.trusted_launch == false &&
      inferstack_inference_cluster.this.azure.key_vault.purge_protection == true &&
      inferstack_inference_cluster.this.azure.tags["team"] == "ml"
    )
    error_message = "the cluster's optional settings should reach its azure block"
  }
}

run "max_nodes_is_unset_without_endpoints" {
  command = plan

  variables {
    endpoints = {}
  }
  assert {
    condition     = inferstack_inference_cluster.this.azure.max_nodes == null && length(inferstack_model_endpoint.this) == 0
    error_message = "a cluster without endpoints leaves max_nodes to the provider"
  }
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

run "rejects_a_bad_subnet_id" {
  command = plan

  variables {
    subnet_id = "subnet-0a1b2c3d4e5f60718"
  }
  expect_failures = [var.subnet_id]
}

run "rejects_a_bad_location" {
  command = plan

  variables {
    location = "West Europe"
  }
  expect_failures = [var.location]
}

run "rejects_a_bad_vm_size" {
  command = plan

  variables {
    vm_size = "g5.xlarge"
  }
  expect_failures = [var.vm_size]
}

run "rejects_a_half_marketplace_image" {
  command = plan

  variables {
    node_image = { publisher = "Canonical", offer = "ubuntu-24_04-lts" }
  }
  expect_failures = [var.node_image]
}

run "rejects_the_internet_in_allowed_cidrs" {
  command = plan

  variables {
    allowed_cidrs = ["0.0.0.0/0"]
  }
  expect_failures = [var.allowed_cidrs]
}

run "rejects_a_bad_zone" {
  command = plan

  variables {
    zones = ["westeurope-1"]
  }
  expect_failures = [var.zones]
}

run "rejects_duplicate_ports" {
  command = plan

  variables {
    endpoints = {
      qwen  = { model = "Qwen/Qwen2.5-7B-Instruct" }
      llama = { model = "meta-llama/Llama-3.1-8B-Instruct" }
    }
  }
  expect_failures = [var.endpoints]
}

run "rejects_a_port_outside_serving_ports" {
  command = plan

  variables {
    endpoints = { qwen = { model = "Qwen/Qwen2.5-7B-Instruct", port = 9000 } }
  }
  expect_failures = [inferstack_inference_cluster.this]
}

run "rejects_a_bad_endpoint_name" {
  command = plan

  variables {
    endpoints = { Qwen_7B = { model = "Qwen/Qwen2.5-7B-Instruct" } }
  }
  expect_failures = [var.endpoints]
}

run "rejects_zero_replicas" {
  command = plan

  variables {
    endpoints = { qwen = { model = "Qwen/Qwen2.5-7B-Instruct", replicas = 0 } }
  }
  expect_failures = [var.endpoints]
}

run "rejects_a_bad_rollout_percentage" {
  command = plan

  variables {
    endpoints = { qwen = { model = "Qwen/Qwen2.5-7B-Instruct", max_batch_instance_percent = 2 } }
  }
  expect_failures = [var.endpoints]
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
