package provider

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/inferstack/terraform-provider-inferstack/internal/backend"
	"github.com/inferstack/terraform-provider-inferstack/internal/backend/onprem"
)

var (
	_ resource.Resource                   = &inferenceClusterResource{}
	_ resource.ResourceWithConfigure      = &inferenceClusterResource{}
	_ resource.ResourceWithValidateConfig = &inferenceClusterResource{}
	_ resource.ResourceWithModifyPlan     = &inferenceClusterResource{}
	_ resource.ResourceWithImportState    = &inferenceClusterResource{}
)

// Default timeouts of inferstack_inference_cluster: a load balancer takes minutes to become active.
const (
	clusterCreateTimeout = 20 * time.Minute
	clusterUpdateTimeout = 20 * time.Minute
	clusterDeleteTimeout = 20 * time.Minute
)

func newInferenceClusterResource(adapters []BackendAdapter) func() resource.Resource {
	return func() resource.Resource { return &inferenceClusterResource{adapters: adapters} }
}

// inferenceClusterResource is one CRUD path for every backend: it finds the backend by the block
// that is set (create) or by the ID's prefix (everything else), and lets the backend's adapter
// convert its block.
type inferenceClusterResource struct {
	adapters []BackendAdapter
	data     *providerData
}

func (r *inferenceClusterResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_inference_cluster"
}

func (r *inferenceClusterResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	names := adapterNames(r.adapters)
	resp.Schema = schema.Schema{
		MarkdownDescription: "A pool of GPU capacity that `inferstack_model_endpoint` resources deploy vLLM onto. Set " +
			"exactly one backend block (" + "`" + strings.Join(names, "`, `") + "`" + "); each holds its settings and, " +
			"computed, what the backend made or found. Changing the backend replaces the cluster.\n\n" +
			"The `id` starts with the backend's name and says where the cluster is (`onprem/<name>/<descriptor>`, " +
			"`aws/<region>/<name>`), so an endpoint or a route given only an ID can reach it. It is in state before " +
			"anything is created: an interrupted create leaves a tainted cluster whose next apply adopts what exists.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				Computed: true,
				MarkdownDescription: "The cluster's id, known at plan time: `onprem/<name>/<descriptor>` (the hosts, " +
					"bastion, runtime and host-key setting in base64url JSON, no secret; it changes in place when " +
					"`onprem` changes) or `aws/<region>/<name>`. Pass it to `inferstack_model_endpoint.cluster_id`; it " +
					"is also the import ID (an AWS cluster also imports by `<region>/<name>` or `<name>`).",
			},
			"name": schema.StringAttribute{
				Required: true,
				MarkdownDescription: "The cluster's name: 1 to 63 lower-case letters, digits and `-`, starting and " +
					"ending with a letter or digit. Changing it replaces the cluster.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
				Validators:    []validator.String{clusterNameValidator{}},
			},
			"timeouts": timeouts.Attributes(ctx, timeouts.Opts{Create: true, Update: true, Delete: true}),
		},
	}
	for _, a := range r.adapters {
		resp.Schema.Attributes[a.Name()] = a.ClusterBlock()
	}
	resp.Schema.MarkdownDescription += "\n\nDefault timeouts: create, update and delete " + clusterCreateTimeout.String() + " each."
}

func (r *inferenceClusterResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = configuredData(req.ProviderData, &resp.Diagnostics)
}

// inferenceClusterResourceModel is what every backend's cluster has; each backend's block is
// its adapter's (splitObject).
type inferenceClusterResourceModel struct {
	ID       types.String   `tfsdk:"id"`
	Name     types.String   `tfsdk:"name"`
	Timeouts timeouts.Value `tfsdk:"timeouts"`
}

func (r *inferenceClusterResource) get(ctx context.Context, g objectGetter, m *inferenceClusterResourceModel) (*splitObject, diag.Diagnostics) {
	return getSplit(ctx, g, adapterNames(r.adapters), m)
}

// ValidateConfig checks that exactly one backend block is set.
func (r *inferenceClusterResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var m inferenceClusterResourceModel
	o, diags := r.get(ctx, req.Config, &m)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	name, n, unknown := o.active()
	if !unknown && n != 1 {
		names := adapterNames(r.adapters)
		slices.Sort(names)
		resp.Diagnostics.AddAttributeError(path.Root(names[0]), "invalid inference cluster",
			fmt.Sprintf("Set exactly one backend block (%s); %d are set.", strings.Join(names, ", "), n))
		return
	}
	if v, ok := adapterByName(r.adapters, name).(clusterConfigValidator); ok && n == 1 {
		v.ValidateClusterConfig(ctx, o.block(name), &resp.Diagnostics)
	}
}

// clusterConfigValidator is implemented by adapters with checks of their cluster block that need
// neither the provider's configuration nor the network (they run in ValidateConfig).
type clusterConfigValidator interface {
	ValidateClusterConfig(ctx context.Context, block types.Object, diags *diag.Diagnostics)
}

// ModifyPlan asks the backend to plan the cluster: its ID (known at plan time, so endpoints see
// the cluster_id they will get), the checks it can make without writing (preflight: quotas, GPU
// types, host keys), and the computed values of its block. A change of backend, or of what the
// backend says replaces the cluster (AWS: the region), replaces it.
func (r *inferenceClusterResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() || r.data == nil {
		return
	}
	var plan, state inferenceClusterResourceModel
	po, diags := r.get(ctx, req.Plan, &plan)
	resp.Diagnostics.Append(diags...)
	so, diags := r.get(ctx, req.State, &state)
	resp.Diagnostics.Append(diags...)
	name, n, unknown := po.active()
	if resp.Diagnostics.HasError() || unknown || n != 1 {
		return
	}
	adapter := adapterByName(r.adapters, name)
	reg := r.data.registry("planning inference cluster", &resp.Diagnostics)
	if reg == nil {
		return
	}
	b, _ := reg.ByName(name)
	if b == nil {
		return
	}
	stateBlock := so.block(name)
	if !req.State.Raw.IsNull() && stateBlock.IsNull() { // another backend before
		for _, a := range r.adapters {
			resp.RequiresReplace = append(resp.RequiresReplace, path.Root(a.Name()))
		}
	}
	settings, known, idKnown, diags := adapter.ExpandCluster(ctx, po.block(name))
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() || plan.Name.IsUnknown() {
		return
	}
	spec := backend.ClusterSpec{Name: plan.Name.ValueString(), Settings: settings}
	summary := fmt.Sprintf("planning inference cluster (%s)", spec.Name)
	var p *backend.ClusterPlan
	switch {
	case known:
		var prior *backend.ClusterSpec
		if !stateBlock.IsNull() {
			if s, sk, _, d := adapter.ExpandCluster(ctx, stateBlock); !d.HasError() && sk {
				prior = &backend.ClusterSpec{Name: state.Name.ValueString(), Settings: s}
			}
		}
		var err error
		if p, err = b.PlanCluster(ctx, spec, prior); err != nil {
			addProblems(&resp.Diagnostics, path.Root(name), summary, err)
			return
		}
		plan.ID = types.StringValue(p.ID)
		for _, w := range p.Warnings {
			resp.Diagnostics.AddAttributeWarning(path.Root(name), fmt.Sprintf("inference cluster (%s)", spec.Name), w)
		}
		if !stateBlock.IsNull() {
			for _, a := range p.Replace {
				resp.RequiresReplace = append(resp.RequiresReplace, path.Root(name).AtName(a))
			}
		}
	case idKnown:
		id, err := b.ClusterID(ctx, spec)
		if err != nil {
			addProblems(&resp.Diagnostics, path.Root(name), summary, err)
			return
		}
		plan.ID = types.StringValue(id)
	}
	block, diags := adapter.PlanCluster(ctx, po.block(name), stateBlock, p)
	resp.Diagnostics.Append(diags...)
	po.only(name, block)
	resp.Diagnostics.Append(setSplit(ctx, &resp.Plan, po, &plan)...)
}

// clusterTarget is the backend and adapter of a cluster in state, found by its ID.
func (r *inferenceClusterResource) clusterTarget(id, summary string, diags *diag.Diagnostics) (backend.Backend, BackendAdapter) {
	reg := r.data.registry(summary, diags)
	if reg == nil {
		return nil, nil
	}
	b, err := reg.ForClusterID(id)
	if err != nil {
		diags.AddError(summary, err.Error())
		return nil, nil
	}
	return b, adapterByName(r.adapters, b.Name())
}

// Create writes the ID to state before the backend creates anything (a failure then leaves a
// tainted cluster whose next apply adopts what exists), ensures the cluster and waits for it
// under the create timeout.
func (r *inferenceClusterResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan inferenceClusterResourceModel
	po, diags := r.get(ctx, req.Plan, &plan)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	name := plan.Name.ValueString()
	summary := fmt.Sprintf("creating inference cluster (%s)", name)
	blockName, _, _ := po.active()
	adapter := adapterByName(r.adapters, blockName)
	reg := r.data.registry(summary, &resp.Diagnostics)
	if reg == nil || adapter == nil {
		return
	}
	b, _ := reg.ByName(blockName)
	ctx, cancel := withTimeout(ctx, plan.Timeouts.Create, clusterCreateTimeout, &resp.Diagnostics)
	defer cancel()
	settings, _, _, diags := adapter.ExpandCluster(ctx, po.block(blockName))
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	spec := backend.ClusterSpec{Name: name, Settings: settings}
	id, err := b.ClusterID(ctx, spec)
	if err != nil {
		addProblems(&resp.Diagnostics, path.Root(blockName), summary, err)
		return
	}
	plan.ID = types.StringValue(id)
	po.only(blockName, knownValues(po.block(blockName)).(types.Object))
	resp.Diagnostics.Append(setSplit(ctx, &resp.State, po, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}

	tflog.Info(ctx, "creating inference cluster", map[string]any{"name": name, "backend": blockName, "id": id})
	c, err := b.EnsureCluster(ctx, id, spec)
	if c != nil {
		r.applyCluster(ctx, adapter, po.block(blockName), c, po, &plan, &resp.Diagnostics)
		resp.Diagnostics.Append(setSplit(ctx, &resp.State, po, &plan)...)
	}
	if err != nil {
		addProblems(&resp.Diagnostics, path.Root(blockName), summary, err)
		return
	}
	if _, err := b.WaitClusterReady(ctx, id); err != nil {
		resp.Diagnostics.AddError(summary, err.Error())
	}
}

// applyCluster puts what exists of c into the model and its block, with c's warnings.
func (r *inferenceClusterResource) applyCluster(ctx context.Context, adapter BackendAdapter, prior types.Object, c *backend.Cluster,
	o *splitObject, m *inferenceClusterResourceModel, diags *diag.Diagnostics) {
	block, d := adapter.FlattenCluster(ctx, prior, c)
	diags.Append(d...)
	o.only(adapter.Name(), block)
	m.ID = types.StringValue(c.ID)
	if m.Name.IsNull() || m.Name.IsUnknown() {
		m.Name = types.StringValue(c.Name)
	}
	if m.Timeouts.IsNull() || m.Timeouts.IsUnknown() {
		m.Timeouts = nullTimeouts()
	}
	for _, w := range c.Warnings {
		diags.AddWarning(fmt.Sprintf("inference cluster (%s)", c.Name), w)
	}
}

// Read refreshes the cluster from its backend. A cluster none of whose parts exists, or some of
// whose parts were deleted outside Terraform, leaves state with a warning: the next apply makes
// it again, adopting what is left.
func (r *inferenceClusterResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state inferenceClusterResourceModel
	so, diags := r.get(ctx, req.State, &state)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	id := state.ID.ValueString()
	summary := fmt.Sprintf("reading inference cluster (%s)", state.Name.ValueString())
	b, adapter := r.clusterTarget(id, summary, &resp.Diagnostics)
	if b == nil {
		return
	}
	c, err := b.FindCluster(ctx, id)
	switch {
	case backend.IsNotFound(err):
		resp.Diagnostics.AddWarning(fmt.Sprintf("inference cluster (%s) is gone", state.Name.ValueString()),
			"None of the cluster is left: it was deleted outside Terraform ("+err.Error()+"). It is removed from state, "+
				"and the next plan creates it again.")
		resp.State.RemoveResource(ctx)
		return
	case err != nil:
		resp.Diagnostics.AddError(summary, err.Error())
		return
	}
	if removedMissing("inference cluster", c.Name, c.Missing, &resp.Diagnostics) {
		resp.State.RemoveResource(ctx)
		return
	}
	r.applyCluster(ctx, adapter, so.block(b.Name()), c, so, &state, &resp.Diagnostics)
	resp.Diagnostics.Append(setSplit(ctx, &resp.State, so, &state)...)
}

// Update brings the cluster in line with the plan in place (what cannot change in place was
// planned as a replacement). On failure the prior state stays: the next plan shows the change again.
func (r *inferenceClusterResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state inferenceClusterResourceModel
	po, diags := r.get(ctx, req.Plan, &plan)
	resp.Diagnostics.Append(diags...)
	_, diags = r.get(ctx, req.State, &state)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	name := plan.Name.ValueString()
	summary := fmt.Sprintf("updating inference cluster (%s)", name)
	b, adapter := r.clusterTarget(state.ID.ValueString(), summary, &resp.Diagnostics)
	if b == nil {
		return
	}
	ctx, cancel := withTimeout(ctx, plan.Timeouts.Update, clusterUpdateTimeout, &resp.Diagnostics)
	defer cancel()
	settings, _, _, diags := adapter.ExpandCluster(ctx, po.block(b.Name()))
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	tflog.Info(ctx, "updating inference cluster", map[string]any{"name": name, "backend": b.Name()})
	c, err := b.EnsureCluster(ctx, state.ID.ValueString(), backend.ClusterSpec{Name: name, Settings: settings})
	if err != nil {
		addProblems(&resp.Diagnostics, path.Root(b.Name()), summary, err)
		resp.Diagnostics.Append(resp.State.Set(ctx, req.State.Raw)...)
		return
	}
	r.applyCluster(ctx, adapter, po.block(b.Name()), c, po, &plan, &resp.Diagnostics)
	resp.Diagnostics.Append(setSplit(ctx, &resp.State, po, &plan)...)
	if _, err := b.WaitClusterReady(ctx, c.ID); err != nil {
		resp.Diagnostics.AddError(summary, err.Error())
	}
}

// Delete removes the cluster through its backend. Endpoints go first (Terraform orders that
// when they reference the cluster); a cluster that still runs endpoints is refused, naming them.
func (r *inferenceClusterResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state inferenceClusterResourceModel
	_, diags := r.get(ctx, req.State, &state)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	summary := fmt.Sprintf("deleting inference cluster (%s)", state.Name.ValueString())
	b, _ := r.clusterTarget(state.ID.ValueString(), summary, &resp.Diagnostics)
	if b == nil {
		return
	}
	ctx, cancel := withTimeout(ctx, state.Timeouts.Delete, clusterDeleteTimeout, &resp.Diagnostics)
	defer cancel()
	tflog.Info(ctx, "deleting inference cluster", map[string]any{"name": state.Name.ValueString(), "backend": b.Name()})
	warnings, err := b.DeleteCluster(ctx, state.ID.ValueString())
	for _, w := range warnings {
		resp.Diagnostics.AddWarning(summary, w)
	}
	if err != nil {
		resp.Diagnostics.AddError(summary, err.Error())
	}
}

// ImportState takes the cluster's id (an on-prem id describes the hosts; an AWS cluster also
// imports by `<region>/<name>` or `<name>`); the read fills in the backend's block.
func (r *inferenceClusterResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	summary := fmt.Sprintf("importing inference cluster (%s)", req.ID)
	reg := r.data.registry(summary, &resp.Diagnostics)
	if reg == nil {
		return
	}
	id, err := importClusterID(ctx, reg, req.ID)
	if err != nil {
		resp.Diagnostics.AddError(summary, err.Error())
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), id)...)
}

// importClusterID asks the backend the ID's prefix names, else each backend in turn, to turn an
// import ID into a cluster ID.
func importClusterID(ctx context.Context, reg *backend.Registry, importID string) (string, error) {
	if b, err := reg.ForClusterID(importID); err == nil {
		return b.ImportClusterID(ctx, importID)
	}
	var errs []string
	for _, n := range reg.Names() {
		b, _ := reg.ByName(n)
		id, err := b.ImportClusterID(ctx, importID)
		if err == nil {
			return id, nil
		}
		errs = append(errs, n+": "+err.Error())
	}
	return "", fmt.Errorf("%q is not the id of an inferstack_inference_cluster of any backend (%s)", importID, strings.Join(errs, "; "))
}

// clusterNameValidator checks a cluster's name at plan time (the rule every backend shares).
type clusterNameValidator struct{}

func (clusterNameValidator) Description(context.Context) string {
	return "1 to 63 lower-case letters, digits and '-', starting and ending with a letter or digit"
}

func (v clusterNameValidator) MarkdownDescription(ctx context.Context) string {
	return v.Description(ctx)
}

func (clusterNameValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if err := onprem.ValidateClusterName(req.ConfigValue.ValueString()); err != nil {
		resp.Diagnostics.AddAttributeError(req.Path, "invalid cluster name", err.Error())
	}
}
