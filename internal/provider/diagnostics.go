package provider

import (
	"errors"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"

	"github.com/inferstack/terraform-provider-inferstack/internal/errs"
	"github.com/inferstack/terraform-provider-inferstack/internal/hf"
)

// attributePath turns a domain package's problem path (names as strings, list indexes as ints,
// e.g. {"gpus", 2, "memory_gib"}) into the framework's path, so the CLI points at the attribute.
func attributePath(steps []any) path.Path {
	p := path.Empty()
	for _, s := range steps {
		switch v := s.(type) {
		case int:
			p = p.AtListIndex(v)
		case int64:
			p = p.AtListIndex(int(v))
		case string:
			p = p.AtName(v)
		default:
			p = p.AtName(fmt.Sprint(v))
		}
	}
	return p
}

// addAttributeProblem attaches one bad input to its attribute. For a nested attribute the detail
// starts with its path as the user would write it ("gpus[0].memory_gib: ..."), because the CLIs
// show only the top-level attribute's line.
func addAttributeProblem(diags *diag.Diagnostics, steps []any, attribute, summary, detail string) {
	switch {
	case len(steps) == 0:
		diags.AddError(summary, detail)
		return
	case len(steps) > 1:
		detail = attribute + ": " + detail
	}
	diags.AddAttributeError(attributePath(steps), summary, detail)
}

// addPathProblems attaches each problem a data source's domain package found (sizing, cost,
// metrics) to its attribute, under summary.
func addPathProblems(diags *diag.Diagnostics, ps errs.PathProblems, summary string) {
	for _, p := range ps {
		addAttributeProblem(diags, p.Path, p.Attribute(), summary, p.Detail)
	}
}

// addHFError reports a failed Hub lookup. A problem with the model id or the revision is attached
// to that attribute (idAttribute is "id" in inferstack_hf_model, "model" in
// inferstack_deployment_plan); a problem with the token, the endpoint or the Hub itself is not.
func addHFError(diags *diag.Diagnostics, err error, idAttribute, id, revision string) {
	summary := fmt.Sprintf("resolving Hugging Face model (%s at %s)", id, revision)
	var e *hf.Error
	if errors.As(err, &e) {
		switch e.Attribute {
		case hf.AttributeID:
			diags.AddAttributeError(path.Root(idAttribute), summary, e.Message)
			return
		case hf.AttributeRevision:
			diags.AddAttributeError(path.Root("revision"), summary, e.Message)
			return
		}
	}
	diags.AddError(summary, err.Error())
}
