package kubernetes

import (
	"reflect"
	"testing"

	"github.com/inferstack/terraform-provider-inferstack/internal/backend"
)

func TestHostKinds(t *testing.T) {
	got := hostKinds([]Node{
		{Name: "a", GPUProduct: "NVIDIA-L40S", GPUs: 2, GPUMemoryMiB: 46068},
		{Name: "b", GPUProduct: "NVIDIA-A100-SXM4-80GB", GPUs: 4, GPUMemoryMiB: 81920},
		{Name: "c", GPUProduct: "NVIDIA-L40S", GPUs: 2, GPUMemoryMiB: 46068},
		{Name: "d", GPUProduct: "NVIDIA-L40S", GPUs: 4, GPUMemoryMiB: 46068},
		{Name: "cpu"},
	})
	want := []backend.HostKind{
		{GPUModel: "NVIDIA-A100-SXM4-80GB", GPUMemoryMiB: 81920, GPUsPerHost: 4, Hosts: 1},
		{GPUModel: "NVIDIA-L40S", GPUMemoryMiB: 46068, GPUsPerHost: 4, Hosts: 1},
		{GPUModel: "NVIDIA-L40S", GPUMemoryMiB: 46068, GPUsPerHost: 2, Hosts: 2},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("hostKinds = %+v\nwant %+v", got, want)
	}
}
