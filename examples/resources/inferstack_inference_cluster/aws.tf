# GPU capacity on AWS: the provider's aws block (or the standard AWS environment: AWS_REGION,
# AWS_PROFILE, web identity in Terraform Cloud) gives region and credentials.
variable "private_subnet_ids" {
  type        = list(string)
  description = "Private subnets of one VPC, one per Availability Zone the nodes may use."
  default     = ["subnet-0a1b2c3d4e5f60718", "subnet-0b2c3d4e5f6071829"]
}

resource "inferstack_inference_cluster" "prod" {
  name = "llm-prod"

  aws = {
    region          = "us-east-1"
    subnet_ids      = var.private_subnet_ids
    instance_type   = "g6e.12xlarge" # 4 x L40S 48 GiB
    ami             = { ssm_parameter = "/aws/service/deeplearning/ami/x86_64/base-oss-nvidia-driver-gpu-ubuntu-22.04/latest/ami-id" }
    root_volume_gib = 300 # gp3, encrypted; holds the Hugging Face cache
    capacity        = { on_demand_base = 1, spot_percentage = 50 }
    max_nodes       = 4      # the vCPU quota check covers this many nodes
    serving_ports   = [8000] # one listener per endpoint on the internal load balancer
    allowed_cidrs   = null   # default: the VPC's CIDR only
    # Over the provider's aws.default_tags, on the endpoints' objects too.
    tags = { cost-center = "ml-42" }
  }

  timeouts = {
    create = "20m"
  }
}

output "prod_load_balancer" {
  value = inferstack_inference_cluster.prod.aws.load_balancer_dns
}

output "prod_gpu" {
  value = inferstack_inference_cluster.prod.aws.gpu # { model = "L40S", count = 4, memory_mib = 46068 }
}
