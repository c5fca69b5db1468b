// Package wait is the project's one poll loop: backends, the gateway client and the resources
// wait for a condition with it (or with an SDK's own waiter), under a context whose deadline is
// the resource's timeout.
package wait

import (
	"context"
	"fmt"
	"time"
)

// Until calls check until it reports done or fails, or until ctx ends; the first check runs at
// once, the next ones every interval. A check that fails because ctx ended mid-call, and ctx
// ending between checks, give "waiting for <what>: <ctx error>", with the last state check
// reported (notYet) when there is one.
func Until(ctx context.Context, interval time.Duration, what string, check func(ctx context.Context) (done bool, notYet error, err error)) error {
	var last error
	for {
		done, notYet, err := check(ctx)
		if notYet != nil {
			last = notYet
		}
		switch {
		case err != nil && ctx.Err() != nil:
			return timedOut(ctx, what, last)
		case err != nil:
			return err
		case done:
			return nil
		}
		t := time.NewTimer(interval)
		select {
		case <-ctx.Done():
			t.Stop()
			return timedOut(ctx, what, last)
		case <-t.C:
		}
	}
}

func timedOut(ctx context.Context, what string, last error) error {
	if last != nil {
		return fmt.Errorf("waiting for %s: %w (last: %w)", what, ctx.Err(), last)
	}
	return fmt.Errorf("waiting for %s: %w", what, ctx.Err())
}
