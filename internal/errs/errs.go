// Package errs holds error helpers shared by the domain packages.
package errs

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
