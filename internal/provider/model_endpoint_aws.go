package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"

	"github.com/inferstack/terraform-provider-inferstack/internal/backend"
	awsbackend "github.com/inferstack/terraform-provider-inferstack/internal/backend/aws"
)

// The aws block of inferstack_model_endpoint: an endpoint's own settings on an AWS cluster.

const (
	defaultEndpointPort      = 8000
	defaultHealthCheckGrace  = 1200
	defaultMinHealthyPercent = 50
)

var endpointAWSAttrTypes = map[string]attr.Type{
	"port": types.Int64Type, "health_check_grace_seconds": types.Int64Type, "min_healthy_percentage": types.Int64Type,
}

// EndpointBlock is the aws block of inferstack_model_endpoint.
func (awsAdapter) EndpointBlock() (schema.SingleNestedAttribute, bool) {
	return endpointAWSAttribute(), true
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
				Validators:    []validator.Int64{int64validator.Between(1024, 65535)},
				PlanModifiers: []planmodifier.Int64{int64planmodifier.RequiresReplaceIf(portChanged, "Replaced when the port changes.", "Replaced when the port changes.")},
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

// portChanged replaces the endpoint when its listener port changes, defaults applied (a target
// group keeps its port).
func portChanged(_ context.Context, req planmodifier.Int64Request, resp *int64planmodifier.RequiresReplaceIfFuncResponse) {
	port := func(v types.Int64) int64 {
		if v.IsNull() || v.IsUnknown() {
			return defaultEndpointPort
		}
		return v.ValueInt64()
	}
	resp.RequiresReplace = !req.StateValue.IsNull() && !req.PlanValue.IsUnknown() && port(req.StateValue) != port(req.PlanValue)
}

// ExpandEndpoint is the block with its defaults filled in, as the backend's settings.
func (awsAdapter) ExpandEndpoint(ctx context.Context, block types.Object) (any, diag.Diagnostics) {
	var diags diag.Diagnostics
	a := endpointAWSSettings(ctx, block, &diags)
	return &awsbackend.EndpointSettings{
		Port:                    a.Port.ValueInt64(),
		HealthCheckGraceSeconds: a.HealthCheckGraceSeconds.ValueInt64(),
		MinHealthyPercentage:    a.MinHealthyPercentage.ValueInt64(),
	}, diags
}

// FlattenEndpoint keeps the block as configured; an import sets the port when it is not the default.
func (awsAdapter) FlattenEndpoint(_ context.Context, prior types.Object, e *backend.Endpoint) (types.Object, diag.Diagnostics) {
	d, ok := e.Details.(*awsbackend.Endpoint)
	if !prior.IsNull() || !ok || d.Port == defaultEndpointPort {
		return prior, nil
	}
	return types.ObjectValueMust(endpointAWSAttrTypes, map[string]attr.Value{
		"port": types.Int64Value(d.Port), "health_check_grace_seconds": types.Int64Null(), "min_healthy_percentage": types.Int64Null(),
	}), nil
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
