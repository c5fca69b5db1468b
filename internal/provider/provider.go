// Package provider is the terraform-plugin-framework glue of inferstack: the provider schema and
// Configure, and one file per resource and data source. It never imports a cloud SDK: it turns
// configuration into the backends' Config types and calls the backends.
package provider

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/provider/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/inferstack/terraform-provider-inferstack/internal/backend"
	awsbackend "github.com/inferstack/terraform-provider-inferstack/internal/backend/aws"
	azurebackend "github.com/inferstack/terraform-provider-inferstack/internal/backend/azure"
	k8sbackend "github.com/inferstack/terraform-provider-inferstack/internal/backend/kubernetes"
	"github.com/inferstack/terraform-provider-inferstack/internal/backend/onprem"
)

var _ provider.Provider = &inferstackProvider{}

// Option changes how New builds the provider; the acceptance-test harness uses them to reach
// in-process stand-ins (the Azure SDK's fake servers), which have no network address.
type Option func(*inferstackProvider)

// WithAzureTestHooks routes every Azure call through the given hooks (fake transport and
// credential).
func WithAzureTestHooks(h azurebackend.TestHooks) Option {
	return func(p *inferstackProvider) { p.azureHooks = &h }
}

// New returns a function that builds the provider, as providerserver.Serve wants.
func New(version string, opts ...Option) func() provider.Provider {
	return func() provider.Provider {
		p := &inferstackProvider{version: version}
		for _, o := range opts {
			o(p)
		}
		return p
	}
}

type inferstackProvider struct {
	version    string
	azureHooks *azurebackend.TestHooks
	// Backends and adapters added by WithBackend (tests), after the built-in ones.
	extraBackends []backend.Backend
	extraAdapters []BackendAdapter
}

// adapters are the backends' adapters: the built-in ones, then those added by WithBackend.
func (p *inferstackProvider) adapters() []BackendAdapter {
	return append(builtinAdapters(), p.extraAdapters...)
}

// Metadata names the provider "inferstack", the prefix of every resource type.
func (p *inferstackProvider) Metadata(_ context.Context, _ provider.MetadataRequest, resp *provider.MetadataResponse) {
	resp.TypeName = "inferstack"
	resp.Version = p.version
}

// Schema declares the provider's optional backend blocks.
func (p *inferstackProvider) Schema(_ context.Context, _ provider.SchemaRequest, resp *provider.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "The inferstack provider stands up self-hosted LLM inference: GPU capacity on AWS, Azure or " +
			"on-prem hosts, vLLM serving Hugging Face models, and routes in a LiteLLM gateway beside closed APIs. " +
			"Every block is optional and every credential falls back to the environment variables the clouds' own " +
			"tools read, so the same configuration runs on a laptop, in CI and in Terraform Cloud workspaces with " +
			"dynamic credentials. Configuring the provider makes no network call: clients are built on first use.",
		Blocks: map[string]schema.Block{
			"huggingface": schema.SingleNestedBlock{
				MarkdownDescription: "Access to the Hugging Face Hub, used to resolve models and their revisions.",
				Attributes: map[string]schema.Attribute{
					"token": schema.StringAttribute{
						Optional:  true,
						Sensitive: true,
						MarkdownDescription: "Hub access token. Needed for gated and private models. " +
							"Defaults to the `HF_TOKEN` environment variable (then `HUGGING_FACE_HUB_TOKEN`).",
					},
					"endpoint": schema.StringAttribute{
						Optional: true,
						MarkdownDescription: "Base URL of the Hub or a mirror. Defaults to the `HF_ENDPOINT` environment " +
							"variable, then `https://huggingface.co`.",
					},
				},
			},
			"aws": schema.SingleNestedBlock{
				MarkdownDescription: "Defaults for AWS. Credentials follow the AWS SDK's standard chain (environment, " +
					"shared config and credentials files, SSO, web identity via `AWS_WEB_IDENTITY_TOKEN_FILE` and " +
					"`AWS_ROLE_ARN` as Terraform Cloud dynamic credentials set them, ECS and EC2 instance roles).",
				Attributes: map[string]schema.Attribute{
					"region": schema.StringAttribute{
						Optional:            true,
						MarkdownDescription: "Default region. Defaults to `AWS_REGION`, then `AWS_DEFAULT_REGION`, then the profile's region.",
					},
					"profile": schema.StringAttribute{
						Optional:            true,
						MarkdownDescription: "Named profile of the shared config files. Defaults to `AWS_PROFILE`.",
					},
					"access_key": schema.StringAttribute{
						Optional:            true,
						Sensitive:           true,
						MarkdownDescription: "Static access key id. Prefer the environment (`AWS_ACCESS_KEY_ID`) or a role.",
					},
					"secret_key": schema.StringAttribute{
						Optional:            true,
						Sensitive:           true,
						MarkdownDescription: "Static secret access key; set together with `access_key`.",
					},
					"shared_config_files": schema.ListAttribute{
						ElementType:         types.StringType,
						Optional:            true,
						MarkdownDescription: "Paths of shared config files. Defaults to `AWS_CONFIG_FILE`, then `~/.aws/config`.",
					},
					"shared_credentials_files": schema.ListAttribute{
						ElementType:         types.StringType,
						Optional:            true,
						MarkdownDescription: "Paths of shared credentials files. Defaults to `AWS_SHARED_CREDENTIALS_FILE`, then `~/.aws/credentials`.",
					},
					"max_retries": schema.Int64Attribute{
						Optional: true,
						MarkdownDescription: "Maximum attempts per API call for throttling and transient errors (the SDK's " +
							"standard retryer, with backoff). Defaults to `AWS_MAX_ATTEMPTS`, then 25.",
					},
					"assume_role_arn": schema.StringAttribute{
						Optional:            true,
						MarkdownDescription: "ARN of a role to assume with STS after the base credentials are found.",
					},
					"default_tags": schema.MapAttribute{
						ElementType: types.StringType,
						Optional:    true,
						MarkdownDescription: "Tags put on every AWS object the provider makes (security groups, roles, load " +
							"balancers, launch templates, Auto Scaling groups and the instances and volumes they launch, " +
							"secrets), beside `inferstack:cluster` and `inferstack:endpoint`. Keys starting with `aws:` or " +
							"`inferstack:` are reserved.",
						Validators: []validator.Map{tagKeysValidator{}},
					},
					"endpoints": schema.MapAttribute{
						ElementType: types.StringType,
						Optional:    true,
						MarkdownDescription: "Custom endpoint URLs by service id (`ec2`, `autoscaling`, `elasticloadbalancing`, " +
							"`iam`, `ssm`, `secretsmanager`, `sts`, `servicequotas`, `pricing`), e.g. for VPC endpoints or " +
							"emulators. `AWS_ENDPOINT_URL` and `AWS_ENDPOINT_URL_<SERVICE>` are honoured too.",
					},
				},
			},
			"azure": schema.SingleNestedBlock{
				MarkdownDescription: "Defaults for Azure. Credentials use the `ARM_*` environment variables the " +
					"azurerm provider reads, including OIDC as Terraform Cloud dynamic credentials set it " +
					"(`TFC_WORKLOAD_IDENTITY_TOKEN`), then fall back to the Azure SDK's default chain (environment, " +
					"workload identity, managed identity, Azure CLI).",
				Attributes: map[string]schema.Attribute{
					"subscription_id": schema.StringAttribute{
						Optional:            true,
						MarkdownDescription: "Subscription to work in. Defaults to `ARM_SUBSCRIPTION_ID`.",
					},
					"tenant_id": schema.StringAttribute{
						Optional:            true,
						MarkdownDescription: "Microsoft Entra tenant. Defaults to `ARM_TENANT_ID`.",
					},
					"client_id": schema.StringAttribute{
						Optional:            true,
						MarkdownDescription: "Application (client) id of the service principal or managed identity. Defaults to `ARM_CLIENT_ID`.",
					},
					"client_secret": schema.StringAttribute{
						Optional:            true,
						Sensitive:           true,
						MarkdownDescription: "Client secret of the service principal. Defaults to `ARM_CLIENT_SECRET`.",
					},
					"use_oidc": schema.BoolAttribute{
						Optional: true,
						MarkdownDescription: "Authenticate with an OIDC token (workload identity federation). Defaults to " +
							"`ARM_USE_OIDC`. The token comes from `oidc_token`, `ARM_OIDC_TOKEN` or `TFC_WORKLOAD_IDENTITY_TOKEN`, " +
							"else from the file at `oidc_token_file_path` or `ARM_OIDC_TOKEN_FILE_PATH`.",
					},
					"oidc_token": schema.StringAttribute{
						Optional:            true,
						Sensitive:           true,
						MarkdownDescription: "OIDC token to exchange for an access token. Defaults to `ARM_OIDC_TOKEN`.",
					},
					"oidc_token_file_path": schema.StringAttribute{
						Optional:            true,
						MarkdownDescription: "File holding the OIDC token. Defaults to `ARM_OIDC_TOKEN_FILE_PATH`.",
					},
					"use_msi": schema.BoolAttribute{
						Optional:            true,
						MarkdownDescription: "Authenticate with a managed identity. Defaults to `ARM_USE_MSI`.",
					},
					"client_certificate_path": schema.StringAttribute{
						Optional:            true,
						MarkdownDescription: "PKCS#12 (.pfx) or PEM file with the service principal's certificate and key. Defaults to `ARM_CLIENT_CERTIFICATE_PATH`.",
					},
					"client_certificate_password": schema.StringAttribute{
						Optional:            true,
						Sensitive:           true,
						MarkdownDescription: "Password of that file. Defaults to `ARM_CLIENT_CERTIFICATE_PASSWORD`.",
					},
					"use_cli": schema.BoolAttribute{
						Optional:            true,
						MarkdownDescription: "Authenticate as the Azure CLI's signed-in account (`az login`). Defaults to `ARM_USE_CLI`.",
					},
					"environment": schema.StringAttribute{
						Optional: true,
						MarkdownDescription: "Cloud: `public` (default), `usgovernment`, `china`, or `custom` with " +
							"`resource_manager_endpoint` and `authority_host`. Defaults to `ARM_ENVIRONMENT`.",
					},
					"resource_manager_endpoint": schema.StringAttribute{
						Optional: true,
						MarkdownDescription: "Azure Resource Manager URL of a custom cloud (Azure Stack Hub, a sovereign cloud, the " +
							"local lab), `https://` only. Defaults to `ARM_RESOURCE_MANAGER_ENDPOINT`.",
					},
					"resource_manager_audience": schema.StringAttribute{
						Optional:            true,
						MarkdownDescription: "Token audience of that Resource Manager. Defaults to `ARM_RESOURCE_MANAGER_AUDIENCE`, else `https://management.azure.com/`.",
					},
					"authority_host": schema.StringAttribute{
						Optional:            true,
						MarkdownDescription: "Microsoft Entra authority of a custom cloud, `https://` only. Defaults to `ARM_AUTHORITY_HOST`.",
					},
					"default_tags": schema.MapAttribute{
						ElementType:         types.StringType,
						Optional:            true,
						MarkdownDescription: "Tags on every Azure object the provider makes (clusters' and endpoints').",
					},
				},
			},
			"kubernetes": schema.SingleNestedBlock{
				MarkdownDescription: "How the Kubernetes API server of `kubernetes` clusters is reached, as " +
					"terraform-provider-kubernetes users write it: `host` with a token, client certificate or `exec` " +
					"plugin (EKS, AKS and GKE's credential plugins work); else kubeconfig files (`config_path`, " +
					"`config_paths`, then `KUBE_CONFIG_PATH`, `KUBE_CONFIG_PATHS`, `KUBECONFIG`) with `config_context`; " +
					"else the in-cluster service account. Objects are written with server-side apply, field manager `inferstack`.",
				Attributes: map[string]schema.Attribute{
					"config_path": schema.StringAttribute{
						Optional:            true,
						MarkdownDescription: "Path of a kubeconfig file. Defaults to `KUBE_CONFIG_PATH`.",
					},
					"config_paths": schema.ListAttribute{
						ElementType:         types.StringType,
						Optional:            true,
						MarkdownDescription: "Paths of kubeconfig files, merged in order. Defaults to `KUBE_CONFIG_PATHS`, then `KUBECONFIG` (both split on `:`).",
					},
					"config_context": schema.StringAttribute{
						Optional:            true,
						MarkdownDescription: "Context of the kubeconfig to use. Defaults to `KUBE_CTX`, then the kubeconfig's current context.",
					},
					"host": schema.StringAttribute{
						Optional:            true,
						MarkdownDescription: "URL of the API server (`https://...`). Defaults to `KUBE_HOST`. Overrides the kubeconfig's server.",
					},
					"token": schema.StringAttribute{
						Optional:            true,
						Sensitive:           true,
						MarkdownDescription: "Bearer token. Defaults to `KUBE_TOKEN`.",
					},
					"cluster_ca_certificate": schema.StringAttribute{
						Optional:            true,
						MarkdownDescription: "PEM of the API server's certificate authority. Defaults to `KUBE_CLUSTER_CA_CERT_DATA`.",
					},
					"client_certificate": schema.StringAttribute{
						Optional:            true,
						MarkdownDescription: "PEM client certificate. Defaults to `KUBE_CLIENT_CERT_DATA`.",
					},
					"client_key": schema.StringAttribute{
						Optional:            true,
						Sensitive:           true,
						MarkdownDescription: "PEM key of `client_certificate`. Defaults to `KUBE_CLIENT_KEY_DATA`.",
					},
					"insecure": schema.BoolAttribute{
						Optional:            true,
						MarkdownDescription: "Skip verification of the server's certificate (tests only). Defaults to `KUBE_INSECURE`.",
					},
				},
				Blocks: map[string]schema.Block{
					"exec": schema.SingleNestedBlock{
						MarkdownDescription: "A client-go credential plugin, e.g. `aws eks get-token`, `kubelogin`, `gke-gcloud-auth-plugin`.",
						Attributes: map[string]schema.Attribute{
							"api_version": schema.StringAttribute{
								Optional:            true,
								MarkdownDescription: "API version of the ExecCredential, e.g. `client.authentication.k8s.io/v1beta1`.",
							},
							"command": schema.StringAttribute{Optional: true, MarkdownDescription: "The plugin's executable."},
							"args":    schema.ListAttribute{ElementType: types.StringType, Optional: true, MarkdownDescription: "Its arguments."},
							"env":     schema.MapAttribute{ElementType: types.StringType, Optional: true, MarkdownDescription: "Extra environment of the plugin."},
						},
					},
				},
			},
			"onprem": schema.SingleNestedBlock{
				MarkdownDescription: "How on-prem GPU hosts are reached over SSH. The credential lives here, not on " +
					"the cluster, so that every resource that works on a cluster's hosts (the cluster itself, its " +
					"endpoints) can use it in any run without keeping it in state.",
				Attributes: map[string]schema.Attribute{
					"ssh_private_key": schema.StringAttribute{
						Optional:  true,
						Sensitive: true,
						MarkdownDescription: "PEM private key (OpenSSH, PKCS#1 or PKCS#8) authorised on every on-prem host. " +
							"Defaults to `INFERSTACK_SSH_PRIVATE_KEY`.",
					},
					"ssh_passphrase": schema.StringAttribute{
						Optional:            true,
						Sensitive:           true,
						MarkdownDescription: "Passphrase of an encrypted `ssh_private_key`. Defaults to `INFERSTACK_SSH_PASSPHRASE`.",
					},
					"known_hosts": schema.StringAttribute{
						Optional: true,
						MarkdownDescription: "known_hosts text trusted for hosts that have no `host_key` of their own " +
							"(plain `host` and `[host]:port` patterns). Defaults to `INFERSTACK_SSH_KNOWN_HOSTS`.",
					},
				},
			},
			"gateway": schema.SingleNestedBlock{
				MarkdownDescription: "The LiteLLM proxy that `inferstack_api_route` registers models in.",
				Attributes: map[string]schema.Attribute{
					"url": schema.StringAttribute{
						Optional:            true,
						MarkdownDescription: "Base URL of the LiteLLM proxy, e.g. `https://llm.internal:4000`. Defaults to `LITELLM_URL`.",
					},
					"master_key": schema.StringAttribute{
						Optional:            true,
						Sensitive:           true,
						MarkdownDescription: "LiteLLM master key (or an admin virtual key). Defaults to `LITELLM_MASTER_KEY`.",
					},
					"ca_cert": schema.StringAttribute{
						Optional:            true,
						MarkdownDescription: "PEM bundle of certificate authorities to trust for the gateway's TLS certificate, in addition to the system's.",
					},
				},
			},
		},
	}
}

type inferstackProviderModel struct {
	HuggingFace *huggingFaceModel `tfsdk:"huggingface"`
	AWS         *awsModel         `tfsdk:"aws"`
	Azure       *azureModel       `tfsdk:"azure"`
	Gateway     *gatewayModel     `tfsdk:"gateway"`
	OnPrem      *onPremModel      `tfsdk:"onprem"`
	Kubernetes  *kubernetesModel  `tfsdk:"kubernetes"`
}

type kubernetesModel struct {
	ConfigPath           types.String         `tfsdk:"config_path"`
	ConfigPaths          types.List           `tfsdk:"config_paths"`
	ConfigContext        types.String         `tfsdk:"config_context"`
	Host                 types.String         `tfsdk:"host"`
	Token                types.String         `tfsdk:"token"`
	ClusterCACertificate types.String         `tfsdk:"cluster_ca_certificate"`
	ClientCertificate    types.String         `tfsdk:"client_certificate"`
	ClientKey            types.String         `tfsdk:"client_key"`
	Insecure             types.Bool           `tfsdk:"insecure"`
	Exec                 *kubernetesExecModel `tfsdk:"exec"`
}

type kubernetesExecModel struct {
	APIVersion types.String `tfsdk:"api_version"`
	Command    types.String `tfsdk:"command"`
	Args       types.List   `tfsdk:"args"`
	Env        types.Map    `tfsdk:"env"`
}

type onPremModel struct {
	SSHPrivateKey types.String `tfsdk:"ssh_private_key"`
	SSHPassphrase types.String `tfsdk:"ssh_passphrase"`
	KnownHosts    types.String `tfsdk:"known_hosts"`
}

type huggingFaceModel struct {
	Token    types.String `tfsdk:"token"`
	Endpoint types.String `tfsdk:"endpoint"`
}

type awsModel struct {
	Region                 types.String `tfsdk:"region"`
	Profile                types.String `tfsdk:"profile"`
	AccessKey              types.String `tfsdk:"access_key"`
	SecretKey              types.String `tfsdk:"secret_key"`
	SharedConfigFiles      types.List   `tfsdk:"shared_config_files"`
	SharedCredentialsFiles types.List   `tfsdk:"shared_credentials_files"`
	MaxRetries             types.Int64  `tfsdk:"max_retries"`
	AssumeRoleARN          types.String `tfsdk:"assume_role_arn"`
	Endpoints              types.Map    `tfsdk:"endpoints"`
	DefaultTags            types.Map    `tfsdk:"default_tags"`
}

type azureModel struct {
	SubscriptionID    types.String `tfsdk:"subscription_id"`
	TenantID          types.String `tfsdk:"tenant_id"`
	ClientID          types.String `tfsdk:"client_id"`
	ClientSecret      types.String `tfsdk:"client_secret"`
	UseOIDC           types.Bool   `tfsdk:"use_oidc"`
	OIDCToken         types.String `tfsdk:"oidc_token"`
	OIDCTokenFilePath types.String `tfsdk:"oidc_token_file_path"`
	UseMSI            types.Bool   `tfsdk:"use_msi"`
	Environment       types.String `tfsdk:"environment"`
	ClientCertPath    types.String `tfsdk:"client_certificate_path"`
	ClientCertPass    types.String `tfsdk:"client_certificate_password"`
	UseCLI            types.Bool   `tfsdk:"use_cli"`
	RMEndpoint        types.String `tfsdk:"resource_manager_endpoint"`
	RMAudience        types.String `tfsdk:"resource_manager_audience"`
	AuthorityHost     types.String `tfsdk:"authority_host"`
	DefaultTags       types.Map    `tfsdk:"default_tags"`
}

type gatewayModel struct {
	URL       types.String `tfsdk:"url"`
	MasterKey types.String `tfsdk:"master_key"`
	CACert    types.String `tfsdk:"ca_cert"`
}

// Configure turns the configuration (and the environment) into the clients' settings. It makes no
// network call: the clients are built the first time a resource or data source needs them.
func (p *inferstackProvider) Configure(ctx context.Context, req provider.ConfigureRequest, resp *provider.ConfigureResponse) {
	var cfg inferstackProviderModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &cfg)...)
	if resp.Diagnostics.HasError() {
		return
	}

	data := &providerData{UserAgent: p.userAgent()}
	data.HuggingFace = expandHuggingFace(cfg.HuggingFace, &resp.Diagnostics)
	data.AWS = awsbackend.New(expandAWS(ctx, cfg.AWS, data.UserAgent, &resp.Diagnostics))
	if cfg.AWS != nil && !cfg.AWS.DefaultTags.IsNull() && !cfg.AWS.DefaultTags.IsUnknown() {
		resp.Diagnostics.Append(cfg.AWS.DefaultTags.ElementsAs(ctx, &data.AWSDefaultTags, false)...)
	}
	azCfg := expandAzure(cfg.Azure, data.UserAgent, &resp.Diagnostics)
	if p.azureHooks != nil {
		azCfg.TestHooks = p.azureHooks
	}
	data.Azure = azurebackend.New(azCfg)
	data.Gateway = expandGateway(cfg.Gateway, &resp.Diagnostics)
	data.OnPrem = expandOnPrem(cfg.OnPrem)
	k8sCfg := expandKubernetes(ctx, cfg.Kubernetes, data.UserAgent, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	data.Backends = backend.NewRegistry(
		onprem.NewBackend(onprem.SSHConfig{
			PrivateKey: data.OnPrem.SSHPrivateKey,
			Passphrase: data.OnPrem.SSHPassphrase,
			KnownHosts: data.OnPrem.KnownHosts,
			UserAgent:  data.UserAgent,
		}),
		awsbackend.NewLifecycle(data.AWS, data.AWSDefaultTags),
		azurebackend.NewLifecycle(data.Azure),
		k8sbackend.New(k8sCfg),
	)
	for _, b := range p.extraBackends {
		data.Backends.Register(b)
	}

	tflog.Debug(ctx, "configured inferstack provider", map[string]any{
		"aws_region":       data.AWS.DefaultRegion(),
		"hf_endpoint":      data.HuggingFace.Endpoint,
		"hf_token_set":     data.HuggingFace.Token != "",
		"gateway_url":      data.Gateway.URL,
		"gateway_key_set":  data.Gateway.MasterKey != "",
		"azure_subscribed": azCfg.SubscriptionID != "",
	})
	resp.DataSourceData = data
	resp.ResourceData = data
}

func (p *inferstackProvider) userAgent() string {
	return "terraform-provider-inferstack/" + p.version
}

// Resources lists the provider's resources.
func (p *inferstackProvider) Resources(_ context.Context) []func() resource.Resource {
	return []func() resource.Resource{
		newAPIRouteResource,
		newInferenceClusterResource(p.adapters()),
		newModelEndpointResource(p.adapters()),
	}
}

// DataSources lists the provider's data sources.
func (p *inferstackProvider) DataSources(_ context.Context) []func() datasource.DataSource {
	return []func() datasource.DataSource{
		newGPUTypesDataSource,
		newLiteLLMConfigDataSource,
		newHFModelDataSource,
		newDeploymentPlanDataSource,
		newHostingCostDataSource,
		newPrometheusConfigDataSource,
	}
}

// providerData is what Configure hands to every resource and data source.
type providerData struct {
	UserAgent   string
	HuggingFace huggingFaceSettings
	AWS         *awsbackend.Backend
	// AWSDefaultTags are the aws block's default_tags, for every AWS object the resources make.
	AWSDefaultTags map[string]string
	Azure          *azurebackend.Backend
	Gateway        gatewaySettings
	gateway        lazyGateway // the gateway client, built on first use (gateway_client.go)
	OnPrem         onPremSettings
	// Backends are the backends by block name and ID prefix (backend.Registry).
	Backends *backend.Registry

	hf         lazyHF          // the Hugging Face Hub client, built on first use (hf_client.go)
	gpuCatalog gpuCatalogCache // GPU instance types by cloud and region, listed once (gpu_catalog.go)
}

type huggingFaceSettings struct {
	Endpoint string
	Token    string
}

type onPremSettings struct {
	SSHPrivateKey string
	SSHPassphrase string
	KnownHosts    string
}

func expandOnPrem(m *onPremModel) onPremSettings {
	if m == nil {
		m = &onPremModel{}
	}
	return onPremSettings{
		SSHPrivateKey: stringOr(m.SSHPrivateKey, "INFERSTACK_SSH_PRIVATE_KEY"),
		SSHPassphrase: stringOr(m.SSHPassphrase, "INFERSTACK_SSH_PASSPHRASE"),
		KnownHosts:    stringOr(m.KnownHosts, "INFERSTACK_SSH_KNOWN_HOSTS"),
	}
}

type gatewaySettings struct {
	URL       string
	MasterKey string
	CACert    string
}

// stringOr returns the configured value, else the first non-empty environment variable.
func stringOr(v types.String, envs ...string) string {
	if !v.IsNull() && !v.IsUnknown() {
		return v.ValueString()
	}
	for _, e := range envs {
		if s := os.Getenv(e); s != "" {
			return s
		}
	}
	return ""
}

// boolOr returns the configured value, else the environment variable parsed as a bool.
func boolOr(v types.Bool, env string, diags *diag.Diagnostics, p path.Path) bool {
	if !v.IsNull() && !v.IsUnknown() {
		return v.ValueBool()
	}
	s := os.Getenv(env)
	if s == "" {
		return false
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		diags.AddAttributeError(p, "invalid "+env, env+" must be true or false, got "+strconv.Quote(s)+".")
	}
	return b
}

func expandHuggingFace(m *huggingFaceModel, diags *diag.Diagnostics) huggingFaceSettings {
	if m == nil {
		m = &huggingFaceModel{}
	}
	s := huggingFaceSettings{
		Endpoint: stringOr(m.Endpoint, "HF_ENDPOINT"),
		Token:    stringOr(m.Token, "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"),
	}
	if s.Endpoint == "" {
		s.Endpoint = "https://huggingface.co"
	}
	s.Endpoint = strings.TrimRight(s.Endpoint, "/")
	checkURL(s.Endpoint, path.Root("huggingface").AtName("endpoint"), "HF_ENDPOINT", diags)
	return s
}

func expandGateway(m *gatewayModel, diags *diag.Diagnostics) gatewaySettings {
	if m == nil {
		m = &gatewayModel{}
	}
	s := gatewaySettings{
		URL:       strings.TrimRight(stringOr(m.URL, "LITELLM_URL"), "/"),
		MasterKey: stringOr(m.MasterKey, "LITELLM_MASTER_KEY"),
		CACert:    stringOr(m.CACert),
	}
	if s.URL != "" {
		checkURL(s.URL, path.Root("gateway").AtName("url"), "LITELLM_URL", diags)
	}
	return s
}

func expandAWS(ctx context.Context, m *awsModel, userAgent string, diags *diag.Diagnostics) awsbackend.Config {
	if m == nil {
		m = &awsModel{}
	}
	c := awsbackend.Config{
		Region:        stringOr(m.Region),
		Profile:       stringOr(m.Profile),
		AccessKey:     stringOr(m.AccessKey),
		SecretKey:     stringOr(m.SecretKey),
		AssumeRoleARN: stringOr(m.AssumeRoleARN),
		UserAgent:     userAgent,
	}
	if (c.AccessKey == "") != (c.SecretKey == "") {
		diags.AddAttributeError(path.Root("aws").AtName("access_key"), "incomplete static AWS credentials",
			"Set both aws.access_key and aws.secret_key, or neither (and let the AWS credential chain find them).")
	}
	if !m.MaxRetries.IsNull() && !m.MaxRetries.IsUnknown() {
		if m.MaxRetries.ValueInt64() < 1 {
			diags.AddAttributeError(path.Root("aws").AtName("max_retries"), "invalid max_retries",
				"aws.max_retries counts attempts per call and must be at least 1.")
		}
		c.MaxAttempts = int(m.MaxRetries.ValueInt64())
	}
	if !m.SharedConfigFiles.IsNull() {
		diags.Append(m.SharedConfigFiles.ElementsAs(ctx, &c.SharedConfigFiles, false)...)
	}
	if !m.SharedCredentialsFiles.IsNull() {
		diags.Append(m.SharedCredentialsFiles.ElementsAs(ctx, &c.SharedCredentialsFiles, false)...)
	}
	if !m.Endpoints.IsNull() {
		diags.Append(m.Endpoints.ElementsAs(ctx, &c.Endpoints, false)...)
		for svc, u := range c.Endpoints {
			if !awsbackend.KnownEndpointService(svc) {
				diags.AddAttributeError(path.Root("aws").AtName("endpoints").AtMapKey(svc), "unknown AWS service in endpoints",
					"aws.endpoints accepts "+strings.Join(awsbackend.EndpointServices(), ", ")+"; got "+strconv.Quote(svc)+".")
			}
			checkURL(u, path.Root("aws").AtName("endpoints").AtMapKey(svc), "", diags)
		}
	}
	return c
}

func expandAzure(m *azureModel, userAgent string, diags *diag.Diagnostics) azurebackend.Config {
	if m == nil {
		m = &azureModel{}
	}
	c := azurebackend.Config{
		SubscriptionID:    stringOr(m.SubscriptionID, "ARM_SUBSCRIPTION_ID"),
		TenantID:          stringOr(m.TenantID, "ARM_TENANT_ID"),
		ClientID:          stringOr(m.ClientID, "ARM_CLIENT_ID"),
		ClientSecret:      stringOr(m.ClientSecret, "ARM_CLIENT_SECRET"),
		UseOIDC:           boolOr(m.UseOIDC, "ARM_USE_OIDC", diags, path.Root("azure").AtName("use_oidc")),
		OIDCToken:         stringOr(m.OIDCToken, "ARM_OIDC_TOKEN", "TFC_WORKLOAD_IDENTITY_TOKEN"),
		OIDCTokenFilePath: stringOr(m.OIDCTokenFilePath, "ARM_OIDC_TOKEN_FILE_PATH"),
		UseMSI:            boolOr(m.UseMSI, "ARM_USE_MSI", diags, path.Root("azure").AtName("use_msi")),
		Environment:       stringOr(m.Environment, "ARM_ENVIRONMENT"),
		UserAgent:         userAgent,

		ClientCertificatePath:     stringOr(m.ClientCertPath, "ARM_CLIENT_CERTIFICATE_PATH"),
		ClientCertificatePassword: stringOr(m.ClientCertPass, "ARM_CLIENT_CERTIFICATE_PASSWORD"),
		UseCLI:                    boolOr(m.UseCLI, "ARM_USE_CLI", diags, path.Root("azure").AtName("use_cli")),
		ResourceManagerEndpoint:   stringOr(m.RMEndpoint, "ARM_RESOURCE_MANAGER_ENDPOINT"),
		ResourceManagerAudience:   stringOr(m.RMAudience, "ARM_RESOURCE_MANAGER_AUDIENCE"),
		AuthorityHost:             stringOr(m.AuthorityHost, "ARM_AUTHORITY_HOST"),
	}
	if !m.DefaultTags.IsNull() && !m.DefaultTags.IsUnknown() {
		diags.Append(m.DefaultTags.ElementsAs(context.Background(), &c.DefaultTags, false)...)
	}
	if err := c.Validate(); err != nil {
		diags.AddAttributeError(path.Root("azure"), "invalid Azure settings", err.Error())
	}
	return c
}

func checkURL(raw string, p path.Path, env string, diags *diag.Diagnostics) {
	u, err := url.Parse(raw)
	if err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" {
		return
	}
	from := p.String()
	if env != "" {
		from += " (or " + env + ")"
	}
	diags.AddAttributeError(p, "invalid URL", from+" must be an absolute http or https URL, got "+strconv.Quote(raw)+".")
}

// tagKeysValidator checks AWS tag keys: 1-128 characters, values up to 256, and no key in the
// prefixes AWS and the provider reserve.
type tagKeysValidator struct{}

func (tagKeysValidator) Description(context.Context) string {
	return "tag keys of 1-128 characters not starting with aws: or inferstack:, values of at most 256"
}

func (v tagKeysValidator) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (tagKeysValidator) ValidateMap(_ context.Context, req validator.MapRequest, resp *validator.MapResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	for k, v := range req.ConfigValue.Elements() {
		p := req.Path.AtMapKey(k)
		lower := strings.ToLower(k)
		switch {
		case len(k) < 1 || len(k) > 128:
			resp.Diagnostics.AddAttributeError(p, "invalid tag key", fmt.Sprintf("%s: a tag key has 1 to 128 characters.", req.Path))
		case strings.HasPrefix(lower, "aws:"):
			resp.Diagnostics.AddAttributeError(p, "reserved tag key", fmt.Sprintf("%s: keys starting with aws: are reserved by AWS; rename %q.", req.Path, k))
		case strings.HasPrefix(lower, "inferstack:"):
			resp.Diagnostics.AddAttributeError(p, "reserved tag key", fmt.Sprintf("%s: keys starting with inferstack: are the provider's own (inferstack:cluster, inferstack:endpoint); rename %q.", req.Path, k))
		}
		if s, ok := v.(types.String); ok && !s.IsUnknown() && len(s.ValueString()) > 256 {
			resp.Diagnostics.AddAttributeError(p, "invalid tag value", fmt.Sprintf("%s: tag values have at most 256 characters.", req.Path))
		}
	}
}

// expandKubernetes is the kubernetes block with terraform-provider-kubernetes' environment
// variables as fallbacks, then KUBECONFIG. Nothing is read or dialled here.
func expandKubernetes(ctx context.Context, m *kubernetesModel, userAgent string, diags *diag.Diagnostics) k8sbackend.Config {
	if m == nil {
		m = &kubernetesModel{}
	}
	c := k8sbackend.Config{
		ConfigContext:        stringOr(m.ConfigContext, "KUBE_CTX"),
		Host:                 stringOr(m.Host, "KUBE_HOST"),
		Token:                stringOr(m.Token, "KUBE_TOKEN"),
		ClusterCACertificate: stringOr(m.ClusterCACertificate, "KUBE_CLUSTER_CA_CERT_DATA"),
		ClientCertificate:    stringOr(m.ClientCertificate, "KUBE_CLIENT_CERT_DATA"),
		ClientKey:            stringOr(m.ClientKey, "KUBE_CLIENT_KEY_DATA"),
		Insecure:             boolOr(m.Insecure, "KUBE_INSECURE", diags, path.Root("kubernetes").AtName("insecure")),
		UserAgent:            userAgent,
	}
	if p := stringOr(m.ConfigPath, "KUBE_CONFIG_PATH"); p != "" {
		c.ConfigPaths = append(c.ConfigPaths, p)
	}
	if !m.ConfigPaths.IsNull() && !m.ConfigPaths.IsUnknown() {
		var ps []string
		diags.Append(m.ConfigPaths.ElementsAs(ctx, &ps, false)...)
		c.ConfigPaths = append(c.ConfigPaths, ps...)
	}
	if len(c.ConfigPaths) == 0 {
		for _, env := range []string{"KUBE_CONFIG_PATHS", "KUBECONFIG"} {
			if v := os.Getenv(env); v != "" {
				c.ConfigPaths = slices.DeleteFunc(filepath.SplitList(v), func(s string) bool { return s == "" })
				break
			}
		}
	}
	if c.Host != "" {
		checkURL(c.Host, path.Root("kubernetes").AtName("host"), "KUBE_HOST", diags)
	}
	if (c.ClientCertificate == "") != (c.ClientKey == "") {
		diags.AddAttributeError(path.Root("kubernetes").AtName("client_key"), "incomplete client certificate",
			"Set both kubernetes.client_certificate and kubernetes.client_key (or KUBE_CLIENT_CERT_DATA and KUBE_CLIENT_KEY_DATA), or neither.")
	}
	if e := m.Exec; e != nil && !(e.Command.IsNull() && e.APIVersion.IsNull()) {
		x := &k8sbackend.ExecConfig{APIVersion: e.APIVersion.ValueString(), Command: e.Command.ValueString()}
		if x.Command == "" || x.APIVersion == "" {
			diags.AddAttributeError(path.Root("kubernetes").AtName("exec"), "incomplete exec plugin",
				"kubernetes.exec needs both command and api_version (e.g. \"client.authentication.k8s.io/v1beta1\").")
		}
		x.Args = listOf[string](ctx, e.Args, diags)
		if !e.Env.IsNull() && !e.Env.IsUnknown() {
			diags.Append(e.Env.ElementsAs(ctx, &x.Env, false)...)
		}
		c.Exec = x
	}
	return c
}
