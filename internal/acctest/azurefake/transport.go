package azurefake

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	azfake "github.com/Azure/azure-sdk-for-go/sdk/azcore/fake"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
)

// apiError is an error Azure answers with: an HTTP status and the error JSON's code and message.
// It is NonRetriable so the fake servers pass it through unwrapped; the router turns it into a
// real HTTP response, so the SDK parses it as it parses Azure's.
type apiError struct {
	status        int
	code, message string
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %s: %s", e.status, e.code, e.message) }

// NonRetriable marks the error for azcore's fake servers.
func (*apiError) NonRetriable() {}

func errorf(status int, code, format string, a ...any) *apiError {
	return &apiError{status: status, code: code, message: fmt.Sprintf(format, a...)}
}

func notFound(kind, id string) *apiError {
	return errorf(http.StatusNotFound, "ResourceNotFound", "The Resource '%s' under resource group '%s' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix", kind+"/"+lastSegment(id), rgOf(id))
}

func lastSegment(id string) string { return id[strings.LastIndex(id, "/")+1:] }

func rgOf(id string) string {
	parts := strings.Split(id, "/")
	for i := 0; i+1 < len(parts); i++ {
		if strings.EqualFold(parts[i], "resourceGroups") {
			return parts[i+1]
		}
	}
	return ""
}

// fail is the answer of a fake server method that refuses a request.
func fail[T any](err *apiError) (T, azfake.ErrorResponder) {
	var zero T
	var er azfake.ErrorResponder
	er.SetError(err)
	return zero, er
}

func jsonResponse(req *http.Request, status int, v any, header http.Header) *http.Response {
	body, _ := json.Marshal(v)
	h := http.Header{"Content-Type": {"application/json; charset=utf-8"}}
	for k, vs := range header {
		h[k] = vs
	}
	return &http.Response{
		Status: fmt.Sprintf("%d %s", status, http.StatusText(status)), StatusCode: status,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: h, Body: io.NopCloser(bytes.NewReader(body)), ContentLength: int64(len(body)), Request: req,
	}
}

func errorResponse(req *http.Request, e *apiError) *http.Response {
	return jsonResponse(req, e.status, map[string]any{"error": map[string]string{"code": e.code, "message": e.message}},
		http.Header{"X-Ms-Error-Code": {e.code}})
}

// transports are the SDK packages' fake server transports, one each, built once per Cloud so
// their trackers of pagers and pollers persist across requests.
type transports struct {
	resources, network, msi, keyvault, authorization, compute policy.Transporter
	secrets                                                   map[string]policy.Transporter // by lower-case vault name; guarded by Cloud.mu
}

// Transport returns the router to give arm.ClientOptions.Transport and
// azsecrets.ClientOptions.Transport. It sends each request to the fake of the resource provider
// named by the last /providers/<Namespace>/ in the path, resource group reads to armresources,
// and hosts ending .vault.azure.net to that vault's data plane.
func (c *Cloud) Transport() policy.Transporter { return router{c} }

// Credential returns a credential that always succeeds, for in-process clients.
func (c *Cloud) Credential() azcore.TokenCredential { return &azfake.TokenCredential{} }

type router struct{ c *Cloud }

type pathKey struct{}

var (
	pollSuffix = regexp.MustCompile(`/get/fake/status$`)
	pageSuffix = regexp.MustCompile(`/fake_page_\d+$`)
)

// Do implements policy.Transporter.
func (r router) Do(req *http.Request) (*http.Response, error) {
	c := r.c
	c.mu.Lock()
	c.requests = append(c.requests, Request{Method: req.Method, Path: req.URL.Path, APIVersion: req.URL.Query().Get("api-version"), Host: req.URL.Host})
	f := c.takeFault(req)
	c.mu.Unlock()
	if f != nil {
		return faultResponse(req, f), nil
	}
	// The SDK's fake transports panic (send on a closed channel) when a request's context ends
	// while they answer: they get a context that does not end, and the caller's end is honoured
	// here.
	type answer struct {
		resp *http.Response
		err  error
	}
	ctx := req.Context()
	inner := req.WithContext(context.WithoutCancel(ctx))
	done := make(chan answer, 1)
	go func() {
		host := strings.ToLower(inner.URL.Hostname())
		var a answer
		if name, ok := strings.CutSuffix(host, ".vault.azure.net"); ok {
			a.resp, a.err = c.dataPlane(inner, name)
		} else {
			a.resp, a.err = c.arm(inner)
		}
		done <- a
	}()
	select {
	case a := <-done:
		return a.resp, a.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func faultResponse(req *http.Request, f *Fault) *http.Response {
	code := map[int]string{429: "TooManyRequests", 500: "InternalServerError", 502: "BadGateway", 503: "ServiceUnavailable", 504: "GatewayTimeout"}[f.Status]
	if code == "" {
		code = strings.ReplaceAll(http.StatusText(f.Status), " ", "")
	}
	msg := "The request failed with an injected fault."
	if f.Status == http.StatusTooManyRequests {
		msg = "The request is being throttled as the limit has been reached for operation type. Please try again later."
	}
	resp := errorResponse(req, &apiError{status: f.Status, code: code, message: msg})
	if f.RetryAfter != "" {
		resp.Header.Set("Retry-After", f.RetryAfter)
	}
	return resp
}

func (c *Cloud) arm(req *http.Request) (*http.Response, error) {
	path := req.URL.Path
	base := pageSuffix.ReplaceAllString(pollSuffix.ReplaceAllString(path, ""), "")
	isPoll, isPage := pollSuffix.MatchString(path), pageSuffix.MatchString(path)
	k := key(base)

	api, _ := req.Context().Value(runtime.CtxAPINameKey{}).(string)
	if api == "" {
		c.mu.Lock()
		switch {
		case isPoll:
			api = c.lros[k]
		case isPage:
			api = c.pagers[k]
		default:
			api = apiName(req.Method, base)
		}
		c.mu.Unlock()
	}
	t := c.transportFor(api)
	if api == "" || t == nil {
		return errorResponse(req, errorf(http.StatusNotFound, "NoRegisteredProviderFound",
			"azurefake has no route for %s %s (api-version %s)", req.Method, path, req.URL.Query().Get("api-version"))), nil
	}
	ctx := context.WithValue(req.Context(), runtime.CtxAPINameKey{}, api)
	ctx = context.WithValue(ctx, pathKey{}, k)
	req = req.WithContext(ctx)

	if !isPoll && !isPage {
		if e := c.checkIfMatch(req, k); e != nil {
			return errorResponse(req, e), nil
		}
		c.drain(req, t, k, api)
	}
	resp, err := t.Do(req)
	if err != nil {
		return c.errorToResponse(req, err)
	}
	lro := strings.Contains(api, ".Begin")
	c.mu.Lock()
	defer c.mu.Unlock()
	if lro {
		switch resp.Header.Get("Fake-Poller-Status") {
		case "InProgress":
			c.lros[k] = api
		case "Succeeded":
			delete(c.lros, k)
			if fin := c.finishers[k]; fin != nil {
				delete(c.finishers, k)
				fin()
			}
		}
	} else if strings.Contains(api, "Pager") {
		if hasNextLink(resp) {
			c.pagers[k] = api
		} else {
			delete(c.pagers, k)
		}
	}
	return resp, nil
}

// drain finishes an LRO or pager the client abandoned on the same path, so the fake server's
// tracker answers the new request rather than replaying the old one.
func (c *Cloud) drain(req *http.Request, t policy.Transporter, k, api string) {
	c.mu.Lock()
	lroAPI, pagerAPI := c.lros[k], c.pagers[k]
	c.mu.Unlock()
	if !strings.Contains(api, ".Begin") {
		lroAPI = ""
	}
	if !strings.Contains(api, "Pager") {
		pagerAPI = ""
	}
	for _, d := range []struct{ api, suffix string }{{lroAPI, "/get/fake/status"}, {pagerAPI, "/fake_page_1"}} {
		if d.api == "" {
			continue
		}
		for range 1000 {
			u := *req.URL
			u.Path = strings.TrimSuffix(u.Path, "/") + d.suffix
			u.RawPath = ""
			ctx := context.WithValue(context.WithValue(context.Background(), runtime.CtxAPINameKey{}, d.api), pathKey{}, k)
			r, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
			if err != nil {
				break
			}
			resp, err := t.Do(r)
			if err != nil {
				break
			}
			more := resp.Header.Get("Fake-Poller-Status") == "InProgress" || (d.suffix != "/get/fake/status" && hasNextLink(resp))
			if resp.Header.Get("Fake-Poller-Status") == "Succeeded" {
				c.mu.Lock()
				if fin := c.finishers[k]; fin != nil {
					delete(c.finishers, k)
					fin()
				}
				c.mu.Unlock()
			}
			if !more {
				break
			}
		}
		c.mu.Lock()
		if d.suffix == "/get/fake/status" {
			delete(c.lros, k)
		} else {
			delete(c.pagers, k)
		}
		c.mu.Unlock()
	}
}

func hasNextLink(resp *http.Response) bool {
	if resp.Body == nil {
		return false
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(b))
	if err != nil {
		return false
	}
	var page struct {
		NextLink string `json:"nextLink"`
	}
	return json.Unmarshal(b, &page) == nil && page.NextLink != ""
}

// errorToResponse turns what a fake server returned as an error into the HTTP answer Azure
// would give.
func (c *Cloud) errorToResponse(req *http.Request, err error) (*http.Response, error) {
	if req.Context().Err() != nil {
		return nil, err
	}
	var ae *apiError
	if errors.As(err, &ae) {
		return errorResponse(req, ae), nil
	}
	var de *net.DNSError
	if errors.As(err, &de) {
		return nil, err
	}
	msg := err.Error()
	if strings.Contains(msg, "not implemented") || strings.Contains(msg, "unhandled API") {
		return errorResponse(req, errorf(http.StatusNotFound, "NoRegisteredProviderFound",
			"azurefake does not implement %s %s: %s", req.Method, req.URL.Path, msg)), nil
	}
	return errorResponse(req, errorf(http.StatusBadRequest, "InvalidRequestContent",
		"The request content was invalid and could not be deserialized: %s", msg)), nil
}

// onFinish registers the state change at the end of the long-running operation the request in
// ctx started; callers hold c.mu. With PollsPerLRO 0 it runs when the first answer is sent.
func (c *Cloud) onFinish(ctx context.Context, fn func()) {
	k, _ := ctx.Value(pathKey{}).(string)
	if k == "" {
		fn()
		return
	}
	c.finishers[k] = fn
}

// poller builds the answers of a long-running operation: PollsPerLRO+1 InProgress answers (the
// first is the answer to the request that starts it) and then result.
func poller[T any](c *Cloud, status int, result T) azfake.PollerResponder[T] {
	var p azfake.PollerResponder[T]
	if c.opts.PollsPerLRO > 0 {
		for range c.opts.PollsPerLRO + 1 {
			p.AddNonTerminalResponse(status, nil)
		}
	}
	p.SetTerminalResponse(status, result, nil)
	return p
}

// pages splits items into pages of size n (0: one page).
func pages[T, P any](items []T, n int, wrap func([]T) P) azfake.PagerResponder[P] {
	var p azfake.PagerResponder[P]
	if n <= 0 {
		n = max(len(items), 1)
	}
	for i := 0; i < len(items); i += n {
		p.AddPage(http.StatusOK, wrap(items[i:min(i+n, len(items))]), nil)
	}
	if len(items) == 0 {
		p.AddPage(http.StatusOK, wrap(nil), nil)
	}
	return p
}

func ok[T any](v T) (azfake.Responder[T], azfake.ErrorResponder) {
	var r azfake.Responder[T]
	r.SetResponse(http.StatusOK, v, nil)
	return r, azfake.ErrorResponder{}
}

func created[T any](v T, isNew bool) (azfake.Responder[T], azfake.ErrorResponder) {
	var r azfake.Responder[T]
	status := http.StatusOK
	if isNew {
		status = http.StatusCreated
	}
	r.SetResponse(status, v, nil)
	return r, azfake.ErrorResponder{}
}

func (c *Cloud) transportFor(api string) policy.Transporter {
	client, _, _ := strings.Cut(api, ".")
	switch client {
	case "ResourceGroupsClient":
		return c.transports.resources
	case "VirtualNetworksClient", "SubnetsClient", "SecurityGroupsClient", "LoadBalancersClient":
		return c.transports.network
	case "UserAssignedIdentitiesClient":
		return c.transports.msi
	case "VaultsClient", "SecretsClient":
		return c.transports.keyvault
	case "RoleAssignmentsClient":
		return c.transports.authorization
	case "ResourceSKUsClient", "UsageClient", "VirtualMachineScaleSetsClient", "VirtualMachinesClient", "VirtualMachineScaleSetRollingUpgradesClient":
		return c.transports.compute
	}
	return nil
}

// apiName names the SDK method a request without one in its context (one that came over HTTP)
// stands for, from its method and path; "" for routes the fake does not serve.
func apiName(method, path string) string {
	seg := strings.Split(strings.Trim(strings.ToLower(path), "/"), "/")
	p := -1
	for i, s := range seg {
		if s == "providers" {
			p = i
		}
	}
	if p < 0 {
		if len(seg) == 4 && seg[0] == "subscriptions" && seg[2] == "resourcegroups" && method == http.MethodGet {
			return "ResourceGroupsClient.Get"
		}
		return ""
	}
	if p+1 >= len(seg) {
		return ""
	}
	ns, rest := seg[p+1], seg[p+2:]
	shape := ns + ":" + strings.Join(typesOf(rest), "/")
	crud := func(client, put, patch string, lroDelete bool) string {
		switch method {
		case http.MethodGet:
			return client + ".Get"
		case http.MethodPut:
			return client + "." + put
		case http.MethodPatch:
			if patch != "" {
				return client + "." + patch
			}
		case http.MethodDelete:
			if lroDelete {
				return client + ".BeginDelete"
			}
			return client + ".Delete"
		}
		return ""
	}
	list := func(name string) string {
		if method == http.MethodGet {
			return name
		}
		return ""
	}
	switch shape {
	case "microsoft.network:virtualnetworks/*":
		return list("VirtualNetworksClient.Get")
	case "microsoft.network:virtualnetworks/*/subnets/*":
		return list("SubnetsClient.Get")
	case "microsoft.network:networksecuritygroups/*":
		return crud("SecurityGroupsClient", "BeginCreateOrUpdate", "", true)
	case "microsoft.network:loadbalancers/*":
		return crud("LoadBalancersClient", "BeginCreateOrUpdate", "", true)
	case "microsoft.network:loadbalancers":
		return list("LoadBalancersClient.NewListPager")
	case "microsoft.managedidentity:userassignedidentities/*":
		return crud("UserAssignedIdentitiesClient", "CreateOrUpdate", "", false)
	case "microsoft.keyvault:vaults/*":
		return crud("VaultsClient", "BeginCreateOrUpdate", "Update", false)
	case "microsoft.keyvault:locations/*/deletedvaults/*":
		return list("VaultsClient.GetDeleted")
	case "microsoft.keyvault:locations/*/deletedvaults/*/purge":
		if method == http.MethodPost {
			return "VaultsClient.BeginPurgeDeleted"
		}
	case "microsoft.keyvault:vaults/*/secrets/*":
		return crud("SecretsClient", "CreateOrUpdate", "", false)
	case "microsoft.keyvault:vaults/*/secrets":
		return list("SecretsClient.NewListPager")
	case "microsoft.authorization:roleassignments/*":
		return crud("RoleAssignmentsClient", "Create", "", false)
	case "microsoft.authorization:roleassignments":
		return list("RoleAssignmentsClient.NewListForScopePager")
	case "microsoft.compute:skus":
		return list("ResourceSKUsClient.NewListPager")
	case "microsoft.compute:locations/*/usages":
		return list("UsageClient.NewListPager")
	case "microsoft.compute:virtualmachinescalesets/*":
		return crud("VirtualMachineScaleSetsClient", "BeginCreateOrUpdate", "BeginUpdate", true)
	case "microsoft.compute:virtualmachinescalesets":
		return list("VirtualMachineScaleSetsClient.NewListPager")
	case "microsoft.compute:virtualmachines":
		return list("VirtualMachinesClient.NewListPager")
	case "microsoft.compute:virtualmachinescalesets/*/rollingupgrades/latest":
		return list("VirtualMachineScaleSetRollingUpgradesClient.GetLatest")
	}
	return ""
}

// typesOf replaces the names in type/name/type/name… with "*", keeping a trailing action or
// collection word.
func typesOf(rest []string) []string {
	out := make([]string, len(rest))
	for i, s := range rest {
		if i%2 == 1 && !(i == len(rest)-1 && (s == "purge" || s == "latest")) {
			out[i] = "*"
		} else {
			out[i] = s
		}
	}
	return out
}

// checkIfMatch refuses a write whose If-Match names an entity tag the resource no longer has.
func (c *Cloud) checkIfMatch(req *http.Request, k string) *apiError {
	want := req.Header.Get("If-Match")
	if want == "" || req.Method == http.MethodGet {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var have string
	switch {
	case c.nsgs[k] != nil:
		have = deref(c.nsgs[k].Etag)
	case c.lbs[k] != nil:
		have = deref(c.lbs[k].Etag)
	case c.scaleSets[k] != nil:
		have = deref(c.scaleSets[k].obj.Etag)
	default:
		if want == "*" {
			return errorf(http.StatusPreconditionFailed, "PreconditionFailed", "The resource %s does not exist and If-Match is *.", req.URL.Path)
		}
		return nil
	}
	if want != "*" && want != have {
		return errorf(http.StatusPreconditionFailed, "PreconditionFailed",
			"Precondition failed: the entity tag %s in If-Match does not match the current entity tag %s of %s.", want, have, req.URL.Path)
	}
	return nil
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
