package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"

	"github.com/inferstack/terraform-provider-inferstack/internal/backend"
	azurebackend "github.com/inferstack/terraform-provider-inferstack/internal/backend/azure"
)

// The azure block of inferstack_model_endpoint: an endpoint's own settings on an Azure cluster.

var endpointAzureAttrTypes = map[string]attr.Type{
	"port": types.Int64Type, "max_batch_instance_percent": types.Int64Type, "max_unhealthy_instance_percent": types.Int64Type,
}

// EndpointBlock is the azure block of inferstack_model_endpoint.
func (azureAdapter) EndpointBlock() (schema.SingleNestedAttribute, bool) {
	return schema.SingleNestedAttribute{
		Optional: true,
		MarkdownDescription: "Settings for an endpoint on an Azure cluster (all optional; setting the block on another " +
			"backend's cluster is a plan-time error). On Azure the endpoint is a VM scale set (Flexible orchestration, " +
			"`inferstack-<cluster>-<endpoint>`) of `replicas` nodes with the cluster's size and image, whose custom data is " +
			"the node's cloud-init (the secrets are read at boot from the cluster's Key Vault with its managed identity), " +
			"behind a rule of the cluster's load balancer with an HTTP probe on `/health`. A change of the engine, the " +
			"model's served name or the API key rolls the nodes in batches, each gated on the nodes' health (the scale " +
			"set's rolling upgrade with the Application Health extension).",
		Attributes: map[string]schema.Attribute{
			"port": schema.Int64Attribute{
				Optional: true,
				MarkdownDescription: "The endpoint's port on the load balancer and the nodes: one of the cluster's " +
					"`azure.serving_ports`, not used by another endpoint. Defaults to 8000.",
				Validators: []validator.Int64{int64validator.Between(1024, 65535)},
			},
			"max_batch_instance_percent": schema.Int64Attribute{
				Optional:            true,
				MarkdownDescription: "Share of the nodes a rolling upgrade replaces at once (at least one node). Defaults to 20.",
				Validators:          []validator.Int64{int64validator.Between(5, 100)},
			},
			"max_unhealthy_instance_percent": schema.Int64Attribute{
				Optional:            true,
				MarkdownDescription: "A rolling upgrade stops when more of the nodes than this are unhealthy. Defaults to 20.",
				Validators:          []validator.Int64{int64validator.Between(5, 100)},
			},
		},
	}, true
}

type endpointAzureModel struct {
	Port                        types.Int64 `tfsdk:"port"`
	MaxBatchInstancePercent     types.Int64 `tfsdk:"max_batch_instance_percent"`
	MaxUnhealthyInstancePercent types.Int64 `tfsdk:"max_unhealthy_instance_percent"`
}

// ExpandEndpoint is the block as the backend's settings (zero values take its defaults).
func (azureAdapter) ExpandEndpoint(ctx context.Context, block types.Object) (any, diag.Diagnostics) {
	var diags diag.Diagnostics
	var m endpointAzureModel
	if !block.IsNull() && !block.IsUnknown() {
		diags.Append(block.As(ctx, &m, basetypes.ObjectAsOptions{UnhandledUnknownAsEmpty: true})...)
	}
	return &azurebackend.EndpointSettings{
		Port: m.Port.ValueInt64(), MaxBatchInstancePercent: m.MaxBatchInstancePercent.ValueInt64(),
		MaxUnhealthyInstancePercent: m.MaxUnhealthyInstancePercent.ValueInt64(),
	}, diags
}

// FlattenEndpoint keeps the block as configured; an import sets what is not the default.
func (azureAdapter) FlattenEndpoint(_ context.Context, prior types.Object, e *backend.Endpoint) (types.Object, diag.Diagnostics) {
	d, ok := e.Details.(*azurebackend.Endpoint)
	if !ok || !prior.IsNull() {
		return prior, nil
	}
	attrs := map[string]attr.Value{"port": types.Int64Null(), "max_batch_instance_percent": types.Int64Null(), "max_unhealthy_instance_percent": types.Int64Null()}
	set := false
	for name, v := range map[string]struct{ have, def int64 }{
		"port":                           {d.Settings.Port, azurebackend.DefaultPort},
		"max_batch_instance_percent":     {d.Settings.MaxBatchInstancePercent, 20},
		"max_unhealthy_instance_percent": {d.Settings.MaxUnhealthyInstancePercent, 20},
	} {
		if v.have != 0 && v.have != v.def {
			attrs[name], set = types.Int64Value(v.have), true
		}
	}
	if !set {
		return prior, nil
	}
	return types.ObjectValue(endpointAzureAttrTypes, attrs)
}
