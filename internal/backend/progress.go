package backend

import "context"

// Progress: long operations (a converge waiting for weights to load, an instance refresh) report
// as they go, not only when they end. The provider puts a reporter in the context of an apply
// (WithProgress, logging through tflog at INFO, which TF_LOG=INFO shows); backends call Report
// with each step as it happens. Without a reporter Report does nothing.

type progressKey struct{}

// Reporter receives one step: source names where it happened (a host, an Auto Scaling group),
// message what happened.
type Reporter func(source, message string)

// WithProgress returns ctx carrying r.
func WithProgress(ctx context.Context, r Reporter) context.Context {
	return context.WithValue(ctx, progressKey{}, r)
}

// Report passes one step to ctx's reporter, if it has one.
func Report(ctx context.Context, source, message string) {
	if r, ok := ctx.Value(progressKey{}).(Reporter); ok && r != nil {
		r(source, message)
	}
}

// Reporting reports whether ctx has a reporter (to skip work only a reporter needs).
func Reporting(ctx context.Context) bool {
	r, ok := ctx.Value(progressKey{}).(Reporter)
	return ok && r != nil
}
