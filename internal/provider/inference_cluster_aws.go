package provider

import (
	"context"
	"regexp"
	"slices"

	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/mapvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/objectvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64default"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/listdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"

	"github.com/inferstack/terraform-provider-inferstack/internal/backend"
	awsbackend "github.com/inferstack/terraform-provider-inferstack/internal/backend/aws"
)

// awsAdapter is the AWS backend's part of the provider: the aws block of
// inferstack_inference_cluster (its settings and, computed, what the cluster made and what the
// preflight found) and the aws block of inferstack_model_endpoint (model_endpoint_aws.go). The
// AWS objects are made by the backend (internal/backend/aws), which finds them again by name and
// tag, so every step is safe to retry.
type awsAdapter struct{}

var _ BackendAdapter = awsAdapter{}

func (awsAdapter) Name() string { return awsbackend.Name }

func (awsAdapter) ClusterBlock() schema.SingleNestedAttribute {
	s := clusterAWSAttribute()
	for k, v := range clusterAWSComputed() {
		s.Attributes[k] = v
	}
	return s
}

func clusterAWSAttribute() schema.SingleNestedAttribute {
	return schema.SingleNestedAttribute{
		Optional: true,
		MarkdownDescription: "GPU capacity on AWS EC2. The cluster is the shared part its endpoints run on: two security " +
			"groups (the load balancer's admits `serving_ports` from `allowed_cidrs` only; the nodes' admits them from the " +
			"load balancer's group only), an IAM role and instance profile (SSM " +
			"managed-instance core, and read access to this cluster's secrets `inferstack/<name>/*` only), an internal " +
			"network load balancer, and a base launch template (the AMI, IMDSv2 required with hop limit 1 (containers get no instance role), no public " +
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
			"tags": schema.MapAttribute{
				ElementType: types.StringType,
				Optional:    true,
				MarkdownDescription: "Tags on every AWS object of this cluster and of its endpoints (security groups, role, " +
					"instance profile, load balancer, launch templates, Auto Scaling groups and their instances, target " +
					"groups, secrets), over the provider's `aws.default_tags` (a key set in both takes this value). Keys " +
					"starting with `aws:` or `inferstack:` are refused. Changing them is in place; endpoints take them at " +
					"their next apply.",
				Validators: []validator.Map{tagKeysValidator{}, mapvalidator.SizeAtMost(40)},
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

// clusterAWSComputed are the aws block's computed attributes: what the cluster made on AWS and
// what the preflight found.
func clusterAWSComputed() map[string]schema.Attribute {
	keep := []planmodifier.String{stringplanmodifier.UseStateForUnknown()}
	str := func(desc string) schema.StringAttribute {
		return schema.StringAttribute{Computed: true, MarkdownDescription: desc + " ", PlanModifiers: keep}
	}
	quota := func(desc string) schema.SingleNestedAttribute {
		return schema.SingleNestedAttribute{
			Computed:            true,
			MarkdownDescription: desc + " ",
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
		"vpc_id":                          str("The VPC of `aws.subnet_ids`."),
		"security_group_id":               str("The nodes' security group: it admits the serving ports from the load balancer's group only."),
		"load_balancer_security_group_id": str("The load balancer's security group: it admits the serving ports from `allowed_cidrs`."),
		"role_arn":                        str("The nodes' IAM role."),
		"instance_profile_arn":            str("The nodes' instance profile."),
		"load_balancer_arn":               str("The internal network load balancer."),
		"load_balancer_dns":               str("The load balancer's DNS name; endpoints' URLs are `http://<it>:<port>/v1`."),
		"launch_template_id":              str("The base launch template endpoints copy."),
		"image_id": schema.StringAttribute{Computed: true, MarkdownDescription: "The AMI the nodes boot, resolved " +
			"from `aws.ami` when the block last changed. "},
		"gpu": schema.SingleNestedAttribute{
			Computed:            true,
			MarkdownDescription: "The GPUs of one node of `aws.instance_type`, from `DescribeInstanceTypes`. ",
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
	Tags          types.Map    `tfsdk:"tags"`

	VPCID              types.String `tfsdk:"vpc_id"`
	SecurityGroupID    types.String `tfsdk:"security_group_id"`
	LBSecurityGroupID  types.String `tfsdk:"load_balancer_security_group_id"`
	RoleARN            types.String `tfsdk:"role_arn"`
	InstanceProfileARN types.String `tfsdk:"instance_profile_arn"`
	LoadBalancerARN    types.String `tfsdk:"load_balancer_arn"`
	LoadBalancerDNS    types.String `tfsdk:"load_balancer_dns"`
	LaunchTemplateID   types.String `tfsdk:"launch_template_id"`
	ImageID            types.String `tfsdk:"image_id"`
	GPU                types.Object `tfsdk:"gpu"`
	Quota              types.Object `tfsdk:"quota"`
	SpotQuota          types.Object `tfsdk:"spot_quota"`
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
		"max_nodes": types.Int64Type, "tags": types.MapType{ElemType: types.StringType},
		"vpc_id": types.StringType, "security_group_id": types.StringType, "load_balancer_security_group_id": types.StringType,
		"role_arn":             types.StringType,
		"instance_profile_arn": types.StringType, "load_balancer_arn": types.StringType, "load_balancer_dns": types.StringType,
		"launch_template_id": types.StringType, "image_id": types.StringType,
		"gpu": types.ObjectType{AttrTypes: clusterGPUSummaryAttrTypes}, "quota": types.ObjectType{AttrTypes: clusterQuotaAttrTypes},
		"spot_quota": types.ObjectType{AttrTypes: clusterQuotaAttrTypes},
	}
	clusterGPUSummaryAttrTypes = map[string]attr.Type{"model": types.StringType, "count": types.Int64Type, "memory_mib": types.Int64Type}
	clusterQuotaAttrTypes      = map[string]attr.Type{"code": types.StringType, "name": types.StringType, "value": types.Float64Type, "needed_vcpus": types.Int64Type, "checked": types.BoolType}
)

// ExpandCluster builds the backend's spec from the block; known is false when a value is not
// known yet (the plan then skips the preflight). An unknown region is the provider's: the
// region is Optional and Computed, so a plan holds it unknown until the backend resolves it.
func (awsAdapter) ExpandCluster(ctx context.Context, block types.Object) (any, bool, bool, diag.Diagnostics) {
	var diags diag.Diagnostics
	spec := &awsbackend.ClusterSpec{}
	if block.IsNull() || block.IsUnknown() {
		return spec, false, false, diags
	}
	var a clusterAWSModel
	diags.Append(block.As(ctx, &a, basetypes.ObjectAsOptions{UnhandledUnknownAsEmpty: true, UnhandledNullAsEmpty: true})...)
	known := !a.SubnetIDs.IsUnknown() && !a.InstanceType.IsUnknown() && !a.AMI.IsUnknown() &&
		!a.RootVolumeGiB.IsUnknown() && !a.Capacity.IsUnknown() && !a.AllowedCIDRs.IsUnknown() &&
		!a.ServingPorts.IsUnknown() && !a.MaxNodes.IsUnknown() && !a.Tags.IsUnknown()
	spec.Region = a.Region.ValueString()
	spec.InstanceType = a.InstanceType.ValueString()
	spec.RootVolumeGiB = a.RootVolumeGiB.ValueInt64()
	spec.MaxNodes = a.MaxNodes.ValueInt64()
	spec.SubnetIDs = listOf[string](ctx, a.SubnetIDs, &diags)
	spec.AllowedCIDRs = listOf[string](ctx, a.AllowedCIDRs, &diags)
	if !a.ServingPorts.IsNull() && !a.ServingPorts.IsUnknown() {
		diags.Append(a.ServingPorts.ElementsAs(ctx, &spec.ServingPorts, false)...)
	}
	if !a.Tags.IsNull() && !a.Tags.IsUnknown() {
		diags.Append(a.Tags.ElementsAs(ctx, &spec.Tags, false)...)
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
	return spec, known, true, diags
}

// PlanCluster sets the region the backend resolved, the preflight's facts when it ran (the block
// is new or changed), and keeps the rest from state.
func (awsAdapter) PlanCluster(ctx context.Context, planned, prior types.Object, p *backend.ClusterPlan) (types.Object, diag.Diagnostics) {
	var diags diag.Diagnostics
	var a, s clusterAWSModel
	diags.Append(planned.As(ctx, &a, basetypes.ObjectAsOptions{})...)
	if !prior.IsNull() {
		diags.Append(prior.As(ctx, &s, basetypes.ObjectAsOptions{})...)
		a.VPCID, a.SecurityGroupID, a.RoleARN, a.InstanceProfileARN = s.VPCID, s.SecurityGroupID, s.RoleARN, s.InstanceProfileARN
		a.LBSecurityGroupID = s.LBSecurityGroupID
		a.LoadBalancerARN, a.LoadBalancerDNS, a.LaunchTemplateID = s.LoadBalancerARN, s.LoadBalancerDNS, s.LaunchTemplateID
		a.ImageID, a.GPU, a.Quota, a.SpotQuota = s.ImageID, s.GPU, s.Quota, s.SpotQuota
	}
	if p != nil {
		if region, _, err := awsbackend.ParseClusterID(p.ID); err == nil {
			if !prior.IsNull() && s.Region.ValueString() != region {
				a = clusterAWSModel{Region: a.Region, SubnetIDs: a.SubnetIDs, InstanceType: a.InstanceType, AMI: a.AMI,
					RootVolumeGiB: a.RootVolumeGiB, Capacity: a.Capacity, AllowedCIDRs: a.AllowedCIDRs,
					ServingPorts: a.ServingPorts, MaxNodes: a.MaxNodes, Tags: a.Tags}
				a.setComputedUnknown()
			}
			a.Region = types.StringValue(region)
		}
		if pf, ok := p.Facts.(*awsbackend.Preflight); ok {
			a.ImageID = types.StringValue(pf.ImageID)
			a.GPU = flattenClusterGPU(pf.GPU)
			a.Quota = flattenClusterQuota(pf.Quota)
			a.SpotQuota = flattenClusterQuota(pf.SpotQuota)
		}
	}
	if prior.IsNull() && (p == nil || p.Facts == nil) {
		a.setComputedUnknown()
	}
	out, d := types.ObjectValueFrom(ctx, clusterAWSAttrTypes, a)
	diags.Append(d...)
	return out, diags
}

// setComputedUnknown marks what the backend makes as known after apply.
func (a *clusterAWSModel) setComputedUnknown() {
	for _, s := range []*types.String{&a.VPCID, &a.SecurityGroupID, &a.LBSecurityGroupID, &a.RoleARN, &a.InstanceProfileARN, &a.LoadBalancerARN,
		&a.LoadBalancerDNS, &a.LaunchTemplateID, &a.ImageID} {
		if s.IsNull() || s.ValueString() == "" {
			*s = types.StringUnknown()
		}
	}
	for _, o := range []*types.Object{&a.GPU, &a.Quota, &a.SpotQuota} {
		if o.IsNull() {
			*o = types.ObjectUnknown(o.AttributeTypes(context.Background()))
		}
	}
}

// FlattenCluster records what exists on AWS in the block: the objects, drift of the arguments
// AWS holds (an import gets the whole block), and the preflight's facts when c carries them
// (EnsureCluster does; a refresh keeps those in state).
func (awsAdapter) FlattenCluster(ctx context.Context, prior types.Object, c *backend.Cluster) (types.Object, diag.Diagnostics) {
	var diags diag.Diagnostics
	ac, ok := c.Details.(*awsbackend.Cluster)
	if !ok {
		diags.AddError("reading the aws block", "the AWS backend returned no cluster: this is a bug in the provider")
		return prior, diags
	}
	a := refreshClusterAWS(ctx, prior, ac, &diags)
	a.VPCID = types.StringValue(ac.VPCID)
	a.SecurityGroupID = types.StringValue(ac.SecurityGroupID)
	a.LBSecurityGroupID = types.StringValue(ac.LoadBalancerSecurityGroupID)
	a.RoleARN = types.StringValue(ac.RoleARN)
	a.InstanceProfileARN = types.StringValue(ac.InstanceProfileARN)
	a.LoadBalancerARN = types.StringValue(ac.LoadBalancerARN)
	a.LoadBalancerDNS = types.StringValue(ac.LoadBalancerDNS)
	a.LaunchTemplateID = types.StringValue(ac.LaunchTemplateID)
	if ac.ImageID != "" { // the base launch template's image: the truth, also on import
		a.ImageID = types.StringValue(ac.ImageID)
	}
	if ac.GPU.Count > 0 {
		a.GPU = flattenClusterGPU(ac.GPU)
		a.Quota = flattenClusterQuota(ac.Quota)
		a.SpotQuota = flattenClusterQuota(ac.SpotQuota)
	}
	for _, o := range []*types.Object{&a.GPU, &a.Quota, &a.SpotQuota} {
		if o.IsUnknown() {
			*o = types.ObjectNull(o.AttributeTypes(ctx))
		}
	}
	if a.ImageID.IsUnknown() {
		a.ImageID = types.StringNull()
	}
	out, d := types.ObjectValueFrom(ctx, clusterAWSAttrTypes, a)
	diags.Append(d...)
	return out, diags
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

// refreshClusterAWS brings the aws block in line with what AWS says, so changes made outside
// Terraform show as drift; an import (null prior) gets the whole block.
func refreshClusterAWS(ctx context.Context, prior types.Object, c *awsbackend.Cluster, diags *diag.Diagnostics) clusterAWSModel {
	var a clusterAWSModel
	if prior.IsNull() || prior.IsUnknown() {
		a = clusterAWSModel{
			AMI:           types.ObjectValueMust(clusterAMIAttrTypes, map[string]attr.Value{"id": types.StringValue(c.ImageID), "ssm_parameter": types.StringNull()}),
			RootVolumeGiB: types.Int64Value(200),
			Capacity:      types.ObjectNull(clusterCapacityAttrTypes),
			AllowedCIDRs:  types.ListNull(types.StringType),
			MaxNodes:      types.Int64Null(),
			GPU:           types.ObjectNull(clusterGPUSummaryAttrTypes),
			Quota:         types.ObjectNull(clusterQuotaAttrTypes),
			SpotQuota:     types.ObjectNull(clusterQuotaAttrTypes),
			Tags:          types.MapNull(types.StringType),
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
		diags.Append(prior.As(ctx, &a, basetypes.ObjectAsOptions{UnhandledUnknownAsEmpty: true})...)
		if !a.AllowedCIDRs.IsNull() {
			var want []string
			diags.Append(a.AllowedCIDRs.ElementsAs(ctx, &want, false)...)
			if !sameSet(want, c.AllowedCIDRs) {
				a.AllowedCIDRs, _ = types.ListValueFrom(ctx, types.StringType, c.AllowedCIDRs)
			}
		}
	}
	a.Tags = refreshClusterTags(ctx, a.Tags, c, diags)
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
	return a
}

// refreshClusterTags is the aws block's tags as AWS holds them on the nodes' security group:
// the tags set there keep their keys (with AWS's values; a removed one drops out), and a tag
// added outside Terraform that is not a default tag with its default value shows up as drift.
func refreshClusterTags(ctx context.Context, prior types.Map, c *awsbackend.Cluster, diags *diag.Diagnostics) types.Map {
	if c.Tags == nil { // not read (a cluster whose security group is missing)
		return prior
	}
	var want map[string]string
	if !prior.IsNull() && !prior.IsUnknown() {
		diags.Append(prior.ElementsAs(ctx, &want, false)...)
	}
	got := c.OwnTags()
	for k := range want {
		if v, ok := c.Tags[k]; ok {
			got[k] = v
		}
	}
	if len(got) == 0 && (prior.IsNull() || prior.IsUnknown()) {
		return types.MapNull(types.StringType)
	}
	out, d := types.MapValueFrom(ctx, types.StringType, got)
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

var (
	subnetIDRE      = regexp.MustCompile(`^subnet-[0-9a-f]{8,17}$`)
	amiIDRE         = regexp.MustCompile(`^ami-[0-9a-f]{8,17}$`)
	reservationIDRE = regexp.MustCompile(`^cr-[0-9a-f]{8,17}$`)
	instanceTypeRE  = regexp.MustCompile(`^[a-z][a-z0-9-]*\.[a-z0-9-]+$`)
)
