package gateway

import (
	"bytes"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// EnvPrefix marks a LiteLLM value the proxy reads from its own environment: "os.environ/NAME".
const EnvPrefix = "os.environ/"

// RoutingStrategies are the router_settings.routing_strategy values LiteLLM knows.
var RoutingStrategies = []string{"simple-shuffle", "least-busy", "usage-based-routing-v2",
	"latency-based-routing", "cost-based-routing"}

// RenderOptions tunes RenderConfig.
type RenderOptions struct {
	// LiteralSecrets writes API keys and AWS credentials themselves into the file instead of
	// os.environ/NAME references. Only for a file that is itself kept as a secret.
	LiteralSecrets bool
	// RouterSettings are router-wide settings written beside the routes' fallbacks.
	RouterSettings RouterSettings
}

// RouterSettings are router-wide settings of a LiteLLM proxy (config.yaml router_settings).
// Zero values are left out, so LiteLLM's defaults apply.
type RouterSettings struct {
	// RoutingStrategy is one of RoutingStrategies ("" means LiteLLM's default, simple-shuffle).
	RoutingStrategy string
	// NumRetries is how often a failed call is retried within a model name before fallbacks
	// (nil: LiteLLM's default; 0 disables retries).
	NumRetries *int
	// AllowedFails is how many failures a deployment may have per minute before it cools down.
	AllowedFails *int
	// Timeout bounds a whole call, retries included.
	Timeout time.Duration
	// CooldownTime is how long a failing deployment is taken out of rotation.
	CooldownTime time.Duration
	// RetryAfter is the least time to wait before retrying a failed call.
	RetryAfter time.Duration
	// EnableTagFiltering turns on tag routing.
	EnableTagFiltering bool
}

// Rendered is a LiteLLM config file and the environment it expects.
type Rendered struct {
	// YAML is the config file: model_list, and router_settings when there is anything to set.
	YAML []byte
	// Env maps each environment variable the file references (os.environ/NAME) to the secret
	// value the proxy must find there. Sensitive. Empty with LiteralSecrets, and never holds
	// values that were already os.environ references.
	Env map[string]string
}

// RenderConfig writes routes as a LiteLLM config file for a proxy run from files (GitOps, or a
// proxy without a database): the same deployments the model API would hold (Route.Deployments),
// routes sorted by id, and the routes' fallbacks under router_settings.fallbacks, sorted by model
// name. Secrets become os.environ/NAME references unless opts.LiteralSecrets is set.
//
// It fails when a route is invalid (see Validate), two routes share an id, two routes of one
// model name set different fallbacks, or two routes want different values in one environment
// variable.
func RenderConfig(routes []Route, opts RenderOptions) (*Rendered, error) {
	sorted := slices.Clone(routes)
	slices.SortStableFunc(sorted, func(a, b Route) int { return strings.Compare(a.ID, b.ID) })

	var errs []string
	fallbacks := map[string][]string{}
	fallbackOwner := map[string]string{}
	env := map[string]string{}
	envOwner := map[string]string{}
	for i, r := range sorted {
		if i > 0 && sorted[i-1].ID == r.ID {
			errs = append(errs, fmt.Sprintf("two routes have the id %q", r.ID))
		}
		for _, p := range r.Validate() {
			errs = append(errs, fmt.Sprintf("route %q: %s", r.ID, p))
		}
		if len(r.Fallbacks) > 0 {
			if prev, ok := fallbacks[r.ModelName]; ok && !slices.Equal(prev, r.Fallbacks) {
				errs = append(errs, fmt.Sprintf("routes %q and %q both serve model %q but set different fallbacks; set them on one route only",
					fallbackOwner[r.ModelName], r.ID, r.ModelName))
			}
			fallbacks[r.ModelName] = r.Fallbacks
			fallbackOwner[r.ModelName] = r.ID
		}
		if opts.LiteralSecrets {
			continue
		}
		for _, s := range r.secretEnvs() {
			if s.value == "" || strings.HasPrefix(s.value, EnvPrefix) {
				continue
			}
			if prev, ok := env[s.env]; ok && prev != s.value {
				errs = append(errs, fmt.Sprintf("routes %q and %q want different values in the environment variable %s; give one of them another name",
					envOwner[s.env], r.ID, s.env))
			}
			env[s.env] = s.value
			envOwner[s.env] = r.ID
		}
	}
	if opts.RouterSettings.RoutingStrategy != "" && !slices.Contains(RoutingStrategies, opts.RouterSettings.RoutingStrategy) {
		errs = append(errs, fmt.Sprintf("routing strategy %q is not one of %s", opts.RouterSettings.RoutingStrategy, strings.Join(RoutingStrategies, ", ")))
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("rendering the LiteLLM config: %s", strings.Join(errs, "; "))
	}

	models := seqNode()
	for _, r := range sorted {
		secrets := map[string]string{}
		for _, s := range r.secretEnvs() {
			secrets[s.param] = s.env
		}
		for _, d := range r.Deployments() {
			params := mapNode()
			for _, p := range d.LiteLLMParams() {
				val := p.Value
				if s, ok := val.(string); ok && p.Secret && !opts.LiteralSecrets && !strings.HasPrefix(s, EnvPrefix) {
					val = EnvPrefix + secrets[p.Key]
				}
				addPair(params, p.Key, valueNode(val))
			}
			info := mapNode()
			for _, p := range d.ModelInfo() {
				addPair(info, p.Key, valueNode(p.Value))
			}
			m := mapNode()
			addPair(m, "model_name", valueNode(d.ModelName))
			addPair(m, "litellm_params", params)
			addPair(m, "model_info", info)
			models.Content = append(models.Content, m)
		}
	}

	root := mapNode()
	root.HeadComment = "LiteLLM proxy configuration rendered by terraform-provider-inferstack: do not edit by hand.\n"
	if opts.LiteralSecrets {
		root.HeadComment += "This file holds API keys: store and ship it as a secret."
	} else {
		root.HeadComment += "Secrets are read from the proxy's environment (os.environ/NAME)."
	}
	addPair(root, "model_list", models)
	if rs := routerSettingsNode(opts.RouterSettings, fallbacks); len(rs.Content) > 0 {
		addPair(root, "router_settings", rs)
	}

	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(root); err != nil {
		return nil, fmt.Errorf("rendering the LiteLLM config: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("rendering the LiteLLM config: %w", err)
	}
	if opts.LiteralSecrets {
		env = map[string]string{}
	}
	return &Rendered{YAML: buf.Bytes(), Env: env}, nil
}

func routerSettingsNode(s RouterSettings, fallbacks map[string][]string) *yaml.Node {
	n := mapNode()
	if s.RoutingStrategy != "" {
		addPair(n, "routing_strategy", valueNode(s.RoutingStrategy))
	}
	if s.NumRetries != nil {
		addPair(n, "num_retries", valueNode(int64(*s.NumRetries)))
	}
	if s.AllowedFails != nil {
		addPair(n, "allowed_fails", valueNode(int64(*s.AllowedFails)))
	}
	for _, d := range []struct {
		key string
		val time.Duration
	}{{"timeout", s.Timeout}, {"cooldown_time", s.CooldownTime}, {"retry_after", s.RetryAfter}} {
		if d.val > 0 {
			addPair(n, d.key, valueNode(timeoutValue(d.val)))
		}
	}
	if s.EnableTagFiltering {
		addPair(n, "enable_tag_filtering", valueNode(true))
	}
	if len(fallbacks) > 0 {
		list := seqNode()
		for _, name := range slices.Sorted(maps.Keys(fallbacks)) {
			targets := seqNode()
			targets.Style = yaml.FlowStyle
			for _, f := range fallbacks[name] {
				targets.Content = append(targets.Content, valueNode(f))
			}
			entry := mapNode()
			addPair(entry, name, targets)
			list.Content = append(list.Content, entry)
		}
		addPair(n, "fallbacks", list)
	}
	return n
}

func mapNode() *yaml.Node { return &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"} }
func seqNode() *yaml.Node { return &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"} }

func addPair(m *yaml.Node, key string, val *yaml.Node) {
	m.Content = append(m.Content, valueNode(key), val)
}

// valueNode encodes a scalar or a []string; yaml quotes strings that would read as something
// else (numbers, booleans, "null").
func valueNode(v any) *yaml.Node {
	if ss, ok := v.([]string); ok {
		n := seqNode()
		n.Style = yaml.FlowStyle
		for _, s := range ss {
			n.Content = append(n.Content, valueNode(s))
		}
		return n
	}
	var n yaml.Node
	if err := n.Encode(v); err != nil {
		// Only strings, integers, floats and booleans reach here; they always encode.
		panic(fmt.Sprintf("encoding %T as YAML: %v", v, err))
	}
	return &n
}
