package gateway

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/inferstack/terraform-provider-inferstack/internal/errs"
)

var (
	routeIDPattern   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,95}$`)
	envNamePattern   = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	awsRegionPattern = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`)
	// Azure OpenAI API versions: dated ("2024-10-21", "2025-01-01-preview") or the v1 API's
	// "latest", "preview" and "v1".
	azureAPIVersionPattern = regexp.MustCompile(`^([0-9]{4}-[0-9]{2}-[0-9]{2}(-preview)?|latest|preview|v1)$`)
)

// Modes are the model_info.mode values LiteLLM's health checks know.
var Modes = []string{"chat", "completion", "embedding", "image_generation", "audio_transcription",
	"audio_speech", "rerank", "moderation", "responses", "realtime", "batch"}

const maxModelNameLen = 256

// Validate reports everything wrong with r, without any network call: each problem on its
// attribute (errs.Problem.Attribute), named as inferstack_api_route names it, from the route's
// root: "id", "name", "self_hosted" {"urls", "served_model_name", "api_key", "api_key_env"},
// "external" {"provider", "model", "api_key", "api_base", "api_version", "organization",
// "aws_region", "aws_access_key_id", "aws_secret_access_key", "aws_session_token", and the
// "..._env" twins of the secrets}, "weight", "order", "rpm", "tpm", "timeout_seconds", "tags",
// "fallbacks", "mode", "base_model", with list indexes ("self_hosted.urls[1]"); "" is the route
// as a whole. Every problem has a Summary. unknown names attributes whose values are not known
// yet at plan time, without list indexes (e.g. "self_hosted.urls", "external.api_key",
// "external"): they are not reported as missing and their (zero) values are not checked.
func (r Route) Validate(unknown ...string) errs.List {
	v := validator{unknown: unknown}
	v.route(r)
	return v.problems
}

type validator struct {
	unknown  []string
	problems errs.List
}

func (v *validator) add(attr, summary, format string, args ...any) {
	v.problems = append(v.problems, &errs.Problem{Attribute: attr, Summary: summary, Detail: fmt.Sprintf(format, args...)})
}

func (v *validator) isUnknown(attr string) bool { return slices.Contains(v.unknown, attr) }

func (v *validator) route(r Route) {
	if !v.isUnknown("id") {
		switch {
		case r.ID == "":
			v.add("id", "missing route id", "A route needs a stable id; it becomes model_info.id of its first deployment.")
		case !routeIDPattern.MatchString(r.ID):
			v.add("id", "invalid route id", "The id %q must start with a letter or digit and hold only letters, digits, '.', '_' and '-', at most 96 characters.", r.ID)
		}
	}
	if !v.isUnknown("name") {
		v.modelName(r.ModelName)
	}

	shUnknown, exUnknown := v.isUnknown("self_hosted"), v.isUnknown("external")
	switch {
	case r.SelfHosted != nil && r.External != nil:
		v.add("external", "conflicting targets", "A route points at self-hosted vLLM or at a closed API, not both: remove external, or the self-hosted target (self_hosted or endpoint_id).")
	case r.SelfHosted == nil && r.External == nil && !shUnknown && !exUnknown:
		v.add("", "missing target", "Set the self-hosted target (self_hosted or endpoint_id) or external (a closed API: %s).", providerList())
	}
	if r.SelfHosted != nil {
		v.selfHosted(*r.SelfHosted)
	}
	if r.External != nil {
		v.external(*r.External)
	}

	for _, n := range []struct {
		attr string
		val  int64
		what string
	}{
		{"weight", r.Weight, "a share of traffic among deployments of the same name"},
		{"order", r.Order, "a priority tier, 1 being tried first"},
		{"rpm", r.RPM, "requests per minute"},
		{"tpm", r.TPM, "tokens per minute"},
	} {
		if n.val < 0 {
			v.add(n.attr, "invalid "+n.attr, "%s is %s and must be at least 1 (leave it unset for LiteLLM's default); got %d.", n.attr, n.what, n.val)
		}
	}
	if r.Timeout < 0 {
		v.add("timeout_seconds", "invalid timeout", "The timeout must be positive (leave it unset for LiteLLM's default); got %s.", r.Timeout)
	} else if r.Timeout > 0 && r.Timeout.Milliseconds() == 0 {
		v.add("timeout_seconds", "invalid timeout", "The timeout must be at least 1ms; got %s.", r.Timeout)
	}
	v.names("tags", "tag", r.Tags)
	v.names("fallbacks", "fallback model name", r.Fallbacks)
	for i, f := range r.Fallbacks {
		if f == r.ModelName && f != "" {
			v.add(fmt.Sprintf("fallbacks[%d]", i), "invalid fallback", "The model name %q cannot be its own fallback: list other model names (for example a closed API's route).", f)
		}
	}
	if r.Mode != "" && !slices.Contains(Modes, r.Mode) {
		v.add("mode", "invalid mode", "The mode %q is not one LiteLLM knows; use one of %s.", r.Mode, strings.Join(Modes, ", "))
	}
	if r.BaseModel != "" && strings.TrimSpace(r.BaseModel) != r.BaseModel {
		v.add("base_model", "invalid base_model", "The base model %q has leading or trailing spaces.", r.BaseModel)
	}
}

func (v *validator) modelName(name string) {
	switch {
	case name == "":
		v.add("name", "missing model name", "A route needs the model name clients send as \"model\", e.g. \"chat-default\".")
	case strings.TrimSpace(name) != name:
		v.add("name", "invalid model name", "The model name %q has leading or trailing spaces; clients would have to send them too.", name)
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		v.add("name", "invalid model name", "The model name %q holds control characters.", name)
	case len(name) > maxModelNameLen:
		v.add("name", "invalid model name", "The model name is %d bytes long; at most %d are allowed.", len(name), maxModelNameLen)
	}
}

// names checks a list of non-empty, unique names without surrounding spaces.
func (v *validator) names(attr, what string, list []string) {
	seen := map[string]bool{}
	for i, s := range list {
		at := fmt.Sprintf("%s[%d]", attr, i)
		switch {
		case strings.TrimSpace(s) == "":
			v.add(at, "empty "+what, "Each %s must be a non-empty string.", what)
		case strings.TrimSpace(s) != s:
			v.add(at, "invalid "+what, "The %s %q has leading or trailing spaces.", what, s)
		case seen[s]:
			v.add(at, "duplicate "+what, "The %s %q is listed twice.", what, s)
		}
		seen[s] = true
	}
}

func (v *validator) selfHosted(s SelfHosted) {
	if !v.isUnknown("self_hosted.urls") {
		if len(s.APIBases) == 0 {
			v.add("self_hosted.urls", "missing vLLM URL", "A self-hosted route needs at least one OpenAI-compatible base URL of vLLM, e.g. \"http://10.0.0.12:8000/v1\".")
		}
		seen := map[string]bool{}
		for i, u := range s.APIBases {
			at := fmt.Sprintf("self_hosted.urls[%d]", i)
			if seen[u] {
				v.add(at, "duplicate vLLM URL", "The URL %q is listed twice; each replica has its own URL.", u)
				continue
			}
			seen[u] = true
			if msg := checkURL(u, false); msg != "" {
				v.add(at, "invalid vLLM URL", "%s", msg)
			} else if pu, _ := url.Parse(u); !strings.HasSuffix(strings.TrimSuffix(pu.Path, "/"), "/v1") {
				v.add(at, "invalid vLLM URL", "The URL %q must end in /v1: vLLM serves the OpenAI API under /v1 and LiteLLM appends /chat/completions to the base URL, e.g. \"http://10.0.0.12:8000/v1\".", u)
			}
		}
	}
	if !v.isUnknown("self_hosted.served_model_name") {
		switch {
		case s.ServedModel == "":
			v.add("self_hosted.served_model_name", "missing served model name", "Set the name vLLM serves the model under (its --served-model-name, or the Hugging Face repository id when that flag is not set).")
		case strings.IndexFunc(s.ServedModel, unicode.IsSpace) >= 0:
			v.add("self_hosted.served_model_name", "invalid served model name", "The served model name %q holds spaces.", s.ServedModel)
		}
	}
	if !v.isUnknown("self_hosted.api_key") {
		v.secret("self_hosted.api_key", s.APIKey, true, "vLLM's API key (its --api-key); inferstack endpoints always run with one")
	}
	v.envName("self_hosted.api_key_env", s.APIKeyEnv)
}

func (v *validator) external(e External) {
	ex := func(name string) string { return "external." + name }
	if !v.isUnknown("external.provider") {
		if e.Provider == "" {
			v.add(ex("provider"), "missing provider", "Set the closed API's provider: %s.", providerList())
		} else if e.Provider.litellmPrefix() == "" {
			v.add(ex("provider"), "unknown provider", "The provider %q is not supported; use one of %s.", e.Provider, providerList())
		}
	}
	if !v.isUnknown("external.model") {
		prefix := e.Provider.litellmPrefix()
		switch {
		case e.Model == "":
			v.add(ex("model"), "missing model", "Set the provider's model id, e.g. %s.", modelExample(e.Provider))
		case strings.IndexFunc(e.Model, unicode.IsSpace) >= 0:
			v.add(ex("model"), "invalid model", "The model %q holds spaces.", e.Model)
		case prefix != "" && strings.HasPrefix(e.Model, prefix+"/"):
			v.add(ex("model"), "invalid model", "Give the model without LiteLLM's %q prefix (%q): the provider adds it.", prefix+"/", strings.TrimPrefix(e.Model, prefix+"/"))
		}
	}
	v.envName(ex("api_key_env"), e.APIKeyEnv)
	v.envName(ex("aws_access_key_id_env"), e.AWSAccessKeyIDEnv)
	v.envName(ex("aws_secret_access_key_env"), e.AWSSecretAccessKeyEnv)
	v.envName(ex("aws_session_token_env"), e.AWSSessionTokenEnv)

	// notFor reports a field that is set but means nothing to e's provider.
	notFor := func(attr, val string) {
		if val != "" {
			v.add(ex(attr), "unexpected "+attr, "%s does not apply to provider %q; remove it.", attr, e.Provider)
		}
	}
	keyHint := map[Provider]string{
		ProviderOpenAI:      "the OpenAI API key",
		ProviderAnthropic:   "the Anthropic API key",
		ProviderAzureOpenAI: "the Azure OpenAI resource's key",
	}
	switch e.Provider {
	case ProviderOpenAI, ProviderAnthropic, ProviderAzureOpenAI:
		if !v.isUnknown("external.api_key") {
			v.secret(ex("api_key"), e.APIKey, true, keyHint[e.Provider])
		}
		notFor("aws_region", e.AWSRegion)
		notFor("aws_access_key_id", e.AWSAccessKeyID)
		notFor("aws_secret_access_key", e.AWSSecretAccessKey)
		notFor("aws_session_token", e.AWSSessionToken)
		if e.Provider != ProviderOpenAI {
			notFor("organization", e.Organization)
		}
		if e.Provider != ProviderAzureOpenAI {
			notFor("api_version", e.APIVersion)
			if e.APIBase != "" {
				if msg := checkURL(e.APIBase, false); msg != "" {
					v.add(ex("api_base"), "invalid api_base", "%s", msg)
				}
			}
			break
		}
		if !v.isUnknown("external.api_base") {
			if e.APIBase == "" {
				v.add(ex("api_base"), "missing api_base", "Azure OpenAI needs the resource's endpoint, e.g. \"https://my-resource.openai.azure.com\".")
			} else if msg := checkURL(e.APIBase, true); msg != "" {
				v.add(ex("api_base"), "invalid api_base", "%s", msg)
			}
		}
		if !v.isUnknown("external.api_version") {
			if e.APIVersion == "" {
				v.add(ex("api_version"), "missing api_version", "Azure OpenAI needs an API version, e.g. \"2024-10-21\".")
			} else if !azureAPIVersionPattern.MatchString(e.APIVersion) {
				v.add(ex("api_version"), "invalid api_version", "The Azure OpenAI API version %q is neither a date such as \"2024-10-21\" (optionally with \"-preview\") nor \"latest\", \"preview\" or \"v1\".", e.APIVersion)
			}
		}
	case ProviderBedrock:
		notFor("api_key", e.APIKey)
		notFor("api_base", e.APIBase)
		notFor("api_version", e.APIVersion)
		notFor("organization", e.Organization)
		if !v.isUnknown("external.aws_region") {
			if e.AWSRegion == "" {
				v.add(ex("aws_region"), "missing aws_region", "Bedrock needs the AWS region to call, e.g. \"us-east-1\".")
			} else if !awsRegionPattern.MatchString(e.AWSRegion) {
				v.add(ex("aws_region"), "invalid aws_region", "%q is not an AWS region name such as \"us-east-1\".", e.AWSRegion)
			}
		}
		idSet := e.AWSAccessKeyID != "" || v.isUnknown("external.aws_access_key_id")
		secretSet := e.AWSSecretAccessKey != "" || v.isUnknown("external.aws_secret_access_key")
		switch {
		case idSet && !secretSet:
			v.add(ex("aws_secret_access_key"), "incomplete AWS credentials", "Set aws_secret_access_key together with aws_access_key_id, or neither (the gateway then uses its own AWS credentials).")
		case secretSet && !idSet:
			v.add(ex("aws_access_key_id"), "incomplete AWS credentials", "Set aws_access_key_id together with aws_secret_access_key, or neither (the gateway then uses its own AWS credentials).")
		}
		if e.AWSSessionToken != "" && !idSet {
			v.add(ex("aws_session_token"), "incomplete AWS credentials", "A session token goes with aws_access_key_id and aws_secret_access_key.")
		}
		v.secret(ex("aws_access_key_id"), e.AWSAccessKeyID, false, "")
		v.secret(ex("aws_secret_access_key"), e.AWSSecretAccessKey, false, "")
		v.secret(ex("aws_session_token"), e.AWSSessionToken, false, "")
	}
}

// secret checks a credential: required ones must be set; none may have surrounding spaces.
func (v *validator) secret(attr, val string, required bool, what string) {
	switch {
	case val == "" && required:
		v.add(attr, "missing "+attr[strings.LastIndexByte(attr, '.')+1:], "Set %s (sensitive; an \"os.environ/NAME\" reference to the gateway's environment works too).", what)
	case val != "" && strings.TrimSpace(val) != val:
		// Never echo the value.
		v.add(attr, "invalid "+attr, "The value has leading or trailing whitespace (often a newline from a file); trim it.")
	}
}

func (v *validator) envName(attr, name string) {
	if name != "" && !envNamePattern.MatchString(name) {
		v.add(attr, "invalid environment variable name", "%q is not an environment variable name: use letters, digits and '_', not starting with a digit.", name)
	}
}

// checkURL returns what is wrong with an http(s) base URL, or "".
func checkURL(s string, httpsOnly bool) string {
	u, err := url.Parse(s)
	switch {
	case err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https"):
		return fmt.Sprintf("%q is not an absolute http(s) URL such as \"https://host:port/v1\".", s)
	case u.User != nil:
		return fmt.Sprintf("The URL %q must not carry credentials; set the API key instead.", redactURL(u))
	case u.RawQuery != "" || u.Fragment != "":
		return fmt.Sprintf("The URL %q must not have a query or fragment.", s)
	case httpsOnly && u.Scheme != "https":
		return fmt.Sprintf("The URL %q must use https.", s)
	}
	return ""
}

func redactURL(u *url.URL) string {
	c := *u
	c.User = url.User("REDACTED")
	return c.String()
}

func providerList() string {
	var ss []string
	for _, p := range Providers() {
		ss = append(ss, strconv.Quote(string(p)))
	}
	return strings.Join(ss, ", ")
}

func modelExample(p Provider) string {
	switch p {
	case ProviderAnthropic:
		return `"claude-sonnet-4-5-20250929"`
	case ProviderAzureOpenAI:
		return `the Azure deployment name, "gpt-4o-prod"`
	case ProviderBedrock:
		return `"anthropic.claude-3-5-sonnet-20240620-v1:0"`
	}
	return `"gpt-4o"`
}
