package provider

import (
	"context"
	"fmt"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"

	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/inferstack/terraform-provider-inferstack/internal/gateway"
)

func (r *apiRouteResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "One model name in the LiteLLM gateway (the `gateway` block of the provider), pointing at " +
			"self-hosted vLLM replicas or at a closed API (OpenAI, Anthropic, Azure OpenAI, Bedrock). Each vLLM URL " +
			"becomes one LiteLLM deployment under the same model name, so LiteLLM balances across the replicas; " +
			"`fallbacks` puts other model names (for example a closed API's route) behind this one.\n\n" +
			"The route is registered through LiteLLM's model API, which needs a proxy with a database and " +
			"`STORE_MODEL_IN_DB=True`. For a proxy run from a config file, render the same routes with the " +
			"`inferstack_litellm_config` data source instead.\n\n" +
			"A route has exactly one target: `endpoint_id` (an `inferstack_model_endpoint`, whose URLs, served model " +
			"name and API key the provider looks up itself), `self_hosted` (the URLs of vLLM servers that already run) " +
			"or `external` (a closed API).",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				Computed: true,
				MarkdownDescription: "The route's id, chosen at create: the model name as a slug and a random suffix " +
					"(e.g. `chat-default-3f9a1c2b`). It is `model_info.id` of the route's first deployment in LiteLLM " +
					"and never changes, even when `name` does.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"name": schema.StringAttribute{
				Required: true,
				MarkdownDescription: "The model name clients send as `model`, e.g. `chat-default`. Several routes may share " +
					"a name (LiteLLM balances across all of their deployments, by `weight`). Changing it renames the " +
					"route in place.",
			},
			"endpoint_id": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "The `id` of the `inferstack_model_endpoint` that serves this model, e.g. " +
					"`inferstack_model_endpoint.qwen.id`. Set exactly one of `endpoint_id`, `self_hosted` and `external`. " +
					"At apply and at refresh the provider asks the endpoint's hosts over SSH (with the provider's `onprem` " +
					"key) for every replica's URL, ready or not (one LiteLLM deployment each, `hosted_vllm/<served model " +
					"name>`), the served model name and the API key, which it reads from the endpoint's root-only secret " +
					"file and sends to the gateway without storing it in this route's state. The apply fails while the " +
					"endpoint has no ready replica. When the endpoint's replicas move or its served name or key change, the " +
					"route is updated in place (in the same apply when the change comes from the endpoint's own " +
					"configuration; after a refresh otherwise). Referring to the endpoint makes Terraform create the route " +
					"after the endpoint and withdraw it before the endpoint is destroyed.",
			},
			"self_hosted": schema.SingleNestedAttribute{
				Optional: true,
				MarkdownDescription: "Self-hosted vLLM servers that serve this model, given by URL. Set exactly one of " +
					"`endpoint_id`, `self_hosted` and `external`. LiteLLM calls them as `hosted_vllm/<served_model_name>`.",
				Attributes: map[string]schema.Attribute{
					"urls": schema.ListAttribute{
						ElementType: types.StringType,
						Required:    true,
						MarkdownDescription: "OpenAI-compatible base URLs of the vLLM replicas, each ending in `/v1`, e.g. " +
							"`http://10.0.0.11:8000/v1`. Each becomes one LiteLLM deployment (see `deployment_ids`); " +
							"adding or removing a URL adds or removes a deployment in place.",
						Validators: []validator.List{listvalidator.SizeAtLeast(1)},
					},
					"served_model_name": schema.StringAttribute{
						Required: true,
						MarkdownDescription: "The name vLLM serves the model under: its `--served-model-name`, or the Hugging " +
							"Face repository id (e.g. `meta-llama/Llama-3.1-8B-Instruct`) when that flag is not set.",
					},
					"api_key": apiKeyAttribute("vLLM's API key (its `--api-key`). inferstack endpoints always run with one; for " +
						"a vLLM server started without `--api-key`, any value works."),
					"api_key_wo":         apiKeyWOAttribute(),
					"api_key_wo_version": apiKeyWOVersionAttribute(),
				},
			},
			"external": schema.SingleNestedAttribute{
				Optional: true,
				MarkdownDescription: "A closed API that serves this model. Set exactly one of `endpoint_id`, " +
					"`self_hosted` and `external`.",
				Attributes: map[string]schema.Attribute{
					"provider": schema.StringAttribute{
						Required:            true,
						MarkdownDescription: "The API: `openai`, `anthropic`, `azure_openai` or `bedrock`.",
					},
					"model": schema.StringAttribute{
						Required: true,
						MarkdownDescription: "The provider's own model id, without LiteLLM's prefix: `gpt-4o`, " +
							"`claude-sonnet-4-5-20250929`, the Azure OpenAI deployment name, or the Bedrock model id " +
							"(`anthropic.claude-3-5-sonnet-20240620-v1:0`).",
					},
					"api_key": apiKeyAttribute("The provider's API key (`openai`, `anthropic`, `azure_openai`; not `bedrock`). " +
						"`os.environ/NAME` makes the proxy read it from its own environment instead."),
					"api_key_wo":         apiKeyWOAttribute(),
					"api_key_wo_version": apiKeyWOVersionAttribute(),
					"api_base": schema.StringAttribute{
						Optional: true,
						MarkdownDescription: "The API's base URL. Required for `azure_openai` (the resource's endpoint, " +
							"`https://my-resource.openai.azure.com`); optional for `openai` and `anthropic` (a proxy or a " +
							"compatible API); not for `bedrock`.",
					},
					"api_version": schema.StringAttribute{
						Optional:            true,
						MarkdownDescription: "Azure OpenAI API version, e.g. `2024-10-21` (`azure_openai` only, required there).",
					},
					"organization": schema.StringAttribute{
						Optional:            true,
						MarkdownDescription: "OpenAI organization id (`openai` only).",
					},
					"aws_region": schema.StringAttribute{
						Optional:            true,
						MarkdownDescription: "AWS region of Bedrock, e.g. `us-east-1` (`bedrock` only, required there).",
					},
					"aws_access_key_id": schema.StringAttribute{
						Optional:  true,
						Sensitive: true,
						MarkdownDescription: "Static AWS access key id for Bedrock, set together with `aws_secret_access_key`. " +
							"Without them the proxy uses its own AWS credentials (instance role, environment), which is " +
							"preferable.",
					},
					"aws_secret_access_key": schema.StringAttribute{
						Optional:            true,
						Sensitive:           true,
						MarkdownDescription: "Static AWS secret access key for Bedrock, set together with `aws_access_key_id`.",
					},
					"aws_session_token": schema.StringAttribute{
						Optional:            true,
						Sensitive:           true,
						MarkdownDescription: "AWS session token that goes with temporary static credentials (Bedrock).",
					},
				},
			},
			"weight": schema.Int64Attribute{
				Optional: true,
				MarkdownDescription: "Share of traffic among deployments of the same model name under LiteLLM's " +
					"`simple-shuffle` routing, e.g. 3 against another route's 1. Unset: LiteLLM's default (equal shares).",
				Validators: []validator.Int64{int64validator.AtLeast(1)},
			},
			"order": schema.Int64Attribute{
				Optional: true,
				MarkdownDescription: "Priority tier among deployments of the same model name: LiteLLM tries order 1 " +
					"first, then 2, then the model's `fallbacks`.",
				Validators: []validator.Int64{int64validator.AtLeast(1)},
			},
			"tags": schema.ListAttribute{
				ElementType: types.StringType,
				Optional:    true,
				MarkdownDescription: "LiteLLM tag-routing tags of the route's deployments (with " +
					"`enable_tag_filtering` in the proxy's router settings).",
			},
			"fallbacks": schema.ListAttribute{
				ElementType: types.StringType,
				Optional:    true,
				MarkdownDescription: "Model names LiteLLM tries, in order, when this model name fails after its retries, " +
					"e.g. `[inferstack_api_route.gpt4o.name]`. They must be model names the proxy serves (LiteLLM " +
					"checks at apply). Fallbacks belong to the model name, not to a deployment: when routes share a " +
					"name, set them on one of them only.",
			},
			"rpm": schema.Int64Attribute{
				Optional:            true,
				MarkdownDescription: "Requests per minute each deployment of the route may take (LiteLLM's `rpm`).",
				Validators:          []validator.Int64{int64validator.AtLeast(1)},
			},
			"tpm": schema.Int64Attribute{
				Optional:            true,
				MarkdownDescription: "Tokens per minute each deployment of the route may take (LiteLLM's `tpm`).",
				Validators:          []validator.Int64{int64validator.AtLeast(1)},
			},
			"timeout_seconds": schema.Int64Attribute{
				Optional: true,
				MarkdownDescription: "Timeout of one call to the target, in seconds (LiteLLM's `timeout`). Long " +
					"generations on self-hosted models may need several minutes. Unset: LiteLLM's default.",
				Validators: []validator.Int64{int64validator.AtLeast(1)},
			},
			"mode": schema.StringAttribute{
				Optional: true,
				Computed: true,
				Default:  stringdefault.StaticString(gateway.DefaultMode),
				MarkdownDescription: "What the model does, for LiteLLM's health checks and cost map (`model_info.mode`): " +
					"`" + strings.Join(gateway.Modes, "`, `") + "`. Defaults to `" + gateway.DefaultMode + "`.",
			},
			"base_model": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "LiteLLM's cost-map key for the model (`model_info.base_model`), for spend " +
					"tracking, e.g. the Hugging Face repository id of a self-hosted model.",
			},
			"resolved_urls": schema.ListAttribute{
				ElementType: types.StringType,
				Computed:    true,
				MarkdownDescription: "With `endpoint_id`: the endpoint's replica URLs the gateway's deployments point at, " +
					"one per entry of `deployment_ids`. Null for the other targets.",
			},
			"resolved_served_model_name": schema.StringAttribute{
				Computed: true,
				MarkdownDescription: "With `endpoint_id`: the endpoint's served model name the gateway calls " +
					"(`hosted_vllm/<this>`). Null for the other targets.",
			},
			"timeouts": timeouts.Attributes(ctx, timeouts.Opts{Create: true, Update: true, Delete: true}),
			"deployment_ids": schema.ListAttribute{
				ElementType: types.StringType,
				Computed:    true,
				MarkdownDescription: "The LiteLLM deployment ids (`model_info.id`) of the route: `id` for the first URL, " +
					"`<id>~1`, `<id>~2`, ... for the others; one for an external route.",
			},
		},
	}
	resp.Schema.MarkdownDescription += fmt.Sprintf("\n\nDefault timeouts: create %s and update %s (until the gateway "+
		"serves the route), delete %s (until it no longer does).", apiRouteCreateTimeout, apiRouteUpdateTimeout, apiRouteDeleteTimeout)
}

func apiKeyAttribute(what string) schema.StringAttribute {
	return schema.StringAttribute{
		Optional:  true,
		Sensitive: true,
		MarkdownDescription: what + " Sensitive: it is kept in state, never shown or logged. On Terraform or OpenTofu " +
			"1.11 and later prefer `api_key_wo`, which keeps it out of state. Set one of `api_key` and `api_key_wo`. " +
			"LiteLLM never gives a key back, so a key changed in the proxy behind Terraform's back is not detected.",
		Validators: []validator.String{
			stringvalidator.ConflictsWith(path.MatchRelative().AtParent().AtName("api_key_wo")),
		},
	}
}

func apiKeyWOAttribute() schema.StringAttribute {
	return schema.StringAttribute{
		Optional:  true,
		Sensitive: true,
		WriteOnly: true,
		MarkdownDescription: "Write-only twin of `api_key`: sent to the gateway, never stored in state or plan. Needs " +
			"Terraform or OpenTofu 1.11 or later. Set `api_key_wo_version` with it, and change that number to send a " +
			"new key (a change of this value alone is not seen by Terraform).",
		Validators: []validator.String{
			stringvalidator.ConflictsWith(path.MatchRelative().AtParent().AtName("api_key")),
			stringvalidator.AlsoRequires(path.MatchRelative().AtParent().AtName("api_key_wo_version")),
		},
	}
}

func apiKeyWOVersionAttribute() schema.Int64Attribute {
	return schema.Int64Attribute{
		Optional: true,
		MarkdownDescription: "Any number that you change whenever `api_key_wo` changes: a change updates the route " +
			"in place and sends the key again.",
		Validators: []validator.Int64{
			int64validator.AlsoRequires(path.MatchRelative().AtParent().AtName("api_key_wo")),
		},
	}
}
