# GPU nodes of an existing Kubernetes cluster: the provider's kubernetes block (or KUBECONFIG,
# or the in-cluster service account) says how to reach the API server.
resource "inferstack_inference_cluster" "k8s" {
  name = "gpu-pool"

  kubernetes = {
    namespace     = "inference" # created if missing, labelled as inferstack's
    node_selector = { "nvidia.com/gpu.product" = "NVIDIA-L40S" }
    tolerations   = [{ key = "nvidia.com/gpu", operator = "Exists", effect = "NoSchedule" }]
    runtime_class = null                                     # e.g. "nvidia" where it is not the default
    model_cache   = { storage_class = null, size_gib = 500 } # optional ReadWriteMany Hugging Face cache
  }
}

output "k8s_gpu_nodes" {
  value = inferstack_inference_cluster.k8s.kubernetes.nodes # [{ name, gpu_product, gpus, gpu_memory_mib }]
}
