package provider

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/inferstack/terraform-provider-inferstack/internal/errs"
	"github.com/inferstack/terraform-provider-inferstack/internal/gateway"
)

// Helpers shared by inferstack_api_route and inferstack_litellm_config: both turn the same
// route arguments into gateway.Route values, so the model API and a rendered config file never
// drift apart.

// routeCommon holds the route arguments the resource and the data source share.
type routeCommon struct {
	Name           types.String
	Weight         types.Int64
	Order          types.Int64
	RPM            types.Int64
	TPM            types.Int64
	TimeoutSeconds types.Int64
	Tags           types.List
	Fallbacks      types.List
	Mode           types.String
	BaseModel      types.String
}

// expand fills r's common fields from c and returns the attributes (as gateway.Route.Validate
// names them) whose values are not known yet.
func (c routeCommon) expand(r *gateway.Route) (unknown []string) {
	if c.Name.IsUnknown() {
		unknown = append(unknown, "name")
	}
	r.ModelName = c.Name.ValueString()
	r.Weight = c.Weight.ValueInt64()
	r.Order = c.Order.ValueInt64()
	r.RPM = c.RPM.ValueInt64()
	r.TPM = c.TPM.ValueInt64()
	r.Timeout = time.Duration(c.TimeoutSeconds.ValueInt64()) * time.Second
	r.Tags, _ = knownStrings(c.Tags)
	r.Fallbacks, _ = knownStrings(c.Fallbacks)
	r.Mode = c.Mode.ValueString()
	r.BaseModel = c.BaseModel.ValueString()
	return unknown
}

// knownStrings returns the elements of a list of strings, and false (with nil) when the list or
// any element is not known yet.
func knownStrings(l types.List) ([]string, bool) {
	if l.IsUnknown() {
		return nil, false
	}
	if l.IsNull() {
		return nil, true
	}
	out := make([]string, 0, len(l.Elements()))
	for _, e := range l.Elements() {
		s, ok := e.(types.String)
		if !ok || s.IsUnknown() {
			return nil, false
		}
		out = append(out, s.ValueString())
	}
	return out, true
}

// firstKnown returns the value of the first of vs that is set, and whether any of them is not
// known yet (a secret that comes from another resource's output, for example).
func firstKnown(vs ...types.String) (string, bool) {
	unknown := false
	for _, v := range vs {
		switch {
		case v.IsUnknown():
			unknown = true
		case !v.IsNull():
			return v.ValueString(), unknown
		}
	}
	return "", unknown
}

// flattenStrings is the list to store for vals read back: null when there are none, unless the
// configuration holds an empty list (then it stays empty, so the plan stays quiet).
func flattenStrings(ctx context.Context, prior types.List, vals []string, diags *diag.Diagnostics) types.List {
	if len(vals) == 0 {
		if !prior.IsNull() && !prior.IsUnknown() && len(prior.Elements()) == 0 {
			return prior
		}
		return types.ListNull(types.StringType)
	}
	l, d := types.ListValueFrom(ctx, types.StringType, vals)
	diags.Append(d...)
	return l
}

// flattenString is an optional string read back: "" is null unless the configuration says "".
func flattenString(prior types.String, v string) types.String {
	if v == "" {
		if !prior.IsNull() && !prior.IsUnknown() && prior.ValueString() == "" {
			return prior
		}
		return types.StringNull()
	}
	return types.StringValue(v)
}

// flattenInt64 is an optional number read back: 0 means LiteLLM's default, i.e. not set.
func flattenInt64(v int64) types.Int64 {
	if v == 0 {
		return types.Int64Null()
	}
	return types.Int64Value(v)
}

// knownOrNull keeps a value from the prior state that the gateway cannot give back (a secret),
// turning an unknown into null.
func knownOrNull(v types.String) types.String {
	if v.IsUnknown() {
		return types.StringNull()
	}
	return v
}

// deploymentIDs lists the ids of a route's n deployments (gateway.DeploymentID).
func deploymentIDs(routeID string, n int) types.List {
	vals := make([]attr.Value, 0, n)
	for i := range n {
		vals = append(vals, types.StringValue(gateway.DeploymentID(routeID, i)))
	}
	return types.ListValueMust(types.StringType, vals)
}

// routeSlug turns a model name into the start of a route id: letters, digits, '.', '_' and '-'
// only, starting with a letter or digit, at most max characters.
func routeSlug(name string, maxLen int) string {
	var b strings.Builder
	dash := false
	for _, r := range name {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-'
		switch {
		case ok:
			b.WriteRune(r)
			dash = r == '-'
		case !dash && b.Len() > 0:
			b.WriteByte('-')
			dash = true
		}
		if b.Len() >= maxLen {
			break
		}
	}
	s := strings.Trim(b.String(), "-._")
	if len(s) > maxLen {
		s = strings.Trim(s[:maxLen], "-._")
	}
	return s
}

// newRouteID returns a fresh route id for model name: the name as a slug and a random suffix,
// e.g. "chat-default-3f9a1c2b", so the gateway's model table stays readable and two routes of
// one name (weighted pools, blue/green) never collide.
func newRouteID(name string) (string, error) {
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generating a route id: %w", err)
	}
	slug := routeSlug(name, 60)
	if slug == "" {
		slug = "route"
	}
	return slug + "-" + hex.EncodeToString(b), nil
}

// addRouteProblems reports a route's problems (gateway.Route.Validate) below root (addProblems).
// writeOnly says whether the schema has api_key_wo twins to suggest for a missing key.
func addRouteProblems(diags *diag.Diagnostics, root path.Path, ps errs.List, writeOnly bool) {
	if len(ps) == 0 {
		return
	}
	ps = slices.Clone(ps)
	for i, p := range ps {
		if writeOnly && strings.HasSuffix("."+p.Attribute, ".api_key") && strings.HasPrefix(p.Summary, "missing") {
			withHint := *p
			withHint.Detail += " Or set api_key_wo with api_key_wo_version (Terraform or OpenTofu 1.11 and later) to keep the key out of state."
			ps[i] = &withHint
		}
	}
	addProblems(diags, root, "invalid route", ps)
}
