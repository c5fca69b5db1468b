package gateway

import (
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Deployment is one LiteLLM deployment: a row of the proxy's model table, one entry of a config
// file's model_list. A Route becomes one or more of them (Route.Deployments).
type Deployment struct {
	// ID is model_info.id, chosen by us (see DeploymentID) so creates are idempotent.
	ID string
	// ModelName is the public name clients send (LiteLLM's model_name).
	ModelName string
	// Model is litellm_params.model: "<provider prefix>/<model>", e.g.
	// "hosted_vllm/meta-llama/Llama-3.1-8B-Instruct" or "openai/gpt-4o".
	Model string

	APIBase      string
	APIVersion   string
	Organization string
	// AWSRegionName is litellm_params.aws_region_name (Bedrock).
	AWSRegionName string

	// Secrets: sent to the gateway, never read back from it (its reads strip or mask them).
	APIKey, AWSAccessKeyID, AWSSecretAccessKey, AWSSessionToken string

	Weight, Order, RPM, TPM int64
	Timeout                 time.Duration
	Tags                    []string

	// model_info
	Mode      string
	BaseModel string
	// RouteID, Replica and Replicas tie the deployment to its route (model_info.inferstack_route,
	// inferstack_replica, inferstack_replicas): replica Replica of Replicas.
	RouteID           string
	Replica, Replicas int

	// FromConfig is true, on reads, for a deployment that comes from the proxy's config file
	// (model_info.db_model false): the model API cannot change or delete it.
	FromConfig bool
}

// The litellm_params and model_info keys a Deployment manages.
const (
	paramModel              = "model"
	paramAPIBase            = "api_base"
	paramAPIVersion         = "api_version"
	paramOrganization       = "organization"
	paramAWSRegionName      = "aws_region_name"
	paramAPIKey             = "api_key"
	paramAWSAccessKeyID     = "aws_access_key_id"
	paramAWSSecretAccessKey = "aws_secret_access_key"
	paramAWSSessionToken    = "aws_session_token"
	paramWeight             = "weight"
	paramOrder              = "order"
	paramRPM                = "rpm"
	paramTPM                = "tpm"
	paramTimeout            = "timeout"
	paramTags               = "tags"

	infoID        = "id"
	infoMode      = "mode"
	infoBaseModel = "base_model"
	infoRoute     = "inferstack_route"
	infoReplica   = "inferstack_replica"
	infoReplicas  = "inferstack_replicas"
	infoDBModel   = "db_model"
)

// Param is one key of litellm_params or model_info with its value: a string, an int64, a
// float64 (timeouts with a fraction of a second) or a []string.
type Param struct {
	Key   string
	Value any
	// Secret marks credentials: a config file writes them as os.environ/NAME references, and
	// they must never be logged.
	Secret bool
}

// LiteLLMParams is d's litellm_params, the keys that are set, in a stable order (the order a
// rendered config file shows them).
func (d Deployment) LiteLLMParams() []Param {
	var ps []Param
	str := func(k, v string, secret bool) {
		if v != "" {
			ps = append(ps, Param{Key: k, Value: v, Secret: secret})
		}
	}
	num := func(k string, v int64) {
		if v != 0 {
			ps = append(ps, Param{Key: k, Value: v})
		}
	}
	str(paramModel, d.Model, false)
	str(paramAPIBase, d.APIBase, false)
	str(paramAPIVersion, d.APIVersion, false)
	str(paramOrganization, d.Organization, false)
	str(paramAWSRegionName, d.AWSRegionName, false)
	str(paramAPIKey, d.APIKey, true)
	str(paramAWSAccessKeyID, d.AWSAccessKeyID, true)
	str(paramAWSSecretAccessKey, d.AWSSecretAccessKey, true)
	str(paramAWSSessionToken, d.AWSSessionToken, true)
	num(paramWeight, d.Weight)
	num(paramOrder, d.Order)
	num(paramRPM, d.RPM)
	num(paramTPM, d.TPM)
	if d.Timeout > 0 {
		ps = append(ps, Param{Key: paramTimeout, Value: timeoutValue(d.Timeout)})
	}
	if len(d.Tags) > 0 {
		ps = append(ps, Param{Key: paramTags, Value: slices.Clone(d.Tags)})
	}
	return ps
}

// ModelInfo is d's model_info, the keys that are set, in a stable order; id always comes first.
func (d Deployment) ModelInfo() []Param {
	ps := []Param{{Key: infoID, Value: d.ID}}
	if d.Mode != "" {
		ps = append(ps, Param{Key: infoMode, Value: d.Mode})
	}
	if d.BaseModel != "" {
		ps = append(ps, Param{Key: infoBaseModel, Value: d.BaseModel})
	}
	if d.RouteID != "" {
		ps = append(ps,
			Param{Key: infoRoute, Value: d.RouteID},
			Param{Key: infoReplica, Value: int64(d.Replica)},
			Param{Key: infoReplicas, Value: int64(max(d.Replicas, 1))})
	}
	return ps
}

// ParamMap turns params into the map a JSON body carries.
func ParamMap(ps []Param) map[string]any {
	m := make(map[string]any, len(ps))
	for _, p := range ps {
		m[p.Key] = p.Value
	}
	return m
}

// timeoutValue is a timeout in LiteLLM's unit, seconds: an int64 when whole, else a float64
// with millisecond precision.
func timeoutValue(d time.Duration) any {
	ms := d.Milliseconds()
	if ms%1000 == 0 {
		return ms / 1000
	}
	return float64(ms) / 1000
}

// ParseDeployment reads a deployment as a gateway returns it (model_name, litellm_params,
// model_info decoded from JSON). Secret keys are ignored, whatever the gateway sent: a
// Deployment read back never holds a credential. Numbers may be JSON numbers, floats or numeric
// strings (LiteLLM coerces some); values of an unexpected type are left zero.
func ParseDeployment(modelName string, params, info map[string]any) Deployment {
	d := Deployment{
		ModelName:     modelName,
		ID:            asString(info[infoID]),
		Model:         asString(params[paramModel]),
		APIBase:       asString(params[paramAPIBase]),
		APIVersion:    asString(params[paramAPIVersion]),
		Organization:  asString(params[paramOrganization]),
		AWSRegionName: asString(params[paramAWSRegionName]),
		Weight:        asInt(params[paramWeight]),
		Order:         asInt(params[paramOrder]),
		RPM:           asInt(params[paramRPM]),
		TPM:           asInt(params[paramTPM]),
		Tags:          asStrings(params[paramTags]),
		Mode:          asString(info[infoMode]),
		BaseModel:     asString(info[infoBaseModel]),
		RouteID:       asString(info[infoRoute]),
		Replica:       int(asInt(info[infoReplica])),
		Replicas:      int(asInt(info[infoReplicas])),
	}
	if s, ok := asFloat(params[paramTimeout]); ok && s > 0 {
		d.Timeout = time.Duration(math.Round(s*1000)) * time.Millisecond
	}
	if b, ok := info[infoDBModel].(bool); ok && !b {
		d.FromConfig = true
	}
	return d
}

func asString(v any) string {
	s, _ := v.(string)
	return s
}

func asFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case float32:
		return float64(x), true
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		return f, err == nil
	}
	return 0, false
}

func asInt(v any) int64 {
	f, ok := asFloat(v)
	if !ok || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		return 0
	}
	return int64(f)
}

func asStrings(v any) []string {
	switch x := v.(type) {
	case []string:
		return slices.Clone(x)
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// Changes compares a deployment as it is (prior) with how it should be (desired), for an
// update through an API that merges keys: Params and Info report whether litellm_params (or the
// model name) and model_info differ; Cleared lists the keys prior has that desired drops, which
// a merging update cannot remove (LiteLLM keeps a stored key when it is omitted or null). A
// prior read back from a gateway holds no secrets, so against it every secret of desired counts
// as changed and is sent again.
type Changes struct {
	Params, Info bool
	Cleared      []string
}

// Diff compares prior with desired; see Changes.
func Diff(prior, desired Deployment) Changes {
	var c Changes
	pp, dp := ParamMap(prior.LiteLLMParams()), ParamMap(desired.LiteLLMParams())
	for _, p := range desired.LiteLLMParams() {
		if !equalValue(pp[p.Key], p.Value) {
			c.Params = true
		}
	}
	for k := range pp {
		if _, ok := dp[k]; !ok {
			c.Cleared = append(c.Cleared, k)
		}
	}
	if prior.ModelName != desired.ModelName {
		c.Params = true
	}
	pi, di := ParamMap(prior.ModelInfo()), ParamMap(desired.ModelInfo())
	for k, v := range di {
		if !equalValue(pi[k], v) {
			c.Info = true
		}
	}
	for k := range pi {
		if _, ok := di[k]; !ok && k != infoRoute && k != infoReplica && k != infoReplicas {
			c.Cleared = append(c.Cleared, "model_info."+k)
		}
	}
	slices.Sort(c.Cleared)
	return c
}

func equalValue(a, b any) bool {
	switch x := a.(type) {
	case []string:
		y, ok := b.([]string)
		return ok && slices.Equal(x, y)
	case nil:
		return b == nil
	}
	fa, oka := asFloat(a)
	fb, okb := asFloat(b)
	if _, isStr := a.(string); !isStr && oka && okb {
		return fa == fb
	}
	return a == b
}
