package provider

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/inferstack/terraform-provider-inferstack/internal/backend"
	awsbackend "github.com/inferstack/terraform-provider-inferstack/internal/backend/aws"
	"github.com/inferstack/terraform-provider-inferstack/internal/backend/onprem"
	"github.com/inferstack/terraform-provider-inferstack/internal/gateway"
)

var (
	_ resource.Resource                   = &apiRouteResource{}
	_ resource.ResourceWithConfigure      = &apiRouteResource{}
	_ resource.ResourceWithValidateConfig = &apiRouteResource{}
	_ resource.ResourceWithModifyPlan     = &apiRouteResource{}
	_ resource.ResourceWithImportState    = &apiRouteResource{}
)

// Waits of inferstack_api_route. A LiteLLM proxy serves a new model from its in-memory router:
// the instance that took the create at once, the others at their next database poll.
const (
	apiRouteServeTimeout = 10 * time.Minute
	apiRouteGoneTimeout  = 5 * time.Minute
	apiRoutePollInterval = 2 * time.Second
)

func newAPIRouteResource() resource.Resource { return &apiRouteResource{} }

type apiRouteResource struct {
	data *providerData
}

func (r *apiRouteResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_api_route"
}

func (r *apiRouteResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "One model name in the LiteLLM gateway (the `gateway` block of the provider), pointing at " +
			"self-hosted vLLM replicas or at a closed API (OpenAI, Anthropic, Azure OpenAI, Bedrock). Each vLLM URL " +
			"becomes one LiteLLM deployment under the same model name, so LiteLLM balances across the replicas; " +
			"`fallbacks` puts other model names (for example a closed API's route) behind this one.\n\n" +
			"The route is registered through LiteLLM's model API, which needs a proxy with a database and " +
			"`STORE_MODEL_IN_DB=True`. For a proxy run from a config file, render the same routes with the " +
			"`inferstack_litellm_config` data source instead.\n\n" +
			"A route has exactly one target: `endpoint_id` (an `inferstack_model_endpoint`, whose URLs, served model " +
			"name and API key the provider looks up itself), `self_hosted` (the URLs of vLLM servers that already run) " +
			"or `external` (a closed API).",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				Computed: true,
				MarkdownDescription: "The route's id, chosen at create: the model name as a slug and a random suffix " +
					"(e.g. `chat-default-3f9a1c2b`). It is `model_info.id` of the route's first deployment in LiteLLM " +
					"and never changes, even when `name` does.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"name": schema.StringAttribute{
				Required: true,
				MarkdownDescription: "The model name clients send as `model`, e.g. `chat-default`. Several routes may share " +
					"a name (LiteLLM balances across all of their deployments, by `weight`). Changing it renames the " +
					"route in place.",
			},
			"endpoint_id": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "The `id` of the `inferstack_model_endpoint` that serves this model, e.g. " +
					"`inferstack_model_endpoint.qwen.id`. Set exactly one of `endpoint_id`, `self_hosted` and `external`. " +
					"At apply and at refresh the provider asks the endpoint's hosts over SSH (with the provider's `onprem` " +
					"key) for every replica's URL, ready or not (one LiteLLM deployment each, `hosted_vllm/<served model " +
					"name>`), the served model name and the API key, which it reads from the endpoint's root-only secret " +
					"file and sends to the gateway without storing it in this route's state. The apply fails while the " +
					"endpoint has no ready replica. When the endpoint's replicas move or its served name or key change, the " +
					"route is updated in place (in the same apply when the change comes from the endpoint's own " +
					"configuration; after a refresh otherwise). Referring to the endpoint makes Terraform create the route " +
					"after the endpoint and withdraw it before the endpoint is destroyed.",
			},
			"self_hosted": schema.SingleNestedAttribute{
				Optional: true,
				MarkdownDescription: "Self-hosted vLLM servers that serve this model, given by URL. Set exactly one of " +
					"`endpoint_id`, `self_hosted` and `external`. LiteLLM calls them as `hosted_vllm/<served_model_name>`.",
				Attributes: map[string]schema.Attribute{
					"urls": schema.ListAttribute{
						ElementType: types.StringType,
						Required:    true,
						MarkdownDescription: "OpenAI-compatible base URLs of the vLLM replicas, each ending in `/v1`, e.g. " +
							"`http://10.0.0.11:8000/v1`. Each becomes one LiteLLM deployment (see `deployment_ids`); " +
							"adding or removing a URL adds or removes a deployment in place.",
						Validators: []validator.List{listvalidator.SizeAtLeast(1)},
					},
					"served_model_name": schema.StringAttribute{
						Required: true,
						MarkdownDescription: "The name vLLM serves the model under: its `--served-model-name`, or the Hugging " +
							"Face repository id (e.g. `meta-llama/Llama-3.1-8B-Instruct`) when that flag is not set.",
					},
					"api_key": apiKeyAttribute("vLLM's API key (its `--api-key`). inferstack endpoints always run with one; for " +
						"a vLLM server started without `--api-key`, any value works."),
					"api_key_wo":         apiKeyWOAttribute(),
					"api_key_wo_version": apiKeyWOVersionAttribute(),
				},
			},
			"external": schema.SingleNestedAttribute{
				Optional: true,
				MarkdownDescription: "A closed API that serves this model. Set exactly one of `endpoint_id`, " +
					"`self_hosted` and `external`.",
				Attributes: map[string]schema.Attribute{
					"provider": schema.StringAttribute{
						Required:            true,
						MarkdownDescription: "The API: `openai`, `anthropic`, `azure_openai` or `bedrock`.",
					},
					"model": schema.StringAttribute{
						Required: true,
						MarkdownDescription: "The provider's own model id, without LiteLLM's prefix: `gpt-4o`, " +
							"`claude-sonnet-4-5-20250929`, the Azure OpenAI deployment name, or the Bedrock model id " +
							"(`anthropic.claude-3-5-sonnet-20240620-v1:0`).",
					},
					"api_key": apiKeyAttribute("The provider's API key (`openai`, `anthropic`, `azure_openai`; not `bedrock`). " +
						"`os.environ/NAME` makes the proxy read it from its own environment instead."),
					"api_key_wo":         apiKeyWOAttribute(),
					"api_key_wo_version": apiKeyWOVersionAttribute(),
					"api_base": schema.StringAttribute{
						Optional: true,
						MarkdownDescription: "The API's base URL. Required for `azure_openai` (the resource's endpoint, " +
							"`https://my-resource.openai.azure.com`); optional for `openai` and `anthropic` (a proxy or a " +
							"compatible API); not for `bedrock`.",
					},
					"api_version": schema.StringAttribute{
						Optional:            true,
						MarkdownDescription: "Azure OpenAI API version, e.g. `2024-10-21` (`azure_openai` only, required there).",
					},
					"organization": schema.StringAttribute{
						Optional:            true,
						MarkdownDescription: "OpenAI organization id (`openai` only).",
					},
					"aws_region": schema.StringAttribute{
						Optional:            true,
						MarkdownDescription: "AWS region of Bedrock, e.g. `us-east-1` (`bedrock` only, required there).",
					},
					"aws_access_key_id": schema.StringAttribute{
						Optional:  true,
						Sensitive: true,
						MarkdownDescription: "Static AWS access key id for Bedrock, set together with `aws_secret_access_key`. " +
							"Without them the proxy uses its own AWS credentials (instance role, environment), which is " +
							"preferable.",
					},
					"aws_secret_access_key": schema.StringAttribute{
						Optional:            true,
						Sensitive:           true,
						MarkdownDescription: "Static AWS secret access key for Bedrock, set together with `aws_access_key_id`.",
					},
					"aws_session_token": schema.StringAttribute{
						Optional:            true,
						Sensitive:           true,
						MarkdownDescription: "AWS session token that goes with temporary static credentials (Bedrock).",
					},
				},
			},
			"weight": schema.Int64Attribute{
				Optional: true,
				MarkdownDescription: "Share of traffic among deployments of the same model name under LiteLLM's " +
					"`simple-shuffle` routing, e.g. 3 against another route's 1. Unset: LiteLLM's default (equal shares).",
				Validators: []validator.Int64{int64validator.AtLeast(1)},
			},
			"order": schema.Int64Attribute{
				Optional: true,
				MarkdownDescription: "Priority tier among deployments of the same model name: LiteLLM tries order 1 " +
					"first, then 2, then the model's `fallbacks`.",
				Validators: []validator.Int64{int64validator.AtLeast(1)},
			},
			"tags": schema.ListAttribute{
				ElementType: types.StringType,
				Optional:    true,
				MarkdownDescription: "LiteLLM tag-routing tags of the route's deployments (with " +
					"`enable_tag_filtering` in the proxy's router settings).",
			},
			"fallbacks": schema.ListAttribute{
				ElementType: types.StringType,
				Optional:    true,
				MarkdownDescription: "Model names LiteLLM tries, in order, when this model name fails after its retries, " +
					"e.g. `[inferstack_api_route.gpt4o.name]`. They must be model names the proxy serves (LiteLLM " +
					"checks at apply). Fallbacks belong to the model name, not to a deployment: when routes share a " +
					"name, set them on one of them only.",
			},
			"rpm": schema.Int64Attribute{
				Optional:            true,
				MarkdownDescription: "Requests per minute each deployment of the route may take (LiteLLM's `rpm`).",
				Validators:          []validator.Int64{int64validator.AtLeast(1)},
			},
			"tpm": schema.Int64Attribute{
				Optional:            true,
				MarkdownDescription: "Tokens per minute each deployment of the route may take (LiteLLM's `tpm`).",
				Validators:          []validator.Int64{int64validator.AtLeast(1)},
			},
			"timeout_seconds": schema.Int64Attribute{
				Optional: true,
				MarkdownDescription: "Timeout of one call to the target, in seconds (LiteLLM's `timeout`). Long " +
					"generations on self-hosted models may need several minutes. Unset: LiteLLM's default.",
				Validators: []validator.Int64{int64validator.AtLeast(1)},
			},
			"mode": schema.StringAttribute{
				Optional: true,
				Computed: true,
				Default:  stringdefault.StaticString(gateway.DefaultMode),
				MarkdownDescription: "What the model does, for LiteLLM's health checks and cost map (`model_info.mode`): " +
					"`" + strings.Join(gateway.Modes, "`, `") + "`. Defaults to `" + gateway.DefaultMode + "`.",
			},
			"base_model": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "LiteLLM's cost-map key for the model (`model_info.base_model`), for spend " +
					"tracking, e.g. the Hugging Face repository id of a self-hosted model.",
			},
			"resolved_urls": schema.ListAttribute{
				ElementType: types.StringType,
				Computed:    true,
				MarkdownDescription: "With `endpoint_id`: the endpoint's replica URLs the gateway's deployments point at, " +
					"one per entry of `deployment_ids`. Null for the other targets.",
			},
			"resolved_served_model_name": schema.StringAttribute{
				Computed: true,
				MarkdownDescription: "With `endpoint_id`: the endpoint's served model name the gateway calls " +
					"(`hosted_vllm/<this>`). Null for the other targets.",
			},
			"deployment_ids": schema.ListAttribute{
				ElementType: types.StringType,
				Computed:    true,
				MarkdownDescription: "The LiteLLM deployment ids (`model_info.id`) of the route: `id` for the first URL, " +
					"`<id>~1`, `<id>~2`, ... for the others; one for an external route.",
			},
		},
	}
}

func apiKeyAttribute(what string) schema.StringAttribute {
	return schema.StringAttribute{
		Optional:  true,
		Sensitive: true,
		MarkdownDescription: what + " Sensitive: it is kept in state, never shown or logged. On Terraform or OpenTofu " +
			"1.11 and later prefer `api_key_wo`, which keeps it out of state. Set one of `api_key` and `api_key_wo`. " +
			"LiteLLM never gives a key back, so a key changed in the proxy behind Terraform's back is not detected.",
		Validators: []validator.String{
			stringvalidator.ConflictsWith(path.MatchRelative().AtParent().AtName("api_key_wo")),
		},
	}
}

func apiKeyWOAttribute() schema.StringAttribute {
	return schema.StringAttribute{
		Optional:  true,
		Sensitive: true,
		WriteOnly: true,
		MarkdownDescription: "Write-only twin of `api_key`: sent to the gateway, never stored in state or plan. Needs " +
			"Terraform or OpenTofu 1.11 or later. Set `api_key_wo_version` with it, and change that number to send a " +
			"new key (a change of this value alone is not seen by Terraform).",
		Validators: []validator.String{
			stringvalidator.ConflictsWith(path.MatchRelative().AtParent().AtName("api_key")),
			stringvalidator.AlsoRequires(path.MatchRelative().AtParent().AtName("api_key_wo_version")),
		},
	}
}

func apiKeyWOVersionAttribute() schema.Int64Attribute {
	return schema.Int64Attribute{
		Optional: true,
		MarkdownDescription: "Any number that you change whenever `api_key_wo` changes: a change updates the route " +
			"in place and sends the key again.",
		Validators: []validator.Int64{
			int64validator.AlsoRequires(path.MatchRelative().AtParent().AtName("api_key_wo")),
		},
	}
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
	addRouteProblems(&resp.Diagnostics, path.Empty(), "", route.Validate(unknown...), true)
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
		addRouteProblems(&resp.Diagnostics, path.Empty(), "", ps, true)
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
	waitCtx, cancel := context.WithTimeout(ctx, apiRouteServeTimeout)
	defer cancel()
	if _, err := gateway.WaitRoute(waitCtx, gw, route.ID, apiRoutePollInterval); err != nil {
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
		addRouteProblems(&resp.Diagnostics, path.Empty(), "", ps, true)
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
	waitCtx, cancel := context.WithTimeout(ctx, apiRouteGoneTimeout)
	defer cancel()
	if err := waitRouteGone(waitCtx, gw, id); err != nil {
		resp.Diagnostics.AddError(fmt.Sprintf("waiting for API route (%s) to be withdrawn", id), err.Error())
	}
}

// ImportState takes a route id (see the id attribute, or model_info.id of the route's first
// deployment in LiteLLM). Keys cannot be read back from the gateway: set them in the
// configuration after import; the next apply sends them again.
func (r *apiRouteResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	resource.ImportStatePassthroughID(ctx, path.Root("id"), req, resp)
}

// waitRouteGone polls the gateway until route id is no longer served.
func waitRouteGone(ctx context.Context, gw gateway.Gateway, id string) error {
	for {
		_, err := gateway.ReadRoute(ctx, gw, id)
		switch {
		case gateway.IsNotFound(err):
			return nil
		case err != nil && ctx.Err() == nil:
			return err
		}
		t := time.NewTimer(apiRoutePollInterval)
		select {
		case <-ctx.Done():
			t.Stop()
			if err == nil {
				err = errors.New("the gateway still serves it")
			}
			return fmt.Errorf("%w (last: %w)", ctx.Err(), err)
		case <-t.C:
		}
	}
}

type apiRouteResourceModel struct {
	ID             types.String `tfsdk:"id"`
	Name           types.String `tfsdk:"name"`
	EndpointID     types.String `tfsdk:"endpoint_id"`
	SelfHosted     types.Object `tfsdk:"self_hosted"`
	External       types.Object `tfsdk:"external"`
	Weight         types.Int64  `tfsdk:"weight"`
	Order          types.Int64  `tfsdk:"order"`
	Tags           types.List   `tfsdk:"tags"`
	Fallbacks      types.List   `tfsdk:"fallbacks"`
	RPM            types.Int64  `tfsdk:"rpm"`
	TPM            types.Int64  `tfsdk:"tpm"`
	TimeoutSeconds types.Int64  `tfsdk:"timeout_seconds"`
	Mode           types.String `tfsdk:"mode"`
	BaseModel      types.String `tfsdk:"base_model"`
	DeploymentIDs  types.List   `tfsdk:"deployment_ids"`

	ResolvedURLs            types.List   `tfsdk:"resolved_urls"`
	ResolvedServedModelName types.String `tfsdk:"resolved_served_model_name"`
}

func (m apiRouteResourceModel) common() routeCommon {
	return routeCommon{Name: m.Name, Weight: m.Weight, Order: m.Order, RPM: m.RPM, TPM: m.TPM,
		TimeoutSeconds: m.TimeoutSeconds, Tags: m.Tags, Fallbacks: m.Fallbacks, Mode: m.Mode, BaseModel: m.BaseModel}
}

type apiRouteSelfHostedModel struct {
	URLs            types.List   `tfsdk:"urls"`
	ServedModelName types.String `tfsdk:"served_model_name"`
	APIKey          types.String `tfsdk:"api_key"`
	APIKeyWO        types.String `tfsdk:"api_key_wo"`
	APIKeyWOVersion types.Int64  `tfsdk:"api_key_wo_version"`
}

func (apiRouteSelfHostedModel) attrTypes() map[string]attr.Type {
	return map[string]attr.Type{
		"urls":               types.ListType{ElemType: types.StringType},
		"served_model_name":  types.StringType,
		"api_key":            types.StringType,
		"api_key_wo":         types.StringType,
		"api_key_wo_version": types.Int64Type,
	}
}

type apiRouteExternalModel struct {
	Provider           types.String `tfsdk:"provider"`
	Model              types.String `tfsdk:"model"`
	APIKey             types.String `tfsdk:"api_key"`
	APIKeyWO           types.String `tfsdk:"api_key_wo"`
	APIKeyWOVersion    types.Int64  `tfsdk:"api_key_wo_version"`
	APIBase            types.String `tfsdk:"api_base"`
	APIVersion         types.String `tfsdk:"api_version"`
	Organization       types.String `tfsdk:"organization"`
	AWSRegion          types.String `tfsdk:"aws_region"`
	AWSAccessKeyID     types.String `tfsdk:"aws_access_key_id"`
	AWSSecretAccessKey types.String `tfsdk:"aws_secret_access_key"`
	AWSSessionToken    types.String `tfsdk:"aws_session_token"`
}

func (apiRouteExternalModel) attrTypes() map[string]attr.Type {
	return map[string]attr.Type{
		"provider":              types.StringType,
		"model":                 types.StringType,
		"api_key":               types.StringType,
		"api_key_wo":            types.StringType,
		"api_key_wo_version":    types.Int64Type,
		"api_base":              types.StringType,
		"api_version":           types.StringType,
		"organization":          types.StringType,
		"aws_region":            types.StringType,
		"aws_access_key_id":     types.StringType,
		"aws_secret_access_key": types.StringType,
		"aws_session_token":     types.StringType,
	}
}

// expandAPIRoute builds the gateway route (without its id) from m, a plan, a state or a
// configuration; the write-only keys come from config, the only place they exist. It also
// returns the attributes whose values are not known yet, as gateway.Route.Validate names them.
func expandAPIRoute(ctx context.Context, m, config apiRouteResourceModel, diags *diag.Diagnostics) (gateway.Route, []string) {
	var route gateway.Route
	unknown := m.common().expand(&route)

	// With endpoint_id the self-hosted target is looked up at apply (resolveTarget); a state
	// holds what the gateway was given.
	if !m.EndpointID.IsNull() {
		urls, ok := knownStrings(m.ResolvedURLs)
		if ok && !m.ResolvedURLs.IsNull() && !m.ResolvedServedModelName.IsUnknown() {
			route.SelfHosted = &gateway.SelfHosted{APIBases: urls, ServedModel: m.ResolvedServedModelName.ValueString()}
		} else {
			unknown = append(unknown, "self_hosted")
		}
	}

	switch {
	case m.SelfHosted.IsUnknown():
		unknown = append(unknown, "self_hosted")
	case !m.SelfHosted.IsNull():
		var s apiRouteSelfHostedModel
		diags.Append(m.SelfHosted.As(ctx, &s, basetypes.ObjectAsOptions{})...)
		var c apiRouteSelfHostedModel
		if !config.SelfHosted.IsNull() && !config.SelfHosted.IsUnknown() {
			diags.Append(config.SelfHosted.As(ctx, &c, basetypes.ObjectAsOptions{})...)
		}
		urls, ok := knownStrings(s.URLs)
		if !ok {
			unknown = append(unknown, "self_hosted.api_bases")
		}
		if s.ServedModelName.IsUnknown() {
			unknown = append(unknown, "self_hosted.served_model_name")
		}
		key, keyUnknown := firstKnown(s.APIKey, c.APIKeyWO)
		if keyUnknown {
			unknown = append(unknown, "self_hosted.api_key")
		}
		route.SelfHosted = &gateway.SelfHosted{APIBases: urls, ServedModel: s.ServedModelName.ValueString(), APIKey: key}
	}

	switch {
	case m.External.IsUnknown():
		unknown = append(unknown, "external")
	case !m.External.IsNull():
		var e apiRouteExternalModel
		diags.Append(m.External.As(ctx, &e, basetypes.ObjectAsOptions{})...)
		var c apiRouteExternalModel
		if !config.External.IsNull() && !config.External.IsUnknown() {
			diags.Append(config.External.As(ctx, &c, basetypes.ObjectAsOptions{})...)
		}
		key, keyUnknown := firstKnown(e.APIKey, c.APIKeyWO)
		for name, v := range map[string]types.String{
			"provider": e.Provider, "model": e.Model, "api_base": e.APIBase, "api_version": e.APIVersion,
			"aws_region": e.AWSRegion, "aws_access_key_id": e.AWSAccessKeyID, "aws_secret_access_key": e.AWSSecretAccessKey,
		} {
			if v.IsUnknown() {
				unknown = append(unknown, "external."+name)
			}
		}
		if keyUnknown {
			unknown = append(unknown, "external.api_key")
		}
		route.External = &gateway.External{
			Provider:           gateway.Provider(e.Provider.ValueString()),
			Model:              e.Model.ValueString(),
			APIKey:             key,
			APIBase:            e.APIBase.ValueString(),
			APIVersion:         e.APIVersion.ValueString(),
			Organization:       e.Organization.ValueString(),
			AWSRegion:          e.AWSRegion.ValueString(),
			AWSAccessKeyID:     e.AWSAccessKeyID.ValueString(),
			AWSSecretAccessKey: e.AWSSecretAccessKey.ValueString(),
			AWSSessionToken:    e.AWSSessionToken.ValueString(),
		}
	}
	return route, unknown
}

// plannedDeployments is how many deployments the planned route has, if that is known yet.
func plannedDeployments(ctx context.Context, m apiRouteResourceModel) (int, bool) {
	switch {
	case m.EndpointID.IsUnknown():
		return 0, false
	case !m.EndpointID.IsNull():
		urls, ok := knownStrings(m.ResolvedURLs)
		return len(urls), ok && !m.ResolvedURLs.IsNull()
	case m.SelfHosted.IsUnknown() || m.External.IsUnknown():
		return 0, false
	case !m.SelfHosted.IsNull():
		var s apiRouteSelfHostedModel
		if d := m.SelfHosted.As(ctx, &s, basetypes.ObjectAsOptions{UnhandledUnknownAsEmpty: true}); d.HasError() {
			return 0, false
		}
		urls, ok := knownStrings(s.URLs)
		return len(urls), ok
	case !m.External.IsNull():
		return 1, true
	}
	return 0, false
}

// flattenAPIRoute writes route r, as read back from the gateway, over m (the prior state).
// Secrets and api_key_wo_version cannot be read back and are kept from m.
func flattenAPIRoute(ctx context.Context, r gateway.Route, m *apiRouteResourceModel, diags *diag.Diagnostics) {
	m.Name = types.StringValue(r.ModelName)
	m.Weight = flattenInt64(r.Weight)
	m.Order = flattenInt64(r.Order)
	m.RPM = flattenInt64(r.RPM)
	m.TPM = flattenInt64(r.TPM)
	m.TimeoutSeconds = flattenInt64(int64(r.Timeout / time.Second))
	m.Tags = flattenStrings(ctx, m.Tags, r.Tags, diags)
	m.Fallbacks = flattenStrings(ctx, m.Fallbacks, r.Fallbacks, diags)
	m.Mode = types.StringValue(r.Mode)
	if r.Mode == "" {
		m.Mode = types.StringValue(gateway.DefaultMode)
	}
	m.BaseModel = flattenString(m.BaseModel, r.BaseModel)

	var priorSelf apiRouteSelfHostedModel
	if !m.SelfHosted.IsNull() && !m.SelfHosted.IsUnknown() {
		diags.Append(m.SelfHosted.As(ctx, &priorSelf, basetypes.ObjectAsOptions{})...)
	}
	var priorExt apiRouteExternalModel
	if !m.External.IsNull() && !m.External.IsUnknown() {
		diags.Append(m.External.As(ctx, &priorExt, basetypes.ObjectAsOptions{})...)
	}

	m.SelfHosted = types.ObjectNull(apiRouteSelfHostedModel{}.attrTypes())
	m.ResolvedURLs, m.ResolvedServedModelName = types.ListNull(types.StringType), types.StringNull()
	if s := r.SelfHosted; s != nil && !m.EndpointID.IsNull() {
		// What the gateway holds of the endpoint; the plan compares it with the endpoint.
		urls, d := types.ListValueFrom(ctx, types.StringType, s.APIBases)
		diags.Append(d...)
		m.ResolvedURLs, m.ResolvedServedModelName = urls, types.StringValue(s.ServedModel)
	} else if s != nil {
		urls, d := types.ListValueFrom(ctx, types.StringType, s.APIBases)
		diags.Append(d...)
		obj, d := types.ObjectValueFrom(ctx, apiRouteSelfHostedModel{}.attrTypes(), apiRouteSelfHostedModel{
			URLs:            urls,
			ServedModelName: types.StringValue(s.ServedModel),
			APIKey:          knownOrNull(priorSelf.APIKey),
			APIKeyWO:        types.StringNull(),
			APIKeyWOVersion: priorSelf.APIKeyWOVersion,
		})
		diags.Append(d...)
		m.SelfHosted = obj
	}

	m.External = types.ObjectNull(apiRouteExternalModel{}.attrTypes())
	if e := r.External; e != nil {
		ext := apiRouteExternalModel{
			Provider:           flattenString(priorExt.Provider, string(e.Provider)),
			Model:              types.StringValue(e.Model),
			APIKey:             knownOrNull(priorExt.APIKey),
			APIKeyWO:           types.StringNull(),
			APIKeyWOVersion:    priorExt.APIKeyWOVersion,
			APIBase:            flattenString(priorExt.APIBase, e.APIBase),
			APIVersion:         flattenString(priorExt.APIVersion, e.APIVersion),
			Organization:       flattenString(priorExt.Organization, e.Organization),
			AWSRegion:          flattenString(priorExt.AWSRegion, e.AWSRegion),
			AWSAccessKeyID:     knownOrNull(priorExt.AWSAccessKeyID),
			AWSSecretAccessKey: knownOrNull(priorExt.AWSSecretAccessKey),
			AWSSessionToken:    knownOrNull(priorExt.AWSSessionToken),
		}
		obj, d := types.ObjectValueFrom(ctx, apiRouteExternalModel{}.attrTypes(), ext)
		diags.Append(d...)
		m.External = obj
	}

	n := 0
	if r.SelfHosted != nil {
		n = len(r.SelfHosted.APIBases)
	} else if r.External != nil {
		n = 1
	}
	m.DeploymentIDs = deploymentIDs(m.ID.ValueString(), n)
}

// endpointTargetKey is the private-state key under which a route with endpoint_id keeps what it
// last saw of the endpoint (URLs and served model name, never the key), for the plan to compare
// with what the gateway holds.
const endpointTargetKey = "endpoint_target"

type endpointTargetSeen struct {
	URLs            []string `json:"urls"`
	ServedModelName string   `json:"served_model_name"`
}

// endpointKeyHashKey is the private-state key of a salted SHA-256 of the API key the gateway was
// last given (never the key): the plan compares it with the endpoint's key to send a new one.
const endpointKeyHashKey = "endpoint_key_sha256"

func endpointKeyHash(key string) string {
	sum := sha256.Sum256([]byte("inferstack_api_route endpoint key\x00" + key))
	return hex.EncodeToString(sum[:])
}

// privateSetter is the private state of a Create, Read or Update response.
type privateSetter interface {
	SetKey(ctx context.Context, key string, value []byte) diag.Diagnostics
}

func setEndpointTargetSeen(ctx context.Context, p privateSetter, t *onprem.EndpointTarget, diags *diag.Diagnostics) {
	seen := endpointTargetSeen{URLs: []string{}}
	if t != nil {
		seen = endpointTargetSeen{URLs: append([]string{}, t.URLs...), ServedModelName: t.ServedModelName}
	}
	b, err := json.Marshal(seen)
	if err != nil {
		diags.AddError("storing the endpoint a route follows", err.Error())
		return
	}
	diags.Append(p.SetKey(ctx, endpointTargetKey, b)...)
}

// checkEndpointID checks the id of an inferstack_model_endpoint on either backend.
func checkEndpointID(id string) error {
	if strings.HasPrefix(id, "aws/") {
		_, _, name, err := awsbackend.ParseEndpointID(id)
		if err == nil && !endpointNameRE.MatchString(name) {
			err = fmt.Errorf("%q is not the id of an inferstack_model_endpoint: %q is not an endpoint name", id, name)
		}
		return err
	}
	_, _, err := parseEndpointID(id)
	return err
}

// parseEndpointID splits an on-prem inferstack_model_endpoint id (onprem.EndpointID) and checks its name.
func parseEndpointID(id string) (onprem.ClusterRef, string, error) {
	ref, _, name, err := onprem.ParseEndpointID(id)
	if err != nil {
		return onprem.ClusterRef{}, "", err
	}
	if !endpointNameRE.MatchString(name) {
		return onprem.ClusterRef{}, "", fmt.Errorf("%q is not the id of an inferstack_model_endpoint: %q is not an endpoint name", id, name)
	}
	return ref, name, nil
}

// findEndpointTarget asks the hosts of the endpoint id names for its URLs, served model name and
// API key.
func (r *apiRouteResource) findEndpointTarget(ctx context.Context, id string) (*onprem.EndpointTarget, string, error) {
	if strings.HasPrefix(id, "aws/") {
		return r.findAWSEndpointTarget(ctx, id)
	}
	ref, name, err := parseEndpointID(id)
	if err != nil {
		return nil, "", err
	}
	if r.data == nil {
		return nil, name, errors.New("the provider is not configured")
	}
	client, err := r.data.OnPremClient()
	if err != nil {
		return nil, name, err
	}
	t, err := client.FindEndpointTarget(ctx, ref, name)
	if onprem.IsNotFound(err) {
		return nil, name, fmt.Errorf("model endpoint %s has no replica on any host of cluster %s: apply it first: %w", name, ref.Name, err)
	}
	return t, name, err
}

// findAWSEndpointTarget asks AWS for an endpoint's load-balancer URL, healthy targets, served
// model name (from the spec in its user data) and API key (from Secrets Manager).
func (r *apiRouteResource) findAWSEndpointTarget(ctx context.Context, id string) (*onprem.EndpointTarget, string, error) {
	region, cluster, name, err := awsbackend.ParseEndpointID(id)
	if err != nil {
		return nil, "", err
	}
	if r.data == nil || r.data.AWS == nil {
		return nil, name, errors.New("the provider is not configured")
	}
	b := r.data.AWS
	e, err := b.FindEndpoint(ctx, region, cluster, name)
	if errors.Is(err, backend.ErrNotFound) {
		return nil, name, fmt.Errorf("model endpoint %s does not exist in cluster %s (%s): apply it first: %w", name, cluster, region, onprem.ErrEndpointNotFound)
	}
	if err != nil {
		return nil, name, err
	}
	applied, err := e.AppliedSpec()
	if err != nil {
		return nil, name, err
	}
	key, err := b.APIKey(ctx, region, cluster, name)
	if err != nil {
		return nil, name, err
	}
	t := &onprem.EndpointTarget{URLs: []string{e.URL}, ServedModelName: applied.ServedModelName, APIKey: key}
	if e.HealthyTargets > 0 {
		t.Ready = 1
	}
	return t, name, nil
}

// resolveTarget fills in the self-hosted target of a route with endpoint_id at apply, and the
// resolved_* values of m: every replica's URL, the served model name and the API key, which goes
// to the gateway only. It fails while a host cannot be reached or no replica is ready.
func (r *apiRouteResource) resolveTarget(ctx context.Context, m *apiRouteResourceModel, route *gateway.Route, private privateSetter,
	summary string, diags *diag.Diagnostics) bool {
	if m.EndpointID.IsNull() {
		m.ResolvedURLs, m.ResolvedServedModelName = types.ListNull(types.StringType), types.StringNull()
		return true
	}
	t, name, err := r.findEndpointTarget(ctx, m.EndpointID.ValueString())
	switch {
	case err != nil:
	case len(t.Unreachable) > 0:
		err = fmt.Errorf("host(s) %s of model endpoint %s could not be reached, so its replicas there are unknown: "+
			"bring them back and apply again", strings.Join(t.Unreachable, ", "), name)
	case t.Ready == 0:
		err = fmt.Errorf("model endpoint %s has no ready replica: apply it first (its replicas %v do not answer their "+
			"health check)", name, t.URLs)
	}
	if err != nil {
		diags.AddAttributeError(path.Root("endpoint_id"), summary, "endpoint_id: "+err.Error())
		return false
	}
	route.SelfHosted = &gateway.SelfHosted{APIBases: t.URLs, ServedModel: t.ServedModelName, APIKey: t.APIKey}
	urls, d := types.ListValueFrom(ctx, types.StringType, t.URLs)
	diags.Append(d...)
	m.ResolvedURLs, m.ResolvedServedModelName = urls, types.StringValue(t.ServedModelName)
	tflog.Debug(ctx, "resolved model endpoint", map[string]any{"endpoint": name, "urls": t.URLs, "served_model_name": t.ServedModelName})
	setEndpointTargetSeen(ctx, private, t, diags)
	hash, _ := json.Marshal(endpointKeyHash(t.APIKey))
	diags.Append(private.SetKey(ctx, endpointKeyHashKey, hash)...)
	return !diags.HasError()
}

// readEndpointTarget asks the endpoint's hosts where its replicas are now and keeps that in
// private state. What cannot be asked is a warning, and what was seen before stays.
func (r *apiRouteResource) readEndpointTarget(ctx context.Context, id string, resp *resource.ReadResponse) {
	t, name, err := r.findEndpointTarget(ctx, id)
	switch {
	case onprem.IsNotFound(err):
		resp.Diagnostics.AddWarning("model endpoint not found",
			fmt.Sprintf("The route's endpoint_id names model endpoint %s, which no host runs: the next plan updates the "+
				"route, and the apply fails unless the endpoint is created first.", name))
		setEndpointTargetSeen(ctx, resp.Private, nil, &resp.Diagnostics)
	case err != nil:
		resp.Diagnostics.AddWarning("model endpoint not read",
			fmt.Sprintf("The route's endpoint could not be asked for its replicas, so a change of them is not seen: %s", err))
	case len(t.Unreachable) > 0:
		resp.Diagnostics.AddWarning("hosts unreachable",
			fmt.Sprintf("Model endpoint %s: host(s) %s could not be reached, so a change of its replicas is not seen.",
				name, strings.Join(t.Unreachable, ", ")))
	case t.Ready == 0:
		resp.Diagnostics.AddWarning("model endpoint not ready",
			fmt.Sprintf("Model endpoint %s has no ready replica; the route is kept as it is.", name))
	default:
		setEndpointTargetSeen(ctx, resp.Private, t, &resp.Diagnostics)
	}
}

// planResolved plans resolved_urls and resolved_served_model_name: null without endpoint_id;
// unknown (resolved at apply) on create, when endpoint_id changes or is unknown, and when
// anything else changes; and, when nothing else changes, unknown too if the endpoint's replicas,
// served name or key (asked over SSH now, or as the last refresh saw them) differ from what the
// gateway was given, which plans an update.
func (r *apiRouteResource) planResolved(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse, plan *apiRouteResourceModel) {
	setUnknown := func() {
		plan.ResolvedURLs, plan.ResolvedServedModelName = types.ListUnknown(types.StringType), types.StringUnknown()
		plan.DeploymentIDs = types.ListUnknown(types.StringType)
		resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("resolved_urls"), plan.ResolvedURLs)...)
		resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("resolved_served_model_name"), plan.ResolvedServedModelName)...)
		resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("deployment_ids"), plan.DeploymentIDs)...)
	}
	if plan.EndpointID.IsNull() {
		plan.ResolvedURLs, plan.ResolvedServedModelName = types.ListNull(types.StringType), types.StringNull()
		resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("resolved_urls"), plan.ResolvedURLs)...)
		resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("resolved_served_model_name"), plan.ResolvedServedModelName)...)
		return
	}
	if req.State.Raw.IsNull() || plan.ResolvedURLs.IsUnknown() {
		return
	}
	var state apiRouteResourceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if plan.EndpointID.IsUnknown() || !plan.EndpointID.Equal(state.EndpointID) || state.ResolvedURLs.IsNull() {
		setUnknown()
		return
	}
	// Ask the endpoint now: at apply, Terraform plans the route again after the endpoint's own
	// change, and this is where the route sees it. When the hosts cannot be asked, what the last
	// refresh saw is compared.
	var seen endpointTargetSeen
	keyChanged := false
	if t, _, err := r.findEndpointTarget(ctx, plan.EndpointID.ValueString()); err == nil && len(t.Unreachable) == 0 && t.Ready > 0 {
		seen = endpointTargetSeen{URLs: t.URLs, ServedModelName: t.ServedModelName}
		var applied string
		if b, d := req.Private.GetKey(ctx, endpointKeyHashKey); !d.HasError() && len(b) > 0 && json.Unmarshal(b, &applied) == nil {
			keyChanged = applied != endpointKeyHash(t.APIKey)
		}
	} else {
		b, d := req.Private.GetKey(ctx, endpointTargetKey)
		resp.Diagnostics.Append(d...)
		if len(b) == 0 || json.Unmarshal(b, &seen) != nil {
			return
		}
	}
	held, _ := knownStrings(state.ResolvedURLs)
	if keyChanged || !slices.Equal(seen.URLs, held) || seen.ServedModelName != state.ResolvedServedModelName.ValueString() {
		tflog.Info(ctx, "the route's model endpoint changed", map[string]any{"gateway": held, "endpoint": seen.URLs, "key_changed": keyChanged})
		setUnknown()
	}
}
