# An endpoint on a Kubernetes cluster (see inferstack_inference_cluster): a Deployment of vLLM
# pods the cluster's scheduler places by nvidia.com/gpu, a Service, a PodDisruptionBudget and a
# NetworkPolicy that admits only the gateway's namespace.
variable "k8s_cluster_id" {
  type        = string
  description = "The id of a Kubernetes inferstack_inference_cluster, e.g. inferstack_inference_cluster.k8s.id."
  default     = "kubernetes/inference/gpu-pool"
}

resource "inferstack_model_endpoint" "qwen_k8s" {
  cluster_id = var.k8s_cluster_id
  name       = "qwen-7b"
  model      = { id = "Qwen/Qwen2.5-7B-Instruct", revision = "main" } # pinned to the commit at plan time

  engine = {
    tensor_parallel_size = 1 # nvidia.com/gpu per pod
    max_model_len        = 32768
  }

  replicas = 2
  rollout  = { max_unavailable = 1 } # the Deployment's maxUnavailable
  api_key  = var.vllm_key            # in a Secret, passed as env, never as an argument

  kubernetes = {
    port               = 8000
    allowed_namespaces = ["litellm"] # the gateway's namespace; nothing else may connect
    max_surge          = 0           # no spare GPU in the pool: replace pods one at a time
    startup_seconds    = 1800        # download + load of the weights
  }
}

output "qwen_k8s_url" {
  value = inferstack_model_endpoint.qwen_k8s.url # http://qwen-7b.inference.svc:8000/v1
}
