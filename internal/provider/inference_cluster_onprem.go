package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64default"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"

	"github.com/inferstack/terraform-provider-inferstack/internal/backend"
	"github.com/inferstack/terraform-provider-inferstack/internal/backend/onprem"
)

// onpremAdapter is the on-prem backend's part of the provider: the onprem block of
// inferstack_inference_cluster (hosts, bastion, runtime, and the computed nodes), and no endpoint
// block (on-prem endpoints use the common placement attributes).
type onpremAdapter struct{}

var _ BackendAdapter = onpremAdapter{}

func (onpremAdapter) Name() string { return onprem.Name }

func (onpremAdapter) ClusterBlock() schema.SingleNestedAttribute {
	s := schema.SingleNestedAttribute{
		Optional: true,
		MarkdownDescription: "GPU servers of your own, reached over SSH with the provider's `onprem` key. " +
			"Adding or removing hosts updates the cluster in place; removing a host that still serves " +
			"endpoint replicas fails at apply, naming the host and the replicas.",
		Attributes: map[string]schema.Attribute{
			"hosts": schema.ListNestedAttribute{
				Required: true,
				MarkdownDescription: "The GPU hosts. Each needs NVIDIA drivers (`nvidia-smi`), the container " +
					"runtime with the NVIDIA container toolkit, and `jq`, `curl`, `flock` and `systemctl` for " +
					"the node script. Adding or removing a host is an in-place update.",
				Validators: []validator.List{listvalidator.SizeAtLeast(1)},
				NestedObject: schema.NestedAttributeObject{
					Attributes: map[string]schema.Attribute{
						"name": schema.StringAttribute{
							Required: true,
							MarkdownDescription: "A name for the host, unique in the cluster (e.g. its hostname). " +
								"Diagnostics and `nodes` use it.",
							Validators: []validator.String{stringvalidator.LengthBetween(1, 63)},
						},
						"address": schema.StringAttribute{
							Required:            true,
							MarkdownDescription: "IP address or DNS name the provider (or the bastion) connects to.",
							Validators:          []validator.String{stringvalidator.LengthAtLeast(1)},
						},
						"port": portAttribute("SSH port of the host."),
						"user": userAttribute("SSH user of the host: root, or a user that may write " +
							"`/var/lib/inferstack`, `/usr/local/sbin` and systemd units without a password prompt."),
						"host_key": hostKeyAttribute("The host's SSH public key in `authorized_keys` form " +
							"(`ssh-ed25519 AAAA...`, e.g. from `ssh-keyscan` checked out of band). Without it " +
							"the provider's `known_hosts` must list the host, or `insecure_ignore_host_key` be set."),
						"labels": schema.MapAttribute{
							ElementType: types.StringType,
							Optional:    true,
							MarkdownDescription: "Free-form labels of the host (e.g. `{ rack = \"r1\" }`), kept " +
								"with the cluster for endpoints to select hosts by. Changing them is in place.",
						},
					},
				},
			},
			"bastion": schema.SingleNestedAttribute{
				Optional: true,
				MarkdownDescription: "A jump host every host is reached through (SSH `ProxyJump`), with the " +
					"same key. Changing it is in place.",
				Attributes: map[string]schema.Attribute{
					"address": schema.StringAttribute{
						Required:            true,
						MarkdownDescription: "IP address or DNS name of the bastion.",
						Validators:          []validator.String{stringvalidator.LengthAtLeast(1)},
					},
					"port":     portAttribute("SSH port of the bastion."),
					"user":     userAttribute("SSH user on the bastion."),
					"host_key": hostKeyAttribute("The bastion's SSH public key in `authorized_keys` form."),
				},
			},
			"container_runtime": schema.StringAttribute{
				Optional: true,
				Computed: true,
				Default:  stringdefault.StaticString("docker"),
				MarkdownDescription: "The container runtime vLLM runs under: `docker` or `podman`. Defaults " +
					"to `docker`. Changing it is in place for the cluster; endpoints roll their replicas.",
				Validators: []validator.String{stringvalidator.OneOf(onprem.Runtimes...)},
			},
			"allow_public_listen": schema.BoolAttribute{
				Optional: true,
				Computed: true,
				Default:  booldefault.StaticBool(false),
				MarkdownDescription: "Let hosts with a public (globally routable) address run replicas. Replicas publish " +
					"their port on the host's address, and vLLM's API key guards only `/v1`: `/metrics`, `/tokenize`, " +
					"`/invocations`, `/health` and others answer whoever reaches the port. Set it only when a firewall " +
					"admits nothing but the gateway. Defaults to `false`: a public address is a plan-time error. Changing " +
					"it is in place.",
			},
			"insecure_ignore_host_key": schema.BoolAttribute{
				Optional: true,
				Computed: true,
				Default:  booldefault.StaticBool(false),
				MarkdownDescription: "Trust whatever key a host without `host_key` (and not in `known_hosts`) " +
					"presents. Anyone on the network path can then impersonate the host and receive the " +
					"model's secrets; every plan warns while it is set. Defaults to `false`.",
			},
		},
	}
	s.Attributes["nodes"] = schema.ListNestedAttribute{
		Computed: true,
		MarkdownDescription: "On-prem only: what each host reported, in the order of `onprem.hosts`. Refreshed on every " +
			"read, so GPUs that changed on a host show as drift. A host that cannot be reached keeps its " +
			"last known entry (and the plan warns).",
		NestedObject: schema.NestedAttributeObject{
			Attributes: map[string]schema.Attribute{
				"name":    schema.StringAttribute{Computed: true, MarkdownDescription: "The host's `name`."},
				"address": schema.StringAttribute{Computed: true, MarkdownDescription: "The host's `address`."},
				"gpus": schema.ListNestedAttribute{
					Computed:            true,
					MarkdownDescription: "The host's GPUs as `nvidia-smi` lists them.",
					NestedObject: schema.NestedAttributeObject{
						Attributes: map[string]schema.Attribute{
							"index":      schema.Int64Attribute{Computed: true, MarkdownDescription: "GPU index (the id vLLM replicas are given)."},
							"model":      schema.StringAttribute{Computed: true, MarkdownDescription: "GPU model, e.g. `NVIDIA L40S`."},
							"memory_mib": schema.Int64Attribute{Computed: true, MarkdownDescription: "GPU memory in MiB."},
						},
					},
				},
				"driver_version": schema.StringAttribute{Computed: true, MarkdownDescription: "NVIDIA driver version."},
				"runtime_ok":     schema.BoolAttribute{Computed: true, MarkdownDescription: "Whether the container runtime answers."},
				"toolkit_ok":     schema.BoolAttribute{Computed: true, MarkdownDescription: "Whether the NVIDIA container toolkit is set up for the runtime."},
			},
		},
	}
	return s
}

func portAttribute(what string) schema.Int64Attribute {
	return schema.Int64Attribute{
		Optional:            true,
		Computed:            true,
		Default:             int64default.StaticInt64(22),
		MarkdownDescription: what + " Defaults to 22.",
	}
}

func userAttribute(what string) schema.StringAttribute {
	return schema.StringAttribute{
		Optional:            true,
		Computed:            true,
		Default:             stringdefault.StaticString("root"),
		MarkdownDescription: what + " Defaults to `root`.",
	}
}

func hostKeyAttribute(what string) schema.StringAttribute {
	return schema.StringAttribute{
		Optional:            true,
		MarkdownDescription: what + " A host presenting another key is refused.",
		Validators:          []validator.String{hostKeyValidator{}},
	}
}

type inferenceClusterOnPremModel struct {
	Hosts                 types.List   `tfsdk:"hosts"`
	Bastion               types.Object `tfsdk:"bastion"`
	ContainerRuntime      types.String `tfsdk:"container_runtime"`
	InsecureIgnoreHostKey types.Bool   `tfsdk:"insecure_ignore_host_key"`
	AllowPublicListen     types.Bool   `tfsdk:"allow_public_listen"`
	Nodes                 types.List   `tfsdk:"nodes"`
}

type inferenceClusterHostModel struct {
	Name    types.String `tfsdk:"name"`
	Address types.String `tfsdk:"address"`
	Port    types.Int64  `tfsdk:"port"`
	User    types.String `tfsdk:"user"`
	HostKey types.String `tfsdk:"host_key"`
	Labels  types.Map    `tfsdk:"labels"`
}

type inferenceClusterBastionModel struct {
	Address types.String `tfsdk:"address"`
	Port    types.Int64  `tfsdk:"port"`
	User    types.String `tfsdk:"user"`
	HostKey types.String `tfsdk:"host_key"`
}

func clusterHostAttrTypes() map[string]attr.Type {
	return map[string]attr.Type{
		"name": types.StringType, "address": types.StringType, "port": types.Int64Type, "user": types.StringType,
		"host_key": types.StringType, "labels": types.MapType{ElemType: types.StringType},
	}
}

func clusterBastionAttrTypes() map[string]attr.Type {
	return map[string]attr.Type{"address": types.StringType, "port": types.Int64Type, "user": types.StringType, "host_key": types.StringType}
}

func clusterOnPremAttrTypes() map[string]attr.Type {
	return map[string]attr.Type{
		"hosts":                    types.ListType{ElemType: types.ObjectType{AttrTypes: clusterHostAttrTypes()}},
		"bastion":                  types.ObjectType{AttrTypes: clusterBastionAttrTypes()},
		"container_runtime":        types.StringType,
		"insecure_ignore_host_key": types.BoolType,
		"allow_public_listen":      types.BoolType,
		"nodes":                    types.ListType{ElemType: types.ObjectType{AttrTypes: clusterNodeAttrTypes()}},
	}
}

func clusterGPUAttrTypes() map[string]attr.Type {
	return map[string]attr.Type{"index": types.Int64Type, "model": types.StringType, "memory_mib": types.Int64Type}
}

func clusterNodeAttrTypes() map[string]attr.Type {
	return map[string]attr.Type{
		"name": types.StringType, "address": types.StringType,
		"gpus":           types.ListType{ElemType: types.ObjectType{AttrTypes: clusterGPUAttrTypes()}},
		"driver_version": types.StringType, "runtime_ok": types.BoolType, "toolkit_ok": types.BoolType,
	}
}

func (onpremAdapter) ExpandCluster(ctx context.Context, block types.Object) (any, bool, bool, diag.Diagnostics) {
	var diags diag.Diagnostics
	ref, known := expandClusterRef(ctx, block, &diags)
	return &ref, known, known, diags
}

// PlanCluster keeps nodes from state while the hosts stay the same (the ID the backend plans is
// the one in state); otherwise they are known after apply.
func (onpremAdapter) PlanCluster(ctx context.Context, planned, prior types.Object, p *backend.ClusterPlan) (types.Object, diag.Diagnostics) {
	var diags diag.Diagnostics
	nodes := types.ListUnknown(types.ObjectType{AttrTypes: clusterNodeAttrTypes()})
	if p != nil && !prior.IsNull() {
		ref, known := expandClusterRef(ctx, prior, &diags)
		ref.Name = onprem.ClusterName(p.ID)
		if known && onprem.EncodeClusterID(ref) == p.ID {
			if n, ok := prior.Attributes()["nodes"].(types.List); ok && !n.IsNull() {
				nodes = n
			}
		}
	}
	return withAttribute(planned, "nodes", nodes, &diags), diags
}

// FlattenCluster keeps the block's arguments (or, on import, reads them from the ID) and sets
// nodes from what the hosts reported; an unreachable host keeps its last known entry.
func (onpremAdapter) FlattenCluster(ctx context.Context, prior types.Object, c *backend.Cluster) (types.Object, diag.Diagnostics) {
	var diags diag.Diagnostics
	v, ok := c.Details.(*onprem.ClusterView)
	if !ok {
		ref, err := onprem.DecodeClusterID(c.ID)
		if err != nil {
			diags.AddError("reading the onprem block", err.Error())
			return prior, diags
		}
		v = &onprem.ClusterView{Ref: ref}
	}
	block := prior
	priorNodes := types.ListNull(types.ObjectType{AttrTypes: clusterNodeAttrTypes()})
	if prior.IsNull() || prior.IsUnknown() {
		block = flattenClusterOnPrem(v.Ref, &diags)
	} else if n, ok := prior.Attributes()["nodes"].(types.List); ok && !n.IsUnknown() {
		priorNodes = n
	}
	nodes := flattenClusterNodes(v.Ref, v.Nodes, priorNodes, &diags)
	return withAttribute(block, "nodes", nodes, &diags), diags
}

// ValidateClusterConfig warns, at validation, while host keys are not checked.
func (onpremAdapter) ValidateClusterConfig(_ context.Context, block types.Object, diags *diag.Diagnostics) {
	if v, ok := block.Attributes()["insecure_ignore_host_key"].(types.Bool); ok && v.ValueBool() {
		diags.AddAttributeWarning(path.Root(onprem.Name).AtName("insecure_ignore_host_key"), "host keys are not checked",
			"insecure_ignore_host_key = true trusts whatever key a host without host_key (and not in known_hosts) "+
				"presents: anyone on the network path can impersonate it and receive the secrets sent to it. Pin "+
				"each host's key with host_key (ssh-keyscan, checked out of band) and remove the setting.")
	}
}

func (onpremAdapter) EndpointBlock() (schema.SingleNestedAttribute, bool) {
	return schema.SingleNestedAttribute{}, false
}

func (onpremAdapter) ExpandEndpoint(context.Context, types.Object) (any, diag.Diagnostics) {
	return nil, nil
}

func (onpremAdapter) FlattenEndpoint(_ context.Context, prior types.Object, _ *backend.Endpoint) (types.Object, diag.Diagnostics) {
	return prior, nil
}

// expandClusterRef builds the on-prem ref from a plan or state; known is false when some part of
// onprem (or the name) is not known yet.
func expandClusterRef(ctx context.Context, block types.Object, diags *diag.Diagnostics) (onprem.ClusterRef, bool) {
	ref := onprem.ClusterRef{}
	known := true
	if block.IsNull() || block.IsUnknown() {
		return ref, false
	}
	var op inferenceClusterOnPremModel
	diags.Append(block.As(ctx, &op, basetypes.ObjectAsOptions{UnhandledUnknownAsEmpty: true, UnhandledNullAsEmpty: true})...)
	if op.ContainerRuntime.IsUnknown() || op.InsecureIgnoreHostKey.IsUnknown() || op.Hosts.IsUnknown() || op.Bastion.IsUnknown() {
		known = false
	}
	ref.Runtime = op.ContainerRuntime.ValueString()
	ref.Insecure = op.InsecureIgnoreHostKey.ValueBool()
	ref.AllowPublicListen = op.AllowPublicListen.ValueBool()
	known = known && !op.AllowPublicListen.IsUnknown()
	if !op.Bastion.IsNull() && !op.Bastion.IsUnknown() {
		var b inferenceClusterBastionModel
		diags.Append(op.Bastion.As(ctx, &b, basetypes.ObjectAsOptions{UnhandledUnknownAsEmpty: true})...)
		known = known && !b.Address.IsUnknown() && !b.Port.IsUnknown() && !b.User.IsUnknown() && !b.HostKey.IsUnknown()
		ref.Bastion = &onprem.Host{Name: "bastion", Address: b.Address.ValueString(), Port: int(b.Port.ValueInt64()),
			User: b.User.ValueString(), HostKey: b.HostKey.ValueString(), InsecureIgnoreHostKey: ref.Insecure}
	}
	if op.Hosts.IsNull() || op.Hosts.IsUnknown() {
		return ref, false
	}
	var hosts []inferenceClusterHostModel
	diags.Append(op.Hosts.ElementsAs(ctx, &hosts, false)...)
	for _, h := range hosts {
		known = known && !h.Name.IsUnknown() && !h.Address.IsUnknown() && !h.Port.IsUnknown() && !h.User.IsUnknown() &&
			!h.HostKey.IsUnknown() && !h.Labels.IsUnknown()
		var labels map[string]string
		if !h.Labels.IsNull() && !h.Labels.IsUnknown() {
			diags.Append(h.Labels.ElementsAs(ctx, &labels, false)...)
		}
		ref.Hosts = append(ref.Hosts, onprem.Host{Name: h.Name.ValueString(), Address: h.Address.ValueString(),
			Port: int(h.Port.ValueInt64()), User: h.User.ValueString(), HostKey: h.HostKey.ValueString(),
			Labels: labels, Via: ref.Bastion, InsecureIgnoreHostKey: ref.Insecure})
	}
	return ref, known
}

// flattenClusterOnPrem turns a decoded id back into the onprem attribute (import).
func flattenClusterOnPrem(ref onprem.ClusterRef, diags *diag.Diagnostics) types.Object {
	hostType := types.ObjectType{AttrTypes: clusterHostAttrTypes()}
	var hosts []attr.Value
	for _, h := range ref.Hosts {
		labels := types.MapNull(types.StringType)
		if h.Labels != nil {
			var d diag.Diagnostics
			labels, d = types.MapValueFrom(context.Background(), types.StringType, h.Labels)
			diags.Append(d...)
		}
		o, d := types.ObjectValue(clusterHostAttrTypes(), map[string]attr.Value{
			"name": types.StringValue(h.Name), "address": types.StringValue(h.Address),
			"port": types.Int64Value(int64(onprem.SSHPort(h.Port))), "user": types.StringValue(userOrRoot(h.User)),
			"host_key": optionalString(h.HostKey), "labels": labels,
		})
		diags.Append(d...)
		hosts = append(hosts, o)
	}
	hostList, d := types.ListValue(hostType, hosts)
	diags.Append(d...)
	bastion := types.ObjectNull(clusterBastionAttrTypes())
	if b := ref.Bastion; b != nil {
		bastion, d = types.ObjectValue(clusterBastionAttrTypes(), map[string]attr.Value{
			"address": types.StringValue(b.Address), "port": types.Int64Value(int64(onprem.SSHPort(b.Port))),
			"user": types.StringValue(userOrRoot(b.User)), "host_key": optionalString(b.HostKey),
		})
		diags.Append(d...)
	}
	runtime := ref.Runtime
	if runtime == "" {
		runtime = "docker"
	}
	o, d := types.ObjectValue(clusterOnPremAttrTypes(), map[string]attr.Value{
		"hosts": hostList, "bastion": bastion, "container_runtime": types.StringValue(runtime),
		"insecure_ignore_host_key": types.BoolValue(ref.Insecure),
		"allow_public_listen":      types.BoolValue(ref.AllowPublicListen),
		"nodes":                    types.ListNull(types.ObjectType{AttrTypes: clusterNodeAttrTypes()}),
	})
	diags.Append(d...)
	return o
}

func userOrRoot(u string) string {
	if u == "" {
		return "root"
	}
	return u
}

func optionalString(s string) types.String {
	if s == "" {
		return types.StringNull()
	}
	return types.StringValue(s)
}

// flattenClusterNodes lists a nodes entry per host of ref, in order: the fresh one where the host
// answered, else the entry of the same host in prior (its last known state), else none.
func flattenClusterNodes(ref onprem.ClusterRef, nodes []onprem.Node, prior types.List, diags *diag.Diagnostics) types.List {
	nodeType := types.ObjectType{AttrTypes: clusterNodeAttrTypes()}
	gpuType := types.ObjectType{AttrTypes: clusterGPUAttrTypes()}
	fresh := map[string]onprem.Node{}
	for _, n := range nodes {
		fresh[n.Name] = n
	}
	old := map[string]attr.Value{}
	if !prior.IsNull() && !prior.IsUnknown() {
		for _, v := range prior.Elements() {
			if o, ok := v.(types.Object); ok {
				if s, ok := o.Attributes()["name"].(types.String); ok {
					old[s.ValueString()] = o
				}
			}
		}
	}
	out := []attr.Value{}
	for _, h := range ref.Hosts {
		n, ok := fresh[h.Name]
		if !ok {
			if v, ok := old[h.Name]; ok {
				out = append(out, v)
			}
			continue
		}
		gpus := []attr.Value{}
		for _, g := range n.GPUs {
			o, d := types.ObjectValue(clusterGPUAttrTypes(), map[string]attr.Value{
				"index": types.Int64Value(g.Index), "model": types.StringValue(g.Model), "memory_mib": types.Int64Value(g.MemoryMiB),
			})
			diags.Append(d...)
			gpus = append(gpus, o)
		}
		gpuList, d := types.ListValue(gpuType, gpus)
		diags.Append(d...)
		o, d := types.ObjectValue(clusterNodeAttrTypes(), map[string]attr.Value{
			"name": types.StringValue(h.Name), "address": types.StringValue(h.Address), "gpus": gpuList,
			"driver_version": types.StringValue(n.DriverVersion), "runtime_ok": types.BoolValue(n.RuntimeOK),
			"toolkit_ok": types.BoolValue(n.ToolkitOK),
		})
		diags.Append(d...)
		out = append(out, o)
	}
	l, d := types.ListValue(nodeType, out)
	diags.Append(d...)
	return l
}

// hostKeyValidator checks that a host key is an SSH public key in authorized_keys form.
type hostKeyValidator struct{}

func (hostKeyValidator) Description(context.Context) string {
	return `an SSH public key in authorized_keys form ("ssh-ed25519 AAAA...")`
}

func (v hostKeyValidator) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (hostKeyValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if _, err := onprem.ParseHostKey(req.ConfigValue.ValueString()); err != nil {
		resp.Diagnostics.AddAttributeError(req.Path, "invalid host key", req.Path.String()+": "+err.Error())
	}
}
