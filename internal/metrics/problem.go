package metrics

import (
	"fmt"
	"strings"
)

// Problem is one bad input, located by the attribute it came from, for a domain package's
// validation that a data source turns into attribute errors (the provider's
// addAttributeProblem takes Path and Attribute()).
type Problem struct {
	// Path is the attribute path: names (string) and list indexes (int), e.g.
	// {"targets", 2, "labels"}.
	Path []any
	// Detail says what is wrong and how to fix it.
	Detail string
}

// Attribute renders Path as the user writes it: "targets[2].labels".
func (p Problem) Attribute() string {
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

func (p Problem) Error() string { return p.Attribute() + ": " + p.Detail }

// Problems is every bad input of a request, as one error.
type Problems []Problem

func (ps Problems) Error() string {
	msgs := make([]string, len(ps))
	for i, p := range ps {
		msgs[i] = p.Error()
	}
	return strings.Join(msgs, "; ")
}

// Add appends a problem with detail at path.
func (ps *Problems) Add(detail string, path ...any) {
	*ps = append(*ps, Problem{Path: path, Detail: detail})
}
