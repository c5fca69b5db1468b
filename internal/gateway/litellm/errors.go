package litellm

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/inferstack/terraform-provider-inferstack/internal/gateway"
)

// Error is a failed call to the gateway, with a message a Terraform user can act on. It wraps
// one of gateway's sentinel errors (Kind) when the failure is one of those, so errors.Is and
// gateway.IsNotFound work on it. It never holds a secret: the master key and the credentials of
// the deployment being sent are blanked out of anything the gateway echoed.
type Error struct {
	// Op is what was being done, e.g. "creating deployment".
	Op string
	// Subject is the deployment id or model name it was done to.
	Subject string
	// Method and URL are the last request's (the URL holds no secret).
	Method, URL string
	// StatusCode is the HTTP status of the last answer (0 when there was none).
	StatusCode int
	// Message is what the gateway said, as far as it could be read.
	Message string
	// Attempts is how many times the request was sent.
	Attempts int
	// Kind is one of gateway's sentinel errors, or nil.
	Kind error
	// Err is the underlying transport error, if any.
	Err error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Op)
	if e.Subject != "" {
		fmt.Fprintf(&b, " %s", e.Subject)
	}
	b.WriteString(": ")
	switch {
	case e.StatusCode != 0 && e.Message != "":
		fmt.Fprintf(&b, "the gateway answered HTTP %d: %s", e.StatusCode, e.Message)
	case e.StatusCode != 0:
		fmt.Fprintf(&b, "the gateway answered HTTP %d", e.StatusCode)
	case e.Err != nil:
		fmt.Fprintf(&b, "%v", e.Err)
	default:
		b.WriteString(e.Message)
	}
	fmt.Fprintf(&b, " (%s %s", e.Method, e.URL)
	if e.Attempts > 1 {
		fmt.Fprintf(&b, ", after %d attempts", e.Attempts)
	}
	b.WriteString(")")
	if h := e.hint(); h != "" {
		b.WriteString(". ")
		b.WriteString(h)
	}
	return b.String()
}

// Unwrap returns Kind and Err, so errors.Is and errors.As see both.
func (e *Error) Unwrap() []error {
	var out []error
	if e.Kind != nil {
		out = append(out, e.Kind)
	}
	if e.Err != nil {
		out = append(out, e.Err)
	}
	return out
}

func (e *Error) hint() string {
	switch {
	case errors.Is(e.Kind, gateway.ErrUnauthorized):
		return "Set gateway.master_key (or LITELLM_MASTER_KEY) to the proxy's master key (it starts with sk-) or to a virtual key with the proxy_admin role"
	case errors.Is(e.Kind, gateway.ErrForbidden):
		return "The key is valid but may not manage models: use the proxy's master key or a virtual key with the proxy_admin role"
	case errors.Is(e.Kind, gateway.ErrNoDatabase):
		return "The proxy keeps no models in a database, so its model API cannot register routes: run it with DATABASE_URL and STORE_MODEL_IN_DB=True, or render a config file (model_list) and load that into the proxy"
	case errors.Is(e.Kind, gateway.ErrConfigModel):
		return "The deployment is defined in the proxy's config file: remove it there (and restart the proxy) to manage it with Terraform, or give the route another id"
	case errors.Is(e.Kind, gateway.ErrUnsupported):
		return "This LiteLLM version lacks the endpoint; upgrade the proxy"
	case isCertError(e.Err):
		return "The gateway's TLS certificate is not trusted: set gateway.ca_cert to the PEM of the authority that signed it"
	case errors.Is(e.Kind, gateway.ErrUnavailable):
		return "Check that the proxy is up and reachable from where Terraform runs, then run again"
	}
	return ""
}

func isCertError(err error) bool {
	var unknown x509.UnknownAuthorityError
	var invalid x509.CertificateInvalidError
	var host x509.HostnameError
	var verify *tls.CertificateVerificationError
	return err != nil && (errors.As(err, &unknown) || errors.As(err, &invalid) || errors.As(err, &host) || errors.As(err, &verify))
}

// IsNotFound reports whether err means the deployment is gone (gateway.IsNotFound).
func IsNotFound(err error) bool { return gateway.IsNotFound(err) }

// kindOf maps an answer to a sentinel, from its status and what the gateway said.
func kindOf(status int, msg string) error {
	has := func(subs ...string) bool {
		for _, s := range subs {
			if strings.Contains(msg, s) {
				return true
			}
		}
		return false
	}
	switch {
	case has("No DB Connected", "db_not_connected_error", "STORE_MODEL_IN_DB", "only supported for DB-stored models"):
		return gateway.ErrNoDatabase
	case has("Model in config", "config-based model"):
		return gateway.ErrConfigModel
	case status == http.StatusUnauthorized:
		return gateway.ErrUnauthorized
	case status == http.StatusForbidden:
		return gateway.ErrForbidden
	case status == http.StatusNotFound && msg == "Not Found":
		return gateway.ErrUnsupported
	case status == http.StatusNotFound, status == http.StatusBadRequest && has("model not found", "not found in db"):
		return gateway.ErrNotFound
	case status == http.StatusTooManyRequests || status >= 500:
		return gateway.ErrUnavailable
	case status >= 400:
		return gateway.ErrInvalid
	}
	return nil
}

// messageOf reads what the gateway said from the shapes LiteLLM answers errors in:
// ProxyException {"error": {"message": ...}}, {"error": "..."}, FastAPI {"detail": "..."},
// {"detail": {"error": ...}} and validation errors {"detail": [{"loc": [...], "msg": ...}]}.
// The body of a validation error echoes the request, so only loc and msg are kept.
func messageOf(body []byte) string {
	var v struct {
		Error   json.RawMessage `json:"error"`
		Detail  json.RawMessage `json:"detail"`
		Message string          `json:"message"`
	}
	if json.Unmarshal(body, &v) != nil {
		s := strings.TrimSpace(string(body))
		if len(s) > 300 {
			s = s[:300] + "..."
		}
		return s
	}
	if m := fromField(v.Error); m != "" {
		return m
	}
	if m := fromField(v.Detail); m != "" {
		return m
	}
	return v.Message
}

func fromField(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var obj struct {
		Message json.RawMessage `json:"message"`
		Error   json.RawMessage `json:"error"`
	}
	if json.Unmarshal(raw, &obj) == nil {
		if m := fromField(obj.Message); m != "" {
			return m
		}
		if m := fromField(obj.Error); m != "" {
			return m
		}
	}
	var list []struct {
		Loc []any  `json:"loc"`
		Msg string `json:"msg"`
	}
	if json.Unmarshal(raw, &list) == nil {
		var parts []string
		for _, e := range list {
			loc := make([]string, 0, len(e.Loc))
			for _, l := range e.Loc {
				loc = append(loc, fmt.Sprint(l))
			}
			parts = append(parts, strings.Join(loc, ".")+": "+e.Msg)
		}
		return strings.Join(parts, "; ")
	}
	return ""
}
