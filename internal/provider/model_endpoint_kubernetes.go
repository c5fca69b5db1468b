package provider

import (
	"context"
	"fmt"
	"net/netip"
	"regexp"
	"strings"
	"unicode"

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
	k8sbackend "github.com/inferstack/terraform-provider-inferstack/internal/backend/kubernetes"
)

// The kubernetes block of inferstack_model_endpoint: an endpoint's own settings on a Kubernetes
// cluster (Service, NetworkPolicy, rolling update, probes).

// defaultSharedMemoryMiB is the backend's /dev/shm size when shared_memory_mib is null.
const defaultSharedMemoryMiB = 8192

var endpointK8sAttrTypes = map[string]attr.Type{
	"port": types.Int64Type, "service_type": types.StringType,
	"service_annotations": types.MapType{ElemType: types.StringType},
	"allowed_namespaces":  types.ListType{ElemType: types.StringType},
	"allowed_cidrs":       types.ListType{ElemType: types.StringType},
	"max_surge":           types.Int64Type, "startup_seconds": types.Int64Type, "shared_memory_mib": types.Int64Type,
}

type endpointK8sModel struct {
	Port               types.Int64  `tfsdk:"port"`
	ServiceType        types.String `tfsdk:"service_type"`
	ServiceAnnotations types.Map    `tfsdk:"service_annotations"`
	AllowedNamespaces  types.List   `tfsdk:"allowed_namespaces"`
	AllowedCIDRs       types.List   `tfsdk:"allowed_cidrs"`
	MaxSurge           types.Int64  `tfsdk:"max_surge"`
	StartupSeconds     types.Int64  `tfsdk:"startup_seconds"`
	SharedMemoryMiB    types.Int64  `tfsdk:"shared_memory_mib"`
}

// EndpointBlock is the kubernetes block of inferstack_model_endpoint.
func (kubernetesAdapter) EndpointBlock() (schema.SingleNestedAttribute, bool) {
	return schema.SingleNestedAttribute{
		Optional: true,
		MarkdownDescription: "Settings for an endpoint on a Kubernetes cluster (all optional; the block on another " +
			"backend's cluster is a plan-time error). The endpoint is a Deployment of `replicas` pods, each asking " +
			"`nvidia.com/gpu` = tensor × pipeline parallel size, with the API key and Hub token from a Secret (env, never " +
			"arguments), a `/health` startup and readiness probe, a memory `emptyDir` at `/dev/shm` and the cluster's " +
			"node selector and tolerations, spread across nodes; a Service (`url`), a PodDisruptionBudget and a " +
			"NetworkPolicy admitting only `allowed_namespaces` and `allowed_cidrs`. `rollout.max_unavailable` is the " +
			"Deployment's `maxUnavailable`; `autoscaling.target` makes a HorizontalPodAutoscaler (autoscaling/v2, Pods " +
			"metric, which needs a custom-metrics adapter such as prometheus-adapter serving vLLM's metrics).",
		Attributes: map[string]schema.Attribute{
			"port": schema.Int64Attribute{
				Optional:            true,
				MarkdownDescription: "The Service's port. Defaults to 8000 (the container's port).",
				Validators:          []validator.Int64{int64validator.Between(1, 65535)},
			},
			"service_type": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "`ClusterIP` (default) or `LoadBalancer`; with `LoadBalancer` set the cloud's internal " +
					"load balancer annotation in `service_annotations` (e.g. `service.beta.kubernetes.io/aws-load-balancer-internal`).",
				Validators: []validator.String{stringvalidator.OneOf("ClusterIP", "LoadBalancer")},
			},
			"service_annotations": schema.MapAttribute{
				ElementType: types.StringType, Optional: true,
				MarkdownDescription: "Annotations of the Service.",
				Validators:          []validator.Map{annotationsValidator{}},
			},
			"allowed_namespaces": schema.ListAttribute{
				ElementType: types.StringType, Optional: true,
				MarkdownDescription: "Namespaces whose pods may reach the endpoint (the gateway's). With `allowed_cidrs` " +
					"both empty, only pods of the endpoint's own namespace may.",
				Validators: []validator.List{listvalidator.ValueStringsAre(stringvalidator.RegexMatches(dnsLabelRE,
					"must be a namespace name: 1 to 63 lower-case letters, digits and '-', starting and ending with a letter or digit"))},
			},
			"allowed_cidrs": schema.ListAttribute{
				ElementType: types.StringType, Optional: true,
				MarkdownDescription: "Address ranges (CIDR) that may reach the endpoint, e.g. a gateway outside the cluster.",
				Validators:          []validator.List{listvalidator.ValueStringsAre(cidrValidator{})},
			},
			"max_surge": schema.Int64Attribute{
				Optional: true,
				MarkdownDescription: "Pods started above `replicas` during a rollout (the Deployment's `maxSurge`). Defaults to " +
					"1; 0 where the pool has no spare GPU, with `rollout.max_unavailable` >= 1.",
				Validators: []validator.Int64{int64validator.AtLeast(0)},
			},
			"startup_seconds": schema.Int64Attribute{
				Optional: true,
				MarkdownDescription: "How long a pod may take to download and load the weights before its startup probe " +
					"fails. Defaults to the create timeout less a margin (20 minutes by default).",
				Validators: []validator.Int64{int64validator.Between(60, 86400)},
			},
			"shared_memory_mib": schema.Int64Attribute{
				Optional:            true,
				MarkdownDescription: "Size of the memory `emptyDir` at `/dev/shm` (tensor-parallel workers use it). Defaults to 8192.",
				Validators:          []validator.Int64{int64validator.Between(64, 1048576)},
			},
		},
	}, true
}

// ExpandEndpoint is the block as the backend's settings (zero values take the backend's defaults).
func (kubernetesAdapter) ExpandEndpoint(ctx context.Context, block types.Object) (any, diag.Diagnostics) {
	var diags diag.Diagnostics
	s := &k8sbackend.EndpointSettings{}
	if block.IsNull() || block.IsUnknown() {
		return s, diags
	}
	var m endpointK8sModel
	diags.Append(block.As(ctx, &m, basetypes.ObjectAsOptions{UnhandledUnknownAsEmpty: true, UnhandledNullAsEmpty: true})...)
	s.Port = m.Port.ValueInt64()
	s.ServiceType = m.ServiceType.ValueString()
	if !m.ServiceAnnotations.IsNull() && !m.ServiceAnnotations.IsUnknown() {
		diags.Append(m.ServiceAnnotations.ElementsAs(ctx, &s.ServiceAnnotations, false)...)
	}
	s.AllowedNamespaces = listOf[string](ctx, m.AllowedNamespaces, &diags)
	s.AllowedCIDRs = listOf[string](ctx, m.AllowedCIDRs, &diags)
	if !m.MaxSurge.IsNull() && !m.MaxSurge.IsUnknown() {
		v := m.MaxSurge.ValueInt64()
		s.MaxSurge = &v
	}
	s.StartupSeconds = m.StartupSeconds.ValueInt64()
	s.SharedMemoryMiB = m.SharedMemoryMiB.ValueInt64()
	return s, diags
}

// FlattenEndpoint keeps the block as configured; an import sets it from the applied settings
// when they are not the defaults.
func (kubernetesAdapter) FlattenEndpoint(ctx context.Context, prior types.Object, e *backend.Endpoint) (types.Object, diag.Diagnostics) {
	var diags diag.Diagnostics
	d, ok := e.Details.(*k8sbackend.EndpointDetails)
	if !prior.IsNull() || !ok {
		return prior, diags
	}
	// The backend reports its settings with the defaults filled in: those (and startup_seconds,
	// which defaults from the timeout) stay null, as a configuration without the block has them.
	s := d.Settings
	if s.Port == defaultEndpointPort {
		s.Port = 0
	}
	if s.ServiceType == "ClusterIP" {
		s.ServiceType = ""
	}
	if s.MaxSurge != nil && *s.MaxSurge == 1 {
		s.MaxSurge = nil
	}
	if s.SharedMemoryMiB == defaultSharedMemoryMiB {
		s.SharedMemoryMiB = 0
	}
	s.StartupSeconds = 0
	if s.Port == 0 && s.ServiceType == "" && len(s.ServiceAnnotations) == 0 && len(s.AllowedNamespaces) == 0 &&
		len(s.AllowedCIDRs) == 0 && s.MaxSurge == nil && s.StartupSeconds == 0 && s.SharedMemoryMiB == 0 {
		return prior, diags
	}
	m := endpointK8sModel{
		Port: flattenInt64(s.Port), ServiceType: optionalString(s.ServiceType),
		ServiceAnnotations: types.MapNull(types.StringType),
		AllowedNamespaces:  types.ListNull(types.StringType), AllowedCIDRs: types.ListNull(types.StringType),
		MaxSurge: types.Int64Null(), StartupSeconds: flattenInt64(s.StartupSeconds), SharedMemoryMiB: flattenInt64(s.SharedMemoryMiB),
	}
	if len(s.ServiceAnnotations) > 0 {
		m.ServiceAnnotations, _ = types.MapValueFrom(ctx, types.StringType, s.ServiceAnnotations)
	}
	if len(s.AllowedNamespaces) > 0 {
		m.AllowedNamespaces, _ = types.ListValueFrom(ctx, types.StringType, s.AllowedNamespaces)
	}
	if len(s.AllowedCIDRs) > 0 {
		m.AllowedCIDRs, _ = types.ListValueFrom(ctx, types.StringType, s.AllowedCIDRs)
	}
	if s.MaxSurge != nil {
		m.MaxSurge = types.Int64Value(*s.MaxSurge)
	}
	out, dd := types.ObjectValueFrom(ctx, endpointK8sAttrTypes, m)
	diags.Append(dd...)
	return out, diags
}

// cidrValidator checks that a string is a CIDR block ("10.0.0.0/8", "fd00::/8").
type cidrValidator struct{}

func (cidrValidator) Description(context.Context) string { return "an IPv4 or IPv6 CIDR block" }

func (v cidrValidator) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (cidrValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	s := req.ConfigValue.ValueString()
	if p, err := netip.ParsePrefix(s); err != nil || p.Masked() != p {
		resp.Diagnostics.AddAttributeError(req.Path, "invalid CIDR block",
			fmt.Sprintf("%s: %q is not a CIDR block with its host bits zero, such as \"10.0.0.0/16\".", req.Path, s))
	}
}

var (
	dnsLabelRE = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$`)
	// annotationKeyRE is a Kubernetes qualified name with an optional DNS-subdomain prefix.
	annotationKeyRE = regexp.MustCompile(`^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$`)
)

// annotationsValidator checks annotation keys (Kubernetes qualified names) and refuses control
// characters in values, at plan time.
type annotationsValidator struct{}

func (annotationsValidator) Description(context.Context) string {
	return "annotation keys that are Kubernetes qualified names ([prefix/]name), values without control characters"
}

func (v annotationsValidator) MarkdownDescription(ctx context.Context) string {
	return v.Description(ctx)
}

func (annotationsValidator) ValidateMap(_ context.Context, req validator.MapRequest, resp *validator.MapResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	for k, v := range req.ConfigValue.Elements() {
		p := req.Path.AtMapKey(k)
		if prefix, _, _ := strings.Cut(k, "/"); !annotationKeyRE.MatchString(k) || len(k) > 316 || (strings.Contains(k, "/") && len(prefix) > 253) {
			resp.Diagnostics.AddAttributeError(p, "invalid annotation key",
				fmt.Sprintf("%s: %q is not an annotation key: use [prefix/]name, the name 1 to 63 letters, digits, '-', '_' or '.', "+
					"the prefix a DNS subdomain (e.g. service.beta.kubernetes.io/aws-load-balancer-internal).", req.Path, k))
		}
		if s, ok := v.(types.String); ok && !s.IsUnknown() && strings.ContainsFunc(s.ValueString(), unicode.IsControl) {
			resp.Diagnostics.AddAttributeError(p, "invalid annotation value",
				fmt.Sprintf("%s: the value of %q holds control characters: remove them.", req.Path, k))
		}
	}
}
