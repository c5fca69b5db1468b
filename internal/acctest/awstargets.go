package acctest

import (
	"bytes"
	"encoding/xml"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
)

// moto reports every registered, running target healthy (it runs no health checks). For tests of
// what a caller does with targets that fail their checks, SetTargetHealth makes
// DescribeTargetHealth in a region report every target in a state of the test's choosing, with
// a reason and description, as a load balancer whose checks fail does; everything else about the
// answer is moto's.

// TargetHealthOverride is what SetTargetHealth makes DescribeTargetHealth report.
type TargetHealthOverride struct {
	State       string // "unhealthy", "initial", "draining", ...
	Reason      string // e.g. "Target.FailedHealthChecks"
	Description string
}

type targetHealth struct {
	once     sync.Once
	mu       sync.Mutex
	byRegion map[string]TargetHealthOverride
}

// SetTargetHealth overrides the target health DescribeTargetHealth reports in region; a zero
// override restores moto's answers.
func (l *AWSLab) SetTargetHealth(region string, o TargetHealthOverride) {
	l.health.once.Do(func() {
		l.health.byRegion = map[string]TargetHealthOverride{}
		l.Proxy.Handle("elasticloadbalancing", "DescribeTargetHealth", http.HandlerFunc(l.serveTargetHealth))
	})
	l.health.mu.Lock()
	defer l.health.mu.Unlock()
	if o == (TargetHealthOverride{}) {
		delete(l.health.byRegion, region)
		return
	}
	l.health.byRegion[region] = o
}

func (l *AWSLab) serveTargetHealth(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	region, _, _ := Operation(r, body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	rec := httptest.NewRecorder()
	l.Proxy.rp.ServeHTTP(rec, r)

	l.health.mu.Lock()
	o, ok := l.health.byRegion[region]
	l.health.mu.Unlock()
	out := rec.Body.Bytes()
	if ok && rec.Code == http.StatusOK {
		var b strings.Builder
		b.WriteString("<State>")
		_ = xml.EscapeText(&b, []byte(o.State))
		b.WriteString("</State><Reason>")
		_ = xml.EscapeText(&b, []byte(o.Reason))
		b.WriteString("</Reason><Description>")
		_ = xml.EscapeText(&b, []byte(o.Description))
		b.WriteString("</Description>")
		out = bytes.ReplaceAll(out, []byte("<State>healthy</State>"), []byte(b.String()))
	}
	for k, vs := range rec.Header() {
		if k != "Content-Length" {
			w.Header()[k] = vs
		}
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(out)
}
