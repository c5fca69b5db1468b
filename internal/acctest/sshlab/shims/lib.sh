# shellcheck shell=bash disable=SC2034
# Common code of the sshlab shims: sourced by each of them, never run.
#
# Each lab host has its own copy of the shims in its shim folder, with .lab/host.conf beside this
# file naming the host. The shims read the host's identity from that file, not from the
# environment, so they work the same from an SSH session, a systemd unit started by the
# systemctl shim, or `env -i`.

set -o pipefail

LAB_LIB_DIR=${BASH_SOURCE[0]%/*}
# shellcheck source=/dev/null
. "$LAB_LIB_DIR/host.conf" # LAB_NAME LAB_ADDR LAB_ROOT LAB_SHIMS LAB_STANDIN

# The PATH of a systemd service, with the shims first: what units and containers run with.
LAB_SERVICE_PATH="$LAB_SHIMS:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

LAB_STATE="$LAB_ROOT/lab"                         # lab-only facts: GPUs, driver, call logs
LAB_DOCKER="$LAB_ROOT/var/lib/docker-shim"        # containers and images
LAB_UNITS="$LAB_ROOT/etc/systemd/system"          # unit files, as the node script writes them
LAB_SYSTEMD_RUN="$LAB_ROOT/run/systemd-shim"      # runtime state of units (gone on reboot)
LAB_JOURNAL="$LAB_ROOT/var/log/journal"           # one file per unit
LAB_PORTS="$LAB_ROOT/run/lab-ports"               # host ports published on the host's address
LAB_GPUS="$LAB_STATE/gpus"                        # index|name|memory MiB|uuid, one GPU a line

# lab_alive PID: whether PID is a running process (zombies count as dead: nothing reaps orphans
# on some machines, so `kill -0` alone lies).
lab_alive() {
	local pid=$1 stat
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	{ read -r stat <"/proc/$pid/stat"; } 2>/dev/null || return 1
	stat=${stat##*) }
	[[ ${stat:0:1} != Z && ${stat:0:1} != X ]]
}

# lab_cat FILE [DEFAULT]: FILE's first line, or DEFAULT (status 1 without one) when it cannot be
# read or is empty, without starting cat: the shims read their one-line state files often.
lab_cat() {
	local l=''
	if { IFS= read -r l || [[ -n $l ]]; } 2>/dev/null <"$1"; then
		printf '%s\n' "$l"
	elif (($# > 1)); then
		printf '%s\n' "$2"
	else
		return 1
	fi
}

# lab_wait_dead TIMEOUT_TENTHS PID...: wait until none of the PIDs is alive; 1 on timeout.
lab_wait_dead() {
	local tenths=$1 pid any
	shift
	while ((tenths-- > 0)); do
		any=
		for pid in "$@"; do
			if lab_alive "$pid"; then any=1; fi
		done
		[[ -z $any ]] && return 0
		sleep 0.1
	done
	return 1
}

# lab_record TOOL ARGS...: append one line to $LAB_STATE/TOOL.log, each word shell-quoted.
lab_record() {
	local tool=$1 line
	shift
	[[ -d $LAB_STATE ]] || mkdir -p "$LAB_STATE"
	printf -v line '%q ' "$@"
	TZ=UTC0 printf '%(%Y-%m-%dT%H:%M:%SZ)T %s %s\n' -1 "$tool" "${line% }" >>"$LAB_STATE/$tool.log"
}

# lab_json STRING: STRING as a JSON string literal.
lab_json() {
	local s=$1
	s=${s//\\/\\\\}
	s=${s//\"/\\\"}
	s=${s//$'\n'/\\n}
	s=${s//$'\r'/\\r}
	s=${s//$'\t'/\\t}
	printf '"%s"' "$s"
}

# lab_json_list WORD...: the words as a JSON list of strings.
lab_json_list() {
	local sep='' w
	printf '['
	for w in "$@"; do
		printf '%s' "$sep"
		lab_json "$w"
		sep=,
	done
	printf ']'
}

# lab_container_running DIR: whether the container whose state is in DIR runs.
lab_container_running() {
	local dir=$1 pid
	[[ -f $dir/exit ]] && return 1
	pid=$(cat "$dir/pid" 2>/dev/null) || return 1
	lab_alive "$pid"
}

# lab_gpu_total INDEX: the memory (MiB) of GPU INDEX, read by bash (no awk started).
lab_gpu_total() {
	local i name mem _
	while IFS='|' read -r i name mem _; do
		[[ $i == "$1" ]] && { printf '%s\n' "$mem"; return 0; }
	done 2>/dev/null <"$LAB_GPUS"
	return 0
}

# lab_gpu_used_mib INDEX [SKIP_DIR]: GPU memory that running containers hold on GPU INDEX, as a
# vLLM holds it: its --gpu-memory-utilization share of the GPU's memory.
lab_gpu_used_mib() {
	local index=$1 skip=${2:-} dir total used=0 util
	total=$(lab_gpu_total "$index")
	[[ -n $total ]] || { echo 0; return; }
	for dir in "$LAB_DOCKER"/containers/*/; do
		dir=${dir%/}
		[[ -d $dir && $dir != "$skip" ]] || continue
		lab_container_running "$dir" || continue
		grep -qx "$index" "$dir/gpus" 2>/dev/null || continue
		util=$(cat "$dir/gpu-util" 2>/dev/null || echo 0.92)
		used=$(awk -v u="$used" -v t="$total" -v f="$util" 'BEGIN { printf "%d", u + t * f }')
	done
	echo "$used"
}
