// Package backend holds the domain types and interfaces the provider's resources and data
// sources call. Each cloud (aws, azure) and the on-prem hosts (onprem) implement them in a
// package of their own; this package imports no SDK and nothing from terraform-plugin-*.
package backend

import (
	"github.com/inferstack/terraform-provider-inferstack/internal/errs"
	"strings"

	"context"
	"errors"
)

// GPUType is one instance type (AWS) or VM size (Azure) that carries GPUs.
type GPUType struct {
	Name            string  // instance type or VM size, e.g. "g6e.12xlarge", "Standard_NC24ads_A100_v4"
	GPUManufacturer string  // e.g. "NVIDIA"
	GPUModel        string  // e.g. "L40S", "A100 80GB"
	GPUCount        int64   // whole GPUs per instance (0 for a fractional vGPU partition)
	GPUFraction     float64 // share of one GPU for partitioned sizes (1 for whole GPUs)
	GPUMemoryMiB    int64   // memory per GPU
	VCPUs           int64
	MemoryMiB       int64
}

// TotalGPUMemoryMiB is the GPU memory of the whole instance.
func (t GPUType) TotalGPUMemoryMiB() int64 { return t.GPUCount * t.GPUMemoryMiB }

// GPUCatalog lists the GPU instance types a cloud offers in a region (AWS) or location (Azure),
// sorted by name.
type GPUCatalog interface {
	GPUTypes(ctx context.Context, region string) ([]GPUType, error)
}

// ErrNotFound is wrapped by backends when the thing asked for does not exist; test with IsNotFound.
var ErrNotFound = errors.New("not found")

// IsNotFound reports whether err means the object is gone.
func IsNotFound(err error) bool { return errors.Is(err, ErrNotFound) }

// InputError is a problem with what the user wrote that a backend found against the real world
// (a preflight check): an instance type not offered in a subnet's zone, a quota too small.
// Attribute names the argument inside the backend's block, in HCL spelling ("instance_type",
// "subnet_ids", "capacity", "ami"), so the provider can attach the diagnostic to its path.
type InputError struct {
	Attribute string
	Message   string // what is wrong and what to do, without the attribute name
}

func (e *InputError) Error() string { return e.Attribute + ": " + e.Message }

// InputErrors returns every *InputError in err, which may join several (errors.Join) or wrap one.
func InputErrors(err error) []*InputError { return errs.All[*InputError](err) }

// EndpointIDSeparator separates the cluster ID from the endpoint name in an endpoint's ID; it
// occurs in no cluster ID (on-prem: base64url; AWS: region and name) and in no endpoint name.
const EndpointIDSeparator = ","

// EndpointID is an inferstack_model_endpoint's ID on every backend (also its import ID):
// "<cluster_id>,<name>". The cluster ID says where the endpoint runs, so a route given only the
// endpoint's ID can find it.
func EndpointID(clusterID, name string) string { return clusterID + EndpointIDSeparator + name }

// SplitEndpointID splits an ID made by EndpointID; ok is false when it is not one.
func SplitEndpointID(id string) (clusterID, name string, ok bool) {
	clusterID, name, ok = strings.Cut(id, EndpointIDSeparator)
	return clusterID, name, ok && clusterID != "" && name != ""
}
