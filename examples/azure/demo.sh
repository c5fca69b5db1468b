#!/usr/bin/env bash
# Applies (or destroys) examples/azure against the local lab's in-memory Azure (azurelab: Azure
# Resource Manager and a token endpoint over HTTPS on loopback) with the pinned OpenTofu and the
# provider from the local filesystem mirror. Called by `make demo` / `make demo-down` once
# azurelab has written LAB_DIR/azure.json.
#   demo.sh TOFU LAB_DIR MIRROR_DIR [destroy]
set -euo pipefail
tofu=$1 lab=$2 mirror=$3 action=${4:-apply}
here=$(cd "$(dirname "$0")" && pwd)
work=$lab/azure-example
az=$lab/azure.json

# Run from a copy, so the example folder stays clean and the lock file always matches the
# provider just built into the mirror.
mkdir -p "$work"
cp "$here"/*.tf "$work"/
rm -f "$work/.terraform.lock.hcl"
cat >"$lab/tofurc-azure" <<RC
provider_installation {
  filesystem_mirror {
    path    = "$mirror"
    include = ["registry.opentofu.org/inferstack/*", "registry.terraform.io/inferstack/*"]
  }
  direct {
    exclude = ["registry.opentofu.org/inferstack/*", "registry.terraform.io/inferstack/*"]
  }
}
RC
export TF_CLI_CONFIG_FILE=$lab/tofurc-azure TF_IN_AUTOMATION=1
# Everything the provider needs comes from the environment, as azurerm reads it: the lab's
# service principal, its Resource Manager and authority (a custom cloud), and its CA (Go, and so
# OpenTofu and the provider, trust the certificates in SSL_CERT_FILE). The Hub is the lab's stand-in.
export ARM_SUBSCRIPTION_ID ARM_TENANT_ID ARM_CLIENT_ID ARM_CLIENT_SECRET ARM_RESOURCE_MANAGER_ENDPOINT ARM_AUTHORITY_HOST SSL_CERT_FILE HF_ENDPOINT
ARM_SUBSCRIPTION_ID=$(jq -r .subscription_id "$az")
ARM_TENANT_ID=$(jq -r .tenant_id "$az")
ARM_CLIENT_ID=$(jq -r .client_id "$az")
ARM_CLIENT_SECRET=$(jq -r .client_secret "$az")
ARM_RESOURCE_MANAGER_ENDPOINT=$(jq -r .arm_url "$az")
ARM_AUTHORITY_HOST=$(jq -r .authority_host "$az")
SSL_CERT_FILE=$(jq -r .ca_file "$az")
HF_ENDPOINT=$(jq -r .hf_endpoint "$lab/lab.json")
# The lab's LiteLLM gateway stand-in, for the route to the endpoint (its key comes from the
# cluster's Key Vault, whose data plane the lab serves).
export LITELLM_URL LITELLM_MASTER_KEY TF_VAR_route_name=azure-chat
LITELLM_URL=$(jq -r .gateway_url "$lab/lab.json")
LITELLM_MASTER_KEY=$(cat "$lab/litellm_master_key")
# The lab's network: an existing resource group and subnet, as a user's platform team gives them.
export TF_VAR_resource_group TF_VAR_location TF_VAR_subnet_id
TF_VAR_resource_group=$(jq -r .resource_group "$az")
TF_VAR_location=$(jq -r .location "$az")
TF_VAR_subnet_id=$(jq -r .subnet_id "$az")
keyfile=$lab/vllm_api_key
[ -s "$keyfile" ] || (umask 077 && head -c 24 /dev/urandom | base64 | tr -d '/+=' >"$keyfile")
export TF_VAR_vllm_api_key
TF_VAR_vllm_api_key=$(cat "$keyfile")

"$tofu" -chdir="$work" init -input=false >"$work/init.log" 2>&1 || { cat "$work/init.log"; exit 1; }
if [ "$action" = destroy ]; then
  "$tofu" -chdir="$work" destroy -input=false -auto-approve -no-color >"$work/destroy.log" 2>&1 \
    || { cat "$work/destroy.log"; exit 1; }
  echo "examples/azure destroyed"
  exit 0
fi

echo
echo "== tofu apply examples/azure (the lab's in-memory Azure at $ARM_RESOURCE_MANAGER_ENDPOINT)"
start=$SECONDS
if ! "$tofu" -chdir="$work" apply -input=false -auto-approve -no-color >"$work/apply.log" 2>&1; then
  cat "$work/apply.log"
  exit 1
fi
grep -E '^(Apply complete|Warning)' "$work/apply.log" || true
echo "  ($((SECONDS - start)) s)"
echo
echo "== An inference cluster on Azure (resource group $TF_VAR_resource_group, $TF_VAR_location)"
"$tofu" -chdir="$work" output -json cluster | jq -r '
  "cluster \(.id): \(.gpu.count) x \(.gpu.model) (\((.gpu.memory_mib // 0) / 1024 | floor) GiB), \(.gpu.vcpus) vCPUs a node",
  "  load balancer     \(.private_ip) (internal, no public IP)",
  "  Key Vault         \(.key_vault_uri)",
  "  vCPU quotas checked at plan time:",
  (.vcpu_quotas[] | "    \(.name): \(.needed) needed, \(.used) used of \(.limit)")'
"$tofu" -chdir="$work" output -json endpoint | jq -r '
  "endpoint \(.id)",
  "  model pinned to commit \(.resolved_revision)",
  "  OpenAI base URL   \(.url)"'
"$tofu" -chdir="$work" output -json route | jq -r '"route \(.name) in the LiteLLM gateway -> \(.resolved_urls | join(", "))"'
echo "  (the lab's Azure keeps the scale set's VMs in memory and runs no custom data, so no vLLM answers at"
echo "   this URL in the lab; on Azure it answers clients in the virtual network)"
echo
echo "The lab and azurelab are still running (state in $lab). Tear them down with: make demo-down"
