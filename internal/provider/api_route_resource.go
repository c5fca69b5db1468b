package provider

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/inferstack/terraform-provider-inferstack/internal/gateway"
)

var (
	_ resource.Resource                   = &apiRouteResource{}
	_ resource.ResourceWithConfigure      = &apiRouteResource{}
	_ resource.ResourceWithValidateConfig = &apiRouteResource{}
	_ resource.ResourceWithModifyPlan     = &apiRouteResource{}
	_ resource.ResourceWithImportState    = &apiRouteResource{}
)

// Default timeouts of inferstack_api_route. A LiteLLM proxy serves a new model from its in-memory
// router: the instance that took the create at once, the others at their next database poll.
const (
	apiRouteCreateTimeout = 10 * time.Minute
	apiRouteUpdateTimeout = 10 * time.Minute
	apiRouteDeleteTimeout = 5 * time.Minute
	apiRoutePollInterval  = 2 * time.Second
)

func newAPIRouteResource() resource.Resource { return &apiRouteResource{} }

type apiRouteResource struct {
	data *providerData
}

func (r *apiRouteResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_api_route"
}

func (r *apiRouteResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = configuredData(req.ProviderData, &resp.Diagnostics)
}

// ValidateConfig reports at plan time, on its attribute, everything gateway.Route.Validate finds:
// both or neither of self_hosted and external, a missing key, an unknown provider, bad URLs, a
// route that falls back to itself, and so on. Values not known yet are left for apply.
func (r *apiRouteResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var m apiRouteResourceModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if !m.EndpointID.IsNull() {
		if !m.SelfHosted.IsNull() || !m.External.IsNull() {
			resp.Diagnostics.AddAttributeError(path.Root("endpoint_id"), "conflicting targets",
				"Set exactly one of endpoint_id, self_hosted and external: endpoint_id takes the URLs, served model name "+
					"and API key from the inferstack_model_endpoint, so remove self_hosted or external.")
			return
		}
		if !m.EndpointID.IsUnknown() {
			if err := checkEndpointID(m.EndpointID.ValueString()); err != nil {
				resp.Diagnostics.AddAttributeError(path.Root("endpoint_id"), "invalid endpoint_id", err.Error())
				return
			}
		}
	}
	route, unknown := expandAPIRoute(ctx, m, m, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	unknown = append(unknown, "id") // chosen at create
	addRouteProblems(&resp.Diagnostics, path.Empty(), route.Validate(unknown...), true)
}

// ModifyPlan fills in deployment_ids when the route exists and its URLs are known: they follow
// from the id and the number of URLs. With endpoint_id it plans the resolved values (see
// planResolved).
func (r *apiRouteResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		return
	}
	var plan apiRouteResourceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	r.planResolved(ctx, req, resp, &plan)
	if resp.Diagnostics.HasError() || plan.ID.IsUnknown() || plan.ID.IsNull() {
		return
	}
	if n, ok := plannedDeployments(ctx, plan); ok {
		resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("deployment_ids"), deploymentIDs(plan.ID.ValueString(), n))...)
	}
}

// Create registers the route's deployments and fallbacks, then waits until the gateway serves
// the route. The id is in state before anything is created: a failure part way leaves a tainted
// route that the next apply replaces (and removes), never an orphan in the gateway.
func (r *apiRouteResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan, config apiRouteResourceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.Config.Get(ctx, &config)...)
	if resp.Diagnostics.HasError() {
		return
	}
	name := plan.Name.ValueString()
	summary := fmt.Sprintf("creating API route (%s)", name)
	ctx, cancel := withTimeout(ctx, plan.Timeouts.Create, apiRouteCreateTimeout, &resp.Diagnostics)
	defer cancel()
	gw, err := r.data.GatewayClient()
	if err != nil {
		resp.Diagnostics.AddError(summary, err.Error())
		return
	}
	route, _ := expandAPIRoute(ctx, plan, config, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	if !r.resolveTarget(ctx, &plan, &route, resp.Private, summary, &resp.Diagnostics) {
		return
	}
	route.ID, err = newRouteID(name)
	if err != nil {
		resp.Diagnostics.AddError(summary, err.Error())
		return
	}
	// Values unknown at plan time are known now.
	if ps := route.Validate(); len(ps) > 0 {
		addRouteProblems(&resp.Diagnostics, path.Empty(), ps, true)
		return
	}

	plan.ID = types.StringValue(route.ID)
	plan.DeploymentIDs = deploymentIDs(route.ID, len(route.Deployments()))
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}

	tflog.Info(ctx, "creating API route", map[string]any{"id": route.ID, "name": name, "deployments": len(route.Deployments()), "fallbacks": route.Fallbacks})
	if err := gateway.CreateRoute(ctx, gw, route); err != nil {
		resp.Diagnostics.AddError(fmt.Sprintf("creating API route (%s)", route.ID), err.Error())
		return
	}
	if _, err := gateway.WaitRoute(ctx, gw, route.ID, apiRoutePollInterval); err != nil {
		resp.Diagnostics.AddError(fmt.Sprintf("waiting for API route (%s) to be served", route.ID), err.Error())
		return
	}
	tflog.Info(ctx, "created API route", map[string]any{"id": route.ID})
}

// Read refreshes the route from the gateway. Secrets cannot be read back and are kept from
// state; a route that is gone is removed from state with a warning, so the next plan creates it.
// With endpoint_id it also asks the endpoint's hosts where its replicas are now, for the plan to
// compare with what the gateway holds.
func (r *apiRouteResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state apiRouteResourceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	id := state.ID.ValueString()
	gw, err := r.data.GatewayClient()
	if err != nil {
		resp.Diagnostics.AddError(fmt.Sprintf("reading API route (%s)", id), err.Error())
		return
	}
	got, err := gateway.ReadRoute(ctx, gw, id)
	if gateway.IsNotFound(err) {
		resp.Diagnostics.AddWarning(fmt.Sprintf("API route (%s) is gone", id),
			"The gateway no longer has the route's deployment: it was deleted outside Terraform. It is removed from "+
				"state, and the next plan creates it again.")
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		resp.Diagnostics.AddError(fmt.Sprintf("reading API route (%s)", id), err.Error())
		return
	}
	flattenAPIRoute(ctx, *got, &state, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	if !state.EndpointID.IsNull() {
		r.readEndpointTarget(ctx, state.EndpointID.ValueString(), resp)
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

// Update changes the route in place: LiteLLM updates deployments by id and renames them, so
// every argument, the name included, changes without a replacement. Deployments for added URLs
// are created, those of removed URLs deleted; keys are sent again with every update.
func (r *apiRouteResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state, config apiRouteResourceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	resp.Diagnostics.Append(req.Config.Get(ctx, &config)...)
	if resp.Diagnostics.HasError() {
		return
	}
	id := state.ID.ValueString()
	summary := fmt.Sprintf("updating API route (%s)", id)
	ctx, cancel := withTimeout(ctx, plan.Timeouts.Update, apiRouteUpdateTimeout, &resp.Diagnostics)
	defer cancel()
	gw, err := r.data.GatewayClient()
	if err != nil {
		resp.Diagnostics.AddError(summary, err.Error())
		return
	}
	prior, _ := expandAPIRoute(ctx, state, state, &resp.Diagnostics)
	desired, _ := expandAPIRoute(ctx, plan, config, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	if !r.resolveTarget(ctx, &plan, &desired, resp.Private, summary, &resp.Diagnostics) {
		return
	}
	prior.ID, desired.ID = id, id
	if ps := desired.Validate(); len(ps) > 0 {
		addRouteProblems(&resp.Diagnostics, path.Empty(), ps, true)
		return
	}

	tflog.Info(ctx, "updating API route", map[string]any{"id": id, "name": desired.ModelName, "deployments": len(desired.Deployments())})
	if err := gateway.UpdateRoute(ctx, gw, prior, desired); err != nil {
		// Keep the prior state: the next plan shows the same change again, and updates are
		// idempotent.
		resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
		resp.Diagnostics.AddError(summary, err.Error())
		return
	}
	plan.ID = state.ID
	plan.DeploymentIDs = deploymentIDs(id, len(desired.Deployments()))
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

// Delete removes the route's fallbacks and deployments, then waits until the gateway no longer
// serves it. A route that is already gone is not an error.
func (r *apiRouteResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state apiRouteResourceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	id := state.ID.ValueString()
	summary := fmt.Sprintf("deleting API route (%s)", id)
	ctx, cancel := withTimeout(ctx, state.Timeouts.Delete, apiRouteDeleteTimeout, &resp.Diagnostics)
	defer cancel()
	gw, err := r.data.GatewayClient()
	if err != nil {
		resp.Diagnostics.AddError(summary, err.Error())
		return
	}
	route, _ := expandAPIRoute(ctx, state, state, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	route.ID = id
	tflog.Info(ctx, "deleting API route", map[string]any{"id": id, "name": route.ModelName})
	if err := gateway.DeleteRoute(ctx, gw, route); err != nil {
		resp.Diagnostics.AddError(summary, err.Error())
		return
	}
	if err := gateway.WaitRouteGone(ctx, gw, id, apiRoutePollInterval); err != nil {
		resp.Diagnostics.AddError(fmt.Sprintf("waiting for API route (%s) to be withdrawn", id), err.Error())
	}
}

// ImportState takes a route id (see the id attribute, or model_info.id of the route's first
// deployment in LiteLLM). Keys cannot be read back from the gateway: set them in the
// configuration after import; the next apply sends them again.
func (r *apiRouteResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	resource.ImportStatePassthroughID(ctx, path.Root("id"), req, resp)
}
