// Package litellm is an in-process stand-in for a LiteLLM proxy's model-management API, built
// from ../shared/contracts/litellm-model-api.md, for the gateway client's tests, the
// inferstack_api_route acceptance tests and the demo lab. LiteLLM's write API needs Postgres and
// Prisma, which cannot be installed offline; this stand-in keeps its "database" in memory.
//
// It reproduces the quirks the contract lists, so a client that passes against it copes with the
// real proxy:
//
//   - every auth header form LiteLLM accepts (Authorization: Bearer, x-litellm-api-key with or
//     without "Bearer ", API-Key, x-api-key, x-goog-api-key, Ocp-Apim-Subscription-Key), 401 for a
//     missing, malformed or unknown key, 403 for model writes with a key that is not a proxy admin;
//   - POST /model/new answers the stored row with every litellm_params value encrypted (a fresh
//     random ciphertext each time, so it never equals what was sent), takes our model_info.id,
//     rejects a duplicate id with 400, copies pricing fields into model_info, renames team models
//     to model_name_{team_id}_{uuid};
//   - GET /model/info?litellm_model_id= answers {"data": [row]} (newer LiteLLM) or {"data": row}
//     (older; SetInfoShape), 404 for an unknown id; reads strip api_key and AWS keys, mask other
//     credential-looking values, add LiteLLM's default params, report timeouts as floats and
//     model_info.db_model;
//   - POST /model/update needs model_info.id and litellm_params, merges params key by key (null
//     keeps the stored value) and ignores model_info; PATCH /model/{id}/update merges both, null
//     clears only pricing fields, 404 for an unknown id;
//   - POST /model/delete answers 400 "Model with id=<id> not found in db" for an id that is gone;
//   - config-file models (AddConfigModel) are served but cannot be updated or deleted;
//   - reads come from "the router": with SetRouterLag a new model is missing from /model/info and
//     unknown to POST /fallback for a while, as on an instance that has not polled the database;
//   - without a database (SetDatabase(false)) writes answer 500 "No DB Connected"; with
//     STORE_MODEL_IN_DB off (SetStoreModelInDB(false)) they answer as LiteLLM does;
//   - POST /fallback, GET and DELETE /fallback/{model} keep router_settings fallbacks, check that
//     the models exist in the router, and answer 404 when none are configured;
//   - errors come as ProxyException {"error": {"message", "type", "param", "code"}}, FastAPI's
//     {"detail": ...} (validation errors echo the request body, secrets included), or the bare
//     {"error": "..."} of /model/info, as the real endpoints do.
//
// Test controls: list, get, change or delete deployments behind the client's back, inject 429
// and 5xx failures with Retry-After, count requests per path, and see the headers of the last
// request.
package litellm

import (
	"crypto/x509"
	"encoding/pem"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
)

// Server is a stand-in served on a free 127.0.0.1 port (httptest), for tests.
type Server struct {
	*Handler
	// URL is the proxy's base URL, without a trailing slash.
	URL string

	srv *httptest.Server
}

// Start serves a stand-in over plain HTTP whose master key is masterKey, until Close.
func Start(masterKey string) *Server {
	h := NewHandler(masterKey)
	srv := httptest.NewServer(h)
	return &Server{Handler: h, URL: srv.URL, srv: srv}
}

// StartTLS serves a stand-in over HTTPS with a certificate of its own test authority (see
// CACertPEM), until Close.
func StartTLS(masterKey string) *Server {
	h := NewHandler(masterKey)
	srv := httptest.NewUnstartedServer(h)
	// Clients that do not trust the certificate are part of the tests: keep their handshake
	// failures out of the test output.
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	return &Server{Handler: h, URL: srv.URL, srv: srv}
}

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

// CACertPEM is the PEM certificate that verifies a StartTLS server ("" for plain HTTP).
func (s *Server) CACertPEM() string {
	if s.srv.TLS == nil || s.srv.Certificate() == nil {
		return ""
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.srv.Certificate().Raw}))
}

// CertPool is a pool holding only CACertPEM's certificate (nil for plain HTTP).
func (s *Server) CertPool() *x509.CertPool {
	if s.srv.TLS == nil {
		return nil
	}
	p := x509.NewCertPool()
	p.AddCert(s.srv.Certificate())
	return p
}

// New returns the stand-in as an http.Handler, for a long-running process such as the demo lab
// to serve on an address of its own. NewHandler returns the same with its test controls.
func New(masterKey string) http.Handler { return NewHandler(masterKey) }
