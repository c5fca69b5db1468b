package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"

	"github.com/inferstack/terraform-provider-inferstack/internal/backend"
	k8sbackend "github.com/inferstack/terraform-provider-inferstack/internal/backend/kubernetes"
)

// kubernetesAdapter is the Kubernetes backend's part of the provider: the kubernetes block of
// inferstack_inference_cluster (the namespace and how to reach the GPU nodes, and, computed, the
// nodes the pool has) and the kubernetes block of inferstack_model_endpoint
// (model_endpoint_kubernetes.go). The objects are made by internal/backend/kubernetes with
// server-side apply; the cluster's scheduler places the replicas.
type kubernetesAdapter struct{}

var _ BackendAdapter = kubernetesAdapter{}

func (kubernetesAdapter) Name() string { return k8sbackend.Name }

var (
	clusterK8sTolerationAttrTypes = map[string]attr.Type{
		"key": types.StringType, "operator": types.StringType, "value": types.StringType, "effect": types.StringType,
		"toleration_seconds": types.Int64Type,
	}
	clusterK8sModelCacheAttrTypes = map[string]attr.Type{"storage_class": types.StringType, "size_gib": types.Int64Type}
	clusterK8sNodeAttrTypes       = map[string]attr.Type{
		"name": types.StringType, "gpu_product": types.StringType, "gpus": types.Int64Type, "gpu_memory_mib": types.Int64Type,
	}
	clusterK8sAttrTypes = map[string]attr.Type{
		"namespace":     types.StringType,
		"node_selector": types.MapType{ElemType: types.StringType},
		"tolerations":   types.ListType{ElemType: types.ObjectType{AttrTypes: clusterK8sTolerationAttrTypes}},
		"runtime_class": types.StringType,
		"model_cache":   types.ObjectType{AttrTypes: clusterK8sModelCacheAttrTypes},
		"nodes":         types.ListType{ElemType: types.ObjectType{AttrTypes: clusterK8sNodeAttrTypes}},
	}
)

func (kubernetesAdapter) ClusterBlock() schema.SingleNestedAttribute {
	return schema.SingleNestedAttribute{
		Optional: true,
		MarkdownDescription: "GPU nodes of an existing Kubernetes cluster (with the NVIDIA device plugin or GPU Operator), " +
			"reached with the provider's `kubernetes` settings. The cluster is a namespace (created if missing and " +
			"labelled `app.kubernetes.io/managed-by = inferstack`; removed on destroy only if this cluster created it) " +
			"and the node selector and tolerations its endpoints' pods get; its settings are kept in a ConfigMap " +
			"`inferstack-cluster-<name>` there, so an endpoint given only `cluster_id` finds them. Each " +
			"`inferstack_model_endpoint` adds a Deployment, a Service, a Secret, a PodDisruptionBudget and a " +
			"NetworkPolicy; the cluster's scheduler places replicas by `nvidia.com/gpu`.",
		Attributes: map[string]schema.Attribute{
			"namespace": schema.StringAttribute{
				Required:            true,
				MarkdownDescription: "Namespace the endpoints run in; created if missing. Changing it replaces the cluster.",
				Validators:          []validator.String{stringvalidator.LengthBetween(1, 63)},
			},
			"node_selector": schema.MapAttribute{
				ElementType: types.StringType,
				Optional:    true,
				MarkdownDescription: "Node labels the pods must match, e.g. `{ \"nvidia.com/gpu.product\" = \"NVIDIA-L40S\" }` " +
					"(GPU feature discovery's labels). `nodes` lists the schedulable nodes that match.",
			},
			"tolerations": schema.ListNestedAttribute{
				Optional:            true,
				MarkdownDescription: "Tolerations of the pods, e.g. of the `nvidia.com/gpu` taint GPU node pools carry.",
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"key": schema.StringAttribute{Optional: true, MarkdownDescription: "Taint key; empty with operator `Exists` tolerates every taint."},
					"operator": schema.StringAttribute{
						Optional: true, MarkdownDescription: "`Equal` (default) or `Exists`.",
						Validators: []validator.String{stringvalidator.OneOf("Equal", "Exists")},
					},
					"value": schema.StringAttribute{Optional: true, MarkdownDescription: "Taint value (with `Equal`)."},
					"effect": schema.StringAttribute{
						Optional: true, MarkdownDescription: "`NoSchedule`, `PreferNoSchedule` or `NoExecute`; empty matches all.",
						Validators: []validator.String{stringvalidator.OneOf("NoSchedule", "PreferNoSchedule", "NoExecute")},
					},
					"toleration_seconds": schema.Int64Attribute{
						Optional: true, MarkdownDescription: "With `NoExecute`: how long the pod stays after the taint appears.",
						Validators: []validator.Int64{int64validator.AtLeast(0)},
					},
				}},
			},
			"runtime_class": schema.StringAttribute{
				Optional:            true,
				MarkdownDescription: "RuntimeClass of the pods (e.g. `nvidia` where the GPU Operator installs one and it is not the default).",
			},
			"model_cache": schema.SingleNestedAttribute{
				Optional: true,
				MarkdownDescription: "A ReadWriteMany volume shared by the endpoints' pods as the Hugging Face cache, so a " +
					"replica starting on another node does not download the weights again. Without it each pod " +
					"downloads into an emptyDir.",
				Attributes: map[string]schema.Attribute{
					"storage_class": schema.StringAttribute{Optional: true, MarkdownDescription: "StorageClass (ReadWriteMany); default the cluster's default class."},
					"size_gib": schema.Int64Attribute{
						Required: true, MarkdownDescription: "Size in GiB.",
						Validators: []validator.Int64{int64validator.AtLeast(1)},
					},
				},
			},
			"nodes": schema.ListNestedAttribute{
				Computed:            true,
				MarkdownDescription: "Schedulable nodes that match `node_selector`, with their GPUs, as last read.",
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"name":           schema.StringAttribute{Computed: true, MarkdownDescription: "Node name."},
					"gpu_product":    schema.StringAttribute{Computed: true, MarkdownDescription: "The `nvidia.com/gpu.product` label (empty when absent)."},
					"gpus":           schema.Int64Attribute{Computed: true, MarkdownDescription: "Allocatable `nvidia.com/gpu`."},
					"gpu_memory_mib": schema.Int64Attribute{Computed: true, MarkdownDescription: "Memory per GPU from the `nvidia.com/gpu.memory` label; 0 when absent."},
				}},
			},
		},
	}
}

type clusterK8sModel struct {
	Namespace    types.String `tfsdk:"namespace"`
	NodeSelector types.Map    `tfsdk:"node_selector"`
	Tolerations  types.List   `tfsdk:"tolerations"`
	RuntimeClass types.String `tfsdk:"runtime_class"`
	ModelCache   types.Object `tfsdk:"model_cache"`
	Nodes        types.List   `tfsdk:"nodes"`
}

type clusterK8sTolerationModel struct {
	Key               types.String `tfsdk:"key"`
	Operator          types.String `tfsdk:"operator"`
	Value             types.String `tfsdk:"value"`
	Effect            types.String `tfsdk:"effect"`
	TolerationSeconds types.Int64  `tfsdk:"toleration_seconds"`
}

type clusterK8sModelCacheModel struct {
	StorageClass types.String `tfsdk:"storage_class"`
	SizeGiB      types.Int64  `tfsdk:"size_gib"`
}

// ExpandCluster builds the backend's spec; known is false while a value is unknown. The ID
// (namespace and name) is known as soon as the namespace is.
func (kubernetesAdapter) ExpandCluster(ctx context.Context, block types.Object) (any, bool, bool, diag.Diagnostics) {
	var diags diag.Diagnostics
	spec := &k8sbackend.ClusterSpec{}
	if block.IsNull() || block.IsUnknown() {
		return spec, false, false, diags
	}
	var m clusterK8sModel
	diags.Append(block.As(ctx, &m, basetypes.ObjectAsOptions{UnhandledUnknownAsEmpty: true, UnhandledNullAsEmpty: true})...)
	known := !m.Namespace.IsUnknown() && !m.NodeSelector.IsUnknown() && !m.Tolerations.IsUnknown() &&
		!m.RuntimeClass.IsUnknown() && !m.ModelCache.IsUnknown()
	spec.Namespace = m.Namespace.ValueString()
	spec.RuntimeClass = m.RuntimeClass.ValueString()
	if !m.NodeSelector.IsNull() && !m.NodeSelector.IsUnknown() {
		diags.Append(m.NodeSelector.ElementsAs(ctx, &spec.NodeSelector, false)...)
	}
	for _, t := range listOf[clusterK8sTolerationModel](ctx, m.Tolerations, &diags) {
		known = known && !t.Key.IsUnknown() && !t.Operator.IsUnknown() && !t.Value.IsUnknown() && !t.Effect.IsUnknown() && !t.TolerationSeconds.IsUnknown()
		tol := k8sbackend.Toleration{Key: t.Key.ValueString(), Operator: t.Operator.ValueString(), Value: t.Value.ValueString(), Effect: t.Effect.ValueString()}
		if !t.TolerationSeconds.IsNull() && !t.TolerationSeconds.IsUnknown() {
			s := t.TolerationSeconds.ValueInt64()
			tol.TolerationSeconds = &s
		}
		spec.Tolerations = append(spec.Tolerations, tol)
	}
	if !m.ModelCache.IsNull() && !m.ModelCache.IsUnknown() {
		var c clusterK8sModelCacheModel
		diags.Append(m.ModelCache.As(ctx, &c, basetypes.ObjectAsOptions{UnhandledUnknownAsEmpty: true})...)
		known = known && !c.StorageClass.IsUnknown() && !c.SizeGiB.IsUnknown()
		spec.ModelCache = &k8sbackend.ModelCache{StorageClass: c.StorageClass.ValueString(), SizeGiB: c.SizeGiB.ValueInt64()}
	}
	return spec, known, !m.Namespace.IsUnknown(), diags
}

// PlanCluster keeps nodes from state while the node selector is the same; otherwise they are
// known after apply.
func (kubernetesAdapter) PlanCluster(ctx context.Context, planned, prior types.Object, _ *backend.ClusterPlan) (types.Object, diag.Diagnostics) {
	var diags diag.Diagnostics
	nodes := types.ListUnknown(types.ObjectType{AttrTypes: clusterK8sNodeAttrTypes})
	if !prior.IsNull() && !prior.IsUnknown() && !planned.IsUnknown() {
		pa, sa := planned.Attributes(), prior.Attributes()
		if pa["node_selector"].Equal(sa["node_selector"]) && pa["namespace"].Equal(sa["namespace"]) {
			if n, ok := sa["nodes"].(types.List); ok && !n.IsNull() {
				nodes = n
			}
		}
	}
	return withAttribute(planned, "nodes", nodes, &diags), diags
}

// FlattenCluster keeps the block's arguments (or, on import, reads them from the cluster's
// ConfigMap) and sets nodes from what the API server lists.
func (kubernetesAdapter) FlattenCluster(ctx context.Context, prior types.Object, c *backend.Cluster) (types.Object, diag.Diagnostics) {
	var diags diag.Diagnostics
	d, ok := c.Details.(*k8sbackend.ClusterDetails)
	if !ok {
		diags.AddError("reading the kubernetes block", "the Kubernetes backend returned no cluster: this is a bug in the provider")
		return prior, diags
	}
	block := prior
	if prior.IsNull() || prior.IsUnknown() {
		block = flattenClusterK8s(ctx, d.Spec, &diags)
	}
	var nodes []attr.Value
	for _, n := range d.Nodes {
		nodes = append(nodes, types.ObjectValueMust(clusterK8sNodeAttrTypes, map[string]attr.Value{
			"name": types.StringValue(n.Name), "gpu_product": types.StringValue(n.GPUProduct),
			"gpus": types.Int64Value(n.GPUs), "gpu_memory_mib": types.Int64Value(n.GPUMemoryMiB),
		}))
	}
	list, dd := types.ListValue(types.ObjectType{AttrTypes: clusterK8sNodeAttrTypes}, nodes)
	diags.Append(dd...)
	return withAttribute(block, "nodes", list, &diags), diags
}

// flattenClusterK8s is the block of an imported cluster, from the settings kept with it.
func flattenClusterK8s(ctx context.Context, s k8sbackend.ClusterSpec, diags *diag.Diagnostics) types.Object {
	m := clusterK8sModel{
		Namespace:    types.StringValue(s.Namespace),
		NodeSelector: types.MapNull(types.StringType),
		Tolerations:  types.ListNull(types.ObjectType{AttrTypes: clusterK8sTolerationAttrTypes}),
		RuntimeClass: optionalString(s.RuntimeClass),
		ModelCache:   types.ObjectNull(clusterK8sModelCacheAttrTypes),
		Nodes:        types.ListNull(types.ObjectType{AttrTypes: clusterK8sNodeAttrTypes}),
	}
	if len(s.NodeSelector) > 0 {
		v, d := types.MapValueFrom(ctx, types.StringType, s.NodeSelector)
		diags.Append(d...)
		m.NodeSelector = v
	}
	if len(s.Tolerations) > 0 {
		var ts []attr.Value
		for _, t := range s.Tolerations {
			secs := types.Int64Null()
			if t.TolerationSeconds != nil {
				secs = types.Int64Value(*t.TolerationSeconds)
			}
			ts = append(ts, types.ObjectValueMust(clusterK8sTolerationAttrTypes, map[string]attr.Value{
				"key": optionalString(t.Key), "operator": optionalString(t.Operator), "value": optionalString(t.Value),
				"effect": optionalString(t.Effect), "toleration_seconds": secs,
			}))
		}
		m.Tolerations = types.ListValueMust(types.ObjectType{AttrTypes: clusterK8sTolerationAttrTypes}, ts)
	}
	if s.ModelCache != nil {
		m.ModelCache = types.ObjectValueMust(clusterK8sModelCacheAttrTypes, map[string]attr.Value{
			"storage_class": optionalString(s.ModelCache.StorageClass), "size_gib": types.Int64Value(s.ModelCache.SizeGiB),
		})
	}
	out, d := types.ObjectValueFrom(ctx, clusterK8sAttrTypes, m)
	diags.Append(d...)
	return out
}
