package provider

import (
	"cmp"
	"fmt"
	"strconv"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"

	"github.com/inferstack/terraform-provider-inferstack/internal/errs"
	"github.com/inferstack/terraform-provider-inferstack/internal/hf"
)

// addProblems turns err into diagnostics: the one converter of the domain packages' input
// problems (errs.Problem, found by hf, sizing, cost, metrics, gateway, vllm or a backend) into
// attribute paths. Each problem in err goes on its attribute below root, under its own summary
// or else summary; an err without problems is one error under summary.
//
// The detail starts with the attribute as written from the resource's top ("gpus[0].memory_gib:
// ...", "onprem.hosts[1].name: ...", "routes[0]: ..."), since the CLIs show only the top-level
// attribute's line. Only a top-level attribute checked at the top (root empty: a data source's
// own arguments, a route's) goes without, as the CLI shows its very line. A problem with the
// input as a whole goes on root, or, at the top, on no attribute.
func addProblems(diags *diag.Diagnostics, root path.Path, summary string, err error) {
	if err == nil {
		return
	}
	ps := errs.Problems(err)
	if len(ps) == 0 {
		diags.AddError(summary, err.Error())
		return
	}
	for _, p := range ps {
		s := cmp.Or(p.Summary, summary)
		at, shown := problemPath(root, p.Attribute)
		switch {
		case shown == "":
			diags.AddError(s, p.Detail)
		case len(root.Steps()) == 0 && len(at.Steps()) == 1:
			diags.AddAttributeError(at, s, p.Detail)
		default:
			diags.AddAttributeError(at, s, shown+": "+p.Detail)
		}
	}
}

// problemPath turns an attribute as a user writes it ("hosts[1].name", "labels[\"k\"]") below root
// into the framework's path, and the same written out from the resource's top
// ("onprem.hosts[1].name"). Below a block of the resource (a root of one step: a backend's
// block), "name" and "cluster_id" are the resource's own attributes (backend.InputError).
func problemPath(root path.Path, attribute string) (path.Path, string) {
	if attribute == "" {
		return root, root.String()
	}
	if len(root.Steps()) == 1 && (attribute == "name" || attribute == "cluster_id") {
		root = path.Empty()
	}
	p := root
	for _, step := range strings.Split(attribute, ".") {
		name, rest, _ := strings.Cut(step, "[")
		p = p.AtName(name)
		for rest != "" {
			idx, after, _ := strings.Cut(rest, "]")
			if i, err := strconv.Atoi(idx); err == nil {
				p = p.AtListIndex(i)
			} else {
				p = p.AtMapKey(strings.Trim(idx, `"`))
			}
			rest = strings.TrimPrefix(after, "[")
		}
	}
	return p, p.String()
}

// addHFError reports a failed Hub lookup (addProblems): a problem with the model id goes on
// idAttribute, the attribute that holds it ("id" in inferstack_hf_model, "model" in
// inferstack_deployment_plan), one with the revision on revision, and one with the token, the
// endpoint or the Hub itself on no attribute.
func addHFError(diags *diag.Diagnostics, err error, idAttribute, id, revision string) {
	if ps := errs.Problems(err); len(ps) == 1 && ps[0].Attribute == hf.AttributeID {
		err = &errs.Problem{Attribute: idAttribute, Detail: ps[0].Detail}
	}
	addProblems(diags, path.Empty(), fmt.Sprintf("resolving Hugging Face model (%s at %s)", id, revision), err)
}
