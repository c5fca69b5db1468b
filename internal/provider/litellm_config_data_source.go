package provider

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/inferstack/terraform-provider-inferstack/internal/gateway"
)

var (
	_ datasource.DataSource                   = &liteLLMConfigDataSource{}
	_ datasource.DataSourceWithValidateConfig = &liteLLMConfigDataSource{}
)

func newLiteLLMConfigDataSource() datasource.DataSource { return &liteLLMConfigDataSource{} }

// liteLLMConfigDataSource renders routes as a LiteLLM config file. It needs no provider data:
// it is pure computation, with no call to the gateway.
type liteLLMConfigDataSource struct{}

func (d *liteLLMConfigDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_litellm_config"
}

func (d *liteLLMConfigDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	envAttr := func(secret, example string) schema.StringAttribute {
		return schema.StringAttribute{
			Optional: true,
			MarkdownDescription: "Environment variable the proxy reads " + secret + " from (`os.environ/NAME` in `yaml`). " +
				"Defaults to `INFERSTACK_<ID>_" + example + "`, with the route id upper-cased and every character " +
				"other than a letter or digit turned into `_`.",
		}
	}
	secretAttr := func(what string) schema.StringAttribute {
		return schema.StringAttribute{
			Optional:  true,
			Sensitive: true,
			MarkdownDescription: what + " Never written into `yaml`: it goes into `env` under its environment " +
				"variable's name. A value that is already `os.environ/NAME` is written as is and left out of `env`.",
		}
	}
	positive := []validator.Int64{int64validator.AtLeast(1)}

	resp.Schema = schema.Schema{
		MarkdownDescription: "Renders routes as a LiteLLM proxy config file (`model_list` and `router_settings`), for a " +
			"proxy run from a file: GitOps, a Kubernetes ConfigMap, or a proxy without a database, whose model API " +
			"cannot register routes. The routes take the same arguments as `inferstack_api_route` and become the " +
			"same deployments, so a gateway fed by the file and one fed by the model API stay in step. Secrets are " +
			"written as `os.environ/NAME` references; `env` maps each name to its value, for the proxy's " +
			"environment (a Kubernetes Secret, an env file). Makes no network call.",
		Attributes: map[string]schema.Attribute{
			"routes": schema.ListNestedAttribute{
				Required:            true,
				MarkdownDescription: "The routes, as `inferstack_api_route` takes them (without the write-only keys).",
				Validators:          []validator.List{listvalidator.SizeAtLeast(1)},
				NestedObject: schema.NestedAttributeObject{
					Attributes: map[string]schema.Attribute{
						"id": schema.StringAttribute{
							Optional: true,
							MarkdownDescription: "The route's id: `model_info.id` of its first deployment (`<id>~1`, `<id>~2`, ... " +
								"for the other URLs) and the middle of its default environment variable names. Letters, " +
								"digits, `.`, `_` and `-`. Defaults to `name` with other characters turned into `-`; set it " +
								"when two routes share a name.",
						},
						"name": schema.StringAttribute{
							Required:            true,
							MarkdownDescription: "The model name clients send as `model`, e.g. `chat-default`.",
						},
						"self_hosted": schema.SingleNestedAttribute{
							Optional:            true,
							MarkdownDescription: "Self-hosted vLLM servers that serve this model. Set this or `external`.",
							Attributes: map[string]schema.Attribute{
								"urls": schema.ListAttribute{
									ElementType:         types.StringType,
									Required:            true,
									MarkdownDescription: "OpenAI-compatible base URLs of the vLLM replicas, each ending in `/v1`; one deployment each.",
								},
								"served_model_name": schema.StringAttribute{
									Required:            true,
									MarkdownDescription: "vLLM's `--served-model-name` (or the Hugging Face repository id when that flag is not set).",
								},
								"api_key":     secretAttr("vLLM's API key (its `--api-key`)."),
								"api_key_env": envAttr("the key", "API_KEY"),
							},
						},
						"external": schema.SingleNestedAttribute{
							Optional:            true,
							MarkdownDescription: "A closed API that serves this model. Set this or `self_hosted`.",
							Attributes: map[string]schema.Attribute{
								"provider": schema.StringAttribute{
									Required:            true,
									MarkdownDescription: "The API: `openai`, `anthropic`, `azure_openai` or `bedrock`.",
								},
								"model": schema.StringAttribute{
									Required:            true,
									MarkdownDescription: "The provider's own model id, without LiteLLM's prefix, e.g. `gpt-4o`.",
								},
								"api_key":     secretAttr("The provider's API key (not for `bedrock`)."),
								"api_key_env": envAttr("the API key", "API_KEY"),
								"api_base": schema.StringAttribute{
									Optional:            true,
									MarkdownDescription: "The API's base URL; required for `azure_openai`.",
								},
								"api_version": schema.StringAttribute{
									Optional:            true,
									MarkdownDescription: "Azure OpenAI API version, e.g. `2024-10-21` (`azure_openai` only).",
								},
								"organization": schema.StringAttribute{
									Optional:            true,
									MarkdownDescription: "OpenAI organization id (`openai` only).",
								},
								"aws_region": schema.StringAttribute{
									Optional:            true,
									MarkdownDescription: "AWS region of Bedrock (`bedrock` only, required there).",
								},
								"aws_access_key_id":         secretAttr("Static AWS access key id for Bedrock (optional; the proxy's own AWS credentials are used without it)."),
								"aws_access_key_id_env":     envAttr("the AWS access key id", "AWS_ACCESS_KEY_ID"),
								"aws_secret_access_key":     secretAttr("Static AWS secret access key for Bedrock."),
								"aws_secret_access_key_env": envAttr("the AWS secret access key", "AWS_SECRET_ACCESS_KEY"),
								"aws_session_token":         secretAttr("AWS session token for temporary static credentials (Bedrock)."),
								"aws_session_token_env":     envAttr("the AWS session token", "AWS_SESSION_TOKEN"),
							},
						},
						"weight": schema.Int64Attribute{
							Optional:            true,
							MarkdownDescription: "Share of traffic among deployments of the same model name (`simple-shuffle`).",
							Validators:          positive,
						},
						"order": schema.Int64Attribute{
							Optional:            true,
							MarkdownDescription: "Priority tier among deployments of the same model name: 1 is tried first.",
							Validators:          positive,
						},
						"tags": schema.ListAttribute{
							ElementType:         types.StringType,
							Optional:            true,
							MarkdownDescription: "Tag-routing tags of the route's deployments.",
						},
						"fallbacks": schema.ListAttribute{
							ElementType: types.StringType,
							Optional:    true,
							MarkdownDescription: "Model names tried, in order, when this one fails; written to " +
								"`router_settings.fallbacks`. Routes that share a name must not set different fallbacks.",
						},
						"rpm": schema.Int64Attribute{
							Optional:            true,
							MarkdownDescription: "Requests per minute per deployment.",
							Validators:          positive,
						},
						"tpm": schema.Int64Attribute{
							Optional:            true,
							MarkdownDescription: "Tokens per minute per deployment.",
							Validators:          positive,
						},
						"timeout_seconds": schema.Int64Attribute{
							Optional:            true,
							MarkdownDescription: "Timeout of one call to the target, in seconds.",
							Validators:          positive,
						},
						"mode": schema.StringAttribute{
							Optional: true,
							MarkdownDescription: "`model_info.mode`: `" + strings.Join(gateway.Modes, "`, `") + "`. Defaults to `" +
								gateway.DefaultMode + "`.",
						},
						"base_model": schema.StringAttribute{
							Optional:            true,
							MarkdownDescription: "LiteLLM's cost-map key for the model (`model_info.base_model`).",
						},
					},
				},
			},
			"router_settings": schema.SingleNestedAttribute{
				Optional:            true,
				MarkdownDescription: "Router-wide settings written to `router_settings` beside the routes' fallbacks. Unset ones keep LiteLLM's defaults.",
				Attributes: map[string]schema.Attribute{
					"routing_strategy": schema.StringAttribute{
						Optional:            true,
						MarkdownDescription: "`" + strings.Join(gateway.RoutingStrategies, "`, `") + "`. LiteLLM's default is `simple-shuffle`.",
						Validators:          []validator.String{stringvalidator.OneOf(gateway.RoutingStrategies...)},
					},
					"num_retries": schema.Int64Attribute{
						Optional:            true,
						MarkdownDescription: "Retries of a failed call within a model name before its fallbacks; 0 disables retries.",
						Validators:          []validator.Int64{int64validator.AtLeast(0)},
					},
					"allowed_fails": schema.Int64Attribute{
						Optional:            true,
						MarkdownDescription: "Failures a deployment may have per minute before it cools down.",
						Validators:          []validator.Int64{int64validator.AtLeast(0)},
					},
					"timeout_seconds": schema.Int64Attribute{
						Optional:            true,
						MarkdownDescription: "Timeout of a whole call, retries included, in seconds.",
						Validators:          positive,
					},
					"cooldown_seconds": schema.Int64Attribute{
						Optional:            true,
						MarkdownDescription: "How long a failing deployment is taken out of rotation, in seconds.",
						Validators:          positive,
					},
					"retry_after_seconds": schema.Int64Attribute{
						Optional:            true,
						MarkdownDescription: "Least wait before a failed call is retried, in seconds.",
						Validators:          positive,
					},
					"enable_tag_filtering": schema.BoolAttribute{
						Optional:            true,
						MarkdownDescription: "Turn on tag routing (the routes' `tags`).",
					},
				},
			},
			"yaml": schema.StringAttribute{
				Computed: true,
				MarkdownDescription: "The config file: `model_list` (routes sorted by id, one entry per deployment) and, " +
					"when there is anything to set, `router_settings`. It holds no secret, only `os.environ/NAME` references.",
			},
			"env": schema.MapAttribute{
				ElementType: types.StringType,
				Computed:    true,
				Sensitive:   true,
				MarkdownDescription: "The environment the proxy needs: each variable `yaml` references, mapped to its " +
					"secret value. Sensitive.",
			},
		},
	}
}

// ValidateConfig reports each route's problems on its attribute, as inferstack_api_route does.
func (d *liteLLMConfigDataSource) ValidateConfig(ctx context.Context, req datasource.ValidateConfigRequest, resp *datasource.ValidateConfigResponse) {
	var m liteLLMConfigDataSourceModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() || m.Routes.IsNull() || m.Routes.IsUnknown() {
		return
	}
	for i, el := range m.Routes.Elements() {
		obj, ok := el.(types.Object)
		if !ok || obj.IsNull() || obj.IsUnknown() {
			continue
		}
		var rm liteLLMConfigRouteModel
		resp.Diagnostics.Append(obj.As(ctx, &rm, basetypes.ObjectAsOptions{})...)
		if resp.Diagnostics.HasError() {
			return
		}
		route, unknown := expandConfigRoute(ctx, rm, &resp.Diagnostics)
		addRouteProblems(&resp.Diagnostics, path.Root("routes").AtListIndex(i), route.Validate(unknown...), false)
	}
}

func (d *liteLLMConfigDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var m liteLLMConfigDataSourceModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	var routeModels []liteLLMConfigRouteModel
	resp.Diagnostics.Append(m.Routes.ElementsAs(ctx, &routeModels, false)...)
	if resp.Diagnostics.HasError() {
		return
	}
	routes := make([]gateway.Route, 0, len(routeModels))
	for _, rm := range routeModels {
		r, _ := expandConfigRoute(ctx, rm, &resp.Diagnostics)
		routes = append(routes, r)
	}
	opts := gateway.RenderOptions{RouterSettings: expandRouterSettings(ctx, m.RouterSettings, &resp.Diagnostics)}
	if resp.Diagnostics.HasError() {
		return
	}

	out, err := gateway.RenderConfig(routes, opts)
	if err != nil {
		resp.Diagnostics.AddError(fmt.Sprintf("rendering LiteLLM config (%d routes)", len(routes)), err.Error())
		return
	}
	m.YAML = types.StringValue(string(out.YAML))
	env, diags := types.MapValueFrom(ctx, types.StringType, out.Env)
	resp.Diagnostics.Append(diags...)
	m.Env = env
	tflog.Debug(ctx, "rendered LiteLLM config", map[string]any{"routes": len(routes), "env_vars": len(out.Env)})
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

type liteLLMConfigDataSourceModel struct {
	Routes         types.List   `tfsdk:"routes"`
	RouterSettings types.Object `tfsdk:"router_settings"`
	YAML           types.String `tfsdk:"yaml"`
	Env            types.Map    `tfsdk:"env"`
}

type liteLLMConfigRouteModel struct {
	ID             types.String `tfsdk:"id"`
	Name           types.String `tfsdk:"name"`
	SelfHosted     types.Object `tfsdk:"self_hosted"`
	External       types.Object `tfsdk:"external"`
	Weight         types.Int64  `tfsdk:"weight"`
	Order          types.Int64  `tfsdk:"order"`
	Tags           types.List   `tfsdk:"tags"`
	Fallbacks      types.List   `tfsdk:"fallbacks"`
	RPM            types.Int64  `tfsdk:"rpm"`
	TPM            types.Int64  `tfsdk:"tpm"`
	TimeoutSeconds types.Int64  `tfsdk:"timeout_seconds"`
	Mode           types.String `tfsdk:"mode"`
	BaseModel      types.String `tfsdk:"base_model"`
}

type liteLLMConfigSelfHostedModel struct {
	URLs            types.List   `tfsdk:"urls"`
	ServedModelName types.String `tfsdk:"served_model_name"`
	APIKey          types.String `tfsdk:"api_key"`
	APIKeyEnv       types.String `tfsdk:"api_key_env"`
}

type liteLLMConfigExternalModel struct {
	Provider              types.String `tfsdk:"provider"`
	Model                 types.String `tfsdk:"model"`
	APIKey                types.String `tfsdk:"api_key"`
	APIKeyEnv             types.String `tfsdk:"api_key_env"`
	APIBase               types.String `tfsdk:"api_base"`
	APIVersion            types.String `tfsdk:"api_version"`
	Organization          types.String `tfsdk:"organization"`
	AWSRegion             types.String `tfsdk:"aws_region"`
	AWSAccessKeyID        types.String `tfsdk:"aws_access_key_id"`
	AWSAccessKeyIDEnv     types.String `tfsdk:"aws_access_key_id_env"`
	AWSSecretAccessKey    types.String `tfsdk:"aws_secret_access_key"`
	AWSSecretAccessKeyEnv types.String `tfsdk:"aws_secret_access_key_env"`
	AWSSessionToken       types.String `tfsdk:"aws_session_token"`
	AWSSessionTokenEnv    types.String `tfsdk:"aws_session_token_env"`
}

type liteLLMRouterSettingsModel struct {
	RoutingStrategy    types.String `tfsdk:"routing_strategy"`
	NumRetries         types.Int64  `tfsdk:"num_retries"`
	AllowedFails       types.Int64  `tfsdk:"allowed_fails"`
	TimeoutSeconds     types.Int64  `tfsdk:"timeout_seconds"`
	CooldownSeconds    types.Int64  `tfsdk:"cooldown_seconds"`
	RetryAfterSeconds  types.Int64  `tfsdk:"retry_after_seconds"`
	EnableTagFiltering types.Bool   `tfsdk:"enable_tag_filtering"`
}

// expandConfigRoute builds the gateway route of one element of routes, and the attributes whose
// values are not known yet (as gateway.Route.Validate names them).
func expandConfigRoute(ctx context.Context, m liteLLMConfigRouteModel, diags *diag.Diagnostics) (gateway.Route, []string) {
	var route gateway.Route
	unknown := routeCommon{Name: m.Name, Weight: m.Weight, Order: m.Order, RPM: m.RPM, TPM: m.TPM,
		TimeoutSeconds: m.TimeoutSeconds, Tags: m.Tags, Fallbacks: m.Fallbacks, Mode: m.Mode, BaseModel: m.BaseModel}.expand(&route)

	switch {
	case m.ID.IsUnknown(), m.ID.IsNull() && m.Name.IsUnknown():
		unknown = append(unknown, "id")
	case m.ID.IsNull():
		route.ID = routeSlug(m.Name.ValueString(), 96)
	default:
		route.ID = m.ID.ValueString()
	}

	switch {
	case m.SelfHosted.IsUnknown():
		unknown = append(unknown, "self_hosted")
	case !m.SelfHosted.IsNull():
		var s liteLLMConfigSelfHostedModel
		diags.Append(m.SelfHosted.As(ctx, &s, basetypes.ObjectAsOptions{})...)
		urls, ok := knownStrings(s.URLs)
		if !ok {
			unknown = append(unknown, "self_hosted.urls")
		}
		if s.ServedModelName.IsUnknown() {
			unknown = append(unknown, "self_hosted.served_model_name")
		}
		if s.APIKey.IsUnknown() {
			unknown = append(unknown, "self_hosted.api_key")
		}
		route.SelfHosted = &gateway.SelfHosted{APIBases: urls, ServedModel: s.ServedModelName.ValueString(),
			APIKey: s.APIKey.ValueString(), APIKeyEnv: s.APIKeyEnv.ValueString()}
	}

	switch {
	case m.External.IsUnknown():
		unknown = append(unknown, "external")
	case !m.External.IsNull():
		var e liteLLMConfigExternalModel
		diags.Append(m.External.As(ctx, &e, basetypes.ObjectAsOptions{})...)
		for name, v := range map[string]types.String{
			"provider": e.Provider, "model": e.Model, "api_key": e.APIKey, "api_base": e.APIBase, "api_version": e.APIVersion,
			"aws_region": e.AWSRegion, "aws_access_key_id": e.AWSAccessKeyID, "aws_secret_access_key": e.AWSSecretAccessKey,
		} {
			if v.IsUnknown() {
				unknown = append(unknown, "external."+name)
			}
		}
		route.External = &gateway.External{
			Provider:              gateway.Provider(e.Provider.ValueString()),
			Model:                 e.Model.ValueString(),
			APIKey:                e.APIKey.ValueString(),
			APIBase:               e.APIBase.ValueString(),
			APIVersion:            e.APIVersion.ValueString(),
			Organization:          e.Organization.ValueString(),
			AWSRegion:             e.AWSRegion.ValueString(),
			AWSAccessKeyID:        e.AWSAccessKeyID.ValueString(),
			AWSSecretAccessKey:    e.AWSSecretAccessKey.ValueString(),
			AWSSessionToken:       e.AWSSessionToken.ValueString(),
			APIKeyEnv:             e.APIKeyEnv.ValueString(),
			AWSAccessKeyIDEnv:     e.AWSAccessKeyIDEnv.ValueString(),
			AWSSecretAccessKeyEnv: e.AWSSecretAccessKeyEnv.ValueString(),
			AWSSessionTokenEnv:    e.AWSSessionTokenEnv.ValueString(),
		}
	}
	return route, unknown
}

func expandRouterSettings(ctx context.Context, o types.Object, diags *diag.Diagnostics) gateway.RouterSettings {
	var s gateway.RouterSettings
	if o.IsNull() || o.IsUnknown() {
		return s
	}
	var m liteLLMRouterSettingsModel
	diags.Append(o.As(ctx, &m, basetypes.ObjectAsOptions{})...)
	s.RoutingStrategy = m.RoutingStrategy.ValueString()
	if !m.NumRetries.IsNull() {
		n := int(m.NumRetries.ValueInt64())
		s.NumRetries = &n
	}
	if !m.AllowedFails.IsNull() {
		n := int(m.AllowedFails.ValueInt64())
		s.AllowedFails = &n
	}
	s.Timeout = time.Duration(m.TimeoutSeconds.ValueInt64()) * time.Second
	s.CooldownTime = time.Duration(m.CooldownSeconds.ValueInt64()) * time.Second
	s.RetryAfter = time.Duration(m.RetryAfterSeconds.ValueInt64()) * time.Second
	s.EnableTagFiltering = m.EnableTagFiltering.ValueBool()
	return s
}
