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

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/inferstack/terraform-provider-inferstack/internal/backend"
	"github.com/inferstack/terraform-provider-inferstack/internal/gateway"
)

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

func setEndpointTargetSeen(ctx context.Context, p privateSetter, t *backend.Target, diags *diag.Diagnostics) {
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

// checkEndpointID checks, without the provider's configuration, that id has the shape of an
// inferstack_model_endpoint's ID on any backend: "<backend>/<...>,<name>"; the backend is
// checked when the route is planned.
func checkEndpointID(id string) error {
	clusterID, name, ok := backend.SplitEndpointID(id)
	if !ok || !strings.Contains(clusterID, "/") || !endpointNameRE.MatchString(name) {
		return fmt.Errorf("%q is not the id of an inferstack_model_endpoint (<cluster_id>%s<name>): use "+
			"inferstack_model_endpoint.<name>.id", id, backend.EndpointIDSeparator)
	}
	return nil
}

// findEndpointTarget asks the backend of the endpoint id names for its URLs, served model name
// and API key.
func (r *apiRouteResource) findEndpointTarget(ctx context.Context, id string) (*backend.Target, string, error) {
	if r.data == nil || r.data.Backends == nil {
		return nil, "", errors.New("the provider is not configured")
	}
	b, clusterID, name, err := r.data.Backends.ForEndpointID(id)
	if err != nil {
		return nil, name, err
	}
	t, err := b.EndpointTarget(ctx, clusterID, name)
	if backend.IsNotFound(err) {
		return nil, name, fmt.Errorf("%w: apply it first", err)
	}
	return t, name, err
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
	case backend.IsNotFound(err):
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
