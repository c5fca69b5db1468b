package sizing

import "fmt"

// Fixed sizes a deployment whose parallelism is already chosen (an endpoint's engine settings):
// tp x pp GPUs of the one GPU group in r (r.GPUs[0], or r.InstanceTypes[0] when there is no
// group). It checks what Compute would choose for itself: tp is a valid tensor-parallel size for
// the model's heads, pp is at most the model's layer count, and (when r names a GPU group) the
// model's weights, the KV cache of Concurrency sequences of MaxModelLen tokens and the allowance
// fit on each GPU. The Candidate is nil when r has no GPU group (only the model checks ran); its
// Fits and Reason say whether the memory fits, with the numbers. Bad input returns an errs.List,
// on the attributes of Request (tensor_parallel_size and pipeline_parallel_size for tp and pp).
func Fixed(r Request, tp, pp int64) (*Candidate, error) {
	s, ps := r.settings()
	m := r.Model
	if tp < 1 {
		ps.Add(fmt.Sprintf("must be at least 1, got %d", tp), AttrTensorParallelSize)
	} else if err := CheckTensorParallelSize(m, tp); err != nil {
		ps.Add(err.Error(), AttrTensorParallelSize)
	}
	switch {
	case pp < 1:
		ps.Add(fmt.Sprintf("must be at least 1, got %d", pp), AttrPipelineParallelSize)
	case m.NumHiddenLayers > 0 && pp > m.NumHiddenLayers:
		ps.Add(fmt.Sprintf("%d pipeline stages for %d layers: %s has %d hidden layers, so at most %d stages (each stage holds at least one layer)",
			pp, m.NumHiddenLayers, modelName(m), m.NumHiddenLayers, m.NumHiddenLayers), AttrPipelineParallelSize)
	}
	if len(ps) > 0 {
		return nil, ps
	}
	p := &planner{m: m, s: s}
	p.w, _ = weights(m, s)
	nodes := p.nodes(Request{GPUs: r.GPUs[:min(len(r.GPUs), 1)], InstanceTypes: r.InstanceTypes[:min(len(r.InstanceTypes), 1)]})
	if len(nodes) == 0 {
		return nil, nil
	}
	n := nodes[0]
	c := n.c
	if n.unusable != "" {
		c.Reason = n.unusable
		return &c, nil
	}
	p.figure(&c, tp, pp)
	if !c.Fits {
		c.Reason = p.reason(c)
	}
	return &c, nil
}

// Attribute names Fixed blames tp and pp on (an endpoint's engine settings).
const (
	AttrTensorParallelSize   = "tensor_parallel_size"
	AttrPipelineParallelSize = "pipeline_parallel_size"
)

func modelName(m ModelShape) string {
	if m.ID == "" {
		return "the model"
	}
	return m.ID
}
