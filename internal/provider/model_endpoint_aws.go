package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
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
	"autoscaling_group_name": types.StringType, "autoscaling_group_arn": types.StringType,
}

// EndpointBlock is the aws block of inferstack_model_endpoint.
func (awsAdapter) EndpointBlock() (schema.SingleNestedAttribute, bool) {
	return endpointAWSAttribute(), true
}

func endpointAWSAttribute() schema.SingleNestedAttribute {
	return schema.SingleNestedAttribute{
		Optional: true,
		Computed: true,
		MarkdownDescription: "Settings for an endpoint on an AWS cluster (all optional; setting the block on another " +
			"backend's cluster is a plan-time error), and the endpoint's Auto Scaling group, which is set on an AWS " +
			"cluster whether the block is written or not. On AWS each replica is an instance of the endpoint's Auto " +
			"Scaling group (`replicas` its desired count, `autoscaling` its bounds), launched from the endpoint's own " +
			"launch template version, and registered in a target group behind a listener of the cluster's load " +
			"balancer. A change of the engine, the model's served name or the API key makes a new launch template " +
			"version and rolls the instances through an instance refresh.",
		PlanModifiers: []planmodifier.Object{endpointAWSPlan{}},
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
			"autoscaling_group_name": schema.StringAttribute{
				Computed: true,
				MarkdownDescription: "Name of the endpoint's Auto Scaling group, `inferstack-<cluster>.<endpoint>`: attach " +
					"scaling policies, scheduled actions or lifecycle hooks of your own to it (e.g. `aws_autoscaling_policy`), " +
					"or select its instances in CloudWatch. Known at plan time once `cluster_id` is.",
			},
			"autoscaling_group_arn": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "ARN of the endpoint's Auto Scaling group, for IAM policies scoped to it. Known after the group is created.",
			},
		},
	}
}

// endpointAWSPlan plans the block's computed attributes. On an AWS cluster the block is set
// whether it is configured or not: the group's name follows from the cluster's and the
// endpoint's names, its ARN is kept from state while the group stays the same (known after
// apply on create). On another backend's cluster an unconfigured block is null; while the
// cluster is not known yet it is left unknown, and the apply settles it.
type endpointAWSPlan struct{}

func (endpointAWSPlan) Description(context.Context) string {
	return "Sets the Auto Scaling group's name and ARN on an AWS cluster, keeping the ARN from state."
}

func (m endpointAWSPlan) MarkdownDescription(ctx context.Context) string { return m.Description(ctx) }

func (endpointAWSPlan) PlanModifyObject(ctx context.Context, req planmodifier.ObjectRequest, resp *planmodifier.ObjectResponse) {
	if req.Plan.Raw.IsNull() {
		return
	}
	var clusterID, name types.String
	resp.Diagnostics.Append(req.Plan.GetAttribute(ctx, path.Root("cluster_id"), &clusterID)...)
	resp.Diagnostics.Append(req.Plan.GetAttribute(ctx, path.Root("name"), &name)...)
	if resp.Diagnostics.HasError() || clusterID.IsUnknown() {
		return
	}
	if !awsbackend.IsClusterID(clusterID.ValueString()) {
		if req.ConfigValue.IsNull() {
			resp.PlanValue = types.ObjectNull(endpointAWSAttrTypes)
		}
		return
	}
	attrs := map[string]attr.Value{
		"port": types.Int64Null(), "health_check_grace_seconds": types.Int64Null(), "min_healthy_percentage": types.Int64Null(),
		"autoscaling_group_name": types.StringUnknown(), "autoscaling_group_arn": types.StringUnknown(),
	}
	if !req.ConfigValue.IsNull() && !req.ConfigValue.IsUnknown() {
		for k, v := range req.ConfigValue.Attributes() {
			if k != "autoscaling_group_name" && k != "autoscaling_group_arn" {
				attrs[k] = v
			}
		}
	}
	if _, cluster, err := awsbackend.ParseClusterID(clusterID.ValueString()); err == nil && !name.IsUnknown() {
		attrs["autoscaling_group_name"] = types.StringValue(awsbackend.EndpointResourceNames(cluster, name.ValueString()).Group)
	}
	if prior := req.StateValue; !prior.IsNull() && !prior.IsUnknown() {
		was := prior.Attributes()
		if attrs["autoscaling_group_name"].Equal(was["autoscaling_group_name"]) {
			attrs["autoscaling_group_arn"] = was["autoscaling_group_arn"]
		}
	}
	plan, diags := types.ObjectValue(endpointAWSAttrTypes, attrs)
	resp.Diagnostics.Append(diags...)
	resp.PlanValue = plan
}

type endpointAWSModel struct {
	Port                    types.Int64  `tfsdk:"port"`
	HealthCheckGraceSeconds types.Int64  `tfsdk:"health_check_grace_seconds"`
	MinHealthyPercentage    types.Int64  `tfsdk:"min_healthy_percentage"`
	AutoscalingGroupName    types.String `tfsdk:"autoscaling_group_name"`
	AutoscalingGroupARN     types.String `tfsdk:"autoscaling_group_arn"`
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

// FlattenEndpoint keeps the block's settings as configured and sets the Auto Scaling group's name
// and ARN from the endpoint. An import (prior null) sets the port when it is not the default; a
// block the plan left unknown (the cluster was not known yet) was not configured.
func (awsAdapter) FlattenEndpoint(_ context.Context, prior types.Object, e *backend.Endpoint) (types.Object, diag.Diagnostics) {
	d, ok := e.Details.(*awsbackend.Endpoint)
	if !ok {
		return prior, nil
	}
	attrs := map[string]attr.Value{
		"port": types.Int64Null(), "health_check_grace_seconds": types.Int64Null(), "min_healthy_percentage": types.Int64Null(),
	}
	switch {
	case prior.IsNull():
		if d.Port != 0 && d.Port != defaultEndpointPort {
			attrs["port"] = types.Int64Value(d.Port)
		}
	case !prior.IsUnknown():
		for k, v := range prior.Attributes() {
			attrs[k] = v
		}
	}
	attrs["autoscaling_group_name"], attrs["autoscaling_group_arn"] = stringOrNull(d.GroupName), stringOrNull(d.GroupARN)
	return types.ObjectValue(endpointAWSAttrTypes, attrs)
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
