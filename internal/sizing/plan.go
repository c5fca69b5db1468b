package sizing

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
)

// Plan is the answer to a Request. Every figure is in bytes unless its name says otherwise.
type Plan struct {
	// Assumptions echoes the inputs after defaults, and the constants the arithmetic used.
	Assumptions Assumptions

	// WeightsBytes is the weights' size as served (see Assumptions.WeightsFormula).
	WeightsBytes int64
	// KVCacheBytesPerToken is 2 x layers x KV heads x head_dim x bytes(kv dtype) on one GPU.
	KVCacheBytesPerToken int64
	// KVCacheBytesPerSequence is one sequence of max_model_len tokens, sliding-window layers capped.
	KVCacheBytesPerSequence int64
	// KVCacheBytes is Concurrency x KVCacheBytesPerSequence.
	KVCacheBytes int64
	// AllowanceBytes is the per-GPU allowance at tensor_parallel_size 1.
	AllowanceBytes int64
	// RequiredBytes is WeightsBytes + KVCacheBytes + AllowanceBytes: the usable memory one GPU
	// would need. With tensor parallelism weights and KV cache split and each GPU adds its own
	// allowance (see Candidate).
	RequiredBytes int64
	// ValidTensorParallelSizes are the sizes vLLM accepts for the model's head counts.
	ValidTensorParallelSizes []int64

	// Candidates are the instance types and on-prem hosts, sorted by total GPU memory (nominal:
	// GPUs x the catalog's or the model's marketing figure), then vCPUs and host memory (cheaper
	// sizes of the same GPUs first), then name: without prices, GPU memory is the proxy for cost.
	Candidates []Candidate
	// Recommended is the fitting candidate with the least GPU memory in all (nodes x GPU memory
	// of a node), nil when none fits.
	Recommended *Candidate
	// Advice says, when no candidate fits, what would: quantization, a shorter context or fewer
	// sequences, more nodes, bigger GPUs. Empty when something fits or there are no candidates.
	Advice []string
}

// Assumptions are a Plan's inputs after defaults, echoed back.
type Assumptions struct {
	MaxModelLen  int64
	Concurrency  int64
	Quantization string // the method the weights are served with, "" for none (16-bit)
	// WeightsFormula is WeightsBytes in words, e.g. "70553706496 parameters x 2 bytes (16-bit)".
	WeightsFormula           string
	KVCacheDType             string // "auto", "fp8"...
	KVCacheBytesPerElement   int64
	GPUMemoryUtilization     float64
	MaxNumBatchedTokens      int64
	MaxNodes                 int64
	FixedOverheadBytesPerGPU int64
	SlidingWindow            int64 // tokens, 0 when none
	SlidingWindowLayers      int64
}

// Candidate is one instance type or on-prem host group, and how the model would be deployed on it.
type Candidate struct {
	// Name is the instance type, or "<count> x <GPU>" for on-prem GPUs.
	Name string
	// InstanceType is the cloud instance type; "" for on-prem GPUs.
	InstanceType string
	// GPUsIndex is the index in Request.GPUs of an on-prem candidate, -1 for an instance type.
	GPUsIndex int
	GPUModel  string
	// GPUsPerNode is the number of GPUs one node (instance or host) has.
	GPUsPerNode int64
	// GPUMemoryBytes is one GPU's memory as sizing counts it: the smaller of the figure given and
	// the known usable figure of that GPU model (KnownGPUs).
	GPUMemoryBytes int64
	// UsableBytesPerGPU is GPUMemoryBytes x gpu_memory_utilization.
	UsableBytesPerGPU int64
	// MaxNodes is how many nodes pipeline parallelism may use here.
	MaxNodes int64

	// Fits reports whether Concurrency sequences of MaxModelLen tokens fit.
	Fits bool
	// Reason says, when it does not fit, why, with the numbers.
	Reason string

	// The deployment: the smallest valid tensor-parallel size that fits on one node, else the
	// largest one with the fewest nodes that fit. When nothing fits, the largest that was tried.
	TensorParallelSize   int64
	PipelineParallelSize int64
	Nodes                int64 // = PipelineParallelSize: pipeline parallelism only spans nodes
	GPUCount             int64 // GPUs the deployment uses: TensorParallelSize x PipelineParallelSize
	ReplicasPerNode      int64 // copies of a single-node deployment one node holds (GPUsPerNode / TP)

	WeightsBytesPerGPU   int64
	KVCacheBytesPerGPU   int64
	AllowanceBytesPerGPU int64
	RequiredBytesPerGPU  int64 // weights + KV cache + allowance
	// MaxConcurrentSequences is how many sequences of MaxModelLen tokens the deployment's KV cache
	// holds (0 when not even the weights fit).
	MaxConcurrentSequences int64

	totalGPUMemory int64 // GPUsPerNode x the GPU's nominal memory, the cost proxy
	vcpus, hostMiB int64
}

// node is a candidate before evaluation.
type node struct {
	c        Candidate
	unusable string // why the candidate cannot run vLLM at all
}

type planner struct {
	m ModelShape
	s settings
	w int64
}

// Compute sizes a deployment. Bad input returns an errs.List (errs.Problems lists it).
func Compute(r Request) (*Plan, error) {
	s, ps := r.settings()
	if len(ps) > 0 {
		return nil, ps
	}
	return compute(r, s, true), nil
}

func compute(r Request, s settings, advise bool) *Plan {
	m := r.Model
	p := &planner{m: m, s: s}
	var formula string
	p.w, formula = weights(m, s)

	plan := &Plan{
		Assumptions: Assumptions{
			MaxModelLen: s.maxModelLen, Concurrency: s.concurrency, Quantization: s.quantization,
			WeightsFormula: formula, KVCacheDType: s.kvDType, KVCacheBytesPerElement: s.kvBytes,
			GPUMemoryUtilization: float64(s.utilPPM) / 1e6, MaxNumBatchedTokens: s.maxBatched, MaxNodes: s.maxNodes,
			FixedOverheadBytesPerGPU: FixedOverheadBytesPerGPU,
		},
		WeightsBytes:             p.w,
		KVCacheBytesPerToken:     kvBytesPerToken(m, s.kvBytes, 1),
		KVCacheBytesPerSequence:  kvBytesPerSequence(m, s.kvBytes, 1, s.maxModelLen),
		AllowanceBytes:           allowance(m, s.maxBatched, 1),
		ValidTensorParallelSizes: ValidTensorParallelSizes(m.NumAttentionHeads, m.NumKeyValueHeads),
	}
	if m.SlidingWindow > 0 && m.SlidingWindowLayers > 0 {
		plan.Assumptions.SlidingWindow, plan.Assumptions.SlidingWindowLayers = m.SlidingWindow, m.SlidingWindowLayers
	}
	plan.KVCacheBytes = mulSat(s.concurrency, plan.KVCacheBytesPerSequence)
	plan.RequiredBytes = addSat(plan.WeightsBytes, plan.KVCacheBytes, plan.AllowanceBytes)

	nodes := p.nodes(r)
	for _, n := range nodes {
		plan.Candidates = append(plan.Candidates, p.evaluate(n))
	}
	for i := range plan.Candidates {
		c := plan.Candidates[i]
		if c.Fits && (plan.Recommended == nil || c.Nodes*c.totalGPUMemory < plan.Recommended.Nodes*plan.Recommended.totalGPUMemory) {
			plan.Recommended = &plan.Candidates[i]
		}
	}
	if plan.Recommended != nil {
		rec := *plan.Recommended
		plan.Recommended = &rec
	} else if advise && len(plan.Candidates) > 0 {
		plan.Advice = p.advice(r, plan, nodes)
	}
	return plan
}

// nodes lists the candidates, sorted.
func (p *planner) nodes(r Request) []node {
	var out []node
	for _, t := range r.InstanceTypes {
		n := node{c: Candidate{
			Name: t.Name, InstanceType: t.Name, GPUsIndex: -1, GPUModel: t.GPUModel, GPUsPerNode: t.GPUCount,
			MaxNodes: p.s.maxNodes, vcpus: t.VCPUs, hostMiB: t.MemoryMiB,
		}}
		known, ok := FindGPU(t.GPUModel, t.GPUMemoryMiB)
		if ok {
			n.c.GPUModel = known.Model
		}
		n.c.totalGPUMemory = max(t.GPUCount, 0) * t.GPUMemoryMiB * MiB
		if t.GPUMemoryMiB <= 0 && ok {
			n.c.totalGPUMemory = max(t.GPUCount, 0) * known.MemoryMiB * MiB
		}
		switch {
		case t.GPUCount <= 0 || (t.GPUFraction > 0 && t.GPUFraction < 1):
			n.unusable = fmt.Sprintf("%s has no whole GPU (a vGPU partition of one %s), which vLLM cannot use: choose a size with whole GPUs", t.Name, t.GPUModel)
		case t.GPUMemoryMiB <= 0 && !ok:
			n.unusable = fmt.Sprintf("%s reports no GPU memory and its GPU model %q is not in the known table", t.Name, t.GPUModel)
		case ok && t.GPUMemoryMiB > 0:
			n.c.GPUMemoryBytes = min(t.GPUMemoryMiB, known.UsableMiB) * MiB
		case ok:
			n.c.GPUMemoryBytes = known.UsableMiB * MiB
		default:
			n.c.GPUMemoryBytes = t.GPUMemoryMiB * MiB
		}
		out = append(out, n)
	}
	for i, g := range r.GPUs {
		hosts := int64(1)
		if g.Hosts != nil {
			hosts = *g.Hosts
		}
		n := node{c: Candidate{
			Name: fmt.Sprintf("%d x %s", g.Count, g.Model), GPUsIndex: i, GPUModel: g.Model, GPUsPerNode: g.Count, MaxNodes: hosts,
		}}
		var given int64
		if g.MemoryGiB != nil {
			given = int64(*g.MemoryGiB * float64(GiB))
		}
		known, ok := FindGPU(g.Model, given/MiB)
		switch {
		case ok && given > 0:
			n.c.GPUModel, n.c.GPUMemoryBytes = known.Model, min(given, known.UsableMiB*MiB)
		case ok:
			n.c.GPUModel, n.c.GPUMemoryBytes, given = known.Model, known.UsableMiB*MiB, known.MemoryMiB*MiB
		default:
			n.c.GPUMemoryBytes = given
		}
		n.c.totalGPUMemory = max(g.Count, 0) * given
		out = append(out, n)
	}
	for i := range out {
		c := &out[i].c
		c.UsableBytesPerGPU = c.GPUMemoryBytes * p.s.utilPPM / 1_000_000
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i].c, out[j].c
		return cmp.Or(
			cmp.Compare(a.totalGPUMemory, b.totalGPUMemory),
			cmp.Compare(a.vcpus, b.vcpus),
			cmp.Compare(a.hostMiB, b.hostMiB),
			strings.Compare(a.Name, b.Name),
		) < 0
	})
	return out
}

// figure fills c's deployment figures for tp x pp.
func (p *planner) figure(c *Candidate, tp, pp int64) {
	m, s := p.m, p.s
	layers := m.NumHiddenLayers
	stage := ceilDiv(layers, pp) // layers on the busiest pipeline stage
	kvSeq := kvBytesPerSequence(m, s.kvBytes, tp, s.maxModelLen)

	c.TensorParallelSize, c.PipelineParallelSize, c.Nodes, c.GPUCount = tp, pp, pp, tp*pp
	c.ReplicasPerNode = 1
	if pp == 1 {
		c.ReplicasPerNode = c.GPUsPerNode / tp
	}
	c.WeightsBytesPerGPU = mulDivCeil(p.w, stage, layers*tp)
	c.KVCacheBytesPerGPU = mulDivCeil(mulSat(s.concurrency, kvSeq), stage, layers*tp)
	c.AllowanceBytesPerGPU = allowance(m, s.maxBatched, tp)
	c.RequiredBytesPerGPU = addSat(c.WeightsBytesPerGPU, c.KVCacheBytesPerGPU, c.AllowanceBytesPerGPU)
	c.Fits = c.RequiredBytesPerGPU <= c.UsableBytesPerGPU
	c.MaxConcurrentSequences = 0
	if budget := c.UsableBytesPerGPU - c.WeightsBytesPerGPU - c.AllowanceBytesPerGPU; budget > 0 && kvSeq > 0 {
		// budget x layers x tp / (kvSeq x stage), floored
		c.MaxConcurrentSequences = int64(math.Floor(float64(budget) * float64(layers*tp) / (float64(kvSeq) * float64(stage))))
		for c.MaxConcurrentSequences > 0 && mulDivCeil(mulSat(c.MaxConcurrentSequences, kvSeq), stage, layers*tp) > budget {
			c.MaxConcurrentSequences--
		}
		for mulDivCeil(mulSat(c.MaxConcurrentSequences+1, kvSeq), stage, layers*tp) <= budget {
			c.MaxConcurrentSequences++
		}
	}
}

// tpSizes are the valid tensor-parallel sizes that fit on gpus GPUs.
func (p *planner) tpSizes(gpus int64) []int64 {
	var out []int64
	for _, tp := range ValidTensorParallelSizes(p.m.NumAttentionHeads, p.m.NumKeyValueHeads) {
		if tp <= gpus {
			out = append(out, tp)
		}
	}
	return out
}

// evaluate chooses the deployment on one candidate: the smallest valid tensor-parallel size that
// fits on one node; else, across nodes, the largest valid size per node with the fewest
// pipeline stages (nodes) that fit.
func (p *planner) evaluate(n node) Candidate {
	c := n.c
	if n.unusable != "" {
		c.Reason = n.unusable
		return c
	}
	sizes := p.tpSizes(c.GPUsPerNode)
	for _, tp := range sizes {
		p.figure(&c, tp, 1)
		if c.Fits {
			return c
		}
	}
	tp := sizes[len(sizes)-1]
	maxPP := min(c.MaxNodes, p.m.NumHiddenLayers)
	for pp := int64(2); pp <= maxPP; pp++ {
		p.figure(&c, tp, pp)
		if c.Fits {
			return c
		}
	}
	p.figure(&c, tp, max(maxPP, 1))
	c.Reason = p.reason(c)
	return c
}

func plural(n int64, word string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}

func gib(b int64) string { return fmt.Sprintf("%.1f GiB", float64(b)/float64(GiB)) }

func (p *planner) reason(c Candidate) string {
	var b strings.Builder
	fmt.Fprintf(&b, "needs %s per GPU at tensor_parallel_size %d", gib(c.RequiredBytesPerGPU), c.TensorParallelSize)
	if c.PipelineParallelSize > 1 {
		fmt.Fprintf(&b, " and pipeline_parallel_size %d (%d nodes)", c.PipelineParallelSize, c.Nodes)
	}
	fmt.Fprintf(&b, " (weights %s + KV cache %s for %s of %d tokens + allowance %s), but one %s gives %s usable (%s x %g)",
		gib(c.WeightsBytesPerGPU), gib(c.KVCacheBytesPerGPU), plural(p.s.concurrency, "sequence"), p.s.maxModelLen, gib(c.AllowanceBytesPerGPU),
		c.GPUModel, gib(c.UsableBytesPerGPU), gib(c.GPUMemoryBytes), float64(p.s.utilPPM)/1e6)
	switch {
	case c.MaxConcurrentSequences > 0:
		fmt.Fprintf(&b, "; it holds %s of %d tokens", plural(c.MaxConcurrentSequences, "sequence"), p.s.maxModelLen)
	case c.WeightsBytesPerGPU+c.AllowanceBytesPerGPU > c.UsableBytesPerGPU:
		fmt.Fprintf(&b, "; the weights and allowance alone need %s per GPU", gib(c.WeightsBytesPerGPU+c.AllowanceBytesPerGPU))
	}
	if c.GPUsPerNode > c.TensorParallelSize && c.PipelineParallelSize == 1 {
		fmt.Fprintf(&b, "; with %d attention heads and %d KV heads the largest valid tensor_parallel_size on %d GPUs is %d (valid: %s)",
			p.m.NumAttentionHeads, p.m.NumKeyValueHeads, c.GPUsPerNode, c.TensorParallelSize,
			joinInts(ValidTensorParallelSizes(p.m.NumAttentionHeads, p.m.NumKeyValueHeads)))
	}
	return b.String()
}

// advice says what would fit when nothing does.
func (p *planner) advice(r Request, plan *Plan, nodes []node) []string {
	s := p.s
	name := p.m.ID
	if name == "" {
		name = "the model"
	}
	out := []string{fmt.Sprintf("No candidate fits %s with max_model_len %d and concurrency %d.", name, s.maxModelLen, s.concurrency)}
	where := func(c *Candidate) string {
		w := fmt.Sprintf("%s (tensor_parallel_size %d", c.Name, c.TensorParallelSize)
		if c.PipelineParallelSize > 1 {
			w += fmt.Sprintf(", pipeline_parallel_size %d over %d nodes", c.PipelineParallelSize, c.Nodes)
		}
		return w + ")"
	}

	// Quantization, an 8-bit KV cache, or both.
	canQuantize, canKV := s.ownQuantization && s.quantization == "", s.kvBytes > 1
	quantized, kv8 := s, s
	quantized.quantization, quantized.ownQuantization = "fp8", false
	kv8.kvDType, kv8.kvBytes = "fp8", 1
	found := false
	if canQuantize {
		if alt := compute(r, quantized, false); alt.Recommended != nil {
			found = true
			out = append(out, fmt.Sprintf("quantization = \"fp8\" stores the weights in %s instead of %s and fits on %s.",
				gib(alt.WeightsBytes), gib(plan.WeightsBytes), where(alt.Recommended)))
		}
	}
	if canKV {
		if alt := compute(r, kv8, false); alt.Recommended != nil {
			found = true
			out = append(out, fmt.Sprintf("kv_cache_dtype = \"fp8\" halves the KV cache to %s and fits on %s.",
				gib(alt.KVCacheBytes), where(alt.Recommended)))
		}
	}
	if canQuantize && canKV && !found {
		both := quantized
		both.kvDType, both.kvBytes = "fp8", 1
		if alt := compute(r, both, false); alt.Recommended != nil {
			out = append(out, fmt.Sprintf("quantization = \"fp8\" with kv_cache_dtype = \"fp8\" (weights %s, KV cache %s) fits on %s.",
				gib(alt.WeightsBytes), gib(alt.KVCacheBytes), where(alt.Recommended)))
		}
	}

	// The largest usable candidate: fewer sequences, a shorter context, more nodes.
	var big *Candidate
	for i := range plan.Candidates {
		if c := &plan.Candidates[i]; nodes[i].unusable == "" {
			big = c
		}
	}
	if big == nil {
		return out
	}
	if big.MaxConcurrentSequences >= 1 {
		out = append(out, fmt.Sprintf("concurrency = %d (instead of %d) fits on %s at max_model_len %d.",
			big.MaxConcurrentSequences, s.concurrency, where(big), s.maxModelLen))
	}
	if n := p.longestContext(*big); n > 0 && n < s.maxModelLen {
		out = append(out, fmt.Sprintf("max_model_len = %d (instead of %d) fits on %s at concurrency %d.",
			n, s.maxModelLen, where(big), s.concurrency))
	}
	if c, ok := p.withMoreNodes(*big); ok {
		if big.InstanceType != "" {
			out = append(out, fmt.Sprintf("max_nodes = %d fits on %s.", c.Nodes, where(&c)))
		} else {
			out = append(out, fmt.Sprintf("hosts = %d fits on %s.", c.Nodes, where(&c)))
		}
	}
	out = append(out, fmt.Sprintf("In all it needs about %s of usable GPU memory (weights %s + KV cache %s) plus about %s per GPU for activations and overhead; the largest candidate, %s, gives %s per GPU on %s over %s: choose GPUs with more memory, or more of them.",
		gib(plan.WeightsBytes+plan.KVCacheBytes), gib(plan.WeightsBytes), gib(plan.KVCacheBytes), gib(big.AllowanceBytesPerGPU),
		big.Name, gib(big.UsableBytesPerGPU), plural(big.GPUsPerNode, "GPU"), plural(big.MaxNodes, "node")))
	return out
}

// longestContext is the longest max_model_len (a multiple of 16, vLLM's block size) at which the
// requested concurrency fits on c's deployment; 0 when not even 16 tokens fit.
func (p *planner) longestContext(c Candidate) int64 {
	budget := c.UsableBytesPerGPU - c.WeightsBytesPerGPU - c.AllowanceBytesPerGPU
	if budget <= 0 {
		return 0
	}
	layers, stage, tp := p.m.NumHiddenLayers, ceilDiv(p.m.NumHiddenLayers, c.PipelineParallelSize), c.TensorParallelSize
	fits := func(n int64) bool {
		kv := mulSat(p.s.concurrency, kvBytesPerSequence(p.m, p.s.kvBytes, tp, n))
		return mulDivCeil(kv, stage, layers*tp) <= budget
	}
	lo, hi := int64(0), p.s.maxModelLen/16 // in blocks
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if fits(mid * 16) {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return lo * 16
}

// withMoreNodes finds the fewest nodes of c that fit, up to 16 (or one per layer).
func (p *planner) withMoreNodes(c Candidate) (Candidate, bool) {
	tp := c.TensorParallelSize
	for pp := c.PipelineParallelSize + 1; pp <= min(16, p.m.NumHiddenLayers); pp++ {
		alt := c
		p.figure(&alt, tp, pp)
		if alt.Fits {
			return alt, true
		}
	}
	return Candidate{}, false
}

func sortedKeys(m map[string]int64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// mulSat multiplies, saturating at math.MaxInt64.
func mulSat(a, b int64) int64 {
	if a <= 0 || b <= 0 {
		return a * b
	}
	if a > math.MaxInt64/b {
		return math.MaxInt64
	}
	return a * b
}

// addSat adds non-negative values, saturating at math.MaxInt64.
func addSat(vs ...int64) int64 {
	var t int64
	for _, v := range vs {
		if t > math.MaxInt64-v {
			return math.MaxInt64
		}
		t += v
	}
	return t
}
