# An on-prem cluster is imported by its id, which describes its hosts (onprem/<name>/<descriptor>):
# `terraform state show inferstack_inference_cluster.lab` (or an output of the id) gives it.
terraform import inferstack_inference_cluster.lab 'onprem/lab/eyJuIjoibGFiIiwiciI6ImRvY2tlciIsImgiOlt7Im4iOiJncHUtYSIsImEiOiIxMC4wLjAuMTEiLCJwIjoyMiwidSI6Im9wcyJ9XX0'

# An AWS cluster is imported by aws/<region>/<name> (or <region>/<name>, or <name> in the
# provider's region); the read fills in its aws block from AWS.
terraform import inferstack_inference_cluster.prod aws/us-east-1/llm-prod

# A Kubernetes cluster is imported by kubernetes/<namespace>/<name>; its settings are read back from
# the ConfigMap inferstack-cluster-<name> in the namespace.
terraform import inferstack_inference_cluster.k8s kubernetes/inference/gpu-pool

# An Azure cluster is imported by azure/<subscription>/<resource group>/<name> (or
# <resource group>/<name> in the provider's subscription); its settings are read back from the
# tags of its load balancer.
terraform import inferstack_inference_cluster.eu azure/00000000-0000-0000-0000-000000000000/rg-llm/llm-eu
