// Package errs holds error helpers shared by the domain packages.
package errs

import (
	"fmt"
	"strings"
)

// All returns every error of type T in err's tree: err itself, what it wraps (Unwrap() error)
// and what it joins (Unwrap() []error, as errors.Join makes), depth first. errors.As finds only
// the first; validation that reports several problems at once needs them all.
func All[T error](err error) []T {
	var out []T
	var walk func(error)
	walk = func(err error) {
		if err == nil {
			return
		}
		if t, ok := err.(T); ok {
			out = append(out, t)
			return
		}
		switch u := err.(type) {
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				walk(e)
			}
		case interface{ Unwrap() error }:
			walk(u.Unwrap())
		}
	}
	walk(err)
	return out
}

// Problem is the project's one input-problem type: something wrong with what the user wrote,
// found by a domain package (hf, sizing, cost, gateway, vllm, a backend). Attribute is the path of
// the argument to blame as the user writes it, relative to where the package's input sits in
// the schema ("engine.extra_args", "hosts[1].name", "self_hosted.api_bases[0]"); "" blames the
// input as a whole. Detail says what is wrong and what to do, without the attribute's name. The
// provider turns each Problem into a diagnostic on that attribute's path (one converter).
type Problem struct {
	Attribute string
	Detail    string
}

func (p *Problem) Error() string {
	if p.Attribute == "" {
		return p.Detail
	}
	return p.Attribute + ": " + p.Detail
}

// Problems returns every *Problem in err's tree.
func Problems(err error) []*Problem { return All[*Problem](err) }

// PathProblem is a Problem located by a path of steps, names (string) and list indexes (int),
// e.g. {"gpus", 2, "memory_gib"}: the form the data sources' domain packages (sizing, cost,
// metrics) validate their requests in.
type PathProblem struct {
	Path []any
	// Detail says what is wrong and how to fix it.
	Detail string
}

// Attribute renders Path as the user writes it: "gpus[2].memory_gib".
func (p PathProblem) Attribute() string {
	var b strings.Builder
	for _, s := range p.Path {
		if i, ok := s.(int); ok {
			fmt.Fprintf(&b, "[%d]", i)
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		fmt.Fprint(&b, s)
	}
	return b.String()
}

func (p PathProblem) Error() string { return p.Attribute() + ": " + p.Detail }

// PathProblems is every bad input of a request, as one error.
type PathProblems []PathProblem

func (ps PathProblems) Error() string {
	msgs := make([]string, len(ps))
	for i, p := range ps {
		msgs[i] = p.Error()
	}
	return strings.Join(msgs, "; ")
}

// Add appends a problem with detail at path.
func (ps *PathProblems) Add(detail string, path ...any) {
	*ps = append(*ps, PathProblem{Path: path, Detail: detail})
}
