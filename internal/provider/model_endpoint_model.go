package provider

import (
	"context"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/inferstack/terraform-provider-inferstack/internal/backend"
	"github.com/inferstack/terraform-provider-inferstack/internal/vllm"
)

// The models of inferstack_model_endpoint and their conversion to and from the backend's types.

// modelEndpointResourceModel is the resource's state.
type modelEndpointResourceModel struct {
	ID                     types.String              `tfsdk:"id"`
	ClusterID              types.String              `tfsdk:"cluster_id"`
	Name                   types.String              `tfsdk:"name"`
	Model                  *modelEndpointModelModel  `tfsdk:"model"`
	ResolvedRevision       types.String              `tfsdk:"resolved_revision"`
	Engine                 *modelEndpointEngineModel `tfsdk:"engine"`
	ServedModelName        types.String              `tfsdk:"served_model_name"`
	Replicas               types.Int64               `tfsdk:"replicas"`
	NodeSelector           types.Map                 `tfsdk:"node_selector"`
	Autoscaling            types.Object              `tfsdk:"autoscaling"`
	APIKey                 types.String              `tfsdk:"api_key"`
	APIKeyWO               types.String              `tfsdk:"api_key_wo"`
	APIKeyWOVersion        types.Int64               `tfsdk:"api_key_wo_version"`
	Rollout                types.Object              `tfsdk:"rollout"`
	ForceRemoveUnreachable types.Bool                `tfsdk:"force_remove_unreachable"`
	URL                    types.String              `tfsdk:"url"`
	URLs                   types.List                `tfsdk:"urls"`
	Placements             types.List                `tfsdk:"placements"`
	MetricsTargets         types.List                `tfsdk:"metrics_targets"`
	Status                 types.String              `tfsdk:"status"`
	Timeouts               timeouts.Value            `tfsdk:"timeouts"`
}

type modelEndpointModelModel struct {
	ID       types.String `tfsdk:"id"`
	Revision types.String `tfsdk:"revision"`
}

type modelEndpointEngineModel struct {
	Image                types.String  `tfsdk:"image"`
	TensorParallelSize   types.Int64   `tfsdk:"tensor_parallel_size"`
	PipelineParallelSize types.Int64   `tfsdk:"pipeline_parallel_size"`
	MaxModelLen          types.Int64   `tfsdk:"max_model_len"`
	GPUMemoryUtilization types.Float64 `tfsdk:"gpu_memory_utilization"`
	DType                types.String  `tfsdk:"dtype"`
	Quantization         types.String  `tfsdk:"quantization"`
	KVCacheDType         types.String  `tfsdk:"kv_cache_dtype"`
	MaxNumSeqs           types.Int64   `tfsdk:"max_num_seqs"`
	EnablePrefixCaching  types.Bool    `tfsdk:"enable_prefix_caching"`
	ExtraArgs            types.List    `tfsdk:"extra_args"`
}

type modelEndpointPlacementModel struct {
	Host    types.String `tfsdk:"host"`
	Replica types.Int64  `tfsdk:"replica"`
	GPUIDs  types.List   `tfsdk:"gpu_ids"`
	Port    types.Int64  `tfsdk:"port"`
	URL     types.String `tfsdk:"url"`
}

var engineAttrTypes = map[string]attr.Type{
	"image": types.StringType, "tensor_parallel_size": types.Int64Type, "pipeline_parallel_size": types.Int64Type,
	"max_model_len": types.Int64Type, "gpu_memory_utilization": types.Float64Type, "dtype": types.StringType,
	"quantization": types.StringType, "kv_cache_dtype": types.StringType, "max_num_seqs": types.Int64Type,
	"enable_prefix_caching": types.BoolType, "extra_args": types.ListType{ElemType: types.StringType},
}

var (
	scaleTargetAttrTypes = map[string]attr.Type{"metric": types.StringType, "value": types.Float64Type}
	autoscalingAttrTypes = map[string]attr.Type{"min": types.Int64Type, "max": types.Int64Type,
		"target": types.ObjectType{AttrTypes: scaleTargetAttrTypes}}
)

// scaleTargetValue is a backend's scale target as the autoscaling.target attribute.
func scaleTargetValue(t *backend.ScaleTarget) types.Object {
	if t == nil {
		return types.ObjectNull(scaleTargetAttrTypes)
	}
	return types.ObjectValueMust(scaleTargetAttrTypes, map[string]attr.Value{"metric": types.StringValue(t.Metric), "value": types.Float64Value(t.Value)})
}

// expandScaleTarget is autoscaling.target as the backend takes it (nil when unset).
func expandScaleTarget(autoscaling types.Object) *backend.ScaleTarget {
	if autoscaling.IsNull() || autoscaling.IsUnknown() {
		return nil
	}
	t, ok := autoscaling.Attributes()["target"].(types.Object)
	if !ok || t.IsNull() || t.IsUnknown() {
		return nil
	}
	m, _ := t.Attributes()["metric"].(types.String)
	v, _ := t.Attributes()["value"].(types.Float64)
	return &backend.ScaleTarget{Metric: m.ValueString(), Value: v.ValueFloat64()}
}

// withScaleTarget is autoscaling with target as the backend reads it, so that a policy changed or
// deleted outside Terraform is planned back.
func withScaleTarget(autoscaling types.Object, t *backend.ScaleTarget) types.Object {
	if autoscaling.IsNull() || autoscaling.IsUnknown() {
		return autoscaling
	}
	attrs := maps.Clone(autoscaling.Attributes())
	attrs["target"] = scaleTargetValue(t)
	return types.ObjectValueMust(autoscalingAttrTypes, attrs)
}

// metricsTargetAttrTypes is one element of metrics_targets, the shape
// inferstack_prometheus_config's targets take.
var metricsTargetAttrTypes = map[string]attr.Type{"target": types.StringType, "labels": types.MapType{ElemType: types.StringType}}

var placementAttrTypes = map[string]attr.Type{
	"host": types.StringType, "replica": types.Int64Type, "gpu_ids": types.ListType{ElemType: types.Int64Type},
	"port": types.Int64Type, "url": types.StringType,
}

// expandSpec turns the plan into the spec template (no replicas, no secrets); ok is false when
// a value is not known yet.
func (r *modelEndpointResource) expandSpec(ctx context.Context, m modelEndpointResourceModel, diags *diag.Diagnostics) (vllm.Spec, bool) {
	if m.Name.IsUnknown() || m.Model == nil || m.Model.ID.IsUnknown() || m.ServedModelName.IsUnknown() || m.Engine == nil {
		return vllm.Spec{}, false
	}
	e := m.Engine
	for _, v := range []attr.Value{e.Image, e.TensorParallelSize, e.PipelineParallelSize, e.MaxModelLen, e.GPUMemoryUtilization,
		e.DType, e.Quantization, e.KVCacheDType, e.MaxNumSeqs, e.EnablePrefixCaching, e.ExtraArgs, m.ResolvedRevision} {
		if v.IsUnknown() {
			return vllm.Spec{}, false
		}
	}
	var extra []string
	if !e.ExtraArgs.IsNull() {
		diags.Append(e.ExtraArgs.ElementsAs(ctx, &extra, false)...)
	}
	s := vllm.Spec{
		Endpoint:        m.Name.ValueString(),
		Model:           vllm.Model{ID: m.Model.ID.ValueString(), Revision: m.ResolvedRevision.ValueString()},
		ServedModelName: m.ServedModelName.ValueString(),
		Engine: vllm.Engine{
			Image:                e.Image.ValueString(),
			TensorParallelSize:   int(e.TensorParallelSize.ValueInt64()),
			PipelineParallelSize: int(e.PipelineParallelSize.ValueInt64()),
			MaxModelLen:          int(e.MaxModelLen.ValueInt64()),
			GPUMemoryUtilization: e.GPUMemoryUtilization.ValueFloat64(),
			DType:                e.DType.ValueString(),
			Quantization:         e.Quantization.ValueString(),
			KVCacheDType:         e.KVCacheDType.ValueString(),
			MaxNumSeqs:           int(e.MaxNumSeqs.ValueInt64()),
			ExtraArgs:            extra,
		},
	}
	if !e.EnablePrefixCaching.IsNull() {
		v := e.EnablePrefixCaching.ValueBool()
		s.Engine.EnablePrefixCaching = &v
	}
	return s, true
}

// expandEndpointSpec builds what the backend gets for Create and Update: the spec template, the
// replicas and their bounds, the secrets (api_key from the plan, api_key_wo from the
// configuration), and the backend's own block; the readiness wait takes what the timeout leaves.
func (r *modelEndpointResource) expandEndpointSpec(ctx context.Context, plan modelEndpointResourceModel, block types.Object,
	adapter BackendAdapter, config interface {
		GetAttribute(context.Context, path.Path, any) diag.Diagnostics
	}, timeout time.Duration, summary string, diags *diag.Diagnostics) (backend.EndpointSpec, bool) {
	node, ok := r.expandSpec(ctx, plan, diags)
	if !ok {
		diags.AddError(summary, "some settings are still unknown at apply time: this is a bug in the provider")
		return backend.EndpointSpec{}, false
	}
	node.ReadyTimeout = max(timeout-modelEndpointReadyMargin, time.Second)
	apiKey, ok := endpointAPIKeyValue(ctx, plan, config, summary, diags)
	if !ok {
		return backend.EndpointSpec{}, false
	}
	spec := backend.EndpointSpec{
		ClusterID:      plan.ClusterID.ValueString(),
		Name:           plan.Name.ValueString(),
		Node:           node,
		Replicas:       plan.Replicas.ValueInt64(),
		APIKey:         apiKey,
		HFToken:        r.data.HuggingFace.Token,
		MaxUnavailable: 1,
	}
	if !plan.NodeSelector.IsNull() {
		diags.Append(plan.NodeSelector.ElementsAs(ctx, &spec.NodeSelector, false)...)
	}
	if !plan.Rollout.IsNull() && !plan.Rollout.IsUnknown() {
		if v, ok := plan.Rollout.Attributes()["max_unavailable"].(types.Int64); ok && !v.IsNull() {
			spec.MaxUnavailable = v.ValueInt64()
		}
	}
	if !plan.Autoscaling.IsNull() && !plan.Autoscaling.IsUnknown() {
		attrs := plan.Autoscaling.Attributes()
		spec.MinReplicas = attrs["min"].(types.Int64).ValueInt64()
		spec.MaxReplicas = attrs["max"].(types.Int64).ValueInt64()
		spec.ScaleTarget = expandScaleTarget(plan.Autoscaling)
	}
	if adapter != nil {
		settings, d := adapter.ExpandEndpoint(ctx, block)
		diags.Append(d...)
		spec.Settings = settings
	}
	return spec, !diags.HasError()
}

// endpointAPIKeyValue is the key vLLM requires: api_key from the plan, or api_key_wo from the
// configuration (write-only values are never in the plan).
func endpointAPIKeyValue(ctx context.Context, plan modelEndpointResourceModel, config interface {
	GetAttribute(context.Context, path.Path, any) diag.Diagnostics
}, summary string, diags *diag.Diagnostics) (string, bool) {
	apiKey := plan.APIKey.ValueString()
	if apiKey == "" {
		var wo types.String
		diags.Append(config.GetAttribute(ctx, path.Root("api_key_wo"), &wo)...)
		apiKey = wo.ValueString()
	}
	if apiKey == "" {
		diags.AddAttributeError(path.Root("api_key"), summary, "vLLM always runs with an API key: set api_key or api_key_wo.")
		return "", false
	}
	return apiKey, true
}

// flattenEndpoint records what exists of e in m: the ID, the URLs (the shared one, or every
// replica's), the placements on named hosts and the status.
func flattenEndpoint(m *modelEndpointResourceModel, e *backend.Endpoint) {
	m.ID = types.StringValue(e.ID)
	urls := []attr.Value{}
	objs := []attr.Value{}
	m.URL = types.StringNull()
	if e.URL != "" {
		m.URL = types.StringValue(e.URL)
		urls = append(urls, types.StringValue(e.URL))
	}
	for _, p := range e.Replicas {
		gpus := []attr.Value{}
		for _, g := range p.GPUIDs {
			gpus = append(gpus, types.Int64Value(int64(g)))
		}
		objs = append(objs, types.ObjectValueMust(placementAttrTypes, map[string]attr.Value{
			"host": types.StringValue(p.Host), "replica": types.Int64Value(int64(p.Index)),
			"gpu_ids": types.ListValueMust(types.Int64Type, gpus), "port": types.Int64Value(int64(p.Port)),
			"url": types.StringValue(p.URL),
		}))
		if e.URL == "" {
			urls = append(urls, types.StringValue(p.URL))
		}
	}
	m.URLs = types.ListValueMust(types.StringType, urls)
	m.Placements = types.ListValueMust(types.ObjectType{AttrTypes: placementAttrTypes}, objs)
	m.MetricsTargets = metricsTargets(m, e)
	m.Status = types.StringValue(e.Status)
}

// metricsTargets is where Prometheus scrapes each replica's /metrics (vLLM's own port, which
// serves it without the API key): host:port with the labels the dashboard draws by. A backend
// whose replicas sit behind one load-balanced URL has no per-replica address to give (AWS: use
// EC2 service discovery on the endpoint's Auto Scaling group, see the Prometheus guide).
func metricsTargets(m *modelEndpointResourceModel, e *backend.Endpoint) types.List {
	typ := types.ObjectType{AttrTypes: metricsTargetAttrTypes}
	var model, revision string
	if m.Model != nil {
		model = m.Model.ID.ValueString()
	}
	if !m.ResolvedRevision.IsUnknown() {
		revision = m.ResolvedRevision.ValueString()
	}
	objs := []attr.Value{}
	for _, p := range e.Replicas {
		u, err := url.Parse(p.URL)
		if err != nil || u.Host == "" {
			continue
		}
		labels := map[string]attr.Value{
			"endpoint": types.StringValue(e.Name), "replica": types.StringValue(strconv.Itoa(p.Index)), "host": types.StringValue(p.Host),
		}
		if model != "" {
			labels["model"] = types.StringValue(model)
		}
		if revision != "" {
			labels["revision"] = types.StringValue(revision)
		}
		objs = append(objs, types.ObjectValueMust(metricsTargetAttrTypes, map[string]attr.Value{
			"target": types.StringValue(u.Host), "labels": types.MapValueMust(types.StringType, labels),
		}))
	}
	if e.MetricsTarget != "" {
		labels := map[string]attr.Value{"endpoint": types.StringValue(e.Name), "host": types.StringValue(e.MetricsTarget)}
		if model != "" {
			labels["model"] = types.StringValue(model)
		}
		if revision != "" {
			labels["revision"] = types.StringValue(revision)
		}
		objs = append(objs, types.ObjectValueMust(metricsTargetAttrTypes, map[string]attr.Value{
			"target": types.StringValue(e.MetricsTarget), "labels": types.MapValueMust(types.StringType, labels),
		}))
	}
	return types.ListValueMust(typ, objs)
}

// keepUnreachable adds to e the replicas state holds on hosts that could not be asked, so they
// stay as last known.
func keepUnreachable(ctx context.Context, state modelEndpointResourceModel, e *backend.Endpoint, diags *diag.Diagnostics) {
	var old []modelEndpointPlacementModel
	if !state.Placements.IsNull() && !state.Placements.IsUnknown() {
		diags.Append(state.Placements.ElementsAs(ctx, &old, false)...)
	}
	for _, p := range old {
		if !slices.Contains(e.Unreachable, p.Host.ValueString()) {
			continue
		}
		rep := backend.Replica{Host: p.Host.ValueString(), Index: int(p.Replica.ValueInt64()), Port: int(p.Port.ValueInt64()),
			URL: p.URL.ValueString(), Ready: true}
		for _, g := range listOf[int64](ctx, p.GPUIDs, diags) {
			rep.GPUIDs = append(rep.GPUIDs, int(g))
		}
		e.Replicas = append(e.Replicas, rep)
	}
	slices.SortFunc(e.Replicas, func(a, b backend.Replica) int { return a.Index - b.Index })
}

// importedModel is the state an import starts from: the settings from the applied spec; the
// API key stays unset; Read fills in the placements.
func importedModel(s vllm.AppliedSpec) modelEndpointResourceModel {
	intOrNull := func(v int) types.Int64 {
		if v == 0 {
			return types.Int64Null()
		}
		return types.Int64Value(int64(v))
	}
	strOrNull := func(v string) types.String {
		if v == "" {
			return types.StringNull()
		}
		return types.StringValue(v)
	}
	extra := []attr.Value{}
	for _, a := range s.ExtraArgs {
		extra = append(extra, types.StringValue(a))
	}
	m := modelEndpointResourceModel{
		Model:            &modelEndpointModelModel{ID: types.StringValue(s.Model), Revision: types.StringValue(s.Revision)},
		ResolvedRevision: types.StringValue(s.Revision),
		Engine: &modelEndpointEngineModel{
			Image:                types.StringValue(s.Image),
			TensorParallelSize:   types.Int64Value(int64(max(s.TensorParallelSize, 1))),
			PipelineParallelSize: types.Int64Value(int64(max(s.PipelineParallelSize, 1))),
			MaxModelLen:          intOrNull(s.MaxModelLen),
			GPUMemoryUtilization: types.Float64Null(),
			DType:                strOrNull(s.DType),
			Quantization:         strOrNull(s.Quantization),
			KVCacheDType:         strOrNull(s.KVCacheDType),
			MaxNumSeqs:           intOrNull(s.MaxNumSeqs),
			EnablePrefixCaching:  types.BoolNull(),
			ExtraArgs:            types.ListValueMust(types.StringType, extra),
		},
		ServedModelName:        types.StringValue(s.ServedModelName),
		Replicas:               types.Int64Value(int64(s.Replicas)),
		NodeSelector:           types.MapNull(types.StringType),
		Autoscaling:            types.ObjectNull(autoscalingAttrTypes),
		APIKey:                 types.StringNull(),
		APIKeyWO:               types.StringNull(),
		APIKeyWOVersion:        types.Int64Null(),
		Rollout:                types.ObjectValueMust(map[string]attr.Type{"max_unavailable": types.Int64Type}, map[string]attr.Value{"max_unavailable": types.Int64Value(1)}),
		ForceRemoveUnreachable: types.BoolValue(false),
		URL:                    types.StringNull(),
		URLs:                   types.ListNull(types.StringType),
		Placements:             types.ListNull(types.ObjectType{AttrTypes: placementAttrTypes}),
		MetricsTargets:         types.ListNull(types.ObjectType{AttrTypes: metricsTargetAttrTypes}),
		Status:                 types.StringNull(),
		Timeouts:               nullTimeouts(),
	}
	if s.GPUMemoryUtilization > 0 {
		m.Engine.GPUMemoryUtilization = types.Float64Value(s.GPUMemoryUtilization)
	}
	if s.EnablePrefixCaching != nil {
		m.Engine.EnablePrefixCaching = types.BoolValue(*s.EnablePrefixCaching)
	}
	return m
}
