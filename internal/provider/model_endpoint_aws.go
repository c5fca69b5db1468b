package provider

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/inferstack/terraform-provider-inferstack/internal/backend"
	awsbackend "github.com/inferstack/terraform-provider-inferstack/internal/backend/aws"
)

// inferstack_model_endpoint on an AWS cluster: one vLLM replica per instance of the endpoint's
// Auto Scaling group, behind a listener of the cluster's internal load balancer. The backend
// (internal/backend/aws) finds every object again by name and tag, so each step is safe to
// retry; the ID is in state before the readiness wait, so a failed wait leaves a tainted
// endpoint, never an orphan.

const (
	defaultEndpointPort        = 8000
	defaultHealthCheckGrace    = 1200
	defaultMinHealthyPercent   = 50
	modelEndpointAWSReadyGrace = 30 * time.Second
)

var endpointAWSAttrTypes = map[string]attr.Type{
	"port": types.Int64Type, "health_check_grace_seconds": types.Int64Type, "min_healthy_percentage": types.Int64Type,
}

func endpointAWSAttribute() schema.SingleNestedAttribute {
	return schema.SingleNestedAttribute{
		Optional: true,
		MarkdownDescription: "Settings for an endpoint on an AWS cluster (all optional; setting the block on an on-prem " +
			"cluster is a plan-time error). On AWS each replica is an instance of the endpoint's Auto Scaling group " +
			"(`replicas` its desired count, `autoscaling` its bounds), launched from the endpoint's own launch template " +
			"version, and registered in a target group behind a listener of the cluster's load balancer. A change " +
			"of the engine, the model's served name or the API key makes a new launch template version and rolls " +
			"the instances through an instance refresh.",
		Attributes: map[string]schema.Attribute{
			"port": schema.Int64Attribute{
				Optional: true,
				MarkdownDescription: "The listener port on the cluster's load balancer, and vLLM's port on the nodes: one of " +
					"the cluster's `aws.serving_ports`, not used by another endpoint. Defaults to 8000. Changing it replaces the endpoint (a target group keeps its port).",
				Validators: []validator.Int64{int64validator.Between(1024, 65535)},
			},
			"health_check_grace_seconds": schema.Int64Attribute{
				Optional: true,
				MarkdownDescription: "How long a new instance may take to pass the load balancer's health check before " +
					"Auto Scaling replaces it: the model's download and load. Defaults to 1200.",
				Validators: []validator.Int64{int64validator.Between(60, 7200)},
			},
			"min_healthy_percentage": schema.Int64Attribute{
				Optional: true,
				MarkdownDescription: "The share of instances kept in service during an instance refresh; replacements may " +
					"launch first, up to 100 points above it (the refresh's maximum healthy percentage), so a one-node " +
					"endpoint stays up while it rolls. Defaults to 50.",
				Validators: []validator.Int64{int64validator.Between(0, 100)},
			},
		},
	}
}

type endpointAWSModel struct {
	Port                    types.Int64 `tfsdk:"port"`
	HealthCheckGraceSeconds types.Int64 `tfsdk:"health_check_grace_seconds"`
	MinHealthyPercentage    types.Int64 `tfsdk:"min_healthy_percentage"`
}

func isAWSCluster(clusterID types.String) bool {
	return !clusterID.IsUnknown() && !clusterID.IsNull() && awsbackend.IsClusterID(clusterID.ValueString())
}

func (r *modelEndpointResource) awsBackend() (*awsbackend.Backend, error) {
	if r.data == nil || r.data.AWS == nil {
		return nil, errors.New("the provider is not configured")
	}
	return r.data.AWS, nil
}

// awsTarget is the backend and the cluster an AWS endpoint's cluster_id names.
func (r *modelEndpointResource) awsTarget(clusterID types.String, summary string, diags *diag.Diagnostics) (b *awsbackend.Backend, region, cluster string, ok bool) {
	region, cluster, err := awsbackend.ParseClusterID(clusterID.ValueString())
	if err != nil {
		diags.AddAttributeError(path.Root("cluster_id"), summary, err.Error())
		return nil, "", "", false
	}
	if b, err = r.awsBackend(); err != nil {
		diags.AddError(summary, err.Error())
		return nil, "", "", false
	}
	return b, region, cluster, true
}

// expandEndpointAWS builds the backend's spec for Create and Update.
func (r *modelEndpointResource) expandEndpointAWS(ctx context.Context, plan modelEndpointResourceModel, config interface {
	GetAttribute(context.Context, path.Path, any) diag.Diagnostics
}, summary string, diags *diag.Diagnostics) (awsbackend.EndpointSpec, bool) {
	node, ok := r.expandSpec(ctx, plan, diags)
	if !ok {
		diags.AddError(summary, "some settings are still unknown at apply time: this is a bug in the provider")
		return awsbackend.EndpointSpec{}, false
	}
	region, cluster, err := awsbackend.ParseClusterID(plan.ClusterID.ValueString())
	if err != nil {
		diags.AddAttributeError(path.Root("cluster_id"), summary, err.Error())
		return awsbackend.EndpointSpec{}, false
	}
	apiKey, ok := endpointAPIKeyValue(ctx, plan, config, summary, diags)
	if !ok {
		return awsbackend.EndpointSpec{}, false
	}
	a := endpointAWSSettings(ctx, plan.AWS, diags)
	spec := awsbackend.EndpointSpec{
		Region: region, Cluster: cluster, Name: plan.Name.ValueString(),
		Port:                    a.Port.ValueInt64(),
		Replicas:                plan.Replicas.ValueInt64(),
		Node:                    node,
		APIKey:                  apiKey,
		HFToken:                 r.data.HuggingFace.Token,
		HealthCheckGraceSeconds: a.HealthCheckGraceSeconds.ValueInt64(),
		MinHealthyPercentage:    a.MinHealthyPercentage.ValueInt64(),
		Tags:                    maps.Clone(r.data.AWSDefaultTags),
	}
	if !plan.Autoscaling.IsNull() && !plan.Autoscaling.IsUnknown() {
		attrs := plan.Autoscaling.Attributes()
		spec.MinReplicas = attrs["min"].(types.Int64).ValueInt64()
		spec.MaxReplicas = attrs["max"].(types.Int64).ValueInt64()
	}
	return spec, !diags.HasError()
}

// endpointAWSSettings is the aws block with its defaults filled in.
func endpointAWSSettings(ctx context.Context, o types.Object, diags *diag.Diagnostics) endpointAWSModel {
	var a endpointAWSModel
	if !o.IsNull() && !o.IsUnknown() {
		diags.Append(o.As(ctx, &a, basetypes.ObjectAsOptions{UnhandledUnknownAsEmpty: true})...)
	}
	if a.Port.IsNull() || a.Port.IsUnknown() {
		a.Port = types.Int64Value(defaultEndpointPort)
	}
	if a.HealthCheckGraceSeconds.IsNull() || a.HealthCheckGraceSeconds.IsUnknown() {
		a.HealthCheckGraceSeconds = types.Int64Value(defaultHealthCheckGrace)
	}
	if a.MinHealthyPercentage.IsNull() || a.MinHealthyPercentage.IsUnknown() {
		a.MinHealthyPercentage = types.Int64Value(defaultMinHealthyPercent)
	}
	return a
}

// applyEndpointAWS records what exists on AWS in m.
func applyEndpointAWS(m *modelEndpointResourceModel, e *awsbackend.Endpoint, ready bool) {
	m.ID = types.StringValue(e.ID)
	m.URL = types.StringValue(e.URL)
	m.URLs = types.ListValueMust(types.StringType, []attr.Value{types.StringValue(e.URL)})
	m.Placements = types.ListValueMust(types.ObjectType{AttrTypes: placementAttrTypes}, []attr.Value{})
	switch {
	case ready || (e.HealthyTargets >= e.Desired && e.Refresh == "" && e.Desired > 0):
		m.Status = types.StringValue("ready")
	case e.HealthyTargets > 0:
		m.Status = types.StringValue("degraded")
	default:
		m.Status = types.StringValue("unavailable")
	}
}

func (r *modelEndpointResource) deployAWS(ctx context.Context, plan modelEndpointResourceModel, config interface {
	GetAttribute(context.Context, path.Path, any) diag.Diagnostics
}, state interface {
	Set(context.Context, any) diag.Diagnostics
}, summary string, diags *diag.Diagnostics) {
	spec, ok := r.expandEndpointAWS(ctx, plan, config, summary, diags)
	if !ok {
		return
	}
	b, err := r.awsBackend()
	if err != nil {
		diags.AddError(summary, err.Error())
		return
	}
	tflog.Info(ctx, "deploying model endpoint on AWS", map[string]any{"endpoint": spec.Name, "cluster": spec.Cluster, "region": spec.Region, "replicas": spec.Replicas})
	e, err := b.EnsureEndpoint(ctx, spec)
	if err != nil {
		addEndpointAWSErrors(diags, summary, err)
		return
	}
	applyEndpointAWS(&plan, e, false)
	diags.Append(state.Set(ctx, &plan)...)
	if diags.HasError() {
		return
	}
	e, err = b.WaitEndpointReady(ctx, spec.Region, spec.Cluster, spec.Name)
	if e != nil {
		applyEndpointAWS(&plan, e, err == nil)
		diags.Append(state.Set(ctx, &plan)...)
	}
	if err != nil {
		diags.AddError(summary, err.Error()+"\n\nWhat exists is kept in state; fix the cause and apply again: the next apply converges.")
	}
}

func addEndpointAWSErrors(diags *diag.Diagnostics, summary string, err error) {
	ies := backend.InputErrors(err)
	if len(ies) == 0 {
		diags.AddError(summary, err.Error())
		return
	}
	for _, ie := range ies {
		p := path.Root(ie.Attribute)
		switch ie.Attribute {
		case "port", "health_check_grace_seconds", "min_healthy_percentage":
			p = path.Root("aws").AtName(ie.Attribute)
		case "":
			p = path.Root("cluster_id")
		}
		diags.AddAttributeError(p, summary, fmt.Sprintf("%s: %s", p, ie.Message))
	}
}

func (r *modelEndpointResource) readAWS(ctx context.Context, state modelEndpointResourceModel, resp *resource.ReadResponse) {
	name := state.Name.ValueString()
	summary := fmt.Sprintf("reading model endpoint (%s)", name)
	b, region, cluster, ok := r.awsTarget(state.ClusterID, summary, &resp.Diagnostics)
	if !ok {
		return
	}
	e, err := b.FindEndpoint(ctx, region, cluster, name)
	if errors.Is(err, backend.ErrNotFound) {
		resp.Diagnostics.AddWarning("model endpoint not found",
			fmt.Sprintf("Model endpoint %s has no Auto Scaling group in cluster %s (%s) any more: it was deleted outside "+
				"Terraform. It is removed from state, and the next apply creates it again.", name, cluster, region))
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		resp.Diagnostics.AddError(summary, err.Error())
		return
	}
	if removedIncomplete(ctx, "model endpoint", name, e.Missing, resp) {
		return
	}
	applyEndpointAWS(&state, e, false)
	if state.Autoscaling.IsNull() {
		state.Replicas = types.Int64Value(e.Desired)
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

func (r *modelEndpointResource) deleteAWS(ctx context.Context, state modelEndpointResourceModel, resp *resource.DeleteResponse) {
	name := state.Name.ValueString()
	summary := fmt.Sprintf("deleting model endpoint (%s)", name)
	b, region, cluster, ok := r.awsTarget(state.ClusterID, summary, &resp.Diagnostics)
	if !ok {
		return
	}
	tflog.Info(ctx, "deleting model endpoint on AWS", map[string]any{"endpoint": name, "cluster": cluster, "region": region})
	if err := b.DeleteEndpoint(ctx, region, cluster, name); err != nil {
		resp.Diagnostics.AddError(summary, err.Error())
	}
}

// importAWS reads an AWS endpoint's settings back from the spec in its launch template's user
// data. The API key cannot be imported: set it in the configuration.
func (r *modelEndpointResource) importAWS(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	region, cluster, name, err := awsbackend.ParseEndpointID(req.ID)
	summary := fmt.Sprintf("importing model endpoint (%s)", req.ID)
	if err != nil {
		resp.Diagnostics.AddError(summary, err.Error())
		return
	}
	b, err := r.awsBackend()
	if err != nil {
		resp.Diagnostics.AddError(summary, err.Error())
		return
	}
	e, err := b.FindEndpoint(ctx, region, cluster, name)
	if err != nil {
		resp.Diagnostics.AddError(summary, err.Error())
		return
	}
	applied, err := e.AppliedSpec()
	if err != nil {
		resp.Diagnostics.AddError(summary, err.Error())
		return
	}
	m := importedModel(applied)
	m.ClusterID = types.StringValue(awsbackend.ClusterID(e.Region, e.Cluster))
	m.Name = types.StringValue(name)
	m.Replicas = types.Int64Value(e.Desired)
	if e.Min != e.Desired || e.Max != e.Desired {
		m.Autoscaling = types.ObjectValueMust(map[string]attr.Type{"min": types.Int64Type, "max": types.Int64Type},
			map[string]attr.Value{"min": types.Int64Value(e.Min), "max": types.Int64Value(e.Max)})
	}
	if e.Port != defaultEndpointPort {
		m.AWS = types.ObjectValueMust(endpointAWSAttrTypes, map[string]attr.Value{
			"port": types.Int64Value(e.Port), "health_check_grace_seconds": types.Int64Null(), "min_healthy_percentage": types.Int64Null(),
		})
	}
	applyEndpointAWS(&m, e, false)
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}
