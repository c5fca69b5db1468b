// Package vllm renders how every inferstack GPU node runs vLLM (DESIGN.md section 4), so that the
// backends only decide how to reach a node: SSH on-prem, cloud-init on AWS and Azure.
//
// A Spec is the desired state of one endpoint on one node: the model pinned to a commit, the
// served name, the engine settings, LoRA adapters, the replicas (GPU ids and ports, fixed or left
// to the node), the image and the secrets by reference. NodeBundle turns it into everything a node
// needs: the node script, the spec JSON the script converges to, the replicas' systemd units and
// cloud-init user data. The renderers are also callable one by one: Spec.ServeArgs (the `vllm
// serve` arguments), Spec.ContainerCommand (docker or podman run), Spec.Unit (the unit of a
// placed replica).
//
// # Extra args and the flag table
//
// Engine.ExtraArgs are checked against the flag table of the pinned vLLM release, embedded from
// data/vllm-serve-args.json (FlagTableRelease, FlagTableCommit; see data/README.md): an unknown
// flag is an error naming the nearest flags, a value of the wrong type or outside the flag's
// choices is an error, and a flag a typed attribute owns (--tensor-parallel-size) is an error
// naming that attribute. Validate returns every problem as a *SpecError with its attribute path.
//
// # Secrets
//
// The API key reaches vLLM as VLLM_API_KEY, the Hugging Face token as HF_TOKEN, both in the
// endpoint's env file (EnvFilePath, mode 0600, passed with --env-file), never on a command line
// (it would show in ps) and never in the spec, the units or the user data. The spec holds
// references (SecretRef): a file the caller wrote (SecretFilePath; the SSH backend), or a secret
// in AWS Secrets Manager, SSM Parameter Store or Azure Key Vault, which the node script reads at
// every converge (at boot on the clouds) with the node's identity.
//
// # The node script
//
// inferstack-node (node.sh.tmpl, bash, clean under shellcheck; needs jq, curl, flock, systemctl,
// nvidia-smi and docker or podman):
//
//	inferstack-node apply SPEC.json|-   converge the endpoint SPEC describes; status JSON on stdout
//	inferstack-node status ENDPOINT     probe its replicas once; status JSON; changes nothing
//	inferstack-node remove ENDPOINT     stop and delete its units, env file, spec and secret files,
//	                                    free its GPUs and ports; removal JSON
//	inferstack-node gpus                the node's GPUs, who holds each, the free ones; JSON
//	inferstack-node version             "inferstack-node VERSION (spec schema N)"
//
// apply is idempotent: it writes the spec and the env file, pulls the image when it is missing,
// stops and deletes replicas the spec no longer has, allocates GPUs and ports, writes each unit
// and restarts a replica only when its unit or the env file changed (starting one that is not
// running), then waits until every replica answers GET /health with 200 and lists the served name
// in GET /v1/models (with the API key), up to the spec's ready timeout. It stops waiting for a
// replica that crash-loops (vLLM exits at start: out of GPU memory, a bad flag): its unit is
// failed (a start limit set by hand), or restarted CrashRestarts times during the wait (the units
// themselves restart without limit, see RestartDelay); the reason names the restarts, the last exit status and
// vLLM's last error line, and apply returns once no replica it waits for is left. Before each
// start it makes, apply runs `systemctl reset-failed`, so a unit that hit its start limit starts
// again. Exit status: 0 ready, 1 not ready in time or crash-looped (ExitNotReady), 2 bad usage,
// spec or secret (ExitUsage), 3 no free GPUs or ports (ExitNoRoom), 4 a prerequisite missing
// (ExitMissing). Its stdout is one JSON document (Status, GPUReport or Removal); progress goes to
// stderr.
//
// It fails closed. Every file it writes is written whole to a temp file, synced and renamed; a
// write that fails (disk full, read-only) leaves the old file and fails the converge, and no
// replica starts unless the env file on disk holds VLLM_API_KEY. A ledger that does not parse
// stops every command that reads it (the last good one is kept as ledger.json.bak). A unit that
// systemd refuses to start (masked, bad-setting, not-found, a failed ExecStartPre) fails the
// converge at once with systemd's message. A spec whose values hold control characters is refused.
//
// Everything the script writes lives under ${INFERSTACK_ROOT:-} (empty on real nodes; one root
// per lab host in tests), and it puts ${INFERSTACK_SHIMS} first on PATH when that is set, so the
// lab's shims of docker, systemctl and nvidia-smi win on purpose:
//
//	/usr/local/sbin/inferstack-node                  the script (ScriptPath)
//	/etc/inferstack/specs/ENDPOINT.json              the spec as last applied (0600)
//	/etc/inferstack/ENDPOINT.env                     VLLM_API_KEY, HF_TOKEN (0600, folder 0700)
//	/etc/inferstack/secrets/ENDPOINT/VAR             secret files written by the SSH backend
//	/etc/systemd/system/inferstack-ENDPOINT-N.service
//	/var/lib/inferstack/ledger.json                  GPU and port allocations, under ledger.lock
//	/var/lib/inferstack/ledger.json.bak              the ledger before its last change
//	/var/lib/inferstack/cache-dir                    the HF cache folder chosen on first converge
//
// # GPU and port allocation
//
// A shared host's GPUs are allocated on the host itself, in the ledger, under an exclusive flock,
// so endpoints converging at once never get the same GPU. A replica with fixed GPU ids keeps them
// (an error when another endpoint holds one); a replica without gets GPUsPerReplica free GPUs,
// lowest index first, and keeps them across converges while they still fit. Ports likewise, from
// PortBase up. Removing a replica or an endpoint frees its entries. Unit templates carry
// placeholders (@INFERSTACK_GPUS@, @INFERSTACK_PORT@, ...) for what the node decides; the script
// substitutes them, so the unit on the node is exactly Spec.Unit for the placement it chose.
//
// # Listening
//
// Nothing listens publicly by default: a replica's port is published on ListenAddress, which
// defaults to the node's primary private IPv4 address (the script refuses a public one); 0.0.0.0
// must be asked for. The health checks use HealthAddress (default: the listen address).
package vllm
