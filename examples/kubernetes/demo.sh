#!/usr/bin/env bash
# Applies (or destroys) examples/kubernetes against the local lab's Kubernetes control plane
# (kube-apiserver, controller-manager, scheduler, etcd; kwok plays two GPU nodes) with the pinned
# OpenTofu and the provider from the local filesystem mirror. Called by `make demo-kubernetes` /
# `make demo-kubernetes-down`.
#   demo.sh TOFU LAB_DIR MIRROR_DIR [destroy]
set -euo pipefail
tofu=$1 lab=$2 mirror=$3 action=${4:-apply}
here=$(cd "$(dirname "$0")" && pwd)
work=$lab/kubernetes-example

mkdir -p "$work"
cp "$here"/*.tf "$work"/
rm -f "$work/.terraform.lock.hcl"
cat >"$lab/tofurc" <<RC
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
export TF_CLI_CONFIG_FILE=$lab/tofurc TF_IN_AUTOMATION=1
# Everything the provider needs comes from the environment, as in a CI job or a Terraform Cloud
# workspace: the lab's kubeconfig, Hub stand-in and gateway stand-in.
export KUBECONFIG HF_ENDPOINT LITELLM_URL LITELLM_MASTER_KEY
KUBECONFIG=$(jq -r '.kubernetes.kubeconfig' "$lab/lab.json")
HF_ENDPOINT=$(jq -r '.hf_endpoint' "$lab/lab.json")
LITELLM_URL=$(jq -r '.gateway_url' "$lab/lab.json")
LITELLM_MASTER_KEY=$(cat "$lab/litellm_master_key")
keyfile=$lab/vllm_api_key
[ -s "$keyfile" ] || (umask 077 && head -c 24 /dev/urandom | base64 | tr -d '/+=' >"$keyfile")
export TF_VAR_vllm_api_key
TF_VAR_vllm_api_key=$(cat "$keyfile")

"$tofu" -chdir="$work" init -input=false >"$work/init.log" 2>&1 || { cat "$work/init.log"; exit 1; }
if [ "$action" = destroy ]; then
  "$tofu" -chdir="$work" destroy -input=false -auto-approve -no-color >"$work/destroy.log" 2>&1 \
    || { cat "$work/destroy.log"; exit 1; }
  echo "examples/kubernetes destroyed"
  exit 0
fi

echo "== tofu apply examples/kubernetes (OpenTofu $("$tofu" version | sed -n 1p | sed 's/^OpenTofu v//'))"
if ! "$tofu" -chdir="$work" apply -input=false -auto-approve -no-color >"$work/apply.log" 2>&1; then
  cat "$work/apply.log"
  exit 1
fi
grep -E '^(Apply complete|Warning)' "$work/apply.log" || true
echo
echo "== The pool's GPU nodes (matching the cluster's node selector)"
"$tofu" -chdir="$work" output -json nodes | jq -r '.[] | "  \(.name): \(.gpus) x \(.gpu_product) (\(.gpu_memory_mib / 1024 | floor) GiB)"'
echo
echo "== Sizing against those nodes"
"$tofu" -chdir="$work" output -json plan | jq -r '"  \(.gpu_model): tensor_parallel_size \(.tensor_parallel_size), \(.required_gib_per_gpu) GiB needed per GPU"'
echo
echo "== The endpoint (a Deployment the real scheduler placed; kwok plays the kubelets)"
"$tofu" -chdir="$work" output -json endpoint | jq -r '"  \(.id): \(.status)", "  model pinned to commit \(.resolved_revision)", "  OpenAI base URL \(.url)"'
# What the scheduler did, asked of the API server with the kubeconfig's own token and CA.
api=$(jq -r '.kubernetes.host' "$lab/lab.json")
token=$(sed -n 's/^ *token: //p' "$KUBECONFIG" | sed -n 1p)
ca=$(mktemp) && trap 'rm -f "$ca"' EXIT
sed -n 's/^ *certificate-authority-data: //p' "$KUBECONFIG" | sed -n 1p | base64 -d >"$ca"
echo "  pods (placed by kube-scheduler by nvidia.com/gpu):"
curl -sS --fail --cacert "$ca" -H "Authorization: Bearer $token" \
  "$api/api/v1/namespaces/inference/pods?labelSelector=inferstack.io/endpoint%3Dchat" | jq -r '
  .items[] | "    \(.metadata.name) on \(.spec.nodeName // "(not placed)"): \(.status.phase), \(.spec.containers[0].resources.limits["nvidia.com/gpu"]) GPU"'
echo
echo "== The route in the LiteLLM gateway (stand-in)"
"$tofu" -chdir="$work" output -json route | jq -r '.[] | "  chat -> \(.)"'
echo
echo "(The Service URL resolves inside the cluster only; no vLLM runs on kwok's fake nodes.)"
echo "The lab is still running (state in $lab). Tear it down with: make demo-kubernetes-down"
