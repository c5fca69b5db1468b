package metrics

import "github.com/inferstack/terraform-provider-inferstack/internal/errs"

// Problem is one bad input, located by the data source attribute it came from (errs.PathProblem).
type Problem = errs.PathProblem

// Problems is every bad input of a request; it is the error validation returns.
type Problems = errs.PathProblems
