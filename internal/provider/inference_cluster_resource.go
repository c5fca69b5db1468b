package provider

import (
	"context"
	"fmt"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64default"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	awsbackend "github.com/inferstack/terraform-provider-inferstack/internal/backend/aws"
	"github.com/inferstack/terraform-provider-inferstack/internal/backend/onprem"
)

var (
	_ resource.Resource                   = &inferenceClusterResource{}
	_ resource.ResourceWithConfigure      = &inferenceClusterResource{}
	_ resource.ResourceWithValidateConfig = &inferenceClusterResource{}
	_ resource.ResourceWithModifyPlan     = &inferenceClusterResource{}
	_ resource.ResourceWithImportState    = &inferenceClusterResource{}
)

// clusterBackends are the backend attributes of inferstack_inference_cluster; exactly one is set.
// The azure block joins them here.
var clusterBackends = []string{"aws", "onprem"}

func newInferenceClusterResource() resource.Resource { return &inferenceClusterResource{} }

type inferenceClusterResource struct {
	data *providerData
}

func (r *inferenceClusterResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_inference_cluster"
}

func (r *inferenceClusterResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "A pool of GPU capacity that `inferstack_model_endpoint` resources deploy vLLM onto. Set " +
			"exactly one backend block: `aws` (EC2 GPU instances in an Auto Scaling group per endpoint, behind an internal " +
			"network load balancer) or `onprem` (GPU servers you run, reached over SSH). Changing the backend replaces " +
			"the cluster.\n\n" +
			"For `onprem`, the provider connects to every host (up to 8 at once), lists its GPUs with `nvidia-smi`, " +
			"checks the container runtime and the NVIDIA container toolkit, prepares `/var/lib/inferstack`, installs " +
			"the node script (`/usr/local/sbin/inferstack-node`) and writes a record of the cluster " +
			"(`/var/lib/inferstack/clusters/<name>.json`). The SSH credential is not part of the cluster: it is the " +
			"provider's `onprem` block (`ssh_private_key`, `ssh_passphrase`, or `INFERSTACK_SSH_PRIVATE_KEY` and " +
			"`INFERSTACK_SSH_PASSPHRASE`), the same key for every host and the bastion; host keys are checked against " +
			"each host's `host_key`, else the provider's `known_hosts`.\n\n" +
			"The `id` describes the hosts (it encodes `name`, the hosts, the bastion and the runtime), so an endpoint " +
			"given only `cluster_id` can reach them; it changes when hosts are added or removed, which updates the " +
			"cluster in place.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				Computed: true,
				MarkdownDescription: "The cluster's id: `onprem/<name>/<descriptor>`, the descriptor being the hosts, " +
					"bastion, runtime and host-key setting (no secret) in base64url JSON. It is known at plan time " +
					"and changes in place when `onprem` changes. Pass it to `inferstack_model_endpoint.cluster_id`; " +
					"`terraform state show` or an output of it gives the value to import.",
			},
			"name": schema.StringAttribute{
				Required: true,
				MarkdownDescription: "The cluster's name: 1 to 63 lower-case letters, digits and `-`, starting and " +
					"ending with a letter or digit. Changing it replaces the cluster.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
				Validators:    []validator.String{clusterNameValidator{}},
			},
			"onprem": schema.SingleNestedAttribute{
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
					"insecure_ignore_host_key": schema.BoolAttribute{
						Optional: true,
						Computed: true,
						Default:  booldefault.StaticBool(false),
						MarkdownDescription: "Trust whatever key a host without `host_key` (and not in `known_hosts`) " +
							"presents. Anyone on the network path can then impersonate the host and receive the " +
							"model's secrets; every plan warns while it is set. Defaults to `false`.",
					},
				},
			},
			"aws":      clusterAWSAttribute(),
			"timeouts": timeouts.Attributes(ctx, timeouts.Opts{Create: true, Update: true, Delete: true}),
			"nodes": schema.ListNestedAttribute{
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
			},
		},
	}
	for k, v := range clusterAWSComputed() {
		resp.Schema.Attributes[k] = v
	}
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

func (r *inferenceClusterResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = configuredData(req.ProviderData, &resp.Diagnostics)
}

// ValidateConfig checks, at plan time: exactly one backend block, unique host names and
// addresses; and warns on insecure_ignore_host_key.
func (r *inferenceClusterResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var m inferenceClusterResourceModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	set, unknown := 0, false
	for _, b := range clusterBackends {
		var v types.Object
		resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root(b), &v)...)
		switch {
		case v.IsUnknown():
			unknown = true
		case !v.IsNull():
			set++
		}
	}
	if !unknown && set != 1 {
		resp.Diagnostics.AddAttributeError(path.Root(clusterBackends[0]), "invalid inference cluster",
			fmt.Sprintf("Set exactly one backend block (%s); %d are set.", strings.Join(clusterBackends, ", "), set))
		return
	}
	if m.OnPrem.IsNull() || m.OnPrem.IsUnknown() {
		return
	}
	var op inferenceClusterOnPremModel
	resp.Diagnostics.Append(m.OnPrem.As(ctx, &op, basetypes.ObjectAsOptions{UnhandledUnknownAsEmpty: true})...)
	if resp.Diagnostics.HasError() {
		return
	}
	if op.InsecureIgnoreHostKey.ValueBool() {
		resp.Diagnostics.AddAttributeWarning(path.Root("onprem").AtName("insecure_ignore_host_key"),
			"host keys are not checked",
			"insecure_ignore_host_key = true trusts whatever key a host without host_key (and not in known_hosts) "+
				"presents: anyone on the network path can impersonate it and receive the secrets sent to it. Pin "+
				"each host's key with host_key (ssh-keyscan, checked out of band) and remove the setting.")
	}
	if op.Hosts.IsUnknown() || op.Hosts.IsNull() {
		return
	}
	var hosts []inferenceClusterHostModel
	resp.Diagnostics.Append(op.Hosts.ElementsAs(ctx, &hosts, false)...)
	if resp.Diagnostics.HasError() {
		return
	}
	names, addrs := map[string]int{}, map[string]int{}
	for i, h := range hosts {
		p := path.Root("onprem").AtName("hosts").AtListIndex(i)
		if !h.Name.IsUnknown() {
			if j, ok := names[h.Name.ValueString()]; ok {
				resp.Diagnostics.AddAttributeError(p.AtName("name"), "invalid inference cluster",
					fmt.Sprintf("onprem.hosts[%d].name: %q is also the name of onprem.hosts[%d]: host names must be unique.", i, h.Name.ValueString(), j))
			}
			names[h.Name.ValueString()] = i
		}
		if !h.Address.IsUnknown() && !h.Port.IsUnknown() {
			a := fmt.Sprintf("%s:%d", h.Address.ValueString(), portOr22(h.Port))
			if j, ok := addrs[a]; ok {
				resp.Diagnostics.AddAttributeError(p.AtName("address"), "invalid inference cluster",
					fmt.Sprintf("onprem.hosts[%d].address: %s is also the address of onprem.hosts[%d].", i, a, j))
			}
			addrs[a] = i
		}
	}
}

func portOr22(v types.Int64) int64 {
	if v.IsNull() || v.IsUnknown() {
		return 22
	}
	return v.ValueInt64()
}

// ModifyPlan checks that every host's key can be checked (host_key, the provider's known_hosts,
// or insecure_ignore_host_key), and computes the id from the planned hosts when they are known,
// so endpoints see the cluster_id they will get at plan time.
func (r *inferenceClusterResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		return
	}
	var plan inferenceClusterResourceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if !req.State.Raw.IsNull() {
		var state inferenceClusterResourceModel
		resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
		if state.AWS.IsNull() != plan.AWS.IsNull() && !plan.AWS.IsUnknown() {
			resp.RequiresReplace = append(resp.RequiresReplace, path.Root("aws"), path.Root("onprem"))
		}
	}
	if !plan.AWS.IsNull() {
		r.modifyPlanAWS(ctx, req, resp, plan)
		return
	}
	plan.setAWSComputedNull()
	for name, v := range map[string]attr.Value{"vpc_id": plan.VPCID, "security_group_id": plan.SecurityGroupID, "role_arn": plan.RoleARN,
		"instance_profile_arn": plan.InstanceProfileARN, "load_balancer_arn": plan.LoadBalancerARN, "load_balancer_dns": plan.LoadBalancerDNS,
		"launch_template_id": plan.LaunchTemplateID, "image_id": plan.ImageID, "gpu": plan.GPU, "quota": plan.Quota, "spot_quota": plan.SpotQuota} {
		resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root(name), v)...)
	}
	if plan.OnPrem.IsNull() || plan.OnPrem.IsUnknown() {
		return
	}
	ref, known := expandClusterRef(ctx, plan, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	if r.data != nil && r.data.OnPrem.KnownHosts == "" && !ref.Insecure {
		for i, h := range ref.Hosts {
			if h.HostKey == "" && known {
				resp.Diagnostics.AddAttributeError(path.Root("onprem").AtName("hosts").AtListIndex(i).AtName("host_key"),
					fmt.Sprintf("no host key for host %s", h.Name),
					fmt.Sprintf("onprem.hosts[%d].host_key: host %s (%s) has no host_key and the provider's onprem block has "+
						"no known_hosts, so its identity cannot be checked. Set host_key to its public key (ssh-keyscan, "+
						"checked out of band), add it to known_hosts, or (not recommended) set insecure_ignore_host_key = true.",
						i, h.Name, h.Address))
			}
		}
		if ref.Bastion != nil && ref.Bastion.HostKey == "" && known {
			resp.Diagnostics.AddAttributeError(path.Root("onprem").AtName("bastion").AtName("host_key"),
				"no host key for the bastion",
				"onprem.bastion.host_key: the bastion has no host_key and the provider's onprem block has no known_hosts. "+
					"Set host_key, add the bastion to known_hosts, or (not recommended) set insecure_ignore_host_key = true.")
		}
	}
	if !known || plan.Name.IsUnknown() {
		return
	}
	id := onprem.EncodeClusterID(ref)
	resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("id"), id)...)
	if !req.State.Raw.IsNull() {
		var state inferenceClusterResourceModel
		resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
		if state.ID.ValueString() == id && !state.Nodes.IsNull() {
			resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("nodes"), state.Nodes)...)
		}
	}
}

// Create registers the hosts: discovery, checks, the node script and the cluster record on each.
// The id is in state before any host is touched: a failure leaves a tainted cluster that the next
// apply removes and creates again.
func (r *inferenceClusterResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan inferenceClusterResourceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if !plan.AWS.IsNull() {
		r.createAWS(ctx, plan, resp)
		return
	}
	plan.setAWSComputedNull()
	ctx, cancel := withTimeout(ctx, plan.Timeouts.Create, &resp.Diagnostics)
	defer cancel()
	name := plan.Name.ValueString()
	summary := fmt.Sprintf("creating inference cluster (%s)", name)
	ref, _ := expandClusterRef(ctx, plan, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	if err := onprem.CheckRef(ref); err != nil {
		resp.Diagnostics.AddError(summary, err.Error())
		return
	}
	client := r.onPremClient(summary, &resp.Diagnostics)
	if client == nil {
		return
	}
	plan.ID = types.StringValue(onprem.EncodeClusterID(ref))
	plan.Nodes = types.ListNull(types.ObjectType{AttrTypes: clusterNodeAttrTypes()})
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}

	tflog.Info(ctx, "creating inference cluster", map[string]any{"name": name, "hosts": len(ref.Hosts), "runtime": ref.Runtime})
	nodes, err := onprem.EnsureCluster(ctx, client, ref)
	plan.Nodes = flattenClusterNodes(ref, nodes, types.ListNull(types.ObjectType{AttrTypes: clusterNodeAttrTypes()}), &resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
	if err != nil {
		resp.Diagnostics.AddError(summary, err.Error())
	}
}

// Read asks every host for its GPUs and the cluster's record. A host that cannot be reached is a
// warning and keeps its last known nodes entry; a cluster whose record is gone from every host
// that answered was removed outside Terraform: it leaves state with a warning.
func (r *inferenceClusterResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state inferenceClusterResourceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	id := state.ID.ValueString()
	if awsbackend.IsClusterID(id) {
		r.readAWS(ctx, state, resp)
		return
	}
	state.setAWSComputedNull()
	state.AWS = types.ObjectNull(clusterAWSAttrTypes)
	if state.Timeouts.IsNull() {
		state.Timeouts = nullTimeouts()
	}
	name := onprem.ClusterName(id)
	summary := fmt.Sprintf("reading inference cluster (%s)", name)
	ref, err := onprem.DecodeClusterID(id)
	if err != nil {
		resp.Diagnostics.AddError(summary, err.Error())
		return
	}
	client := r.onPremClient(summary, &resp.Diagnostics)
	if client == nil {
		return
	}
	nodes, unreachable, found, err := onprem.ReadCluster(ctx, client, ref)
	if err != nil {
		resp.Diagnostics.AddError(summary, err.Error())
		return
	}
	if !found {
		resp.Diagnostics.AddWarning(fmt.Sprintf("inference cluster (%s) is gone", name),
			"No host that answered still has the cluster's record ("+onprem.ClusterRecordPath(name)+"): it was removed "+
				"outside Terraform. It is removed from state, and the next plan creates it again.")
		resp.State.RemoveResource(ctx)
		return
	}
	if len(unreachable) > 0 {
		resp.Diagnostics.AddWarning(fmt.Sprintf("inference cluster (%s): hosts unreachable", name),
			fmt.Sprintf("Hosts %s could not be reached over SSH; their nodes entries are the last known ones. Endpoints "+
				"cannot place replicas on them until they are back. Remove them from onprem.hosts if they are gone for good.",
				strings.Join(unreachable, ", ")))
	}
	for _, n := range nodes {
		if len(n.Problems) > 0 {
			resp.Diagnostics.AddWarning(fmt.Sprintf("inference cluster (%s): host %s is not ready", name, n.Name),
				strings.Join(n.Problems, "\n"))
		}
	}
	if state.OnPrem.IsNull() { // import: the id describes the hosts
		state.OnPrem = flattenClusterOnPrem(ref, &resp.Diagnostics)
	}
	if state.Name.IsNull() {
		state.Name = types.StringValue(ref.Name)
	}
	state.Nodes = flattenClusterNodes(ref, nodes, state.Nodes, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

// Update changes the hosts in place. Hosts being removed are asked first: one that still serves
// endpoint replicas stops the update before anything changes. Then every planned host is
// registered (idempotent), and removed hosts leave the cluster.
func (r *inferenceClusterResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state inferenceClusterResourceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if !plan.AWS.IsNull() {
		r.updateAWS(ctx, plan, state, resp)
		return
	}
	plan.setAWSComputedNull()
	ctx, cancel := withTimeout(ctx, plan.Timeouts.Update, &resp.Diagnostics)
	defer cancel()
	name := plan.Name.ValueString()
	summary := fmt.Sprintf("updating inference cluster (%s)", name)
	prior, err := onprem.DecodeClusterID(state.ID.ValueString())
	if err != nil {
		resp.Diagnostics.AddError(summary, err.Error())
		return
	}
	ref, _ := expandClusterRef(ctx, plan, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	if err := onprem.CheckRef(ref); err != nil {
		resp.Diagnostics.AddError(summary, err.Error())
		return
	}
	client := r.onPremClient(summary, &resp.Diagnostics)
	if client == nil {
		return
	}
	var removed []onprem.Host
	for _, old := range prior.Hosts {
		kept := false
		for _, h := range ref.Hosts {
			kept = kept || (h.Name == old.Name && h.Address == old.Address && portNum(h.Port) == portNum(old.Port))
		}
		if !kept {
			removed = append(removed, old)
		}
	}
	if len(removed) > 0 {
		unreachable, err := onprem.CheckNotBusy(ctx, client, removed)
		if err != nil {
			resp.Diagnostics.AddError(summary, "Cannot remove hosts from the cluster: "+err.Error())
			resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
			return
		}
		if len(unreachable) > 0 {
			resp.Diagnostics.AddWarning(summary, fmt.Sprintf("Removed hosts %s could not be reached: their replicas (if any) "+
				"and the cluster record stay on them.", strings.Join(unreachable, ", ")))
		}
	}

	tflog.Info(ctx, "updating inference cluster", map[string]any{"name": name, "hosts": len(ref.Hosts), "removed": len(removed)})
	nodes, err := onprem.EnsureCluster(ctx, client, ref)
	if err != nil {
		resp.Diagnostics.AddError(summary, err.Error())
		resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
		return
	}
	if len(removed) > 0 {
		unreachable, err := onprem.LeaveCluster(ctx, client, ref, removed)
		if err != nil {
			resp.Diagnostics.AddWarning(summary, "Removing the cluster record from removed hosts: "+err.Error())
		}
		_ = unreachable // warned about above
	}
	plan.ID = types.StringValue(onprem.EncodeClusterID(ref))
	plan.Nodes = flattenClusterNodes(ref, nodes, state.Nodes, &resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func portNum(p int) int {
	if p == 0 {
		return 22
	}
	return p
}

// Delete removes the cluster record and, where no other cluster uses the host, the node script
// from every host. A host that still serves endpoint replicas stops the destroy (destroy the
// endpoints first; Terraform orders that itself when they reference the cluster). A host that
// cannot be reached is a warning, not a failure: a destroy must not be blocked by a host that is
// gone for good, and the record left behind is harmless.
func (r *inferenceClusterResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state inferenceClusterResourceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if awsbackend.IsClusterID(state.ID.ValueString()) {
		r.deleteAWS(ctx, state, resp)
		return
	}
	ctx, cancel := withTimeout(ctx, state.Timeouts.Delete, &resp.Diagnostics)
	defer cancel()
	name := onprem.ClusterName(state.ID.ValueString())
	summary := fmt.Sprintf("deleting inference cluster (%s)", name)
	ref, err := onprem.DecodeClusterID(state.ID.ValueString())
	if err != nil {
		resp.Diagnostics.AddError(summary, err.Error())
		return
	}
	client := r.onPremClient(summary, &resp.Diagnostics)
	if client == nil {
		return
	}
	tflog.Info(ctx, "deleting inference cluster", map[string]any{"name": name, "hosts": len(ref.Hosts)})
	unreachable, err := onprem.DeleteCluster(ctx, client, ref)
	if err != nil {
		resp.Diagnostics.AddError(summary, err.Error())
		return
	}
	if len(unreachable) > 0 {
		resp.Diagnostics.AddWarning(summary, fmt.Sprintf("Hosts %s could not be reached: the cluster's record and the "+
			"node script stay on them (harmless; remove %s and %s by hand if the hosts come back).",
			strings.Join(unreachable, ", "), onprem.ClusterRecordPath(name), "/usr/local/sbin/inferstack-node"))
	}
}

// ImportState takes the cluster's id. An on-prem id (`terraform state show` or an output of the
// id gives it) describes the hosts, so the import needs nothing else; an AWS cluster imports by
// `aws/<region>/<name>`, `<region>/<name>` or `<name>` (the provider's region), and the read
// fills in its aws block from AWS.
func (r *inferenceClusterResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	if !strings.HasPrefix(req.ID, "onprem/") {
		r.importAWS(ctx, req, resp)
		return
	}
	ref, err := onprem.DecodeClusterID(req.ID)
	if err != nil {
		resp.Diagnostics.AddError(fmt.Sprintf("importing inference cluster (%s)", onprem.ClusterName(req.ID)), err.Error())
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), req.ID)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("name"), ref.Name)...)
}

func (r *inferenceClusterResource) onPremClient(summary string, diags *diag.Diagnostics) *onprem.Client {
	if r.data == nil {
		diags.AddError(summary, "the provider is not configured: this is a bug in the provider, please report it")
		return nil
	}
	c, err := r.data.OnPremClient()
	if err != nil {
		diags.AddError(summary, err.Error())
		return nil
	}
	return c
}

type inferenceClusterResourceModel struct {
	ID       types.String   `tfsdk:"id"`
	Name     types.String   `tfsdk:"name"`
	OnPrem   types.Object   `tfsdk:"onprem"`
	Nodes    types.List     `tfsdk:"nodes"`
	AWS      types.Object   `tfsdk:"aws"`
	Timeouts timeouts.Value `tfsdk:"timeouts"`

	// AWS only (clusterAWSComputed).
	VPCID              types.String `tfsdk:"vpc_id"`
	SecurityGroupID    types.String `tfsdk:"security_group_id"`
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

type inferenceClusterOnPremModel struct {
	Hosts                 types.List   `tfsdk:"hosts"`
	Bastion               types.Object `tfsdk:"bastion"`
	ContainerRuntime      types.String `tfsdk:"container_runtime"`
	InsecureIgnoreHostKey types.Bool   `tfsdk:"insecure_ignore_host_key"`
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

// expandClusterRef builds the on-prem ref from a plan or state; known is false when some part of
// onprem (or the name) is not known yet.
func expandClusterRef(ctx context.Context, m inferenceClusterResourceModel, diags *diag.Diagnostics) (onprem.ClusterRef, bool) {
	ref := onprem.ClusterRef{Name: m.Name.ValueString()}
	known := !m.Name.IsUnknown()
	if m.OnPrem.IsNull() || m.OnPrem.IsUnknown() {
		return ref, false
	}
	var op inferenceClusterOnPremModel
	diags.Append(m.OnPrem.As(ctx, &op, basetypes.ObjectAsOptions{UnhandledUnknownAsEmpty: true})...)
	if op.ContainerRuntime.IsUnknown() || op.InsecureIgnoreHostKey.IsUnknown() || op.Hosts.IsUnknown() || op.Bastion.IsUnknown() {
		known = false
	}
	ref.Runtime = op.ContainerRuntime.ValueString()
	ref.Insecure = op.InsecureIgnoreHostKey.ValueBool()
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
			"port": types.Int64Value(int64(portNum(h.Port))), "user": types.StringValue(userOrRoot(h.User)),
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
			"address": types.StringValue(b.Address), "port": types.Int64Value(int64(portNum(b.Port))),
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

// clusterNameValidator applies onprem.ValidateClusterName at plan time.
type clusterNameValidator struct{}

func (clusterNameValidator) Description(context.Context) string {
	return "1 to 63 lower-case letters, digits and '-', starting and ending with a letter or digit"
}

func (v clusterNameValidator) MarkdownDescription(ctx context.Context) string {
	return v.Description(ctx)
}

func (clusterNameValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if err := onprem.ValidateClusterName(req.ConfigValue.ValueString()); err != nil {
		resp.Diagnostics.AddAttributeError(req.Path, "invalid cluster name", err.Error())
	}
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
