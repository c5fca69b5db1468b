package acctest

import (
	"net/http"
	"strings"
)

// Mutating calls, counted and failed one at a time: a test proves that an apply stopped at any
// change converges on the next run (the objects made before the failure are found and adopted,
// never made twice) by failing mutating call 1, 2, ... N of a clean run in turn.
//
// A call is one SDK invocation: its retries carry the same amz-sdk-invocation-id header and are
// neither counted again nor let through, so the failure reaches the caller whatever its retry
// settings (a client that is not the SDK sends no id, and each of its attempts is a call).

// readVerbs start the names of the AWS operations that change nothing.
var readVerbs = []string{"Describe", "List", "Get", "BatchGet"}

// IsMutation reports whether the AWS operation changes something (Create*, Put*, Attach*,
// Register*, Modify*, Authorize*, Start*, Delete*, ...): every operation but the reads.
func IsMutation(operation string) bool {
	if operation == "" || strings.Contains(operation, " ") { // not an AWS operation ("POST /path")
		return false
	}
	for _, v := range readVerbs {
		if strings.HasPrefix(operation, v) {
			return false
		}
	}
	return true
}

// MutationFault fails the N-th mutating call (counted from when it is set) with Kind on every
// attempt. ServerError and Drop leave the change unmade; LostResponse makes it and loses the
// answer.
type MutationFault struct {
	Region string // "" = any; IAM calls are signed for us-east-1 wherever the test runs
	N      int
	Kind   FaultKind
}

// mutations is the proxy's record of mutating calls and its one armed MutationFault.
type mutations struct {
	counts map[string]int  // "service:operation" -> calls
	seen   map[string]bool // invocation ids counted

	fault  *MutationFault
	calls  int    // mutating calls the fault has seen
	failed string // invocation id of the failed call, so its retries fail too
	hit    string // "service:operation" of the failed call
}

// call records the attempt r (region, svc, op) and reports whether it must fail, and how. The
// proxy's mutex is held.
func (m *mutations) call(r *http.Request, region, svc, op string) (FaultKind, bool) {
	if svc == "" || !IsMutation(op) {
		return 0, false
	}
	if m.counts == nil {
		m.counts, m.seen = map[string]int{}, map[string]bool{}
	}
	id := r.Header.Get("Amz-Sdk-Invocation-Id")
	first := id == "" || !m.seen[id]
	if first {
		if id != "" {
			m.seen[id] = true
		}
		m.counts[svc+":"+op]++
	}
	f := m.fault
	if f == nil || (f.Region != "" && f.Region != region) {
		return 0, false
	}
	if !first {
		return f.Kind, id == m.failed && m.hit != ""
	}
	m.calls++
	if m.calls != f.N {
		return 0, false
	}
	m.failed, m.hit = id, svc+":"+op
	return f.Kind, true
}

// FailMutation arms f (replacing any fault armed before) and counts calls from now.
func (p *AWSProxy) FailMutation(f MutationFault) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.mut.fault, p.mut.calls, p.mut.failed, p.mut.hit = &f, 0, "", ""
}

// ClearMutationFault disarms the fault and returns the call it failed ("service:operation"), or
// "" when it failed none (the run made fewer than N mutating calls).
func (p *AWSProxy) ClearMutationFault() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	hit := p.mut.hit
	p.mut.fault, p.mut.calls, p.mut.failed, p.mut.hit = nil, 0, "", ""
	return hit
}

// Mutations is a copy of the mutating calls since the last ResetMutations, by
// "service:operation" (retries not counted).
func (p *AWSProxy) Mutations() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[string]int, len(p.mut.counts))
	for k, v := range p.mut.counts {
		out[k] = v
	}
	return out
}

// MutationCount is the number of mutating calls since the last ResetMutations.
func (p *AWSProxy) MutationCount() int {
	n := 0
	for _, v := range p.Mutations() {
		n += v
	}
	return n
}

// ResetMutations zeroes the mutating-call counts.
func (p *AWSProxy) ResetMutations() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.mut.counts, p.mut.seen = map[string]int{}, map[string]bool{}
}

// FailNthMutation makes the n-th mutating AWS call from now, in any region, fail for its caller
// with a 500 on every attempt; ClearMutationFault disarms it.
func (l *AWSLab) FailNthMutation(n int) {
	l.Proxy.FailMutation(MutationFault{N: n, Kind: ServerError})
}
