package acctest

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"
)

// FaultKind is what the proxy does instead of (or before) forwarding a call.
type FaultKind int

const (
	// Throttle answers with the service's throttling error (EC2 RequestLimitExceeded, JSON
	// ThrottlingException, query Throttling), which the SDK retries.
	Throttle FaultKind = iota
	// ServerError answers 500 InternalError, which the SDK retries.
	ServerError
	// Latency waits Delay, then forwards.
	Latency
	// Drop closes the connection without an answer.
	Drop
	// Unavailable answers 503 ServiceUnavailable, which the SDK retries.
	Unavailable
	// Denied answers the protocol's access-denied error (JSON AccessDeniedException, EC2
	// UnauthorizedOperation, query AccessDenied), which the SDK does not retry.
	Denied
	// LostResponse forwards the call, then closes the connection instead of answering: the
	// change is made, but the caller cannot know it.
	LostResponse
)

func (k FaultKind) String() string {
	return [...]string{"throttle", "server-error", "latency", "drop", "unavailable", "denied", "lost-response"}[k]
}

// Fault injects Kind into the next Times calls of Service:Operation ("" matches any).
type Fault struct {
	Region    string // e.g. "us-west-2"; "" = any (tests running in parallel use a region each)
	Service   string // e.g. "ec2", "autoscaling"; "" = any
	Operation string // e.g. "DescribeInstanceTypes"; "" = any
	Kind      FaultKind
	Times     int
	Delay     time.Duration // for Latency
}

// AWSProxy sits between AWS clients and moto: it counts calls per operation, injects faults, and
// answers the operations moto lacks with handlers the tests register.
type AWSProxy struct {
	URL string

	srv    *http.Server
	ln     net.Listener
	target *url.URL
	rp     *httputil.ReverseProxy

	mu       sync.Mutex
	counts   map[string]int
	faults   []*Fault
	handlers map[string]http.Handler
	mut      mutations
}

// StartAWSProxy listens on a free 127.0.0.1 port and forwards to target (moto).
func StartAWSProxy(target string) (*AWSProxy, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("starting the AWS proxy: %w", err)
	}
	p := &AWSProxy{
		URL:      "http://" + ln.Addr().String(),
		ln:       ln,
		target:   u,
		rp:       httputil.NewSingleHostReverseProxy(u),
		counts:   map[string]int{},
		handlers: map[string]http.Handler{},
	}
	p.srv = &http.Server{Handler: p, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = p.srv.Serve(ln) }()
	return p, nil
}

// Close stops the proxy.
func (p *AWSProxy) Close() { _ = p.srv.Close() }

// Inject adds a fault; it applies to the next f.Times matching calls.
func (p *AWSProxy) Inject(f Fault) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.faults = append(p.faults, &f)
}

// Handle answers service:operation with h instead of moto (for the calls moto lacks).
func (p *AWSProxy) Handle(service, operation string, h http.Handler) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.handlers[service+":"+operation] = h
}

// Count returns how many calls of service:operation reached the proxy (faulted ones included).
func (p *AWSProxy) Count(service, operation string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.counts[service+":"+operation]
}

// Counts returns a copy of every "service:operation" count.
func (p *AWSProxy) Counts() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[string]int, len(p.counts))
	for k, v := range p.counts {
		out[k] = v
	}
	return out
}

// ResetCounts zeroes the counts.
func (p *AWSProxy) ResetCounts() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.counts = map[string]int{}
}

// CountRegion is Count for the calls signed for one region.
func (p *AWSProxy) CountRegion(region, service, operation string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.counts[region+"/"+service+":"+operation]
}

var credentialScopeRE = regexp.MustCompile(`Credential=[^/]+/[^/]+/([^/]+)/([^/]+)/aws4_request`)

// Operation names the AWS call in r: region and service from the SigV4 credential scope, the
// operation from X-Amz-Target (JSON protocols) or the Action form field (query protocols).
func Operation(r *http.Request, body []byte) (region, service, operation string) {
	if m := credentialScopeRE.FindStringSubmatch(r.Header.Get("Authorization")); m != nil {
		region, service = m[1], m[2]
	}
	if t := r.Header.Get("X-Amz-Target"); t != "" {
		if i := strings.LastIndex(t, "."); i >= 0 {
			return region, service, t[i+1:]
		}
		return region, service, t
	}
	if v, err := url.ParseQuery(string(body)); err == nil && v.Get("Action") != "" {
		return region, service, v.Get("Action")
	}
	if a := r.URL.Query().Get("Action"); a != "" {
		return region, service, a
	}
	return region, service, r.Method + " " + r.URL.Path
}

func (p *AWSProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	region, svc, op := Operation(r, body)

	p.mu.Lock()
	p.counts[svc+":"+op]++
	p.counts[region+"/"+svc+":"+op]++
	var fault *Fault
	for _, f := range p.faults {
		if f.Times > 0 && (f.Region == "" || f.Region == region) &&
			(f.Service == "" || f.Service == svc) && (f.Operation == "" || f.Operation == op) {
			f.Times--
			c := *f
			fault = &c
			break
		}
	}
	if kind, ok := p.mut.call(r, region, svc, op); ok && fault == nil {
		fault = &Fault{Kind: kind}
	}
	h := p.handlers[svc+":"+op]
	p.mu.Unlock()

	if fault != nil {
		switch fault.Kind {
		case Throttle:
			writeAWSError(w, r, svc, http.StatusBadRequest, "Throttling", "Rate exceeded")
			return
		case ServerError:
			writeAWSError(w, r, svc, http.StatusInternalServerError, "InternalError", "We encountered an internal error. Please try again.")
			return
		case Unavailable:
			writeAWSError(w, r, svc, http.StatusServiceUnavailable, "ServiceUnavailable", "Service is unavailable. Please try again later.")
			return
		case Denied:
			writeAWSError(w, r, svc, http.StatusForbidden, "AccessDenied", "User: arn:aws:iam::123456789012:user/test is not authorized to perform: "+svc+":"+op)
			return
		case Latency:
			time.Sleep(fault.Delay)
		case Drop:
			dropConnection(w)
			return
		case LostResponse:
			// Make the change, then lose the answer: the caller sees a broken connection.
			rec := httptest.NewRecorder()
			p.serve(rec, r, h)
			dropConnection(w)
			return
		}
	}
	p.serve(w, r, h)
}

// serve answers r with h, or with moto when h is nil.
func (p *AWSProxy) serve(w http.ResponseWriter, r *http.Request, h http.Handler) {
	if h != nil {
		h.ServeHTTP(w, r)
		return
	}
	p.rp.ServeHTTP(w, r)
}

// dropConnection closes the client's connection without an answer.
func dropConnection(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			_ = conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}

// writeAWSError answers in the error shape of the call's protocol, so the SDK classifies it as
// the real service's error would be.
func writeAWSError(w http.ResponseWriter, r *http.Request, service string, status int, code, msg string) {
	reqID := "inferstack-proxy-" + randomSuffix()
	w.Header().Set("X-Amzn-RequestId", reqID)
	switch {
	case r.Header.Get("X-Amz-Target") != "":
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.Header().Set("X-Amzn-ErrorType", jsonErrorType(code))
		w.WriteHeader(status)
		fmt.Fprintf(w, `{"__type":%q,"message":%q}`, jsonErrorType(code), msg)
	case service == "ec2":
		switch code {
		case "Throttling":
			code, status = "RequestLimitExceeded", http.StatusServiceUnavailable
		case "AccessDenied":
			code = "UnauthorizedOperation"
		}
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(status)
		fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>%s</Code><Message>%s</Message></Error></Errors><RequestID>%s</RequestID></Response>`, code, msg, reqID)
	default:
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(status)
		kind := "Sender"
		if status >= 500 {
			kind = "Receiver"
		}
		fmt.Fprintf(w, `<ErrorResponse><Error><Type>%s</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>%s</RequestId></ErrorResponse>`, kind, code, msg, reqID)
	}
}

func jsonErrorType(code string) string {
	switch code {
	case "Throttling":
		return "ThrottlingException"
	case "AccessDenied":
		return "AccessDeniedException"
	}
	return code
}
