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

func TestParseClusterIDRefusesCraftedIDs(t *testing.T) {
	for _, id := range []string{"kubernetes/../x", "kubernetes/ns/a\x1b[31m", "kubernetes/NS/x", "kubernetes/ns/x/y", "ns/", "kubernetes/ns/x%2F..", ""} {
		if _, _, err := ParseClusterID(id); err == nil {
			t.Errorf("ParseClusterID(%q) accepted a crafted id", id)
		}
	}
	ns, name, err := ParseClusterID("kubernetes/inference/gpu-pool")
	if err != nil || ns != "inference" || name != "gpu-pool" {
		t.Errorf("ParseClusterID of a good id = %q, %q, %v", ns, name, err)
	}
}
