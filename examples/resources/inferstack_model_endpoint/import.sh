# The import ID, which is also the endpoint's id, is the cluster's id and the endpoint's name,
# separated by a comma (a comma never occurs in a cluster id). The API key cannot be imported:
# keep it in the configuration.
terraform import inferstack_model_endpoint.qwen "$(terraform output -raw cluster_id),qwen-7b"

# An endpoint on an AWS cluster imports the same way; its settings are read back from the spec in
# its launch template's user data.
terraform import inferstack_model_endpoint.llama 'aws/us-east-1/llm-prod,llama-8b'

# On a Kubernetes cluster the settings are read back from the Deployment's pod template.
terraform import inferstack_model_endpoint.qwen_k8s 'kubernetes/inference/gpu-pool,qwen-7b'

# On an Azure cluster the settings are read back from the spec in the scale set's user data.
terraform import inferstack_model_endpoint.qwen_azure 'azure/00000000-0000-0000-0000-000000000000/rg-llm/llm-eu,qwen-7b'
