package provider

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/float64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64default"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/listdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/objectdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/inferstack/terraform-provider-inferstack/internal/backend"
	"github.com/inferstack/terraform-provider-inferstack/internal/vllm"
)

// The schema of inferstack_model_endpoint: the attributes every backend shares, and each
// backend's own block from its adapter (BackendAdapter.EndpointBlock).

func (r *modelEndpointResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "One vLLM deployment of one Hugging Face model on an `inferstack_inference_cluster`, with an " +
			"OpenAI-compatible URL per replica. On an on-prem cluster the replicas are placed on the cluster's hosts by " +
			"free GPUs (the ledger on each host is the truth, so several endpoints share a host safely) and converged " +
			"over SSH, one batch of `rollout.max_unavailable` replicas at a time. vLLM always runs with an API key.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				Computed: true,
				MarkdownDescription: "`<cluster_id>,<name>`, the same string as the import ID: it carries the cluster's hosts, " +
					"so an `inferstack_api_route` given only `endpoint_id` reaches the endpoint in any run. It changes, in " +
					"place, when the cluster's hosts change. It is unknown in a plan that creates the endpoint, changes " +
					"`cluster_id`, moves replicas or changes the served model name or the API key, so that a route that " +
					"refers to it is updated in the same apply.",
			},
			"cluster_id": schema.StringAttribute{
				Required: true,
				MarkdownDescription: "The `id` of the `inferstack_inference_cluster` to run on. Moving the endpoint to " +
					"another cluster (another backend, region or name) replaces it. The ID of an on-prem cluster changes " +
					"when hosts are added or removed: that updates the endpoint in place (replicas whose host left are " +
					"placed again).",
			},
			"name": schema.StringAttribute{
				Required: true,
				MarkdownDescription: "The endpoint's name on the hosts (units `inferstack-<name>-<replica>.service`): 1 to 40 " +
					"lower-case letters, digits and `-`. Changing it replaces the endpoint.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
				Validators: []validator.String{stringvalidator.RegexMatches(endpointNameRE,
					"must be 1 to 40 lower-case letters, digits and '-', starting and ending with a letter or digit")},
			},
			"model": schema.SingleNestedAttribute{
				Required:            true,
				MarkdownDescription: "The Hugging Face model to serve.",
				Attributes: map[string]schema.Attribute{
					"id": schema.StringAttribute{
						Required:            true,
						MarkdownDescription: "Repository id, e.g. `Qwen/Qwen2.5-7B-Instruct`. Changing it replaces the endpoint.",
						PlanModifiers:       []planmodifier.String{stringplanmodifier.RequiresReplace()},
					},
					"revision": schema.StringAttribute{
						Optional: true,
						Computed: true,
						Default:  stringdefault.StaticString("main"),
						MarkdownDescription: "Branch, tag or commit sha; default `main`. It is resolved at plan time to a commit " +
							"(`resolved_revision`), which the hosts download: a revision that resolves to another commit " +
							"replaces the endpoint.",
					},
				},
			},
			"resolved_revision": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "The commit sha `model.revision` resolved to at plan time. A change replaces the endpoint.",
			},
			"engine": schema.SingleNestedAttribute{
				Optional: true,
				Computed: true,
				MarkdownDescription: "vLLM settings. A change is a rolling update in place: replicas restart in batches of " +
					"`rollout.max_unavailable`, the next batch only once the last is ready.",
				Default: objectdefault.StaticValue(types.ObjectValueMust(engineAttrTypes, map[string]attr.Value{
					"image": types.StringValue(vllm.DefaultImage), "tensor_parallel_size": types.Int64Value(1),
					"pipeline_parallel_size": types.Int64Value(1), "max_model_len": types.Int64Null(),
					"gpu_memory_utilization": types.Float64Null(), "dtype": types.StringNull(), "quantization": types.StringNull(),
					"kv_cache_dtype": types.StringNull(), "max_num_seqs": types.Int64Null(), "enable_prefix_caching": types.BoolNull(),
					"extra_args": types.ListValueMust(types.StringType, []attr.Value{}),
				})),
				Attributes: map[string]schema.Attribute{
					"image": schema.StringAttribute{
						Optional: true, Computed: true, Default: stringdefault.StaticString(vllm.DefaultImage),
						MarkdownDescription: "The `vllm/vllm-openai` image with a pinned tag. Default `" + vllm.DefaultImage + "`.",
					},
					"tensor_parallel_size": schema.Int64Attribute{
						Optional: true, Computed: true, Default: int64default.StaticInt64(1),
						MarkdownDescription: "GPUs a layer is split across (`--tensor-parallel-size`). Default 1. A replica takes " +
							"`tensor_parallel_size x pipeline_parallel_size` GPUs of one host.",
						Validators: []validator.Int64{int64validator.AtLeast(1)},
					},
					"pipeline_parallel_size": schema.Int64Attribute{
						Optional: true, Computed: true, Default: int64default.StaticInt64(1),
						MarkdownDescription: "Pipeline stages (`--pipeline-parallel-size`). Default 1.",
						Validators:          []validator.Int64{int64validator.AtLeast(1)},
					},
					"max_model_len": schema.Int64Attribute{
						Optional: true, MarkdownDescription: "Context length in tokens (`--max-model-len`); unset: the model's.",
						Validators: []validator.Int64{int64validator.AtLeast(1)},
					},
					"gpu_memory_utilization": schema.Float64Attribute{
						Optional: true, MarkdownDescription: "Share of each GPU's memory vLLM may take, 0 < x <= 1; unset: vLLM's default (0.92 in the pinned release). A change rolls the replicas.",
					},
					"dtype": schema.StringAttribute{
						Optional: true, MarkdownDescription: "Weight and activation dtype (`auto`, `bfloat16`, `float16`, ...).",
					},
					"quantization": schema.StringAttribute{
						Optional: true, MarkdownDescription: "Weight quantization method (`awq`, `gptq`, `fp8`, ...).",
					},
					"kv_cache_dtype": schema.StringAttribute{
						Optional: true, MarkdownDescription: "KV-cache dtype (`auto`, `fp8`, ...).",
					},
					"max_num_seqs": schema.Int64Attribute{
						Optional: true, MarkdownDescription: "Maximum sequences per batch; unset: vLLM's default.",
						Validators: []validator.Int64{int64validator.AtLeast(1)},
					},
					"enable_prefix_caching": schema.BoolAttribute{
						Optional: true, MarkdownDescription: "Automatic prefix caching on or off; unset: vLLM's default.",
					},
					"extra_args": schema.ListAttribute{
						ElementType: types.StringType, Optional: true, Computed: true,
						Default: listdefault.StaticValue(types.ListValueMust(types.StringType, []attr.Value{})),
						MarkdownDescription: "Further `vllm serve` arguments (`[\"--enforce-eager\"]`), checked at plan time against " +
							"the flag table of vLLM " + vllm.FlagTableRelease + ": unknown flags, bad values and flags a typed " +
							"attribute owns are errors.",
					},
				},
			},
			"served_model_name": schema.StringAttribute{
				Optional: true,
				Computed: true,
				MarkdownDescription: "The model name clients send (`--served-model-name`). Default: `model.id`. A change is " +
					"a rolling update in place.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"replicas": schema.Int64Attribute{
				Optional: true, Computed: true, Default: int64default.StaticInt64(1),
				MarkdownDescription: "Number of replicas, placed on hosts with free GPUs, spread across hosts. Default 1. " +
					"A change adds or removes replicas in place.",
				Validators: []validator.Int64{int64validator.AtLeast(1)},
			},
			"node_selector": schema.MapAttribute{
				ElementType: types.StringType, Optional: true,
				MarkdownDescription: "Host labels a host must have (all of them) to run replicas. A change moves replicas in place.",
			},
			"autoscaling": schema.SingleNestedAttribute{
				Optional: true,
				MarkdownDescription: "Autoscaling between `min` and `max` replicas, by the cloud's own autoscaler. Clouds only: " +
					"set on an on-prem cluster it is a plan-time error.",
				Attributes: map[string]schema.Attribute{
					"min": schema.Int64Attribute{Required: true, MarkdownDescription: "Fewest replicas.", Validators: []validator.Int64{int64validator.AtLeast(0)}},
					"max": schema.Int64Attribute{Required: true, MarkdownDescription: "Most replicas.", Validators: []validator.Int64{int64validator.AtLeast(1)}},
					"target": schema.SingleNestedAttribute{
						Optional: true,
						MarkdownDescription: "The serving signal the autoscaler holds per replica, between `min` and `max`. On AWS " +
							"each node publishes vLLM's gauges to CloudWatch every minute (namespace `Inferstack/vLLM`, dimension `AutoScalingGroupName`; the nodes' role may put metrics in that namespace only), and a " +
							"target-tracking policy on the endpoint's Auto Scaling group holds their average. Unset: the group " +
							"keeps `replicas` within the bounds and no policy is made (attach your own).",
						Attributes: map[string]schema.Attribute{
							"metric": schema.StringAttribute{
								Required: true,
								MarkdownDescription: "`requests_waiting` (vLLM's `vllm:num_requests_waiting`: requests queued), " +
									"`requests_running` (`vllm:num_requests_running`: the running batch) or `kv_cache_usage` " +
									"(`vllm:kv_cache_usage_perc`, 0 to 1).",
								Validators: []validator.String{stringvalidator.OneOf(backend.ScaleMetrics...)},
							},
							"value": schema.Float64Attribute{
								Required:            true,
								MarkdownDescription: "The target per replica, above 0 (e.g. 4 requests waiting, or 0.7 of the KV cache).",
								Validators:          []validator.Float64{float64validator.AtLeast(0.000001)},
							},
						},
					},
				},
			},
			"api_key": schema.StringAttribute{
				Optional: true, Sensitive: true,
				MarkdownDescription: "The key clients must send (`Authorization: Bearer ...`); vLLM gets it as `VLLM_API_KEY` " +
					"from a root-only file, never on a command line. Sensitive: kept in state, never shown. On Terraform or " +
					"OpenTofu 1.11 and later prefer `api_key_wo`. Set one of `api_key` and `api_key_wo`. A change restarts " +
					"the replicas (rolling).",
				Validators: []validator.String{
					stringvalidator.ConflictsWith(path.MatchRoot("api_key_wo")),
					stringvalidator.LengthAtLeast(1),
				},
			},
			"api_key_wo": schema.StringAttribute{
				Optional: true, Sensitive: true, WriteOnly: true,
				MarkdownDescription: "Write-only twin of `api_key`: sent to the hosts, never stored in state or plan. Needs " +
					"Terraform or OpenTofu 1.11 or later. Set `api_key_wo_version` with it and change that number to send a new key.",
				Validators: []validator.String{
					stringvalidator.ConflictsWith(path.MatchRoot("api_key")),
					stringvalidator.AlsoRequires(path.MatchRoot("api_key_wo_version")),
				},
			},
			"api_key_wo_version": schema.Int64Attribute{
				Optional: true,
				MarkdownDescription: "Any number that you change whenever `api_key_wo` changes: a change sends the key again " +
					"(a rolling restart in place).",
				Validators: []validator.Int64{int64validator.AlsoRequires(path.MatchRoot("api_key_wo"))},
			},
			"rollout": schema.SingleNestedAttribute{
				Optional: true, Computed: true,
				MarkdownDescription: "How changes roll out.",
				Default: objectdefault.StaticValue(types.ObjectValueMust(map[string]attr.Type{"max_unavailable": types.Int64Type},
					map[string]attr.Value{"max_unavailable": types.Int64Value(1)})),
				Attributes: map[string]schema.Attribute{
					"max_unavailable": schema.Int64Attribute{
						Optional: true, Computed: true, Default: int64default.StaticInt64(1),
						MarkdownDescription: "Replicas restarted at once; default 1. A host's replicas converge together, so a " +
							"host with more replicas than this is a batch of its own.",
						Validators: []validator.Int64{int64validator.AtLeast(1)},
					},
				},
			},
			"force_remove_unreachable": schema.BoolAttribute{
				Optional: true, Computed: true, Default: booldefault.StaticBool(false),
				MarkdownDescription: "On destroy, forget replicas on hosts that cannot be reached (their units and GPUs " +
					"stay until removed by hand) instead of failing. Default `false`.",
			},
			"url": schema.StringAttribute{
				Computed: true,
				MarkdownDescription: "AWS: the OpenAI-compatible base URL of the endpoint on the cluster's internal load " +
					"balancer (`http://<load balancer DNS>:<port>/v1`). On-prem: null; each replica has its own URL in `urls`.",
			},
			"urls": schema.ListAttribute{
				ElementType: types.StringType, Computed: true,
				MarkdownDescription: "On-prem: one OpenAI-compatible base URL per replica (`http://ADDRESS:PORT/v1`), by " +
					"replica. AWS: the load balancer's URL (`url`), the one address of every replica.",
			},
			"placements": schema.ListNestedAttribute{
				Computed:            true,
				MarkdownDescription: "Where each replica runs.",
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"host":    schema.StringAttribute{Computed: true, MarkdownDescription: "Host name."},
					"replica": schema.Int64Attribute{Computed: true, MarkdownDescription: "Replica index."},
					"gpu_ids": schema.ListAttribute{ElementType: types.Int64Type, Computed: true, MarkdownDescription: "GPU indices on the host."},
					"port":    schema.Int64Attribute{Computed: true, MarkdownDescription: "Host port."},
					"url":     schema.StringAttribute{Computed: true, MarkdownDescription: "OpenAI base URL."},
				}},
			},
			"metrics_targets": schema.ListNestedAttribute{
				Computed: true,
				MarkdownDescription: "Where Prometheus scrapes each replica's `/metrics` (vLLM's own port, served without the API " +
					"key): `target` is `host:port`, `labels` are `endpoint`, `model`, `revision`, `replica` and `host`. Pass it " +
					"to `inferstack_prometheus_config`'s `targets`. Empty on AWS, whose replicas sit behind the load balancer: " +
					"pass the endpoint to `inferstack_prometheus_config`'s `aws_endpoints`, which discovers them by tag. On " +
					"Kubernetes, one target: the endpoint's Service (`<name>.<namespace>.svc:<port>`, labels `endpoint`, `model`, " +
					"`revision` and `host`), for a Prometheus inside the cluster; per-pod scraping there is kubernetes_sd's job.",
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"target": schema.StringAttribute{Computed: true, MarkdownDescription: "`host:port` of the replica's metrics."},
					"labels": schema.MapAttribute{ElementType: types.StringType, Computed: true, MarkdownDescription: "Labels of the replica's samples."},
				}},
			},
			"status": schema.StringAttribute{
				Computed: true,
				MarkdownDescription: "`ready` when every replica answered its health check at the last apply or refresh; " +
					"`degraded` when some did not; `unknown` when a host could not be reached.",
			},
			"timeouts": timeouts.Attributes(ctx, timeouts.Opts{Create: true, Update: true, Delete: true}),
		},
	}
	for _, a := range r.adapters {
		if block, ok := a.EndpointBlock(); ok {
			resp.Schema.Attributes[a.Name()] = block
		}
	}
	resp.Schema.MarkdownDescription += fmt.Sprintf("\n\nDefault timeouts: create %s, update %s, delete %s.",
		modelEndpointCreateTimeout, modelEndpointUpdateTimeout, modelEndpointDeleteTimeout)
}
