package provider

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/objectvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64default"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/listdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/inferstack/terraform-provider-inferstack/internal/backend"
	awsbackend "github.com/inferstack/terraform-provider-inferstack/internal/backend/aws"
)

// The aws block of inferstack_inference_cluster: its schema, its model, and the CRUD steps the
// resource runs when the block is set. The AWS objects are made by the backend
// (internal/backend/aws), which finds them again by name and tag, so every step here is safe to
// retry: an interrupted create leaves a tainted cluster whose next create adopts what exists.

const defaultClusterTimeout = 20 * time.Minute

func clusterAWSAttribute() schema.SingleNestedAttribute {
	return schema.SingleNestedAttribute{
		Optional: true,
		MarkdownDescription: "GPU capacity on AWS EC2. The cluster is the shared part its endpoints run on: a security " +
			"group (ingress to `serving_ports` from `allowed_cidrs` only), an IAM role and instance profile (SSM " +
			"managed-instance core, and read access to this cluster's secrets `inferstack/<name>/*` only), an internal " +
			"network load balancer, and a base launch template (the AMI, IMDSv2 required with hop limit 2, no public " +
			"IP, an encrypted gp3 root volume). Each `inferstack_model_endpoint` adds its own Auto Scaling group, " +
			"target group and listener.\n\n" +
			"Before creating anything (and at plan time whenever this block changes) the provider checks that the " +
			"instance type is a GPU type offered in every subnet's Availability Zone and that the EC2 vCPU quota of " +
			"its family (on demand and spot) covers `max_nodes`; otherwise the plan fails with the numbers and the " +
			"quota code to raise.",
		Attributes: map[string]schema.Attribute{
			"region": schema.StringAttribute{
				Optional: true,
				Computed: true,
				MarkdownDescription: "The region. Defaults to the provider's `aws.region` (or `AWS_REGION`). Changing it " +
					"replaces the cluster.",
			},
			"subnet_ids": schema.ListAttribute{
				ElementType: types.StringType,
				Required:    true,
				MarkdownDescription: "Private subnets the nodes and the load balancer use, all in one VPC (the VPC " +
					"follows from them). Use one per Availability Zone you want nodes in. Changing them is in place.",
				Validators: []validator.List{listvalidator.SizeAtLeast(1), listvalidator.UniqueValues(),
					listvalidator.ValueStringsAre(stringvalidator.RegexMatches(subnetIDRE, "must be a subnet id (subnet-...)"))},
			},
			"instance_type": schema.StringAttribute{
				Required: true,
				MarkdownDescription: "A GPU instance type offered in every subnet's zone, e.g. `g6e.12xlarge` (see " +
					"`data.inferstack_gpu_types` and `data.inferstack_deployment_plan`). Changing it makes a new launch " +
					"template version; endpoints roll onto it at their next apply.",
				Validators: []validator.String{stringvalidator.RegexMatches(instanceTypeRE, "must be an EC2 instance type such as g6e.12xlarge")},
			},
			"ami": schema.SingleNestedAttribute{
				Optional: true,
				MarkdownDescription: "The node image, by `id` or by `ssm_parameter` (resolved at plan time). Defaults to " +
					"the AWS Deep Learning Base OSS NVIDIA driver GPU AMI (Ubuntu 22.04) through its public parameter `" +
					awsbackend.DefaultAMIParameter + "`. The image needs the NVIDIA driver, Docker with the NVIDIA " +
					"container toolkit, and the AWS CLI.",
				Attributes: map[string]schema.Attribute{
					"id": schema.StringAttribute{
						Optional:            true,
						MarkdownDescription: "An AMI id (`ami-...`).",
						Validators:          []validator.String{stringvalidator.RegexMatches(amiIDRE, "must be an AMI id (ami-...)")},
					},
					"ssm_parameter": schema.StringAttribute{
						Optional:            true,
						MarkdownDescription: "An SSM parameter whose value is an AMI id.",
						Validators:          []validator.String{stringvalidator.LengthAtLeast(2)},
					},
				},
				Validators: []validator.Object{objectvalidator.AtLeastOneOf(
					path.MatchRelative().AtName("id"), path.MatchRelative().AtName("ssm_parameter"))},
			},
			"root_volume_gib": schema.Int64Attribute{
				Optional: true,
				Computed: true,
				Default:  int64default.StaticInt64(200),
				MarkdownDescription: "Size of each node's root volume (gp3, encrypted), which also holds the Hugging Face " +
					"cache: make it larger than the model's weights. Defaults to 200.",
				Validators: []validator.Int64{int64validator.Between(8, 16384)},
			},
			"capacity": schema.SingleNestedAttribute{
				Optional: true,
				MarkdownDescription: "How nodes are bought: `on_demand_base` nodes on demand, then `spot_percentage` " +
					"percent of the rest on Spot (the Auto Scaling mixed-instances terms). Unset: all on demand.",
				Attributes: map[string]schema.Attribute{
					"on_demand_base": schema.Int64Attribute{
						Optional: true, Computed: true, Default: int64default.StaticInt64(0),
						MarkdownDescription: "Nodes always bought on demand. Defaults to 0.",
						Validators:          []validator.Int64{int64validator.AtLeast(0)},
					},
					"spot_percentage": schema.Int64Attribute{
						Optional: true, Computed: true, Default: int64default.StaticInt64(0),
						MarkdownDescription: "Percent of the nodes above `on_demand_base` bought on Spot. Defaults to 0.",
						Validators:          []validator.Int64{int64validator.Between(0, 100)},
					},
					"capacity_reservation_id": schema.StringAttribute{
						Optional:            true,
						MarkdownDescription: "An On-Demand Capacity Reservation (`cr-...`) the on-demand nodes launch into.",
						Validators:          []validator.String{stringvalidator.RegexMatches(reservationIDRE, "must be a capacity reservation id (cr-...)")},
					},
				},
			},
			"allowed_cidrs": schema.ListAttribute{
				ElementType: types.StringType,
				Optional:    true,
				MarkdownDescription: "Who may reach the serving ports (through the load balancer, which keeps client " +
					"addresses). Defaults to the VPC's CIDR only. Changing it is in place.",
				Validators: []validator.List{listvalidator.SizeAtLeast(1)},
			},
			"serving_ports": schema.ListAttribute{
				ElementType: types.Int64Type,
				Optional:    true,
				Computed:    true,
				Default:     listdefault.StaticValue(types.ListValueMust(types.Int64Type, []attr.Value{types.Int64Value(8000)})),
				MarkdownDescription: "TCP ports endpoints may listen on (one listener each on the load balancer); the " +
					"security group opens exactly these. Defaults to `[8000]`. Changing them is in place.",
				Validators: []validator.List{listvalidator.SizeAtLeast(1), listvalidator.UniqueValues(),
					listvalidator.ValueInt64sAre(int64validator.Between(1024, 65535))},
			},
			"max_nodes": schema.Int64Attribute{
				Optional: true,
				MarkdownDescription: "The most nodes this cluster's endpoints run at once (the sum of their " +
					"`autoscaling.max`); the vCPU quota check covers this many. Defaults to `capacity.on_demand_base`, at least 1.",
				Validators: []validator.Int64{int64validator.AtLeast(1)},
			},
		},
	}
}

// clusterAWSComputed are the top-level attributes only an AWS cluster has; null on other backends.
func clusterAWSComputed() map[string]schema.Attribute {
	keep := []planmodifier.String{stringplanmodifier.UseStateForUnknown()}
	str := func(desc string) schema.StringAttribute {
		return schema.StringAttribute{Computed: true, MarkdownDescription: desc + " AWS only.", PlanModifiers: keep}
	}
	quota := func(desc string) schema.SingleNestedAttribute {
		return schema.SingleNestedAttribute{
			Computed:            true,
			MarkdownDescription: desc + " AWS only.",
			Attributes: map[string]schema.Attribute{
				"code":         schema.StringAttribute{Computed: true, MarkdownDescription: "Service Quotas code, e.g. `L-DB2E81BA`."},
				"name":         schema.StringAttribute{Computed: true, MarkdownDescription: "The quota's name."},
				"value":        schema.Float64Attribute{Computed: true, MarkdownDescription: "vCPUs the quota allows in the region (0 when it could not be read)."},
				"needed_vcpus": schema.Int64Attribute{Computed: true, MarkdownDescription: "vCPUs `max_nodes` nodes of this market need."},
				"checked":      schema.BoolAttribute{Computed: true, MarkdownDescription: "Whether the quota was read and compared."},
			},
		}
	}
	return map[string]schema.Attribute{
		"vpc_id":               str("The VPC of `aws.subnet_ids`."),
		"security_group_id":    str("The nodes' and the load balancer's security group."),
		"role_arn":             str("The nodes' IAM role."),
		"instance_profile_arn": str("The nodes' instance profile."),
		"load_balancer_arn":    str("The internal network load balancer."),
		"load_balancer_dns":    str("The load balancer's DNS name; endpoints' URLs are `http://<it>:<port>/v1`."),
		"launch_template_id":   str("The base launch template endpoints copy."),
		"image_id": schema.StringAttribute{Computed: true, MarkdownDescription: "The AMI the nodes boot, resolved " +
			"from `aws.ami` when the block last changed. AWS only."},
		"gpu": schema.SingleNestedAttribute{
			Computed:            true,
			MarkdownDescription: "The GPUs of one node of `aws.instance_type`, from `DescribeInstanceTypes`. AWS only.",
			Attributes: map[string]schema.Attribute{
				"model":      schema.StringAttribute{Computed: true, MarkdownDescription: "GPU model, e.g. `L40S`."},
				"count":      schema.Int64Attribute{Computed: true, MarkdownDescription: "GPUs per node."},
				"memory_mib": schema.Int64Attribute{Computed: true, MarkdownDescription: "Memory per GPU in MiB."},
			},
		},
		"quota":      quota("The on-demand vCPU quota of the instance family, as last checked."),
		"spot_quota": quota("The spot vCPU quota of the instance family, as last checked; null when no node is spot."),
	}
}

type clusterAWSModel struct {
	Region        types.String `tfsdk:"region"`
	SubnetIDs     types.List   `tfsdk:"subnet_ids"`
	InstanceType  types.String `tfsdk:"instance_type"`
	AMI           types.Object `tfsdk:"ami"`
	RootVolumeGiB types.Int64  `tfsdk:"root_volume_gib"`
	Capacity      types.Object `tfsdk:"capacity"`
	AllowedCIDRs  types.List   `tfsdk:"allowed_cidrs"`
	ServingPorts  types.List   `tfsdk:"serving_ports"`
	MaxNodes      types.Int64  `tfsdk:"max_nodes"`
}

type clusterAMIModel struct {
	ID           types.String `tfsdk:"id"`
	SSMParameter types.String `tfsdk:"ssm_parameter"`
}

type clusterCapacityModel struct {
	OnDemandBase          types.Int64  `tfsdk:"on_demand_base"`
	SpotPercentage        types.Int64  `tfsdk:"spot_percentage"`
	CapacityReservationID types.String `tfsdk:"capacity_reservation_id"`
}

var (
	clusterAMIAttrTypes      = map[string]attr.Type{"id": types.StringType, "ssm_parameter": types.StringType}
	clusterCapacityAttrTypes = map[string]attr.Type{"on_demand_base": types.Int64Type, "spot_percentage": types.Int64Type, "capacity_reservation_id": types.StringType}
	clusterAWSAttrTypes      = map[string]attr.Type{
		"region": types.StringType, "subnet_ids": types.ListType{ElemType: types.StringType},
		"instance_type": types.StringType, "ami": types.ObjectType{AttrTypes: clusterAMIAttrTypes},
		"root_volume_gib": types.Int64Type, "capacity": types.ObjectType{AttrTypes: clusterCapacityAttrTypes},
		"allowed_cidrs": types.ListType{ElemType: types.StringType}, "serving_ports": types.ListType{ElemType: types.Int64Type},
		"max_nodes": types.Int64Type,
	}
	clusterGPUSummaryAttrTypes = map[string]attr.Type{"model": types.StringType, "count": types.Int64Type, "memory_mib": types.Int64Type}
	clusterQuotaAttrTypes      = map[string]attr.Type{"code": types.StringType, "name": types.StringType, "value": types.Float64Type, "needed_vcpus": types.Int64Type, "checked": types.BoolType}
)

// setAWSComputedNull sets the AWS-only attributes to null (an on-prem cluster).
func (m *inferenceClusterResourceModel) setAWSComputedNull() {
	for _, s := range []*types.String{&m.VPCID, &m.SecurityGroupID, &m.RoleARN, &m.InstanceProfileARN, &m.LoadBalancerARN,
		&m.LoadBalancerDNS, &m.LaunchTemplateID, &m.ImageID} {
		*s = types.StringNull()
	}
	m.GPU = types.ObjectNull(clusterGPUSummaryAttrTypes)
	m.Quota = types.ObjectNull(clusterQuotaAttrTypes)
	m.SpotQuota = types.ObjectNull(clusterQuotaAttrTypes)
}

// setOnPremComputedNull sets the on-prem-only attributes to null (an AWS cluster).
func (m *inferenceClusterResourceModel) setOnPremComputedNull() {
	m.Nodes = types.ListNull(types.ObjectType{AttrTypes: clusterNodeAttrTypes()})
}

// expandClusterAWS builds the backend's spec from a plan; known is false when a value is not
// known yet (the plan then skips the preflight).
func (r *inferenceClusterResource) expandClusterAWS(ctx context.Context, m inferenceClusterResourceModel, diags *diag.Diagnostics) (awsbackend.ClusterSpec, bool) {
	spec := awsbackend.ClusterSpec{Name: m.Name.ValueString()}
	if m.AWS.IsNull() || m.AWS.IsUnknown() {
		return spec, false
	}
	var a clusterAWSModel
	diags.Append(m.AWS.As(ctx, &a, basetypes.ObjectAsOptions{UnhandledUnknownAsEmpty: true})...)
	known := !m.Name.IsUnknown() && !a.SubnetIDs.IsUnknown() && !a.InstanceType.IsUnknown() && !a.AMI.IsUnknown() &&
		!a.RootVolumeGiB.IsUnknown() && !a.Capacity.IsUnknown() && !a.AllowedCIDRs.IsUnknown() &&
		!a.ServingPorts.IsUnknown() && !a.MaxNodes.IsUnknown()
	spec.Region = a.Region.ValueString()
	spec.InstanceType = a.InstanceType.ValueString()
	spec.RootVolumeGiB = a.RootVolumeGiB.ValueInt64()
	spec.MaxNodes = a.MaxNodes.ValueInt64()
	spec.SubnetIDs = stringList(ctx, a.SubnetIDs, diags)
	spec.AllowedCIDRs = stringList(ctx, a.AllowedCIDRs, diags)
	if !a.ServingPorts.IsNull() && !a.ServingPorts.IsUnknown() {
		diags.Append(a.ServingPorts.ElementsAs(ctx, &spec.ServingPorts, false)...)
	}
	if !a.AMI.IsNull() && !a.AMI.IsUnknown() {
		var ami clusterAMIModel
		diags.Append(a.AMI.As(ctx, &ami, basetypes.ObjectAsOptions{UnhandledUnknownAsEmpty: true})...)
		known = known && !ami.ID.IsUnknown() && !ami.SSMParameter.IsUnknown()
		spec.AMI = awsbackend.AMI{ID: ami.ID.ValueString(), SSMParameter: ami.SSMParameter.ValueString()}
	}
	if !a.Capacity.IsNull() && !a.Capacity.IsUnknown() {
		var c clusterCapacityModel
		diags.Append(a.Capacity.As(ctx, &c, basetypes.ObjectAsOptions{UnhandledUnknownAsEmpty: true})...)
		known = known && !c.OnDemandBase.IsUnknown() && !c.SpotPercentage.IsUnknown() && !c.CapacityReservationID.IsUnknown()
		spec.Capacity = awsbackend.Capacity{OnDemandBase: c.OnDemandBase.ValueInt64(), SpotPercentage: c.SpotPercentage.ValueInt64(),
			CapacityReservationID: c.CapacityReservationID.ValueString()}
	}
	if r.data != nil {
		spec.Tags = maps.Clone(r.data.AWSDefaultTags)
	}
	return spec, known
}

func stringList(ctx context.Context, l types.List, diags *diag.Diagnostics) []string {
	if l.IsNull() || l.IsUnknown() {
		return nil
	}
	var out []string
	diags.Append(l.ElementsAs(ctx, &out, false)...)
	return out
}

// addClusterAWSErrors turns the backend's input errors into diagnostics on aws.<attribute>, and
// anything else into one error under summary.
func addClusterAWSErrors(diags *diag.Diagnostics, summary string, err error) {
	ies := backend.InputErrors(err)
	if len(ies) == 0 {
		diags.AddError(summary, err.Error())
		return
	}
	for _, ie := range ies {
		p := path.Root("aws")
		if ie.Attribute != "" && ie.Attribute != "name" {
			p = p.AtName(ie.Attribute)
		} else if ie.Attribute == "name" {
			p = path.Root("name")
		}
		diags.AddAttributeError(p, "invalid inference cluster", fmt.Sprintf("%s: %s", p, ie.Message))
	}
}

func (r *inferenceClusterResource) awsBackend(summary string, diags *diag.Diagnostics) *awsbackend.Backend {
	if r.data == nil || r.data.AWS == nil {
		diags.AddError(summary, "the provider is not configured: this is a bug in the provider, please report it")
		return nil
	}
	return r.data.AWS
}

// modifyPlanAWS resolves the region (for the id), replaces the cluster when the region changes,
// and runs the preflight whenever the aws block is new or changed, so a type not offered in a
// zone or a quota too small fails the plan with the numbers, and gpu/quota/image_id are known.
func (r *inferenceClusterResource) modifyPlanAWS(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse, plan inferenceClusterResourceModel) {
	spec, known := r.expandClusterAWS(ctx, plan, &resp.Diagnostics)
	b := r.awsBackend("planning inference cluster", &resp.Diagnostics)
	if resp.Diagnostics.HasError() || b == nil {
		return
	}
	var state *inferenceClusterResourceModel
	if !req.State.Raw.IsNull() {
		state = &inferenceClusterResourceModel{}
		resp.Diagnostics.Append(req.State.Get(ctx, state)...)
	}
	plan.setOnPremComputedNull()

	var cfgRegion types.String
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("aws").AtName("region"), &cfgRegion)...)
	if cfgRegion.IsUnknown() {
		known = false
	}
	if cfgRegion.IsNull() {
		region, err := b.ResolveRegion(ctx, "")
		if err != nil {
			resp.Diagnostics.AddAttributeError(path.Root("aws").AtName("region"), "no AWS region",
				"aws.region: "+err.Error()+" Set aws.region here, the provider's aws.region, or AWS_REGION.")
			return
		}
		spec.Region = region
	}
	if spec.Region != "" {
		resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("aws").AtName("region"), spec.Region)...)
		if !plan.Name.IsUnknown() {
			plan.ID = types.StringValue(awsbackend.ClusterID(spec.Region, plan.Name.ValueString()))
		}
	}
	if state != nil && !state.AWS.IsNull() && spec.Region != "" {
		if region, _, err := awsbackend.ParseClusterID(state.ID.ValueString()); err == nil && region != "" && region != spec.Region {
			resp.RequiresReplace = append(resp.RequiresReplace, path.Root("aws").AtName("region"))
			plan.ID = types.StringUnknown()
		}
	}
	changed := state == nil || state.AWS.IsNull() || !awsConfigEqual(ctx, plan.AWS, state.AWS, spec.Region)
	if state != nil && !changed {
		plan.ImageID, plan.GPU, plan.Quota, plan.SpotQuota = state.ImageID, state.GPU, state.Quota, state.SpotQuota
	}
	if known && changed && spec.Region != "" {
		pf, err := b.CheckCluster(ctx, spec)
		if err != nil {
			addClusterAWSErrors(&resp.Diagnostics, fmt.Sprintf("checking inference cluster (%s)", spec.Name), err)
			return
		}
		for _, w := range pf.Warnings {
			resp.Diagnostics.AddAttributeWarning(path.Root("aws"), fmt.Sprintf("inference cluster (%s)", spec.Name), w)
		}
		plan.ImageID = types.StringValue(pf.ImageID)
		plan.GPU = flattenClusterGPU(pf.GPU)
		plan.Quota = flattenClusterQuota(pf.Quota)
		plan.SpotQuota = flattenClusterQuota(pf.SpotQuota)
	}
	resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("id"), plan.ID)...)
	resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("nodes"), plan.Nodes)...)
	for name, v := range map[string]attr.Value{"image_id": plan.ImageID, "gpu": plan.GPU, "quota": plan.Quota, "spot_quota": plan.SpotQuota} {
		resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root(name), v)...)
	}
}

// awsConfigEqual compares the planned aws block with the state's, the region resolved.
func awsConfigEqual(ctx context.Context, plan, state types.Object, region string) bool {
	var p, s clusterAWSModel
	if plan.As(ctx, &p, basetypes.ObjectAsOptions{UnhandledUnknownAsEmpty: true}).HasError() ||
		state.As(ctx, &s, basetypes.ObjectAsOptions{UnhandledUnknownAsEmpty: true}).HasError() {
		return false
	}
	p.Region = types.StringValue(region)
	return p.Region.Equal(s.Region) && p.SubnetIDs.Equal(s.SubnetIDs) && p.InstanceType.Equal(s.InstanceType) &&
		p.AMI.Equal(s.AMI) && p.RootVolumeGiB.Equal(s.RootVolumeGiB) && p.Capacity.Equal(s.Capacity) &&
		p.AllowedCIDRs.Equal(s.AllowedCIDRs) && p.ServingPorts.Equal(s.ServingPorts) && p.MaxNodes.Equal(s.MaxNodes)
}

func flattenClusterGPU(g awsbackend.GPU) types.Object {
	if g.Count == 0 {
		return types.ObjectNull(clusterGPUSummaryAttrTypes)
	}
	return types.ObjectValueMust(clusterGPUSummaryAttrTypes, map[string]attr.Value{
		"model": types.StringValue(g.Model), "count": types.Int64Value(g.Count), "memory_mib": types.Int64Value(g.MemoryMiB),
	})
}

func flattenClusterQuota(q awsbackend.Quota) types.Object {
	if q.Code == "" {
		return types.ObjectNull(clusterQuotaAttrTypes)
	}
	return types.ObjectValueMust(clusterQuotaAttrTypes, map[string]attr.Value{
		"code": types.StringValue(q.Code), "name": types.StringValue(q.Name), "value": types.Float64Value(q.Value),
		"needed_vcpus": types.Int64Value(q.NeededVCPUs), "checked": types.BoolValue(q.Checked),
	})
}

// applyClusterAWS records what exists on AWS in m. Preflight facts (gpu, quota, image) come only
// from EnsureCluster/UpdateCluster; FindCluster leaves them as they were.
func applyClusterAWS(m *inferenceClusterResourceModel, c *awsbackend.Cluster, withPreflight bool) {
	m.ID = types.StringValue(c.ID)
	m.VPCID = types.StringValue(c.VPCID)
	m.SecurityGroupID = types.StringValue(c.SecurityGroupID)
	m.RoleARN = types.StringValue(c.RoleARN)
	m.InstanceProfileARN = types.StringValue(c.InstanceProfileARN)
	m.LoadBalancerARN = types.StringValue(c.LoadBalancerARN)
	m.LoadBalancerDNS = types.StringValue(c.LoadBalancerDNS)
	m.LaunchTemplateID = types.StringValue(c.LaunchTemplateID)
	if c.ImageID != "" { // the base launch template's image: the truth, also on import
		m.ImageID = types.StringValue(c.ImageID)
	}
	if withPreflight {
		m.GPU = flattenClusterGPU(c.GPU)
		m.Quota = flattenClusterQuota(c.Quota)
		m.SpotQuota = flattenClusterQuota(c.SpotQuota)
	}
	m.setOnPremComputedNull()
}

// prepareAWS is what create and update start with: the spec, the backend and the context bounded
// by the operation's timeout.
func (r *inferenceClusterResource) prepareAWS(ctx context.Context, plan inferenceClusterResourceModel,
	timeout func(context.Context, time.Duration) (time.Duration, diag.Diagnostics), summary string, diags *diag.Diagnostics,
) (awsbackend.ClusterSpec, *awsbackend.Backend, context.Context, context.CancelFunc, bool) {
	spec, _ := r.expandClusterAWS(ctx, plan, diags)
	b := r.awsBackend(summary, diags)
	ctx, cancel := withTimeout(ctx, timeout, diags)
	if diags.HasError() || b == nil {
		return spec, nil, ctx, cancel, false
	}
	return spec, b, ctx, cancel, true
}

// withTimeout bounds ctx by a timeouts value (create, update or delete) of the cluster, whose
// default is defaultClusterTimeout.
func withTimeout(ctx context.Context, timeout func(context.Context, time.Duration) (time.Duration, diag.Diagnostics),
	diags *diag.Diagnostics) (context.Context, context.CancelFunc) {
	t, d := timeout(ctx, defaultClusterTimeout)
	diags.Append(d...)
	return context.WithTimeout(ctx, t)
}

func (r *inferenceClusterResource) createAWS(ctx context.Context, plan inferenceClusterResourceModel, resp *resource.CreateResponse) {
	summary := fmt.Sprintf("creating inference cluster (%s)", plan.Name.ValueString())
	spec, b, ctx, cancel, ok := r.prepareAWS(ctx, plan, plan.Timeouts.Create, summary, &resp.Diagnostics)
	defer cancel()
	if !ok {
		return
	}

	tflog.Info(ctx, "creating inference cluster on AWS", map[string]any{"name": spec.Name, "region": spec.Region, "instance_type": spec.InstanceType})
	c, err := b.EnsureCluster(ctx, spec)
	if err != nil {
		addClusterAWSErrors(&resp.Diagnostics, summary, err)
		return // nothing is in state: whatever was made is found again by name and tag on the next create
	}
	applyClusterAWS(&plan, c, true)
	// In state before the wait: a load balancer that never becomes active leaves a tainted cluster to remove.
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
	for _, w := range c.Warnings {
		resp.Diagnostics.AddWarning(summary, w)
	}
	if _, err := b.WaitClusterReady(ctx, c.Region, c.Name); err != nil {
		resp.Diagnostics.AddError(summary, err.Error())
	}
}

// readAWS refreshes the cluster from AWS. A cluster with no object left was deleted outside
// Terraform and leaves state; one with some parts missing leaves state too, with a warning, so
// the next apply creates it again, adopting the parts that are still there.
func (r *inferenceClusterResource) readAWS(ctx context.Context, state inferenceClusterResourceModel, resp *resource.ReadResponse) {
	region, name, err := awsbackend.ParseClusterID(state.ID.ValueString())
	summary := fmt.Sprintf("reading inference cluster (%s)", name)
	if err != nil {
		resp.Diagnostics.AddError(summary, err.Error())
		return
	}
	b := r.awsBackend(summary, &resp.Diagnostics)
	if b == nil {
		return
	}
	c, err := b.FindCluster(ctx, region, name)
	switch {
	case errors.Is(err, backend.ErrNotFound):
		resp.Diagnostics.AddWarning(fmt.Sprintf("inference cluster (%s) is gone", name),
			"None of the cluster's AWS objects exist any more: it was deleted outside Terraform. It is removed from state, "+
				"and the next plan creates it again.")
		resp.State.RemoveResource(ctx)
		return
	case err != nil:
		resp.Diagnostics.AddError(summary, err.Error())
		return
	}
	if removedIncomplete(ctx, "inference cluster", name, c.Missing, resp) {
		return
	}
	applyClusterAWS(&state, c, false)
	if state.Name.IsNull() {
		state.Name = types.StringValue(c.Name)
	}
	state.AWS = refreshClusterAWS(ctx, state.AWS, c, &resp.Diagnostics)
	if state.Timeouts.IsNull() {
		state.Timeouts = nullTimeouts()
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

// refreshClusterAWS brings the aws block in line with what AWS says, so changes made outside
// Terraform show as drift; an import (null prior) gets the whole block.
func refreshClusterAWS(ctx context.Context, prior types.Object, c *awsbackend.Cluster, diags *diag.Diagnostics) types.Object {
	var a clusterAWSModel
	if prior.IsNull() || prior.IsUnknown() {
		a = clusterAWSModel{
			AMI:           types.ObjectValueMust(clusterAMIAttrTypes, map[string]attr.Value{"id": types.StringValue(c.ImageID), "ssm_parameter": types.StringNull()}),
			RootVolumeGiB: types.Int64Value(200),
			Capacity:      types.ObjectNull(clusterCapacityAttrTypes),
			AllowedCIDRs:  types.ListNull(types.StringType),
			MaxNodes:      types.Int64Null(),
		}
		if c.MaxNodes > 0 {
			a.MaxNodes = types.Int64Value(c.MaxNodes)
		}
		if c.Capacity != (awsbackend.Capacity{}) {
			a.Capacity = types.ObjectValueMust(clusterCapacityAttrTypes, map[string]attr.Value{
				"on_demand_base": types.Int64Value(c.Capacity.OnDemandBase), "spot_percentage": types.Int64Value(c.Capacity.SpotPercentage),
				"capacity_reservation_id": optionalString(c.Capacity.CapacityReservationID),
			})
		}
		if !(len(c.AllowedCIDRs) == 1 && c.AllowedCIDRs[0] == c.VPCCIDR) {
			a.AllowedCIDRs, _ = types.ListValueFrom(ctx, types.StringType, c.AllowedCIDRs)
		}
	} else {
		diags.Append(prior.As(ctx, &a, basetypes.ObjectAsOptions{})...)
		if !a.AllowedCIDRs.IsNull() {
			var want []string
			diags.Append(a.AllowedCIDRs.ElementsAs(ctx, &want, false)...)
			if !sameSet(want, c.AllowedCIDRs) {
				a.AllowedCIDRs, _ = types.ListValueFrom(ctx, types.StringType, c.AllowedCIDRs)
			}
		}
	}
	a.Region = types.StringValue(c.Region)
	if c.RootVolumeGiB > 0 {
		a.RootVolumeGiB = types.Int64Value(c.RootVolumeGiB)
	}
	if c.InstanceType != "" {
		a.InstanceType = types.StringValue(c.InstanceType)
	}
	if len(c.SubnetIDs) > 0 {
		var want []string
		if !a.SubnetIDs.IsNull() {
			diags.Append(a.SubnetIDs.ElementsAs(ctx, &want, false)...)
		}
		if !sameSet(want, c.SubnetIDs) {
			a.SubnetIDs, _ = types.ListValueFrom(ctx, types.StringType, c.SubnetIDs)
		}
	}
	var ports []int64
	if !a.ServingPorts.IsNull() {
		diags.Append(a.ServingPorts.ElementsAs(ctx, &ports, false)...)
	}
	if !sameSet(ports, c.ServingPorts) {
		a.ServingPorts, _ = types.ListValueFrom(ctx, types.Int64Type, c.ServingPorts)
	}
	out, d := types.ObjectValueFrom(ctx, clusterAWSAttrTypes, a)
	diags.Append(d...)
	return out
}

func sameSet[T comparable](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	for _, x := range a {
		if !slices.Contains(b, x) {
			return false
		}
	}
	return true
}

func (r *inferenceClusterResource) updateAWS(ctx context.Context, plan, state inferenceClusterResourceModel, resp *resource.UpdateResponse) {
	summary := fmt.Sprintf("updating inference cluster (%s)", plan.Name.ValueString())
	spec, b, ctx, cancel, ok := r.prepareAWS(ctx, plan, plan.Timeouts.Update, summary, &resp.Diagnostics)
	defer cancel()
	if !ok {
		return
	}

	tflog.Info(ctx, "updating inference cluster on AWS", map[string]any{"name": spec.Name, "region": spec.Region})
	c, err := b.UpdateCluster(ctx, spec)
	if err != nil {
		addClusterAWSErrors(&resp.Diagnostics, summary, err)
		resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
		return
	}
	applyClusterAWS(&plan, c, true)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
	for _, w := range c.Warnings {
		resp.Diagnostics.AddWarning(summary, w)
	}
}

// deleteAWS removes every AWS object of the cluster. Endpoints go first (Terraform orders that
// when they reference the cluster); a security group still in use by instances is retried until
// the delete timeout, then reported with what holds it.
func (r *inferenceClusterResource) deleteAWS(ctx context.Context, state inferenceClusterResourceModel, resp *resource.DeleteResponse) {
	region, name, err := awsbackend.ParseClusterID(state.ID.ValueString())
	summary := fmt.Sprintf("deleting inference cluster (%s)", name)
	if err != nil {
		resp.Diagnostics.AddError(summary, err.Error())
		return
	}
	b := r.awsBackend(summary, &resp.Diagnostics)
	if b == nil {
		return
	}
	ctx, cancel := withTimeout(ctx, state.Timeouts.Delete, &resp.Diagnostics)
	defer cancel()
	tflog.Info(ctx, "deleting inference cluster on AWS", map[string]any{"name": name, "region": region})
	if err := b.DeleteCluster(ctx, region, name); err != nil {
		resp.Diagnostics.AddError(summary, err.Error())
	}
}

var (
	subnetIDRE      = regexp.MustCompile(`^subnet-[0-9a-f]{8,17}$`)
	amiIDRE         = regexp.MustCompile(`^ami-[0-9a-f]{8,17}$`)
	reservationIDRE = regexp.MustCompile(`^cr-[0-9a-f]{8,17}$`)
	instanceTypeRE  = regexp.MustCompile(`^[a-z][a-z0-9-]*\.[a-z0-9-]+$`)
)

func nullTimeouts() timeouts.Value {
	return timeouts.Value{Object: types.ObjectNull(map[string]attr.Type{"create": types.StringType, "update": types.StringType, "delete": types.StringType})}
}

func (r *inferenceClusterResource) importAWS(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	region, name, err := awsbackend.ParseClusterID(req.ID)
	summary := fmt.Sprintf("importing inference cluster (%s)", req.ID)
	if err != nil {
		resp.Diagnostics.AddError(summary, err.Error()+" (an on-prem cluster imports by its id, onprem/<name>/<descriptor>)")
		return
	}
	b := r.awsBackend(summary, &resp.Diagnostics)
	if b == nil {
		return
	}
	if region, err = b.ResolveRegion(ctx, region); err != nil {
		resp.Diagnostics.AddError(summary, err.Error())
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), awsbackend.ClusterID(region, name))...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("name"), name)...)
}

// removedIncomplete removes a resource whose AWS objects are partly gone (deleted outside
// Terraform) from state, with a warning, and reports whether it did: the next apply creates it
// again, adopting the parts still there.
func removedIncomplete(ctx context.Context, kind, name string, missing []string, resp *resource.ReadResponse) bool {
	if len(missing) == 0 {
		return false
	}
	resp.Diagnostics.AddWarning(fmt.Sprintf("%s (%s) is incomplete", kind, name),
		fmt.Sprintf("The %s's %s no longer exist(s) on AWS (deleted outside Terraform). It is removed from state; the "+
			"next apply creates it again, keeping the parts that are still there.", kind, strings.Join(missing, ", ")))
	resp.State.RemoveResource(ctx)
	return true
}
