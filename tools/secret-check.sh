#!/usr/bin/env bash
# Secrets never leak: applies tools/secret-check/main.tf to the local lab with the pinned OpenTofu
# and the provider from the filesystem mirror, and looks for every secret it handled wherever a
# user, a CI log or another user of the machine could see it. `make test-secrets` runs it.
#
# The secrets, made per run where the lab allows it:
#   - the endpoint's API key and the external route's key: random, passed as ephemeral variables
#     (TF_VAR_*) into write-only attributes;
#   - the Hugging Face token (HF_TOKEN): the lab's Hub stand-in accepts only its own granted token
#     (hfhub.GrantedToken), so that one; a random unknown token is checked on the error path;
#   - the gateway's master key (LITELLM_MASTER_KEY, random per lab) and the SSH private key
#     (INFERSTACK_SSH_PRIVATE_KEY, generated per lab), from the environment.
#
# Steps: init, plan -out, show of the plan (text and JSON), apply of the plan, show of the state,
# a second plan (must be empty), destroy, then a plan that fails on a bad HF token; every one with
# TF_LOG=TRACE into a log of its own. From init to that last plan a background loop samples the
# command line of every process on the machine every 50 ms: the lab's hosts are local sshd
# processes, so what the provider runs on a host (the SSH session's shell, the node script, the
# container) is a process here.
#
# No secret (nor its base64 or hex form) may be in: the commands' output and diagnostics, the TRACE
# logs, the plan file, `tofu show`, the state and its backup, the sampled command lines, or any file
# of the lab hosts but the endpoint's root-only secret and env files (and none at all after
# destroy). To show that the check can fail, it also proves the secrets were used: the key and
# token are in the hosts' secret files (mode 0600), the stand-in answers 401 without the key and
# 200 with it on every URL the endpoint outputs, the gateway holds the routes, and the sampler
# catches a canary process that lives 0.3 s.
#
# usage: secret-check.sh BIN MIRROR WORK
#   BIN     where tofu, inferstack-lab and vllm-standin are
#   MIRROR  the filesystem mirror `make install` fills
#   WORK    a folder of its own (emptied): the lab, the configuration, every log
set -euo pipefail
# Under pipefail a reader that stops early (grep -q, grep -m1, head) kills the writer with SIGPIPE
# and fails the pipe with 141: every pipe below reads its input to the end. No secret is ever an
# argument of a command this script runs (the sampler would see it): they go through the
# environment, stdin or files.

[ $# -eq 3 ] || { echo "usage: $0 BIN MIRROR WORK" >&2; exit 2; }
bin=$(cd "$1" && pwd) mirror=$(cd "$2" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
mkdir -p "$3"
work=$(cd "$3" && pwd)
lab=$work/lab       # the lab's state: hosts, keys, logs
config=$work/config # the root module tofu runs in (state, plan file)
logs=$work/logs     # what each command printed, its TRACE log, copies of plan and state
endpoint=leakcheck  # the endpoint's name in main.tf
started=$SECONDS

fail() { echo "secrets check FAILED: $*" >&2; exit 1; }
ok() { echo "  ok: $*"; }

sampler_pid=''
cleanup() {
  if [ -n "$sampler_pid" ]; then kill "$sampler_pid" 2>/dev/null || true; wait "$sampler_pid" 2>/dev/null || true; fi
  "$bin/inferstack-lab" down --dir "$lab" >/dev/null 2>&1 || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for t in tofu inferstack-lab vllm-standin; do [ -x "$bin/$t" ] || fail "$bin/$t is missing: run make tools lab-binary"; done
for t in curl jq unzip openssl base64 od; do command -v "$t" >/dev/null || fail "$t is missing: run make peers"; done

# A lab left behind by an interrupted run goes first, then everything of that run (only from a
# folder this script made: it is emptied).
if [ -n "$(ls -A "$work")" ] && [ ! -f "$work/.secret-check" ]; then
  fail "$work is not empty and was not made by this check: give it a folder of its own"
fi
"$bin/inferstack-lab" down --dir "$lab" >/dev/null 2>&1 || true
rm -rf "${work:?}"/* "$work"/.secret-check
umask 077
mkdir -p "$lab" "$config" "$logs"
touch "$work/.secret-check"
"$bin/inferstack-lab" up --dir "$lab" --standin "$bin/vllm-standin" >"$work/lab-up.log" 2>&1 ||
  { cat "$work/lab-up.log" >&2; fail "the lab did not start (see $lab/lab.log)"; }
for h in $(jq -r '.hosts[].address' "$lab/lab.json") $(jq -r '.hf_endpoint, .gateway_url' "$lab/lab.json" | sed -E 's#^https?://([^:/]+).*#\1#'); do
  [[ $h == 127.* ]] || fail "the lab listens on $h: this check only runs against loopback addresses"
done

# ---------------------------------------------------------------------------------------------
# The secrets, and the patterns that find them: the value, its base64 at each of the three
# alignments a stream can give it, and its hex (a value dumped as bytes into a JSON log line).
# ---------------------------------------------------------------------------------------------
api_key=sk-leakcheck-$(openssl rand -hex 12)
external_key=sk-leakcheck-ext-$(openssl rand -hex 12)
hf_token=$(sed -nE 's/^[[:space:]]*GrantedToken[[:space:]]*=[[:space:]]*"([^"]+)".*/\1/p' "$repo/internal/acctest/hfhub/hub.go")
[ -n "$hf_token" ] || fail "cannot read hfhub.GrantedToken from internal/acctest/hfhub/hub.go"
master_key=$(cat "$lab/litellm_master_key")
ssh_key=$(cat "$lab/ssh_user_key")
# The private key's full-length base64 lines but the first, which every OpenSSH key of the same
# type shares (the format's magic and the key type): what only this key holds.
mapfile -t ssh_key_lines < <(awk '!/^-----/ && ++n > 1 && length($0) >= 60' "$lab/ssh_user_key")
[ ${#ssh_key_lines[@]} -ge 2 ] || fail "cannot find the body of the lab's SSH key in $lab/ssh_user_key"
bad_hf_token=hf_leakcheck$(openssl rand -hex 12)

names=() values=()
add_secret() { # add_secret NAME VALUE
  local name=$1 v=$2 s sub hex
  names+=("$name") values+=("$v")
  for s in 0 1 2; do
    sub=${v:s}
    sub=${sub:0:$((${#sub} / 3 * 3))}
    names+=("$name (base64)") values+=("$(printf '%s' "$sub" | base64 -w0)")
  done
  hex=$(printf '%s' "$v" | od -An -v -tx1 | tr -d ' \n')
  names+=("$name (hex)" "$name (hex)") values+=("$hex" "${hex^^}")
}
add_secret "the endpoint's API key" "$api_key"
add_secret "the external route's API key" "$external_key"
add_secret "the Hugging Face token" "$hf_token"
add_secret "the gateway's master key" "$master_key"
for l in "${ssh_key_lines[@]}"; do add_secret "the SSH private key" "$l"; done
add_secret "the bad Hugging Face token" "$bad_hf_token"
patterns=$work/secrets.patterns # outside logs/, config/ and lab/: never scanned
printf '%s\n' "${values[@]}" >"$patterns"

# The scan finds a secret however it is written: as is, in base64 at any offset, in hex.
mkdir "$work/selftest"
for prefix in '' 'a' 'ab'; do
  printf 'log line {"data":"%s"}\n' "$(printf '%s%s' "$prefix" "$api_key" | base64 -w0)" >"$work/selftest/base64-$prefix"
done
printf 'bytes=%s\n' "$(printf '%s' "$external_key" | od -An -v -tx1 | tr -d ' \n')" >"$work/selftest/hex"
printf 'key=%s\n' "$master_key" >"$work/selftest/plain"
for f in "$work/selftest"/*; do
  leaks=$(grep -a -l -F -f "$patterns" -- "$f" || true)
  [ "$leaks" = "$f" ] || fail "self-test: the scan does not find the secret in $f"
done
ok "the scan finds a secret as is, in base64 at each offset and in hex (self-test)"

# which_secrets FILE: each secret in FILE, with the lines it is on (masked), for a failure message.
which_secrets() {
  local f=$1 i n line
  for i in "${!values[@]}"; do
    while IFS= read -r line; do
      n=${line%%:*} line=${line#*:}
      line=${line//"${values[i]}"/<${names[i]}>}
      echo "    ${names[i]} at $f:$n: ${line:0:200}"
    done < <(grep -a -n -F -f <(printf '%s\n' "${values[i]}") -- "$f" || true)
  done
}

# scan WHAT FILE...: fails when a secret is in one of the files (which must exist).
scan() {
  local what=$1 hits rc f
  shift
  for f in "$@"; do [ -f "$f" ] || fail "scan of $what: $f does not exist"; done
  rc=0
  hits=$(grep -a -l -F -f "$patterns" -- "$@") || rc=$?
  case $rc in
    0) echo "secrets check FAILED: a secret leaked into $what:" >&2
      for f in $hits; do which_secrets "$f" >&2; done
      exit 1 ;;
    1) ok "no secret in $what ($# file(s))" ;;
    *) fail "scan of $what: grep could not read the files (exit $rc)" ;;
  esac
}

# scan_tree WHAT DIR [ALLOWED...]: as scan, for every file under DIR but the ALLOWED paths.
scan_tree() {
  local what=$1 dir=$2 f
  shift 2
  local -a files=()
  while IFS= read -r -d '' f; do
    local a skip=''
    for a in "$@"; do [[ $f == "$a" ]] && skip=1; done
    [ -n "$skip" ] || files+=("$f")
  done < <(find "$dir" -type f -print0)
  [ ${#files[@]} -gt 0 ] || fail "scan of $what: no files under $dir"
  scan "$what" "${files[@]}"
}

# has_secret NAME VALUE FILE: FILE exists, is mode 0600, and holds VALUE (the check can fail).
has_secret() {
  local name=$1 v=$2 f=$3 mode
  [ -f "$f" ] || fail "$name never reached the host: $f does not exist"
  mode=$(stat -c %a "$f")
  [ "$mode" = 600 ] || fail "$f holds $name with mode $mode, want 600 (root only)"
  grep -a -F -f <(printf '%s\n' "$v") -- "$f" >/dev/null || fail "$f does not hold $name"
}

# ---------------------------------------------------------------------------------------------
# The command-line sampler: every process's command line, every 50 ms, each distinct one once.
# ---------------------------------------------------------------------------------------------
cmdlines=$logs/cmdlines.txt
# A sweep of a few hundred processes takes 10 to 70 ms on two busy cores: the loop sleeps what is
# left of 50 ms, so sweeps start every 50 ms or, when a sweep takes longer, back to back.
sample_cmdlines() {
  local f p line sweeps=0 t0 t rest tick secs
  local -a args
  local -A seen=()
  # read -t on a pipe nobody writes to is a sleep without a fork per sweep.
  exec {tick}<> <(:)
  t0=${EPOCHREALTIME/./}
  trap 'echo "$sweeps $(((${EPOCHREALTIME/./} - t0) / 1000))" >"$logs/cmdlines.sweeps"; exit 0' TERM
  while :; do
    t=${EPOCHREALTIME/./}
    for f in /proc/[0-9]*/cmdline; do
      { mapfile -d '' -t args <"$f"; } 2>/dev/null || continue
      ((${#args[@]})) || continue
      line="${args[*]}"
      [ -z "${seen[$line]+x}" ] || continue
      seen[$line]=1
      p=${f#/proc/}
      printf '%s: %s\n' "${p%/cmdline}" "$line" >>"$cmdlines"
    done
    sweeps=$((sweeps + 1))
    rest=$((50000 - (${EPOCHREALTIME/./} - t)))
    if ((rest > 1000)); then
      printf -v secs '0.%06d' "$rest"
      read -r -t "$secs" -u "$tick" _ || true
    fi
  done
}

# ---------------------------------------------------------------------------------------------
# OpenTofu against the lab
# ---------------------------------------------------------------------------------------------
cp "$here/secret-check/main.tf" "$config/"
cat >"$work/tofurc" <<EOF
provider_installation {
  filesystem_mirror {
    path    = "$mirror"
    include = ["registry.opentofu.org/inferstack/*", "registry.terraform.io/inferstack/*"]
  }
  direct { exclude = ["registry.opentofu.org/inferstack/*", "registry.terraform.io/inferstack/*"] }
}
EOF
export TF_CLI_CONFIG_FILE=$work/tofurc TF_IN_AUTOMATION=1 CHECKPOINT_DISABLE=1 TF_INPUT=0
export INFERSTACK_SSH_PRIVATE_KEY=$ssh_key HF_TOKEN=$hf_token LITELLM_MASTER_KEY=$master_key
HF_ENDPOINT=$(jq -r .hf_endpoint "$lab/lab.json") LITELLM_URL=$(jq -r .gateway_url "$lab/lab.json")
export HF_ENDPOINT LITELLM_URL
export TF_VAR_api_key=$api_key TF_VAR_external_api_key=$external_key
export TF_VAR_model=meta-llama/Llama-3.1-8B-Instruct # gated (manual) in the Hub stand-in's fixtures
unset HUGGING_FACE_HUB_TOKEN TF_LOG_PROVIDER TF_LOG_CORE
varfile=$lab/onprem.tfvars.json

# tf STEP ARGS...: tofu ARGS in the configuration; output to logs/STEP.out, TRACE log to
# logs/STEP.trace. Returns tofu's exit status.
tf() {
  local step=$1 t0=$SECONDS rc=0
  shift
  TF_LOG=TRACE TF_LOG_PATH=$logs/$step.trace "$bin/tofu" -chdir="$config" "$@" >"$logs/$step.out" 2>&1 || rc=$?
  echo "  tofu $* : exit $rc in $((SECONDS - t0)) s" >>"$logs/steps.txt"
  return "$rc"
}
must() { # must STEP ARGS...: tf, failing the check with the step's output when tofu fails
  tf "$@" || { sed -n '1,80p' "$logs/$1.out" >&2; fail "tofu $2 failed (output: $logs/$1.out, TRACE log: $logs/$1.trace)"; }
}

echo "  the lab is up; secrets made for this run; sampling command lines every 50 ms"
sample_cmdlines &
sampler_pid=$!

must init init -no-color
must plan plan -no-color -out=tfplan -var-file="$varfile"
must show-plan show -no-color tfplan
tf show-plan-json show -json tfplan || fail "tofu show -json tfplan failed ($logs/show-plan-json.out)"
# The canary: a command line that holds a marker for 0.3 s, while the apply starts.
canary=leakcheck-canary-$(openssl rand -hex 8)
bash -c 'sleep 0.3; :' "$canary" &
canary_pid=$!
t0=$SECONDS
must apply apply -no-color -auto-approve tfplan
apply_seconds=$((SECONDS - t0))
wait "$canary_pid"
cp "$config/terraform.tfstate" "$logs/state-after-apply.tfstate"
must show-state show -no-color
tf show-state-json show -json || fail "tofu show -json failed ($logs/show-state-json.out)"
must output output -no-color -json
out=$(jq -c '.endpoint.value' "$logs/output.out")

# The secrets were used where they must be (so a clean scan means something).
mapfile -t urls < <(jq -r '.urls[]' <<<"$out")
mapfile -t hosts < <(jq -r '.placements[].host' <<<"$out" | sort -u)
[ ${#urls[@]} -eq 2 ] || fail "the endpoint should have two replica URLs, has: ${urls[*]}"
for h in "${hosts[@]}"; do
  root=$lab/ssh/hosts/$h/root
  has_secret "the endpoint's API key" "$api_key" "$root/etc/inferstack/secrets/$endpoint/VLLM_API_KEY"
  has_secret "the Hugging Face token" "$hf_token" "$root/etc/inferstack/secrets/$endpoint/HF_TOKEN"
  has_secret "the endpoint's API key" "VLLM_API_KEY=$api_key" "$root/etc/inferstack/$endpoint.env"
  has_secret "the Hugging Face token" "HF_TOKEN=$hf_token" "$root/etc/inferstack/$endpoint.env"
done
ok "the API key and the HF token are in the root-only secret and env files of ${hosts[*]}"
# The container runtime's record of a replica's environment (the docker shim's env0, as dockerd
# keeps config.v2.json) holds what the env file gave the container: allowed below, so proved here.
for h in "${hosts[@]}"; do
  n=0
  for f in "$lab/ssh/hosts/$h/root/var/lib/docker-shim/containers/inferstack-$endpoint-"*/env0; do
    [ -f "$f" ] || continue
    n=$((n + 1))
    has_secret "the endpoint's API key" "VLLM_API_KEY=$api_key" "$f"
  done
  [ "$n" -gt 0 ] || fail "no container of endpoint $endpoint on $h (no env0 under $lab/ssh/hosts/$h/root/var/lib/docker-shim/containers)"
done
ok "the replicas' containers got the API key through their environment"
# curl reads the header from its config on stdin: a key on its command line would be a leak.
status() { # status URL [KEY]: the HTTP status of GET URL/models, with KEY as the Bearer token
  { [ $# -lt 2 ] || printf 'header = "Authorization: Bearer %s"\n' "$2"; } |
    curl -s -o /dev/null -w '%{http_code}' --max-time 10 -K - "$1/models" || true
}
for u in "${urls[@]}"; do
  [[ $u == http://127.* ]] || fail "the endpoint's URL $u is not a loopback address"
  [ "$(status "$u")" = 401 ] || fail "$u/models answers $(status "$u") without a key, want 401"
  [ "$(status "$u" "sk-leakcheck-wrong")" = 401 ] || fail "$u/models answers $(status "$u" sk-leakcheck-wrong) to a wrong key, want 401"
  [ "$(status "$u" "$api_key")" = 200 ] || fail "$u/models answers $(status "$u" "$api_key") to the API key, want 200"
done
ok "the replicas answer 401 without the key or with a wrong one, 200 with the key: ${urls[*]}"
mapfile -t want_routes < <(jq -r '.routes.value[]' "$logs/output.out" | sort)
gateway_models() {
  printf 'header = "Authorization: Bearer %s"\n' "$master_key" |
    curl -sS --max-time 10 -K - "$LITELLM_URL/model/info" | jq -r '[.data[].model_name] | unique[]'
}
got_routes=$(gateway_models) || fail "the gateway's /model/info did not answer with the master key"
for r in "${want_routes[@]}"; do
  grep -x -F -- "$r" <<<"$got_routes" >/dev/null || fail "the gateway has no route $r (it has: $(tr '\n' ' ' <<<"$got_routes"))"
done
ok "the gateway holds the routes ${want_routes[*]} (registered with the master key and the write-only keys)"

# The lab's files while the endpoint runs: only the secret and env files hold secrets (and the
# lab's own key files; the docker shim's record of a container's environment, as dockerd keeps
# config.v2.json, is the container runtime's and holds the env file's values).
allowed=("$lab/ssh_user_key" "$lab/ssh/id_ed25519" "$lab/litellm_master_key")
for h in "${hosts[@]}"; do
  root=$lab/ssh/hosts/$h/root
  allowed+=("$root/etc/inferstack/secrets/$endpoint/VLLM_API_KEY" "$root/etc/inferstack/secrets/$endpoint/HF_TOKEN"
    "$root/etc/inferstack/$endpoint.env" "$root/var/lib/docker-shim/containers/inferstack-$endpoint-"*/env0)
done
scan_tree "the lab's files after apply (hosts' units, specs, ledgers, logs; sshd, docker, gateway logs)" "$lab" "${allowed[@]}"

set +e
tf plan-again plan -no-color -detailed-exitcode -var-file="$varfile"
rc=$?
set -e
case $rc in
  0) ok "a second plan shows no changes" ;;
  2) sed -n '1,60p' "$logs/plan-again.out" >&2; fail "the second plan shows changes: a write-only value or its version drifts" ;;
  *) sed -n '1,60p' "$logs/plan-again.out" >&2; fail "the second plan failed" ;;
esac
cp "$config/terraform.tfstate" "$logs/state-after-refresh.tfstate"
must destroy destroy -no-color -auto-approve -var-file="$varfile"

# The error path: a Hub that rejects the token must not print it back in a diagnostic.
set +e
HF_TOKEN=$bad_hf_token tf plan-bad-token plan -no-color -var-file="$varfile"
rc=$?
set -e
[ "$rc" -ne 0 ] || fail "a plan with an unknown HF token succeeded: the gated model was not resolved with the token"
grep -F 'Error' "$logs/plan-bad-token.out" >/dev/null || fail "a plan with an unknown HF token failed without a diagnostic ($logs/plan-bad-token.out)"
ok "a plan with an unknown HF token fails with a diagnostic: $(awk '/^Error: / {print; exit}' "$logs/plan-bad-token.out")"

# The sampler has seen the whole run; stop it before anything below could run with a secret.
kill "$sampler_pid"
wait "$sampler_pid" || true
sampler_pid=''
read -r sweeps sampled_ms <"$logs/cmdlines.sweeps" || fail "the sampler did not report its sweeps"
[ "$sweeps" -gt 0 ] || fail "the sampler made no sweep"
grep -F -f <(printf '%s\n' "$canary") -- "$cmdlines" >/dev/null ||
  fail "the sampler missed the canary process (0.3 s): it cannot be trusted to see short-lived commands"
n_host_sessions=$(grep -c -F 'inferstack-run' "$cmdlines" || true)
[ "$n_host_sessions" -gt 0 ] || fail "the sampler saw no SSH session on a lab host (inferstack-run): it did not watch the hosts"
ok "the sampler caught the canary and $n_host_sessions command lines of SSH sessions on the hosts ($sweeps sweeps in $((sampled_ms / 1000)) s, one every $((sampled_ms / sweeps)) ms; $(wc -l <"$cmdlines") distinct command lines)"

# After destroy, nothing on the hosts holds a secret any more.
gone=("$lab/ssh_user_key" "$lab/ssh/id_ed25519" "$lab/litellm_master_key")
scan_tree "the lab's files after destroy (secret and env files removed)" "$lab" "${gone[@]}"
got_routes=$(gateway_models) || fail "the gateway's /model/info did not answer with the master key"
for r in "${want_routes[@]}"; do
  ! grep -x -F -- "$r" <<<"$got_routes" >/dev/null || fail "the gateway still has route $r after destroy"
done
ok "destroy withdrew the routes from the gateway"

# Everything OpenTofu printed, logged and stored.
mkdir -p "$logs/tfplan.d"
unzip -q -o "$config/tfplan" -d "$logs/tfplan.d"
mapfile -t plan_files < <(find "$logs/tfplan.d" -type f)
scan "the plan file (tfplan, unzipped)" "${plan_files[@]}"
scan "the output and diagnostics of init, plan, show, apply, output, plan, destroy and the failing plan" "$logs"/*.out
scan "the TRACE logs (OpenTofu and the provider)" "$logs"/*.trace
scan "the state (after apply, after refresh, after destroy, and its backup)" \
  "$logs/state-after-apply.tfstate" "$logs/state-after-refresh.tfstate" "$config/terraform.tfstate" "$config/terraform.tfstate.backup"
scan "the command lines of every process on the machine, sampled every 50 ms from init to the failing plan" "$cmdlines"

# The apply ran the write-only path for real: the state records the key versions, not the keys.
jq -e '[.resources[] | select(.type == "inferstack_model_endpoint") | .instances[0].attributes | (.api_key_wo == null and .api_key == null and .api_key_wo_version == 1)] == [true]' \
  "$logs/state-after-apply.tfstate" >/dev/null || fail "the endpoint's state should hold api_key_wo_version = 1 and no key"
ok "the state holds api_key_wo_version and no key"

sed 's/^/ /' "$logs/steps.txt"
echo "secrets check passed in $((SECONDS - started)) s (apply $apply_seconds s); logs in $logs"
