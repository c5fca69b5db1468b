# The import ID, which is also the endpoint's id, is the cluster's id and the endpoint's name,
# separated by a comma (a comma never occurs in a cluster id). The API key cannot be imported:
# keep it in the configuration.
terraform import inferstack_model_endpoint.qwen "$(terraform output -raw cluster_id),qwen-7b"
