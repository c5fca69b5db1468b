variable "vllm_key" {
  type      = string
  sensitive = true
}

# The cluster the endpoint runs on (see inferstack_inference_cluster); the provider's onprem block
# (or INFERSTACK_SSH_PRIVATE_KEY) holds the SSH key.
resource "inferstack_inference_cluster" "lab" {
  name = "lab"
  onprem = {
    hosts = [
      { name = "gpu-a", address = "10.0.0.11", user = "ops", host_key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIczprg9HpWrgTkY1FC/ZmHOlOxTS3Bwqhf0ZYiHOMtS", labels = { rack = "r1" } },
    ]
  }
}

resource "inferstack_model_endpoint" "qwen" {
  cluster_id = inferstack_inference_cluster.lab.id
  name       = "qwen-7b"
  model      = { id = "Qwen/Qwen2.5-7B-Instruct", revision = "main" } # pinned to the commit at plan time

  engine = {
    image                = "vllm/vllm-openai:v0.22.0"
    tensor_parallel_size = 1
    max_model_len        = 16384
    extra_args           = ["--enforce-eager"]
  }

  replicas      = 2
  node_selector = { rack = "r1" } # host labels of the cluster
  api_key       = var.vllm_key
  rollout       = { max_unavailable = 1 }

  timeouts = {
    create = "30m"
    update = "30m"
  }
}

output "qwen_urls" {
  value = inferstack_model_endpoint.qwen.urls # one OpenAI base URL per replica
}
