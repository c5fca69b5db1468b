package azurefake

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Lab is a Cloud served over HTTPS on loopback, with an Azure AD token endpoint, for clients in
// other processes (terraform, tofu, make demo).
type Lab struct {
	// URL is https://127.0.0.1:<port>: the Resource Manager endpoint, and the authority host
	// (URL + "/") for azidentity with DisableInstanceDiscovery.
	URL string
	// CAFile is the PEM of the self-signed CA that issued the server's certificate: trust it
	// with SSL_CERT_FILE or a tls.Config.
	CAFile string
	// TenantID, ClientID and ClientSecret are the service principal the token endpoint accepts.
	TenantID, ClientID, ClientSecret string

	srv *http.Server
	c   *Cloud
}

// Close stops the server.
func (l *Lab) Close() error { return l.srv.Close() }

// VaultURL is the data-plane URL of a vault in the lab: vault traffic goes to the lab's own host
// under /keyvault/<name>/. Clients must set DisableChallengeResourceVerification, since the
// challenge names https://vault.azure.net as the resource.
func (l *Lab) VaultURL(name string) string { return l.URL + "/keyvault/" + name + "/" }

// Serve serves the cloud over HTTPS on addr (e.g. 127.0.0.1:0). The CA is written to a new
// temporary directory unless caDir names one.
func (c *Cloud) Serve(addr, caDir string) (*Lab, error) {
	caPEM, cert, err := NewServerCertificate()
	if err != nil {
		return nil, err
	}
	if caDir == "" {
		if caDir, err = os.MkdirTemp("", "azurelab-"); err != nil {
			return nil, err
		}
	}
	caFile := filepath.Join(caDir, "azurelab-ca.pem")
	if err := os.WriteFile(caFile, caPEM, 0o600); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	l := &Lab{
		URL: "https://" + ln.Addr().String(), CAFile: caFile,
		TenantID: c.opts.TenantID, ClientID: newUUID(), ClientSecret: hex.EncodeToString(randomBytes(20)), c: c,
	}
	c.mu.Lock()
	c.labURL = l.URL
	c.mu.Unlock()
	l.srv = &http.Server{Handler: l, TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = l.srv.ServeTLS(ln, "", "") }()
	return l, nil
}

// NewServerCertificate makes a CA and a server certificate it issued for 127.0.0.1 and
// localhost: the CA's PEM (for SSL_CERT_FILE) and the certificate a TLS server presents.
func NewServerCertificate() ([]byte, tls.Certificate, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, tls.Certificate{}, err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "azurefake lab CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(7 * 24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, tls.Certificate{}, err
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, tls.Certificate{}, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, tls.Certificate{}, err
	}
	leafTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(7 * 24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return nil, tls.Certificate{}, err
	}
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	return caPEM, tls.Certificate{Certificate: [][]byte{leafDER, caDER}, PrivateKey: key, Leaf: nil}, nil
}

// ServeHTTP answers the token endpoint, vault data-plane requests under /keyvault/<vault>/ and
// Resource Manager requests (which need a token the lab issued).
func (l *Lab) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	seg := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	switch {
	case len(seg) == 4 && seg[1] == "v2.0" && seg[2] == ".well-known" && seg[3] == "openid-configuration":
		l.openID(w, seg[0])
		return
	case len(seg) == 4 && seg[1] == "oauth2" && seg[2] == "v2.0" && seg[3] == "token" && r.Method == http.MethodPost:
		l.token(w, r)
		return
	}
	out, err := http.NewRequestWithContext(r.Context(), r.Method, "https://"+r.Host+r.URL.RequestURI(), r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	out.Header = r.Header.Clone()
	if len(seg) >= 2 && seg[0] == "keyvault" {
		if !l.authorized(r) {
			// The Key Vault client sends its first request without a token to learn the
			// authority and resource from this challenge.
			writeJSON(w, http.StatusUnauthorized, map[string]any{"error": map[string]string{"code": "Unauthorized", "message": "AKV10000: Request is missing a Bearer or PoP token."}},
				http.Header{"Www-Authenticate": {fmt.Sprintf(`Bearer authorization="%s/%s", resource="https://vault.azure.net"`, l.URL, l.TenantID)}})
			return
		}
		out.URL.Host = strings.ToLower(seg[1]) + ".vault.azure.net"
		out.URL.Path = "/" + strings.Join(seg[2:], "/")
		out.URL.RawPath = ""
		out.Host = out.URL.Host
	} else if !l.authorized(r) {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"error": map[string]string{"code": "AuthenticationFailed", "message": "Authentication failed. The 'Authorization' header is missing or has a token the lab did not issue."}},
			http.Header{"Www-Authenticate": {fmt.Sprintf(`Bearer authorization_uri="%s/%s", error="invalid_token"`, l.URL, l.TenantID)}})
		return
	}
	resp, err := l.c.Transport().Do(out)
	if err != nil {
		var de *net.DNSError
		if errors.As(err, &de) {
			writeJSON(w, http.StatusNotFound, map[string]any{"error": map[string]string{"code": "VaultNotFound", "message": err.Error()}}, nil)
			return
		}
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	for k, vs := range resp.Header {
		w.Header()[k] = vs
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(w, resp.Body)
}

func (l *Lab) authorized(r *http.Request) bool {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	l.c.mu.Lock()
	defer l.c.mu.Unlock()
	return ok && l.c.tokens[tok]
}

func (l *Lab) openID(w http.ResponseWriter, tenant string) {
	base := l.URL + "/" + tenant
	writeJSON(w, http.StatusOK, map[string]any{
		"token_endpoint":                        base + "/oauth2/v2.0/token",
		"authorization_endpoint":                base + "/oauth2/v2.0/authorize",
		"device_authorization_endpoint":         base + "/oauth2/v2.0/devicecode",
		"end_session_endpoint":                  base + "/oauth2/v2.0/logout",
		"issuer":                                base + "/v2.0",
		"jwks_uri":                              base + "/discovery/v2.0/keys",
		"response_types_supported":              []string{"code", "id_token", "code id_token", "id_token token"},
		"subject_types_supported":               []string{"pairwise"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_post", "private_key_jwt", "client_secret_basic"},
		"scopes_supported":                      []string{"openid", "profile", "email", "offline_access"},
		"tenant_region_scope":                   "EU",
		"cloud_instance_name":                   "azurelab",
	}, nil)
}

func (l *Lab) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request", "error_description": err.Error()}, nil)
		return
	}
	if r.PostForm.Get("client_id") != l.ClientID || r.PostForm.Get("client_secret") != l.ClientSecret {
		writeJSON(w, http.StatusUnauthorized, map[string]any{
			"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret provided.", "error_codes": []int{7000215},
		}, nil)
		return
	}
	tok := hex.EncodeToString(randomBytes(24))
	l.c.mu.Lock()
	l.c.tokens[tok] = true
	l.c.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"token_type": "Bearer", "expires_in": 3600, "ext_expires_in": 3600, "access_token": tok}, nil)
}

func writeJSON(w http.ResponseWriter, status int, v any, header http.Header) {
	var buf bytes.Buffer
	_ = json.NewEncoder(&buf).Encode(v)
	for k, vs := range header {
		w.Header()[k] = vs
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}
