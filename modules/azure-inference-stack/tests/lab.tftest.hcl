# Applies the module against the local lab's Azure (`make test-modules` starts azurelab, an
# in-memory subscription behind an HTTPS Resource Manager and token endpoint, and passes its
# network with -var-file=azure.tfvars.json: resource_group, location, subnet_id; the provider
# reads ARM_SUBSCRIPTION_ID, ARM_TENANT_ID, ARM_CLIENT_ID, ARM_CLIENT_SECRET,
# ARM_RESOURCE_MANAGER_ENDPOINT, ARM_AUTHORITY_HOST and HF_ENDPOINT from the environment, and
# trusts the lab's CA through SSL_CERT_FILE): a real cluster (network security group, managed
# identity, Key Vault, internal load balancer) and an endpoint on it (a Flexible scale set behind
# a rule of the load balancer).

variables {
  name    = "tf-acc-module-azure"
  vm_size = "Standard_NC24ads_A100_v4"
  # The write-only key (OpenTofu 1.12 has write-only attributes): written to the cluster's Key
  # Vault for the nodes, kept out of state.
  api_key_wo         = "module-test-key"
  api_key_wo_version = 1
  tags               = { purpose = "tf-acc-module" }
  endpoints = {
    qwen = { model = "Qwen/Qwen2.5-7B-Instruct", replicas = 2, max_model_len = 16384 }
  }
}

run "apply_on_the_lab" {
  assert {
    condition     = output.cluster_id == "azure/${lower(split("/", var.subnet_id)[2])}/${var.resource_group}/${var.name}"
    error_message = "the cluster id should be azure/<subscription>/<resource group>/<name>"
  }
  assert {
    condition     = can(cidrhost("${output.private_ip}/32", 0)) && cidrhost("10.20.1.0/24", 0) == cidrhost("${output.private_ip}/24", 0)
    error_message = "the load balancer's frontend should have a private address in the lab's subnet gpu (10.20.1.0/24)"
  }
  assert {
    condition = alltrue([for id in [output.load_balancer_id, output.network_security_group_id, output.identity.id, output.key_vault.id] :
    startswith(lower(id), lower("/subscriptions/${split("/", var.subnet_id)[2]}/resourceGroups/${var.resource_group}/providers/"))])
    error_message = "the cluster's load balancer, security group, identity and vault should be in the resource group"
  }
  assert {
    condition     = startswith(output.key_vault.uri, "https://") && endswith(output.key_vault.uri, "/") && output.identity.client_id != ""
    error_message = "the cluster should have a Key Vault URI and an identity with a client id"
  }
  assert {
    condition     = output.gpu.count == 1 && output.gpu.memory_mib > 0 && output.gpu.vcpus == 24
    error_message = "one node of Standard_NC24ads_A100_v4 should have one GPU and 24 vCPUs, from the resource SKUs"
  }
  assert {
    condition     = output.max_nodes == 2 && alltrue([for q in output.vcpu_quotas : q.needed == 48 && q.limit >= q.needed])
    error_message = "max_nodes should be the endpoint's replicas, and the quotas checked cover 2 x 24 vCPUs"
  }
  assert {
    condition     = output.endpoints["qwen"].url == "http://${output.private_ip}:8000/v1" && output.urls["qwen"] == output.endpoints["qwen"].url
    error_message = "the endpoint's URL should be its rule on the cluster's load balancer"
  }
  assert {
    condition     = output.endpoints["qwen"].id == "${output.cluster_id},qwen"
    error_message = "the endpoint id should be <cluster id>,<name>"
  }
  assert {
    condition     = can(regex("^[0-9a-f]{40}$", output.endpoints["qwen"].resolved_revision))
    error_message = "the model should be pinned to a commit sha"
  }
}

# An engine change is in place: the scale set's model changes and a rolling upgrade replaces the
# nodes in batches, behind the same rule of the load balancer.
run "engine_change_rolls_in_place" {
  variables {
    endpoints = {
      qwen = { model = "Qwen/Qwen2.5-7B-Instruct", replicas = 2, max_model_len = 8192, max_batch_instance_percent = 50 }
    }
  }
  assert {
    condition     = output.endpoints["qwen"].url == "http://${output.private_ip}:8000/v1" && output.endpoints["qwen"].id == "${output.cluster_id},qwen"
    error_message = "the endpoint should keep its id and its rule"
  }
  assert {
    condition     = inferstack_model_endpoint.this["qwen"].engine.max_model_len == 8192 && inferstack_model_endpoint.this["qwen"].azure.max_batch_instance_percent == 50
    error_message = "the new engine settings should be applied"
  }
}
