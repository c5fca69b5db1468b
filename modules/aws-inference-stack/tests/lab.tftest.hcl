# Applies the module against the local lab (`make test-modules` starts it and passes its network
# with -var-file=aws.tfvars.json: region, subnet_ids, ami_id, instance_type; the provider reads
# AWS_ENDPOINT_URL, AWS_REGION, the AWS credentials and HF_ENDPOINT from the environment): a real
# cluster in moto (security group, IAM role, load balancer, launch template) and an endpoint on it.

variables {
  name = "tf-acc-module-aws"
  # The write-only key (OpenTofu 1.12 has write-only attributes): sent to the nodes, kept out of state.
  api_key_wo         = "module-test-key"
  api_key_wo_version = 1
  tags               = { purpose = "tf-acc-module" }
  endpoints = {
    qwen = { model = "Qwen/Qwen2.5-7B-Instruct", replicas = 1, autoscaling = { min = 1, max = 2 }, max_model_len = 16384 }
  }
}

run "apply_on_the_lab" {
  assert {
    condition     = output.cluster_id == "aws/${var.region}/${var.name}"
    error_message = "the cluster id should be aws/<region>/<name>"
  }
  assert {
    condition     = can(regex("^sg-[0-9a-f]+$", output.security_group_id)) && can(regex("^vpc-[0-9a-f]+$", output.vpc_id))
    error_message = "the cluster should have a security group in the subnets' VPC"
  }
  assert {
    condition     = output.load_balancer_dns != null && output.load_balancer_dns != ""
    error_message = "the cluster should have an internal load balancer"
  }
  assert {
    condition     = output.gpu.count >= 1 && output.gpu.memory_mib > 0
    error_message = "the instance type's GPUs should come from DescribeInstanceTypes"
  }
  assert {
    condition     = output.max_nodes == 2
    error_message = "max_nodes should be the endpoint's autoscaling.max"
  }
  assert {
    condition     = output.endpoints["qwen"].url == "http://${output.load_balancer_dns}:8000/v1"
    error_message = "the endpoint's URL should be its listener on the cluster's load balancer"
  }
  assert {
    condition     = can(regex("^[0-9a-f]{40}$", output.endpoints["qwen"].resolved_revision))
    error_message = "the model should be pinned to a commit sha"
  }
  assert {
    condition     = output.autoscaling_group_names["qwen"] == "inferstack-${var.name}.qwen" && can(regex("^arn:aws:autoscaling:${var.region}:[0-9]{12}:autoScalingGroup:[^:]+:autoScalingGroupName/inferstack-${var.name}[.]qwen$", output.endpoints["qwen"].autoscaling_group_arn))
    error_message = "the endpoint's Auto Scaling group name and ARN should be exported"
  }
}

# An engine change is in place: a new launch template version, rolled out by an instance refresh
# (the lab's proxy carries it out against moto), behind the same listener.
run "engine_change_rolls_in_place" {
  variables {
    endpoints = {
      qwen = { model = "Qwen/Qwen2.5-7B-Instruct", replicas = 1, autoscaling = { min = 1, max = 2 }, max_model_len = 8192 }
    }
  }
  assert {
    condition     = output.endpoints["qwen"].url == "http://${output.load_balancer_dns}:8000/v1" && output.endpoints["qwen"].id == "${output.cluster_id},qwen"
    error_message = "the endpoint should keep its id and its listener"
  }
  assert {
    condition     = inferstack_model_endpoint.this["qwen"].engine.max_model_len == 8192
    error_message = "the new engine settings should be applied"
  }
}
