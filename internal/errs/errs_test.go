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
