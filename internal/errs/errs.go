// Package errs holds the project's one input-problem type, Problem: something wrong with what the
// user wrote, found by a domain package (hf, sizing, cost, metrics, gateway, vllm, a backend) and
// turned into a diagnostic on that attribute by one converter in the provider. List collects the
// problems of one input as one error; Problems and All find them in any error.
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

// Problem is the project's one input-problem type: something wrong with what the user wrote.
type Problem struct {
	// Attribute is the argument to blame as the user writes it, relative to where the package's
	// input sits in the schema ("gpus[2].memory_gib", "hosts[1].name", "self_hosted.urls[0]");
	// "" blames the input as a whole.
	Attribute string
	// Summary is a short title of the problem ("invalid vLLM URL") where the package words one;
	// "" leaves it to the provider (the failed operation's summary).
	Summary string
	// Detail says what is wrong and what to do. The provider starts it with the attribute where
	// the CLIs would not show it.
	Detail string
}

func (p *Problem) Error() string {
	s := p.Detail
	if p.Summary != "" {
		s = p.Summary + ": " + s
	}
	if p.Attribute != "" {
		s = p.Attribute + ": " + s
	}
	return s
}

// Problems returns every *Problem in err's tree.
func Problems(err error) []*Problem { return All[*Problem](err) }

// List is every problem of one input, as one error: what validation returns. Problems (and
// errors.As with a *Problem) finds its items. Return it as an error only when it is not empty.
type List []*Problem

func (l List) Error() string {
	msgs := make([]string, len(l))
	for i, p := range l {
		msgs[i] = p.Error()
	}
	return strings.Join(msgs, "; ")
}

// Unwrap returns the problems.
func (l List) Unwrap() []error {
	out := make([]error, len(l))
	for i, p := range l {
		out[i] = p
	}
	return out
}

// Add appends a problem with detail on the attribute at path: names (string) and list indexes
// (int), e.g. Add(detail, "gpus", 2, "memory_gib") for "gpus[2].memory_gib".
func (l *List) Add(detail string, path ...any) {
	*l = append(*l, &Problem{Attribute: Attribute(path...), Detail: detail})
}

// Attribute writes path as the user writes the attribute: Attribute("gpus", 2, "memory_gib") is
// "gpus[2].memory_gib".
func Attribute(path ...any) string {
	var b strings.Builder
	for _, s := range path {
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
