package provider

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"
	"github.com/hashicorp/terraform-plugin-go/tftypes"

	"github.com/inferstack/terraform-provider-inferstack/internal/backend"
)

// BackendAdapter is all a backend adds to the provider: its block in inferstack_inference_cluster
// (and, optionally, in inferstack_model_endpoint), and the conversions between those blocks and
// the backend's own typed settings and views. The resources' CRUD methods never name a backend:
// they find the adapter by block name and the backend.Backend by block name or ID prefix (see
// internal/backend/doc.go for the steps of adding one). Block values are whole objects of the
// block's schema; the adapter owns every attribute inside its block, computed ones included.
type BackendAdapter interface {
	// Name is the block name, the same as the backend's Name.
	Name() string

	// ClusterBlock is the block in inferstack_inference_cluster: Optional (the resource checks
	// that exactly one backend block is set); its computed attributes live inside it.
	ClusterBlock() schema.SingleNestedAttribute
	// ExpandCluster turns the block of a plan, state or configuration into the backend's settings
	// (backend.ClusterSpec.Settings). known is false while a value is unknown; idKnown says that
	// enough is known for the backend's ClusterID even so.
	ExpandCluster(ctx context.Context, block types.Object) (settings any, known, idKnown bool, diags diag.Diagnostics)
	// PlanCluster sets the block's computed attributes in a plan. p is the backend's plan (nil
	// when values are not known yet); prior is the block in state (null on create).
	PlanCluster(ctx context.Context, planned, prior types.Object, p *backend.ClusterPlan) (types.Object, diag.Diagnostics)
	// FlattenCluster is the block after an apply or a refresh: its computed attributes from c,
	// the user's arguments kept from prior (the block in plan or state), or, when prior is null
	// (import), read back from c.
	FlattenCluster(ctx context.Context, prior types.Object, c *backend.Cluster) (types.Object, diag.Diagnostics)

	// EndpointBlock is the block in inferstack_model_endpoint, if the backend has endpoint
	// settings of its own; ok is false when it has none.
	EndpointBlock() (block schema.SingleNestedAttribute, ok bool)
	// ExpandEndpoint turns the endpoint block (maybe null) into backend.EndpointSpec.Settings.
	ExpandEndpoint(ctx context.Context, block types.Object) (any, diag.Diagnostics)
	// FlattenEndpoint is the endpoint block after import (prior null) or a refresh.
	FlattenEndpoint(ctx context.Context, prior types.Object, e *backend.Endpoint) (types.Object, diag.Diagnostics)
}

// builtinAdapters are the backends every provider has, in the order their blocks are listed.
func builtinAdapters() []BackendAdapter {
	return []BackendAdapter{onpremAdapter{}, awsAdapter{}, azureAdapter{}, kubernetesAdapter{}}
}

// WithBackend registers another backend and its adapter (the acceptance harness registers a
// test-only backend this way; a backend built into the provider is listed in builtinAdapters
// and made in Configure).
func WithBackend(b backend.Backend, a BackendAdapter) Option {
	return func(p *inferstackProvider) {
		p.extraBackends = append(p.extraBackends, b)
		p.extraAdapters = append(p.extraAdapters, a)
	}
}

// adapterNames lists the adapters' block names.
func adapterNames(as []BackendAdapter) []string {
	out := make([]string, 0, len(as))
	for _, a := range as {
		out = append(out, a.Name())
	}
	return out
}

func adapterByName(as []BackendAdapter, name string) BackendAdapter {
	for _, a := range as {
		if a.Name() == name {
			return a
		}
	}
	return nil
}

// registry returns the configured backends, or an error diagnostic naming summary when the
// provider is not configured.
func (d *providerData) registry(summary string, diags *diag.Diagnostics) *backend.Registry {
	if d == nil || d.Backends == nil {
		diags.AddError(summary, "the provider is not configured: this is a bug in the provider, please report it")
		return nil
	}
	return d.Backends
}

// splitObject holds a whole plan, state or configuration object: the resource's common
// attributes (read into a struct of its own) and the backends' blocks, which the adapters own.
type splitObject struct {
	types  map[string]attr.Type
	names  []string // the block attributes
	blocks map[string]types.Object
}

type objectGetter interface {
	Get(ctx context.Context, target any) diag.Diagnostics
}

type objectSetter interface {
	Set(ctx context.Context, val any) diag.Diagnostics
}

// getSplit reads a whole plan, state or configuration: the attributes not named in blocks into
// common (a pointer to the resource's model struct), and each block into the result. A null
// object (no prior state) leaves common as it is and returns no blocks.
func getSplit(ctx context.Context, g objectGetter, blocks []string, common any) (*splitObject, diag.Diagnostics) {
	var whole types.Object
	diags := g.Get(ctx, &whole)
	out := &splitObject{names: blocks, blocks: map[string]types.Object{}}
	if diags.HasError() || whole.IsNull() || whole.IsUnknown() {
		return out, diags
	}
	out.types = whole.AttributeTypes(ctx)
	attrs := whole.Attributes()
	commonTypes, commonAttrs := map[string]attr.Type{}, map[string]attr.Value{}
	for k, v := range attrs {
		if isBlock(blocks, k) {
			if o, ok := v.(types.Object); ok {
				out.blocks[k] = o
			}
			continue
		}
		commonTypes[k], commonAttrs[k] = out.types[k], v
	}
	obj, d := types.ObjectValue(commonTypes, commonAttrs)
	diags.Append(d...)
	if !d.HasError() {
		diags.Append(obj.As(ctx, common, basetypes.ObjectAsOptions{})...)
	}
	return out, diags
}

// setSplit writes common and the blocks back as one object; a block not in o.blocks is null.
func setSplit(ctx context.Context, s objectSetter, o *splitObject, common any) diag.Diagnostics {
	commonTypes := map[string]attr.Type{}
	for k, t := range o.types {
		if !isBlock(o.names, k) {
			commonTypes[k] = t
		}
	}
	c, diags := types.ObjectValueFrom(ctx, commonTypes, common)
	if diags.HasError() {
		return diags
	}
	attrs := c.Attributes()
	for k, t := range o.types {
		if _, ok := attrs[k]; ok {
			continue
		}
		if b, ok := o.blocks[k]; ok {
			attrs[k] = b
		} else if ot, ok := t.(basetypes.ObjectType); ok {
			attrs[k] = types.ObjectNull(ot.AttrTypes)
		}
	}
	whole, d := types.ObjectValue(o.types, attrs)
	diags.Append(d...)
	if diags.HasError() {
		return diags
	}
	diags.Append(s.Set(ctx, whole)...)
	return diags
}

func isBlock(blocks []string, k string) bool {
	for _, b := range blocks {
		if b == k {
			return true
		}
	}
	return false
}

// block returns the named block, null (of its type) when absent.
func (o *splitObject) block(name string) types.Object {
	if b, ok := o.blocks[name]; ok {
		return b
	}
	if ot, ok := o.types[name].(basetypes.ObjectType); ok {
		return types.ObjectNull(ot.AttrTypes)
	}
	return types.ObjectNull(map[string]attr.Type{})
}

// active is the name of the one block that is set (not null), "" when none; unknown is true
// when a block's value is not known yet.
func (o *splitObject) active() (name string, count int, unknown bool) {
	for k, b := range o.blocks {
		switch {
		case b.IsUnknown():
			unknown = true
		case !b.IsNull():
			name = k
			count++
		}
	}
	return name, count, unknown
}

// only keeps block name (others become null).
func (o *splitObject) only(name string, b types.Object) {
	for k := range o.blocks {
		delete(o.blocks, k)
	}
	o.blocks[name] = b
}

// knownValues replaces every unknown value in v (deeply) by null: what a resource in state
// holds of values an apply has not learned (a create stopped part way).
func knownValues(v attr.Value) attr.Value {
	switch x := v.(type) {
	case types.Object:
		if x.IsNull() || x.IsUnknown() {
			return types.ObjectNull(x.AttributeTypes(context.Background()))
		}
		attrs := map[string]attr.Value{}
		for k, a := range x.Attributes() {
			attrs[k] = knownValues(a)
		}
		return types.ObjectValueMust(x.AttributeTypes(context.Background()), attrs)
	case types.List:
		if x.IsNull() || x.IsUnknown() {
			return types.ListNull(x.ElementType(context.Background()))
		}
		var els []attr.Value
		for _, e := range x.Elements() {
			els = append(els, knownValues(e))
		}
		return types.ListValueMust(x.ElementType(context.Background()), els)
	case types.Map:
		if x.IsNull() || x.IsUnknown() {
			return types.MapNull(x.ElementType(context.Background()))
		}
		els := map[string]attr.Value{}
		for k, e := range x.Elements() {
			els[k] = knownValues(e)
		}
		return types.MapValueMust(x.ElementType(context.Background()), els)
	}
	if v.IsUnknown() {
		t := v.Type(context.Background())
		nv, err := t.ValueFromTerraform(context.Background(), tftypes.NewValue(t.TerraformType(context.Background()), nil))
		if err == nil {
			return nv
		}
	}
	return v
}

// withTimeout bounds ctx by one operation's value of a timeouts block, def its default.
func withTimeout(ctx context.Context, timeout func(context.Context, time.Duration) (time.Duration, diag.Diagnostics),
	def time.Duration, diags *diag.Diagnostics) (context.Context, context.CancelFunc) {
	t, d := timeout(ctx, def)
	diags.Append(d...)
	return context.WithTimeout(ctx, t)
}

// nullTimeouts is the timeouts block of an imported resource (create, update and delete).
func nullTimeouts() timeouts.Value {
	return timeouts.Value{Object: types.ObjectNull(map[string]attr.Type{"create": types.StringType, "update": types.StringType, "delete": types.StringType})}
}

// removedMissing removes a resource whose objects are partly gone (deleted outside Terraform)
// from state, with a warning, and reports whether it did: the next apply makes it again,
// adopting the parts still there.
func removedMissing(kind, name string, missing []string, diags *diag.Diagnostics) bool {
	if len(missing) == 0 {
		return false
	}
	diags.AddWarning(fmt.Sprintf("%s (%s) is incomplete", kind, name),
		fmt.Sprintf("The %s's %s no longer exist(s) (deleted outside Terraform). It is removed from state; the next "+
			"apply creates it again, keeping the parts that are still there.", kind, strings.Join(missing, ", ")))
	return true
}

// withAttribute returns o with attribute name set to v (o itself when it is null or unknown).
func withAttribute(o types.Object, name string, v attr.Value, diags *diag.Diagnostics) types.Object {
	if o.IsNull() || o.IsUnknown() {
		return o
	}
	attrs := o.Attributes()
	attrs[name] = v
	out, d := types.ObjectValue(o.AttributeTypes(context.Background()), attrs)
	diags.Append(d...)
	return out
}

// listOf is the elements of a list, nil when it is null or unknown.
func listOf[T any](ctx context.Context, l types.List, diags *diag.Diagnostics) []T {
	if l.IsNull() || l.IsUnknown() {
		return nil
	}
	var out []T
	diags.Append(l.ElementsAs(ctx, &out, false)...)
	return out
}
