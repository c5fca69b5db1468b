package provider

import (
	"context"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"

	"github.com/inferstack/terraform-provider-inferstack/internal/gateway"
)

type apiRouteResourceModel struct {
	Timeouts       timeouts.Value `tfsdk:"timeouts"`
	ID             types.String   `tfsdk:"id"`
	Name           types.String   `tfsdk:"name"`
	EndpointID     types.String   `tfsdk:"endpoint_id"`
	SelfHosted     types.Object   `tfsdk:"self_hosted"`
	External       types.Object   `tfsdk:"external"`
	Weight         types.Int64    `tfsdk:"weight"`
	Order          types.Int64    `tfsdk:"order"`
	Tags           types.List     `tfsdk:"tags"`
	Fallbacks      types.List     `tfsdk:"fallbacks"`
	RPM            types.Int64    `tfsdk:"rpm"`
	TPM            types.Int64    `tfsdk:"tpm"`
	TimeoutSeconds types.Int64    `tfsdk:"timeout_seconds"`
	Mode           types.String   `tfsdk:"mode"`
	BaseModel      types.String   `tfsdk:"base_model"`
	DeploymentIDs  types.List     `tfsdk:"deployment_ids"`

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
			unknown = append(unknown, "self_hosted.urls")
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
