package provider

import (
	"context"
	"slices"

	"github.com/hashicorp/terraform-plugin-framework-validators/float64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"

	"github.com/inferstack/terraform-provider-inferstack/internal/backend"
	azurebackend "github.com/inferstack/terraform-provider-inferstack/internal/backend/azure"
)

// azureAdapter is the Azure backend's part of the provider: the azure block of
// inferstack_inference_cluster (where and on what the nodes run, and, computed, what the cluster
// made and what the preflight learned) and the azure block of inferstack_model_endpoint
// (model_endpoint_azure.go).
type azureAdapter struct{}

var _ BackendAdapter = azureAdapter{}

func (azureAdapter) Name() string { return azurebackend.Name }

var (
	clusterAzureImageAttrTypes    = map[string]attr.Type{"publisher": types.StringType, "offer": types.StringType, "sku": types.StringType, "version": types.StringType, "id": types.StringType}
	clusterAzurePriorityAttrTypes = map[string]attr.Type{"spot_percentage": types.Int64Type, "eviction_policy": types.StringType, "max_price": types.Float64Type}
	clusterAzureVaultAttrTypes    = map[string]attr.Type{"purge_protection": types.BoolType, "public_network_access": types.BoolType}
	clusterAzureGPUAttrTypes      = map[string]attr.Type{"model": types.StringType, "count": types.Int64Type, "memory_mib": types.Int64Type, "vcpus": types.Int64Type}
	clusterAzureQuotaAttrTypes    = map[string]attr.Type{"name": types.StringType, "limit": types.Int64Type, "used": types.Int64Type, "needed": types.Int64Type}
	clusterAzureAttrTypes         = map[string]attr.Type{
		"subscription_id": types.StringType, "resource_group": types.StringType, "location": types.StringType,
		"subnet_id": types.StringType, "vm_size": types.StringType,
		"image":    types.ObjectType{AttrTypes: clusterAzureImageAttrTypes},
		"priority": types.ObjectType{AttrTypes: clusterAzurePriorityAttrTypes},
		"zones":    types.ListType{ElemType: types.StringType}, "os_disk_gib": types.Int64Type,
		"allowed_cidrs": types.ListType{ElemType: types.StringType}, "serving_ports": types.ListType{ElemType: types.Int64Type},
		"max_nodes": types.Int64Type, "trusted_launch": types.BoolType,
		"key_vault": types.ObjectType{AttrTypes: clusterAzureVaultAttrTypes},
		"tags":      types.MapType{ElemType: types.StringType},
		// computed
		"gpu":                       types.ObjectType{AttrTypes: clusterAzureGPUAttrTypes},
		"vcpu_quotas":               types.ListType{ElemType: types.ObjectType{AttrTypes: clusterAzureQuotaAttrTypes}},
		"network_security_group_id": types.StringType, "identity_id": types.StringType, "identity_client_id": types.StringType,
		"key_vault_id": types.StringType, "key_vault_uri": types.StringType, "load_balancer_id": types.StringType,
		"private_ip": types.StringType,
	}
	clusterAzureComputed = []string{"gpu", "vcpu_quotas", "network_security_group_id", "identity_id", "identity_client_id",
		"key_vault_id", "key_vault_uri", "load_balancer_id", "private_ip"}
)

func (azureAdapter) ClusterBlock() schema.SingleNestedAttribute {
	str := func(desc string, required bool, v ...validator.String) schema.StringAttribute {
		return schema.StringAttribute{Required: required, Optional: !required, MarkdownDescription: desc, Validators: v}
	}
	computed := func(desc string) schema.StringAttribute {
		return schema.StringAttribute{Computed: true, MarkdownDescription: desc}
	}
	return schema.SingleNestedAttribute{
		Optional: true,
		MarkdownDescription: "GPU capacity on Azure, in one existing resource group and one location (every object is " +
			"created there: data residency). The cluster makes, tagged with the provider's `azure.default_tags` plus " +
			"`inferstack-cluster`: a network security group (the serving ports from `allowed_cidrs` and the load " +
			"balancer's probes; nothing else, nothing from the internet), a user-assigned managed identity for the nodes, " +
			"a Key Vault in RBAC mode (public network access off unless `key_vault.public_network_access`) on which that " +
			"identity may only read secrets, and an internal Standard load balancer without public IP. Each " +
			"`inferstack_model_endpoint` adds a VM scale set (Flexible orchestration) and a rule on the load balancer. " +
			"The plan checks that `vm_size` is a GPU size offered in the location and zones and not restricted for the " +
			"subscription, and that the regional and family vCPU quotas cover `max_nodes` nodes.",
		Attributes: map[string]schema.Attribute{
			"subscription_id": str("Subscription to create the cluster in. Defaults to the provider's (`azure.subscription_id`, `ARM_SUBSCRIPTION_ID`). Changing it replaces the cluster.", false),
			"resource_group":  str("Existing resource group everything is created in. Changing it replaces the cluster.", true, stringvalidator.LengthBetween(1, 90)),
			"location":        str("Azure location of every object, e.g. `westeurope`. Changing it replaces the cluster.", true, stringvalidator.LengthBetween(2, 40)),
			"subnet_id":       str("Subnet of the nodes and the load balancer's private frontend. Changing it replaces the cluster.", true),
			"vm_size":         str("GPU VM size, e.g. `Standard_NC24ads_A100_v4` (`inferstack_gpu_types` lists those offered). Endpoints pick up a change when they are next applied.", true),
			"image": schema.SingleNestedAttribute{
				Optional: true,
				MarkdownDescription: "Node image with the NVIDIA driver, Docker and the NVIDIA container toolkit: a marketplace image " +
					"(`publisher`, `offer`, `sku`, `version`) or `id` of a gallery image (version) or managed image. Defaults to " +
					"`microsoft-dsvm:ubuntu-hpc:2204:latest`.",
				Attributes: map[string]schema.Attribute{
					"publisher": schema.StringAttribute{Optional: true, MarkdownDescription: "Marketplace publisher."},
					"offer":     schema.StringAttribute{Optional: true, MarkdownDescription: "Marketplace offer."},
					"sku":       schema.StringAttribute{Optional: true, MarkdownDescription: "Marketplace SKU."},
					"version":   schema.StringAttribute{Optional: true, MarkdownDescription: "Image version, or `latest`."},
					"id":        schema.StringAttribute{Optional: true, MarkdownDescription: "ID of a gallery image, gallery image version or managed image (instead of the marketplace parts)."},
				},
			},
			"priority": schema.SingleNestedAttribute{
				Optional:            true,
				MarkdownDescription: "How nodes are bought. Defaults to all regular (on-demand) nodes.",
				Attributes: map[string]schema.Attribute{
					"spot_percentage": schema.Int64Attribute{
						Optional: true, MarkdownDescription: "Percent of nodes on Spot (the scale set's priority mix). Defaults to 0.",
						Validators: []validator.Int64{int64validator.Between(0, 100)},
					},
					"eviction_policy": schema.StringAttribute{
						Optional: true, MarkdownDescription: "`Deallocate` (default) or `Delete` for evicted Spot nodes.",
						Validators: []validator.String{stringvalidator.OneOf("Deallocate", "Delete")},
					},
					"max_price": schema.Float64Attribute{
						Optional: true, MarkdownDescription: "Most US dollars an hour for a Spot node; -1 (default) up to the on-demand price.",
						Validators: []validator.Float64{float64validator.AtLeast(-1)},
					},
				},
			},
			"zones": schema.ListAttribute{
				ElementType: types.StringType, Optional: true,
				MarkdownDescription: "Availability zones the nodes and the load balancer's frontend use, e.g. `[\"1\", \"2\"]`; the size must be offered in each. Default: no zone.",
			},
			"os_disk_gib": schema.Int64Attribute{
				Optional: true, MarkdownDescription: "OS disk size in GiB (Premium SSD; the model cache lives there). Default: the image's.",
				Validators: []validator.Int64{int64validator.Between(30, 4095)},
			},
			"allowed_cidrs": schema.ListAttribute{
				ElementType: types.StringType, Optional: true,
				MarkdownDescription: "Networks that may call the endpoints' ports. Default: the address space of the subnet's virtual network.",
			},
			"serving_ports": schema.ListAttribute{
				ElementType: types.Int64Type, Optional: true,
				MarkdownDescription: "TCP ports the network security group opens; each endpoint uses one (its `azure.port`). Default: `[8000]`.",
				Validators:          []validator.List{listvalidator.SizeAtLeast(1)},
			},
			"max_nodes": schema.Int64Attribute{
				Optional: true, MarkdownDescription: "Most nodes the cluster's endpoints run at once: the plan checks the vCPU quotas for this many, and an endpoint's `replicas` may not exceed it. Default: 1.",
				Validators: []validator.Int64{int64validator.Between(1, 1000)},
			},
			"trusted_launch": schema.BoolAttribute{
				Optional: true, MarkdownDescription: "Secure boot and vTPM on the nodes (the image must be Gen2 and support trusted launch, as the default image does). Default: true.",
			},
			"key_vault": schema.SingleNestedAttribute{
				Optional:            true,
				MarkdownDescription: "The cluster's Key Vault, which holds the endpoints' API keys and Hugging Face tokens.",
				Attributes: map[string]schema.Attribute{
					"purge_protection": schema.BoolAttribute{
						Optional: true, MarkdownDescription: "Keep deleted secrets and the vault recoverable for 7 days and forbid purging; Azure cannot turn it off again, and the vault's name stays taken that long after destroy. Default: false (destroy purges the vault).",
					},
					"public_network_access": schema.BoolAttribute{
						Optional: true, MarkdownDescription: "Let the vault's data plane be reached from outside its network. Default: false. The provider writes secrets through Azure Resource Manager either way; routes read the API key from the data plane, so Terraform must reach the vault (a private endpoint) or this must be true.",
					},
				},
			},
			"tags": schema.MapAttribute{ElementType: types.StringType, Optional: true, MarkdownDescription: "Tags of the cluster's objects and its endpoints' scale sets, beside the provider's `azure.default_tags`."},
			"gpu": schema.SingleNestedAttribute{
				Computed: true, MarkdownDescription: "The GPUs of one node of `vm_size`, from the preflight.",
				Attributes: map[string]schema.Attribute{
					"model":      schema.StringAttribute{Computed: true, MarkdownDescription: "GPU model, e.g. `A100 80GB`."},
					"count":      schema.Int64Attribute{Computed: true, MarkdownDescription: "GPUs per node."},
					"memory_mib": schema.Int64Attribute{Computed: true, MarkdownDescription: "Memory per GPU in MiB."},
					"vcpus":      schema.Int64Attribute{Computed: true, MarkdownDescription: "vCPUs per node."},
				},
			},
			"vcpu_quotas": schema.ListNestedAttribute{
				Computed: true, MarkdownDescription: "The location's vCPU quotas the preflight checked: `cores` (total regional) and the size's family.",
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"name":   schema.StringAttribute{Computed: true, MarkdownDescription: "Usage name, e.g. `cores` or `standardNCADSA100v4Family`."},
					"limit":  schema.Int64Attribute{Computed: true, MarkdownDescription: "vCPUs allowed."},
					"used":   schema.Int64Attribute{Computed: true, MarkdownDescription: "vCPUs in use when checked."},
					"needed": schema.Int64Attribute{Computed: true, MarkdownDescription: "vCPUs `max_nodes` nodes need."},
				}},
			},
			"network_security_group_id": computed("ID of the nodes' network security group."),
			"identity_id":               computed("ID of the nodes' user-assigned managed identity."),
			"identity_client_id":        computed("Client ID of that identity (grant it more, e.g. to pull from a private registry)."),
			"key_vault_id":              computed("ID of the cluster's Key Vault."),
			"key_vault_uri":             computed("URI of the cluster's Key Vault."),
			"load_balancer_id":          computed("ID of the internal load balancer."),
			"private_ip":                computed("Private address of the load balancer's frontend: the endpoints' URLs."),
		},
	}
}

type clusterAzureModel struct {
	SubscriptionID types.String `tfsdk:"subscription_id"`
	ResourceGroup  types.String `tfsdk:"resource_group"`
	Location       types.String `tfsdk:"location"`
	SubnetID       types.String `tfsdk:"subnet_id"`
	VMSize         types.String `tfsdk:"vm_size"`
	Image          types.Object `tfsdk:"image"`
	Priority       types.Object `tfsdk:"priority"`
	Zones          types.List   `tfsdk:"zones"`
	OSDiskGiB      types.Int64  `tfsdk:"os_disk_gib"`
	AllowedCIDRs   types.List   `tfsdk:"allowed_cidrs"`
	ServingPorts   types.List   `tfsdk:"serving_ports"`
	MaxNodes       types.Int64  `tfsdk:"max_nodes"`
	TrustedLaunch  types.Bool   `tfsdk:"trusted_launch"`
	KeyVault       types.Object `tfsdk:"key_vault"`
	Tags           types.Map    `tfsdk:"tags"`
	// computed
	GPU              types.Object `tfsdk:"gpu"`
	VCPUQuotas       types.List   `tfsdk:"vcpu_quotas"`
	SecurityGroupID  types.String `tfsdk:"network_security_group_id"`
	IdentityID       types.String `tfsdk:"identity_id"`
	IdentityClientID types.String `tfsdk:"identity_client_id"`
	KeyVaultID       types.String `tfsdk:"key_vault_id"`
	KeyVaultURI      types.String `tfsdk:"key_vault_uri"`
	LoadBalancerID   types.String `tfsdk:"load_balancer_id"`
	PrivateIP        types.String `tfsdk:"private_ip"`
}

// ExpandCluster builds the backend's spec; the ID needs the subscription, group and name.
func (azureAdapter) ExpandCluster(ctx context.Context, block types.Object) (any, bool, bool, diag.Diagnostics) {
	var diags diag.Diagnostics
	spec := &azurebackend.ClusterSpec{TrustedLaunch: true}
	if block.IsNull() || block.IsUnknown() {
		return spec, false, false, diags
	}
	var m clusterAzureModel
	diags.Append(block.As(ctx, &m, basetypes.ObjectAsOptions{UnhandledUnknownAsEmpty: true, UnhandledNullAsEmpty: true})...)
	known := true
	for _, v := range []attr.Value{m.SubscriptionID, m.ResourceGroup, m.Location, m.SubnetID, m.VMSize, m.Image, m.Priority, m.Zones,
		m.OSDiskGiB, m.AllowedCIDRs, m.ServingPorts, m.MaxNodes, m.TrustedLaunch, m.KeyVault, m.Tags} {
		known = known && !v.IsUnknown()
	}
	spec.SubscriptionID, spec.ResourceGroup, spec.Location = m.SubscriptionID.ValueString(), m.ResourceGroup.ValueString(), m.Location.ValueString()
	spec.SubnetID, spec.VMSize = m.SubnetID.ValueString(), m.VMSize.ValueString()
	spec.OSDiskGiB, spec.MaxNodes = m.OSDiskGiB.ValueInt64(), m.MaxNodes.ValueInt64()
	if !m.TrustedLaunch.IsNull() && !m.TrustedLaunch.IsUnknown() {
		spec.TrustedLaunch = m.TrustedLaunch.ValueBool()
	}
	if !m.Image.IsNull() && !m.Image.IsUnknown() {
		a := m.Image.Attributes()
		for _, v := range a {
			known = known && !v.IsUnknown()
		}
		spec.Image = azurebackend.Image{Publisher: stringAttr(a, "publisher"), Offer: stringAttr(a, "offer"), SKU: stringAttr(a, "sku"), Version: stringAttr(a, "version"), ID: stringAttr(a, "id")}
	}
	if !m.Priority.IsNull() && !m.Priority.IsUnknown() {
		a := m.Priority.Attributes()
		for _, v := range a {
			known = known && !v.IsUnknown()
		}
		if v, ok := a["spot_percentage"].(types.Int64); ok {
			spec.Priority.SpotPercentage = v.ValueInt64()
		}
		spec.Priority.EvictionPolicy = stringAttr(a, "eviction_policy")
		if v, ok := a["max_price"].(types.Float64); ok && !v.IsNull() {
			spec.Priority.MaxPrice = v.ValueFloat64()
		}
	}
	if !m.KeyVault.IsNull() && !m.KeyVault.IsUnknown() {
		a := m.KeyVault.Attributes()
		for _, v := range a {
			known = known && !v.IsUnknown()
		}
		pp, _ := a["purge_protection"].(types.Bool)
		pa, _ := a["public_network_access"].(types.Bool)
		spec.KeyVault = azurebackend.KeyVault{PurgeProtection: pp.ValueBool(), PublicNetworkAccess: pa.ValueBool()}
	}
	spec.Zones = listOf[string](ctx, m.Zones, &diags)
	spec.AllowedCIDRs = listOf[string](ctx, m.AllowedCIDRs, &diags)
	spec.ServingPorts = listOf[int64](ctx, m.ServingPorts, &diags)
	if !m.Tags.IsNull() && !m.Tags.IsUnknown() {
		diags.Append(m.Tags.ElementsAs(ctx, &spec.Tags, false)...)
	}
	idKnown := !m.SubscriptionID.IsUnknown() && !m.ResourceGroup.IsUnknown()
	return spec, known, idKnown, diags
}

func stringAttr(a map[string]attr.Value, name string) string {
	if v, ok := a[name].(types.String); ok {
		return v.ValueString()
	}
	return ""
}

// PlanCluster keeps the computed attributes from state (unknown on create or replacement) and
// shows the preflight's GPU and quotas when it ran.
func (azureAdapter) PlanCluster(ctx context.Context, planned, prior types.Object, p *backend.ClusterPlan) (types.Object, diag.Diagnostics) {
	var diags diag.Diagnostics
	if planned.IsNull() || planned.IsUnknown() {
		return planned, diags
	}
	attrs := planned.Attributes()
	replace := p != nil && len(p.Replace) > 0
	for _, name := range clusterAzureComputed {
		attrs[name] = unknownOf(clusterAzureAttrTypes[name])
		if !prior.IsNull() && !prior.IsUnknown() && !replace {
			attrs[name] = prior.Attributes()[name]
		}
	}
	if p != nil {
		if pf, ok := p.Facts.(*azurebackend.Preflight); ok {
			attrs["gpu"], attrs["vcpu_quotas"] = flattenAzureFacts(pf)
		}
	}
	out, d := types.ObjectValue(clusterAzureAttrTypes, attrs)
	diags.Append(d...)
	return out, diags
}

func unknownOf(t attr.Type) attr.Value {
	switch tt := t.(type) {
	case types.ObjectType:
		return types.ObjectUnknown(tt.AttrTypes)
	case types.ListType:
		return types.ListUnknown(tt.ElemType)
	}
	return types.StringUnknown()
}

func flattenAzureFacts(pf *azurebackend.Preflight) (types.Object, types.List) {
	gpu := types.ObjectValueMust(clusterAzureGPUAttrTypes, map[string]attr.Value{
		"model": types.StringValue(pf.GPU.GPUModel), "count": types.Int64Value(pf.GPU.GPUCount),
		"memory_mib": types.Int64Value(pf.GPU.GPUMemoryMiB), "vcpus": types.Int64Value(pf.GPU.VCPUs),
	})
	var qs []attr.Value
	for _, q := range pf.Quotas {
		qs = append(qs, types.ObjectValueMust(clusterAzureQuotaAttrTypes, map[string]attr.Value{
			"name": types.StringValue(q.Name), "limit": types.Int64Value(q.Limit), "used": types.Int64Value(q.Used), "needed": types.Int64Value(q.NeededVCPUs),
		}))
	}
	return gpu, types.ListValueMust(types.ObjectType{AttrTypes: clusterAzureQuotaAttrTypes}, qs)
}

// FlattenCluster keeps the block's arguments (or, on import, reads them from the load
// balancer's tags) and sets the computed attributes from what exists.
func (azureAdapter) FlattenCluster(ctx context.Context, prior types.Object, c *backend.Cluster) (types.Object, diag.Diagnostics) {
	var diags diag.Diagnostics
	ac, ok := c.Details.(*azurebackend.Cluster)
	if !ok {
		diags.AddError("reading the azure block", "the Azure backend returned no cluster: this is a bug in the provider")
		return prior, diags
	}
	var attrs map[string]attr.Value
	if prior.IsNull() || prior.IsUnknown() {
		attrs = flattenClusterAzureArgs(ctx, ac, &diags)
	} else {
		attrs = prior.Attributes()
	}
	// The plan's facts (the preflight's) stay; an apply that did not plan them fills the GPU in.
	if ac.Facts != nil && ac.Facts.GPU.GPUCount > 0 {
		gpu, quotas := flattenAzureFacts(ac.Facts)
		if v, ok := attrs["gpu"]; !ok || v.IsNull() || v.IsUnknown() {
			attrs["gpu"] = gpu
		}
		if v, ok := attrs["vcpu_quotas"]; (!ok || v.IsNull() || v.IsUnknown()) && len(ac.Facts.Quotas) > 0 {
			attrs["vcpu_quotas"] = quotas
		}
	}
	for _, name := range []string{"gpu", "vcpu_quotas"} {
		if v, ok := attrs[name]; !ok || v.IsUnknown() {
			switch tt := clusterAzureAttrTypes[name].(type) {
			case types.ObjectType:
				attrs[name] = types.ObjectNull(tt.AttrTypes)
			case types.ListType:
				attrs[name] = types.ListNull(tt.ElemType)
			}
		}
	}
	attrs["network_security_group_id"] = stringOrNull(ac.SecurityGroupID)
	attrs["identity_id"] = stringOrNull(ac.IdentityID)
	attrs["identity_client_id"] = stringOrNull(ac.IdentityClientID)
	attrs["key_vault_id"] = stringOrNull(ac.VaultID)
	attrs["key_vault_uri"] = stringOrNull(ac.VaultURI)
	attrs["load_balancer_id"] = stringOrNull(ac.LoadBalancerID)
	attrs["private_ip"] = stringOrNull(ac.PrivateIP)
	out, d := types.ObjectValue(clusterAzureAttrTypes, attrs)
	diags.Append(d...)
	return out, diags
}

// flattenClusterAzureArgs is the block of an imported cluster, from the settings its load
// balancer keeps; defaults stay null.
func flattenClusterAzureArgs(ctx context.Context, c *azurebackend.Cluster, diags *diag.Diagnostics) map[string]attr.Value {
	s := c.Spec
	attrs := map[string]attr.Value{
		"subscription_id": types.StringNull(), "resource_group": types.StringValue(c.ResourceGroup), "location": types.StringValue(c.Location),
		"subnet_id": types.StringValue(s.SubnetID), "vm_size": types.StringValue(s.VMSize),
		"image":       types.ObjectNull(clusterAzureImageAttrTypes),
		"priority":    types.ObjectNull(clusterAzurePriorityAttrTypes),
		"zones":       types.ListNull(types.StringType),
		"os_disk_gib": types.Int64Null(), "allowed_cidrs": types.ListNull(types.StringType), "serving_ports": types.ListNull(types.Int64Type),
		"max_nodes": types.Int64Null(), "trusted_launch": types.BoolNull(), "key_vault": types.ObjectNull(clusterAzureVaultAttrTypes),
		"tags": types.MapNull(types.StringType),
	}
	if s.Image != azurebackend.DefaultImage && s.Image != (azurebackend.Image{}) {
		attrs["image"] = types.ObjectValueMust(clusterAzureImageAttrTypes, map[string]attr.Value{
			"publisher": stringOrNull(s.Image.Publisher), "offer": stringOrNull(s.Image.Offer), "sku": stringOrNull(s.Image.SKU),
			"version": stringOrNull(s.Image.Version), "id": stringOrNull(s.Image.ID),
		})
	}
	if s.Priority.SpotPercentage > 0 {
		attrs["priority"] = types.ObjectValueMust(clusterAzurePriorityAttrTypes, map[string]attr.Value{
			"spot_percentage": types.Int64Value(s.Priority.SpotPercentage), "eviction_policy": types.StringValue(s.Priority.EvictionPolicy),
			"max_price": types.Float64Value(s.Priority.MaxPrice),
		})
	}
	if len(s.Zones) > 0 {
		attrs["zones"], _ = types.ListValueFrom(ctx, types.StringType, s.Zones)
	}
	if s.OSDiskGiB > 0 {
		attrs["os_disk_gib"] = types.Int64Value(s.OSDiskGiB)
	}
	if len(s.AllowedCIDRs) > 0 {
		attrs["allowed_cidrs"], _ = types.ListValueFrom(ctx, types.StringType, s.AllowedCIDRs)
	}
	if !slices.Equal(s.ServingPorts, azurebackend.DefaultServingPorts) && len(s.ServingPorts) > 0 {
		attrs["serving_ports"], _ = types.ListValueFrom(ctx, types.Int64Type, s.ServingPorts)
	}
	if s.MaxNodes > 1 {
		attrs["max_nodes"] = types.Int64Value(s.MaxNodes)
	}
	if !s.TrustedLaunch {
		attrs["trusted_launch"] = types.BoolValue(false)
	}
	if s.KeyVault != (azurebackend.KeyVault{}) {
		attrs["key_vault"] = types.ObjectValueMust(clusterAzureVaultAttrTypes, map[string]attr.Value{
			"purge_protection": types.BoolValue(s.KeyVault.PurgeProtection), "public_network_access": types.BoolValue(s.KeyVault.PublicNetworkAccess),
		})
	}
	if len(s.Tags) > 0 {
		v, d := types.MapValueFrom(ctx, types.StringType, s.Tags)
		diags.Append(d...)
		attrs["tags"] = v
	}
	return attrs
}
