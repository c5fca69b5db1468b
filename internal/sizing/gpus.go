package sizing

import (
	"math"
	"regexp"
	"strconv"
	"strings"
)

// MiB and GiB in bytes.
const (
	MiB int64 = 1 << 20
	GiB int64 = 1 << 30
)

// GPU is one known GPU model and its memory.
type GPU struct {
	// Model is the canonical name: "L4", "A10G", "A100 80GB", "H100 NVL"...
	Model string
	// MemoryMiB is the marketing figure (24 GB on an L4 is 24576 MiB).
	MemoryMiB int64
	// UsableMiB is the total memory the driver reports (nvidia-smi memory.total), a little below
	// the marketing figure; sizing multiplies it by gpu_memory_utilization.
	UsableMiB int64
}

// knownGPUs is consistent with ../shared/contracts/gpu-catalog.md: "L4 and A10G about 22.5 GiB;
// L40S about 45 GiB; H100 80GB about 79.6 GiB; H200 about 140 GiB" as nvidia-smi reports them. The
// other usable figures are nvidia-smi's memory.total as commonly quoted (not re-verified here).
var knownGPUs = []GPU{
	{Model: "T4", MemoryMiB: 16384, UsableMiB: 15360},
	{Model: "V100 16GB", MemoryMiB: 16384, UsableMiB: 16160},
	{Model: "V100 32GB", MemoryMiB: 32768, UsableMiB: 32510},
	{Model: "A10", MemoryMiB: 24576, UsableMiB: 23028},
	{Model: "A10G", MemoryMiB: 24576, UsableMiB: 23028},
	{Model: "L4", MemoryMiB: 24576, UsableMiB: 23034},
	{Model: "L40S", MemoryMiB: 49152, UsableMiB: 46068},
	{Model: "A100 40GB", MemoryMiB: 40960, UsableMiB: 40960},
	{Model: "A100 80GB", MemoryMiB: 81920, UsableMiB: 81920},
	{Model: "H100", MemoryMiB: 81920, UsableMiB: 81559},
	{Model: "H100 NVL", MemoryMiB: 96256, UsableMiB: 95830},
	{Model: "H200", MemoryMiB: 144384, UsableMiB: 143771},
}

// KnownGPUs lists the GPU models sizing knows the memory of, smallest first.
func KnownGPUs() []GPU { return append([]GPU(nil), knownGPUs...) }

func knownNames() string {
	names := make([]string, len(knownGPUs))
	for i, g := range knownGPUs {
		names[i] = g.Model
	}
	return strings.Join(names, ", ")
}

func gpuByModel(model string) GPU {
	for _, g := range knownGPUs {
		if g.Model == model {
			return g
		}
	}
	panic("sizing: no GPU " + model)
}

var memToken = regexp.MustCompile(`^(\d+)(GB|G|GIB)$`)

// FindGPU recognises a GPU model as clouds, nvidia-smi and people write it ("NVIDIA L4",
// "A100-SXM4-80GB", "H100 80GB HBM3", "Tesla T4", "NVIDIA H100 NVL", "L40S"). memoryMiB (0 when
// unknown) tells 40 GB from 80 GB A100s and 16 GB from 32 GB V100s when the name does not. It
// reports false for a model it does not know, or one it cannot tell apart without the memory.
func FindGPU(name string, memoryMiB int64) (GPU, bool) {
	up := strings.ToUpper(name)
	up = strings.NewReplacer("-", " ", "_", " ", "/", " ", "(", " ", ")", " ").Replace(up)
	var base string
	var memGB int64
	nvl := false
	for _, tok := range strings.Fields(up) {
		switch tok {
		case "T4", "V100", "A10", "A10G", "L4", "L40S", "A100", "H100", "H200":
			if base == "" {
				base = tok
			}
		case "NVL":
			nvl = true
		default:
			if m := memToken.FindStringSubmatch(tok); m != nil {
				memGB, _ = strconv.ParseInt(m[1], 10, 64)
			}
		}
	}
	if memGB == 0 && memoryMiB > 0 {
		memGB = int64(math.Round(float64(memoryMiB) / 1024))
	}
	nearest := func(small, large string, split int64) (GPU, bool) {
		switch {
		case memGB == 0:
			return GPU{}, false
		case memGB < split:
			return gpuByModel(small), true
		default:
			return gpuByModel(large), true
		}
	}
	switch base {
	case "":
		return GPU{}, false
	case "A100":
		return nearest("A100 40GB", "A100 80GB", 60)
	case "V100":
		return nearest("V100 16GB", "V100 32GB", 24)
	case "H100":
		if nvl || memGB > 88 {
			return gpuByModel("H100 NVL"), true
		}
		return gpuByModel("H100"), true
	}
	return gpuByModel(base), true
}
