# Applies the module against the local lab's Kubernetes control plane (`make test-modules` starts
# it and passes -var-file=kubernetes.tfvars.json: namespace, and node_selector picking the lab's
# L40S node; the provider reads KUBECONFIG and HF_ENDPOINT from the environment): a real
# namespace, Deployment, Service, Secret, PodDisruptionBudget and NetworkPolicy on an API server
# whose fake GPU nodes (kwok) run the pods.

variables {
  name = "tf-acc-module-k8s"
  # The write-only key (OpenTofu 1.12 has write-only attributes): written to the endpoint's
  # Secret, kept out of state.
  api_key_wo         = "module-test-key"
  api_key_wo_version = 1
  # The endpoint's NetworkPolicy admits the gateway's namespace (it need not exist).
  gateway_namespaces = ["litellm"]
  endpoints = {
    qwen = { model = "Qwen/Qwen2.5-7B-Instruct", replicas = 1, max_model_len = 16384 }
  }
}

run "apply_on_the_lab" {
  assert {
    condition     = output.cluster_id == "kubernetes/${var.namespace}/${var.name}"
    error_message = "the cluster id should be kubernetes/<namespace>/<name>"
  }
  assert {
    condition     = length(output.nodes) > 0
    error_message = "the lab's GPU nodes matching node_selector should be listed"
  }
  assert {
    condition     = alltrue([for n in output.nodes : n.gpu_product == "NVIDIA-L40S"])
    error_message = "only nodes matching node_selector should be listed (the L40S node, not the lab's A100 node)"
  }
  assert {
    condition     = anytrue([for n in output.nodes : n.gpu_product == "NVIDIA-L40S" && n.gpus == 2 && n.gpu_memory_mib == 46068])
    error_message = "the lab's L40S node should report 2 GPUs of 46068 MiB (allocatable nvidia.com/gpu and GPU feature discovery's labels)"
  }
  assert {
    condition     = output.urls["qwen"] == "http://qwen.${var.namespace}.svc:8000/v1" && output.endpoints["qwen"].url == output.urls["qwen"]
    error_message = "the endpoint's URL should be its Service in the namespace, on port 8000"
  }
  assert {
    condition     = output.endpoints["qwen"].status == "ready"
    error_message = "the endpoint's replica should be ready"
  }
  assert {
    condition     = output.endpoints["qwen"].id == "${output.cluster_id},qwen"
    error_message = "the endpoint's id should be <cluster_id>,<name>"
  }
  assert {
    condition     = can(regex("^[0-9a-f]{40}$", output.endpoints["qwen"].resolved_revision))
    error_message = "the model should be pinned to a commit sha"
  }
  assert {
    condition     = output.served_model_names["qwen"] == "Qwen/Qwen2.5-7B-Instruct"
    error_message = "the served model name should default to the model's id"
  }
}

# An engine change is in place: the Deployment rolls its pod (max_surge 1: the new pod takes the
# node's second GPU before the old one goes), behind the same Service.
run "engine_change_rolls_in_place" {
  variables {
    endpoints = {
      qwen = { model = "Qwen/Qwen2.5-7B-Instruct", replicas = 1, max_model_len = 8192 }
    }
  }
  assert {
    condition     = output.endpoints["qwen"].url == "http://qwen.${var.namespace}.svc:8000/v1" && output.endpoints["qwen"].id == "${output.cluster_id},qwen"
    error_message = "the endpoint should keep its id and its Service"
  }
  assert {
    condition     = inferstack_model_endpoint.this["qwen"].engine.max_model_len == 8192 && output.endpoints["qwen"].status == "ready"
    error_message = "the new engine settings should be applied and the rolled replica ready"
  }
}
