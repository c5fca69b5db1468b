// Package sshlab starts on-prem "GPU hosts" for tests: real OpenSSH sshd processes on
// 127.0.0.x addresses of their own, reached with real host-key checking, on which nvidia-smi,
// docker (and podman), systemctl, journalctl, curl and hostname are shims that act like a GPU
// host and run the vLLM stand-in (internal/acctest/cmd/vllm-standin) in place of the
// vllm/vllm-openai container. It needs Linux, root (sshd logs users in as root) and Debian's
// openssh-server; `make tools` installs it.
//
// # One machine, several hosts
//
// All lab hosts share this machine's filesystem, process table and loopback. Each host gets:
//
//   - its own address, 127.0.0.2 upwards, claimed with a lock file in the OS temp folder so
//     labs of test packages running at the same time never share one (nor, therefore, the ports
//     of their stand-ins), and its own free sshd port;
//   - its own state root, Host.Root (DIR/hosts/NAME/root): everything the node script would
//     write on a real host lives under it: /var/lib/inferstack as $INFERSTACK_ROOT/var/lib/inferstack,
//     /etc/systemd/system as $INFERSTACK_ROOT/etc/systemd/system, the HF cache, logs;
//   - its own shim folder, Host.ShimDir, whose shims know which host they belong to
//     (ShimDir/.lab/host.conf), whatever the environment they run in.
//
// sshd hands every session INFERSTACK_ROOT and INFERSTACK_SHIMS with `SetEnv` in the host's
// sshd_config (OpenSSH 7.8+; Start checks that a session sees them). A real host has neither,
// so remote commands start with ShimPATH (`export PATH="${INFERSTACK_SHIMS:+$INFERSTACK_SHIMS:}$PATH"`)
// and use paths like `${INFERSTACK_ROOT:-}/var/lib/inferstack`: unchanged on a real host,
// rooted in the lab. Tools must be called by name, not by absolute path (/usr/bin/docker would
// be the machine's own docker client).
//
// # A bastion
//
// A host started with HostSpec.Bastion is a jump host (SSH ProxyJump) instead of a GPU host: it
// has no GPUs, and its sshd permits TCP forwarding and logs (at DEBUG1) every connection it
// forwards. The GPU hosts still accept direct connections: a connection to 127.0.0.x from a
// socket bound to no address leaves from 127.0.0.1 (the source the kernel's loopback route
// gives), whether the bastion's sshd opens it or a test does, and sshd cannot bind what it
// forwards to an address of its own, so no AllowUsers or Match Address rule can tell the bastion
// from anyone else. Tests prove the route by counting instead: a host reached only through the
// bastion has its Host.Logins grow exactly as much as the bastion's Host.Forwards to it (Exec
// and Start's check log in directly, once each).
//
// # Why the shims win on purpose
//
// A session's PATH is not sshd's: root's login files (~/.bashrc, which bash reads for commands
// run by sshd) prepend folders of their own, and this machine has a real docker client in
// /usr/local/bin. Shims that merely sat somewhere on PATH would lose, or win by luck of order.
// So the lab never puts the shim folder on PATH: the command itself puts it first (ShimPATH),
// after the login files ran. Units started by the systemctl shim run with the shim folder first
// on PATH, and an absolute /usr/bin/docker (podman, nvidia-smi, ...) in ExecStart= runs the shim.
//
// # How faithful the shims are
//
// They answer in the shapes of the real tools and fail where the real ones fail, so a node
// script that passes here has a fair chance on a real host:
//
//   - nvidia-smi reports Lab.SetGPUs' GPUs; memory.used is the --gpu-memory-utilization share
//     (vLLM's default 0.92) of every running stand-in given that GPU.
//   - docker run reads --gpus as the docker CLI does, as one CSV record: `--gpus device=0,1` is
//     refused ("cannot set both Count and DeviceIDs"), `--gpus '"device=0,1"'` works; podman
//     (and docker) take CDI devices, `--device nvidia.com/gpu=0`; podman refuses image names
//     without a registry. Unknown GPU ids, a taken host port or container name, a missing
//     --env-file fail as in docker.
//   - Every image runs the stand-in with the container's arguments (the image's ENTRYPOINT is
//     `vllm serve`) and only the container's environment (-e, --env-file, plus
//     NVIDIA_VISIBLE_DEVICES from the GPUs given). Like vLLM it fails without GPUs, when
//     tensor x pipeline x data parallel size exceeds the GPUs given, and when the GPUs' free
//     memory is less than its --gpu-memory-utilization share.
//   - Where a stand-in listens: `-p IP:HOSTPORT:CONTAINERPORT`, CONTAINERPORT being the vLLM
//     --port (default 8000), listens on IP:HOSTPORT; without IP (or 0.0.0.0: every interface
//     of this host) on the host's own 127.0.0.x:HOSTPORT; --network host on the host's address
//     at the vLLM port. The curl shim sends http://127.0.0.1:PORT and localhost:PORT to the
//     host's address when a container published PORT without an IP, as a real host's loopback
//     would reach it.
//   - systemctl loads a unit when first used and keeps that definition until daemon-reload,
//     runs ExecStartPre, ExecStart detached (setsid, output to the unit's journal), Restart=,
//     ExecStop then SIGTERM to the unit's process group and SIGKILL after TimeoutStopSec, and
//     enable links from [Install] WantedBy= (a unit without [Install] cannot be enabled), and
//     the start limit (StartLimitIntervalSec=, StartLimitBurst=; systemd's defaults 10s and 5):
//     a unit started once too often in the window is failed (start-limit-hit), not restarted,
//     and refused starts until reset-failed or the window's end. Not modelled: drop-ins,
//     dependencies and ordering, StartLimitAction=, User=.
//
// # What the shims keep, and where
//
// Under Host.Root: lab/gpus and lab/driver (what nvidia-smi reports), lab/standin.env (how
// stand-ins behave; Host.SetStandin), lab/docker.log, lab/podman.log and lab/systemctl.log
// (every call, one a line, -e/--env values by name only; env files are never read into them),
// var/lib/docker-shim (containers, images), run/systemd-shim (the units' runtime state, cleared
// when the host stops, as a reboot clears /run), var/log/journal (units' output, for journalctl).
//
// Host.Stop is a power cut: sshd, its sessions and everything the shims started are killed.
// Host.Start is the boot: sshd on the same address, port and key, --rm containers gone,
// containers with restart policy always or unless-stopped and enabled units started again.
// Every process a shim starts carries INFERSTACK_ROOT=<host root> in its environment, and sshd
// is found by its config path and environment: Stop and Lab.Close find them all in /proc and
// kill them, so nothing outlives the lab. Lab.Start kills what an earlier, unclosed lab in the
// same folder left running.
package sshlab
