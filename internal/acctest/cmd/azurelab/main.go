// Command azurelab serves an in-memory Azure subscription (internal/acctest/azurefake) over HTTPS
// on loopback, with an Azure AD token endpoint, so that terraform, tofu and `make demo` can run
// the provider's Azure backend without Azure. It seeds the resource group rg-inferstack-lab in
// westeurope with the virtual network 10.20.0.0/16 and its subnet gpu (10.20.1.0/24), writes
// what a client needs to the --out JSON file, and runs until it is killed.
//
//	azurelab --out .lab/azure.json [--addr 127.0.0.1:0] [--dir .lab] [--polls-per-lro 1]
//
// Point the provider at it with resource_manager_endpoint = arm_url, authority_host =
// authority_host, the client ID and secret, and SSL_CERT_FILE = ca_file. Vault data-plane traffic
// goes to arm_url + "/keyvault/<vault>/".
//
// Long-running operations answer InProgress --polls-per-lro times after the answer that starts
// them, each with Retry-After: 1, as Azure sends a Retry-After on its operations: azcore's
// PollUntilDone waits that long rather than its default 30 seconds, so an apply on the lab takes
// seconds. The header is added by a front server on --addr (arm_url) that hands every request to
// the fake's own handler; the fake's own HTTPS server is the authority (authority_host), whose
// metadata names itself as issuer, as Microsoft Entra's must. Both servers' CA certificates are
// in ca_file.
package main

import (
	"crypto/tls"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/inferstack/terraform-provider-inferstack/internal/acctest/azurefake"
)

// Info is what azurelab writes to --out once it is serving.
type Info struct {
	ARMURL         string `json:"arm_url"`
	AuthorityHost  string `json:"authority_host"`
	TenantID       string `json:"tenant_id"`
	ClientID       string `json:"client_id"`
	ClientSecret   string `json:"client_secret"`
	SubscriptionID string `json:"subscription_id"`
	CAFile         string `json:"ca_file"`
	ResourceGroup  string `json:"resource_group"`
	Location       string `json:"location"`
	SubnetID       string `json:"subnet_id"`
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "azurelab:", err)
		os.Exit(1)
	}
}

func run() error {
	addr := flag.String("addr", "127.0.0.1:0", "loopback address to serve on")
	out := flag.String("out", "", "path of the JSON file describing the lab (required)")
	dir := flag.String("dir", "", "directory for the CA certificate (default: the directory of --out)")
	polls := flag.Int("polls-per-lro", 1, "InProgress answers of a long-running operation after the one that starts it (0: none)")
	flag.Parse()
	if *out == "" {
		return fmt.Errorf("--out is required")
	}
	if *dir == "" {
		*dir = filepath.Dir(*out)
	}
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		return err
	}
	const rg, location = "rg-inferstack-lab", "westeurope"
	// azurefake reads PollsPerLRO 0 as its default (2) and a negative count as none.
	pollsPerLRO := *polls
	if pollsPerLRO <= 0 {
		pollsPerLRO = -1
	}
	c := azurefake.New(azurefake.Options{PollsPerLRO: pollsPerLRO})
	c.AddResourceGroup(rg, location)
	subnets := c.AddVirtualNetwork(rg, "vnet-inferstack-lab", location, []string{"10.20.0.0/16"}, map[string]string{"gpu": "10.20.1.0/24"})
	lab, err := c.Serve("127.0.0.1:0", *dir)
	if err != nil {
		return err
	}
	defer lab.Close()
	front, frontCA, err := serveFront(*addr, lab)
	if err != nil {
		return err
	}
	defer front.srv.Close()
	labCA, err := os.ReadFile(lab.CAFile)
	if err != nil {
		return err
	}
	caFile, err := filepath.Abs(filepath.Join(*dir, "azurelab-ca-bundle.pem"))
	if err != nil {
		return err
	}
	if err := os.WriteFile(caFile, append(frontCA, labCA...), 0o600); err != nil {
		return err
	}
	info := Info{
		ARMURL: front.url, AuthorityHost: lab.URL + "/", TenantID: lab.TenantID, ClientID: lab.ClientID, ClientSecret: lab.ClientSecret,
		SubscriptionID: c.SubscriptionID(), CAFile: caFile, ResourceGroup: rg, Location: location, SubnetID: subnets["gpu"],
	}
	b, err := json.MarshalIndent(info, "", "  ")
	if err != nil {
		return err
	}
	tmp := *out + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return err
	}
	if err := os.Rename(tmp, *out); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "azurelab: serving %s (details in %s)\n", front.url, *out)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
	return nil
}

type frontServer struct {
	url string
	srv *http.Server
}

// serveFront serves lab's handler over HTTPS on addr with a certificate of its own, adding
// Retry-After: 1 to every InProgress answer of a long-running operation. It returns the server
// and the PEM of the CA that issued its certificate.
func serveFront(addr string, lab *azurefake.Lab) (*frontServer, []byte, error) {
	caPEM, cert, err := azurefake.NewServerCertificate()
	if err != nil {
		return nil, nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, nil, err
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		lab.ServeHTTP(retryAfterWriter{w}, r)
	})
	srv := &http.Server{Handler: h, TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.ServeTLS(ln, "", "") }()
	return &frontServer{url: "https://" + ln.Addr().String(), srv: srv}, caPEM, nil
}

// retryAfterWriter sets Retry-After: 1 on an answer the fake marks as a long-running operation
// still in progress (azcore's fake pollers carry Fake-Poller-Status), unless it has one.
type retryAfterWriter struct{ http.ResponseWriter }

func (w retryAfterWriter) WriteHeader(status int) {
	h := w.Header()
	if h.Get("Fake-Poller-Status") == "InProgress" && h.Get("Retry-After") == "" {
		h.Set("Retry-After", "1")
	}
	w.ResponseWriter.WriteHeader(status)
}
