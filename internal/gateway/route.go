package gateway

import (
	"slices"
	"strconv"
	"strings"
	"time"
)

// Provider is a closed API a route can point at.
type Provider string

// The closed APIs a route can point at.
const (
	ProviderOpenAI      Provider = "openai"
	ProviderAnthropic   Provider = "anthropic"
	ProviderAzureOpenAI Provider = "azure_openai"
	ProviderBedrock     Provider = "bedrock"
)

// Providers lists the valid Provider values, in the order documentation shows them.
func Providers() []Provider {
	return []Provider{ProviderOpenAI, ProviderAnthropic, ProviderAzureOpenAI, ProviderBedrock}
}

// LiteLLM's model prefixes ("<prefix>/<model>") for each kind of target.
const (
	prefixSelfHosted = "hosted_vllm"
	prefixOpenAI     = "openai"
	prefixAnthropic  = "anthropic"
	prefixAzure      = "azure"
	prefixBedrock    = "bedrock"
)

// litellmPrefix is the prefix LiteLLM's model string takes for p ("" for an unknown provider).
func (p Provider) litellmPrefix() string {
	switch p {
	case ProviderOpenAI:
		return prefixOpenAI
	case ProviderAnthropic:
		return prefixAnthropic
	case ProviderAzureOpenAI:
		return prefixAzure
	case ProviderBedrock:
		return prefixBedrock
	}
	return ""
}

// DefaultMode is the model_info.mode a route gets when it names none: LiteLLM's health checks
// and cost map treat the deployment as a chat model.
const DefaultMode = "chat"

// Route is one model name in the gateway, pointing at self-hosted vLLM or at a closed API. Exactly
// one of SelfHosted and External is set. Zero numbers mean "not set" (LiteLLM's default applies).
type Route struct {
	// ID is the route's stable id: model_info.id of its first deployment. Letters, digits, '.',
	// '_' and '-'; at most 96 characters.
	ID string
	// ModelName is the public name clients send as "model" (LiteLLM's model_name). Several routes
	// may share one name: LiteLLM balances across all of their deployments.
	ModelName string

	SelfHosted *SelfHosted
	External   *External

	// Weight is the share of traffic in simple-shuffle routing among deployments of the same name.
	Weight int64
	// Order is the priority tier: order 1 is tried first, then 2, then model-level fallbacks.
	Order int64
	// RPM and TPM are this route's request and token limits per minute, per deployment.
	RPM, TPM int64
	// Timeout bounds one call to the target; whole milliseconds are kept.
	Timeout time.Duration
	// Tags are LiteLLM tag-routing tags.
	Tags []string
	// Fallbacks are the model names LiteLLM tries, in order, when this model name fails after
	// its retries. They are a router-level setting of the model name, not of a deployment:
	// routes that share a model name share its fallbacks, so set them on one of them only.
	Fallbacks []string
	// Mode is model_info.mode ("chat", "embedding", ...); "" means DefaultMode.
	Mode string
	// BaseModel is model_info.base_model, the cost-map key (for self-hosted models, the Hugging
	// Face repository id is a good value).
	BaseModel string
}

// SelfHosted is a route's target when it is served by vLLM.
type SelfHosted struct {
	// APIBases are the OpenAI-compatible base URLs of the replicas, each ending in /v1, e.g.
	// "http://10.0.0.12:8000/v1". Each becomes a deployment of its own.
	APIBases []string
	// ServedModel is vLLM's --served-model-name (the Hugging Face repository id when vLLM runs
	// without that flag).
	ServedModel string
	// APIKey is vLLM's --api-key. Secret: never read back from the gateway.
	APIKey string
	// APIKeyEnv names the environment variable a rendered config file reads the key from
	// ("os.environ/NAME"); "" means DefaultEnvName(route id, "API_KEY").
	APIKeyEnv string
}

// External is a route's target when it is a closed API.
type External struct {
	Provider Provider
	// Model is the provider's own model id, without LiteLLM's prefix: "gpt-4o",
	// "claude-sonnet-4-5-20250929", the Azure deployment name, or the Bedrock model id.
	Model string
	// APIKey is the provider's API key (openai, anthropic, azure_openai). Secret.
	APIKey string
	// APIBase overrides the provider's URL (openai, anthropic); required for azure_openai.
	APIBase string
	// APIVersion is the Azure OpenAI API version, e.g. "2024-10-21" (azure_openai only).
	APIVersion string
	// Organization is the OpenAI organization id (openai only).
	Organization string
	// AWSRegion is the Bedrock region (bedrock only, required).
	AWSRegion string
	// AWSAccessKeyID, AWSSecretAccessKey and AWSSessionToken are static Bedrock credentials
	// (bedrock only, optional: without them the gateway's own AWS credentials are used). Secret.
	AWSAccessKeyID, AWSSecretAccessKey, AWSSessionToken string

	// Environment variable names a rendered config file reads the secrets from; "" means
	// DefaultEnvName(route id, "API_KEY"), (..., "AWS_ACCESS_KEY_ID") and so on.
	APIKeyEnv, AWSAccessKeyIDEnv, AWSSecretAccessKeyEnv, AWSSessionTokenEnv string
}

// replicaSeparator joins a route id and a replica number into a deployment id. Route ids cannot
// hold it, so no route's deployment id can collide with another route's.
const replicaSeparator = "~"

// DeploymentID is the id of deployment i of route routeID: the route id itself for i == 0,
// "<route id>~<i>" after that.
func DeploymentID(routeID string, i int) string {
	if i == 0 {
		return routeID
	}
	return routeID + replicaSeparator + strconv.Itoa(i)
}

// DefaultEnvName is the environment variable a rendered config file reads a route's secret
// from when the route names none: INFERSTACK_<ROUTE ID>_<SUFFIX>, with every character that is
// not a letter or digit turned into '_', e.g. INFERSTACK_CHAT_DEFAULT_API_KEY.
func DefaultEnvName(routeID, suffix string) string {
	var b strings.Builder
	b.WriteString("INFERSTACK_")
	for _, r := range strings.ToUpper(routeID) {
		if (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	b.WriteByte('_')
	b.WriteString(suffix)
	return b.String()
}

// Deployments expands r into the LiteLLM deployments that serve it: one per self-hosted base URL,
// or one for a closed API. It does not validate r; call Validate first.
func (r Route) Deployments() []Deployment {
	base := Deployment{
		ModelName: r.ModelName,
		Weight:    r.Weight,
		Order:     r.Order,
		RPM:       r.RPM,
		TPM:       r.TPM,
		Timeout:   r.Timeout,
		Tags:      slices.Clone(r.Tags),
		Mode:      r.Mode,
		BaseModel: r.BaseModel,
		RouteID:   r.ID,
	}
	if base.Mode == "" {
		base.Mode = DefaultMode
	}
	switch {
	case r.SelfHosted != nil:
		s := r.SelfHosted
		out := make([]Deployment, 0, len(s.APIBases))
		for i, u := range s.APIBases {
			d := base
			d.Tags = slices.Clone(r.Tags)
			d.ID = DeploymentID(r.ID, i)
			d.Model = prefixSelfHosted + "/" + s.ServedModel
			d.APIBase = u
			d.APIKey = s.APIKey
			d.Replica, d.Replicas = i, len(s.APIBases)
			out = append(out, d)
		}
		return out
	case r.External != nil:
		e := r.External
		d := base
		d.ID = DeploymentID(r.ID, 0)
		d.Model = e.Provider.litellmPrefix() + "/" + e.Model
		d.APIKey = e.APIKey
		d.APIBase = e.APIBase
		d.APIVersion = e.APIVersion
		d.Organization = e.Organization
		d.AWSRegionName = e.AWSRegion
		d.AWSAccessKeyID = e.AWSAccessKeyID
		d.AWSSecretAccessKey = e.AWSSecretAccessKey
		d.AWSSessionToken = e.AWSSessionToken
		d.Replica, d.Replicas = 0, 1
		return []Deployment{d}
	}
	return nil
}

// RouteFromDeployments rebuilds a route from the deployments read back from a gateway (the
// first is the route's primary deployment; the rest are its replicas in order). Secrets are not
// read back, so the target's keys are empty; Fallbacks are not part of a deployment and stay nil.
// A model string with an unknown prefix gives an External with an empty Provider and the whole
// model string, so drift shows in a plan.
func RouteFromDeployments(ds []Deployment) Route {
	if len(ds) == 0 {
		return Route{}
	}
	p := ds[0]
	r := Route{
		ID:        p.RouteID,
		ModelName: p.ModelName,
		Weight:    p.Weight,
		Order:     p.Order,
		RPM:       p.RPM,
		TPM:       p.TPM,
		Timeout:   p.Timeout,
		Tags:      slices.Clone(p.Tags),
		Mode:      p.Mode,
		BaseModel: p.BaseModel,
	}
	if r.ID == "" {
		r.ID = p.ID
	}
	prefix, model, _ := strings.Cut(p.Model, "/")
	switch prefix {
	case prefixSelfHosted:
		s := &SelfHosted{ServedModel: model}
		for _, d := range ds {
			s.APIBases = append(s.APIBases, d.APIBase)
		}
		r.SelfHosted = s
		return r
	case prefixOpenAI, prefixAnthropic, prefixAzure, prefixBedrock:
		r.External = &External{
			Provider:     providerForPrefix(prefix),
			Model:        model,
			APIBase:      p.APIBase,
			APIVersion:   p.APIVersion,
			Organization: p.Organization,
			AWSRegion:    p.AWSRegionName,
		}
	default:
		r.External = &External{Model: p.Model, APIBase: p.APIBase, APIVersion: p.APIVersion,
			Organization: p.Organization, AWSRegion: p.AWSRegionName}
	}
	return r
}

func providerForPrefix(prefix string) Provider {
	for _, p := range Providers() {
		if p.litellmPrefix() == prefix {
			return p
		}
	}
	return ""
}

// secretEnv is one secret of a route as a config file references it.
type secretEnv struct {
	param string // the litellm_params key
	value string
	env   string
}

// secretEnvs lists the secrets r's deployments carry, with the environment variable names a
// rendered file uses for them.
func (r Route) secretEnvs() []secretEnv {
	name := func(set, suffix string) string {
		if set != "" {
			return set
		}
		return DefaultEnvName(r.ID, suffix)
	}
	switch {
	case r.SelfHosted != nil:
		return []secretEnv{{paramAPIKey, r.SelfHosted.APIKey, name(r.SelfHosted.APIKeyEnv, "API_KEY")}}
	case r.External != nil:
		e := r.External
		return []secretEnv{
			{paramAPIKey, e.APIKey, name(e.APIKeyEnv, "API_KEY")},
			{paramAWSAccessKeyID, e.AWSAccessKeyID, name(e.AWSAccessKeyIDEnv, "AWS_ACCESS_KEY_ID")},
			{paramAWSSecretAccessKey, e.AWSSecretAccessKey, name(e.AWSSecretAccessKeyEnv, "AWS_SECRET_ACCESS_KEY")},
			{paramAWSSessionToken, e.AWSSessionToken, name(e.AWSSessionTokenEnv, "AWS_SESSION_TOKEN")},
		}
	}
	return nil
}
