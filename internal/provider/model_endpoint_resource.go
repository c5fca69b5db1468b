package provider

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64default"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/listdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/objectdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/inferstack/terraform-provider-inferstack/internal/backend"
	awsbackend "github.com/inferstack/terraform-provider-inferstack/internal/backend/aws"
	"github.com/inferstack/terraform-provider-inferstack/internal/backend/onprem"
	"github.com/inferstack/terraform-provider-inferstack/internal/hf"
	"github.com/inferstack/terraform-provider-inferstack/internal/sizing"
	"github.com/inferstack/terraform-provider-inferstack/internal/vllm"
)

var (
	_ resource.Resource                   = &modelEndpointResource{}
	_ resource.ResourceWithConfigure      = &modelEndpointResource{}
	_ resource.ResourceWithValidateConfig = &modelEndpointResource{}
	_ resource.ResourceWithModifyPlan     = &modelEndpointResource{}
	_ resource.ResourceWithImportState    = &modelEndpointResource{}
)

// Default timeouts of inferstack_model_endpoint: a large model's download, load and CUDA graph
// capture takes minutes per batch of replicas.
const (
	modelEndpointCreateTimeout = 30 * time.Minute
	modelEndpointUpdateTimeout = 30 * time.Minute
	modelEndpointDeleteTimeout = 10 * time.Minute
	// modelEndpointReadyMargin is kept from the timeout for what follows the readiness wait.
	modelEndpointReadyMargin = 5 * time.Second
)

var endpointNameRE = vllm.EndpointNamePattern

func newModelEndpointResource() resource.Resource { return &modelEndpointResource{} }

type modelEndpointResource struct {
	data *providerData
}

func (r *modelEndpointResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_model_endpoint"
}

func (r *modelEndpointResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "One vLLM deployment of one Hugging Face model on an `inferstack_inference_cluster`, with an " +
			"OpenAI-compatible URL per replica. On an on-prem cluster the replicas are placed on the cluster's hosts by " +
			"free GPUs (the ledger on each host is the truth, so several endpoints share a host safely) and converged " +
			"over SSH, one batch of `rollout.max_unavailable` replicas at a time. vLLM always runs with an API key.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				Computed: true,
				MarkdownDescription: "`<cluster_id>,<name>`, the same string as the import ID: it carries the cluster's hosts, " +
					"so an `inferstack_api_route` given only `endpoint_id` reaches the endpoint in any run. It changes, in " +
					"place, when the cluster's hosts change. It is unknown in a plan that creates the endpoint, changes " +
					"`cluster_id`, moves replicas or changes the served model name or the API key, so that a route that " +
					"refers to it is updated in the same apply.",
			},
			"cluster_id": schema.StringAttribute{
				Required: true,
				MarkdownDescription: "The `id` of the `inferstack_inference_cluster` to run on. The ID of an on-prem cluster " +
					"changes when hosts are added or removed: that updates the endpoint in place (replicas whose host " +
					"left are placed again); only a cluster of another name replaces it.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplaceIf(clusterNameChanged,
					"Replaced when the cluster's name changes; a change of its hosts is in place.",
					"Replaced when the cluster's name changes; a change of its hosts is in place.")},
			},
			"name": schema.StringAttribute{
				Required: true,
				MarkdownDescription: "The endpoint's name on the hosts (units `inferstack-<name>-<replica>.service`): 1 to 40 " +
					"lower-case letters, digits and `-`. Changing it replaces the endpoint.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
				Validators: []validator.String{stringvalidator.RegexMatches(endpointNameRE,
					"must be 1 to 40 lower-case letters, digits and '-', starting and ending with a letter or digit")},
			},
			"model": schema.SingleNestedAttribute{
				Required:            true,
				MarkdownDescription: "The Hugging Face model to serve.",
				Attributes: map[string]schema.Attribute{
					"id": schema.StringAttribute{
						Required:            true,
						MarkdownDescription: "Repository id, e.g. `Qwen/Qwen2.5-7B-Instruct`. Changing it replaces the endpoint.",
						PlanModifiers:       []planmodifier.String{stringplanmodifier.RequiresReplace()},
					},
					"revision": schema.StringAttribute{
						Optional: true,
						Computed: true,
						Default:  stringdefault.StaticString("main"),
						MarkdownDescription: "Branch, tag or commit sha; default `main`. It is resolved at plan time to a commit " +
							"(`resolved_revision`), which the hosts download: a revision that resolves to another commit " +
							"replaces the endpoint.",
					},
				},
			},
			"resolved_revision": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "The commit sha `model.revision` resolved to at plan time. A change replaces the endpoint.",
			},
			"engine": schema.SingleNestedAttribute{
				Optional: true,
				Computed: true,
				MarkdownDescription: "vLLM settings. A change is a rolling update in place: replicas restart in batches of " +
					"`rollout.max_unavailable`, the next batch only once the last is ready.",
				Default: objectdefault.StaticValue(types.ObjectValueMust(engineAttrTypes, map[string]attr.Value{
					"image": types.StringValue(vllm.DefaultImage), "tensor_parallel_size": types.Int64Value(1),
					"pipeline_parallel_size": types.Int64Value(1), "max_model_len": types.Int64Null(),
					"gpu_memory_utilization": types.Float64Null(), "dtype": types.StringNull(), "quantization": types.StringNull(),
					"kv_cache_dtype": types.StringNull(), "max_num_seqs": types.Int64Null(), "enable_prefix_caching": types.BoolNull(),
					"extra_args": types.ListValueMust(types.StringType, []attr.Value{}),
				})),
				Attributes: map[string]schema.Attribute{
					"image": schema.StringAttribute{
						Optional: true, Computed: true, Default: stringdefault.StaticString(vllm.DefaultImage),
						MarkdownDescription: "The `vllm/vllm-openai` image with a pinned tag. Default `" + vllm.DefaultImage + "`.",
					},
					"tensor_parallel_size": schema.Int64Attribute{
						Optional: true, Computed: true, Default: int64default.StaticInt64(1),
						MarkdownDescription: "GPUs a layer is split across (`--tensor-parallel-size`). Default 1. A replica takes " +
							"`tensor_parallel_size x pipeline_parallel_size` GPUs of one host.",
						Validators: []validator.Int64{int64validator.AtLeast(1)},
					},
					"pipeline_parallel_size": schema.Int64Attribute{
						Optional: true, Computed: true, Default: int64default.StaticInt64(1),
						MarkdownDescription: "Pipeline stages (`--pipeline-parallel-size`). Default 1.",
						Validators:          []validator.Int64{int64validator.AtLeast(1)},
					},
					"max_model_len": schema.Int64Attribute{
						Optional: true, MarkdownDescription: "Context length in tokens (`--max-model-len`); unset: the model's.",
						Validators: []validator.Int64{int64validator.AtLeast(1)},
					},
					"gpu_memory_utilization": schema.Float64Attribute{
						Optional: true, MarkdownDescription: "Share of each GPU's memory vLLM may take, 0 < x <= 1; unset: vLLM's default (0.9).",
					},
					"dtype": schema.StringAttribute{
						Optional: true, MarkdownDescription: "Weight and activation dtype (`auto`, `bfloat16`, `float16`, ...).",
					},
					"quantization": schema.StringAttribute{
						Optional: true, MarkdownDescription: "Weight quantization method (`awq`, `gptq`, `fp8`, ...).",
					},
					"kv_cache_dtype": schema.StringAttribute{
						Optional: true, MarkdownDescription: "KV-cache dtype (`auto`, `fp8`, ...).",
					},
					"max_num_seqs": schema.Int64Attribute{
						Optional: true, MarkdownDescription: "Maximum sequences per batch; unset: vLLM's default.",
						Validators: []validator.Int64{int64validator.AtLeast(1)},
					},
					"enable_prefix_caching": schema.BoolAttribute{
						Optional: true, MarkdownDescription: "Automatic prefix caching on or off; unset: vLLM's default.",
					},
					"extra_args": schema.ListAttribute{
						ElementType: types.StringType, Optional: true, Computed: true,
						Default: listdefault.StaticValue(types.ListValueMust(types.StringType, []attr.Value{})),
						MarkdownDescription: "Further `vllm serve` arguments (`[\"--enforce-eager\"]`), checked at plan time against " +
							"the flag table of vLLM " + vllm.FlagTableRelease + ": unknown flags, bad values and flags a typed " +
							"attribute owns are errors.",
					},
				},
			},
			"served_model_name": schema.StringAttribute{
				Optional: true,
				Computed: true,
				MarkdownDescription: "The model name clients send (`--served-model-name`). Default: `model.id`. A change is " +
					"a rolling update in place.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"replicas": schema.Int64Attribute{
				Optional: true, Computed: true, Default: int64default.StaticInt64(1),
				MarkdownDescription: "Number of replicas, placed on hosts with free GPUs, spread across hosts. Default 1. " +
					"A change adds or removes replicas in place.",
				Validators: []validator.Int64{int64validator.AtLeast(1)},
			},
			"node_selector": schema.MapAttribute{
				ElementType: types.StringType, Optional: true,
				MarkdownDescription: "Host labels a host must have (all of them) to run replicas. A change moves replicas in place.",
			},
			"autoscaling": schema.SingleNestedAttribute{
				Optional: true,
				MarkdownDescription: "Autoscaling between `min` and `max` replicas, by the cloud's own autoscaler. Clouds only: " +
					"set on an on-prem cluster it is a plan-time error.",
				Attributes: map[string]schema.Attribute{
					"min": schema.Int64Attribute{Required: true, MarkdownDescription: "Fewest replicas.", Validators: []validator.Int64{int64validator.AtLeast(0)}},
					"max": schema.Int64Attribute{Required: true, MarkdownDescription: "Most replicas.", Validators: []validator.Int64{int64validator.AtLeast(1)}},
				},
			},
			"api_key": schema.StringAttribute{
				Optional: true, Sensitive: true,
				MarkdownDescription: "The key clients must send (`Authorization: Bearer ...`); vLLM gets it as `VLLM_API_KEY` " +
					"from a root-only file, never on a command line. Sensitive: kept in state, never shown. On Terraform or " +
					"OpenTofu 1.11 and later prefer `api_key_wo`. Set one of `api_key` and `api_key_wo`. A change restarts " +
					"the replicas (rolling).",
				Validators: []validator.String{
					stringvalidator.ConflictsWith(path.MatchRoot("api_key_wo")),
					stringvalidator.LengthAtLeast(1),
				},
			},
			"api_key_wo": schema.StringAttribute{
				Optional: true, Sensitive: true, WriteOnly: true,
				MarkdownDescription: "Write-only twin of `api_key`: sent to the hosts, never stored in state or plan. Needs " +
					"Terraform or OpenTofu 1.11 or later. Set `api_key_wo_version` with it and change that number to send a new key.",
				Validators: []validator.String{
					stringvalidator.ConflictsWith(path.MatchRoot("api_key")),
					stringvalidator.AlsoRequires(path.MatchRoot("api_key_wo_version")),
				},
			},
			"api_key_wo_version": schema.Int64Attribute{
				Optional: true,
				MarkdownDescription: "Any number that you change whenever `api_key_wo` changes: a change sends the key again " +
					"(a rolling restart in place).",
				Validators: []validator.Int64{int64validator.AlsoRequires(path.MatchRoot("api_key_wo"))},
			},
			"rollout": schema.SingleNestedAttribute{
				Optional: true, Computed: true,
				MarkdownDescription: "How changes roll out.",
				Default: objectdefault.StaticValue(types.ObjectValueMust(map[string]attr.Type{"max_unavailable": types.Int64Type},
					map[string]attr.Value{"max_unavailable": types.Int64Value(1)})),
				Attributes: map[string]schema.Attribute{
					"max_unavailable": schema.Int64Attribute{
						Optional: true, Computed: true, Default: int64default.StaticInt64(1),
						MarkdownDescription: "Replicas restarted at once; default 1. A host's replicas converge together, so a " +
							"host with more replicas than this is a batch of its own.",
						Validators: []validator.Int64{int64validator.AtLeast(1)},
					},
				},
			},
			"force_remove_unreachable": schema.BoolAttribute{
				Optional: true, Computed: true, Default: booldefault.StaticBool(false),
				MarkdownDescription: "On destroy, forget replicas on hosts that cannot be reached (their units and GPUs " +
					"stay until removed by hand) instead of failing. Default `false`.",
			},
			"url": schema.StringAttribute{
				Computed: true,
				MarkdownDescription: "AWS: the OpenAI-compatible base URL of the endpoint on the cluster's internal load " +
					"balancer (`http://<load balancer DNS>:<port>/v1`). On-prem: null; each replica has its own URL in `urls`.",
			},
			"aws": endpointAWSAttribute(),
			"urls": schema.ListAttribute{
				ElementType: types.StringType, Computed: true,
				MarkdownDescription: "On-prem: one OpenAI-compatible base URL per replica (`http://ADDRESS:PORT/v1`), by " +
					"replica. AWS: the load balancer's URL (`url`), the one address of every replica.",
			},
			"placements": schema.ListNestedAttribute{
				Computed:            true,
				MarkdownDescription: "Where each replica runs.",
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"host":    schema.StringAttribute{Computed: true, MarkdownDescription: "Host name."},
					"replica": schema.Int64Attribute{Computed: true, MarkdownDescription: "Replica index."},
					"gpu_ids": schema.ListAttribute{ElementType: types.Int64Type, Computed: true, MarkdownDescription: "GPU indices on the host."},
					"port":    schema.Int64Attribute{Computed: true, MarkdownDescription: "Host port."},
					"url":     schema.StringAttribute{Computed: true, MarkdownDescription: "OpenAI base URL."},
				}},
			},
			"status": schema.StringAttribute{
				Computed: true,
				MarkdownDescription: "`ready` when every replica answered its health check at the last apply or refresh; " +
					"`degraded` when some did not; `unknown` when a host could not be reached.",
			},
			"timeouts": timeouts.Attributes(ctx, timeouts.Opts{Create: true, Update: true, Delete: true}),
		},
	}
}

func (r *modelEndpointResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = configuredData(req.ProviderData, &resp.Diagnostics)
}

// ValidateConfig checks what is known without the network: one of api_key and api_key_wo,
// autoscaling on an on-prem cluster, extra_args and the engine settings against vLLM's flag table.
func (r *modelEndpointResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var cfg modelEndpointResourceModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &cfg)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if cfg.APIKey.IsNull() && cfg.APIKeyWO.IsNull() {
		resp.Diagnostics.AddAttributeError(path.Root("api_key"), "missing API key",
			"vLLM always runs with an API key: set api_key, or api_key_wo with api_key_wo_version (Terraform/OpenTofu 1.11+).")
	}
	validateAutoscaling(cfg, &resp.Diagnostics)
	if cfg.Engine == nil {
		return
	}
	if !cfg.Engine.ExtraArgs.IsUnknown() && !cfg.Engine.ExtraArgs.IsNull() {
		var args []string
		resp.Diagnostics.Append(cfg.Engine.ExtraArgs.ElementsAs(ctx, &args, true)...)
		for _, err := range vllm.CheckExtraArgs(args) {
			resp.Diagnostics.AddAttributeError(path.Root("engine").AtName("extra_args"), "invalid engine.extra_args",
				"engine.extra_args: "+err.Error())
		}
	}
}

func validateAutoscaling(cfg modelEndpointResourceModel, diags *diag.Diagnostics) {
	if cfg.ClusterID.IsUnknown() || cfg.ClusterID.IsNull() {
		return
	}
	if !cfg.AWS.IsNull() && strings.HasPrefix(cfg.ClusterID.ValueString(), onprem.IDPrefix) {
		diags.AddAttributeError(path.Root("aws"), "aws settings on an on-prem cluster",
			"aws: the block holds settings of endpoints on an AWS cluster (listener port, health-check grace, instance "+
				"refresh); cluster_id names an on-prem cluster: remove the aws block.")
	}
	if cfg.Autoscaling.IsNull() {
		return
	}
	if strings.HasPrefix(cfg.ClusterID.ValueString(), onprem.IDPrefix) {
		diags.AddAttributeError(path.Root("autoscaling"), "autoscaling on an on-prem cluster",
			"autoscaling is for the clouds' autoscalers (ASG, VMSS); an on-prem cluster has a fixed set of hosts: remove "+
				"autoscaling and set replicas.")
	}
}

// ModifyPlan resolves model.revision to its commit (a change of commit replaces the endpoint),
// checks the full spec with every value known, and keeps placements and URLs when nothing that
// moves replicas changes.
func (r *modelEndpointResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		return
	}
	var plan modelEndpointResourceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	var state *modelEndpointResourceModel
	if !req.State.Raw.IsNull() {
		state = &modelEndpointResourceModel{}
		resp.Diagnostics.Append(req.State.Get(ctx, state)...)
		if resp.Diagnostics.HasError() {
			return
		}
	}
	validateAutoscaling(plan, &resp.Diagnostics)
	if !plan.ClusterID.IsUnknown() {
		if isAWSCluster(plan.ClusterID) {
			if _, _, err := awsbackend.ParseClusterID(plan.ClusterID.ValueString()); err != nil {
				resp.Diagnostics.AddAttributeError(path.Root("cluster_id"), "invalid cluster_id", err.Error())
			}
		} else if _, err := onprem.DecodeClusterID(plan.ClusterID.ValueString()); err != nil {
			resp.Diagnostics.AddAttributeError(path.Root("cluster_id"), "invalid cluster_id", err.Error()+
				" (pass the id of an inferstack_inference_cluster: aws/<region>/<name> or onprem/<name>/<descriptor>)")
		}
	}

	if plan.ServedModelName.IsUnknown() && plan.Model != nil && !plan.Model.ID.IsUnknown() {
		plan.ServedModelName = plan.Model.ID
	}

	// Resolve the revision.
	var model *hf.Model
	if plan.Model != nil && !plan.Model.ID.IsUnknown() && !plan.Model.Revision.IsUnknown() {
		id, rev := plan.Model.ID.ValueString(), plan.Model.Revision.ValueString()
		if state != nil && state.Model != nil && state.Model.ID.ValueString() == id &&
			state.Model.Revision.ValueString() == rev && isSHA(rev) {
			plan.ResolvedRevision = types.StringValue(rev)
		} else if r.data != nil {
			client, err := r.data.HF()
			if err == nil {
				model, err = client.Resolve(ctx, id, rev)
			}
			if err != nil {
				addModelError(&resp.Diagnostics, err, id, rev)
				return
			}
			plan.ResolvedRevision = types.StringValue(model.SHA)
		}
	} else {
		plan.ResolvedRevision = types.StringUnknown()
	}
	if model != nil && plan.Engine != nil && !plan.Engine.TensorParallelSize.IsUnknown() && model.NumAttentionHeads > 0 {
		shape := sizing.ModelShape{NumAttentionHeads: model.NumAttentionHeads, NumKeyValueHeads: model.NumKeyValueHeads}
		if err := sizing.CheckTensorParallelSize(shape, plan.Engine.TensorParallelSize.ValueInt64()); err != nil {
			resp.Diagnostics.AddAttributeError(path.Root("engine").AtName("tensor_parallel_size"), "invalid engine.tensor_parallel_size",
				"engine.tensor_parallel_size: "+err.Error())
		}
	}

	// The whole spec, where every value is known.
	if spec, ok := r.expandSpec(ctx, plan, &resp.Diagnostics); ok {
		if spec.Model.Revision == "" {
			spec.Model.Revision = strings.Repeat("0", 40)
		}
		spec.Secrets.APIKey = vllm.SecretRef{Source: vllm.SecretFile, Name: vllm.SecretFilePath(spec.Endpoint, "VLLM_API_KEY")}
		spec.Replicas = []vllm.Replica{{Index: 0}}
		addSpecErrors(&resp.Diagnostics, spec.Validate())
	}

	plan.ID = plannedEndpointID(plan, state)

	if state != nil {
		if !state.ResolvedRevision.IsNull() && !plan.ResolvedRevision.IsUnknown() &&
			state.ResolvedRevision.ValueString() != plan.ResolvedRevision.ValueString() {
			resp.RequiresReplace = append(resp.RequiresReplace, path.Root("resolved_revision"))
		}
		moves := !plan.ClusterID.Equal(state.ClusterID) || !plan.Replicas.Equal(state.Replicas) ||
			!plan.NodeSelector.Equal(state.NodeSelector) || engineGPUs(plan.Engine) != engineGPUs(state.Engine)
		if isAWSCluster(plan.ClusterID) && !plan.AWS.IsUnknown() {
			// A target group's port cannot change: a new port is a new endpoint.
			var d diag.Diagnostics
			if endpointAWSSettings(ctx, plan.AWS, &d).Port.ValueInt64() != endpointAWSSettings(ctx, state.AWS, &d).Port.ValueInt64() {
				resp.RequiresReplace = append(resp.RequiresReplace, path.Root("aws").AtName("port"))
			}
		}
		if isAWSCluster(plan.ClusterID) {
			// One URL, the load balancer's: it moves only with the cluster or the port.
			moves = !plan.ClusterID.Equal(state.ClusterID) || !plan.AWS.Equal(state.AWS)
		}
		if !moves {
			plan.URLs, plan.Placements, plan.URL = state.URLs, state.Placements, state.URL
		}
	}
	if !plan.ClusterID.IsUnknown() && !isAWSCluster(plan.ClusterID) {
		plan.URL = types.StringNull()
	}
	resp.Diagnostics.Append(resp.Plan.Set(ctx, &plan)...)
}

// plannedEndpointID keeps the ID from state only when nothing a client of the endpoint relies on
// changes: the cluster (the ID itself), where the replicas run (their URLs), the served model
// name and the API key. Otherwise it is unknown, so that an inferstack_api_route referring to
// the endpoint is planned for an update and follows it in the same apply; on create it is
// unknown too, so that a route follows an endpoint that is replaced.
func plannedEndpointID(plan modelEndpointResourceModel, state *modelEndpointResourceModel) types.String {
	if state == nil || state.ID.IsNull() || plan.ClusterID.IsUnknown() || plan.Name.IsUnknown() {
		return types.StringUnknown()
	}
	want := backend.EndpointID(plan.ClusterID.ValueString(), plan.Name.ValueString())
	changed := !plan.ClusterID.Equal(state.ClusterID) || !plan.Replicas.Equal(state.Replicas) ||
		!plan.NodeSelector.Equal(state.NodeSelector) || engineGPUs(plan.Engine) != engineGPUs(state.Engine) ||
		!plan.ServedModelName.Equal(state.ServedModelName) || !plan.APIKey.Equal(state.APIKey) ||
		!plan.APIKeyWOVersion.Equal(state.APIKeyWOVersion) || state.ID.ValueString() != want
	if changed {
		return types.StringUnknown()
	}
	return state.ID
}

func engineGPUs(e *modelEndpointEngineModel) int64 {
	if e == nil {
		return 1
	}
	return e.TensorParallelSize.ValueInt64() * e.PipelineParallelSize.ValueInt64()
}

var shaRE = regexp.MustCompile(`^[0-9a-f]{40}$`)

func isSHA(s string) bool { return shaRE.MatchString(s) }

func addModelError(diags *diag.Diagnostics, err error, id, revision string) {
	summary := fmt.Sprintf("resolving Hugging Face model (%s at %s)", id, revision)
	var e *hf.Error
	if errors.As(err, &e) {
		switch e.Attribute {
		case hf.AttributeID:
			diags.AddAttributeError(path.Root("model").AtName("id"), summary, "model.id: "+e.Message)
			return
		case hf.AttributeRevision:
			diags.AddAttributeError(path.Root("model").AtName("revision"), summary, "model.revision: "+e.Message)
			return
		}
	}
	diags.AddError(summary, err.Error())
}

// addSpecErrors attaches each *vllm.SpecError to its attribute.
func addSpecErrors(diags *diag.Diagnostics, err error) {
	if err == nil {
		return
	}
	specErrs := vllm.SpecErrors(err)
	if len(specErrs) == 0 {
		diags.AddError("invalid model endpoint", err.Error())
		return
	}
	for _, se := range specErrs {
		attrName := se.Attribute
		if attrName == vllm.AttrEndpoint {
			attrName = "name"
		}
		p := path.Empty()
		for _, step := range strings.Split(attrName, ".") {
			step, _, _ = strings.Cut(step, "[")
			p = p.AtName(step)
		}
		switch first, _, _ := strings.Cut(attrName, "."); first {
		case "name", "model", "engine", "served_model_name", "api_key", "timeouts":
			diags.AddAttributeError(p, "invalid "+attrName, attrName+": "+se.Detail)
		default:
			diags.AddError("invalid model endpoint", attrName+": "+se.Detail)
		}
	}
}

func (r *modelEndpointResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan modelEndpointResourceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, diags := plan.Timeouts.Create(ctx, modelEndpointCreateTimeout)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	name := plan.Name.ValueString()
	summary := fmt.Sprintf("creating model endpoint (%s)", name)
	if isAWSCluster(plan.ClusterID) {
		r.deployAWS(ctx, plan, req.Config, &resp.State, summary, &resp.Diagnostics)
		return
	}
	plan.URL = types.StringNull()

	cfg, client, ok := r.expandConfig(ctx, plan, req.Config, timeout, summary, &resp.Diagnostics)
	if !ok {
		return
	}
	// The ID first: a failed wait leaves a tainted resource, never an orphan.
	plan.ID = types.StringValue(backend.EndpointID(plan.ClusterID.ValueString(), name))
	plan.URLs = types.ListValueMust(types.StringType, []attr.Value{})
	plan.Placements = types.ListValueMust(types.ObjectType{AttrTypes: placementAttrTypes}, []attr.Value{})
	plan.Status = types.StringValue("creating")
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)

	tflog.Info(ctx, "deploying model endpoint", map[string]any{"endpoint": name, "cluster": cfg.Cluster.Name, "replicas": cfg.Replicas})
	placements, err := client.DeployEndpoint(ctx, cfg)
	flattenPlacements(&plan, placements, err == nil)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
	if err != nil {
		resp.Diagnostics.AddError(summary, deployErrorDetail(err))
	}
}

func deployErrorDetail(err error) string {
	msg := err.Error()
	if onprem.IsUnreachable(err) {
		msg += "\n\nThe host could not be reached: check it is up and reachable over SSH, then apply again; the next apply converges."
	} else {
		msg += "\n\nWhat exists is kept in state; fix the cause and apply again: the next apply converges."
	}
	return msg
}

func (r *modelEndpointResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state modelEndpointResourceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if isAWSCluster(state.ClusterID) {
		r.readAWS(ctx, state, resp)
		return
	}
	state.URL = types.StringNull()
	if state.AWS.IsUnknown() {
		state.AWS = types.ObjectNull(endpointAWSAttrTypes)
	}
	name := state.Name.ValueString()
	summary := fmt.Sprintf("reading model endpoint (%s)", name)
	ref, err := onprem.DecodeClusterID(state.ClusterID.ValueString())
	if err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("cluster_id"), summary, err.Error())
		return
	}
	client, err := r.client()
	if err != nil {
		resp.Diagnostics.AddError(summary, err.Error())
		return
	}
	found, err := client.FindEndpoint(ctx, ref, name)
	if onprem.IsNotFound(err) {
		resp.Diagnostics.AddWarning("model endpoint not found",
			fmt.Sprintf("Model endpoint %s has no replica on any host of cluster %s; removing it from state, so the next apply creates it again.", name, ref.Name))
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		resp.Diagnostics.AddError(summary, err.Error())
		return
	}
	if len(found.Unreachable) > 0 {
		resp.Diagnostics.AddWarning("hosts unreachable",
			fmt.Sprintf("Model endpoint %s: host(s) %s could not be reached; their replicas are kept in state as last known.",
				name, strings.Join(found.Unreachable, ", ")))
		// Keep the placements of the unreachable hosts from state.
		var old []modelEndpointPlacementModel
		if !state.Placements.IsNull() && !state.Placements.IsUnknown() {
			resp.Diagnostics.Append(state.Placements.ElementsAs(ctx, &old, false)...)
		}
		for _, p := range old {
			if slices.Contains(found.Unreachable, p.Host.ValueString()) {
				found.Placements = append(found.Placements, expandPlacement(ctx, p))
			}
		}
		slices.SortFunc(found.Placements, func(a, b onprem.Placement) int { return a.Replica - b.Replica })
	}
	// Also brings an ID of the older form "<cluster name>/<name>" to the current one.
	state.ID = types.StringValue(backend.EndpointID(state.ClusterID.ValueString(), name))
	flattenPlacements(&state, found.Placements, true)
	if len(found.Unreachable) > 0 {
		state.Status = types.StringValue("unknown")
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

func (r *modelEndpointResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan modelEndpointResourceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, diags := plan.Timeouts.Update(ctx, modelEndpointUpdateTimeout)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	name := plan.Name.ValueString()
	summary := fmt.Sprintf("updating model endpoint (%s)", name)
	if isAWSCluster(plan.ClusterID) {
		r.deployAWS(ctx, plan, req.Config, &resp.State, summary, &resp.Diagnostics)
		return
	}
	plan.URL = types.StringNull()
	cfg, client, ok := r.expandConfig(ctx, plan, req.Config, timeout, summary, &resp.Diagnostics)
	if !ok {
		return
	}
	plan.ID = types.StringValue(backend.EndpointID(plan.ClusterID.ValueString(), name))
	placements, err := client.DeployEndpoint(ctx, cfg)
	if err != nil && len(placements) == 0 {
		// Nothing new is known: keep what state said.
		var state modelEndpointResourceModel
		resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
		plan.URLs, plan.Placements, plan.Status = state.URLs, state.Placements, types.StringValue("degraded")
	} else {
		flattenPlacements(&plan, placements, err == nil)
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
	if err != nil {
		resp.Diagnostics.AddError(summary, deployErrorDetail(err))
	}
}

func (r *modelEndpointResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state modelEndpointResourceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, diags := state.Timeouts.Delete(ctx, modelEndpointDeleteTimeout)
	resp.Diagnostics.Append(diags...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if isAWSCluster(state.ClusterID) {
		r.deleteAWS(ctx, state, resp)
		return
	}
	name := state.Name.ValueString()
	summary := fmt.Sprintf("deleting model endpoint (%s)", name)
	ref, err := onprem.DecodeClusterID(state.ClusterID.ValueString())
	if err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("cluster_id"), summary, err.Error())
		return
	}
	client, err := r.client()
	if err != nil {
		resp.Diagnostics.AddError(summary, err.Error())
		return
	}
	force := state.ForceRemoveUnreachable.ValueBool()
	unreachable, err := client.DeleteEndpoint(ctx, ref, name, force)
	if err != nil {
		resp.Diagnostics.AddError(summary, err.Error())
		return
	}
	if len(unreachable) > 0 {
		resp.Diagnostics.AddWarning("replicas left on unreachable hosts",
			fmt.Sprintf("force_remove_unreachable is set: model endpoint %s is forgotten on host(s) %s, which could not be "+
				"reached; run `inferstack-node remove %s` there once they are back.", name, strings.Join(unreachable, ", "), name))
	}
}

// ImportState takes "<cluster_id>,<endpoint name>", which is also the endpoint's ID. Secrets
// (api_key) cannot be imported: set them in the configuration; the next apply writes them to the
// hosts.
func (r *modelEndpointResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	if strings.HasPrefix(req.ID, "aws/") {
		r.importAWS(ctx, req, resp)
		return
	}
	ref, clusterID, name, err := onprem.ParseEndpointID(req.ID)
	if err != nil {
		resp.Diagnostics.AddError("importing model endpoint", err.Error())
		return
	}
	client, err := r.client()
	if err != nil {
		resp.Diagnostics.AddError("importing model endpoint", err.Error())
		return
	}
	// The applied spec on a host gives back the settings.
	spec, err := client.FindEndpointSpec(ctx, ref, name)
	if err != nil {
		resp.Diagnostics.AddError(fmt.Sprintf("importing model endpoint (%s)", name), err.Error())
		return
	}
	m := importedModel(spec)
	m.ID = types.StringValue(req.ID)
	m.ClusterID = types.StringValue(clusterID)
	m.Name = types.StringValue(name)
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

// modelEndpointResourceModel is the resource's state.
type modelEndpointResourceModel struct {
	ID                     types.String              `tfsdk:"id"`
	ClusterID              types.String              `tfsdk:"cluster_id"`
	Name                   types.String              `tfsdk:"name"`
	Model                  *modelEndpointModelModel  `tfsdk:"model"`
	ResolvedRevision       types.String              `tfsdk:"resolved_revision"`
	Engine                 *modelEndpointEngineModel `tfsdk:"engine"`
	ServedModelName        types.String              `tfsdk:"served_model_name"`
	Replicas               types.Int64               `tfsdk:"replicas"`
	NodeSelector           types.Map                 `tfsdk:"node_selector"`
	Autoscaling            types.Object              `tfsdk:"autoscaling"`
	APIKey                 types.String              `tfsdk:"api_key"`
	APIKeyWO               types.String              `tfsdk:"api_key_wo"`
	APIKeyWOVersion        types.Int64               `tfsdk:"api_key_wo_version"`
	Rollout                types.Object              `tfsdk:"rollout"`
	ForceRemoveUnreachable types.Bool                `tfsdk:"force_remove_unreachable"`
	URL                    types.String              `tfsdk:"url"`
	AWS                    types.Object              `tfsdk:"aws"`
	URLs                   types.List                `tfsdk:"urls"`
	Placements             types.List                `tfsdk:"placements"`
	Status                 types.String              `tfsdk:"status"`
	Timeouts               timeouts.Value            `tfsdk:"timeouts"`
}

type modelEndpointModelModel struct {
	ID       types.String `tfsdk:"id"`
	Revision types.String `tfsdk:"revision"`
}

type modelEndpointEngineModel struct {
	Image                types.String  `tfsdk:"image"`
	TensorParallelSize   types.Int64   `tfsdk:"tensor_parallel_size"`
	PipelineParallelSize types.Int64   `tfsdk:"pipeline_parallel_size"`
	MaxModelLen          types.Int64   `tfsdk:"max_model_len"`
	GPUMemoryUtilization types.Float64 `tfsdk:"gpu_memory_utilization"`
	DType                types.String  `tfsdk:"dtype"`
	Quantization         types.String  `tfsdk:"quantization"`
	KVCacheDType         types.String  `tfsdk:"kv_cache_dtype"`
	MaxNumSeqs           types.Int64   `tfsdk:"max_num_seqs"`
	EnablePrefixCaching  types.Bool    `tfsdk:"enable_prefix_caching"`
	ExtraArgs            types.List    `tfsdk:"extra_args"`
}

type modelEndpointPlacementModel struct {
	Host    types.String `tfsdk:"host"`
	Replica types.Int64  `tfsdk:"replica"`
	GPUIDs  types.List   `tfsdk:"gpu_ids"`
	Port    types.Int64  `tfsdk:"port"`
	URL     types.String `tfsdk:"url"`
}

var engineAttrTypes = map[string]attr.Type{
	"image": types.StringType, "tensor_parallel_size": types.Int64Type, "pipeline_parallel_size": types.Int64Type,
	"max_model_len": types.Int64Type, "gpu_memory_utilization": types.Float64Type, "dtype": types.StringType,
	"quantization": types.StringType, "kv_cache_dtype": types.StringType, "max_num_seqs": types.Int64Type,
	"enable_prefix_caching": types.BoolType, "extra_args": types.ListType{ElemType: types.StringType},
}

var placementAttrTypes = map[string]attr.Type{
	"host": types.StringType, "replica": types.Int64Type, "gpu_ids": types.ListType{ElemType: types.Int64Type},
	"port": types.Int64Type, "url": types.StringType,
}

func clusterNameChanged(_ context.Context, req planmodifier.StringRequest, resp *stringplanmodifier.RequiresReplaceIfFuncResponse) {
	if req.StateValue.IsNull() || req.PlanValue.IsUnknown() {
		// An unknown new cluster ID (a cluster being replaced) may well be another cluster.
		resp.RequiresReplace = !req.StateValue.IsNull() && req.PlanValue.IsUnknown()
		return
	}
	resp.RequiresReplace = onprem.ClusterName(req.StateValue.ValueString()) != onprem.ClusterName(req.PlanValue.ValueString())
}

func (r *modelEndpointResource) client() (*onprem.Client, error) {
	if r.data == nil {
		return nil, errors.New("the provider is not configured")
	}
	return r.data.OnPremClient()
}

// expandSpec turns the plan into the spec template (no replicas, no secrets); ok is false when
// a value is not known yet.
func (r *modelEndpointResource) expandSpec(ctx context.Context, m modelEndpointResourceModel, diags *diag.Diagnostics) (vllm.Spec, bool) {
	if m.Name.IsUnknown() || m.Model == nil || m.Model.ID.IsUnknown() || m.ServedModelName.IsUnknown() || m.Engine == nil {
		return vllm.Spec{}, false
	}
	e := m.Engine
	for _, v := range []attr.Value{e.Image, e.TensorParallelSize, e.PipelineParallelSize, e.MaxModelLen, e.GPUMemoryUtilization,
		e.DType, e.Quantization, e.KVCacheDType, e.MaxNumSeqs, e.EnablePrefixCaching, e.ExtraArgs, m.ResolvedRevision} {
		if v.IsUnknown() {
			return vllm.Spec{}, false
		}
	}
	var extra []string
	if !e.ExtraArgs.IsNull() {
		diags.Append(e.ExtraArgs.ElementsAs(ctx, &extra, false)...)
	}
	s := vllm.Spec{
		Endpoint:        m.Name.ValueString(),
		Model:           vllm.Model{ID: m.Model.ID.ValueString(), Revision: m.ResolvedRevision.ValueString()},
		ServedModelName: m.ServedModelName.ValueString(),
		Engine: vllm.Engine{
			Image:                e.Image.ValueString(),
			TensorParallelSize:   int(e.TensorParallelSize.ValueInt64()),
			PipelineParallelSize: int(e.PipelineParallelSize.ValueInt64()),
			MaxModelLen:          int(e.MaxModelLen.ValueInt64()),
			GPUMemoryUtilization: e.GPUMemoryUtilization.ValueFloat64(),
			DType:                e.DType.ValueString(),
			Quantization:         e.Quantization.ValueString(),
			KVCacheDType:         e.KVCacheDType.ValueString(),
			MaxNumSeqs:           int(e.MaxNumSeqs.ValueInt64()),
			ExtraArgs:            extra,
		},
	}
	if !e.EnablePrefixCaching.IsNull() {
		v := e.EnablePrefixCaching.ValueBool()
		s.Engine.EnablePrefixCaching = &v
	}
	return s, true
}

// expandConfig builds the backend's config for Create and Update: the spec, the cluster, the
// secrets (api_key from the plan, api_key_wo from the configuration) and the readiness wait,
// which takes what the timeout leaves.
func (r *modelEndpointResource) expandConfig(ctx context.Context, plan modelEndpointResourceModel, config interface {
	GetAttribute(context.Context, path.Path, any) diag.Diagnostics
}, timeout time.Duration, summary string, diags *diag.Diagnostics) (onprem.EndpointConfig, *onprem.Client, bool) {
	spec, ok := r.expandSpec(ctx, plan, diags)
	if !ok {
		diags.AddError(summary, "some settings are still unknown at apply time: this is a bug in the provider")
		return onprem.EndpointConfig{}, nil, false
	}
	spec.ReadyTimeout = max(timeout-modelEndpointReadyMargin, time.Second)
	ref, err := onprem.DecodeClusterID(plan.ClusterID.ValueString())
	if err != nil {
		diags.AddAttributeError(path.Root("cluster_id"), summary, err.Error())
		return onprem.EndpointConfig{}, nil, false
	}
	client, err := r.client()
	if err != nil {
		diags.AddError(summary, err.Error())
		return onprem.EndpointConfig{}, nil, false
	}
	spec.Runtime = vllm.Runtime(ref.Runtime)
	apiKey, ok := endpointAPIKeyValue(ctx, plan, config, summary, diags)
	if !ok {
		return onprem.EndpointConfig{}, nil, false
	}
	var selector map[string]string
	if !plan.NodeSelector.IsNull() {
		diags.Append(plan.NodeSelector.ElementsAs(ctx, &selector, false)...)
	}
	maxUnavailable := int64(1)
	if !plan.Rollout.IsNull() && !plan.Rollout.IsUnknown() {
		if v, ok := plan.Rollout.Attributes()["max_unavailable"].(types.Int64); ok && !v.IsNull() {
			maxUnavailable = v.ValueInt64()
		}
	}
	cfg := onprem.EndpointConfig{
		Cluster:        ref,
		Spec:           spec,
		Replicas:       int(plan.Replicas.ValueInt64()),
		NodeSelector:   selector,
		APIKey:         apiKey,
		HFToken:        r.data.HuggingFace.Token,
		MaxUnavailable: int(maxUnavailable),
	}
	// Catch what only the full spec shows before touching a host.
	check := onprem.HostSpec(cfg, onprem.Host{Address: "127.0.0.1"}, []int{0})
	if err := check.Validate(); err != nil {
		addSpecErrors(diags, err)
		return onprem.EndpointConfig{}, nil, false
	}
	return cfg, client, !diags.HasError()
}

// endpointAPIKeyValue is the key vLLM requires: api_key from the plan, or api_key_wo from the
// configuration (write-only values are never in the plan).
func endpointAPIKeyValue(ctx context.Context, plan modelEndpointResourceModel, config interface {
	GetAttribute(context.Context, path.Path, any) diag.Diagnostics
}, summary string, diags *diag.Diagnostics) (string, bool) {
	apiKey := plan.APIKey.ValueString()
	if apiKey == "" {
		var wo types.String
		diags.Append(config.GetAttribute(ctx, path.Root("api_key_wo"), &wo)...)
		apiKey = wo.ValueString()
	}
	if apiKey == "" {
		diags.AddAttributeError(path.Root("api_key"), summary, "vLLM always runs with an API key: set api_key or api_key_wo.")
		return "", false
	}
	return apiKey, true
}

func flattenPlacements(m *modelEndpointResourceModel, ps []onprem.Placement, applied bool) {
	urls := []attr.Value{}
	objs := []attr.Value{}
	ready := len(ps) > 0
	for _, p := range ps {
		gpus := []attr.Value{}
		for _, g := range p.GPUIDs {
			gpus = append(gpus, types.Int64Value(int64(g)))
		}
		objs = append(objs, types.ObjectValueMust(placementAttrTypes, map[string]attr.Value{
			"host": types.StringValue(p.Host), "replica": types.Int64Value(int64(p.Replica)),
			"gpu_ids": types.ListValueMust(types.Int64Type, gpus), "port": types.Int64Value(int64(p.Port)),
			"url": types.StringValue(p.URL),
		}))
		urls = append(urls, types.StringValue(p.URL))
		ready = ready && p.Ready
	}
	m.URLs = types.ListValueMust(types.StringType, urls)
	m.Placements = types.ListValueMust(types.ObjectType{AttrTypes: placementAttrTypes}, objs)
	switch {
	case ready:
		m.Status = types.StringValue("ready")
	case applied:
		m.Status = types.StringValue("degraded")
	default:
		m.Status = types.StringValue("failed")
	}
}

func expandPlacement(ctx context.Context, p modelEndpointPlacementModel) onprem.Placement {
	var gpus []int64
	_ = p.GPUIDs.ElementsAs(ctx, &gpus, false)
	out := onprem.Placement{Host: p.Host.ValueString(), Replica: int(p.Replica.ValueInt64()), Port: int(p.Port.ValueInt64()),
		URL: p.URL.ValueString(), Ready: true}
	for _, g := range gpus {
		out.GPUIDs = append(out.GPUIDs, int(g))
	}
	return out
}

// importedModel is the state an import starts from: the settings from the applied spec; the
// API key stays unset; Read fills in the placements.
func importedModel(s vllm.AppliedSpec) modelEndpointResourceModel {
	intOrNull := func(v int) types.Int64 {
		if v == 0 {
			return types.Int64Null()
		}
		return types.Int64Value(int64(v))
	}
	strOrNull := func(v string) types.String {
		if v == "" {
			return types.StringNull()
		}
		return types.StringValue(v)
	}
	extra := []attr.Value{}
	for _, a := range s.ExtraArgs {
		extra = append(extra, types.StringValue(a))
	}
	m := modelEndpointResourceModel{
		Model:            &modelEndpointModelModel{ID: types.StringValue(s.Model), Revision: types.StringValue(s.Revision)},
		ResolvedRevision: types.StringValue(s.Revision),
		Engine: &modelEndpointEngineModel{
			Image:                types.StringValue(s.Image),
			TensorParallelSize:   types.Int64Value(int64(max(s.TensorParallelSize, 1))),
			PipelineParallelSize: types.Int64Value(int64(max(s.PipelineParallelSize, 1))),
			MaxModelLen:          intOrNull(s.MaxModelLen),
			GPUMemoryUtilization: types.Float64Null(),
			DType:                strOrNull(s.DType),
			Quantization:         strOrNull(s.Quantization),
			KVCacheDType:         strOrNull(s.KVCacheDType),
			MaxNumSeqs:           intOrNull(s.MaxNumSeqs),
			EnablePrefixCaching:  types.BoolNull(),
			ExtraArgs:            types.ListValueMust(types.StringType, extra),
		},
		ServedModelName:        types.StringValue(s.ServedModelName),
		Replicas:               types.Int64Value(int64(s.Replicas)),
		NodeSelector:           types.MapNull(types.StringType),
		Autoscaling:            types.ObjectNull(map[string]attr.Type{"min": types.Int64Type, "max": types.Int64Type}),
		APIKey:                 types.StringNull(),
		APIKeyWO:               types.StringNull(),
		APIKeyWOVersion:        types.Int64Null(),
		Rollout:                types.ObjectValueMust(map[string]attr.Type{"max_unavailable": types.Int64Type}, map[string]attr.Value{"max_unavailable": types.Int64Value(1)}),
		ForceRemoveUnreachable: types.BoolValue(false),
		URL:                    types.StringNull(),
		AWS:                    types.ObjectNull(endpointAWSAttrTypes),
		URLs:                   types.ListNull(types.StringType),
		Placements:             types.ListNull(types.ObjectType{AttrTypes: placementAttrTypes}),
		Status:                 types.StringNull(),
		Timeouts:               timeouts.Value{Object: types.ObjectNull(map[string]attr.Type{"create": types.StringType, "update": types.StringType, "delete": types.StringType})},
	}
	if s.GPUMemoryUtilization > 0 {
		m.Engine.GPUMemoryUtilization = types.Float64Value(s.GPUMemoryUtilization)
	}
	if s.EnablePrefixCaching != nil {
		m.Engine.EnablePrefixCaching = types.BoolValue(*s.EnablePrefixCaching)
	}
	return m
}
