package onprem

import (
	"reflect"
	"testing"

	"github.com/inferstack/terraform-provider-inferstack/internal/backend"
)

func TestCapacityOf(t *testing.T) {
	t.Parallel()
	if c := capacityOf([]Node{{Name: "a"}}); c != nil {
		t.Fatalf("capacityOf(no GPUs) = %+v, want nil", c)
	}
	got := capacityOf([]Node{
		{Name: "a", GPUs: []GPU{{Model: "NVIDIA L4", MemoryMiB: 23034}}},
		{Name: "b", GPUs: []GPU{{Model: "NVIDIA A100 80GB PCIe", MemoryMiB: 81920}, {Model: "NVIDIA A100 80GB PCIe", MemoryMiB: 81559}}},
		{Name: "c", GPUs: []GPU{{Model: "NVIDIA L4", MemoryMiB: 23034}, {Model: "NVIDIA L4", MemoryMiB: 23034}}},
	})
	want := backend.Capacity{GPUModel: "NVIDIA A100 80GB PCIe", GPUMemoryMiB: 81559, GPUsPerNode: 2, TotalGPUs: 5}
	if got == nil || !reflect.DeepEqual(*got, want) {
		t.Fatalf("capacityOf = %+v, want %+v (the first largest node, its smallest GPU, every GPU)", got, want)
	}
}
