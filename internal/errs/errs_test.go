package errs

import (
	"errors"
	"fmt"
	"testing"
)

type problem struct{ attr string }

func (p *problem) Error() string { return p.attr }

func TestAll(t *testing.T) {
	t.Parallel()
	a, b, c := &problem{"a"}, &problem{"b"}, &problem{"c"}
	err := errors.Join(a, fmt.Errorf("wrapped: %w", b), errors.New("other"), fmt.Errorf("deep: %w", errors.Join(c)))
	got := All[*problem](err)
	if len(got) != 3 || got[0] != a || got[1] != b || got[2] != c {
		t.Fatalf("All = %v, want a, b, c", got)
	}
	if All[*problem](nil) != nil || All[*problem](errors.New("x")) != nil {
		t.Error("found problems where there are none")
	}
}

func TestProblemError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		p    Problem
		want string
	}{
		{Problem{Detail: "d"}, "d"},
		{Problem{Attribute: "name", Detail: "d"}, "name: d"},
		{Problem{Summary: "missing target", Detail: "d"}, "missing target: d"},
		{Problem{Attribute: "self_hosted.urls[1]", Summary: "invalid vLLM URL", Detail: "d"}, "self_hosted.urls[1]: invalid vLLM URL: d"},
	}
	for _, tt := range tests {
		if got := tt.p.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}

func TestList(t *testing.T) {
	t.Parallel()
	var l List
	l.Add("x", "gpus", 2, "memory_gib")
	l.Add("y", "concurrency")
	l.Add("z")
	if got := l.Error(); got != "gpus[2].memory_gib: x; concurrency: y; z" {
		t.Errorf("Error() = %q", got)
	}
	// A list found in an error gives up its problems, however deep.
	ps := Problems(fmt.Errorf("planning: %w", errors.Join(l, errors.New("other"))))
	if len(ps) != 3 || ps[0] != l[0] || ps[2] != l[2] {
		t.Errorf("Problems = %v, want the list's three", ps)
	}
	var p *Problem
	if !errors.As(l, &p) || p != l[0] {
		t.Errorf("errors.As found %v, want the first problem", p)
	}
}

func TestAttribute(t *testing.T) {
	t.Parallel()
	tests := []struct {
		path []any
		want string
	}{
		{nil, ""},
		{[]any{"name"}, "name"},
		{[]any{"self_hosted", "urls", 2}, "self_hosted.urls[2]"},
		{[]any{"targets", 0, "labels"}, "targets[0].labels"},
	}
	for _, tt := range tests {
		if got := Attribute(tt.path...); got != tt.want {
			t.Errorf("Attribute(%v) = %q, want %q", tt.path, got, tt.want)
		}
	}
}
