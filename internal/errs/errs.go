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
