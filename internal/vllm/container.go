package vllm

import (
	"fmt"
	"net/netip"
	"path"
	"slices"
	"strconv"
	"strings"
)

// containerHFCache is the Hugging Face cache inside the vllm/vllm-openai image.
const containerHFCache = "/root/.cache/huggingface"

// Placeholders in unit templates for what only the node knows; the node script substitutes
// them (see nodeScript). Each stands for a value of safe characters only.
const (
	phRoot       = "@INFERSTACK_ROOT@"        // state root prefix, "" on a real node
	phRuntime    = "@INFERSTACK_RUNTIME@"     // absolute path of docker or podman
	phGPUs       = "@INFERSTACK_GPUS@"        // GPU indices, "0,1"
	phGPUDevices = "@INFERSTACK_GPU_DEVICES@" // podman: --device nvidia.com/gpu=0 --device ...
	phPort       = "@INFERSTACK_PORT@"        // host port (= container port)
	phListen     = "@INFERSTACK_LISTEN@"      // address the port is published on
	phCache      = "@INFERSTACK_CACHE@"       // the HF cache directory, below the root
)

// Paths on the node, below the state root (INFERSTACK_ROOT, empty on a real node).
const (
	ScriptPath = "/usr/local/sbin/inferstack-node"
	SpecDir    = "/etc/inferstack/specs"
	EnvDir     = "/etc/inferstack"
	UnitDir    = "/etc/systemd/system"
	StateDir   = "/var/lib/inferstack"
)

// ContainerName is the container of an endpoint's replica.
func ContainerName(endpoint string, index int) string {
	return "inferstack-" + endpoint + "-" + strconv.Itoa(index)
}

// UnitName is the systemd unit of an endpoint's replica.
func UnitName(endpoint string, index int) string { return ContainerName(endpoint, index) + ".service" }

// EnvFilePath is the root-only env file of an endpoint (VLLM_API_KEY, HF_TOKEN), which the node
// script writes from the secret references.
func EnvFilePath(endpoint string) string { return EnvDir + "/" + endpoint + ".env" }

// SpecPath is where a node keeps an endpoint's spec JSON.
func SpecPath(endpoint string) string { return SpecDir + "/" + endpoint + ".json" }

// Placement is what the node decides for a replica: where it runs. Fields left zero are taken
// from the replica and the spec; what neither gives is an error in the renderers that need it.
type Placement struct {
	// Root is the state root prefix ("" on a real node; a directory per lab host in tests).
	Root string
	// RuntimePath is the absolute path of the container runtime. Default /usr/bin/<runtime>.
	RuntimePath string
	// GPUs are the GPU indices of the replica. Default Replica.GPUs.
	GPUs []int
	// Port is the host port (and the container port). Default Replica.Port.
	Port int
	// ListenAddress is the address the port is published on. Default Spec.ListenAddress.
	ListenAddress string
	// CacheDir is the HF cache on the node, without Root. Default Spec.CacheDir.
	CacheDir string
}

// placement is a Placement as the words of the renderers: values or placeholders.
type placement struct {
	root, runtime, gpus, port, listen, cache string
	gpuDevices                               []string // podman's --device words
}

// resolve fills in a Placement from the replica and spec; missing values are an error.
func (s Spec) resolve(r Replica, p Placement) (placement, error) {
	if p.RuntimePath == "" {
		p.RuntimePath = "/usr/bin/" + string(s.Runtime)
	}
	if len(p.GPUs) == 0 {
		p.GPUs = r.GPUs
	}
	if p.Port == 0 {
		p.Port = r.Port
	}
	if p.ListenAddress == "" {
		p.ListenAddress = s.ListenAddress
	}
	if p.CacheDir == "" {
		p.CacheDir = s.CacheDir
	}
	var missing []string
	if len(p.GPUs) == 0 {
		missing = append(missing, "GPU ids")
	}
	if p.Port == 0 {
		missing = append(missing, "port")
	}
	if p.ListenAddress == "" {
		missing = append(missing, "listen address")
	}
	if p.CacheDir == "" {
		missing = append(missing, "cache dir")
	}
	if len(missing) > 0 {
		return placement{}, fmt.Errorf("placing replica %d of %s: no %s (the node script decides these; give them to render a final unit)",
			r.Index, s.Endpoint, strings.Join(missing, ", "))
	}
	if p.Root != "" && (!safePath.MatchString(p.Root) || path.Clean(p.Root) != p.Root) {
		return placement{}, fmt.Errorf("placing replica %d of %s: root %q is not a clean absolute path of safe characters", r.Index, s.Endpoint, p.Root)
	}
	if !safePath.MatchString(p.RuntimePath) || !safePath.MatchString(p.CacheDir) {
		return placement{}, fmt.Errorf("placing replica %d of %s: paths %q and %q must be absolute paths of safe characters", r.Index, s.Endpoint, p.RuntimePath, p.CacheDir)
	}
	if a, err := netip.ParseAddr(p.ListenAddress); err != nil || !a.Is4() {
		return placement{}, fmt.Errorf("placing replica %d of %s: listen address %q is not an IPv4 address", r.Index, s.Endpoint, p.ListenAddress)
	}
	if p.Port < 1 || p.Port > 65535 {
		return placement{}, fmt.Errorf("placing replica %d of %s: port %d is not a port", r.Index, s.Endpoint, p.Port)
	}
	gpus, devices := gpuWords(p.GPUs)
	return placement{
		root:       p.Root,
		runtime:    p.RuntimePath,
		gpus:       gpus,
		gpuDevices: devices,
		port:       strconv.Itoa(p.Port),
		listen:     p.ListenAddress,
		cache:      p.Root + p.CacheDir,
	}, nil
}

// template is the placement of a replica as the node script sees it before it decides: fixed
// values where the spec gives them, placeholders for the rest.
func (s Spec) template(r Replica) placement {
	p := placement{
		root:       phRoot,
		runtime:    phRuntime,
		gpus:       phGPUs,
		gpuDevices: []string{phGPUDevices},
		port:       phPort,
		listen:     phListen,
		cache:      phCache,
	}
	// Fixed GPU ids and ports still go through the node's ledger (it checks that no other
	// endpoint holds them), but need no substitution.
	if len(r.GPUs) > 0 {
		p.gpus, p.gpuDevices = gpuWords(r.GPUs)
	}
	if r.Port != 0 {
		p.port = strconv.Itoa(r.Port)
	}
	return p
}

// ContainerCommand renders the command that runs a replica in the foreground under its systemd
// unit: `docker run` (or `podman run`) with the replica's GPUs, --ipc=host, its port published on
// the listen address, the HF cache volume, the root-only env file and the vLLM arguments.
//
// The container is removed when it stops (--rm) and has no restart policy of its own: the unit's
// Restart= (Spec.Restart) restarts it, so two supervisors never fight over it.
func (s Spec) ContainerCommand(r Replica, p Placement) ([]string, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	s = s.withDefaults()
	pl, err := s.resolve(r, p)
	if err != nil {
		return nil, err
	}
	return flatten(s.containerCommand(r, pl)), nil
}

// containerCommand renders the command as groups of words, a group a line in a unit file.
func (s Spec) containerCommand(r Replica, p placement) [][]string {
	name := ContainerName(s.Endpoint, r.Index)
	cmd := [][]string{
		{p.runtime, "run", "--rm", "--name", name},
		{"--label", "inferstack.endpoint=" + s.Endpoint, "--label", "inferstack.replica=" + strconv.Itoa(r.Index)},
	}
	image := s.Engine.Image
	switch s.Runtime {
	case RuntimePodman:
		// CDI devices (nvidia-ctk cdi generate); SELinux labels would hide the device nodes.
		cmd = append(cmd, append(slices.Clone(p.gpuDevices), "--security-opt", "label=disable"))
		image = qualifyImage(image)
	default:
		// The quotes are part of the value: docker reads --gpus as CSV, and device=0,1 unquoted
		// would be two fields.
		cmd = append(cmd, []string{"--gpus", `"device=` + p.gpus + `"`})
	}
	cmd = append(cmd,
		[]string{"--ipc=host"},
		[]string{"-p", p.listen + ":" + p.port + ":" + p.port},
		[]string{"-v", p.cache + ":" + containerHFCache},
	)
	for _, a := range s.LoRAAdapters {
		if strings.HasPrefix(a.Source, "/") {
			cmd = append(cmd, []string{"-v", p.root + a.Source + ":" + a.Source + ":ro"})
		}
	}
	cmd = append(cmd, []string{"--env-file", p.root + EnvFilePath(s.Endpoint)})
	for _, k := range sortedKeys(s.Env) {
		cmd = append(cmd, []string{"-e", k + "=" + s.Env[k]})
	}
	cmd = append(cmd, []string{image})
	// vLLM arguments: the model and revision on one line, each flag with its values on the next.
	args := s.serveArgs(p.port)
	group := []string{args[0]}
	for _, a := range args[1:] {
		if isFlagToken(a) {
			cmd = append(cmd, group)
			group = nil
		}
		group = append(group, a)
	}
	return append(cmd, group)
}

// qualifyImage prefixes docker.io/ to an image without a registry: podman does not guess one.
func qualifyImage(image string) string {
	first, _, found := strings.Cut(image, "/")
	if found && (strings.ContainsAny(first, ".:") || first == "localhost") {
		return image
	}
	return "docker.io/" + image
}

// gpuWords renders GPU indices as docker's list ("0,1") and podman's CDI device words.
func gpuWords(ids []int) (string, []string) {
	list := make([]string, len(ids))
	var devices []string
	for i, g := range ids {
		list[i] = strconv.Itoa(g)
		devices = append(devices, "--device", "nvidia.com/gpu="+list[i])
	}
	return strings.Join(list, ","), devices
}

func flatten(groups [][]string) []string {
	var out []string
	for _, g := range groups {
		out = append(out, g...)
	}
	return out
}
