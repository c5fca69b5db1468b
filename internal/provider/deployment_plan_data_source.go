package provider

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework-validators/datasourcevalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/inferstack/terraform-provider-inferstack/internal/backend"
	"github.com/inferstack/terraform-provider-inferstack/internal/hf"
	"github.com/inferstack/terraform-provider-inferstack/internal/sizing"
)

var (
	_ datasource.DataSource                     = &deploymentPlanDataSource{}
	_ datasource.DataSourceWithConfigure        = &deploymentPlanDataSource{}
	_ datasource.DataSourceWithConfigValidators = &deploymentPlanDataSource{}
	_ datasource.DataSourceWithValidateConfig   = &deploymentPlanDataSource{}
)

func newDeploymentPlanDataSource() datasource.DataSource { return &deploymentPlanDataSource{} }

type deploymentPlanDataSource struct {
	data *providerData
}

// gpuManufacturerForVLLM is the only GPU maker whose instance types are candidates: the
// vllm/vllm-openai image is built for CUDA.
const gpuManufacturerForVLLM = "NVIDIA"

func (d *deploymentPlanDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_deployment_plan"
}

func (d *deploymentPlanDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Sizes a vLLM deployment from the model itself: weights, KV cache for a context length and a " +
			"number of concurrent sequences, the tensor-parallel sizes vLLM accepts, and which instance types or hosts " +
			"fit. The model is resolved on the Hugging Face Hub (as `inferstack_hf_model` does, sharing its lookup); " +
			"the candidates come from a cloud's GPU catalog (NVIDIA types only: the vLLM image is built for CUDA), " +
			"from GPUs you already have, or both. When nothing fits the read still succeeds, with `recommended` " +
			"null, the numbers, a reason per candidate, `advice`, and a warning.",
		Attributes: map[string]schema.Attribute{
			// The question.
			"model": schema.StringAttribute{
				Required:            true,
				MarkdownDescription: "Hugging Face model id, `owner/name`, e.g. `meta-llama/Llama-3.1-70B-Instruct`. Gated models need a token in the provider's `huggingface` block.",
				Validators:          []validator.String{hfModelID()},
			},
			"revision": schema.StringAttribute{
				Optional:            true,
				Computed:            true,
				MarkdownDescription: "Branch, tag or commit sha of the model to size. Defaults to `main`; `sha` gives the commit it resolved to.",
				Validators:          []validator.String{hfRevision()},
			},
			"max_model_len": schema.Int64Attribute{
				Optional: true,
				MarkdownDescription: "Context length to serve, in tokens (vLLM's `--max-model-len`). Defaults to the model's " +
					"`max_position_embeddings`. Above that it is an error unless `allow_long_context` is true.",
				Validators: []validator.Int64{int64validator.AtLeast(1)},
			},
			"allow_long_context": schema.BoolAttribute{
				Optional: true,
				MarkdownDescription: "Accept a `max_model_len` above the model's own limit, when you extend the context with " +
					"rope scaling (e.g. YaRN); vLLM then needs `VLLM_ALLOW_LONG_MAX_MODEL_LEN=1`. Defaults to false.",
			},
			"concurrency": schema.Int64Attribute{
				Optional:            true,
				MarkdownDescription: "How many sequences of `max_model_len` tokens must fit in the KV cache at once. Defaults to 1.",
				Validators:          []validator.Int64{int64validator.AtLeast(1)},
			},
			"quantization": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "vLLM's `--quantization`. Null serves the checkpoint as it is (16-bit, or its own " +
					"quantization for an AWQ/GPTQ/FP8 repository). `fp8` (8 bits) or `bitsandbytes` (4 bits) quantize a " +
					"16-bit checkpoint as it loads; other methods need a checkpoint quantized ahead of time.",
				Validators: []validator.String{stringvalidator.LengthAtLeast(1)},
			},
			"kv_cache_dtype": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "vLLM's `--kv-cache-dtype`: `auto` (the model's 16-bit dtype, 2 bytes per element; the " +
					"default) or `fp8` (1 byte; also `fp8_e4m3`, `fp8_e5m2`), which halves the KV cache.",
				Validators: []validator.String{stringvalidator.OneOf("auto", "fp8", "fp8_e4m3", "fp8_e5m2", "bfloat16", "float16")},
			},
			"gpu_memory_utilization": schema.Float64Attribute{
				Optional: true,
				MarkdownDescription: "Share of each GPU's memory vLLM may use, in (0, 1] (vLLM's `--gpu-memory-utilization`). " +
					"Defaults to 0.92, vLLM's documented default.",
				Validators: []validator.Float64{float64Above(0, 1, "It is a share of each GPU's memory: use e.g. 0.9, or leave it null for vLLM's default 0.92.")},
			},
			"max_num_batched_tokens": schema.Int64Attribute{
				Optional: true,
				MarkdownDescription: "Token budget of one engine step (vLLM's `--max-num-batched-tokens`), which sizes the " +
					"activation allowance per GPU. Defaults to 8192.",
				Validators: []validator.Int64{int64validator.AtLeast(1)},
			},
			"max_nodes": schema.Int64Attribute{
				Optional: true,
				MarkdownDescription: "How many nodes of one instance type may be joined with pipeline parallelism when one " +
					"node is not enough. Defaults to 1 (single node). Your own GPUs use `gpus[].hosts` instead.",
				Validators: []validator.Int64{int64validator.AtLeast(1)},
			},
			"candidates": schema.SingleNestedAttribute{
				Optional: true,
				MarkdownDescription: "Size against the GPU instance types of a cloud region, from the cloud's own catalog " +
					"(as `inferstack_gpu_types` lists them; NVIDIA only). Set this, `gpus`, or both.",
				Attributes: map[string]schema.Attribute{
					"cloud": schema.StringAttribute{
						Required:            true,
						MarkdownDescription: "`aws` or `azure`.",
						Validators:          []validator.String{stringvalidator.OneOf("aws", "azure")},
					},
					"region": schema.StringAttribute{
						Optional: true,
						MarkdownDescription: "AWS region or Azure location. For AWS it defaults to the provider's region; for " +
							"Azure it is required.",
						Validators: []validator.String{stringvalidator.LengthAtLeast(1)},
					},
					"instance_types": schema.ListAttribute{
						Optional:    true,
						ElementType: types.StringType,
						MarkdownDescription: "Consider only these instance types (or VM sizes), e.g. the ones you have quota " +
							"for. Each must be an NVIDIA GPU type the region offers. By default every one is considered.",
						Validators: []validator.List{listvalidator.SizeAtLeast(1), listvalidator.UniqueValues()},
					},
				},
			},
			"cluster_id": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "Size against the nodes of an `inferstack_inference_cluster` whose platform schedules " +
					"replicas itself (Kubernetes: the schedulable nodes matching its node selector, by GPU product, count " +
					"and memory). Set this, `candidates`, `gpus`, or several.",
			},
			"gpus": schema.ListNestedAttribute{
				Optional:            true,
				MarkdownDescription: "Size against hosts you already have, one element per kind of host. Set this, `candidates`, or both.",
				Validators:          []validator.List{listvalidator.SizeAtLeast(1)},
				NestedObject: schema.NestedAttributeObject{
					Attributes: map[string]schema.Attribute{
						"model": schema.StringAttribute{
							Required: true,
							MarkdownDescription: "GPU model as you or `nvidia-smi` name it: `L4`, `A100 80GB`, `NVIDIA H100 80GB HBM3`. " +
								"Known models: " + knownGPUList() + ".",
							Validators: []validator.String{stringvalidator.LengthAtLeast(1)},
						},
						"memory_gib": schema.Float64Attribute{
							Optional: true,
							MarkdownDescription: "Memory of one GPU in GiB. Optional for a known model (the smaller of this and " +
								"what `nvidia-smi` reports for it is used); required for any other (`nvidia-smi " +
								"--query-gpu=memory.total` reports MiB: divide by 1024).",
							Validators: []validator.Float64{float64Above(0, 4096, "Set one GPU's memory in GiB, e.g. 48.")},
						},
						"count": schema.Int64Attribute{
							Required:            true,
							MarkdownDescription: "GPUs in one host.",
							Validators:          []validator.Int64{int64validator.AtLeast(1)},
						},
						"hosts": schema.Int64Attribute{
							Optional: true,
							MarkdownDescription: "How many such hosts there are, for pipeline parallelism across them when one " +
								"host is not enough. Defaults to 1.",
							Validators: []validator.Int64{int64validator.AtLeast(1)},
						},
					},
				},
			},

			// The answer.
			"sha": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "The commit `revision` resolved to; the sizing used `config.json` at this commit.",
			},
			"weights_bytes": schema.Int64Attribute{
				Computed:            true,
				MarkdownDescription: "Size of the weights as served, bytes (see `assumptions.weights_formula`).",
			},
			"kv_cache_bytes_per_token": schema.Int64Attribute{
				Computed:            true,
				MarkdownDescription: "2 x layers x KV heads x head_dim x bytes per element, bytes.",
			},
			"kv_cache_bytes_per_sequence": schema.Int64Attribute{
				Computed:            true,
				MarkdownDescription: "KV cache of one sequence of `max_model_len` tokens, sliding-window layers capped at their window, bytes.",
			},
			"kv_cache_bytes": schema.Int64Attribute{
				Computed:            true,
				MarkdownDescription: "`concurrency` x `kv_cache_bytes_per_sequence`, bytes.",
			},
			"allowance_bytes": schema.Int64Attribute{
				Computed: true,
				MarkdownDescription: "Per-GPU allowance for activations, CUDA graphs and overhead at tensor_parallel_size 1, " +
					"bytes (each candidate gives its own at its tensor-parallel size).",
			},
			"required_bytes": schema.Int64Attribute{
				Computed: true,
				MarkdownDescription: "`weights_bytes` + `kv_cache_bytes` + `allowance_bytes`: the usable memory one GPU " +
					"would need. With tensor parallelism weights and KV cache are split, and each GPU adds its own allowance.",
			},
			"valid_tensor_parallel_sizes": schema.ListAttribute{
				Computed:            true,
				ElementType:         types.Int64Type,
				MarkdownDescription: "Tensor-parallel sizes vLLM accepts for the model: they divide the attention heads, and divide the KV heads or are a multiple of them.",
			},
			"recommended": schema.SingleNestedAttribute{
				Computed: true,
				MarkdownDescription: "The fitting candidate with the least GPU memory in all (without prices, GPU memory " +
					"stands in for cost); null when nothing fits (see `advice`).",
				Attributes: deploymentCandidateAttributes(),
			},
			"evaluations": schema.ListNestedAttribute{
				Computed: true,
				MarkdownDescription: "Every candidate and how the model would be deployed on it, sorted by total GPU memory, " +
					"then vCPUs and host memory, then name. A candidate that does not fit says why in `reason`.",
				NestedObject: schema.NestedAttributeObject{Attributes: deploymentCandidateAttributes()},
			},
			"advice": schema.ListAttribute{
				Computed:    true,
				ElementType: types.StringType,
				MarkdownDescription: "When nothing fits, what would: `quantization = \"fp8\"`, `kv_cache_dtype = \"fp8\"`, " +
					"fewer sequences, a shorter context, more nodes, bigger GPUs. Empty when something fits.",
			},
			"assumptions": schema.SingleNestedAttribute{
				Computed:            true,
				MarkdownDescription: "The inputs after defaults, and the constants the arithmetic used.",
				Attributes: map[string]schema.Attribute{
					"max_model_len":                schema.Int64Attribute{Computed: true, MarkdownDescription: "Context length sized for, tokens."},
					"concurrency":                  schema.Int64Attribute{Computed: true, MarkdownDescription: "Sequences of `max_model_len` tokens sized for."},
					"quantization":                 schema.StringAttribute{Computed: true, MarkdownDescription: "Method the weights are served with; null for 16-bit weights."},
					"weights_formula":              schema.StringAttribute{Computed: true, MarkdownDescription: "How `weights_bytes` was computed, in words."},
					"kv_cache_dtype":               schema.StringAttribute{Computed: true, MarkdownDescription: "KV cache dtype: `auto`, `fp8`..."},
					"kv_cache_bytes_per_element":   schema.Int64Attribute{Computed: true, MarkdownDescription: "Bytes per KV cache element: 2 for `auto`, 1 for `fp8`."},
					"gpu_memory_utilization":       schema.Float64Attribute{Computed: true, MarkdownDescription: "Share of each GPU's memory counted as usable (rounded to 6 decimals)."},
					"max_num_batched_tokens":       schema.Int64Attribute{Computed: true, MarkdownDescription: "Tokens of one engine step the activation allowance assumes."},
					"max_nodes":                    schema.Int64Attribute{Computed: true, MarkdownDescription: "Nodes of one instance type pipeline parallelism may join."},
					"fixed_overhead_bytes_per_gpu": schema.Int64Attribute{Computed: true, MarkdownDescription: "Fixed part of the allowance per GPU (CUDA context, NCCL buffers, CUDA graphs, sampler), bytes."},
					"sliding_window":               schema.Int64Attribute{Computed: true, MarkdownDescription: "Sliding window in tokens; null when the model has none."},
					"sliding_window_layers":        schema.Int64Attribute{Computed: true, MarkdownDescription: "Layers that use the sliding window; null when none."},
				},
			},
		},
	}
}

// deploymentCandidateAttributes describes one candidate; recommended and evaluations share it.
func deploymentCandidateAttributes() map[string]schema.Attribute {
	return map[string]schema.Attribute{
		"name": schema.StringAttribute{Computed: true, MarkdownDescription: "The instance type, or `<count> x <GPU model>` for an element of `gpus`."},
		"instance_type": schema.StringAttribute{Computed: true,
			MarkdownDescription: "Cloud instance type or VM size; null for your own GPUs. Use it as `inferstack_inference_cluster`'s instance type."},
		"gpus_index":    schema.Int64Attribute{Computed: true, MarkdownDescription: "Index in `gpus` of your own GPUs; null for an instance type."},
		"gpu_model":     schema.StringAttribute{Computed: true, MarkdownDescription: "GPU model, canonical where known (`A100 80GB`, `H100`, `L40S`)."},
		"gpus_per_node": schema.Int64Attribute{Computed: true, MarkdownDescription: "GPUs one node (instance or host) has."},
		"gpu_memory_bytes": schema.Int64Attribute{Computed: true,
			MarkdownDescription: "One GPU's memory as counted: the smaller of the catalog's (or `memory_gib`) figure and what `nvidia-smi` reports for a known model, bytes."},
		"usable_bytes_per_gpu": schema.Int64Attribute{Computed: true, MarkdownDescription: "`gpu_memory_bytes` x `gpu_memory_utilization`, bytes."},
		"max_nodes":            schema.Int64Attribute{Computed: true, MarkdownDescription: "Nodes pipeline parallelism may use here (`max_nodes`, or the element's `hosts`)."},
		"fits":                 schema.BoolAttribute{Computed: true, MarkdownDescription: "Whether `concurrency` sequences of `max_model_len` tokens fit."},
		"reason": schema.StringAttribute{Computed: true,
			MarkdownDescription: "Why it does not fit, with the numbers; null when it fits."},
		"tensor_parallel_size": schema.Int64Attribute{Computed: true,
			MarkdownDescription: "vLLM's `--tensor-parallel-size`: the smallest valid size that fits on one node, else the largest valid size per node (the one tried last when nothing fits). This and the per-GPU figures are null for a candidate that cannot run vLLM at all (a vGPU partition; see `reason`)."},
		"pipeline_parallel_size": schema.Int64Attribute{Computed: true, MarkdownDescription: "vLLM's `--pipeline-parallel-size`: 1 on one node; the number of nodes otherwise."},
		"nodes":                  schema.Int64Attribute{Computed: true, MarkdownDescription: "Nodes one copy of the model spans (= `pipeline_parallel_size`)."},
		"gpu_count":              schema.Int64Attribute{Computed: true, MarkdownDescription: "GPUs one copy of the model uses: `tensor_parallel_size` x `pipeline_parallel_size`."},
		"replicas_per_node":      schema.Int64Attribute{Computed: true, MarkdownDescription: "Copies of a single-node deployment one node holds (`gpus_per_node` / `tensor_parallel_size`)."},
		"weights_bytes_per_gpu":  schema.Int64Attribute{Computed: true, MarkdownDescription: "Weights on the busiest GPU, bytes."},
		"kv_cache_bytes_per_gpu": schema.Int64Attribute{Computed: true, MarkdownDescription: "KV cache of `concurrency` sequences on the busiest GPU, bytes."},
		"allowance_bytes_per_gpu": schema.Int64Attribute{Computed: true,
			MarkdownDescription: "Activations, CUDA graphs and overhead per GPU at this tensor-parallel size, bytes."},
		"required_bytes_per_gpu": schema.Int64Attribute{Computed: true, MarkdownDescription: "Weights + KV cache + allowance per GPU; it fits when this is at most `usable_bytes_per_gpu`."},
		"max_concurrent_sequences": schema.Int64Attribute{Computed: true,
			MarkdownDescription: "How many sequences of `max_model_len` tokens this deployment's KV cache holds (0 when not even the weights fit)."},
	}
}

func knownGPUList() string {
	var names []string
	for _, g := range sizing.KnownGPUs() {
		names = append(names, "`"+g.Model+"`")
	}
	return strings.Join(names, ", ")
}

func (d *deploymentPlanDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.data = configuredData(req.ProviderData, &resp.Diagnostics)
}

func (d *deploymentPlanDataSource) ConfigValidators(context.Context) []datasource.ConfigValidator {
	return []datasource.ConfigValidator{
		datasourcevalidator.AtLeastOneOf(path.MatchRoot("candidates"), path.MatchRoot("gpus"), path.MatchRoot("cluster_id")),
	}
}

// ValidateConfig catches, at plan time, what the schema validators cannot see alone: an Azure
// region, and GPUs whose memory is neither given nor known. Checks that need the model itself
// (max_model_len against its limit, quantization against its checkpoint) come at read time,
// which is during plan for a configuration whose values are known.
func (d *deploymentPlanDataSource) ValidateConfig(ctx context.Context, req datasource.ValidateConfigRequest, resp *datasource.ValidateConfigResponse) {
	var cloud, region types.String
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("candidates").AtName("cloud"), &cloud)...)
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("candidates").AtName("region"), &region)...)
	if cloud.ValueString() == "azure" && region.IsNull() {
		resp.Diagnostics.AddAttributeError(path.Root("candidates").AtName("region"), "missing Azure location",
			`candidates.region is required when candidates.cloud = "azure": set it to an Azure location such as "eastus".`)
	}

	var gpus types.List
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("gpus"), &gpus)...)
	if gpus.IsNull() || gpus.IsUnknown() {
		return
	}
	for i, el := range gpus.Elements() {
		obj, ok := el.(types.Object)
		if !ok || obj.IsNull() || obj.IsUnknown() {
			continue
		}
		model, _ := obj.Attributes()["model"].(types.String)
		memory, _ := obj.Attributes()["memory_gib"].(types.Float64)
		if model.IsNull() || model.IsUnknown() || !memory.IsNull() || strings.TrimSpace(model.ValueString()) == "" {
			continue
		}
		if _, known := sizing.FindGPU(model.ValueString(), 0); !known {
			attr := fmt.Sprintf("gpus[%d].memory_gib", i)
			resp.Diagnostics.AddAttributeError(path.Root("gpus").AtListIndex(i).AtName("memory_gib"), "unknown GPU memory",
				fmt.Sprintf("%s: GPU model %q is not in the known table (%s), or comes in several memory sizes: set %s to one GPU's memory in GiB (nvidia-smi --query-gpu=memory.total reports MiB: divide by 1024).",
					attr, model.ValueString(), strings.ReplaceAll(knownGPUList(), "`", ""), attr))
		}
	}
}

func (d *deploymentPlanDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var m deploymentPlanDataSourceModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	id, revision := m.Model.ValueString(), m.Revision.ValueString()
	if revision == "" {
		revision = hf.DefaultRevision
	}
	summary := fmt.Sprintf("planning deployment (%s)", id)

	model, ok := resolveModel(ctx, d.data, id, revision, sizing.AttrModel, &resp.Diagnostics)
	if !ok {
		return
	}
	r := expandDeploymentPlan(m, model)
	if !m.ClusterID.IsNull() {
		r.GPUs = append(r.GPUs, d.clusterPool(ctx, m.ClusterID.ValueString(), &resp.Diagnostics)...)
		if resp.Diagnostics.HasError() {
			return
		}
	}
	// Bad input stops here, before the cloud is asked for its catalog.
	if ps := r.Validate(); len(ps) > 0 {
		addProblems(&resp.Diagnostics, path.Empty(), summary, ps)
		return
	}
	if m.Candidates != nil {
		r.InstanceTypes = d.instanceTypes(ctx, m.Candidates, &resp.Diagnostics)
		if resp.Diagnostics.HasError() {
			return
		}
	}

	plan, err := sizing.Compute(r)
	if err != nil {
		addProblems(&resp.Diagnostics, path.Empty(), summary, err)
		return
	}
	tflog.Debug(ctx, "planned deployment", map[string]any{
		"model": id, "sha": model.SHA, "candidates": len(plan.Candidates), "fits": plan.Recommended != nil,
	})

	switch {
	case len(plan.Candidates) == 0:
		resp.Diagnostics.AddWarning(summary, "No GPU instance type or host to size against: the catalog has no NVIDIA GPU "+
			"types matching candidates. The figures are still computed; choose another region or list your own gpus.")
	case plan.Recommended == nil:
		resp.Diagnostics.AddWarning(summary, strings.Join(plan.Advice, "\n"))
	}

	m.Revision = types.StringValue(revision)
	flattenDeploymentPlan(&m, model, plan)
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

// instanceTypes lists the candidates' NVIDIA GPU instance types from the cloud's catalog.
func (d *deploymentPlanDataSource) instanceTypes(ctx context.Context, c *deploymentCandidatesModel, diags *diag.Diagnostics) []backend.GPUType {
	cloud, region := c.Cloud.ValueString(), c.Region.ValueString()
	tflog.Debug(ctx, "listing GPU instance types for sizing", map[string]any{"cloud": cloud, "region": region})
	all, err := d.data.GPUTypes(ctx, cloud, region)
	if err != nil {
		diags.AddError(fmt.Sprintf("listing GPU types (%s %s)", cloud, region), err.Error())
		return nil
	}
	var out []backend.GPUType
	byName := map[string]backend.GPUType{}
	for _, t := range all {
		if strings.EqualFold(t.GPUManufacturer, gpuManufacturerForVLLM) {
			out = append(out, t)
			byName[t.Name] = t
		}
	}
	if len(c.InstanceTypes) == 0 {
		return out
	}
	out = out[:0]
	for i, n := range c.InstanceTypes {
		t, ok := byName[n.ValueString()]
		if !ok {
			where := region
			if where == "" {
				where = "the provider's default region"
			}
			diags.AddAttributeError(path.Root("candidates").AtName("instance_types").AtListIndex(i), fmt.Sprintf("listing GPU types (%s %s)", cloud, region),
				fmt.Sprintf("candidates.instance_types[%d]: %q is not an NVIDIA GPU instance type that %s offers in %s: check the name, or list the types with data \"inferstack_gpu_types\".",
					i, n.ValueString(), cloud, where))
			continue
		}
		out = append(out, t)
	}
	return out
}

type deploymentPlanDataSourceModel struct {
	Model                types.String               `tfsdk:"model"`
	Revision             types.String               `tfsdk:"revision"`
	MaxModelLen          types.Int64                `tfsdk:"max_model_len"`
	AllowLongContext     types.Bool                 `tfsdk:"allow_long_context"`
	Concurrency          types.Int64                `tfsdk:"concurrency"`
	Quantization         types.String               `tfsdk:"quantization"`
	KVCacheDType         types.String               `tfsdk:"kv_cache_dtype"`
	GPUMemoryUtilization types.Float64              `tfsdk:"gpu_memory_utilization"`
	MaxNumBatchedTokens  types.Int64                `tfsdk:"max_num_batched_tokens"`
	MaxNodes             types.Int64                `tfsdk:"max_nodes"`
	Candidates           *deploymentCandidatesModel `tfsdk:"candidates"`
	GPUs                 []deploymentGPUsModel      `tfsdk:"gpus"`
	ClusterID            types.String               `tfsdk:"cluster_id"`

	SHA                      types.String                `tfsdk:"sha"`
	WeightsBytes             types.Int64                 `tfsdk:"weights_bytes"`
	KVCacheBytesPerToken     types.Int64                 `tfsdk:"kv_cache_bytes_per_token"`
	KVCacheBytesPerSequence  types.Int64                 `tfsdk:"kv_cache_bytes_per_sequence"`
	KVCacheBytes             types.Int64                 `tfsdk:"kv_cache_bytes"`
	AllowanceBytes           types.Int64                 `tfsdk:"allowance_bytes"`
	RequiredBytes            types.Int64                 `tfsdk:"required_bytes"`
	ValidTensorParallelSizes []types.Int64               `tfsdk:"valid_tensor_parallel_sizes"`
	Recommended              *deploymentCandidateModel   `tfsdk:"recommended"`
	Evaluations              []deploymentCandidateModel  `tfsdk:"evaluations"`
	Advice                   []types.String              `tfsdk:"advice"`
	Assumptions              *deploymentAssumptionsModel `tfsdk:"assumptions"`
}

type deploymentCandidatesModel struct {
	Cloud         types.String   `tfsdk:"cloud"`
	Region        types.String   `tfsdk:"region"`
	InstanceTypes []types.String `tfsdk:"instance_types"`
}

type deploymentGPUsModel struct {
	Model     types.String  `tfsdk:"model"`
	MemoryGiB types.Float64 `tfsdk:"memory_gib"`
	Count     types.Int64   `tfsdk:"count"`
	Hosts     types.Int64   `tfsdk:"hosts"`
}

type deploymentCandidateModel struct {
	Name                   types.String `tfsdk:"name"`
	InstanceType           types.String `tfsdk:"instance_type"`
	GPUsIndex              types.Int64  `tfsdk:"gpus_index"`
	GPUModel               types.String `tfsdk:"gpu_model"`
	GPUsPerNode            types.Int64  `tfsdk:"gpus_per_node"`
	GPUMemoryBytes         types.Int64  `tfsdk:"gpu_memory_bytes"`
	UsableBytesPerGPU      types.Int64  `tfsdk:"usable_bytes_per_gpu"`
	MaxNodes               types.Int64  `tfsdk:"max_nodes"`
	Fits                   types.Bool   `tfsdk:"fits"`
	Reason                 types.String `tfsdk:"reason"`
	TensorParallelSize     types.Int64  `tfsdk:"tensor_parallel_size"`
	PipelineParallelSize   types.Int64  `tfsdk:"pipeline_parallel_size"`
	Nodes                  types.Int64  `tfsdk:"nodes"`
	GPUCount               types.Int64  `tfsdk:"gpu_count"`
	ReplicasPerNode        types.Int64  `tfsdk:"replicas_per_node"`
	WeightsBytesPerGPU     types.Int64  `tfsdk:"weights_bytes_per_gpu"`
	KVCacheBytesPerGPU     types.Int64  `tfsdk:"kv_cache_bytes_per_gpu"`
	AllowanceBytesPerGPU   types.Int64  `tfsdk:"allowance_bytes_per_gpu"`
	RequiredBytesPerGPU    types.Int64  `tfsdk:"required_bytes_per_gpu"`
	MaxConcurrentSequences types.Int64  `tfsdk:"max_concurrent_sequences"`
}

type deploymentAssumptionsModel struct {
	MaxModelLen              types.Int64   `tfsdk:"max_model_len"`
	Concurrency              types.Int64   `tfsdk:"concurrency"`
	Quantization             types.String  `tfsdk:"quantization"`
	WeightsFormula           types.String  `tfsdk:"weights_formula"`
	KVCacheDType             types.String  `tfsdk:"kv_cache_dtype"`
	KVCacheBytesPerElement   types.Int64   `tfsdk:"kv_cache_bytes_per_element"`
	GPUMemoryUtilization     types.Float64 `tfsdk:"gpu_memory_utilization"`
	MaxNumBatchedTokens      types.Int64   `tfsdk:"max_num_batched_tokens"`
	MaxNodes                 types.Int64   `tfsdk:"max_nodes"`
	FixedOverheadBytesPerGPU types.Int64   `tfsdk:"fixed_overhead_bytes_per_gpu"`
	SlidingWindow            types.Int64   `tfsdk:"sliding_window"`
	SlidingWindowLayers      types.Int64   `tfsdk:"sliding_window_layers"`
}

// expandDeploymentPlan turns the configuration and the resolved model into a sizing request.
// Unset optional values stay nil so sizing applies (and echoes) its defaults.
func expandDeploymentPlan(m deploymentPlanDataSourceModel, model *hf.Model) sizing.Request {
	r := sizing.Request{
		Model:                sizing.ShapeFromModel(model),
		MaxModelLen:          m.MaxModelLen.ValueInt64Pointer(),
		AllowLongContext:     m.AllowLongContext.ValueBool(),
		Concurrency:          m.Concurrency.ValueInt64Pointer(),
		Quantization:         m.Quantization.ValueStringPointer(),
		KVCacheDType:         m.KVCacheDType.ValueStringPointer(),
		GPUMemoryUtilization: m.GPUMemoryUtilization.ValueFloat64Pointer(),
		MaxNumBatchedTokens:  m.MaxNumBatchedTokens.ValueInt64Pointer(),
		MaxNodes:             m.MaxNodes.ValueInt64Pointer(),
	}
	for _, g := range m.GPUs {
		r.GPUs = append(r.GPUs, sizing.HostGPUs{
			Model:     g.Model.ValueString(),
			MemoryGiB: g.MemoryGiB.ValueFloat64Pointer(),
			Count:     g.Count.ValueInt64(),
			Hosts:     g.Hosts.ValueInt64Pointer(),
		})
	}
	return r
}

func flattenDeploymentPlan(m *deploymentPlanDataSourceModel, model *hf.Model, p *sizing.Plan) {
	m.SHA = types.StringValue(model.SHA)
	m.WeightsBytes = types.Int64Value(p.WeightsBytes)
	m.KVCacheBytesPerToken = types.Int64Value(p.KVCacheBytesPerToken)
	m.KVCacheBytesPerSequence = types.Int64Value(p.KVCacheBytesPerSequence)
	m.KVCacheBytes = types.Int64Value(p.KVCacheBytes)
	m.AllowanceBytes = types.Int64Value(p.AllowanceBytes)
	m.RequiredBytes = types.Int64Value(p.RequiredBytes)
	m.ValidTensorParallelSizes = make([]types.Int64, len(p.ValidTensorParallelSizes))
	for i, tp := range p.ValidTensorParallelSizes {
		m.ValidTensorParallelSizes[i] = types.Int64Value(tp)
	}
	m.Evaluations = make([]deploymentCandidateModel, len(p.Candidates))
	for i, c := range p.Candidates {
		m.Evaluations[i] = flattenDeploymentCandidate(c)
	}
	m.Recommended = nil
	if p.Recommended != nil {
		rec := flattenDeploymentCandidate(*p.Recommended)
		m.Recommended = &rec
	}
	m.Advice = make([]types.String, len(p.Advice))
	for i, a := range p.Advice {
		m.Advice[i] = types.StringValue(a)
	}
	a := p.Assumptions
	m.Assumptions = &deploymentAssumptionsModel{
		MaxModelLen:              types.Int64Value(a.MaxModelLen),
		Concurrency:              types.Int64Value(a.Concurrency),
		Quantization:             stringOrNull(a.Quantization),
		WeightsFormula:           types.StringValue(a.WeightsFormula),
		KVCacheDType:             types.StringValue(a.KVCacheDType),
		KVCacheBytesPerElement:   types.Int64Value(a.KVCacheBytesPerElement),
		GPUMemoryUtilization:     types.Float64Value(math.Round(a.GPUMemoryUtilization*1e6) / 1e6),
		MaxNumBatchedTokens:      types.Int64Value(a.MaxNumBatchedTokens),
		MaxNodes:                 types.Int64Value(a.MaxNodes),
		FixedOverheadBytesPerGPU: types.Int64Value(a.FixedOverheadBytesPerGPU),
		SlidingWindow:            positiveOrNull(a.SlidingWindow),
		SlidingWindowLayers:      positiveOrNull(a.SlidingWindowLayers),
	}
}

func flattenDeploymentCandidate(c sizing.Candidate) deploymentCandidateModel {
	out := deploymentCandidateModel{
		Name:                   types.StringValue(c.Name),
		InstanceType:           stringOrNull(c.InstanceType),
		GPUsIndex:              types.Int64Null(),
		GPUModel:               types.StringValue(c.GPUModel),
		GPUsPerNode:            types.Int64Value(c.GPUsPerNode),
		GPUMemoryBytes:         positiveOrNull(c.GPUMemoryBytes),
		UsableBytesPerGPU:      positiveOrNull(c.UsableBytesPerGPU),
		MaxNodes:               types.Int64Value(c.MaxNodes),
		Fits:                   types.BoolValue(c.Fits),
		Reason:                 stringOrNull(c.Reason),
		TensorParallelSize:     types.Int64Null(),
		PipelineParallelSize:   types.Int64Null(),
		Nodes:                  types.Int64Null(),
		GPUCount:               types.Int64Null(),
		ReplicasPerNode:        types.Int64Null(),
		WeightsBytesPerGPU:     types.Int64Null(),
		KVCacheBytesPerGPU:     types.Int64Null(),
		AllowanceBytesPerGPU:   types.Int64Null(),
		RequiredBytesPerGPU:    types.Int64Null(),
		MaxConcurrentSequences: types.Int64Value(c.MaxConcurrentSequences),
	}
	if c.GPUsIndex >= 0 && c.InstanceType == "" {
		out.GPUsIndex = types.Int64Value(int64(c.GPUsIndex))
	}
	// A candidate that cannot run vLLM at all (a vGPU partition) was never sized: no deployment.
	if c.TensorParallelSize > 0 {
		out.TensorParallelSize = types.Int64Value(c.TensorParallelSize)
		out.PipelineParallelSize = types.Int64Value(c.PipelineParallelSize)
		out.Nodes = types.Int64Value(c.Nodes)
		out.GPUCount = types.Int64Value(c.GPUCount)
		out.ReplicasPerNode = types.Int64Value(c.ReplicasPerNode)
		out.WeightsBytesPerGPU = types.Int64Value(c.WeightsBytesPerGPU)
		out.KVCacheBytesPerGPU = types.Int64Value(c.KVCacheBytesPerGPU)
		out.AllowanceBytesPerGPU = types.Int64Value(c.AllowanceBytesPerGPU)
		out.RequiredBytesPerGPU = types.Int64Value(c.RequiredBytesPerGPU)
	}
	return out
}

// clusterPool is the cluster's nodes as kinds of host, for sizing against them.
func (d *deploymentPlanDataSource) clusterPool(ctx context.Context, clusterID string, diags *diag.Diagnostics) []sizing.HostGPUs {
	p := path.Root("cluster_id")
	reg := d.data.registry("planning deployment", diags)
	if reg == nil {
		return nil
	}
	b, err := reg.ForClusterID(clusterID)
	if err != nil {
		diags.AddAttributeError(p, "invalid cluster_id", "cluster_id: "+err.Error())
		return nil
	}
	// The registry's backends are its cached wrappers, which answer ErrNoPool for a backend
	// that lists no pool.
	kinds, err := []backend.HostKind(nil), error(backend.ErrNoPool)
	if pr, ok := b.(backend.PoolReader); ok {
		kinds, err = pr.ClusterPool(ctx, clusterID)
	}
	switch {
	case errors.Is(err, backend.ErrNoPool):
		diags.AddAttributeError(p, "cluster_id is not a node pool",
			fmt.Sprintf("cluster_id: %s is %s cluster, whose hosts are listed by the cluster itself: size against them with gpus "+
				"(one element per kind of host), or use a Kubernetes cluster's id.", clusterID, clusterKind(b.Name())))
		return nil
	case err != nil:
		diags.AddAttributeError(p, "reading the cluster's nodes", fmt.Sprintf("cluster_id: reading the nodes of %s: %v", clusterID, err))
		return nil
	case len(kinds) == 0:
		diags.AddAttributeWarning(p, "no GPU nodes in the pool",
			fmt.Sprintf("cluster_id: no schedulable node with nvidia.com/gpu matches %s's node selector; nothing to size against there.", clusterID))
	}
	var out []sizing.HostGPUs
	for _, k := range kinds {
		h := sizing.HostGPUs{Model: strings.ReplaceAll(k.GPUModel, "-", " "), Count: k.GPUsPerHost, Hosts: &k.Hosts}
		if k.GPUMemoryMiB > 0 {
			gib := float64(k.GPUMemoryMiB) / 1024
			h.MemoryGiB = &gib
		} else if _, known := sizing.FindGPU(h.Model, 0); !known {
			diags.AddAttributeError(p, "unknown GPU memory",
				fmt.Sprintf("cluster_id: %d node(s) have GPUs %q without the nvidia.com/gpu.memory label (GPU feature discovery), "+
					"and the model is not in the known table: label the nodes, or size with gpus and memory_gib.", k.Hosts, k.GPUModel))
			continue
		}
		out = append(out, h)
	}
	return out
}
