variable "name" {
  description = "Name of the cluster: 1 to 63 lower-case letters, digits and '-'. With namespace it makes the cluster's id (kubernetes/<namespace>/<name>) and names the ConfigMap its settings are kept in (inferstack-cluster-<name>); changing it replaces the cluster and its endpoints."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$", var.name))
    error_message = "name must be 1 to 63 lower-case letters, digits and '-', starting and ending with a letter or digit."
  }
}

variable "namespace" {
  description = "Namespace the endpoints run in: created if missing (and then removed with the cluster), labelled app.kubernetes.io/managed-by = inferstack. Changing it replaces the cluster and its endpoints."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$", var.namespace))
    error_message = "namespace must be a Kubernetes namespace name: 1 to 63 lower-case letters, digits and '-', starting and ending with a letter or digit."
  }
}

variable "node_selector" {
  description = "Node labels the endpoints' pods must match, e.g. { \"nvidia.com/gpu.product\" = \"NVIDIA-L40S\" } (GPU feature discovery's labels). Null: any node with allocatable nvidia.com/gpu. The nodes output lists the schedulable nodes that match."
  type        = map(string)
  default     = null

  validation {
    condition     = alltrue([for k, v in var.node_selector == null ? {} : var.node_selector : can(regex("^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$", k))])
    error_message = "every node_selector key must be a Kubernetes label key such as nvidia.com/gpu.product (an optional DNS prefix and '/', then 1 to 63 letters, digits, '-', '_' and '.')."
  }
  validation {
    condition     = alltrue([for k, v in var.node_selector == null ? {} : var.node_selector : can(regex("^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$", v))])
    error_message = "every node_selector value must be a Kubernetes label value: at most 63 letters, digits, '-', '_' and '.', starting and ending with a letter or digit (e.g. NVIDIA-L40S)."
  }
}

variable "tolerations" {
  description = "Tolerations of the endpoints' pods, e.g. [{ key = \"nvidia.com/gpu\", operator = \"Exists\", effect = \"NoSchedule\" }] for the taint GPU node pools carry. operator: Equal (default) or Exists; effect: NoSchedule, PreferNoSchedule, NoExecute or null for all; toleration_seconds only with NoExecute."
  type = list(object({
    key                = optional(string)
    operator           = optional(string)
    value              = optional(string)
    effect             = optional(string)
    toleration_seconds = optional(number)
  }))
  default = null

  validation {
    condition     = alltrue([for t in var.tolerations == null ? [] : var.tolerations : t.operator == null ? true : contains(["Equal", "Exists"], t.operator)])
    error_message = "a toleration's operator must be Equal or Exists (null: Equal)."
  }
  validation {
    condition     = alltrue([for t in var.tolerations == null ? [] : var.tolerations : t.effect == null ? true : contains(["NoSchedule", "PreferNoSchedule", "NoExecute"], t.effect)])
    error_message = "a toleration's effect must be NoSchedule, PreferNoSchedule or NoExecute (null: every effect)."
  }
  validation {
    condition     = alltrue([for t in var.tolerations == null ? [] : var.tolerations : (t.key == null ? true : t.key == "") ? t.operator == "Exists" : true])
    error_message = "a toleration without a key tolerates every taint and needs operator = \"Exists\"."
  }
  validation {
    condition     = alltrue([for t in var.tolerations == null ? [] : var.tolerations : t.operator == "Exists" ? (t.value == null ? true : t.value == "") : true])
    error_message = "a toleration with operator = \"Exists\" matches any value: leave its value unset."
  }
  validation {
    condition     = alltrue([for t in var.tolerations == null ? [] : var.tolerations : t.toleration_seconds == null ? true : t.effect == "NoExecute" && t.toleration_seconds >= 0 && floor(t.toleration_seconds) == t.toleration_seconds])
    error_message = "toleration_seconds applies to effect = \"NoExecute\" only, and must be a whole number of seconds, 0 or more."
  }
}

variable "runtime_class" {
  description = "RuntimeClass of the endpoints' pods, e.g. nvidia where the GPU Operator installs one and it is not the cluster's default. Null: the default."
  type        = string
  default     = null

  validation {
    condition     = var.runtime_class == null ? true : can(regex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$", var.runtime_class)) && length(var.runtime_class) <= 253
    error_message = "runtime_class must be a RuntimeClass name: lower-case letters, digits, '-' and '.'."
  }
}

variable "model_cache" {
  description = "A ReadWriteMany volume of size_gib GiB (storage_class: a class that offers ReadWriteMany; null: the cluster's default class) shared by every endpoint's pods as the Hugging Face cache, so a replica starting on another node does not download the weights again: make it larger than the models' weights. Null: each pod downloads into an emptyDir of its own."
  type = object({
    storage_class = optional(string)
    size_gib      = number
  })
  default = null

  validation {
    condition     = var.model_cache == null ? true : var.model_cache.size_gib >= 1 && floor(var.model_cache.size_gib) == var.model_cache.size_gib
    error_message = "model_cache.size_gib must be a whole number of GiB, 1 or more."
  }
}

variable "gateway_namespaces" {
  description = "Namespaces whose pods may reach every endpoint (the LiteLLM gateway's): each endpoint's NetworkPolicy admits them, unless the endpoint sets allowed_namespaces of its own. Null, with no allowed_namespaces or allowed_cidrs on an endpoint: only pods of namespace itself may reach it."
  type        = list(string)
  default     = null

  validation {
    condition     = alltrue([for n in var.gateway_namespaces == null ? [] : var.gateway_namespaces : can(regex("^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$", n))])
    error_message = "every gateway_namespaces entry must be a Kubernetes namespace name (1 to 63 lower-case letters, digits and '-')."
  }
}

variable "endpoints" {
  description = "vLLM endpoints to run on the cluster, by name (the name of its Deployment and Service, so its URL is http://<name>.<namespace>.svc:<port>/v1): the Hugging Face model (pinned to the commit its revision resolves to), engine settings (tensor_parallel_size is also the nvidia.com/gpu each pod asks for), replicas or autoscaling bounds (a target on a serving signal, requests_waiting, requests_running or kv_cache_usage per replica, makes a HorizontalPodAutoscaler, which needs a custom-metrics adapter serving vLLM's metrics), the rolling update (max_unavailable, max_surge), the Service (port, service_type, service_annotations), who may connect (allowed_namespaces, default gateway_namespaces; allowed_cidrs), startup_seconds for loading the weights and shared_memory_mib for /dev/shm."
  type = map(object({
    model                  = string
    revision               = optional(string, "main")
    served_model_name      = optional(string)
    image                  = optional(string)
    tensor_parallel_size   = optional(number, 1)
    max_model_len          = optional(number)
    gpu_memory_utilization = optional(number)
    quantization           = optional(string)
    kv_cache_dtype         = optional(string)
    max_num_seqs           = optional(number)
    extra_args             = optional(list(string))
    replicas               = optional(number)
    autoscaling            = optional(object({ min = number, max = number, target = optional(object({ metric = string, value = number })) }))
    max_unavailable        = optional(number, 1)
    max_surge              = optional(number)
    port                   = optional(number, 8000)
    service_type           = optional(string)
    service_annotations    = optional(map(string))
    allowed_namespaces     = optional(list(string))
    allowed_cidrs          = optional(list(string))
    startup_seconds        = optional(number)
    shared_memory_mib      = optional(number)
  }))
  default = {}

  # Service names are DNS-1035 labels: they start with a letter.
  validation {
    condition     = alltrue([for k, e in var.endpoints : can(regex("^[a-z]([a-z0-9-]{0,38}[a-z0-9])?$", k))])
    error_message = "endpoint names must be 1 to 40 lower-case letters, digits and '-', starting with a letter (they name a Service) and ending with a letter or digit; got: ${join(", ", [for k, e in var.endpoints : jsonencode(k) if !can(regex("^[a-z]([a-z0-9-]{0,38}[a-z0-9])?$", k))])}."
  }
  validation {
    condition     = alltrue([for e in values(var.endpoints) : e.tensor_parallel_size >= 1 && floor(e.tensor_parallel_size) == e.tensor_parallel_size && (e.replicas == null ? true : e.replicas >= 1 && floor(e.replicas) == e.replicas)])
    error_message = "replicas and tensor_parallel_size must be whole numbers, at least 1."
  }
  validation {
    condition     = alltrue([for e in values(var.endpoints) : e.gpu_memory_utilization == null ? true : e.gpu_memory_utilization > 0 && e.gpu_memory_utilization <= 1])
    error_message = "gpu_memory_utilization is the share of each GPU's memory vLLM may take: more than 0 and at most 1 (null: vLLM's default, 0.92)."
  }
  validation {
    condition = alltrue([for e in values(var.endpoints) : e.autoscaling == null ? true : (
      e.autoscaling.min >= 0 && e.autoscaling.max >= 1 && e.autoscaling.min <= e.autoscaling.max &&
      (e.replicas == null ? true : e.replicas >= e.autoscaling.min && e.replicas <= e.autoscaling.max)
    )])
    error_message = "autoscaling needs 0 <= min <= max and max >= 1, and replicas (when set) between min and max; endpoints at fault: ${join(", ", [for k, e in var.endpoints : k if e.autoscaling == null ? false : !(e.autoscaling.min >= 0 && e.autoscaling.max >= 1 && e.autoscaling.min <= e.autoscaling.max && (e.replicas == null ? true : e.replicas >= e.autoscaling.min && e.replicas <= e.autoscaling.max))])}."
  }
  validation {
    condition     = alltrue([for e in values(var.endpoints) : e.autoscaling == null ? true : e.autoscaling.target == null ? true : e.autoscaling.min >= 1])
    error_message = "autoscaling with a target makes a HorizontalPodAutoscaler, whose min must be at least 1 (scaling to zero needs Kubernetes' HPAScaleToZero alpha feature gate); endpoints at fault: ${join(", ", [for k, e in var.endpoints : k if e.autoscaling == null ? false : e.autoscaling.target == null ? false : e.autoscaling.min < 1])}."
  }
  validation {
    condition     = alltrue([for e in values(var.endpoints) : e.max_unavailable >= 1 && floor(e.max_unavailable) == e.max_unavailable && (e.max_surge == null ? true : e.max_surge >= 0 && floor(e.max_surge) == e.max_surge)])
    error_message = "max_unavailable must be a whole number, at least 1, and max_surge (null: 1) a whole number, 0 or more (0 where the pool has no spare GPU for an extra pod during a rollout)."
  }
  validation {
    condition     = alltrue([for e in values(var.endpoints) : e.port >= 1 && e.port <= 65535 && floor(e.port) == e.port])
    error_message = "every endpoint's port (its Service's) must be a whole number from 1 to 65535."
  }
  validation {
    condition     = alltrue([for e in values(var.endpoints) : e.service_type == null ? true : contains(["ClusterIP", "LoadBalancer"], e.service_type)])
    error_message = "service_type must be ClusterIP or LoadBalancer (null: ClusterIP); with LoadBalancer, set the cloud's internal load balancer annotation in service_annotations."
  }
  validation {
    condition     = alltrue([for e in values(var.endpoints) : alltrue([for n in e.allowed_namespaces == null ? [] : e.allowed_namespaces : can(regex("^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$", n))])])
    error_message = "every allowed_namespaces entry must be a Kubernetes namespace name (1 to 63 lower-case letters, digits and '-')."
  }
  validation {
    condition     = alltrue([for e in values(var.endpoints) : alltrue([for c in e.allowed_cidrs == null ? [] : e.allowed_cidrs : can(cidrhost(c, 0))])])
    error_message = "every allowed_cidrs entry must be a CIDR block with its host bits zero, such as 10.0.0.0/16."
  }
  validation {
    condition     = alltrue([for e in values(var.endpoints) : e.startup_seconds == null ? true : e.startup_seconds >= 60 && e.startup_seconds <= 86400 && floor(e.startup_seconds) == e.startup_seconds])
    error_message = "startup_seconds (how long a pod may take to download and load the weights) must be a whole number from 60 to 86400 (null: the create timeout less a margin)."
  }
  validation {
    condition     = alltrue([for e in values(var.endpoints) : e.shared_memory_mib == null ? true : e.shared_memory_mib >= 64 && e.shared_memory_mib <= 1048576 && floor(e.shared_memory_mib) == e.shared_memory_mib])
    error_message = "shared_memory_mib (the size of /dev/shm) must be a whole number from 64 to 1048576 (null: 8192)."
  }
}

variable "api_key" {
  description = "API key every vLLM endpoint requires from clients (sent as a Bearer token). Kept in state (sensitive) and in each endpoint's Secret. On Terraform or OpenTofu 1.11 and later prefer api_key_wo. Set exactly one of api_key and api_key_wo."
  type        = string
  default     = null
  sensitive   = true

  validation {
    condition     = var.api_key == null ? true : length(var.api_key) > 0
    error_message = "api_key must not be empty: vLLM always runs with an API key."
  }
}

variable "api_key_wo" {
  description = "Write-only API key every vLLM endpoint requires from clients: written to each endpoint's Secret, never stored in plan or state. Needs Terraform or OpenTofu 1.11 or later; set api_key_wo_version with it."
  type        = string
  default     = null
  sensitive   = true

  validation {
    condition     = var.api_key_wo == null ? true : length(var.api_key_wo) > 0
    error_message = "api_key_wo must not be empty: vLLM always runs with an API key."
  }
}

variable "api_key_wo_version" {
  description = "Any number, changed whenever api_key_wo changes: the change sends the new key to every endpoint (a rolling restart). Required with api_key_wo."
  type        = number
  default     = null
}
