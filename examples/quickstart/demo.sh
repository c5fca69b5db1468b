#!/usr/bin/env bash
# Applies (or destroys) examples/quickstart against the local lab with the pinned OpenTofu and the
# provider from the local filesystem mirror. Called by `make demo` / `make demo-down`.
#   demo.sh TOFU LAB_DIR MIRROR_DIR [destroy]
set -euo pipefail
tofu=$1 lab=$2 mirror=$3 action=${4:-apply}
here=$(cd "$(dirname "$0")" && pwd)
work=$lab/quickstart

mkdir -p "$work"
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
export TF_CLI_CONFIG_FILE=$lab/tofurc TF_DATA_DIR=$work/.terraform TF_IN_AUTOMATION=1
# The lab's moto accepts any credentials; a real account would use its own chain.
export AWS_ACCESS_KEY_ID=lab AWS_SECRET_ACCESS_KEY=lab
state=$work/terraform.tfstate
vars=$lab/quickstart.tfvars.json

"$tofu" -chdir="$here" init -input=false -upgrade >/dev/null
if [ "$action" = destroy ]; then
  "$tofu" -chdir="$here" destroy -input=false -auto-approve -state="$state" -var-file="$vars" >/dev/null
  echo "quickstart destroyed"
  exit 0
fi

echo "== tofu apply examples/quickstart (OpenTofu $("$tofu" version | head -1 | sed 's/^OpenTofu v//'))"
"$tofu" -chdir="$here" apply -input=false -auto-approve -state="$state" -var-file="$vars" -no-color | grep -E '^(Apply complete|Error|│)' || true
echo
echo "== GPU instance types with at least 40 GiB per GPU (AWS catalogue, served by the lab's moto)"
"$tofu" -chdir="$here" output -state="$state" -raw gpu_types_table
echo
echo
echo "The lab is still running (state in $lab). Tear it down with: make demo-down"
