// Command azurelab serves an in-memory Azure subscription (internal/acctest/azurefake) over HTTPS
// on loopback, with an Azure AD token endpoint, so that terraform, tofu and `make demo` can run
// the provider's Azure backend without Azure. It seeds the resource group rg-inferstack-lab in
// westeurope with the virtual network 10.20.0.0/16 and its subnet gpu (10.20.1.0/24), writes
// what a client needs to the --out JSON file, and runs until it is killed.
//
//	azurelab --out .lab/azure.json [--addr 127.0.0.1:0] [--dir .lab]
//
// Point the provider at it with resource_manager_endpoint = arm_url, authority_host =
// authority_host, the client ID and secret, and SSL_CERT_FILE = ca_file. Vault data-plane traffic
// goes to arm_url + "/keyvault/<vault>/".
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

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
	c := azurefake.New(azurefake.Options{})
	c.AddResourceGroup(rg, location)
	subnets := c.AddVirtualNetwork(rg, "vnet-inferstack-lab", location, []string{"10.20.0.0/16"}, map[string]string{"gpu": "10.20.1.0/24"})
	lab, err := c.Serve(*addr, *dir)
	if err != nil {
		return err
	}
	defer lab.Close()
	caFile, err := filepath.Abs(lab.CAFile)
	if err != nil {
		return err
	}
	info := Info{
		ARMURL: lab.URL, AuthorityHost: lab.URL + "/", TenantID: lab.TenantID, ClientID: lab.ClientID, ClientSecret: lab.ClientSecret,
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
	fmt.Fprintf(os.Stderr, "azurelab: serving %s (details in %s)\n", lab.URL, *out)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
	return nil
}
