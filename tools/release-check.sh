#!/usr/bin/env bash
# Checks a release made by `make release-snapshot` the way a registry and a user's CLI would see it:
#   1. one zip per target, named terraform-provider-inferstack_<version>_<os>_<arch>.zip, holding
#      the binary terraform-provider-inferstack_v<version> (.exe on Windows), and no other zips;
#   2. the manifest says protocol 6.0 and nothing else;
#   3. SHA256SUMS lists exactly the zips and the manifest, and `sha256sum -c` passes;
#   4. the detached signature verifies with the public key alone (a fresh keyring);
#   5. filesystem mirrors made from the host's zip, in the packed (zip) and the unpacked layout,
#      under both registry.terraform.io and registry.opentofu.org, install the provider with
#      `tofu init` and `terraform init` (a CLI config naming only the mirror, no dev_overrides):
#      the lock file records the version with an h1 hash, the same for both layouts, and the
#      installed binary's -version prints the snapshot version.
#
# usage: release-check.sh DIST VERSION "TARGETS" BIN
#   DIST     GoReleaser's dist folder (.cache/release), with signing-key.asc beside the sums
#   VERSION  the snapshot's version
#   TARGETS  the <os>_<arch> list that was built; must include this host's platform
#   BIN      where tofu and terraform are
set -euo pipefail
# Under pipefail a reader that stops early (grep -q, grep -m1, head) kills the writer with SIGPIPE
# and fails the pipe with 141: every pipe below reads its input to the end (awk, sed -n 1p).

[ $# -eq 4 ] || { echo "usage: $0 DIST VERSION TARGETS BIN" >&2; exit 2; }
dist=$(cd "$1" && pwd) version=$2 targets=$3 bin=$(cd "$4" && pwd)
name=terraform-provider-inferstack
prefix=${name}_${version}
host_platform=$(go env GOOS)_$(go env GOARCH)

fail() { echo "release check FAILED: $*" >&2; exit 1; }
ok() { echo "  ok: $*"; }

work=$(mktemp -d /tmp/inferstack-release-check.XXXXXX)
trap 'gpgconf --homedir "$work/gnupg" --kill gpg-agent 2>/dev/null || true; rm -rf "$work"' EXIT

cd "$dist"

# 1. archives: names, contents, nothing extra.
want_zips=()
for t in $targets; do
  case $t in
    linux_amd64 | linux_arm64 | darwin_amd64 | darwin_arm64 | windows_amd64 | windows_arm64) ;;
    *) fail "unknown target $t" ;;
  esac
  zip=${prefix}_${t}.zip
  [ -f "$zip" ] || fail "missing archive $zip in $dist"
  exe=${name}_v${version}
  [ "${t%%_*}" = windows ] && exe=$exe.exe
  unzip -Z1 "$zip" | awk -v e="$exe" '$0 == e {f=1} END {exit !f}' || fail "$zip does not hold $exe (it holds: $(unzip -Z1 "$zip" | tr '\n' ' '))"
  want_zips+=("$zip")
done
mapfile -t have_zips < <(printf '%s\n' *.zip | sort)
mapfile -t want_sorted < <(printf '%s\n' "${want_zips[@]}" | sort)
[ "${have_zips[*]}" = "${want_sorted[*]}" ] || fail "archives are [${have_zips[*]}], want [${want_sorted[*]}]"
ok "${#want_zips[@]} archives: ${want_sorted[*]}"

# 2. manifest: byte-for-byte what the registry expects (jq -c normalises spacing only).
manifest=${prefix}_manifest.json
[ -f "$manifest" ] || fail "missing $manifest"
got=$(jq -cS . "$manifest")
[ "$got" = '{"metadata":{"protocol_versions":["6.0"]},"version":1}' ] || fail "$manifest is $got"
ok "$manifest: protocol 6.0"

# 3. sums: exactly the zips and the manifest, and they verify.
sums=${prefix}_SHA256SUMS
[ -f "$sums" ] || fail "missing $sums"
listed=$(awk '{print $2}' "$sums" | sort | tr '\n' ' ')
want=$(printf '%s\n' "${want_zips[@]}" "$manifest" | sort | tr '\n' ' ')
[ "$listed" = "$want" ] || fail "$sums lists [$listed], want [$want]"
sha256sum --quiet --strict -c "$sums" || fail "$sums does not verify"
ok "$sums verifies ($(wc -l <"$sums") files)"

# 4. signature: a keyring holding only the public key.
[ -f "$sums.sig" ] || fail "missing $sums.sig"
mkdir -m 700 "$work/gnupg"
gpg --homedir "$work/gnupg" --batch --quiet --import signing-key.asc 2>/dev/null || fail "cannot import signing-key.asc"
[ -z "$(gpg --homedir "$work/gnupg" --batch --list-secret-keys 2>/dev/null)" ] || fail "signing-key.asc holds a secret key"
gpg --homedir "$work/gnupg" --batch --status-fd 1 --verify "$sums.sig" "$sums" 2>/dev/null | awk '/^\[GNUPG:\] VALIDSIG / {f=1} END {exit !f}' ||
  fail "$sums.sig does not verify against signing-key.asc"
# A changed sums file must not verify: proves the check can fail.
{ cat "$sums"; echo "0000000000000000000000000000000000000000000000000000000000000000  extra.zip"; } >"$work/tampered"
if gpg --homedir "$work/gnupg" --batch --verify "$sums.sig" "$work/tampered" 2>/dev/null; then
  fail "$sums.sig also verifies a tampered sums file"
fi
ok "$sums.sig verifies with the public key, and not for a tampered file"

# 5. mirrors from the host's zip, then init with both CLIs against each layout.
host_zip=${prefix}_${host_platform}.zip
[ -f "$host_zip" ] || fail "no archive for this host ($host_platform) among the targets: cannot test init"
for h in registry.terraform.io registry.opentofu.org; do
  d=$work/packed/$h/inferstack/inferstack
  mkdir -p "$d" && cp "$host_zip" "$d/"
  d=$work/unpacked/$h/inferstack/inferstack/$version/$host_platform
  mkdir -p "$d" && unzip -q "$host_zip" -d "$d"
done

declare -A h1
for layout in packed unpacked; do
  cat >"$work/$layout.tfrc" <<EOF
provider_installation {
  filesystem_mirror {
    path    = "$work/$layout"
    include = ["registry.terraform.io/inferstack/inferstack", "registry.opentofu.org/inferstack/inferstack"]
  }
}
EOF
  for cli in tofu terraform; do
    case $cli in tofu) reg=registry.opentofu.org ;; terraform) reg=registry.terraform.io ;; esac
    w=$work/init-$layout-$cli
    mkdir -p "$w"
    cat >"$w/main.tf" <<EOF
terraform {
  required_providers {
    inferstack = {
      source  = "inferstack/inferstack"
      version = "= $version"
    }
  }
}
EOF
    TF_CLI_CONFIG_FILE=$work/$layout.tfrc TF_PLUGIN_CACHE_DIR='' CHECKPOINT_DISABLE=1 \
      "$bin/$cli" -chdir="$w" init -input=false -no-color >"$w/init.log" 2>&1 ||
      { cat "$w/init.log" >&2; fail "$cli init from the $layout mirror"; }
    lock=$w/.terraform.lock.hcl
    grep -qF "provider \"$reg/inferstack/inferstack\"" "$lock" || fail "$cli ($layout): lock file names no $reg/inferstack/inferstack"
    grep -qE "^  version += \"$version\"$" "$lock" || fail "$cli ($layout): lock file does not record version $version"
    hash=$(grep -oE '"h1:[^"]+"' "$lock" | sed -n 1p)
    [ -n "$hash" ] || fail "$cli ($layout): lock file records no h1 hash"
    h1[$layout-$cli]=$hash
    exe=$w/.terraform/providers/$reg/inferstack/inferstack/$version/$host_platform/${name}_v${version}
    [ -x "$exe" ] || fail "$cli ($layout): provider not installed at $exe"
    got=$("$exe" -version)
    [ "$got" = "$name $version" ] || fail "$cli ($layout): installed provider's -version says '$got', want '$name $version'"
    cli_version=$(TF_CLI_CONFIG_FILE=$work/$layout.tfrc "$bin/$cli" version 2>/dev/null | awk '/^(OpenTofu|Terraform) v/ && !n {print; n=1}')
    ok "$cli_version init from the $layout mirror: $reg/inferstack/inferstack $version, $hash, -version '$got'"
  done
done
# The packed zip and the unpacked folder are one package: every CLI and layout hashes it alike.
[ "$(printf '%s\n' "${h1[@]}" | sort -u | wc -l)" -eq 1 ] || fail "h1 hashes differ between CLIs or layouts: $(declare -p h1)"
ok "one h1 hash for both layouts and both CLIs"
echo "release check passed: $version"
