package vllm

import (
	"encoding/json"
	"fmt"
)

// Status is what `inferstack-node apply` and `inferstack-node status` print: the state of an
// endpoint's replicas on one node.
type Status struct {
	Endpoint string `json:"endpoint"`
	// Ready is true when every replica answers /health and lists the served model.
	Ready bool `json:"ready"`
	// Changed is true when the converge wrote, restarted or removed anything.
	Changed bool `json:"changed"`
	// Error says why the converge stopped early (a bad spec or secret, no free GPU); the replicas
	// are then not reported.
	Error    string          `json:"error"`
	Replicas []ReplicaStatus `json:"replicas"`
	// Removed are the indices of replicas the converge removed.
	Removed []int `json:"removed"`
}

// ReplicaStatus is the state of one replica.
type ReplicaStatus struct {
	Index     int    `json:"index"`
	Unit      string `json:"unit"`
	Container string `json:"container"`
	// Action is what the converge did: created, restarted, started (it was not running) or
	// unchanged; empty from `status`.
	Action string `json:"action"`
	Ready  bool   `json:"ready"`
	// State is the unit's active state (active, activating, failed, inactive).
	State string `json:"state"`
	GPUs  []int  `json:"gpus"`
	Port  int    `json:"port"`
	// ListenAddress is where the port is published; Address where it was probed.
	ListenAddress   string `json:"listen_address"`
	Address         string `json:"address"`
	URL             string `json:"url"` // the OpenAI base URL, http://ADDRESS:PORT/v1
	Model           string `json:"model"`
	Revision        string `json:"revision"`
	ServedModelName string `json:"served_model_name"`
	// Reason says why the replica is not ready; Logs are its last log lines then.
	Reason string   `json:"reason"`
	Logs   []string `json:"logs"`
}

// Replica actions in a Status.
const (
	ActionCreated   = "created"
	ActionRestarted = "restarted"
	ActionStarted   = "started"
	ActionUnchanged = "unchanged"
)

// ParseStatus reads the status document of `inferstack-node apply|status`.
func ParseStatus(out []byte) (Status, error) {
	var s Status
	if err := json.Unmarshal(out, &s); err != nil {
		return Status{}, fmt.Errorf("reading the node script's status: %w", err)
	}
	return s, nil
}

// GPUReport is what `inferstack-node gpus` prints: the node's GPUs and who holds them.
type GPUReport struct {
	GPUs []NodeGPU `json:"gpus"`
	// Free are the indices of GPUs no endpoint holds.
	Free        []int        `json:"free"`
	Allocations []Allocation `json:"allocations"`
}

// NodeGPU is one GPU of a node.
type NodeGPU struct {
	Index       int         `json:"index"`
	UUID        string      `json:"uuid"`
	Name        string      `json:"name"`
	MemoryMiB   int         `json:"memory_mib"`
	AllocatedTo *Allocation `json:"allocated_to"`
}

// Allocation is one entry of a node's ledger: a replica's GPUs and port.
type Allocation struct {
	Endpoint string `json:"endpoint"`
	Replica  int    `json:"replica"`
	GPUs     []int  `json:"gpus,omitempty"`
	Port     int    `json:"port,omitempty"`
}

// ParseGPUReport reads the output of `inferstack-node gpus`.
func ParseGPUReport(out []byte) (GPUReport, error) {
	var r GPUReport
	if err := json.Unmarshal(out, &r); err != nil {
		return GPUReport{}, fmt.Errorf("reading the node script's GPU report: %w", err)
	}
	return r, nil
}

// Removal is what `inferstack-node remove` prints.
type Removal struct {
	Endpoint  string `json:"endpoint"`
	Removed   []int  `json:"removed"`
	FreedGPUs []int  `json:"freed_gpus"`
}

// ParseRemoval reads the output of `inferstack-node remove`.
func ParseRemoval(out []byte) (Removal, error) {
	var r Removal
	if err := json.Unmarshal(out, &r); err != nil {
		return Removal{}, fmt.Errorf("reading the node script's removal report: %w", err)
	}
	return r, nil
}
