package vllm

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
)

// SpecSchema is the version of the spec JSON the node script reads.
const SpecSchema = 1

// Bundle is everything a node needs to run an endpoint's replicas. The on-prem backend installs
// Script and SpecJSON over SSH (and writes file secrets) and runs `inferstack-node apply`; the
// clouds put CloudInit in the launch template (AWS) or custom data (Azure).
type Bundle struct {
	// Spec is the input with its defaults filled in.
	Spec Spec
	// Script is the node script; install it at ScriptPath (below the state root), mode 0755.
	Script []byte
	// ScriptVersion identifies the script's content: `inferstack-node version` prints it, so a
	// caller can skip uploading a script that is already there.
	ScriptVersion string
	// SpecJSON is the endpoint's desired state, the script's input (`inferstack-node apply FILE`,
	// or - for stdin); the script keeps a copy at SpecPath(endpoint), mode 0600. It holds secret
	// references, not values.
	SpecJSON []byte
	// Units are the systemd units of the replicas as the spec renders them. Where the node
	// decides (GPU ids and ports it allocates, the listen address and cache it finds, its state
	// root and runtime path), they hold @INFERSTACK_…@ placeholders that the script fills in.
	Units []UnitFile
	// CloudInit is #cloud-config user data that installs the script and the spec and converges
	// at boot; the script fetches the secrets from the cloud's secret store then.
	CloudInit string
}

// UnitFile is the systemd unit of one replica.
type UnitFile struct {
	Replica int
	Name    string // inferstack-<endpoint>-<index>.service
	Content string
}

// nodeSpec is the spec JSON: what the node script reads (jq paths in node.sh.tmpl).
type nodeSpec struct {
	Schema              int           `json:"schema"`
	Endpoint            string        `json:"endpoint"`
	Runtime             Runtime       `json:"runtime"`
	Image               string        `json:"image"`
	Model               string        `json:"model"`
	Revision            string        `json:"revision"`
	ServedModelName     string        `json:"served_model_name"`
	ListenAddress       string        `json:"listen_address"`
	HealthAddress       string        `json:"health_address"`
	CacheDir            string        `json:"cache_dir"`
	PortBase            int           `json:"port_base"`
	GPUsPerReplica      int           `json:"gpus_per_replica"`
	ReadyTimeoutSeconds int           `json:"ready_timeout_seconds"`
	Secrets             []nodeSecret  `json:"secrets"`
	Replicas            []nodeReplica `json:"replicas"`
	// MetricsPublish is omitted when the node publishes nothing, so specs without it do not change.
	MetricsPublish *nodeMetricsPublish `json:"metrics_publish,omitempty"`
}

type nodeSecret struct {
	Env string `json:"env"`
	SecretRef
}

type nodeReplica struct {
	Index int    `json:"index"`
	GPUs  []int  `json:"gpus"` // fixed ids; empty: allocated on the node
	Port  int    `json:"port"` // fixed port; 0: allocated on the node
	Unit  string `json:"unit"`
	// UnitContent is the unit with placeholders for what the node decides.
	UnitContent string `json:"unit_content"`
}

var arnRegionRE = regexp.MustCompile(`^arn:aws[a-z-]*:(secretsmanager|ssm):([a-z0-9-]+):`)

// NodeBundle renders everything a node needs for an endpoint: the node script, the spec JSON it
// converges to, the replicas' units and the cloud-init user data. It fails on an invalid spec
// with *SpecError values that name the attribute.
func NodeBundle(spec Spec) (Bundle, error) {
	if err := spec.Validate(); err != nil {
		return Bundle{}, err
	}
	s := spec.withDefaults()
	ns := nodeSpec{
		Schema:              SpecSchema,
		Endpoint:            s.Endpoint,
		Runtime:             s.Runtime,
		Image:               s.Engine.Image,
		Model:               s.Model.ID,
		Revision:            s.Model.Revision,
		ServedModelName:     s.ServedModelName,
		ListenAddress:       s.ListenAddress,
		HealthAddress:       s.HealthAddress,
		CacheDir:            s.CacheDir,
		PortBase:            s.PortBase,
		GPUsPerReplica:      s.GPUsPerReplica,
		ReadyTimeoutSeconds: int(math.Ceil(s.ReadyTimeout.Seconds())),
		Secrets:             []nodeSecret{},
		Replicas:            []nodeReplica{},
		MetricsPublish:      s.MetricsPublish.node(),
	}
	if s.Runtime == RuntimePodman {
		ns.Image = qualifyImage(ns.Image)
	}
	for _, sec := range []struct {
		env string
		ref SecretRef
	}{{"VLLM_API_KEY", s.Secrets.APIKey}, {"HF_TOKEN", s.Secrets.HFToken}} {
		if sec.ref.IsZero() {
			continue
		}
		ref := sec.ref
		if m := arnRegionRE.FindStringSubmatch(ref.Name); m != nil && ref.Region == "" {
			ref.Region = m[2]
		}
		ns.Secrets = append(ns.Secrets, nodeSecret{Env: sec.env, SecretRef: ref})
	}
	b := Bundle{Spec: s}
	for _, r := range s.Replicas {
		unit := s.unit(r, s.template(r))
		name := UnitName(s.Endpoint, r.Index)
		gpus := r.GPUs
		if gpus == nil {
			gpus = []int{}
		}
		ns.Replicas = append(ns.Replicas, nodeReplica{Index: r.Index, GPUs: gpus, Port: r.Port, Unit: name, UnitContent: unit})
		b.Units = append(b.Units, UnitFile{Replica: r.Index, Name: name, Content: unit})
	}
	specJSON, err := json.MarshalIndent(ns, "", "  ")
	if err != nil {
		return Bundle{}, fmt.Errorf("encoding the node spec of %s: %w", s.Endpoint, err)
	}
	b.SpecJSON = append(specJSON, '\n')
	script, version, err := nodeScript()
	if err != nil {
		return Bundle{}, err
	}
	b.Script, b.ScriptVersion = script, version
	b.CloudInit, err = cloudInit(s.Endpoint, b.Script, b.SpecJSON)
	if err != nil {
		return Bundle{}, err
	}
	return b, nil
}
