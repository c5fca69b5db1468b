// Package hf resolves Hugging Face Hub models for deployment: which commit a revision points at,
// how many parameters the weights hold, and the shape of the network from its config.json. These
// are the inputs of the sizing arithmetic in internal/sizing and the pin of every deployment.
//
// A Client makes two requests per model and revision, and only once per Client however often (and
// however concurrently) it is asked:
//
//  1. GET {endpoint}/api/models/{id}/revision/{revision}: validates the id and revision, and reads
//     the commit sha, gated, private, the licence and safetensors.total (the parameter count).
//  2. GET {endpoint}/{id}/resolve/{sha}/config.json: the network's shape at that exact commit.
//
// Requests go through go-retryablehttp: connection errors, 429 and 5xx are retried with exponential
// backoff, and a Retry-After (or RateLimit "t=") header is honoured up to Config.RetryWaitMax.
//
// Every failure is an *Error whose message says what to do (accept a licence, set a token, fix the
// id or revision) and which wraps one of the Err* sentinels, so callers test with errors.Is. One
// that blames the id or the revision also wraps an *errs.Problem on that attribute, the project's
// one input-problem type, so the provider attaches it like any other. The token is sent only in the
// Authorization header; it never appears in an error or a log line.
//
// The package never reads the environment by itself: callers pass HF_ENDPOINT and the token in
// Config (EndpointFromEnv and TokenFromEnv help with that).
package hf
