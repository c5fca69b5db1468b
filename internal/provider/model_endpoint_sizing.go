package provider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/inferstack/terraform-provider-inferstack/internal/backend"
	"github.com/inferstack/terraform-provider-inferstack/internal/errs"
	"github.com/inferstack/terraform-provider-inferstack/internal/hf"
	"github.com/inferstack/terraform-provider-inferstack/internal/sizing"
)

// privateModelShape is the private state key holding the shape of the model at the endpoint's
// resolved revision (config.json and the safetensors metadata, as sizing reads them). A plan of
// an endpoint pinned to a sha already in state checks its engine settings against it without
// asking the Hub again; a sha is immutable, so the shape never goes stale.
const privateModelShape = "model_shape"

type storedShape struct {
	SHA   string            `json:"sha"`
	Shape sizing.ModelShape `json:"shape"`
}

type privateGetter interface {
	GetKey(context.Context, string) ([]byte, diag.Diagnostics)
}

// shapeFromPrivate returns the stored shape of the model at sha, if private state has it.
func shapeFromPrivate(ctx context.Context, p privateGetter, sha string) *sizing.ModelShape {
	if p == nil {
		return nil
	}
	raw, d := p.GetKey(ctx, privateModelShape)
	if d.HasError() || len(raw) == 0 {
		return nil
	}
	var s storedShape
	if json.Unmarshal(raw, &s) != nil || s.SHA != sha {
		return nil
	}
	return &s.Shape
}

// shapeToPrivate stores the shape of the model at sha.
func shapeToPrivate(ctx context.Context, p privateSetter, sha string, shape sizing.ModelShape, diags *diag.Diagnostics) {
	if p == nil || sha == "" {
		return
	}
	raw, err := json.Marshal(storedShape{SHA: sha, Shape: shape})
	if err != nil {
		return // a map of ints and strings: cannot fail
	}
	diags.Append(p.SetKey(ctx, privateModelShape, raw)...)
}

// sizingChanged reports whether anything the sizing checks look at differs from state: the model,
// its revision, the engine, the replicas or the cluster. An unchanged endpoint is not checked
// again (it is running), and its plan reads nothing from the cluster.
func sizingChanged(plan modelEndpointResourceModel, state *modelEndpointResourceModel) bool {
	if state == nil || state.Model == nil || plan.Model == nil || state.Engine == nil || plan.Engine == nil {
		return true
	}
	e, s := plan.Engine, state.Engine
	return !plan.Model.ID.Equal(state.Model.ID) || !plan.Model.Revision.Equal(state.Model.Revision) ||
		!plan.Replicas.Equal(state.Replicas) || !plan.ClusterID.Equal(state.ClusterID) ||
		!e.TensorParallelSize.Equal(s.TensorParallelSize) || !e.PipelineParallelSize.Equal(s.PipelineParallelSize) ||
		!e.MaxModelLen.Equal(s.MaxModelLen) || !e.GPUMemoryUtilization.Equal(s.GPUMemoryUtilization) ||
		!e.Quantization.Equal(s.Quantization) || !e.KVCacheDType.Equal(s.KVCacheDType)
}

// clusterCapacityTimeout bounds the plan's read of the cluster's GPUs.
const clusterCapacityTimeout = 2 * time.Minute

// clusterCapacity asks the backend what the cluster's GPUs offer, nil when it cannot tell. A
// cluster that cannot be read now is not an error of the plan: the checks that need it are
// skipped (the apply reports the cluster's state).
func clusterCapacity(ctx context.Context, b backend.Backend, clusterID string) *backend.Capacity {
	cr, ok := b.(backend.CapacityReader)
	if !ok {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, clusterCapacityTimeout)
	defer cancel()
	c, err := cr.ClusterCapacity(ctx, clusterID)
	if err != nil {
		tflog.Info(ctx, "cluster capacity unknown: skipping the endpoint's capacity checks", map[string]any{"error": err.Error()})
		return nil
	}
	return c
}

// checkSizing runs, at plan time, the checks vLLM and the cluster would otherwise fail at apply
// (or worse, after the weights loaded): tensor_parallel_size valid for the model's heads,
// pipeline_parallel_size at most its layers, max_model_len at most its own limit, one replica's
// GPUs on one node, every replica's GPUs in the cluster, and the weights, one max_model_len
// sequence's KV cache and the allowance within each GPU (the sizing package's figures). capacity
// may be nil: then only the model's own checks run.
func checkSizing(plan modelEndpointResourceModel, shape sizing.ModelShape, capacity *backend.Capacity, diags *diag.Diagnostics) {
	e := plan.Engine
	if e == nil || e.TensorParallelSize.IsUnknown() || e.PipelineParallelSize.IsUnknown() || e.MaxModelLen.IsUnknown() ||
		e.GPUMemoryUtilization.IsUnknown() || e.Quantization.IsUnknown() || e.KVCacheDType.IsUnknown() {
		return
	}
	tp, pp := e.TensorParallelSize.ValueInt64(), e.PipelineParallelSize.ValueInt64()
	engine := path.Root("engine")
	if l := e.MaxModelLen.ValueInt64(); !e.MaxModelLen.IsNull() && shape.MaxPositionEmbeddings > 0 && l > shape.MaxPositionEmbeddings {
		diags.AddAttributeError(engine.AtName("max_model_len"), "invalid engine.max_model_len",
			fmt.Sprintf("engine.max_model_len: %d tokens is above %s's own limit (max_position_embeddings %d), which vLLM refuses: use at most %d, or leave it unset to serve the model's limit.",
				l, shape.ID, shape.MaxPositionEmbeddings, shape.MaxPositionEmbeddings))
		return
	}
	r := sizing.Request{
		Model:                shape,
		MaxModelLen:          e.MaxModelLen.ValueInt64Pointer(),
		Quantization:         e.Quantization.ValueStringPointer(),
		KVCacheDType:         e.KVCacheDType.ValueStringPointer(),
		GPUMemoryUtilization: e.GPUMemoryUtilization.ValueFloat64Pointer(),
	}
	if capacity != nil && capacity.GPUMemoryMiB > 0 {
		mem := float64(capacity.GPUMemoryMiB) / 1024
		r.GPUs = []sizing.HostGPUs{{Model: capacity.GPUModel, MemoryGiB: &mem, Count: capacity.GPUsPerNode}}
	}
	c, err := sizing.Fixed(r, tp, pp)
	if err != nil {
		var kept []error
		for _, p := range errs.Problems(err) {
			// A model the Hub's metadata does not size (no safetensors, an unusual config) may
			// still be served by vLLM: the plan does not refuse it.
			if p.Attribute != sizing.AttrModel && !strings.HasPrefix(p.Attribute, sizing.AttrModel+".") {
				kept = append(kept, p)
			}
		}
		addProblems(diags, engine, "invalid engine settings", errors.Join(kept...))
		return
	}
	if capacity == nil {
		return
	}
	gpus := tp * pp
	if capacity.StagesSpanNodes && pp > 1 {
		// One stage per node: each node takes tensor_parallel_size GPUs, and a replica needs
		// pipeline_parallel_size such nodes.
		if tp > capacity.GPUsPerNode {
			diags.AddAttributeError(engine.AtName("tensor_parallel_size"), "pipeline stage larger than a node",
				fmt.Sprintf("engine.tensor_parallel_size: each pipeline stage takes tensor_parallel_size = %d GPUs of one node, "+
					"but the cluster's largest node has %d (%s): lower it, or use a cluster with larger nodes.", tp, capacity.GPUsPerNode, capacity.GPUModel))
			return
		}
		var fit int64
		for _, n := range capacity.NodeGPUs {
			if n >= tp {
				fit++
			}
		}
		if fit < pp {
			diags.AddAttributeError(engine.AtName("pipeline_parallel_size"), "fewer nodes than pipeline stages",
				fmt.Sprintf("engine.pipeline_parallel_size: a replica's %d stages go on %d different nodes with %d GPUs each, but the cluster "+
					"has %d such node(s): lower pipeline_parallel_size, or add nodes.", pp, pp, tp, fit))
			return
		}
	} else if gpus > capacity.GPUsPerNode {
		diags.AddAttributeError(engine.AtName("tensor_parallel_size"), "replica larger than a node",
			fmt.Sprintf("engine.tensor_parallel_size: a replica takes tensor_parallel_size x pipeline_parallel_size = %d x %d = %d GPUs of one node, "+
				"but the cluster's largest node has %d (%s): lower them, or use a cluster with larger nodes.", tp, pp, gpus, capacity.GPUsPerNode, capacity.GPUModel))
		return
	}
	if n := plan.Replicas.ValueInt64(); !plan.Replicas.IsUnknown() && capacity.TotalGPUs > 0 && n*gpus > capacity.TotalGPUs {
		diags.AddAttributeError(path.Root("replicas"), "more GPUs than the cluster has",
			fmt.Sprintf("replicas: %d replicas x %d GPUs = %d GPUs, but the cluster has %d GPUs in all (and other endpoints take theirs): "+
				"lower replicas, or add nodes to the cluster.", n, gpus, n*gpus, capacity.TotalGPUs))
	}
	if c != nil && !c.Fits {
		diags.AddAttributeError(engine, "model does not fit its GPUs",
			fmt.Sprintf("engine: %s on the cluster's %s GPUs %s. Raise engine.tensor_parallel_size (within a node), quantize "+
				"(engine.quantization, engine.kv_cache_dtype), lower engine.max_model_len, or use a cluster with larger GPUs; "+
				"inferstack_deployment_plan sizes it for you.", shape.ID, capacity.GPUModel, c.Reason))
	}
}

// hubAccess resolves the model at its pinned sha for the apply: the Hub token goes to the nodes
// only when the model is gated or private (a public model's weights need none, and a token on a
// node is a token that can leak), and the model's shape is kept in private state for the plans
// that follow. A Hub that cannot be reached fails the apply: the nodes would need it too.
func (r *modelEndpointResource) hubAccess(ctx context.Context, spec *backend.EndpointSpec,
	private privateSetter, summary string, diags *diag.Diagnostics) bool {
	id, sha := spec.Node.Model.ID, spec.Node.Model.Revision
	client, err := r.data.HF()
	var m *hf.Model
	if err == nil {
		m, err = client.Resolve(ctx, id, sha)
	}
	if err != nil {
		addModelError(diags, err, id, sha)
		return false
	}
	if !m.Gated && !m.Private {
		spec.HFToken = ""
	}
	shapeToPrivate(ctx, private, m.SHA, sizing.ShapeFromModel(m), diags)
	return true
}
