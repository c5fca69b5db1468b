# Plan-only tests with a mocked provider: the module's wiring and its input validation, no AWS.

mock_provider "inferstack" {
  mock_resource "inferstack_inference_cluster" {
    defaults = {
      # The aws block's computed attributes cannot be mocked (OpenTofu overrides only computed
      # fields, and the block is configuration): the mock generates them, and the asserts
      # compare outputs with the resource's attributes.
      id = "aws/us-east-1/lab"
    }
  }
  mock_resource "inferstack_model_endpoint" {
    defaults = {
      resolved_revision = "a09a35458c702b33eeacc393d103063234e8bc28"
      url               = "http://inferstack-lab-0123456789abcdef.elb.us-east-1.amazonaws.com:8000/v1"
      urls              = []
      placements        = []
    }
  }
}

variables {
  name          = "lab"
  region        = "us-east-1"
  subnet_ids    = ["subnet-0a1b2c3d4e5f60718", "subnet-1a2b3c4d"]
  instance_type = "g5.xlarge"
  ami_id        = "ami-0123456789abcdef0"
  serving_ports = [8000, 8001, 8002]
  api_key       = "test-key"
  endpoints = {
    qwen  = { model = "Qwen/Qwen2.5-7B-Instruct", replicas = 2, max_model_len = 16384 }
    llama = { model = "meta-llama/Llama-3.1-8B-Instruct", revision = "v1", port = 8001, autoscaling = { min = 1, max = 4, target = { metric = "requests_waiting", value = 4 } } }
    small = { model = "Qwen/Qwen2.5-7B-Instruct-AWQ", port = 8002, autoscaling = { min = 0, max = 3 }, replicas = 2 }
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
    condition     = inferstack_inference_cluster.this.aws.max_nodes == 2 + 4 + 3
    error_message = "max_nodes should be the sum of each endpoint's autoscaling.max, or its replicas"
  }
  assert {
    condition     = inferstack_inference_cluster.this.aws.subnet_ids == tolist(var.subnet_ids) && inferstack_inference_cluster.this.aws.instance_type == "g5.xlarge"
    error_message = "subnet_ids and instance_type should pass through"
  }
  assert {
    condition     = inferstack_inference_cluster.this.aws.ami.id == "ami-0123456789abcdef0" && inferstack_inference_cluster.this.aws.ami.ssm_parameter == null
    error_message = "ami_id should become aws.ami.id"
  }
  assert {
    condition     = inferstack_inference_cluster.this.aws.serving_ports == tolist([8000, 8001, 8002]) && inferstack_inference_cluster.this.aws.root_volume_gib == 200
    error_message = "serving_ports should pass through, root_volume_gib default to 200"
  }
  assert {
    condition     = inferstack_inference_cluster.this.aws.capacity == null && inferstack_inference_cluster.this.aws.allowed_cidrs == null
    error_message = "capacity and allowed_cidrs should stay unset (all on demand, the VPC's CIDR) by default"
  }
  assert {
    condition     = inferstack_model_endpoint.this["qwen"].aws.port == 8000 && inferstack_model_endpoint.this["llama"].aws.port == 8001
    error_message = "port should pass through, defaulting to 8000"
  }
  assert {
    condition     = inferstack_model_endpoint.this["qwen"].replicas == 2 && inferstack_model_endpoint.this["qwen"].autoscaling == null
    error_message = "replicas without autoscaling should pass through"
  }
  assert {
    condition     = inferstack_model_endpoint.this["llama"].replicas == 1 && inferstack_model_endpoint.this["llama"].autoscaling.max == 4
    error_message = "with autoscaling and no replicas, replicas should start at autoscaling.min"
  }
  assert {
    condition     = inferstack_model_endpoint.this["llama"].autoscaling.target.metric == "requests_waiting" && inferstack_model_endpoint.this["qwen"].autoscaling == null && inferstack_model_endpoint.this["small"].autoscaling.target == null
    error_message = "autoscaling.target should pass through, unset by default"
  }
  assert {
    condition     = inferstack_model_endpoint.this["small"].replicas == 2 && inferstack_model_endpoint.this["small"].autoscaling.min == 0
    error_message = "replicas should pass through beside autoscaling"
  }
  assert {
    condition     = inferstack_model_endpoint.this["llama"].model.revision == "v1" && inferstack_model_endpoint.this["qwen"].model.revision == "main"
    error_message = "revision should pass through, defaulting to main"
  }
  assert {
    condition     = output.endpoints["qwen"].url == inferstack_model_endpoint.this["qwen"].url
    error_message = "the endpoints output should carry each endpoint's URL"
  }
  assert {
    condition     = output.autoscaling_group_names["llama"] == inferstack_model_endpoint.this["llama"].aws.autoscaling_group_name && output.endpoints["llama"].autoscaling_group_arn == inferstack_model_endpoint.this["llama"].aws.autoscaling_group_arn
    error_message = "the endpoints' Auto Scaling groups should pass through"
  }
  assert {
    condition     = output.gpu == inferstack_inference_cluster.this.aws.gpu && output.cluster_id == "aws/us-east-1/lab"
    error_message = "the cluster's gpu and id should pass through"
  }
  assert {
    condition     = output.security_group_id == inferstack_inference_cluster.this.aws.security_group_id && output.vpc_id == inferstack_inference_cluster.this.aws.vpc_id
    error_message = "the cluster's outputs should pass through"
  }
}

run "max_nodes_is_unset_without_endpoints" {
  command = plan

  variables {
    endpoints = {}
  }
  assert {
    condition     = inferstack_inference_cluster.this.aws.max_nodes == null && length(inferstack_model_endpoint.this) == 0
    error_message = "a cluster without endpoints leaves max_nodes to the provider"
  }
}

run "tags_reach_the_cluster" {
  command = plan

  assert {
    condition     = inferstack_inference_cluster.this.aws.tags == null
    error_message = "without tags the cluster's aws.tags stay unset (the provider's default_tags only)"
  }
}

run "tags_pass_through" {
  command = plan

  variables {
    tags = { cost-center = "ml-42" }
  }
  assert {
    condition     = inferstack_inference_cluster.this.aws.tags["cost-center"] == "ml-42"
    error_message = "tags should become the cluster's aws.tags (its endpoints take them from the cluster)"
  }
}

run "ssm_parameter_ami" {
  command = plan

  variables {
    ami_id            = null
    ami_ssm_parameter = "/inferstack/test/ami-id"
  }
  assert {
    condition     = inferstack_inference_cluster.this.aws.ami.ssm_parameter == "/inferstack/test/ami-id" && inferstack_inference_cluster.this.aws.ami.id == null
    error_message = "ami_ssm_parameter should become aws.ami.ssm_parameter"
  }
}

run "rejects_a_bad_subnet_id" {
  command = plan

  variables {
    subnet_ids = ["subnet-0a1b2c3d4e5f60718", "sn-12345678"]
  }
  expect_failures = [var.subnet_ids]
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

run "rejects_replicas_outside_autoscaling" {
  command = plan

  variables {
    endpoints = { qwen = { model = "Qwen/Qwen2.5-7B-Instruct", replicas = 5, autoscaling = { min = 1, max = 4 } } }
  }
  expect_failures = [var.endpoints]
}

run "rejects_both_ami_sources" {
  command = plan

  variables {
    ami_ssm_parameter = "/inferstack/test/ami-id"
  }
  expect_failures = [inferstack_inference_cluster.this]
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
