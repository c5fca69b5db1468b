#!/usr/bin/env bash
# Applies (or destroys) examples/quickstart against the local lab with the pinned OpenTofu and the
# provider from the local filesystem mirror. Called by `make demo` / `make demo-down`.
#   demo.sh TOFU LAB_DIR MIRROR_DIR [destroy]
set -euo pipefail
tofu=$1 lab=$2 mirror=$3 action=${4:-apply}
here=$(cd "$(dirname "$0")" && pwd)
work=$lab/quickstart

# Run from a copy, so the example folder stays clean and the lock file always matches the
# provider just built into the mirror.
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
# The lab's moto accepts any credentials; a real account would use its own chain.
export AWS_ACCESS_KEY_ID=lab AWS_SECRET_ACCESS_KEY=lab
vars=$lab/quickstart.tfvars.json
# The lab endpoint's API key: made once, kept root-only beside the lab's state.
keyfile=$lab/vllm_api_key
[ -s "$keyfile" ] || (umask 077 && head -c 24 /dev/urandom | base64 | tr -d '/+=' >"$keyfile")
export TF_VAR_vllm_api_key
TF_VAR_vllm_api_key=$(cat "$keyfile")
# The closed route's key: a placeholder, which the lab's gateway stand-in accepts (no real key needed).
export TF_VAR_openai_api_key=sk-lab-not-a-real-key
# The lab's network in moto (a VPC with two private subnets) for the AWS cluster: aws.tfvars.json
# has region, subnet_ids, ami_id and instance_type, as modules/aws-inference-stack takes them.
awsvars=$lab/aws.tfvars.json
if [ -f "$awsvars" ]; then
  export TF_VAR_aws_region TF_VAR_aws_cluster
  TF_VAR_aws_region=$(jq -r '.region' "$awsvars")
  TF_VAR_aws_cluster=$(jq -c '{subnet_ids, instance_type, ami_id}' "$awsvars")
fi

"$tofu" -chdir="$work" init -input=false >"$work/init.log" 2>&1 || { cat "$work/init.log"; exit 1; }
if [ "$action" = destroy ]; then
  "$tofu" -chdir="$work" destroy -input=false -auto-approve -var-file="$vars" -no-color >"$work/destroy.log" 2>&1 \
    || { cat "$work/destroy.log"; exit 1; }
  echo "quickstart destroyed"
  exit 0
fi

echo "== tofu apply examples/quickstart (OpenTofu $("$tofu" version | sed -n 1p | sed 's/^OpenTofu v//'))"
if ! "$tofu" -chdir="$work" apply -input=false -auto-approve -var-file="$vars" -no-color >"$work/apply.log" 2>&1; then
  cat "$work/apply.log"
  exit 1
fi
grep -E '^(Apply complete|Warning)' "$work/apply.log" || true
echo
echo "== GPU instance types with at least 40 GiB per GPU (AWS catalogue, served by the lab's moto)"
"$tofu" -chdir="$work" output -raw gpu_types_table
echo
echo
echo "== Deployment plan (sized from the model's config.json on the lab's Hugging Face Hub stand-in)"
"$tofu" -chdir="$work" output -raw plan_summary
echo
echo
echo "== Hosting cost: self-hosting the recommended deployment against a closed API"
"$tofu" -chdir="$work" output -raw cost_summary
echo
echo
echo "== vLLM on the lab's two SSH GPU hosts (an OpenAI-compatible stand-in in place of the GPU container)"
"$tofu" -chdir="$work" output -json onprem_endpoint | jq -r '
  "model pinned to commit \(.resolved_revision)",
  (.placements[] | "  replica \(.replica) on \(.host): GPUs \(.gpu_ids | map(tostring) | join(",")), \(.url)"),
  "Prometheus scrape targets (metrics_targets, for inferstack_prometheus_config):",
  (.metrics_targets[] | "  \(.target)  \(.labels | to_entries | map("\(.key)=\(.value)") | join(" "))")'
url=$("$tofu" -chdir="$work" output -json onprem_endpoint | jq -r '.urls[0]')
model=$(jq -r '.onprem_model // "Qwen/Qwen2.5-7B-Instruct"' "$vars")
echo
echo "== A chat completion through $url (with the endpoint's API key)"
curl -sS --fail-with-body -H "Authorization: Bearer $TF_VAR_vllm_api_key" -H 'Content-Type: application/json' \
  -d "{\"model\": \"$model\", \"messages\": [{\"role\": \"user\", \"content\": \"Hello from the inferstack lab\"}]}" \
  "$url/chat/completions" | jq -r '"  assistant: \(.choices[0].message.content)"'
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' -d '{}' "$url/chat/completions")
echo "  the same request without the key: HTTP $code"
if [ "$("$tofu" -chdir="$work" output -json aws_cluster)" != null ]; then
  echo
  echo "== An inference cluster on AWS (the lab's moto behind the harness proxy)"
  "$tofu" -chdir="$work" output -json aws_cluster | jq -r '
    "cluster \(.id): \(.gpu.count) x \(.gpu.model) (\((.gpu.memory_mib // 0) / 1024 | floor) GiB) a node, up to \(.max_nodes) node(s)",
    "  VPC               \(.vpc_id)",
    "  security group    \(.security_group_id)",
    "  load balancer     \(.load_balancer_dns) (internal)"'
  "$tofu" -chdir="$work" output -json aws_endpoint | jq -r '
    "endpoint \(.id)",
    "  model pinned to commit \(.resolved_revision)",
    "  OpenAI base URL   \(.url)"'
  echo "  (moto launches the nodes but runs no user data on them, so no vLLM answers at this URL in the lab;"
  echo "   on AWS it answers clients in the cluster's allowed_cidrs, the VPC by default)"
fi
echo
echo "== Routes in the LiteLLM gateway (stand-in), as the gateway reports them"
gw=$(jq -r '.gateway_url' "$lab/lab.json")
curl -sS -H "Authorization: Bearer $(cat "$lab/litellm_master_key")" "$gw/model/info" | jq -r '
  .data[] | "  \(.model_name): \(.litellm_params.model) at \(.litellm_params.api_base // "the provider API")"'
"$tofu" -chdir="$work" output -json routes | jq -r '
  to_entries[] | "  route \(.key): \(.value.deployments | length) deployment(s), tags \(.value.tags | join(",")), fallbacks [\(.value.fallbacks | join(","))]"'
echo
echo "The lab is still running (state in $lab). Tear it down with: make demo-down"
