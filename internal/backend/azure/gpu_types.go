package azure

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v7"

	"github.com/inferstack/terraform-provider-inferstack/internal/backend"
)

var _ backend.GPUCatalog = (*Backend)(nil)

// GPUTypes lists the VM sizes with GPUs offered in location (resource SKUs, all pages, without
// sizes restricted for the subscription there), sorted by name. The SKU list gives the GPU
// count but not the GPU model or its memory: those come from gpuTable, keyed by the size name.
func (b *Backend) GPUTypes(ctx context.Context, location string) ([]backend.GPUType, error) {
	if location == "" {
		return nil, fmt.Errorf("no Azure location: set region (e.g. \"eastus\")")
	}
	sub, err := b.subscription()
	if err != nil {
		return nil, err
	}
	cred, opts, err := b.credential()
	if err != nil {
		return nil, err
	}
	client, err := armcompute.NewResourceSKUsClient(sub, cred, opts)
	if err != nil {
		return nil, fmt.Errorf("building the Azure resource SKUs client: %w", err)
	}
	filter := fmt.Sprintf("location eq '%s'", location)
	pager := client.NewListPager(&armcompute.ResourceSKUsClientListOptions{Filter: &filter})
	var out []backend.GPUType
	seen := map[string]bool{}
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("listing Azure resource SKUs in %s: %w", location, err)
		}
		for _, sku := range page.Value {
			t, ok := gpuType(sku, location)
			if ok && !seen[t.Name] {
				seen[t.Name] = true
				out = append(out, t)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func gpuType(sku *armcompute.ResourceSKU, location string) (backend.GPUType, bool) {
	if sku == nil || sku.Name == nil || sku.ResourceType == nil || *sku.ResourceType != "virtualMachines" {
		return backend.GPUType{}, false
	}
	if !offeredIn(sku, location) || restrictedIn(sku, location) {
		return backend.GPUType{}, false
	}
	caps := map[string]string{}
	for _, c := range sku.Capabilities {
		if c != nil && c.Name != nil && c.Value != nil {
			caps[*c.Name] = *c.Value
		}
	}
	gpus, _ := strconv.ParseFloat(caps["GPUs"], 64)
	if gpus <= 0 {
		return backend.GPUType{}, false
	}
	g, known := lookupGPU(*sku.Name)
	t := backend.GPUType{
		Name:            *sku.Name,
		GPUManufacturer: "NVIDIA",
		GPUModel:        "unknown",
		GPUCount:        int64(gpus),
		GPUFraction:     1,
	}
	if known {
		t.GPUManufacturer, t.GPUModel, t.GPUMemoryMiB = g.manufacturer, g.model, g.memoryMiB
		if g.fraction > 0 && g.fraction < 1 {
			// A vGPU partition: the SKU list says "1 GPU"; it is a share of one.
			t.GPUCount, t.GPUFraction = 1, g.fraction
			t.GPUMemoryMiB = int64(float64(g.memoryMiB) * g.fraction)
		}
	}
	t.VCPUs, _ = strconv.ParseInt(caps["vCPUs"], 10, 64)
	if mem, err := strconv.ParseFloat(caps["MemoryGB"], 64); err == nil {
		t.MemoryMiB = int64(mem * 1024)
	}
	return t, true
}

func offeredIn(sku *armcompute.ResourceSKU, location string) bool {
	if len(sku.Locations) == 0 {
		return true
	}
	for _, l := range sku.Locations {
		if l != nil && strings.EqualFold(*l, location) {
			return true
		}
	}
	return false
}

func restrictedIn(sku *armcompute.ResourceSKU, location string) bool {
	for _, r := range sku.Restrictions {
		if r == nil || r.Type == nil || *r.Type != armcompute.ResourceSKURestrictionsTypeLocation {
			continue
		}
		for _, v := range r.Values {
			if v != nil && strings.EqualFold(*v, location) {
				return true
			}
		}
	}
	return false
}

type gpuFacts struct {
	manufacturer string
	model        string
	memoryMiB    int64   // per whole GPU
	fraction     float64 // share of one GPU for vGPU partitions; 0 means whole GPUs
}

// gpuRule maps VM sizes to their GPU: a size matches when its lower-cased name contains every
// part. Rules are tried in order, the most specific first. Source: shared/contracts/gpu-catalog.md
// (Azure table), which cites the published VM size pages.
type gpuRule struct {
	parts []string
	gpuFacts
}

var gpuTable = []gpuRule{
	{[]string{"standard_nv6ads_a10_v5"}, gpuFacts{"NVIDIA", "A10", 24576, 1.0 / 6}},
	{[]string{"standard_nv12ads_a10_v5"}, gpuFacts{"NVIDIA", "A10", 24576, 1.0 / 3}},
	{[]string{"standard_nv18ads_a10_v5"}, gpuFacts{"NVIDIA", "A10", 24576, 1.0 / 2}},
	{[]string{"_a10_v5"}, gpuFacts{"NVIDIA", "A10", 24576, 0}},
	{[]string{"standard_nc", "_h100_v5"}, gpuFacts{"NVIDIA", "H100 NVL", 96256, 0}},
	{[]string{"standard_nd", "_h100_v5"}, gpuFacts{"NVIDIA", "H100", 81920, 0}},
	{[]string{"_h200_v5"}, gpuFacts{"NVIDIA", "H200", 144384, 0}},
	{[]string{"_mi300x_v5"}, gpuFacts{"AMD", "MI300X", 196608, 0}},
	{[]string{"standard_nd96amsr_a100_v4"}, gpuFacts{"NVIDIA", "A100 80GB", 81920, 0}},
	{[]string{"standard_nd96asr_v4"}, gpuFacts{"NVIDIA", "A100 40GB", 40960, 0}},
	{[]string{"_a100_v4"}, gpuFacts{"NVIDIA", "A100 80GB", 81920, 0}},
	{[]string{"_t4_v3"}, gpuFacts{"NVIDIA", "T4", 16384, 0}},
	{[]string{"standard_nd40rs_v2"}, gpuFacts{"NVIDIA", "V100 32GB", 32768, 0}},
	{[]string{"standard_nc", "s_v3"}, gpuFacts{"NVIDIA", "V100 16GB", 16384, 0}},
}

func lookupGPU(size string) (gpuFacts, bool) {
	s := strings.ToLower(size)
	for _, r := range gpuTable {
		ok := true
		for _, p := range r.parts {
			if !strings.Contains(s, p) {
				ok = false
				break
			}
		}
		if ok {
			return r.gpuFacts, true
		}
	}
	return gpuFacts{}, false
}
