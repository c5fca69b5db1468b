package provider

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/inferstack/terraform-provider-inferstack/internal/backend"
	"github.com/inferstack/terraform-provider-inferstack/internal/errs"
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

func newModelEndpointResource(adapters []BackendAdapter) func() resource.Resource {
	return func() resource.Resource { return &modelEndpointResource{adapters: adapters} }
}

// modelEndpointResource is one CRUD path for every backend: the backend is the one that owns
// cluster_id, and its adapter converts its own endpoint block (if it has one).
type modelEndpointResource struct {
	adapters []BackendAdapter
	data     *providerData
}

func (r *modelEndpointResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_model_endpoint"
}

func (r *modelEndpointResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = configuredData(req.ProviderData, &resp.Diagnostics)
}

// blockNames are the backends' endpoint blocks.
func (r *modelEndpointResource) blockNames() []string {
	var out []string
	for _, a := range r.adapters {
		if _, ok := a.EndpointBlock(); ok {
			out = append(out, a.Name())
		}
	}
	return out
}

func (r *modelEndpointResource) get(ctx context.Context, g objectGetter, m *modelEndpointResourceModel) (*splitObject, diag.Diagnostics) {
	return getSplit(ctx, g, r.blockNames(), m)
}

// ValidateConfig checks what is known without the network: one of api_key and api_key_wo,
// extra_args and the engine settings against vLLM's flag table.
func (r *modelEndpointResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var cfg modelEndpointResourceModel
	_, diags := r.get(ctx, req.Config, &cfg)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	if cfg.APIKey.IsNull() && cfg.APIKeyWO.IsNull() {
		resp.Diagnostics.AddAttributeError(path.Root("api_key"), "missing API key",
			"vLLM always runs with an API key: set api_key, or api_key_wo with api_key_wo_version (Terraform/OpenTofu 1.11+).")
	}
	if !cfg.Autoscaling.IsNull() && !cfg.Autoscaling.IsUnknown() {
		attrs := cfg.Autoscaling.Attributes()
		lo, hi := attrs["min"].(types.Int64), attrs["max"].(types.Int64)
		if !lo.IsUnknown() && !hi.IsUnknown() && lo.ValueInt64() > hi.ValueInt64() {
			resp.Diagnostics.AddAttributeError(path.Root("autoscaling").AtName("min"), "invalid autoscaling",
				fmt.Sprintf("autoscaling.min: %d is above autoscaling.max (%d): set min <= max.", lo.ValueInt64(), hi.ValueInt64()))
		}
		if t, ok := attrs["target"].(types.Object); ok && !t.IsNull() && !lo.IsUnknown() && !hi.IsUnknown() && lo.ValueInt64() == hi.ValueInt64() {
			resp.Diagnostics.AddAttributeError(path.Root("autoscaling").AtName("target"), "invalid autoscaling",
				fmt.Sprintf("autoscaling.target: min and max are both %d, so there is nothing to scale: set max above min, or remove the target.", lo.ValueInt64()))
		}
	}
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

// checkCapabilities refuses, at plan time, what the cluster's backend cannot do: autoscaling
// without the platform's autoscaler, a node selector where the platform places replicas, and
// another backend's endpoint block.
func (r *modelEndpointResource) checkCapabilities(plan modelEndpointResourceModel, o *splitObject, b backend.Backend, diags *diag.Diagnostics) {
	caps := b.Capabilities()
	kind := clusterKind(b.Name())
	for name, block := range o.blocks {
		if name != b.Name() && !block.IsNull() {
			diags.AddAttributeError(path.Root(name), fmt.Sprintf("%s settings on a %s cluster", name, b.Name()),
				fmt.Sprintf("%s: the block holds settings of endpoints on a %s cluster; cluster_id names a %s cluster: remove the %s block.",
					name, name, b.Name(), name))
		}
	}
	if !plan.Autoscaling.IsNull() && !caps.Autoscaling {
		diags.AddAttributeError(path.Root("autoscaling"), fmt.Sprintf("autoscaling on %s cluster", kind),
			fmt.Sprintf("autoscaling is for platforms whose autoscaler inferstack drives (AWS Auto Scaling, Kubernetes' "+
				"HorizontalPodAutoscaler); on %s cluster the replica count is fixed: remove autoscaling and set replicas.", kind))
	}
	if !plan.Autoscaling.IsNull() && !plan.Autoscaling.IsUnknown() && caps.Autoscaling && !caps.ScaleTargets {
		if t, ok := plan.Autoscaling.Attributes()["target"].(types.Object); ok && !t.IsNull() {
			diags.AddAttributeError(path.Root("autoscaling").AtName("target"), fmt.Sprintf("autoscaling.target on %s cluster", kind),
				fmt.Sprintf("autoscaling.target: inferstack does not make scaling rules on %s cluster yet; autoscaling.min and max "+
					"bound the capacity, which a scaling rule of your own may move (e.g. an Azure Monitor autoscale setting on the "+
					"endpoint's scale set): remove target.", kind))
		}
	}
	if !plan.NodeSelector.IsNull() && !caps.HostPlacement {
		diags.AddAttributeError(path.Root("node_selector"), fmt.Sprintf("node_selector on a %s cluster", b.Name()),
			fmt.Sprintf("node_selector: on a %s cluster the platform places replicas; the cluster's own settings choose the "+
				"nodes: remove node_selector.", b.Name()))
	}
}

// ModifyPlan resolves model.revision to its commit (a change of commit replaces the endpoint),
// checks the full spec with every value known and what the cluster's backend can do, replaces the
// endpoint when it moves to another cluster, and keeps placements and URLs when nothing that
// moves replicas changes.
func (r *modelEndpointResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		return
	}
	var plan modelEndpointResourceModel
	po, diags := r.get(ctx, req.Plan, &plan)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	var state *modelEndpointResourceModel
	var so *splitObject
	if !req.State.Raw.IsNull() {
		state = &modelEndpointResourceModel{}
		so, diags = r.get(ctx, req.State, state)
		resp.Diagnostics.Append(diags...)
		if resp.Diagnostics.HasError() {
			return
		}
	}
	var b backend.Backend
	if !plan.ClusterID.IsUnknown() && r.data != nil {
		reg := r.data.registry("planning model endpoint", &resp.Diagnostics)
		if reg == nil {
			return
		}
		var err error
		if b, err = reg.ForClusterID(plan.ClusterID.ValueString()); err != nil {
			resp.Diagnostics.AddAttributeError(path.Root("cluster_id"), "invalid cluster_id", "cluster_id: "+err.Error())
			return
		}
		r.checkCapabilities(plan, po, b, &resp.Diagnostics)
	}
	if state != nil {
		// Another cluster (backend, region or name) is another endpoint; an on-prem cluster whose
		// hosts change keeps its key. An unknown cluster_id (a cluster being replaced) may well be another.
		switch {
		case plan.ClusterID.IsUnknown():
			resp.RequiresReplace = append(resp.RequiresReplace, path.Root("cluster_id"))
		case b != nil && !plan.ClusterID.Equal(state.ClusterID):
			if sb, err := r.data.Backends.ForClusterID(state.ClusterID.ValueString()); err != nil || sb.Name() != b.Name() ||
				b.ClusterKey(state.ClusterID.ValueString()) != b.ClusterKey(plan.ClusterID.ValueString()) {
				resp.RequiresReplace = append(resp.RequiresReplace, path.Root("cluster_id"))
			}
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
	if shape := r.modelShape(ctx, req.Private, resp.Private, model, plan, state, &resp.Diagnostics); shape != nil && sizingChanged(plan, state) {
		var capacity *backend.Capacity
		if b != nil && !plan.ClusterID.IsUnknown() {
			capacity = clusterCapacity(ctx, b, plan.ClusterID.ValueString())
		}
		checkSizing(plan, *shape, capacity, &resp.Diagnostics)
	}

	// The whole spec, where every value is known.
	if spec, ok := r.expandSpec(ctx, plan, &resp.Diagnostics); ok {
		if spec.Model.Revision == "" {
			spec.Model.Revision = strings.Repeat("0", 40)
		}
		spec.Secrets.APIKey = vllm.SecretRef{Source: vllm.SecretFile, Name: vllm.SecretFilePath(spec.Endpoint, "VLLM_API_KEY")}
		spec.Replicas = []vllm.Replica{{Index: 0}}
		addSpecProblems(&resp.Diagnostics, spec.Validate())
	}

	plan.ID = plannedEndpointID(plan, state)

	if state != nil {
		if !state.ResolvedRevision.IsNull() && !plan.ResolvedRevision.IsUnknown() &&
			state.ResolvedRevision.ValueString() != plan.ResolvedRevision.ValueString() {
			resp.RequiresReplace = append(resp.RequiresReplace, path.Root("resolved_revision"))
		}
		moves := !plan.ClusterID.Equal(state.ClusterID) || !plan.Replicas.Equal(state.Replicas) ||
			!plan.NodeSelector.Equal(state.NodeSelector) || engineGPUs(plan.Engine) != engineGPUs(state.Engine)
		if b != nil && b.Capabilities().SharedURL {
			// One URL, the platform's: it moves only with the cluster or the backend's own block.
			moves = !plan.ClusterID.Equal(state.ClusterID) || !po.block(b.Name()).Equal(so.block(b.Name()))
		}
		if !moves {
			plan.URLs, plan.Placements, plan.URL, plan.MetricsTargets = state.URLs, state.Placements, state.URL, state.MetricsTargets
		}
	}
	if b != nil && !b.Capabilities().SharedURL {
		plan.URL = types.StringNull()
	}
	resp.Diagnostics.Append(setSplit(ctx, &resp.Plan, po, &plan)...)
}

// modelShape is the shape of the model at the planned revision: from the model just resolved
// (then kept in private state for later plans), else from private state, else (an endpoint
// pinned to a sha whose state predates the shape, and whose sizing inputs change) from the Hub.
// nil when it cannot be known now; the checks that need it are then skipped.
func (r *modelEndpointResource) modelShape(ctx context.Context, prior privateGetter, next privateSetter, model *hf.Model,
	plan modelEndpointResourceModel, state *modelEndpointResourceModel, diags *diag.Diagnostics) *sizing.ModelShape {
	if model == nil && !plan.ResolvedRevision.IsUnknown() && !plan.ResolvedRevision.IsNull() && plan.Model != nil {
		sha := plan.ResolvedRevision.ValueString()
		if s := shapeFromPrivate(ctx, prior, sha); s != nil {
			return s
		}
		if r.data == nil || !sizingChanged(plan, state) {
			return nil
		}
		client, err := r.data.HF()
		if err == nil {
			model, err = client.Resolve(ctx, plan.Model.ID.ValueString(), sha)
		}
		if err != nil {
			tflog.Info(ctx, "model shape unknown: skipping the endpoint's sizing checks", map[string]any{"error": err.Error()})
			return nil
		}
	}
	if model == nil {
		return nil
	}
	s := sizing.ShapeFromModel(model)
	shapeToPrivate(ctx, next, model.SHA, s, diags)
	return &s
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

// endpointTarget is the backend and adapter of the endpoint's cluster.
func (r *modelEndpointResource) endpointTarget(clusterID, summary string, diags *diag.Diagnostics) (backend.Backend, BackendAdapter) {
	reg := r.data.registry(summary, diags)
	if reg == nil {
		return nil, nil
	}
	b, err := reg.ForClusterID(clusterID)
	if err != nil {
		diags.AddAttributeError(path.Root("cluster_id"), summary, "cluster_id: "+err.Error())
		return nil, nil
	}
	return b, adapterByName(r.adapters, b.Name())
}

// deploy ensures the endpoint and waits until it is ready; what exists is in state after each
// step, so a failure leaves state true and the next apply converges.
func (r *modelEndpointResource) deploy(ctx context.Context, b backend.Backend, spec backend.EndpointSpec, plan *modelEndpointResourceModel,
	o *splitObject, state *tfsdk.State, summary string, diags *diag.Diagnostics) {
	tflog.Info(ctx, "deploying model endpoint", map[string]any{"endpoint": spec.Name, "backend": b.Name(), "replicas": spec.Replicas})
	// Each step as it happens, at INFO (TF_LOG=INFO): on-prem the node script's steps per host
	// (pulling, starting, ready), on a cloud the nodes healthy and the refresh under way.
	ctx = backend.WithProgress(ctx, func(source, message string) {
		tflog.Info(ctx, fmt.Sprintf("model endpoint %s: %s: %s", spec.Name, source, message),
			map[string]any{"endpoint": spec.Name, "source": source})
	})
	e, err := b.EnsureEndpoint(ctx, spec)
	if e != nil {
		flattenEndpoint(plan, e)
		r.settleBlocks(ctx, b, o, e, diags)
		diags.Append(setSplit(ctx, state, o, plan)...)
	}
	if err != nil {
		addProblems(diags, path.Root(b.Name()), summary, errorDetail(err))
		return
	}
	if e.Status == backend.StatusReady { // the backend waited itself (on-prem converges host by host)
		return
	}
	e, err = b.WaitEndpointReady(ctx, spec.ClusterID, spec.Name)
	if e != nil {
		flattenEndpoint(plan, e)
		r.settleBlocks(ctx, b, o, e, diags)
		diags.Append(setSplit(ctx, state, o, plan)...)
	}
	if err != nil {
		diags.AddError(summary, errorDetail(err).Error())
	}
}

// settleBlocks makes the backends' blocks known for state during an apply: what the plan left
// unknown in the block of the cluster's backend (its computed attributes) comes from e through
// the adapter; anything still unknown (no e yet, or the block of another backend, planned before
// the cluster was known) is null.
func (r *modelEndpointResource) settleBlocks(ctx context.Context, b backend.Backend, o *splitObject, e *backend.Endpoint, diags *diag.Diagnostics) {
	for _, name := range o.names {
		blk := o.block(name)
		if blk.IsNull() || fullyKnown(ctx, blk) {
			continue
		}
		if a := adapterByName(r.adapters, name); e != nil && a != nil && name == b.Name() {
			flat, d := a.FlattenEndpoint(ctx, blk, e)
			diags.Append(d...)
			blk = flat
		}
		o.blocks[name] = unknownAsNull(ctx, blk, diags)
	}
}

func fullyKnown(ctx context.Context, v attr.Value) bool {
	tv, err := v.ToTerraformValue(ctx)
	return err == nil && tv.IsFullyKnown()
}

// unknownAsNull is o with its unknown attributes null (o itself when it is unknown).
func unknownAsNull(ctx context.Context, o types.Object, diags *diag.Diagnostics) types.Object {
	if o.IsUnknown() {
		return types.ObjectNull(o.AttributeTypes(ctx))
	}
	if o.IsNull() {
		return o
	}
	attrs := o.Attributes()
	for k, v := range attrs {
		if v.IsUnknown() {
			t := o.AttributeTypes(ctx)[k]
			null, err := t.ValueFromTerraform(ctx, tftypes.NewValue(t.TerraformType(ctx), nil))
			if err != nil {
				diags.AddError("settling model endpoint state", err.Error())
				return o
			}
			attrs[k] = null
		}
	}
	out, d := types.ObjectValue(o.AttributeTypes(ctx), attrs)
	diags.Append(d...)
	return out
}

// errorDetail adds what to do to a failed apply's error.
func errorDetail(err error) error {
	if len(backend.InputErrors(err)) > 0 {
		return err
	}
	return fmt.Errorf("%w\n\nWhat exists is kept in state; fix the cause (a host that cannot be reached: check it is up and "+
		"reachable over SSH) and apply again: the next apply converges", err)
}

// Create writes the ID to state before the backend creates anything (a failed wait leaves a
// tainted resource, never an orphan), then deploys under the create timeout.
func (r *modelEndpointResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan modelEndpointResourceModel
	po, diags := r.get(ctx, req.Plan, &plan)
	resp.Diagnostics.Append(diags...)
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
	b, adapter := r.endpointTarget(plan.ClusterID.ValueString(), summary, &resp.Diagnostics)
	if b == nil {
		return
	}
	spec, ok := r.expandEndpointSpec(ctx, plan, po.block(b.Name()), adapter, req.Config, timeout, summary, &resp.Diagnostics)
	if !ok {
		return
	}
	if !r.hubAccess(ctx, &spec, resp.Private, summary, &resp.Diagnostics) {
		return
	}
	plan.ID = types.StringValue(backend.EndpointID(spec.ClusterID, name))
	flattenEndpoint(&plan, &backend.Endpoint{ID: plan.ID.ValueString(), Status: backend.StatusFailed})
	// The blocks as planned, unknowns null (a copy: deploy fills the planned unknowns from the endpoint).
	settled := &splitObject{types: po.types, names: po.names, blocks: maps.Clone(po.blocks)}
	r.settleBlocks(ctx, b, settled, nil, &resp.Diagnostics)
	resp.Diagnostics.Append(setSplit(ctx, &resp.State, settled, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	r.deploy(ctx, b, spec, &plan, po, &resp.State, summary, &resp.Diagnostics)
}

// Read refreshes the endpoint from its backend. An endpoint none of whose parts exists, or some
// of whose parts were deleted outside Terraform, leaves state with a warning; replicas on hosts
// that cannot be reached stay as last known.
func (r *modelEndpointResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state modelEndpointResourceModel
	so, diags := r.get(ctx, req.State, &state)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	name := state.Name.ValueString()
	summary := fmt.Sprintf("reading model endpoint (%s)", name)
	b, adapter := r.endpointTarget(state.ClusterID.ValueString(), summary, &resp.Diagnostics)
	if b == nil {
		return
	}
	e, err := b.FindEndpoint(ctx, state.ClusterID.ValueString(), name)
	switch {
	case backend.IsNotFound(err):
		resp.Diagnostics.AddWarning("model endpoint not found",
			fmt.Sprintf("Model endpoint %s no longer exists on its cluster (%s): it was deleted outside Terraform. It is "+
				"removed from state, and the next apply creates it again.", name, err))
		resp.State.RemoveResource(ctx)
		return
	case err != nil:
		resp.Diagnostics.AddError(summary, err.Error())
		return
	}
	if removedMissing("model endpoint", name, e.Missing, &resp.Diagnostics) {
		resp.State.RemoveResource(ctx)
		return
	}
	if len(e.Unreachable) > 0 {
		resp.Diagnostics.AddWarning("hosts unreachable",
			fmt.Sprintf("Model endpoint %s: host(s) %s could not be reached; their replicas are kept in state as last known.",
				name, strings.Join(e.Unreachable, ", ")))
		keepUnreachable(ctx, state, e, &resp.Diagnostics)
	}
	flattenEndpoint(&state, e)
	if b.Capabilities().Autoscaling {
		state.Autoscaling = withScaleTarget(state.Autoscaling, e.ScaleTarget)
	}
	if b.Capabilities().Autoscaling && state.Autoscaling.IsNull() && e.Desired > 0 {
		state.Replicas = types.Int64Value(e.Desired)
	}
	if adapter != nil {
		if _, ok := adapter.EndpointBlock(); ok {
			block, d := adapter.FlattenEndpoint(ctx, so.block(b.Name()), e)
			resp.Diagnostics.Append(d...)
			so.blocks[b.Name()] = block
		}
	}
	if state.Timeouts.IsNull() || state.Timeouts.IsUnknown() {
		state.Timeouts = nullTimeouts()
	}
	resp.Diagnostics.Append(setSplit(ctx, &resp.State, so, &state)...)
}

// Update deploys the planned endpoint in place (what cannot change in place was planned as a
// replacement). When the backend reports nothing new, state keeps what it had, degraded.
func (r *modelEndpointResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state modelEndpointResourceModel
	po, diags := r.get(ctx, req.Plan, &plan)
	resp.Diagnostics.Append(diags...)
	_, diags = r.get(ctx, req.State, &state)
	resp.Diagnostics.Append(diags...)
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
	b, adapter := r.endpointTarget(plan.ClusterID.ValueString(), summary, &resp.Diagnostics)
	if b == nil {
		return
	}
	spec, ok := r.expandEndpointSpec(ctx, plan, po.block(b.Name()), adapter, req.Config, timeout, summary, &resp.Diagnostics)
	if !ok {
		return
	}
	if !r.hubAccess(ctx, &spec, resp.Private, summary, &resp.Diagnostics) {
		return
	}
	plan.ID = types.StringValue(backend.EndpointID(spec.ClusterID, name))
	// Until the backend says more, what state knew stands (degraded: the change is under way).
	plan.URLs, plan.Placements, plan.URL, plan.Status = state.URLs, state.Placements, state.URL, types.StringValue(backend.StatusDegraded)
	plan.MetricsTargets = state.MetricsTargets
	if plan.URL.IsUnknown() {
		plan.URL = types.StringNull()
	}
	// The blocks as planned, unknowns null until the backend says more (a copy: deploy
	// fills the planned unknowns from the endpoint).
	settled := &splitObject{types: po.types, names: po.names, blocks: maps.Clone(po.blocks)}
	r.settleBlocks(ctx, b, settled, nil, &resp.Diagnostics)
	resp.Diagnostics.Append(setSplit(ctx, &resp.State, settled, &plan)...)
	r.deploy(ctx, b, spec, &plan, po, &resp.State, summary, &resp.Diagnostics)
}

func (r *modelEndpointResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state modelEndpointResourceModel
	_, diags := r.get(ctx, req.State, &state)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, diags := state.Timeouts.Delete(ctx, modelEndpointDeleteTimeout)
	resp.Diagnostics.Append(diags...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	name := state.Name.ValueString()
	summary := fmt.Sprintf("deleting model endpoint (%s)", name)
	b, _ := r.endpointTarget(state.ClusterID.ValueString(), summary, &resp.Diagnostics)
	if b == nil {
		return
	}
	tflog.Info(ctx, "deleting model endpoint", map[string]any{"endpoint": name, "backend": b.Name()})
	warnings, err := b.DeleteEndpoint(ctx, state.ClusterID.ValueString(), name,
		backend.DeleteOptions{ForceRemoveUnreachable: state.ForceRemoveUnreachable.ValueBool()})
	for _, w := range warnings {
		resp.Diagnostics.AddWarning("replicas left on unreachable hosts", w)
	}
	if err != nil {
		resp.Diagnostics.AddError(summary, err.Error())
	}
}

// ImportState takes "<cluster_id>,<endpoint name>", which is also the endpoint's ID (the cluster
// part may take any form the cluster's import takes). The settings are read back from what the
// backend last applied; secrets (api_key) cannot be imported: set them in the configuration.
func (r *modelEndpointResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	summary := fmt.Sprintf("importing model endpoint (%s)", req.ID)
	reg := r.data.registry(summary, &resp.Diagnostics)
	if reg == nil {
		return
	}
	clusterPart, name, ok := backend.SplitEndpointID(req.ID)
	if !ok || !endpointNameRE.MatchString(name) {
		resp.Diagnostics.AddError(summary, fmt.Sprintf("%q is not the id of an inferstack_model_endpoint: want <cluster_id>%s<name>",
			req.ID, backend.EndpointIDSeparator))
		return
	}
	clusterID, err := importClusterID(ctx, reg, clusterPart)
	if err != nil {
		resp.Diagnostics.AddError(summary, err.Error())
		return
	}
	b, _ := reg.ForClusterID(clusterID)
	applied, e, err := b.EndpointSpec(ctx, clusterID, name)
	if err != nil {
		resp.Diagnostics.AddError(summary, err.Error())
		return
	}
	m := importedModel(*applied)
	m.ID = types.StringValue(backend.EndpointID(clusterID, name))
	m.ClusterID = types.StringValue(clusterID)
	m.Name = types.StringValue(name)
	if e.Desired > 0 {
		m.Replicas = types.Int64Value(e.Desired)
	}
	if b.Capabilities().Autoscaling && (e.Min != e.Desired || e.Max != e.Desired) {
		m.Autoscaling = types.ObjectValueMust(autoscalingAttrTypes, map[string]attr.Value{
			"min": types.Int64Value(e.Min), "max": types.Int64Value(e.Max), "target": scaleTargetValue(e.ScaleTarget)})
	}
	var whole types.Object
	resp.Diagnostics.Append(resp.State.Get(ctx, &whole)...)
	o := &splitObject{types: whole.AttributeTypes(ctx), names: r.blockNames(), blocks: map[string]types.Object{}}
	if a := adapterByName(r.adapters, b.Name()); a != nil {
		if _, ok := a.EndpointBlock(); ok {
			block, d := a.FlattenEndpoint(ctx, o.block(b.Name()), e)
			resp.Diagnostics.Append(d...)
			o.blocks[b.Name()] = block
		}
	}
	resp.Diagnostics.Append(setSplit(ctx, &resp.State, o, &m)...)
}

// addSpecProblems attaches each problem vllm.Spec.Validate found to its attribute of this
// resource (the spec's "endpoint" is the resource's name); a problem with a part of the spec the
// resource does not expose is one error.
func addSpecProblems(diags *diag.Diagnostics, err error) {
	for _, p := range errs.Problems(err) {
		attribute := p.Attribute
		if attribute == vllm.AttrEndpoint {
			attribute = "name"
		}
		switch first, _, _ := strings.Cut(attribute, "."); strings.SplitN(first, "[", 2)[0] {
		case "name", "model", "engine", "served_model_name", "api_key", "timeouts":
			at, shown := problemPath(path.Empty(), attribute)
			diags.AddAttributeError(at, "invalid "+shown, shown+": "+p.Detail)
		default:
			diags.AddError("invalid model endpoint", p.Error())
		}
	}
	if err != nil && len(errs.Problems(err)) == 0 {
		diags.AddError("invalid model endpoint", err.Error())
	}
}

// clusterKind names a backend's cluster in a sentence: "an on-prem", "an aws", "a testbed".
func clusterKind(backendName string) string {
	n := strings.ReplaceAll(backendName, "onprem", "on-prem")
	if strings.ContainsAny(n[:1], "aeiou") {
		return "an " + n
	}
	return "a " + n
}
