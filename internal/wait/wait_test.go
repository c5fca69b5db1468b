package wait

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestUntil(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	tests := []struct {
		name    string
		doneAt  int // the check that reports done (0: never)
		failAt  int // the check that fails (0: never)
		timeout time.Duration
		wantErr string
		checks  int
	}{
		{name: "done at once", doneAt: 1, timeout: time.Second, checks: 1},
		{name: "done at the third", doneAt: 3, timeout: time.Second, checks: 3},
		{name: "fails", failAt: 2, timeout: time.Second, wantErr: "boom", checks: 2},
		{name: "times out with the last state", timeout: 30 * time.Millisecond, wantErr: "waiting for the thing: context deadline exceeded (last: still 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), tt.timeout)
			defer cancel()
			n := 0
			err := Until(ctx, 5*time.Millisecond, "the thing", func(context.Context) (bool, error, error) {
				n++
				switch {
				case n == tt.failAt:
					return false, nil, boom
				case n == tt.doneAt:
					return true, nil, nil
				}
				return false, errors.New("still " + strings.Repeat("1", 1)), nil
			})
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("Until = %v, want %q", err, tt.wantErr)
			}
			if tt.checks > 0 && n != tt.checks {
				t.Fatalf("%d checks, want %d", n, tt.checks)
			}
		})
	}
}
