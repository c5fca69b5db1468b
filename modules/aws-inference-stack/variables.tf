variable "name" {
  description = "Name of the cluster: 1 to 63 lower-case letters, digits and '-'. It names the cluster's AWS objects (security group, IAM role, load balancer); changing it replaces the cluster and its endpoints."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$", var.name))
    error_message = "name must be 1 to 63 lower-case letters, digits and '-', starting and ending with a letter or digit."
  }
}

variable "region" {
  description = "AWS region of the cluster. Null: the provider's aws.region, then AWS_REGION. Changing it replaces the cluster."
  type        = string
  default     = null

  validation {
    condition     = var.region == null || can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]+$", var.region))
    error_message = "region must be an AWS region name such as us-east-1 or eu-central-1 (or null for the provider's)."
  }
}

variable "subnet_ids" {
  description = "Private subnets for the nodes and the internal load balancer, all in one VPC (the VPC follows from them); one per Availability Zone nodes may run in."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) > 0
    error_message = "subnet_ids must list at least one private subnet."
  }
  validation {
    condition     = alltrue([for s in var.subnet_ids : can(regex("^subnet-[0-9a-f]{8,17}$", s))])
    error_message = "every subnet_ids entry must be a subnet id (subnet- and 8 to 17 hex digits); got: ${join(", ", [for s in var.subnet_ids : jsonencode(s) if !can(regex("^subnet-[0-9a-f]{8,17}$", s))])}."
  }
  validation {
    condition     = length(distinct(var.subnet_ids)) == length(var.subnet_ids)
    error_message = "subnet_ids must not repeat a subnet."
  }
}

variable "instance_type" {
  description = "GPU instance type of the nodes, offered in every subnet's Availability Zone, e.g. g6e.12xlarge (see data.inferstack_deployment_plan). A change makes a new launch template version; endpoints roll onto it at their next apply."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]*\\.[a-z0-9-]+$", var.instance_type))
    error_message = "instance_type must be an EC2 instance type such as g5.xlarge or g6e.12xlarge."
  }
}

variable "ami_id" {
  description = "AMI of the nodes (ami-...). It needs the NVIDIA driver, Docker with the NVIDIA container toolkit, and the AWS CLI. Set at most one of ami_id and ami_ssm_parameter; neither: the AWS Deep Learning Base OSS NVIDIA driver GPU AMI (Ubuntu 22.04), through its public SSM parameter."
  type        = string
  default     = null

  validation {
    condition     = var.ami_id == null || can(regex("^ami-[0-9a-f]{8,17}$", var.ami_id))
    error_message = "ami_id must be an AMI id (ami- and 8 to 17 hex digits)."
  }
}

variable "ami_ssm_parameter" {
  description = "SSM parameter whose value is the nodes' AMI id, resolved at plan time (e.g. a Deep Learning AMI public parameter). Set at most one of ami_id and ami_ssm_parameter."
  type        = string
  default     = null

  validation {
    condition     = var.ami_ssm_parameter == null || can(regex("^/.+", var.ami_ssm_parameter))
    error_message = "ami_ssm_parameter must be an SSM parameter name starting with '/', e.g. /aws/service/deeplearning/ami/x86_64/base-oss-nvidia-driver-gpu-ubuntu-22.04/latest/ami-id."
  }
}

variable "root_volume_gib" {
  description = "Size in GiB of each node's encrypted gp3 root volume, which also holds the Hugging Face cache: make it larger than the models' weights."
  type        = number
  default     = 200

  validation {
    condition     = var.root_volume_gib >= 8 && var.root_volume_gib <= 16384 && floor(var.root_volume_gib) == var.root_volume_gib
    error_message = "root_volume_gib must be a whole number of GiB from 8 to 16384."
  }
}

variable "capacity" {
  description = "How nodes are bought: on_demand_base nodes on demand, then spot_percentage percent of the rest on Spot; capacity_reservation_id (cr-...) targets an On-Demand Capacity Reservation. Null: all on demand."
  type = object({
    on_demand_base          = optional(number, 0)
    spot_percentage         = optional(number, 0)
    capacity_reservation_id = optional(string)
  })
  default = null

  validation {
    condition     = var.capacity == null ? true : var.capacity.on_demand_base >= 0 && floor(var.capacity.on_demand_base) == var.capacity.on_demand_base
    error_message = "capacity.on_demand_base must be a whole number of nodes, 0 or more."
  }
  validation {
    condition     = var.capacity == null ? true : var.capacity.spot_percentage >= 0 && var.capacity.spot_percentage <= 100
    error_message = "capacity.spot_percentage must be from 0 to 100."
  }
  validation {
    condition     = var.capacity == null ? true : var.capacity.capacity_reservation_id == null || can(regex("^cr-[0-9a-f]{8,17}$", var.capacity.capacity_reservation_id))
    error_message = "capacity.capacity_reservation_id must be a capacity reservation id (cr-...)."
  }
}

variable "allowed_cidrs" {
  description = "CIDRs that may reach the serving ports through the internal load balancer (which keeps client addresses). Null: the VPC's CIDR only."
  type        = list(string)
  default     = null

  validation {
    condition     = var.allowed_cidrs == null ? true : length(var.allowed_cidrs) > 0
    error_message = "allowed_cidrs must list at least one CIDR, or be null for the VPC's CIDR."
  }
  validation {
    condition     = alltrue([for c in var.allowed_cidrs == null ? [] : var.allowed_cidrs : can(cidrhost(c, 0))])
    error_message = "every allowed_cidrs entry must be a CIDR block such as 10.0.0.0/16."
  }
}

variable "tags" {
  description = "Tags on every AWS object of the cluster and of its endpoints (security groups, role, instance profile, load balancer, launch templates, Auto Scaling groups and their instances, target groups, secrets), over the provider's aws.default_tags. Keys starting with aws: or inferstack: are refused."
  type        = map(string)
  default     = null
}

variable "serving_ports" {
  description = "TCP ports endpoints may listen on: the security group opens exactly these, and each endpoint takes one of them (its port) for its listener on the load balancer."
  type        = list(number)
  default     = [8000]

  validation {
    condition     = length(var.serving_ports) > 0 && length(distinct(var.serving_ports)) == length(var.serving_ports)
    error_message = "serving_ports must list at least one port, each once."
  }
  validation {
    condition     = alltrue([for p in var.serving_ports : p >= 1024 && p <= 65535 && floor(p) == p])
    error_message = "serving_ports must be whole numbers from 1024 to 65535."
  }
}

variable "endpoints" {
  description = "vLLM endpoints to run on the cluster, by name: the Hugging Face model (pinned to the commit its revision resolves to), engine settings, replicas (an Auto Scaling group's desired count) or autoscaling bounds (with an optional target on a serving signal: requests_waiting, requests_running or kv_cache_usage per replica), and the load balancer port (one of serving_ports, one endpoint per port)."
  type = map(object({
    model                      = string
    revision                   = optional(string, "main")
    served_model_name          = optional(string)
    image                      = optional(string)
    tensor_parallel_size       = optional(number, 1)
    max_model_len              = optional(number)
    gpu_memory_utilization     = optional(number)
    quantization               = optional(string)
    kv_cache_dtype             = optional(string)
    max_num_seqs               = optional(number)
    extra_args                 = optional(list(string))
    replicas                   = optional(number)
    autoscaling                = optional(object({ min = number, max = number, target = optional(object({ metric = string, value = number })) }))
    port                       = optional(number, 8000)
    health_check_grace_seconds = optional(number)
    min_healthy_percentage     = optional(number)
  }))
  default = {}

  validation {
    condition     = alltrue([for k, e in var.endpoints : can(regex("^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$", k))])
    error_message = "endpoint names must be 1 to 40 lower-case letters, digits and '-', starting and ending with a letter or digit; got: ${join(", ", [for k, e in var.endpoints : jsonencode(k) if !can(regex("^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$", k))])}."
  }
  validation {
    condition     = alltrue([for e in values(var.endpoints) : e.tensor_parallel_size >= 1 && (e.replicas == null ? true : e.replicas >= 1)])
    error_message = "replicas and tensor_parallel_size must be at least 1."
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
    condition     = alltrue([for e in values(var.endpoints) : e.port >= 1024 && e.port <= 65535 && floor(e.port) == e.port])
    error_message = "every endpoint's port must be a whole number from 1024 to 65535 (and one of serving_ports)."
  }
  validation {
    condition     = length(distinct([for e in values(var.endpoints) : e.port])) == length(var.endpoints)
    error_message = "each endpoint needs a port of its own (it gets its own listener on the load balancer; port defaults to 8000): ${join("; ", [for p in distinct([for e in values(var.endpoints) : e.port]) : format("%s share port %d", join(", ", [for k, e in var.endpoints : k if e.port == p]), p) if length([for e in values(var.endpoints) : e if e.port == p]) > 1])}."
  }
  validation {
    condition     = alltrue([for e in values(var.endpoints) : e.health_check_grace_seconds == null ? true : e.health_check_grace_seconds >= 60 && e.health_check_grace_seconds <= 7200])
    error_message = "health_check_grace_seconds must be from 60 to 7200."
  }
  validation {
    condition     = alltrue([for e in values(var.endpoints) : e.min_healthy_percentage == null ? true : e.min_healthy_percentage >= 0 && e.min_healthy_percentage <= 100])
    error_message = "min_healthy_percentage must be from 0 to 100."
  }
}

variable "api_key" {
  description = "API key every vLLM endpoint requires from clients (sent as a Bearer token). Kept in state (sensitive). On Terraform or OpenTofu 1.11 and later prefer api_key_wo. Set exactly one of api_key and api_key_wo."
  type        = string
  default     = null
  sensitive   = true

  validation {
    condition     = var.api_key == null ? true : length(var.api_key) > 0
    error_message = "api_key must not be empty: vLLM always runs with an API key."
  }
}

variable "api_key_wo" {
  description = "Write-only API key every vLLM endpoint requires from clients: sent to the nodes, never stored in plan or state. Needs Terraform or OpenTofu 1.11 or later; set api_key_wo_version with it."
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
