package vllm

import (
	"github.com/inferstack/terraform-provider-inferstack/internal/errs"

	"errors"
	"fmt"
	"net/netip"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// DefaultImage is the vLLM image of the pinned release: the release whose flag table is embedded.
const DefaultImage = "vllm/vllm-openai:" + FlagTableRelease

// Defaults of a Spec.
const (
	DefaultReadyTimeout = 20 * time.Minute // download, load and CUDA graph capture of a large model
	DefaultPortBase     = 8000             // first host port the node hands out
)

// Spec is the desired state of one endpoint on one node: the vLLM replicas the node runs for it.
// The node script converges the node to it (see NodeBundle); other endpoints on the same node are
// left alone. Secrets are held by reference only.
type Spec struct {
	// Endpoint names the endpoint on the node: units inferstack-<Endpoint>-<replica>.service,
	// containers, the env file, ledger entries. Lower-case letters, digits and dashes, at most 40.
	Endpoint string
	// Model is the Hugging Face model and the commit it is pinned to.
	Model Model
	// ServedModelName is the model name clients send (vLLM's --served-model-name). Default: Model.ID.
	ServedModelName string
	// Engine holds the vLLM settings: image and flags.
	Engine Engine
	// LoRAAdapters are served beside the base model under their own names (--enable-lora
	// --lora-modules NAME=SOURCE).
	LoRAAdapters []LoRAAdapter
	// Replicas are the vLLM processes of this endpoint on this node, one systemd unit each.
	Replicas []Replica
	// GPUsPerReplica is how many GPUs a replica without fixed GPU ids gets from the node's ledger.
	// Default: tensor parallel x pipeline parallel x data parallel size.
	GPUsPerReplica int
	// Runtime is the container runtime. Default RuntimeDocker.
	Runtime Runtime
	// ListenAddress is the node address the replicas' ports are published on. Empty: the node's
	// primary private IPv4 address, found on the node (the source address of its default route);
	// the script refuses a public one. "0.0.0.0" publishes on every interface and must be asked
	// for explicitly: nothing listens publicly by default.
	ListenAddress string
	// HealthAddress is where the node script probes /health and /v1/models. Default: the listen
	// address, or 127.0.0.1 when that is 0.0.0.0.
	HealthAddress string
	// CacheDir is the Hugging Face cache on the node, mounted at /root/.cache/huggingface in the
	// container. Empty: the largest local filesystem, chosen on the first converge and kept.
	CacheDir string
	// PortBase is the first host port the node hands out to replicas without a fixed port.
	// Default DefaultPortBase.
	PortBase int
	// Env is extra, non-secret environment of the container (visible in the unit file).
	Env map[string]string
	// Secrets are the API key and the Hugging Face token, by reference.
	Secrets Secrets
	// Restart is the systemd restart policy of the replicas. Default RestartOnFailure.
	Restart RestartPolicy
	// ReadyTimeout bounds the node script's wait for the replicas to answer /health and list the
	// served model in /v1/models. Default DefaultReadyTimeout.
	ReadyTimeout time.Duration
	// MetricsPublish, when set, makes the node publish the endpoint's serving signals to
	// CloudWatch every minute, for autoscaling on them (AWS).
	MetricsPublish *MetricsPublish
}

// Model is a Hugging Face model pinned to a commit.
type Model struct {
	// ID is the repository id ("meta-llama/Llama-3.1-8B-Instruct").
	ID string
	// Revision is the resolved commit sha (40 hex digits), never a branch: the node downloads
	// exactly what was sized and planned.
	Revision string
}

// Engine holds the vLLM settings that the typed attributes own, and the rest as ExtraArgs.
type Engine struct {
	// Image is the vllm/vllm-openai image, pinned: a release tag ("vllm/vllm-openai:v0.22.0")
	// or a digest ("vllm/vllm-openai@sha256:..."). Default DefaultImage. A node pulls it only
	// when it does not have it, so a moving reference (no tag, :latest) would leave nodes on
	// whatever each pulled first; Validate refuses it.
	Image string
	// TensorParallelSize is the number of GPUs a layer is split across. Default 1.
	TensorParallelSize int
	// PipelineParallelSize is the number of pipeline stages. Default 1.
	PipelineParallelSize int
	// MaxModelLen is the context length in tokens; 0 leaves vLLM's default (the model's).
	MaxModelLen int
	// GPUMemoryUtilization is the share of each GPU's memory vLLM may take (0 < x <= 1); 0 leaves
	// vLLM's default.
	GPUMemoryUtilization float64
	// DType is the weight and activation dtype ("auto", "bfloat16", "float16", ...); "" leaves
	// vLLM's default.
	DType string
	// Quantization is the weight quantization method ("awq", "gptq", "fp8", "bitsandbytes", ...).
	Quantization string
	// KVCacheDType is the KV-cache dtype ("auto", "fp8", ...).
	KVCacheDType string
	// MaxNumSeqs caps the sequences in one batch; 0 leaves vLLM's default.
	MaxNumSeqs int
	// EnablePrefixCaching turns automatic prefix caching on or off; nil leaves vLLM's default.
	EnablePrefixCaching *bool
	// ExtraArgs are further `vllm serve` arguments ("--enforce-eager", "--max-lora-rank", "64"),
	// checked against the flag table of the pinned release.
	ExtraArgs []string
}

// LoRAAdapter is a LoRA (or QLoRA) adapter served beside the base model.
type LoRAAdapter struct {
	// Name is the model name clients send to use the adapter.
	Name string
	// Source is a Hugging Face repository id, or an absolute path on the node (mounted read-only
	// into the container at the same path).
	Source string
}

// Replica is one vLLM process of the endpoint on the node.
type Replica struct {
	// Index identifies the replica on the node (unit inferstack-<endpoint>-<index>.service).
	Index int
	// GPUs are fixed GPU indices. Empty: the node script allocates GPUsPerReplica GPUs from the
	// node's ledger, keeps them across converges and frees them when the replica goes.
	GPUs []int
	// Port is the host port. 0: the node script allocates one from PortBase up, and keeps it.
	Port int
}

// Runtime is a container runtime.
type Runtime string

// Container runtimes.
const (
	RuntimeDocker Runtime = "docker"
	RuntimePodman Runtime = "podman"
)

// RestartPolicy is a systemd Restart= value.
type RestartPolicy string

// Restart policies.
const (
	RestartOnFailure RestartPolicy = "on-failure"
	RestartAlways    RestartPolicy = "always"
	RestartNo        RestartPolicy = "no"
)

// Secrets are the secrets of an endpoint, by reference.
type Secrets struct {
	// APIKey is the key clients must send; required: vLLM never runs without one.
	APIKey SecretRef
	// HFToken is the Hugging Face token for gated models; zero when none.
	HFToken SecretRef
}

// SecretSource says where a secret's value lives.
type SecretSource string

// Secret sources. The node script reads each at every converge (at boot on the clouds).
const (
	// SecretFile: Name is a file on the node (under the state root) holding the value, written
	// by the caller with mode 0600 (the SSH backend); see SecretFilePath.
	SecretFile SecretSource = "file"
	// SecretAWSSecretsManager: Name is a secret ARN or name, read with the AWS CLI and the
	// instance's role.
	SecretAWSSecretsManager SecretSource = "aws-secrets-manager"
	// SecretAWSSSMParameter: Name is a SecureString parameter name, read with the AWS CLI.
	SecretAWSSSMParameter SecretSource = "aws-ssm-parameter"
	// SecretAzureKeyVault: Name is a secret URL (https://VAULT.vault.azure.net/secrets/NAME[/VERSION]),
	// read with the VM's managed identity.
	SecretAzureKeyVault SecretSource = "azure-key-vault"
)

// SecretRef points at a secret's value without holding it.
type SecretRef struct {
	Source SecretSource `json:"source"`
	Name   string       `json:"name"`
	// JSONKey, when set, takes this key of a JSON object value (a Secrets Manager secret with
	// several keys).
	JSONKey string `json:"json_key,omitempty"`
	// Region is the AWS region of an SSM parameter or a secret given by name (an ARN names its own).
	Region string `json:"region,omitempty"`
	// ClientID selects a user-assigned managed identity on Azure.
	ClientID string `json:"client_id,omitempty"`
}

// IsZero reports whether the reference is unset.
func (r SecretRef) IsZero() bool { return r == SecretRef{} }

// SecretFilePath is where a caller that writes secrets itself (the SSH backend) puts the value
// of an endpoint's secret: a root-only file, named by the environment variable it becomes.
// Under a state root (INFERSTACK_ROOT) the node script looks for it below that root.
func SecretFilePath(endpoint, envVar string) string {
	return "/etc/inferstack/secrets/" + endpoint + "/" + envVar
}

// SpecError is a problem with one attribute of a Spec; Attribute is the attribute path as the
// provider's schema names it ("engine.extra_args", "model.revision").
type SpecError = errs.Problem

// SpecErrors returns every *SpecError in err (a joined error from Validate).
func SpecErrors(err error) []*SpecError { return errs.Problems(err) }

// Attribute paths of a Spec in the provider's schema, used in SpecError.
const (
	AttrEndpoint             = "endpoint"
	AttrModelID              = "model.id"
	AttrModelRevision        = "model.revision"
	AttrServedModelName      = "served_model_name"
	AttrImage                = "engine.image"
	AttrTensorParallelSize   = "engine.tensor_parallel_size"
	AttrPipelineParallelSize = "engine.pipeline_parallel_size"
	AttrMaxModelLen          = "engine.max_model_len"
	AttrGPUMemoryUtilization = "engine.gpu_memory_utilization"
	AttrDType                = "engine.dtype"
	AttrQuantization         = "engine.quantization"
	AttrKVCacheDType         = "engine.kv_cache_dtype"
	AttrMaxNumSeqs           = "engine.max_num_seqs"
	AttrEnablePrefixCaching  = "engine.enable_prefix_caching"
	AttrExtraArgs            = "engine.extra_args"
	AttrLoRAAdapters         = "lora_adapters"
	AttrReplicas             = "replicas"
	AttrAutoscaling          = "autoscaling"
	AttrGPUsPerReplica       = "gpus_per_replica"
	AttrRuntime              = "runtime"
	AttrListenAddress        = "listen_address"
	AttrHealthAddress        = "health_address"
	AttrCacheDir             = "cache_dir"
	AttrPortBase             = "port_base"
	AttrEnv                  = "env"
	AttrAPIKey               = "api_key"
	AttrHFToken              = "huggingface.token"
	AttrRestart              = "restart"
	AttrReadyTimeout         = "timeouts.create"
)

// EndpointNamePattern is what an endpoint's name must match on every backend: it names units,
// containers and files on a node, and AWS objects.
var EndpointNamePattern = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$`)

var (
	repoIDRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$`)
	shaRE    = regexp.MustCompile(`^[0-9a-f]{40}$`)
	// nameRE is a served or adapter name: what clients send as "model".
	nameRE   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:/-]*$`)
	envRE    = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	imageRE  = regexp.MustCompile(`^[a-z0-9][A-Za-z0-9._/:@-]*$`)
	safePath = regexp.MustCompile(`^/[A-Za-z0-9._/+-]*$`)
	regionRE = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`)
	vaultRE  = regexp.MustCompile(`^https://[A-Za-z0-9-]+\.vault\.(azure\.net|azure\.cn|usgovcloudapi\.net)/secrets/[A-Za-z0-9-]+(/[A-Za-z0-9]+)?$`)
	uuidRE   = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	digestRE = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)
)

// HasControl reports whether s holds a control character: C0 (line feed, carriage return, NUL,
// tab...) or DEL. Every value the node renders into a systemd unit, an env file or a shell word
// is refused with one: a line break in a unit value starts a new directive that systemd runs as
// root (ExecStartPre=...), and in an env file a new variable.
func HasControl(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f {
			return true
		}
	}
	return false
}

// controlDetail is the detail of a value refused by HasControl.
const controlDetail = "holds a control character (line break, carriage return, NUL, tab...): a systemd unit, env file or shell word on the node cannot hold it safely"

// imageProblem says what is wrong with an image reference, "" when it is pinned.
func imageProblem(image string) string {
	if HasControl(image) || !imageRE.MatchString(image) {
		return "is not a container image reference"
	}
	name, digest, pinned := strings.Cut(image, "@")
	if pinned {
		if !digestRE.MatchString(digest) {
			return "has a digest that is not sha256:<64 lower-case hex digits>"
		}
	}
	base := path.Base(name)
	_, tag, tagged := strings.Cut(base, ":")
	switch {
	case pinned:
		return ""
	case !tagged || tag == "":
		return "has no tag: pin the vLLM release (e.g. " + DefaultImage + ") or a digest (repo@sha256:...)"
	case tag == "latest":
		return "uses the moving tag :latest: every node would run whatever it pulled first; pin the vLLM release (e.g. " + DefaultImage + ") or a digest (repo@sha256:...)"
	}
	return ""
}

// secretEnv are the variables the secrets become; Env may not set them.
var secretEnv = []string{"VLLM_API_KEY", "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"}

// withDefaults returns the spec with every default filled in.
func (s Spec) withDefaults() Spec {
	if s.ServedModelName == "" {
		s.ServedModelName = s.Model.ID
	}
	if s.Engine.Image == "" {
		s.Engine.Image = DefaultImage
	}
	if s.Engine.TensorParallelSize == 0 {
		s.Engine.TensorParallelSize = 1
	}
	if s.Engine.PipelineParallelSize == 0 {
		s.Engine.PipelineParallelSize = 1
	}
	if s.GPUsPerReplica == 0 {
		s.GPUsPerReplica = s.Engine.TensorParallelSize * s.Engine.PipelineParallelSize * dataParallelSize(s.Engine.ExtraArgs)
	}
	if s.Runtime == "" {
		s.Runtime = RuntimeDocker
	}
	if s.PortBase == 0 {
		s.PortBase = DefaultPortBase
	}
	if s.Restart == "" {
		s.Restart = RestartOnFailure
	}
	if s.ReadyTimeout == 0 {
		s.ReadyTimeout = DefaultReadyTimeout
	}
	if s.HealthAddress == "" && s.ListenAddress == "0.0.0.0" {
		s.HealthAddress = "127.0.0.1"
	}
	return s
}

// dataParallelSize reads --data-parallel-size (or -dp) from extra args; 1 when absent or bad
// (a bad value is reported by the extra-args check).
func dataParallelSize(args []string) int {
	for i, a := range args {
		name, val, inline := strings.Cut(a, "=")
		if canonicalName(name) != "--data-parallel-size" && name != "-dp" {
			continue
		}
		if !inline && i+1 < len(args) {
			val = args[i+1]
		}
		if n, err := strconv.Atoi(val); err == nil && n > 0 {
			return n
		}
	}
	return 1
}

// Validate checks the spec and returns every problem as a *SpecError, joined.
func (s Spec) Validate() error {
	s = s.withDefaults()
	var errs []error
	bad := func(attr, format string, args ...any) {
		errs = append(errs, &SpecError{Attribute: attr, Detail: fmt.Sprintf(format, args...)})
	}
	table, err := Flags()
	if err != nil {
		return err
	}

	if !EndpointNamePattern.MatchString(s.Endpoint) {
		bad(AttrEndpoint, "%q must be 1 to 40 lower-case letters, digits and dashes, starting and ending with a letter or digit", s.Endpoint)
	}
	if !repoIDRE.MatchString(s.Model.ID) {
		bad(AttrModelID, "%q is not a Hugging Face repository id (owner/name)", s.Model.ID)
	}
	if !shaRE.MatchString(s.Model.Revision) {
		bad(AttrModelRevision, "%q is not a commit sha: resolve the branch or tag to its 40-hex-digit commit first, so every node serves the same weights", s.Model.Revision)
	}
	if HasControl(s.ServedModelName) {
		bad(AttrServedModelName, "%q %s", s.ServedModelName, controlDetail)
	} else if !nameRE.MatchString(s.ServedModelName) {
		bad(AttrServedModelName, "%q must start with a letter or digit and hold only letters, digits and . _ : / -", s.ServedModelName)
	}
	if p := imageProblem(s.Engine.Image); p != "" {
		bad(AttrImage, "%q %s", s.Engine.Image, p)
	}
	if s.MetricsPublish != nil {
		if p := s.MetricsPublish.problem(); p != "" {
			bad(AttrAutoscaling, "publishing metrics: %s", p)
		}
	}

	e := s.Engine
	if e.TensorParallelSize < 1 {
		bad(AttrTensorParallelSize, "must be at least 1, got %d", e.TensorParallelSize)
	}
	if e.PipelineParallelSize < 1 {
		bad(AttrPipelineParallelSize, "must be at least 1, got %d", e.PipelineParallelSize)
	}
	if e.MaxModelLen < 0 {
		bad(AttrMaxModelLen, "must be positive, got %d", e.MaxModelLen)
	}
	if e.GPUMemoryUtilization < 0 || e.GPUMemoryUtilization > 1 {
		bad(AttrGPUMemoryUtilization, "must be greater than 0 and at most 1, got %g", e.GPUMemoryUtilization)
	}
	if e.MaxNumSeqs < 0 {
		bad(AttrMaxNumSeqs, "must be positive, got %d", e.MaxNumSeqs)
	}
	for _, c := range []struct{ attr, flag, value string }{
		{AttrDType, "--dtype", e.DType},
		{AttrQuantization, "--quantization", e.Quantization},
		{AttrKVCacheDType, "--kv-cache-dtype", e.KVCacheDType},
	} {
		if c.value == "" {
			continue
		}
		f, _ := table.Lookup(c.flag)
		allowed := f.Choices
		if len(allowed) == 0 {
			allowed = f.KnownValues
		}
		if !slices.Contains(allowed, c.value) {
			bad(c.attr, "%q is not one of %s (vLLM %s)", c.value, strings.Join(allowed, ", "), FlagTableRelease)
		}
	}
	for _, err := range checkExtraArgs(table, e.ExtraArgs) {
		errs = append(errs, &SpecError{Attribute: AttrExtraArgs, Detail: err.Error()})
	}

	adapters := map[string]bool{}
	for i, a := range s.LoRAAdapters {
		attr := fmt.Sprintf("%s[%d]", AttrLoRAAdapters, i)
		switch {
		case HasControl(a.Name):
			bad(attr+".name", "%q %s", a.Name, controlDetail)
		case !nameRE.MatchString(a.Name):
			bad(attr+".name", "%q must start with a letter or digit and hold only letters, digits and . _ : / -", a.Name)
		case a.Name == s.ServedModelName:
			bad(attr+".name", "%q is the served model name of the base model", a.Name)
		case adapters[a.Name]:
			bad(attr+".name", "%q names two adapters", a.Name)
		}
		adapters[a.Name] = true
		if HasControl(a.Source) {
			bad(attr+".source", "%q %s", a.Source, controlDetail)
		} else if !repoIDRE.MatchString(a.Source) && !(safePath.MatchString(a.Source) && path.Clean(a.Source) == a.Source) {
			bad(attr+".source", "%q is neither a Hugging Face repository id (owner/name) nor a clean absolute path", a.Source)
		}
	}

	seenIndex, seenPort, seenGPU := map[int]bool{}, map[int]bool{}, map[int]int{}
	for i, r := range s.Replicas {
		attr := fmt.Sprintf("%s[%d]", AttrReplicas, i)
		if r.Index < 0 || seenIndex[r.Index] {
			bad(attr+".index", "%d is negative or used twice", r.Index)
		}
		seenIndex[r.Index] = true
		if r.Port != 0 {
			if r.Port < 1 || r.Port > 65535 || seenPort[r.Port] {
				bad(attr+".port", "%d is not a port, or is used twice", r.Port)
			}
			seenPort[r.Port] = true
		}
		if len(r.GPUs) > 0 && len(r.GPUs) != s.GPUsPerReplica {
			bad(attr+".gpus", "lists %d GPUs, the replica needs %d (tensor x pipeline x data parallel size, or gpus_per_replica)", len(r.GPUs), s.GPUsPerReplica)
		}
		for _, g := range r.GPUs {
			if g < 0 {
				bad(attr+".gpus", "GPU index %d is negative", g)
			} else if other, dup := seenGPU[g]; dup {
				bad(attr+".gpus", "GPU %d is also given to replica %d", g, other)
			}
			seenGPU[g] = r.Index
		}
	}
	if s.GPUsPerReplica < 1 {
		bad(AttrGPUsPerReplica, "must be at least 1, got %d", s.GPUsPerReplica)
	} else if s.GPUsPerReplica < e.TensorParallelSize*e.PipelineParallelSize {
		bad(AttrGPUsPerReplica, "%d is fewer than tensor_parallel_size x pipeline_parallel_size = %d", s.GPUsPerReplica, e.TensorParallelSize*e.PipelineParallelSize)
	}
	if s.PortBase < 1 || s.PortBase > 65535 {
		bad(AttrPortBase, "%d is not a port", s.PortBase)
	}

	if s.Runtime != RuntimeDocker && s.Runtime != RuntimePodman {
		bad(AttrRuntime, "%q is neither %q nor %q", s.Runtime, RuntimeDocker, RuntimePodman)
	}
	if s.ListenAddress != "" {
		if a, err := netip.ParseAddr(s.ListenAddress); err != nil || !a.Is4() {
			bad(AttrListenAddress, "%q is not an IPv4 address (leave it empty for the node's private address)", s.ListenAddress)
		}
	}
	if s.HealthAddress != "" {
		if a, err := netip.ParseAddr(s.HealthAddress); err != nil || !a.Is4() || a.IsUnspecified() {
			bad(AttrHealthAddress, "%q is not an IPv4 address a client can reach", s.HealthAddress)
		}
	}
	if s.CacheDir != "" && (!safePath.MatchString(s.CacheDir) || path.Clean(s.CacheDir) != s.CacheDir || s.CacheDir == "/") {
		bad(AttrCacheDir, "%q must be a clean absolute path of letters, digits and . _ / + -", s.CacheDir)
	}
	for _, k := range sortedKeys(s.Env) {
		switch {
		case !envRE.MatchString(k):
			bad(AttrEnv, "%q is not an environment variable name", k)
		case slices.Contains(secretEnv, k):
			bad(AttrEnv, "%s is a secret: it comes from api_key or the Hugging Face token, never from env", k)
		case HasControl(s.Env[k]):
			bad(AttrEnv, "the value of %s %s", k, controlDetail)
		}
	}
	if s.Secrets.APIKey.IsZero() {
		bad(AttrAPIKey, "is required: vLLM never runs without an API key")
	} else if err := s.Secrets.APIKey.validate(); err != nil {
		bad(AttrAPIKey, "%v", err)
	}
	if !s.Secrets.HFToken.IsZero() {
		if err := s.Secrets.HFToken.validate(); err != nil {
			bad(AttrHFToken, "%v", err)
		}
	}
	switch s.Restart {
	case RestartOnFailure, RestartAlways, RestartNo:
	default:
		bad(AttrRestart, "%q is not one of on-failure, always, no", s.Restart)
	}
	if s.ReadyTimeout < time.Second {
		bad(AttrReadyTimeout, "%s is shorter than a second", s.ReadyTimeout)
	}
	return errors.Join(errs...)
}

func (r SecretRef) validate() error {
	for _, f := range [...]struct{ name, value string }{{"name", r.Name}, {"json_key", r.JSONKey}, {"region", r.Region}, {"client_id", r.ClientID}} {
		if HasControl(f.value) {
			return fmt.Errorf("%s %q %s", f.name, f.value, controlDetail)
		}
	}
	switch r.Source {
	case SecretFile:
		if !safePath.MatchString(r.Name) || path.Clean(r.Name) != r.Name {
			return fmt.Errorf("file %q must be a clean absolute path of letters, digits and . _ / + -", r.Name)
		}
	case SecretAWSSecretsManager, SecretAWSSSMParameter:
		if r.Name == "" || strings.ContainsAny(r.Name, " \t\n'\"\\$`") {
			return fmt.Errorf("%s name %q is empty or holds quotes, blanks or backslashes", r.Source, r.Name)
		}
		if r.Region != "" && !regionRE.MatchString(r.Region) {
			return fmt.Errorf("region %q is not an AWS region", r.Region)
		}
	case SecretAzureKeyVault:
		if !vaultRE.MatchString(r.Name) {
			return fmt.Errorf("%q is not a Key Vault secret URL (https://VAULT.vault.azure.net/secrets/NAME[/VERSION])", r.Name)
		}
		if r.ClientID != "" && !uuidRE.MatchString(r.ClientID) {
			return fmt.Errorf("client_id %q is not the UUID of a managed identity", r.ClientID)
		}
	default:
		return fmt.Errorf("secret source %q is not one of file, aws-secrets-manager, aws-ssm-parameter, azure-key-vault", r.Source)
	}
	if strings.ContainsAny(r.JSONKey, "\"\\\n") {
		return fmt.Errorf("json_key %q holds quotes or backslashes", r.JSONKey)
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
