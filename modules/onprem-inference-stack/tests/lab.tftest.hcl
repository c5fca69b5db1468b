# Applies the module against the local lab (`make test-modules` starts it and passes its hosts
# with -var-file; the provider reads INFERSTACK_SSH_PRIVATE_KEY and HF_ENDPOINT from the
# environment): a real cluster of SSH GPU hosts and a vLLM endpoint (the lab's stand-in) on it.

variables {
  name = "tf-acc-module"
  # The write-only key (OpenTofu 1.12 has write-only attributes): sent to the nodes, kept out of state.
  api_key_wo         = "module-test-key"
  api_key_wo_version = 1
  endpoints = {
    qwen = { model = "Qwen/Qwen2.5-7B-Instruct", replicas = 2, max_model_len = 16384 }
  }
}

run "apply_on_the_lab" {
  assert {
    condition     = length(output.nodes) == length(var.hosts)
    error_message = "every lab host should report its GPUs"
  }
  assert {
    condition     = alltrue([for n in output.nodes : length(n.gpus) > 0 && n.runtime_ok])
    error_message = "every host should have GPUs and a working container runtime"
  }
  assert {
    condition     = length(output.endpoints["qwen"].urls) == 2
    error_message = "two replicas should give two URLs"
  }
  assert {
    condition     = can(regex("^[0-9a-f]{40}$", output.endpoints["qwen"].resolved_revision))
    error_message = "the model should be pinned to a commit sha"
  }
}
