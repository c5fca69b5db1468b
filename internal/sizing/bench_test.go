package sizing

import (
	"fmt"
	"testing"

	"github.com/inferstack/terraform-provider-inferstack/internal/backend"
)

// BenchmarkCompute sizes Llama-3.1-70B at 32 x 32768 over a catalogue the size of AWS's GPU
// list (~65 types), which is what one inferstack_deployment_plan read does after its fetches.
func BenchmarkCompute(b *testing.B) {
	var types []backend.GPUType
	for _, g := range KnownGPUs() {
		for _, n := range []int64{1, 2, 4, 8} {
			types = append(types, backend.GPUType{
				Name: fmt.Sprintf("%s.%dx", g.Model, n), GPUManufacturer: "NVIDIA", GPUModel: g.Model,
				GPUCount: n, GPUFraction: 1, GPUMemoryMiB: g.MemoryMiB, VCPUs: 24 * n, MemoryMiB: 131072 * n,
			})
		}
	}
	req := Request{Model: llama70B, MaxModelLen: new(int64(32768)), Concurrency: new(int64(32)), InstanceTypes: types}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Compute(req); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(types)), "candidates")
}
